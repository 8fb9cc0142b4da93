"""Calibration: raking, post-stratification, linear GREG, chains, and their bad inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from perception.design import SurveyDesign
from perception.errors import CalibrationError
from perception.estimation import estimate
from perception.weighting.calibration import MISSING_CATEGORY

TYPES = {"E": 4421, "H": 755, "M": 1018}
SCHWIDE = {"No": 1072, "Yes": 5122}


@pytest.fixture(scope="module")
def dclus1(apiclus1: pd.DataFrame) -> SurveyDesign:
    """R's dclus1: clusters dnum, fpc."""
    return SurveyDesign(apiclus1, weights="pw", psu="dnum", fpc="fpc")


def _weighted_counts(design: SurveyDesign, column: str) -> dict[object, float]:
    """Weighted count of each level of a column."""
    sums = pd.Series(design.weights).groupby(design.data[column].to_numpy()).sum()
    return {k: float(v) for k, v in sums.items()}


def _naive_se(
    data: pd.DataFrame,
    weights: np.ndarray,
    psu: np.ndarray,
    strata: np.ndarray,
    steps: list[tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    domain: np.ndarray,
    stat: str,
) -> float:
    """Row-level GREG variance without fpc: residualize on each X (newest first), then PSUs."""
    member = domain & ~np.isnan(y)
    y0 = np.where(member, y, 0.0)
    if stat == "mean":
        size = weights[member].sum()
        u = np.where(member, (y0 - (weights * y0).sum() / size) / size, 0.0)
    else:
        u = y0
    for x, pre in reversed(steps):
        root = np.sqrt(pre)
        beta = np.linalg.lstsq(x * root[:, None], u * root, rcond=None)[0]
        u = u - x @ beta
    z = pd.DataFrame({"h": strata, "j": psu, "z": weights * u}).groupby(["h", "j"])["z"].sum()
    variance = 0.0
    for _, totals in z.groupby(level="h"):
        n_h = len(totals)
        variance += n_h / (n_h - 1) * float(((totals - totals.mean()) ** 2).sum())
    return float(np.sqrt(variance))


def _dummies(data: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Build an intercept plus full dummies of each column (rank-deficient on purpose)."""
    parts = [np.ones((len(data), 1))]
    parts.extend(pd.get_dummies(data[c].astype(str)).to_numpy(dtype=float) for c in columns)
    return np.hstack(parts)


def test_rake_meets_every_margin(dclus1: SurveyDesign) -> None:
    """It rakes to both margins to 1e-10 and records iterations and the achieved error."""
    raked = dclus1.rake({"stype": TYPES, "sch.wide": SCHWIDE})
    for column, targets in (("stype", TYPES), ("sch.wide", SCHWIDE)):
        counts = _weighted_counts(raked, column)
        for level, target in targets.items():
            assert counts[level] == pytest.approx(target, rel=1e-10)
    step = raked.calibration[-1]
    assert step.method == "raking" and step.converged and step.iterations >= 2
    assert step.max_error <= 1e-10
    report = step.report()
    assert list(report.columns) == ["constraint", "target", "achieved", "relative_error"]
    assert report["relative_error"].max() <= 1e-10


def test_poststratify_on_two_variables_uses_tuple_keys(dclus1: SurveyDesign) -> None:
    """It scales weights in each (stype, sch.wide) cell to its population count."""
    data = dclus1.data
    observed = pd.Series(dclus1.weights).groupby([data["stype"], data["sch.wide"]]).sum()
    targets = {key: float(value) * 1.5 + 10.0 for key, value in observed.items()}
    post = dclus1.poststratify(["stype", "sch.wide"], targets)
    cells = list(zip(data["stype"], data["sch.wide"], strict=True))
    ratio = np.array([targets[c] / observed[c] for c in cells])
    np.testing.assert_allclose(post.weights, dclus1.weights * ratio, rtol=1e-12)
    with pytest.raises(CalibrationError, match="not keyed by tuples"):
        dclus1.poststratify(["stype", "sch.wide"], TYPES)


def test_rejects_positive_target_without_respondents(dclus1: SurveyDesign) -> None:
    """It rejects a raking category with a positive target but no respondents."""
    with pytest.raises(CalibrationError, match="no respondents") as info:
        dclus1.rake({"stype": {**TYPES, "K": 100}, "sch.wide": SCHWIDE})
    assert info.value.column == "stype"
    assert "'K'" in info.value.found


def test_rejects_values_without_targets(dclus1: SurveyDesign) -> None:
    """It rejects data values that have no target, naming the values and the rows."""
    with pytest.raises(CalibrationError, match="no population target") as info:
        dclus1.rake({"stype": {"E": 4421, "H": 1773}})
    assert "M" in info.value.found
    assert info.value.rows and dclus1.data["stype"].iloc[info.value.rows[0]] == "M"


def test_rejects_zero_target_with_respondents(dclus1: SurveyDesign) -> None:
    """It rejects a target of 0 for a category that has respondents."""
    with pytest.raises(CalibrationError, match="target of 0"):
        dclus1.rake({"stype": {"E": 5000, "H": 0, "M": 1194}})


def test_margin_totals_far_apart_are_an_error(dclus1: SurveyDesign) -> None:
    """It rejects margins whose totals differ by more than 0.1%."""
    with pytest.raises(CalibrationError, match="Margin totals disagree") as info:
        dclus1.rake({"stype": TYPES, "sch.wide": {"No": 1072, "Yes": 5200}})
    assert "6194" in info.value.found and "6272" in info.value.found


def test_margin_totals_close_are_normalized_with_a_warning(dclus1: SurveyDesign) -> None:
    """It scales margins that differ by at most 0.1% to the first margin's total, warning."""
    with pytest.warns(UserWarning, match="Margin totals differ"):
        raked = dclus1.rake({"stype": TYPES, "sch.wide": {"No": 1072, "Yes": 5125}})
    assert raked.weights.sum() == pytest.approx(6194, rel=1e-10)
    assert _weighted_counts(raked, "sch.wide")["Yes"] == pytest.approx(5125 * 6194 / 6197)


def test_non_convergence_reports_the_achieved_error() -> None:
    """It raises with the achieved margin error when raking cannot meet the margins."""
    data = pd.DataFrame({"w": 1.0, "sex": ["F"] * 5 + ["M"] * 5, "region": ["A"] * 5 + ["B"] * 5})
    design = SurveyDesign(data, weights="w")
    with pytest.raises(CalibrationError, match="did not converge") as info:
        design.rake({"sex": {"F": 50, "M": 50}, "region": {"A": 80, "B": 20}}, max_iter=15)
    assert "largest relative margin error" in info.value.found
    assert float(info.value.found.split()[-1]) > 1e-3


def test_missing_weighting_value_is_an_error_unless_asked(nhanes: pd.DataFrame) -> None:
    """It rejects a missing value in a weighting variable unless missing='category'."""
    design = SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)
    counts = {k: float(v) for k, v in nhanes["HI_CHOL"].value_counts().items()}
    with pytest.raises(CalibrationError, match="missing values") as info:
        design.rake({"HI_CHOL": counts})
    assert info.value.column == "HI_CHOL"
    assert info.value.rows == np.flatnonzero(nhanes["HI_CHOL"].isna()).tolist()
    with pytest.raises(CalibrationError, match="no population target"):
        design.rake({"HI_CHOL": counts}, missing="category")
    raked = design.rake({"HI_CHOL": {**counts, MISSING_CATEGORY: 745.0}}, missing="category")
    assert raked.weights[nhanes["HI_CHOL"].isna().to_numpy()].sum() == pytest.approx(745.0)


def test_linear_calibration_to_a_numeric_total(dclus1: SurveyDesign) -> None:
    """It meets factor margins and a numeric total with g = 1 + xᵀλ."""
    enroll_total = 3_700_000.0
    data = dclus1.data.assign(enroll=dclus1.data["enroll"].astype(float))
    design = SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")
    cal = design.calibrate({"stype": TYPES}, {"enroll": enroll_total})
    assert float(cal.weights @ data["enroll"].to_numpy()) == pytest.approx(enroll_total)
    assert _weighted_counts(cal, "stype")["H"] == pytest.approx(755)
    g = cal.weights / design.weights
    x = np.column_stack([pd.get_dummies(data["stype"]).to_numpy(float), data["enroll"]])
    coef = np.linalg.lstsq(x, g - 1.0, rcond=None)[0]
    np.testing.assert_allclose(x @ coef, g - 1.0, atol=1e-10)


def test_linear_calibration_with_population_size_only(dclus1: SurveyDesign) -> None:
    """It scales weights to a population size when that is the only constraint."""
    cal = dclus1.calibrate(population_size=7000.0, totals={})
    np.testing.assert_allclose(cal.weights, dclus1.weights * 7000.0 / dclus1.weights.sum())


def test_linear_calibration_rejects_negative_weights(dclus1: SurveyDesign) -> None:
    """It refuses linear calibration that would give non-positive weights."""
    with pytest.raises(CalibrationError, match="non-positive weights") as info:
        dclus1.calibrate(totals={"api00": 1.0}, population_size=6194.0)
    assert "raking" in info.value.hint


def test_rejects_bad_calibration_requests(dclus1: SurveyDesign) -> None:
    """It rejects an unknown column, an unknown calfun and an empty request."""
    with pytest.raises(CalibrationError, match="not in the data"):
        dclus1.rake({"school_type": TYPES})
    with pytest.raises(CalibrationError, match="Unknown calibration function"):
        dclus1.calibrate({"stype": TYPES}, calfun="logit")  # type: ignore[arg-type]
    with pytest.raises(CalibrationError, match="Nothing to calibrate"):
        dclus1.calibrate()


def test_chained_calibration_variance_matches_row_level_greg(dclus1: SurveyDesign) -> None:
    """It residualizes on each calibration, newest first, for domain means of a chain."""
    raked = dclus1.rake({"stype": TYPES, "sch.wide": SCHWIDE})
    chained = raked.calibrate(totals={"api99": 4_000_000.0}, population_size=6194.0)
    data = dclus1.data
    steps = [
        (_dummies(data, ["stype", "sch.wide"]), dclus1.weights),
        (np.column_stack([np.ones(len(data)), data["api99"]]), raked.weights),
    ]
    table = estimate(chained, ["api00"], by=["stype"])
    strata = np.zeros(len(data), dtype=int)
    for _, row in table.iterrows():
        domain = (data["stype"] == row["stype"]).to_numpy()
        y = data["api00"].to_numpy(float)
        want = _naive_se(
            data, chained.weights, data["dnum"].to_numpy(), strata, steps, y, domain, "mean"
        )
        assert row["se"] == pytest.approx(want * np.sqrt(1 - 15 / 757), rel=1e-9)


def test_calibrated_domain_proportions_with_missing_match_row_level_greg(
    nhanes: pd.DataFrame,
) -> None:
    """It gives row-level GREG SEs for domain proportions and totals with missing values."""
    design = SurveyDesign(nhanes, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)
    gender = {k: float(v) * 1.1 for k, v in nhanes.groupby("RIAGENDR")["WTMEC2YR"].sum().items()}
    age = nhanes.groupby("agecat")["WTMEC2YR"].sum() * 1.1
    raked = design.rake({"RIAGENDR": gender, "agecat": {k: float(v) for k, v in age.items()}})
    steps = [(_dummies(nhanes, ["RIAGENDR", "agecat"]), design.weights)]
    y = nhanes["HI_CHOL"].to_numpy(float)
    psu, strata = nhanes["SDMVPSU"].to_numpy(), nhanes["SDMVSTRA"].to_numpy()
    for stat in ("proportion", "total"):
        table = estimate(raked, ["HI_CHOL"], stat, by=["race"])  # type: ignore[arg-type]
        for _, row in table.iterrows():
            domain = (nhanes["race"] == row["race"]).to_numpy()
            kind = "mean" if stat == "proportion" else "total"
            want = _naive_se(nhanes, raked.weights, psu, strata, steps, y, domain, kind)
            assert row["se"] == pytest.approx(want, rel=1e-8), (stat, row["race"])


def test_poststratified_totals_of_the_margin_have_no_variance(dclus1: SurveyDesign) -> None:
    """It gives (numerically) zero SE for the calibrated total of a margin's indicator."""
    post = dclus1.poststratify(["stype"], TYPES)
    data = dclus1.data.assign(is_h=(dclus1.data["stype"] == "H").astype(float))
    post_h = SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc").poststratify(["stype"], TYPES)
    table = estimate(post_h, ["is_h"], "total")
    assert table["estimate"][0] == pytest.approx(755)
    assert table["se"][0] < 1e-6 * 755
    assert len(post.calibration) == 1 and post.calibration[0].method == "poststratify"


def test_close_margins_warning_is_not_raised_for_exact_totals(dclus1: SurveyDesign) -> None:
    """It stays silent when the margins agree exactly."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dclus1.rake({"stype": TYPES, "sch.wide": SCHWIDE})
