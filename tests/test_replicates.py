"""Replicate-weight designs against R's svrepdesign / as.svrepdesign (expected_replicates.json)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pydantic
import pytest
from golden import COMPARED, STATISTIC, apipop_targets, dataset, expected
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perception.contrasts import contrast, domain_gaps
from perception.design import SurveyDesign
from perception.errors import ConfigError, DesignError
from perception.estimation import estimate, estimate_domains
from perception.variance import describe

EXPECTED = expected("expected_replicates.json")
# Provenance: expected_replicates.json meta.tolerance, from make_reference_replicates.R
# (R 4.2.2, survey 4.1.1); every number is closed form given the exported replicate weights.
GOLDEN_RTOL = 1e-6
GOLDEN_ATOL = 1e-9
# R's svyciprop(method = "logit") on a replicate design refits the logistic model on every
# replicate; so does the kernel (variance(..., logit_of=p)): its limits are compared too.


def _design(name: str, case: dict[str, Any] | None = None) -> SurveyDesign:
    """Build the Python design from the same CSV and constants as R's svrepdesign call."""
    spec = EXPECTED["designs"][name]
    data = dataset(spec["file"].removesuffix(".csv")).copy()
    if case is not None and case.get("indicator_of"):
        ind = case["indicator_of"]
        data[ind["column"]] = (data[ind["column"]] == ind["equals"]).astype(float)
    rep_type = spec["rep_type"]
    fixed = rep_type in ("BRR", "Fay")
    design = SurveyDesign(
        data,
        "pw",
        replicate_weights=r"^rw[0-9]+$",
        rep_type=rep_type,
        scale=None if fixed else spec["scale"],
        rscales=None if fixed else spec["rscales"],
        fay_rho=spec.get("fay_rho"),
        mse=spec["mse"],
    )
    if case is not None and "margins" in case:
        design = design.rake(case["margins"])
    if case is not None and "poststrat_vars" in case:
        variables = case["poststrat_vars"]
        variables = [variables] if isinstance(variables, str) else variables
        design = design.poststratify(variables, case["targets"])
    return design


def _close(got: float, want: float | None, rtol: float = GOLDEN_RTOL) -> bool:
    """Compare at the golden tolerance; R's null must be NaN here."""
    if want is None:
        return bool(np.isnan(got))
    return bool(np.isclose(got, want, rtol=rtol, atol=GOLDEN_ATOL))


@pytest.mark.parametrize("case", EXPECTED["cases"], ids=lambda c: str(c["id"]))
def test_matches_r_svrepdesign(case: dict[str, Any]) -> None:
    """Estimate, SE, CI, df, deff, n and n_weighted equal R's on identical replicate weights."""
    design = _design(case["design"], case)
    assert design.degf == EXPECTED["designs"][case["design"]]["degf"]
    stat = STATISTIC[case["operation"]]
    by = [case["by"]] if case["by"] else []
    ci_method = case["ci_method"] if stat == "proportion" else "logit"
    variables = case["variables"]
    variables = [variables] if isinstance(variables, str) else variables
    table = estimate(design, variables, stat, by, ci_method)
    assert len(table) == len(case["expected"])
    for row in case["expected"]:
        match = table["variable"] == row["variable"]
        for column in by:
            match &= table[column] == row[column]
        got = table[match].iloc[0]
        assert got["df"] == row["df"] and got["n"] == row["n"], row
        wrong = {f: (got[f], row[f]) for f in COMPARED if not _close(float(got[f]), row[f])}
        assert not wrong, (row, wrong)


def _random(design: int) -> pd.DataFrame:
    """One of the recorded random two-PSU-per-stratum designs."""
    data = dataset("rep_random")
    return data[data["design"] == design].reset_index(drop=True)


@pytest.mark.parametrize(
    "case", EXPECTED["random"], ids=lambda c: f"design{c['design']}_{c['type']}"
)
def test_to_replicates_equals_as_svrepdesign(case: dict[str, Any]) -> None:
    """JK1 (strata ignored), JKn and BRR built from a paired design equal R's as.svrepdesign.

    BRR uses R's Hadamard matrix (order 12 for 9 strata) and R's order of the strata (their
    labels as text), so means and their SEs agree too (more in test_replicates_brr.py).
    """
    data = _random(case["design"])
    strata = None if case["type"] == "JK1" else "stratum"
    base = SurveyDesign(data, "w", strata=strata, psu="psu")
    design = base.to_replicates(case["type"])
    assert design.replicates is not None
    total = estimate(design, ["y"], "total")
    np.testing.assert_allclose(total["estimate"], case["total"], rtol=GOLDEN_RTOL)
    np.testing.assert_allclose(total["se"], case["total_se"], rtol=GOLDEN_RTOL)
    means = estimate(design, ["y", "z"], "mean")
    np.testing.assert_allclose(means["estimate"], case["mean"], rtol=GOLDEN_RTOL)
    assert design.replicates.n_replicates == case["n_replicates"]
    assert np.isclose(design.replicates.scale, case["scale"], rtol=1e-12)
    assert design.degf == case["degf"]
    np.testing.assert_allclose(means["se"], case["mean_se"], rtol=GOLDEN_RTOL)


def test_to_replicates_jk1_and_jkn_weights_equal_r_export() -> None:
    """to_replicates JK1 / JKn gives R's replicate weight columns (as a set of columns)."""
    for name, method, kwargs in (
        ("clus1_jk1", "JK1", {"psu": "dnum", "fpc": "fpc"}),
        ("strat_jkn", "JKn", {"strata": "stype", "fpc": "fpc"}),
    ):
        data = dataset(f"rep_{name}")
        design = SurveyDesign(data, "pw", **kwargs).to_replicates(method)
        reps = design.replicates
        assert reps is not None
        ours = design.weights[:, None] * reps.factors[design.unit_index]
        theirs = data.filter(regex=r"^rw[0-9]+$").to_numpy()
        assert ours.shape == theirs.shape
        key = lambda m: m[:, np.lexsort(m[::-1])]  # noqa: E731
        np.testing.assert_allclose(key(ours), key(theirs), rtol=1e-12)
        spec = EXPECTED["designs"][name]
        assert np.isclose(reps.scale, spec["scale"], rtol=1e-12)
        np.testing.assert_allclose(np.sort(reps.rscales), np.sort(spec["rscales"]), rtol=1e-12)


def test_bootstrap_structure_like_r() -> None:
    """Seeded bootstrap: reproducible, R's shape and scale, factors summing to n_h per stratum."""
    data = dataset("rep_strat_boot")
    base = SurveyDesign(data, "pw", strata="stype")
    one = base.to_replicates("bootstrap", replicates=50, seed=3)
    two = base.to_replicates("bootstrap", replicates=50, seed=3)
    assert one.replicates is not None and two.replicates is not None
    np.testing.assert_array_equal(one.replicates.factors, two.replicates.factors)
    assert one.replicates.n_replicates == 50 == EXPECTED["designs"]["strat_boot"]["n_replicates"]
    assert np.isclose(one.replicates.scale, 1 / 49)
    strata = base.layout.psu_stratum
    for h, n_h in enumerate(base.layout.n_psu):
        sums = one.replicates.factors[strata == h].sum(axis=0)
        np.testing.assert_allclose(sums, n_h, rtol=1e-12)
    se = estimate(one, ["api00"])["se"].iloc[0]
    r_se = next(c for c in EXPECTED["cases"] if c["id"] == "strat_boot_mean_api00_api99")[
        "expected"
    ][0]["se"]
    assert 0.6 < se / r_se < 1.6  # two independent bootstraps of the same design


def test_replicate_route_agrees_with_taylor_for_totals() -> None:
    """Consistency: BRR with full orthogonal balance gives a total's Taylor variance exactly."""
    data = _random(4)  # 15 strata, Hadamard order 16
    base = SurveyDesign(data, "w", strata="stratum", psu="psu")
    taylor = estimate(base, ["y"], "total")["se"].iloc[0]
    brr = estimate(base.to_replicates("BRR"), ["y"], "total")["se"].iloc[0]
    assert np.isclose(brr, taylor, rtol=1e-10)


def test_domains_contrasts_and_gaps_on_replicates() -> None:
    """estimate_domains, contrast and domain_gaps agree with each other on a replicate design."""
    design = _design("clus1_jk1")
    table = estimate_domains(design, ["api00"], [[], ["stype"]])
    by = estimate(design, ["api00"], by=["stype"])
    np.testing.assert_allclose(table["se"].iloc[1:].to_numpy(), by["se"].to_numpy(), rtol=1e-12)
    one = contrast(design, "api00", ["stype"], "E", "H")
    gaps = domain_gaps(design, ["api00"], "stype", "E", "H", [[]])
    assert np.isclose(gaps["se"].iloc[0], one.se, rtol=1e-12)
    assert np.isclose(gaps["estimate"].iloc[0], one.estimate, rtol=1e-12)
    # The contrast's replicate variance: direct replicate means of both domains.
    data = dataset("rep_clus1_jk1")
    reps = data.filter(regex=r"^rw[0-9]+$").to_numpy()
    is_e, is_h = (data["stype"] == "E").to_numpy(), (data["stype"] == "H").to_numpy()
    y = data["api00"].to_numpy()
    diff = (reps[is_e].T @ y[is_e]) / reps[is_e].sum(0) - (reps[is_h].T @ y[is_h]) / reps[is_h].sum(
        0
    )
    spec = EXPECTED["designs"]["clus1_jk1"]
    want = spec["scale"] * ((diff - diff.mean()) ** 2).sum()
    assert np.isclose(one.se**2, want, rtol=1e-10)
    assert "JK1" in describe(design.variance_method)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rw3": np.nan}, "missing 1"),
        ({"rw5": -1.0}, "negative 1"),
    ],
)
def test_bad_replicate_weights(change: dict[str, float], message: str) -> None:
    """A missing or negative replicate weight is a DesignError naming the column and row."""
    data = dataset("rep_clus1_jk1").copy()
    for column, value in change.items():
        data.loc[7, column] = value
    with pytest.raises(DesignError, match=message) as info:
        SurveyDesign(data, "pw", replicate_weights=r"^rw[0-9]+$", rep_type="JK1")
    assert info.value.column == next(iter(change)) and info.value.rows == [7]


def test_replicate_count_must_fit_rep_type() -> None:
    """BRR with a count that is no Hadamard order, JKn without rscales, bad rscales: errors."""
    data = dataset("rep_clus1_jk1")
    with pytest.raises(DesignError, match="Hadamard"):
        SurveyDesign(data, "pw", replicate_weights=r"^rw[0-9]+$", rep_type="BRR")
    with pytest.raises(ConfigError, match="rscales"):
        SurveyDesign(data, "pw", replicate_weights=r"^rw[0-9]+$", rep_type="JKn")
    with pytest.raises(ConfigError, match="rscales do not match"):
        SurveyDesign(
            data, "pw", replicate_weights=r"^rw[0-9]+$", rep_type="JK1", rscales=[1.0, 1.0]
        )
    base = SurveyDesign(data, "pw", psu="dnum")
    with pytest.raises(ConfigError, match="one replicate per PSU"):
        base.to_replicates("JK1", replicates=10)
    with pytest.raises(ConfigError, match="unstratified"):
        SurveyDesign(data, "pw", strata="stype").to_replicates("JK1")


def test_weighting_config_builds_replicates_before_raking() -> None:
    """weighting.yaml design.replicates: JK1 replicates raked one by one give R's SE."""
    from perception.config import WeightingConfig
    from perception.weighting.workflow import weight_wave

    data = dataset("apiclus1").copy()
    data["stype_code"] = data["stype"].map({"E": 1, "H": 2, "M": 3})
    data["sch_wide"] = data["sch.wide"].map({"No": 1, "Yes": 2})
    targets = apipop_targets()
    config = WeightingConfig.model_validate(
        {
            "design": {
                "strata": None,
                "psu": "dnum",
                "fpc": "fpc",
                "replicates": {"method": "JK1"},
            },
            "base_weight": {"column": "pw"},
            "calibration": {
                "method": "rake",
                "margins": ["stype_code", "sch_wide"],
                "tolerance": 1e-12,
            },
        }
    )
    design, _ = weight_wave(data, config, targets)
    assert design.replicates is not None and design.replicates.rep_type == "JK1"
    want = next(c for c in EXPECTED["cases"] if c["id"] == "clus1_jk1_rake_mean_api00")
    got = estimate(design, ["api00"]).iloc[0]
    row = want["expected"][0]
    assert np.isclose(got["estimate"], row["estimate"], rtol=GOLDEN_RTOL)
    assert np.isclose(got["se"], row["se"], rtol=GOLDEN_RTOL)
    with pytest.raises(pydantic.ValidationError, match="extra"):
        WeightingConfig.model_validate(
            {
                "design": {"replicates": {"method": "JK1", "count": 3}},
                "base_weight": {"column": "pw"},
                "calibration": {"method": "rake", "margins": ["stype_code"]},
            }
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    n_strata=st.integers(1, 6),
    mse=st.booleans(),
)
def test_jackknife_total_variance_equals_taylor(seed: int, n_strata: int, mse: bool) -> None:
    """Property: JKn (JK1 unstratified) variance of domain totals is the Taylor variance."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 6, n_strata)
    stratum = np.repeat(np.arange(n_strata), sizes)
    psu_sizes = rng.integers(1, 5, stratum.size)
    rows = np.repeat(np.arange(stratum.size), psu_sizes)
    data = pd.DataFrame(
        {
            "h": stratum[rows],
            "psu": rows,
            "w": rng.uniform(1, 10, rows.size),
            "y": rng.normal(size=rows.size),
            "g": rng.integers(0, 3, rows.size),
        }
    )
    base = SurveyDesign(data, "w", strata="h" if n_strata > 1 else None, psu="psu")
    method = "JKn" if n_strata > 1 else "JK1"
    jack = base.to_replicates(method, mse=mse)
    sets = [[], ["g"]]
    taylor = estimate_domains(base, ["y"], sets, stat="total")
    replicate = estimate_domains(jack, ["y"], sets, stat="total")
    np.testing.assert_allclose(replicate["estimate"], taylor["estimate"], rtol=1e-12)
    np.testing.assert_allclose(replicate["se"], taylor["se"], rtol=1e-9, atol=1e-12)


def test_given_weights_are_aggregated_per_psu_when_constant_within_psu() -> None:
    """With psu=, JK1 weights constant within a district use 15 units and give the same SE."""
    data = dataset("rep_clus1_jk1")
    spec = EXPECTED["designs"]["clus1_jk1"]
    kwargs = {"replicate_weights": r"^rw[0-9]+$", "rep_type": "JK1", "scale": spec["scale"]}
    rows = SurveyDesign(data, "pw", **kwargs)
    psus = SurveyDesign(data, "pw", psu="dnum", **kwargs)
    assert rows.n_units == len(data) and psus.n_units == 15
    a, b = (estimate(d, ["api00"], by=["stype"]) for d in (rows, psus))
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-9)
    assert list(a["df"]) == list(b["df"])
    mixed = data.copy()
    mixed.loc[0, "rw1"] = mixed.loc[0, "rw1"] + 1.0  # no longer constant in its district
    assert SurveyDesign(mixed, "pw", psu="dnum", **kwargs).n_units == len(data)
