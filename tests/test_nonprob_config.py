"""Non-probability waves in the survey config, and the rule that they never set a status alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_samples import CODEBOOK_YAML, SURVEY_YAML, write_project
from test_exports import GENERATED_AT, _weight_reports
from test_status import DATES, DOMAINS, WAVES, _estimates, _meta

from perception.config import (
    load_catalogue,
    load_indicators,
    load_project,
    load_survey,
    load_weighting_config,
)
from perception.errors import ConfigError
from perception.exports import methodology_table
from perception.status import indicator_status, survey_status
from perception.trends import indicator_trends

REPO = Path(__file__).resolve().parents[1]

SMS_WAVE = """\
  - id: sms1
    label: {en: SMS poll (May 2025), fr: Sondage SMS (mai 2025)}
    file: sms1.csv
    codebook: config/codebooks/sms1.yaml
    sample: nonprobability
"""


def _project(tmp_path: Path, wave: str) -> Path:
    """Write the sample project with a second, SMS wave (and its codebook)."""
    path = write_project(tmp_path, survey=SURVEY_YAML + wave)
    sms = CODEBOOK_YAML.replace("wave: w1", "wave: sms1").replace("w1.sav", "sms1.csv")
    (tmp_path / "config" / "codebooks" / "sms1.yaml").write_text(sms, encoding="utf-8")
    return path


def test_nonprobability_wave_keys_load(tmp_path: Path) -> None:
    """A wave declared nonprobability, with reference wave and covariates, loads and is listed."""
    wave = SMS_WAVE + "    reference_wave: w1\n    covariates: [gender, age_band]\n"
    wave += "    propensity: valliant_dever\n"
    project = load_project(_project(tmp_path, wave))
    sms = project.survey.waves[1]
    assert (sms.sample, sms.reference_wave, sms.propensity) == (
        "nonprobability",
        "w1",
        "valliant_dever",
    )
    assert sms.covariates == ["gender", "age_band"]
    assert project.survey.nonprobability_waves() == ["sms1"]
    assert project.survey.waves[0].is_probability and not sms.is_probability


def test_plain_nonprobability_wave_needs_no_reference(tmp_path: Path) -> None:
    """Without a reference wave the SMS wave is still valid (unweighted or raked estimates)."""
    survey = load_survey(_project(tmp_path, SMS_WAVE))
    assert survey.waves[1].reference_wave is None
    assert survey.waves[0].sample == "probability"


@pytest.mark.parametrize(
    ("extra", "key", "found"),
    [
        ("    sample: probability\n    reference_wave: w1\n", "waves[1]", "sample: probability"),
        ("    reference_wave: w1\n", "waves[1].covariates", "no covariates"),
        ("    covariates: [gender]\n", "waves[1].reference_wave", "no reference_wave"),
        ("    propensity: clw\n", "waves[1].propensity", "without a reference wave"),
        ("    sample: panel\n", "waves[1].sample", "panel"),
        ("    sample: probability\n    rake: true\n", "waves[1].rake", "sample: probability"),
    ],
)
def test_wave_key_rules(tmp_path: Path, extra: str, key: str, found: str) -> None:
    """Inconsistent non-probability keys are rejected naming the wave's key."""
    wave = SMS_WAVE.replace("    sample: nonprobability\n", "") + extra
    if "sample:" not in extra:
        wave += "    sample: nonprobability\n"
    with pytest.raises(ConfigError) as info:
        load_survey(_project(tmp_path, wave))
    assert key in info.value.message
    assert found in info.value.found


def test_rake_with_a_reference_wave_rakes_the_pseudo_weights(tmp_path: Path) -> None:
    """rake: true is accepted beside reference_wave and covariates (raked pseudo-weights)."""
    wave = SMS_WAVE + "    reference_wave: w1\n    covariates: [gender]\n    rake: true\n"
    sms = load_survey(_project(tmp_path, wave)).waves[1]
    assert sms.rake and sms.reference_wave == "w1"


@pytest.mark.parametrize(
    ("reference", "found"), [("w9", "reference_wave: w9"), ("sms1", "reference_wave: sms1")]
)
def test_reference_wave_must_be_another_probability_wave(
    tmp_path: Path, reference: str, found: str
) -> None:
    """The reference wave must be another wave of the survey, and a probability one."""
    wave = SMS_WAVE + f"    reference_wave: {reference}\n    covariates: [gender]\n"
    with pytest.raises(ConfigError) as info:
        load_survey(_project(tmp_path, wave))
    assert "waves[1].reference_wave" in info.value.message
    assert found in info.value.found
    assert "w1" in info.value.hint


def test_covariates_must_be_catalogue_variables(tmp_path: Path) -> None:
    """A covariate the catalogue lacks is named with its position and a suggestion."""
    wave = SMS_WAVE + "    reference_wave: w1\n    covariates: [gender, regoin]\n"
    with pytest.raises(ConfigError) as info:
        load_project(_project(tmp_path, wave))
    assert "waves[1].covariates[1]" in info.value.message
    assert "'regoin'" in info.value.found


# ------------------------------------------------------------------ benchmark status


def _status_with(
    nonprobability: tuple[str, ...], series: dict[str, dict[str, tuple[float, float]]], meta: dict
) -> object:
    """Run trends then status with some waves declared non-probability."""
    table = _estimates(series)
    directions = {k: str(v["direction"]) for k, v in meta.items()}
    trends = indicator_trends(table, domains=DOMAINS, waves=WAVES, directions=directions)
    return indicator_status(
        table,
        trends,
        meta,
        latest_wave="w3",
        wave_dates=DATES,
        nonprobability_waves=nonprobability,
    ).set_index("indicator")


def test_a_nonprobability_latest_wave_never_sets_a_status() -> None:
    """A clear gain and a target met in an SMS wave give insufficient evidence, saying why."""
    meta = _meta(up={"target": 0.9}, met={"target": 0.3})
    series = {
        "up": {"w1": (0.40, 0.01), "w3": (0.50, 0.01)},
        "met": {"w1": (0.40, 0.01), "w3": (0.50, 0.01)},
    }
    probability = _status_with((), series, meta)
    assert probability["status"].tolist() == ["on track", "achieved"]  # what the data alone say
    status = _status_with(("w3",), series, meta)
    assert status["status"].tolist() == ["insufficient evidence"] * 2
    assert "w3 is a non-probability poll" in status.loc["up", "reason_en"]
    assert "sondage non probabiliste" in status.loc["met", "reason_fr"]


def test_a_nonprobability_baseline_decides_nothing_but_the_target_still_can() -> None:
    """A change since an SMS baseline decides nothing; a probability wave past the target does."""
    meta = _meta(up={"target": 0.9}, met={"target": 0.3})
    series = {
        "up": {"w1": (0.40, 0.01), "w3": (0.50, 0.01)},
        "met": {"w1": (0.40, 0.01), "w3": (0.50, 0.01)},
    }
    status = _status_with(("w1",), series, meta)
    assert status.loc["up", "status"] == "insufficient evidence"
    assert "The baseline w1 is a non-probability poll" in status.loc["up", "reason_en"]
    assert status.loc["met", "status"] == "achieved"


def test_status_table_judges_the_latest_probability_wave() -> None:
    """The reporting step judges the last probability wave, not a later SMS wave."""
    project = load_project(REPO / "config" / "survey.yaml", REPO)
    catalogue = load_catalogue(REPO / "config" / "variables.yaml")
    indicators = load_indicators(REPO / "config" / "indicators.yaml", catalogue)
    waves = list(project.survey.waves)
    waves[2] = waves[2].model_copy(update={"sample": "nonprobability"})
    survey = project.survey.model_copy(update={"waves": waves})
    first = indicators.indicators[0]
    series = {first.id: {"w1": (0.40, 0.01), "w2": (0.41, 0.01), "w3": (0.70, 0.01)}}
    table = _estimates(series).assign(benchmark=first.benchmark)
    trends = indicator_trends(
        table, domains=DOMAINS, waves=WAVES, directions={first.id: first.direction}
    )
    status = survey_status(table, trends, indicators, survey).set_index("indicator")
    assert status.loc[first.id, "latest_wave"] == "w2"
    assert status.loc[first.id, "estimate"] == pytest.approx(0.41)


# ------------------------------------------------------------------ methodology table


def _methodology_with_sms(update: dict[str, object]) -> object:
    """Build the demo methodology table with wave w3 declared non-probability."""
    survey = load_survey(REPO / "config" / "survey.yaml", REPO)
    waves = list(survey.waves)
    waves[2] = waves[2].model_copy(update={"sample": "nonprobability", **update})
    return methodology_table(
        survey.model_copy(update={"waves": waves}),
        _weight_reports(),
        load_weighting_config(REPO / "config" / "weighting.yaml"),
        catalogue=load_catalogue(REPO / "config" / "variables.yaml"),
        suppress_below=25,
        flag_below=50,
        generated_at=GENERATED_AT,
    ).set_index("wave")


def test_methodology_labels_a_nonprobability_wave_without_margin_of_error() -> None:
    """An SMS wave is labelled non-probability (EN/FR), with no margin of error or design SEs."""
    table = _methodology_with_sms({})
    sms = table.loc["w3"]
    assert sms["design_en"].startswith("Non-probability sample (SMS, IVR or online panel): no ")
    assert sms["design_fr"].startswith("Échantillon non probabiliste (SMS, serveur vocal")
    assert "describe the respondents, not the population" in sms["design_en"]
    assert sms["moe_95"] != sms["moe_95"]  # NaN
    assert sms["weighting_en"] == (
        "Non-probability sample: equal weights for every respondent, unweighted estimates; "
        "no calibration to population figures and no trimming; no design-based variance."
    )
    assert sms["weighting_fr"].startswith("Échantillon non probabiliste\u202f: poids égaux")
    assert table.loc["w2", "moe_95"] > 0
    assert table.loc["w2", "design_en"].startswith("Taylor-linearised")


def test_methodology_says_a_raked_poll_is_raked_from_equal_weights() -> None:
    """With rake: true the SMS wave's weighting text names raking of equal weights, no SEs."""
    sms = _methodology_with_sms({"rake": True}).loc["w3"]
    assert sms["weighting_en"].startswith(
        "Non-probability sample: every respondent starts from the same weight; raking of "
        "the equal weights to population figures by Gender, Age group, Region, Area of residence"
    )
    assert "; no design-based variance; calibration converged;" in sms["weighting_en"]
    assert "Taylor" not in sms["weighting_en"] and sms["moe_95"] != sms["moe_95"]
    assert "des poids égaux" in sms["weighting_fr"]


def test_methodology_names_the_pseudo_weights_and_their_variance() -> None:
    """With a reference wave the SMS wave names it, the covariates, the model and CLW's variance."""
    table = _methodology_with_sms(
        {"reference_wave": "w2", "covariates": ["gender", "age_band"], "propensity": "clw"}
    )
    sms = table.loc["w3"]
    wave = "Wave 2 (November 2025)"
    assert f"probability wave {wave} on Gender, Age group (Chen-Li-Wu 2020)" in sms["design_en"]
    assert "variance linéarisée de Chen, Li et Wu (2020)" in sms["design_fr"]
    assert "Vague 2 (novembre 2025) sur Sexe\u202f; Tranche d'âge" in sms["design_fr"]
    assert sms["weighting_en"].startswith(
        "Non-probability sample: its estimates use Chen-Li-Wu 2020 pseudo-weights against "
        f"the probability wave {wave} on Gender, Age group, not the weights described here"
    )
    assert sms["moe_95"] != sms["moe_95"]


def test_methodology_says_the_pseudo_weights_were_raked_to_the_census() -> None:
    """With a reference wave and rake: true the texts say the pseudo-weights were raked (EN/FR)."""
    sms = _methodology_with_sms(
        {"reference_wave": "w2", "covariates": ["gender", "age_band"], "rake": True}
    ).loc["w3"]
    margins = "Gender, Age group, Region, Area of residence"
    assert sms["weighting_en"].startswith(
        "Non-probability sample: its estimates use Chen-Li-Wu 2020 pseudo-weights against the "
        f"probability wave Wave 2 (November 2025) on Gender, Age group, then adjusted by raking "
        f"to population figures by {margins}, not the weights described here"
    )
    assert (
        f"then adjusted by raking to population figures by {margins}. Standard errors by "
        in (sms["design_en"])
    )
    assert (
        "(2020), applied to the residuals of that adjustment (Deville and Särndal 1992)"
        in (sms["design_en"])
    )
    for column in ("weighting_fr", "design_fr"):
        assert (
            "puis ramenés par calage sur marges par ajustements proportionnels itératifs aux "
            in (sms[column])
        )
    assert "appliquée aux résidus de cet ajustement" in sms["design_fr"]
    assert sms["variance_method"] == "chen-li-wu" and sms["moe_95"] != sms["moe_95"]
