"""Fay-Herriot small-area estimates against R (sae, metafor) and against closed forms."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from perception import SurveyDesign, estimate
from perception.errors import ConfigError, ModelError, ValidationError
from perception.small_area import SMALL_AREA_COLUMNS, fay_herriot, small_area

REFERENCE = Path(__file__).resolve().parent / "reference"
GOLDEN_RTOL = 1e-6
"""Relative tolerance against R (metafor at threshold 1e-12; perception at tol 1e-12)."""
TIGHT = {"tol": 1e-12, "max_iter": 1000}


@cache
def _expected() -> dict[str, Any]:
    """Read the golden cases written by make_small_area_reference.R."""
    with (REFERENCE / "small_area_expected.json").open() as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def _inputs(name: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Direct estimates and covariates of a golden case, as the project's tables hold them."""
    case = _expected()["cases"][name]
    raw = pd.read_csv(REFERENCE / case["data"])
    covariates = case["covariates"]
    if case["data"] == "small_area_api_county.csv":
        raw = raw.rename(columns={"cnum": "area"})
        if name.startswith("api_arcsin"):
            p, se = raw["high"], raw["se_high"]
            keep = (raw["n"] >= 2) & (p > 0) & (p < 1)
            direct = pd.DataFrame(
                {"area": raw["area"], "estimate": p, "se": se, "n_eff": p * (1 - p) / se**2}
            )
        else:
            keep = raw["n"] >= 2
            direct = pd.DataFrame(
                {"area": raw["area"], "estimate": raw["api00"], "se": raw["se_api00"]}
            )
        direct["n"] = np.where(keep, raw["n"], 0)
        direct = direct[raw["n"] > 0]
    else:
        response = "y0" if name == "random_zero_reml" else "y"
        sampled = raw[raw["sampled"] == 1]
        direct = pd.DataFrame(
            {
                "area": sampled["area"],
                "estimate": sampled[response],
                "se": np.sqrt(sampled["v"]),
                "n": 50,
            }
        )
    return direct.reset_index(drop=True), raw[["area", *covariates]], case


def _close(got: Any, want: Any) -> None:
    """Assert relative closeness at the golden tolerance (absolute 1e-12 near zero)."""
    np.testing.assert_allclose(
        np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=GOLDEN_RTOL, atol=1e-12
    )


CASES = [c for c in _expected()["cases"] if not c.startswith("api_arcsin")]


@pytest.mark.parametrize("name", CASES)
def test_matches_metafor(name: str) -> None:
    """sigma2_u, beta, EBLUP, gamma, Prasad-Rao MSE and synthetic estimates equal R's."""
    direct, aux, case = _inputs(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = small_area(
            direct, aux, area="area", covariates=case["covariates"],
            variance_method=case["method"], **TIGHT,
        )  # fmt: skip
    info = table.attrs["perception.small_area"]
    _close(info["sigma2_u"], case["sigma2_u"])
    _close(list(info["coefficients"].values()), case["beta"])
    sampled = table[table["kind"] == "eblup"].set_index("area").loc[case["areas"]]
    _close(sampled["estimate"], case["eblup"])
    _close(sampled["gamma"], case["gamma"])
    _close(sampled["mse"], case["mse"])
    synthetic = table[table["kind"] == "synthetic"].set_index("area").loc[case["synthetic_areas"]]
    _close(synthetic["estimate"], case["synthetic"])
    _close(synthetic["mse"], case["synthetic_mse"])
    assert list(table.columns) == ["area", *SMALL_AREA_COLUMNS]
    assert len(table) == len(case["areas"]) + len(case["synthetic_areas"])


@pytest.mark.parametrize("name", CASES)
def test_g1_plus_g2_is_metafor_blup_variance(name: str) -> None:
    """g1 + g2 of the Prasad-Rao MSE equals metafor's blup() prediction variance se²."""
    direct, aux, case = _inputs(name)
    direct = direct[direct["n"] > 0]
    y = direct["estimate"].to_numpy()
    x = np.column_stack([np.ones(len(direct)), aux.set_index("area").loc[direct["area"]]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fay_herriot(y, direct["se"].to_numpy() ** 2, x, method=case["method"], **TIGHT)
    order = pd.Index(direct["area"]).get_indexer(case["areas"])
    _close((fit.g1 + fit.g2)[order], np.square(case["blup_se"]))
    _close(fit.g3[order], case["g3"])


def test_arcsine_proportions_match_metafor() -> None:
    """The arcsine route equals rma.uni on asin(sqrt(p)) with v = 1/(4 n_eff), back-transformed."""
    direct, aux, case = _inputs("api_arcsin_reml")
    table = small_area(direct, aux, area="area", transform="arcsin", **TIGHT)
    info = table.attrs["perception.small_area"]
    _close(info["sigma2_u"], case["sigma2_u"])
    _close(list(info["coefficients"].values()), case["beta"])
    sampled = table[table["kind"] == "eblup"].set_index("area").loc[case["areas"]]
    _close(sampled["estimate"], case["back_transformed"])
    theta = np.asarray(case["eblup"])
    _close(sampled["mse"], np.sin(2 * theta) ** 2 * np.asarray(case["mse"]))
    _close(sampled["direct"], case["direct_p"])
    _close(sampled["sampling_variance"], 1 / (4 * np.asarray(case["n_eff"])))
    assert (sampled["ci_low"] < sampled["estimate"]).all()
    assert (sampled["estimate"] < sampled["ci_high"]).all()
    assert table["method"].eq("fay_herriot_reml_arcsin").all()


def test_direct_county_estimates_are_perceptions_own() -> None:
    """The direct county means fed to the golden equal perception.estimate on apistrat."""
    data = pd.read_csv(REFERENCE / "apistrat.csv")
    design = SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    ours = estimate(design, variables=["api00"], stat="mean", by=["cnum"]).set_index("cnum")
    golden = pd.read_csv(REFERENCE / "small_area_api_county.csv").dropna(subset=["api00"])
    golden = golden.set_index("cnum")
    _close(ours.loc[golden.index, "estimate"], golden["api00"])
    _close(ours.loc[golden.index, "se"], golden["se_api00"])
    assert (ours.loc[golden.index, "n"].to_numpy() == golden["n"].to_numpy()).all()


def test_sae_default_tolerance_is_close_to_the_converged_fit() -> None:
    """With sae's stopping rule (1e-4, 100 steps) sigma2_u is within 1e-4 of the tight fit."""
    direct, aux, case = _inputs("api_mean_reml")
    table = small_area(direct, aux, area="area")
    got = table.attrs["perception.small_area"]["sigma2_u"]
    assert abs(got - case["sigma2_u"]) <= 1e-4 * case["sigma2_u"]
    assert table.attrs["perception.small_area"]["iterations"] <= 100


SAE_RTOL = 1e-12
"""Relative tolerance against R sae 1.3 on milk: the same Fisher scoring, so rounding only."""


@cache
def _sae_milk() -> dict[str, Any]:
    """Read the golden numbers written by make_sae_milk_reference.R (sae's eblupFH, mseFH)."""
    with (REFERENCE / "sae_milk_expected.json").open() as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@pytest.mark.parametrize("name", list(_sae_milk()["cases"]))
def test_matches_r_sae_on_milk(name: str) -> None:
    """EBLUP, MSE, sigma2_u and beta equal sae::eblupFH/mseFH on milk, at sae's stopping rules."""
    case = _sae_milk()["cases"][name]
    raw = pd.read_csv(REFERENCE / _sae_milk()["data"])
    direct = pd.DataFrame(
        {
            "area": raw["small_area"],
            "estimate": raw["direct_est"],
            "se": raw["std_error"],
            "n": raw["samp_size"],
        }
    )
    # yi ~ as.factor(MajorArea): treatment contrasts, major area 1 the reference level.
    aux = pd.DataFrame({"area": raw["small_area"]})
    for level in (2, 3, 4):
        aux[f"major_area_{level}"] = (raw["major_area"] == level).astype(float)
    table = small_area(
        direct, aux, area="area", variance_method=case["method"].lower(),
        tol=case["precision"], max_iter=case["maxiter"],
    )  # fmt: skip
    info = table.attrs["perception.small_area"]
    assert info["iterations"] == case["iterations"]
    rows = table.set_index("area").loc[case["areas"]]
    assert rows["kind"].eq("eblup").all()
    for got, want in (
        (info["sigma2_u"], case["refvar"]),
        (list(info["coefficients"].values()), case["beta"]),
        (np.sqrt(np.diag(info["cov_beta"])), case["beta_std_error"]),
        (rows["estimate"], case["eblup"]),
        (rows["mse"], case["mse"]),
    ):
        np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=SAE_RTOL, atol=0)


@pytest.mark.parametrize("method", ["reml", "ml", "fh"])
def test_equal_variances_have_closed_forms(method: str) -> None:
    """With equal sampling variances, REML/FH give RSS/(m-p) - psi and ML gives RSS/m - psi."""
    rng = np.random.default_rng(7)
    m, psi = 30, 0.5
    x = np.column_stack([np.ones(m), rng.normal(size=m), rng.uniform(size=m)])
    y = x @ np.array([1.0, 2.0, -1.0]) + rng.normal(scale=1.2, size=m)
    beta, rss, *_ = np.linalg.lstsq(x, y, rcond=None)
    divisor = m if method == "ml" else m - 3
    fit = fay_herriot(y, np.full(m, psi), x, method=method, **TIGHT)  # type: ignore[arg-type]
    assert fit.sigma2_u == pytest.approx(float(rss[0]) / divisor - psi, rel=1e-9)
    np.testing.assert_allclose(fit.beta, beta, rtol=1e-9)
    np.testing.assert_allclose(fit.gamma, fit.sigma2_u / (fit.sigma2_u + psi), rtol=1e-12)


def test_boundary_estimate_warns_and_gives_synthetic() -> None:
    """A negative REML estimate is set to 0 with a warning; every EBLUP is then x'beta."""
    direct, aux, case = _inputs("random_zero_reml")
    with pytest.warns(UserWarning, match="negative"):
        table = small_area(direct, aux, area="area", **TIGHT)
    assert case["sigma2_u"] == 0
    sampled = table[table["kind"] == "eblup"]
    assert table.attrs["perception.small_area"]["truncated"] is True
    assert (sampled["gamma"] == 0).all()
    np.testing.assert_allclose(sampled["estimate"], sampled["synthetic"], rtol=1e-12)


def _loglinear_inputs(zero: bool) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Areas whose variances follow psi = 40 / n exactly (one area with se 0 if ``zero``)."""
    rng = np.random.default_rng(11)
    m = 25
    n = rng.integers(10, 200, size=m)
    psi = 40.0 / n
    aux = pd.DataFrame({"district": np.arange(1, m + 1), "share": rng.uniform(0, 1, size=m)})
    y = 2 + 3 * aux["share"].to_numpy() + rng.normal(scale=0.8, size=m)
    y += rng.normal(size=m) * np.sqrt(psi)
    se = np.sqrt(psi)
    if zero:
        se[3] = 0.0
        n[3] = 12
        psi[3] = 40.0 / 12
    direct = pd.DataFrame({"district": aux["district"], "estimate": y, "se": se, "n": n})
    return direct, aux, psi


def test_gvf_reproduces_exact_loglinear_variances() -> None:
    """When log psi is exactly linear in log n, gvf='all' returns the same fit as no smoothing."""
    direct, aux, _ = _loglinear_inputs(zero=False)
    plain = small_area(direct, aux, area="district", gvf_min_n=0, **TIGHT)
    smooth = small_area(direct, aux, area="district", gvf="all", gvf_min_n=0, **TIGHT)
    np.testing.assert_allclose(smooth["sampling_variance"], plain["sampling_variance"], rtol=1e-9)
    np.testing.assert_allclose(smooth["estimate"], plain["estimate"], rtol=1e-9)
    assert smooth["variance_smoothed"].all() and not plain["variance_smoothed"].any()
    a, b = smooth.attrs["perception.small_area"]["gvf_coefficients"]
    assert b == pytest.approx(-1.0) and np.exp(a) == pytest.approx(40.0)


def test_gvf_unstable_smooths_a_zero_variance_area() -> None:
    """gvf='unstable' replaces a zero direct variance by exp(a + b log n) times the smearing."""
    direct, aux, psi = _loglinear_inputs(zero=True)
    with pytest.raises(ValidationError) as error:
        small_area(direct, aux, area="district")
    assert error.value.column == "se" and error.value.rows == [3]
    table = small_area(direct, aux, area="district", gvf="unstable", gvf_min_n=0, **TIGHT)
    row = table.set_index("district").loc[4]
    assert bool(row["variance_smoothed"])
    assert row["sampling_variance"] == pytest.approx(psi[3], rel=1e-9)
    assert table["variance_smoothed"].sum() == 1


def test_arcsine_keeps_a_zero_proportion_with_gvf() -> None:
    """An area with p = 0 (n_eff undefined) is kept on the arcsine scale when gvf smooths it."""
    direct, aux, _ = _inputs("api_arcsin_reml")
    raw = pd.read_csv(REFERENCE / "small_area_api_county.csv")
    extreme = raw[(raw["n"] >= 3) & ((raw["high"] == 0) | (raw["high"] == 1))]["cnum"].tolist()
    assert extreme, "the county data has an area with p = 0 or 1"
    direct.loc[direct["area"].isin(extreme), "n"] = raw.set_index("cnum").loc[extreme, "n"].values
    direct.loc[direct["area"].isin(extreme), "n_eff"] = np.nan
    with pytest.raises(ValidationError) as error:
        small_area(direct, aux, area="area", transform="arcsin")
    assert error.value.column == "n_eff"
    table = small_area(direct, aux, area="area", transform="arcsin", gvf="unstable", gvf_min_n=0)
    kept = table.set_index("area").loc[extreme]
    assert (kept["kind"] == "eblup").all() and kept["variance_smoothed"].all()
    assert kept["estimate"].between(0, 1).all()


def _simple() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Twelve districts with two covariates; district 13 has covariates but no sample."""
    rng = np.random.default_rng(3)
    aux = pd.DataFrame(
        {"district": np.arange(1, 14), "urban": rng.uniform(size=13), "lit": rng.uniform(size=13)}
    )
    direct = pd.DataFrame(
        {
            "district": np.arange(1, 13),
            "estimate": rng.normal(0.5, 0.1, size=12),
            "se": rng.uniform(0.03, 0.08, size=12),
            "n": rng.integers(20, 60, size=12),
        }
    )
    return direct, aux


@pytest.mark.parametrize(
    ("value", "rows"), [(0.0, [2]), (-0.05, [2]), (np.nan, [2])], ids=["zero", "negative", "nan"]
)
def test_rejects_bad_sampling_variances(value: float, rows: list[int]) -> None:
    """A zero, negative or missing SE names the se column and its rows, with a GVF hint."""
    direct, aux = _simple()
    direct.loc[2, "se"] = value
    with pytest.raises(ValidationError) as error:
        small_area(direct, aux, area="district")
    assert error.value.column == "se" and error.value.rows == rows
    assert "gvf" in error.value.hint


def test_rejects_sampled_area_without_covariates() -> None:
    """A sampled area missing from the covariate file, or with a blank covariate, is named."""
    direct, aux = _simple()
    with pytest.raises(ValidationError) as error:
        small_area(direct, aux.iloc[1:], area="district", auxiliary_file="config/areas.csv")
    assert error.value.rows == [0] and error.value.column == "district"
    assert error.value.file == "config/areas.csv"
    aux.loc[4, "lit"] = np.nan
    with pytest.raises(ValidationError) as error:
        small_area(direct, aux, area="district", auxiliary_file="config/areas.csv")
    assert error.value.rows == [4] and error.value.column == "lit"


def test_rejects_collinear_covariates() -> None:
    """A covariate that is a linear combination of others is named."""
    direct, aux = _simple()
    aux["rural"] = 1 - aux["urban"]
    with pytest.raises(ModelError) as error:
        small_area(direct, aux, area="district")
    assert error.value.column == "rural"


def test_rejects_fewer_areas_than_parameters() -> None:
    """Three sampled areas cannot fit two covariates, an intercept and sigma2_u."""
    direct, aux = _simple()
    with pytest.raises(ModelError) as error:
        small_area(direct.iloc[:3], aux, area="district")
    assert "at least 4" in error.value.expected


def test_rejects_repeated_areas_and_unknown_options() -> None:
    """Repeated area rows, unknown methods and missing columns are errors, never numbers."""
    direct, aux = _simple()
    with pytest.raises(ValidationError) as error:
        small_area(pd.concat([direct, direct.iloc[[0]]]), aux, area="district")
    assert error.value.rows == [0, 12]
    with pytest.raises(ConfigError):
        small_area(direct, aux, area="district", variance_method="mom")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        small_area(direct, aux, method="unit_level", area="district")  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as error:
        small_area(direct.drop(columns="se"), aux, area="district")
    assert error.value.column == "se"


def test_rejects_non_convergence() -> None:
    """An iteration cap too low for the stopping rule is a ModelError, not a silent number."""
    direct, aux = _simple()
    with pytest.raises(ModelError, match="did not converge"):
        small_area(direct, aux, area="district", tol=1e-14, max_iter=1)


def test_unsampled_area_is_synthetic() -> None:
    """A district with covariates but no sample gets x'beta, kind 'synthetic', MSE > sigma2_u."""
    direct, aux = _simple()
    table = small_area(direct, aux, area="district").set_index("district")
    row = table.loc[13]
    assert row["kind"] == "synthetic" and row["n"] == 0
    assert row["estimate"] == row["synthetic"] and np.isnan(row["direct"])
    assert row["mse"] > row["sigma2_u"]


def test_simulation_eblup_beats_direct_and_prasad_rao_tracks_the_true_mse() -> None:
    """From a known model, EBLUPs err less than direct estimates; the PR MSE is near the truth."""
    rng = np.random.default_rng(2026)
    m, reps, sigma2_u = 40, 200, 1.0
    x = np.column_stack([np.ones(m), rng.normal(size=m)])
    psi = np.linspace(0.3, 3.0, m)
    error_eblup, error_direct, estimated = np.zeros(m), np.zeros(m), np.zeros(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few replicates truncate sigma2_u at 0
        for _ in range(reps):
            theta = x @ np.array([1.0, 0.5]) + rng.normal(scale=np.sqrt(sigma2_u), size=m)
            y = theta + rng.normal(size=m) * np.sqrt(psi)
            fit = fay_herriot(y, psi, x)
            error_eblup += (fit.eblup - theta) ** 2
            error_direct += (y - theta) ** 2
            estimated += fit.mse
    true_mse = error_eblup.mean() / reps
    assert true_mse < 0.5 * error_direct.mean() / reps
    assert estimated.mean() / reps == pytest.approx(true_mse, rel=0.1)
