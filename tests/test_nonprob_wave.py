"""Table 1 of a non-probability wave on the demo survey: CLW intervals only where they exist."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from perception.codebook import harmonize_file
from perception.config import (
    IndicatorCatalogue,
    Project,
    load_indicators,
    load_project,
    load_targets,
    load_weighting_config,
)
from perception.demo import generate
from perception.design import SurveyDesign
from perception.errors import PerceptionError
from perception.indicators import score_indicator
from perception.nonprob import (
    DESIGN_UNCERTAINTY,
    QuasiRandomization,
    balance_table,
    estimate_nonprobability_wave,
    nonprob_means,
)
from perception.weighting.workflow import weight_wave

ROOT = Path(__file__).resolve().parents[1]
COVARIATES = ["gender", "age_band", "region"]


@pytest.fixture(scope="module")
def project() -> Project:
    """Load the demo survey."""
    return load_project(ROOT / "config" / "survey.yaml", root=ROOT)


@pytest.fixture(scope="module")
def indicators(project: Project) -> IndicatorCatalogue:
    """Load the demo indicator catalogue."""
    return load_indicators(ROOT / "config" / "indicators.yaml", project.catalogue)


@pytest.fixture(scope="module")
def waves(
    tmp_path_factory: pytest.TempPathFactory, project: Project
) -> tuple[SurveyDesign, pd.DataFrame]:
    """Weight demo wave 1 as the reference; keep a women-heavy self-selected part of wave 2."""
    raw = tmp_path_factory.mktemp("raw")
    generate(raw, waves=["w1", "w2"])
    frames = {}
    for wave in project.survey.waves[:2]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fallback-salt warning for a personal id
            frames[wave.id] = harmonize_file(
                raw / wave.file, project.codebooks[wave.id], project.catalogue, survey="demo"
            )
    config = load_weighting_config(ROOT / "config" / "weighting.yaml")
    targets = load_targets(ROOT / "config" / "targets" / "demo_census.yaml")
    reference, _ = weight_wave(frames["w1"], config, targets)
    sms = frames["w2"]
    rng = np.random.default_rng(20261204)
    women = (sms["gender"].astype(str) == "2").to_numpy()
    keep = rng.random(len(sms)) < np.where(women, 0.9, 0.3)
    return reference, sms[keep].reset_index(drop=True)


Estimated = tuple[pd.DataFrame, QuasiRandomization, SurveyDesign, pd.DataFrame]


@pytest.fixture(scope="module")
def estimation(
    project: Project, indicators: IndicatorCatalogue, waves: tuple[SurveyDesign, pd.DataFrame]
) -> Estimated:
    """Estimate the SMS wave against the reference wave: Table 1, the fit and both waves."""
    return _estimate(project, indicators, waves)


def _estimate(
    project: Project,
    indicators: IndicatorCatalogue,
    waves: tuple[SurveyDesign, pd.DataFrame],
    **raking: Any,
) -> Estimated:
    """Estimate the SMS wave against the reference wave (``raking``: weighting and targets)."""
    reference, sms = waves
    table, fit = estimate_nonprobability_wave(
        sms,
        indicators,
        project.catalogue,
        survey="demo",
        wave="sms",
        reference=reference,
        covariates=COVARIATES,
        **raking,
    )
    assert fit is not None
    return table, fit, reference, sms


def _row(table: pd.DataFrame, indicator: str, domain_set: str, **domain: int) -> pd.Series:
    """Return the variant "all" row of an indicator in a domain."""
    mask = (
        table["indicator"].eq(indicator)
        & table["variant"].eq("all")
        & table["domain_set"].eq(domain_set)
    )
    for column, code in domain.items():
        mask &= table[column].eq(code)
    return table[mask].iloc[0]


def test_every_estimated_row_carries_a_clw_interval(
    project: Project, indicators: IndicatorCatalogue, estimation: Estimated
) -> None:
    """Every estimated row, gaps included, gets a CLW SE and interval; df, deff, p never."""
    table, _, _, _ = estimation
    estimated = table["availability"].eq("estimated")
    assert table["domain_set"][estimated].nunique() > 3
    gaps = table[estimated & table["type"].eq("gap")]
    assert len(gaps) > 0 and (gaps["se"] > 0).all()
    # a gap's interval is centred on the engine's own a - b (its linearization is a - b's)
    middle = (gaps["ci_low"] + gaps["ci_high"]) / 2
    np.testing.assert_allclose(middle, gaps["estimate"], rtol=1e-9, atol=1e-12)
    rows = table[estimated]
    assert (rows["se"] >= 0).all()
    degenerate = rows[rows["se"].eq(0)]  # p = 0 or 1 in a tiny cell: Korn-Graubard, not [p, p]
    assert len(degenerate) > 0 and degenerate["estimate"].isin([0.0, 1.0]).all()
    assert (degenerate["ci_high"] > degenerate["ci_low"]).all()
    assert (rows["ci_low"] <= rows["estimate"]).all()
    assert (rows["estimate"] <= rows["ci_high"]).all()
    proportions = rows[rows["type"].eq("proportion")]
    assert (proportions["ci_low"] >= 0).all() and (proportions["ci_high"] <= 1).all()
    others = table[~estimated]
    assert others[["se", "ci_low", "ci_high"]].isna().all().all()
    present = [c for c in DESIGN_UNCERTAINTY if c not in ("se", "ci_low", "ci_high")]
    assert table[present].isna().all().all()


def test_a_domain_interval_is_the_clw_mean_of_the_domain_values(
    project: Project, indicators: IndicatorCatalogue, estimation: Estimated
) -> None:
    """A women's row equals nonprob_means on the indicator values kept for women only."""
    table, fit, reference, sms = estimation
    first = indicators.indicators[0]
    answers = score_indicator(sms, first, project.catalogue)
    assert answers is not None
    women = (sms["gender"].astype(str) == "2").to_numpy()
    frame = pd.DataFrame({"women": np.where(women, answers.variant("all"), np.nan)})
    want = nonprob_means(fit, frame, reference, ["women"]).iloc[0]
    row = _row(table, first.id, "gender", gender=2)
    assert row["estimate"] == pytest.approx(want["estimate"], rel=1e-12)
    assert row["se"] == pytest.approx(want["se"], rel=1e-10)
    assert row["n"] == want["n"]


def test_national_estimate_is_the_pseudo_weighted_mean_of_the_scores(
    project: Project, indicators: IndicatorCatalogue, estimation: Estimated
) -> None:
    """The engine's national estimate equals the pseudo-weighted mean of the indicator values."""
    table, fit, _, sms = estimation
    first = indicators.indicators[0]
    answers = score_indicator(sms, first, project.catalogue)
    assert answers is not None
    values = answers.variant("all")
    ok = ~np.isnan(values)
    direct = float(np.average(values[ok], weights=fit.weights[ok]))
    row = _row(table, first.id, "national")
    assert row["estimate"] == pytest.approx(direct, rel=1e-12)
    assert row["n"] == int(ok.sum())


def test_without_reference_the_estimates_are_unweighted_without_intervals(
    project: Project, indicators: IndicatorCatalogue, waves: tuple[SurveyDesign, pd.DataFrame]
) -> None:
    """With no reference wave every estimate is the plain mean and nothing has an interval."""
    _, sms = waves
    table, fit = estimate_nonprobability_wave(
        sms, indicators, project.catalogue, survey="demo", wave="sms"
    )
    assert fit is None
    assert table[list(DESIGN_UNCERTAINTY)].isna().all().all()
    first = indicators.indicators[0]
    answers = score_indicator(sms, first, project.catalogue)
    assert answers is not None
    values = answers.variant("all")
    row = _row(table, first.id, "national")
    assert row["estimate"] == pytest.approx(float(np.nanmean(values)), rel=1e-12)


def test_pseudo_weights_undo_the_self_selection_by_gender(
    estimation: Estimated,
) -> None:
    """The women-heavy SMS sample is rebalanced on gender against the reference wave."""
    _, fit, reference, sms = estimation
    balance = balance_table(sms, reference, COVARIATES, fit.weights)
    gender = balance[balance["covariate"].eq("gender")]
    assert (gender["asmd_before"] > 0.3).all()
    assert (gender["asmd_after"] < 0.05).all()


@pytest.fixture(scope="module")
def raked(
    project: Project, indicators: IndicatorCatalogue, waves: tuple[SurveyDesign, pd.DataFrame]
) -> Estimated:
    """Estimate the SMS wave with its pseudo-weights raked to the census margins."""
    return _estimate(
        project,
        indicators,
        waves,
        weighting=load_weighting_config(ROOT / "config" / "weighting.yaml"),
        targets=load_targets(ROOT / "config" / "targets" / "demo_census.yaml"),
    )


def test_raked_rows_are_the_raked_clw_means_of_their_domain(
    project: Project, indicators: IndicatorCatalogue, raked: Estimated
) -> None:
    """With rake, the weights meet the census and every row is nonprob_means on its values."""
    table, fit, reference, sms = raked
    assert fit.raked and fit.calibration is not None
    census = load_targets(ROOT / "config" / "targets" / "demo_census.yaml").margin("gender")
    achieved = pd.Series(fit.weights).groupby(sms["gender"].to_numpy()).sum()
    for code, count in census.items():
        assert achieved[code] == pytest.approx(count, rel=1e-6)
    first = indicators.indicators[0]
    answers = score_indicator(sms, first, project.catalogue)
    assert answers is not None
    values = answers.variant("all")
    women = (sms["gender"].astype(str) == "2").to_numpy()
    frame = pd.DataFrame({"all": values, "women": np.where(women, values, np.nan)})
    want = nonprob_means(fit, frame, reference, ["all", "women"]).set_index("variable")
    for name, row in (
        ("all", _row(table, first.id, "national")),
        ("women", _row(table, first.id, "gender", gender=2)),
    ):
        assert row["estimate"] == pytest.approx(want.loc[name, "estimate"], rel=1e-12)
        assert row["se"] == pytest.approx(want.loc[name, "se"], rel=1e-10)
        assert want.loc[name, "variance"].endswith("on the raking residuals (Deville-Särndal 1992)")
    estimated = table[table["availability"].eq("estimated")]
    assert (estimated["se"] >= 0).all() and estimated["se"].notna().all()


@pytest.mark.parametrize(
    ("broken", "column", "found"),
    [
        ("no urban_rural", "urban_rural", "columns"),
        ("one iteration", "gender, age_band, region, urban_rural", "largest relative margin"),
    ],
)
def test_raking_errors_name_the_wave_and_the_margin(
    project: Project,
    indicators: IndicatorCatalogue,
    waves: tuple[SurveyDesign, pd.DataFrame],
    broken: str,
    column: str,
    found: str,
) -> None:
    """A margin absent from the poll, or raking that does not converge, names wave and margin."""
    reference, sms = waves
    config = load_weighting_config(ROOT / "config" / "weighting.yaml")
    if broken == "no urban_rural":
        sms = sms.drop(columns="urban_rural")
    else:
        calibration = config.calibration.model_copy(update={"max_iterations": 1})
        config = config.model_copy(update={"calibration": calibration})
    with pytest.raises(PerceptionError) as info:
        estimate_nonprobability_wave(
            sms,
            indicators,
            project.catalogue,
            survey="demo",
            wave="sms",
            reference=reference,
            covariates=COVARIATES,
            weighting=config,
            targets=load_targets(ROOT / "config" / "targets" / "demo_census.yaml"),
        )
    error = info.value
    assert error.message.startswith("Wave sms: its pseudo-weights cannot be raked to the census")
    assert error.column == column and found in error.found and error.hint
