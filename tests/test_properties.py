"""Property tests: two routes to the same number must agree on random small surveys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perception.design import SurveyDesign
from perception.estimation import NATIONAL, estimate, estimate_domains

PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
STATS = ["estimate", "se", "ci_low", "ci_high", "deff", "n_eff"]


@st.composite
def surveys(draw: st.DrawFn) -> SurveyDesign:
    """Draw a stratified cluster sample with every (a, c) cell and some missing values."""
    n_strata = draw(st.integers(1, 3))
    psus = draw(st.integers(2, 4))
    rows = draw(st.integers(3, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = n_strata * psus * rows
    psu = np.repeat(np.arange(n_strata * psus), rows)
    a = rng.choice(["a1", "a2", "a3"], n)
    c = rng.choice(["x", "y"], n)
    a[:6], c[:6] = ["a1", "a1", "a2", "a2", "a3", "a3"], ["x", "y", "x", "y", "x", "y"]
    y = rng.normal(50, 10, n)
    b = (rng.random(n) < 0.4).astype(float)
    y[rng.random(n) < 0.1] = np.nan
    b[rng.random(n) < 0.1] = np.nan
    data = pd.DataFrame(
        {
            "stratum": psu // psus,
            "psu": psu,
            "w": rng.uniform(0.5, 4.0, n),
            "a": a,
            "c": c,
            "y": y,
            "b": b,
        }
    )
    return SurveyDesign(data, weights="w", strata="stratum", psu="psu")


def _targets(design: SurveyDesign, column: str, seed: int) -> dict[str, float]:
    """Random positive population counts for a column's levels, summing to 1000."""
    levels = sorted(design.data[column].unique())
    shares = np.random.default_rng(seed).uniform(1.0, 3.0, len(levels))
    return dict(zip(levels, (1000 * shares / shares.sum()).tolist(), strict=True))


def _same(
    left: pd.DataFrame, right: pd.DataFrame, columns: list[str], rtol: float, atol: float = 1e-12
) -> None:
    """Assert two estimate tables agree on the given columns."""
    pd.testing.assert_frame_equal(
        left[columns].reset_index(drop=True),
        right[columns].reset_index(drop=True),
        check_exact=False,
        rtol=rtol,
        atol=atol,
    )


@PROPERTY_SETTINGS
@given(design=surveys(), seed=st.integers(0, 1000))
def test_raking_reproduces_its_margins(design: SurveyDesign, seed: int) -> None:
    """It rakes to weighted counts equal to every target of every margin."""
    margins = {"a": _targets(design, "a", seed), "c": _targets(design, "c", seed + 1)}
    raked = design.rake(margins)
    for column, targets in margins.items():
        counts = pd.Series(raked.weights).groupby(design.data[column].to_numpy()).sum()
        for level, target in targets.items():
            assert counts[level] == pytest.approx(target, rel=1e-9)


@PROPERTY_SETTINGS
@given(design=surveys(), factor=st.floats(0.01, 100.0))
def test_rescaling_weights_changes_no_mean_or_proportion(
    design: SurveyDesign, factor: float
) -> None:
    """It gives the same means, proportions, SEs, CIs and n_eff after rescaling weights.

    deff is left out: its SRS-without-replacement reference depends on N̂ = Σw.
    """
    scaled = design.with_weights(design.weights * factor)
    for variable, stat in (("y", "mean"), ("b", "proportion")):
        before = estimate(design, [variable], stat, by=["a"])  # type: ignore[arg-type]
        after = estimate(scaled, [variable], stat, by=["a"])  # type: ignore[arg-type]
        _same(before, after, ["estimate", "se", "ci_low", "ci_high", "n_eff"], rtol=1e-8)


@PROPERTY_SETTINGS
@given(design=surveys(), seed=st.integers(0, 1000))
def test_single_margin_rake_and_linear_calibration_equal_poststratification(
    design: SurveyDesign, seed: int
) -> None:
    """It gives post-stratification's weights and SEs by raking or GREG on one margin.

    An SE that is truly 0 comes out as rounding noise, so SEs also get an absolute
    tolerance of 1e-9 times the estimate's scale.
    """
    targets = _targets(design, "a", seed)
    post = design.poststratify(["a"], targets)
    for other in (design.rake({"a": targets}), design.calibrate({"a": targets})):
        np.testing.assert_allclose(other.weights, post.weights, rtol=1e-9)
        for variable, stat in (("y", "mean"), ("b", "proportion"), ("y", "total")):
            want = estimate(post, [variable], stat, by=["c"])  # type: ignore[arg-type]
            got = estimate(other, [variable], stat, by=["c"])  # type: ignore[arg-type]
            scale = float(want["estimate"].abs().max())
            _same(want, got, ["estimate", "se"], rtol=1e-7, atol=1e-9 * scale)


@PROPERTY_SETTINGS
@given(design=surveys(), calibrated=st.booleans())
def test_domain_mean_is_a_ratio_estimator(design: SurveyDesign, calibrated: bool) -> None:
    """It equals Σwyd/Σwd, with the SE of the total of d·(y − R)/Σwd (zero-filled scores)."""
    if calibrated:
        design = design.rake({"c": _targets(design, "c", 7)})
    table = estimate(design, ["y"], "mean", by=["a"])
    data, w = design.data, design.weights
    for _, row in table.iterrows():
        inside = (data["a"] == row["a"]).to_numpy() & data["y"].notna().to_numpy()
        y = data["y"].to_numpy()
        size = w[inside].sum()
        if size == 0:  # no observed y in this domain: the ratio is undefined
            assert np.isnan(row["estimate"])
            continue
        ratio = float(w[inside] @ y[inside] / size)
        score = np.where(inside, (np.nan_to_num(y) - ratio) / size, 0.0)
        base = SurveyDesign(data.assign(score=score), weights="w", strata="stratum", psu="psu")
        scored = base.rake({"c": _targets(design, "c", 7)}) if calibrated else base
        se = estimate(scored, ["score"], "total")["se"][0]
        assert row["estimate"] == pytest.approx(ratio, rel=1e-12)
        assert row["se"] == pytest.approx(se, rel=1e-8, abs=1e-12)


@PROPERTY_SETTINGS
@given(design=surveys())
def test_domain_estimate_equals_subset_design(design: SurveyDesign) -> None:
    """It matches a design built on the domain's rows, and zero-filled totals for the SE."""
    data = design.data
    inside = (data["a"] == "a2").to_numpy()
    subset = SurveyDesign(
        data[inside].reset_index(drop=True),
        weights="w",
        strata="stratum",
        psu="psu",
        lonely_psu="remove",
    )
    for stat in ("mean", "total"):
        domain = estimate(design, ["y"], stat, by=["a"])  # type: ignore[arg-type]
        row = domain[domain["a"] == "a2"].iloc[0]
        alone = estimate(subset, ["y"], stat)  # type: ignore[arg-type]
        assert row["estimate"] == pytest.approx(alone["estimate"][0], rel=1e-12)
        assert row["n"] == alone["n"][0]
        assert row["n_weighted"] == pytest.approx(alone["n_weighted"][0], rel=1e-12)
    zero_filled = data.assign(yd=np.where(inside, data["y"], 0.0))
    full = SurveyDesign(zero_filled, weights="w", strata="stratum", psu="psu")
    domain_total = estimate(design, ["y"], "total", by=["a"])
    row = domain_total[domain_total["a"] == "a2"].iloc[0]
    assert row["se"] == pytest.approx(estimate(full, ["yd"], "total")["se"][0], rel=1e-9)


@PROPERTY_SETTINGS
@given(design=surveys(), stat=st.sampled_from(["mean", "total", "proportion"]))
def test_estimate_domains_equals_estimate_by_set(design: SurveyDesign, stat: str) -> None:
    """It gives estimate(by=set) for every domain set estimated in one pass."""
    variables = ["b"] if stat == "proportion" else ["y", "b"]
    sets: list[list[str]] = [[], ["a"], ["a", "c"], ["c"]]
    long = estimate_domains(design, variables, sets, stat=stat)  # type: ignore[arg-type]
    for columns in sets:
        label = "×".join(columns) if columns else NATIONAL
        part = long[long["domain_set"] == label]
        single = estimate(design, variables, stat, by=columns)  # type: ignore[arg-type]
        _same(part, single, [*STATS, "df", "n", "n_weighted"], rtol=1e-9)
        for column in columns:
            assert part[column].tolist() == single[column].tolist()
