"""Surveys without census targets or PSU ids: design weights as delivered, checked against R.

The reference is Afrobarometer Tunisia Round 8 (delivered weights, strata REGION × URBRUR, no
PSU ids): ``tests/reference/afrobarometer_tun_r8.{csv,json}``, made by
``make_afrobarometer_extract.py`` and ``make_afrobarometer_reference.R`` (provenance in
``tests/reference/PROVENANCE.md``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from config_samples import AFROBAROMETER, CATALOGUE_YAML, SURVEY_YAML
from golden import REFERENCE

from perception.codebook import FILTER_ATTR, harmonize, harmonize_file
from perception.config import (
    Catalogue,
    Codebook,
    WeightingConfig,
    load_catalogue,
    load_codebook,
    load_survey,
    load_wave_targets,
)
from perception.design import SurveyDesign
from perception.errors import CodebookError, ConfigError, ValidationError
from perception.estimation import estimate, estimate_domains
from perception.io import SurveyMetadata
from perception.weighting import WeightingWarning
from perception.weighting.workflow import weight_wave
from perception.words import say

GOLDEN_RTOL = 1e-6
ITEMS = ("trust_police", "trust_courts", "people_trusted")
R8 = AFROBAROMETER / "tun_r8_data.sav"
needs_r8 = pytest.mark.skipif(not R8.is_file(), reason=f"Afrobarometer fixture absent ({R8})")


def _binary(codes: pd.Series, yes: list[int], no: list[int]) -> pd.Series:
    """Return 1 for ``yes`` codes, 0 for ``no`` codes, NaN otherwise (missing, refused, DK)."""
    return pd.Series(np.where(codes.isin(yes), 1.0, np.where(codes.isin(no), 0.0, np.nan)))


@pytest.fixture(scope="module")
def extract() -> pd.DataFrame:
    """Load the R8 extract with the reference's recodes and the stratum REGION|URBRUR."""
    ab = pd.read_csv(REFERENCE / "afrobarometer_tun_r8.csv")
    return ab.assign(
        trust_police=_binary(ab["Q41G"], [2, 3], [0, 1]),
        trust_courts=_binary(ab["Q41I"], [2, 3], [0, 1]),
        people_trusted=_binary(ab["Q83"], [1], [0]),
        age=ab["Q1"].where(~ab["Q1"].isin([-1, 998, 999])).astype(float),
        stratum=ab["REGION"].astype(str) + "|" + ab["URBRUR"].astype(str),
    )


@pytest.fixture(scope="module")
def golden() -> dict[str, object]:
    """Load R's numbers for the R8 extract."""
    loaded: dict[str, object] = json.loads(
        (REFERENCE / "afrobarometer_tun_r8.json").read_text(encoding="utf-8")
    )
    return loaded


@pytest.fixture(scope="module")
def design(extract: pd.DataFrame) -> SurveyDesign:
    """R's svydesign(ids=~1, strata=~stratum, weights=~withinwt_hh)."""
    return SurveyDesign(extract, weights="withinwt_hh", strata="stratum", psu=None)


def _cases(golden: dict[str, object]) -> list[dict[str, object]]:
    """Return the reference cases."""
    cases = golden["cases"]
    assert isinstance(cases, list)
    return cases


def _check(row: pd.Series, case: dict[str, object]) -> None:
    """Compare one perception row with one R case at the golden tolerance."""
    for key in ("estimate", "se", "ci_low", "ci_high"):
        assert row[key] == pytest.approx(case[key], rel=GOLDEN_RTOL), key
    assert int(row["df"]) == case["df"]


def test_no_psu_design_matches_r_nationally_and_by_gender(
    design: SurveyDesign, golden: dict[str, object]
) -> None:
    """Proportions (logit CI) and mean age, national and by Q101, match R at 1e-6, with df."""
    assert (design.n_strata, design.n_psus, design.degf) == (14, 1200, 1186)
    national = estimate(design, list(ITEMS), "proportion", ci_method="logit")
    by_gender = estimate(design, list(ITEMS), "proportion", by=["Q101"], ci_method="logit")
    age = estimate(design, ["age"], "mean")
    cases = _cases(golden)
    assert len(cases) == 10
    for case in cases:
        if case["variable"] == "age":
            _check(age.iloc[0], case)
        elif case["domain"] == "national":
            _check(national.set_index("variable").loc[case["variable"]], case)
        else:
            rows = by_gender[by_gender["variable"] == case["variable"]].set_index("Q101")
            _check(rows.loc[case["level"]], case)


def test_estimate_domains_gives_the_same_numbers(
    design: SurveyDesign, golden: dict[str, object]
) -> None:
    """estimate_domains (every domain set at once) gives R's numbers too."""
    table = estimate_domains(design, list(ITEMS), [[], ["Q101"]], "proportion", "logit")
    for case in _cases(golden):
        if case["variable"] == "age":
            continue
        rows = table[table["variable"] == case["variable"]]
        if case["domain"] == "national":
            _check(rows[rows["domain_set"] == "national"].iloc[0], case)
        else:
            _check(rows[rows["Q101"] == case["level"]].iloc[0], case)


def _no_calibration(**design: object) -> WeightingConfig:
    """Weighting settings of a survey without targets: delivered weights, strata, no PSU."""
    return WeightingConfig.model_validate(
        {"design": design, "base_weight": {"column": "withinwt_hh"}, "domains": ["Q101"]}
    )


def test_weight_wave_without_calibration_keeps_the_delivered_weights(
    extract: pd.DataFrame, golden: dict[str, object]
) -> None:
    """Without a calibration key the weights are used as delivered, and the report says no PSU."""
    config = _no_calibration(strata="stratum")
    assert config.calibration.method == "none"
    final, report = weight_wave(extract, config)
    np.testing.assert_array_equal(final.weights, extract["withinwt_hh"].to_numpy())
    assert final.calibration == ()
    assert (final.n_strata, final.n_psus) == (14, 1200)
    assert set(report["design"]) == {say("design.no_psu", "en")}
    assert report["converged"].all() and report["margin_error_rel"].isna().all()
    police = estimate(final, ["trust_police"], "proportion", ci_method="logit").iloc[0]
    _check(police, _cases(golden)[0])


def test_unused_psu_ids_in_the_data_are_announced(extract: pd.DataFrame) -> None:
    """Harmonized PSU ids that design.psu does not name raise a warning, not silence."""
    clustered = extract.assign(psu=(np.arange(len(extract)) // 8).astype(str))
    with pytest.warns(WeightingWarning, match=r"design\.psu is not set"):
        weight_wave(clustered, _no_calibration(strata="stratum"))


def test_trimming_without_calibration_keeps_stratum_totals(extract: pd.DataFrame) -> None:
    """Trimming delivered weights caps them and redistributes within strata (totals kept)."""
    config = WeightingConfig.model_validate(
        {
            "design": {"strata": "stratum"},
            "base_weight": {"column": "withinwt_hh"},
            "calibration": {"method": "none"},
            "trimming": {"cap": {"median_multiple": 2.5}},
        }
    )
    final, report = weight_wave(extract, config)
    cap = 2.5 * float(np.median(extract["withinwt_hh"]))
    assert final.weights.max() <= cap * (1 + 1e-12)
    assert int(report.loc[0, "n_trimmed"]) > 0
    before = extract.groupby("stratum")["withinwt_hh"].sum()
    after = pd.Series(final.weights).groupby(extract["stratum"].to_numpy()).sum()
    np.testing.assert_allclose(after.sort_index(), before.sort_index(), rtol=1e-12)


@pytest.mark.parametrize("scale", [11_800_000 / 1200, 0.001])
def test_weight_scale_changes_no_proportion_mean_se_or_ci(
    design: SurveyDesign, scale: float
) -> None:
    """Weights × a constant (mean 1 vs population totals) change no ratio estimate; totals scale.

    ``deff`` is left out on purpose: its SRSWOR reference variance has the factor 1 − n/N̂,
    which is about 0 when the weights are normalised to mean 1 (N̂ = n), as R's is.
    """
    scaled = design.with_weights(design.weights * scale)
    columns = ["estimate", "se", "ci_low", "ci_high", "df", "n", "n_eff"]
    for stat, variables in (("proportion", list(ITEMS)), ("mean", ["age"])):
        for route in (
            lambda d, v=variables, s=stat: estimate(d, v, s, by=["Q101"]),
            lambda d, v=variables, s=stat: estimate_domains(d, v, [[], ["Q101"], ["stratum"]], s),
        ):
            base, other = route(design), route(scaled)
            pd.testing.assert_frame_equal(other[columns], base[columns], rtol=1e-10, atol=0)
            np.testing.assert_allclose(other["n_weighted"], base["n_weighted"] * scale, rtol=1e-12)
    base, other = estimate(design, ["age"], "total"), estimate(scaled, ["age"], "total")
    for key in ("estimate", "se", "ci_low", "ci_high"):
        assert other[key].item() == pytest.approx(base[key].item() * scale, rel=1e-12)


# --------------------------------------------------------------------------- configuration


def test_calibration_settings_say_one_thing() -> None:
    """Method none takes no margins, the others need them, and no calibration key means none."""
    base = {"base_weight": {"column": "w"}}
    assert WeightingConfig.model_validate(base).calibration.method == "none"
    assert not WeightingConfig.model_validate(base).calibration.needs_targets
    with pytest.raises(ValueError, match="takes no margins"):
        WeightingConfig.model_validate(
            {**base, "calibration": {"method": "none", "margins": ["gender"]}}
        )
    with pytest.raises(ValueError, match="needs margins"):
        WeightingConfig.model_validate({**base, "calibration": {"method": "rake"}})
    design = WeightingConfig.model_validate(base).design
    assert (design.strata, design.psu) == (None, None)


def test_calibration_without_targets_is_a_config_error(extract: pd.DataFrame) -> None:
    """weight_wave refuses to calibrate without targets, saying how to fix it."""
    config = WeightingConfig.model_validate(
        {
            "design": {"strata": "stratum"},
            "base_weight": {"column": "withinwt_hh"},
            "calibration": {"margins": ["Q101"]},
        }
    )
    with pytest.raises(ConfigError, match="needs population targets") as info:
        weight_wave(extract, config)
    assert "method: none" in info.value.hint


TARGETS_YAML = """\
survey: demo
source: Census
reference_date: 2024-01-01
tables:
  - name: gender
    dimensions: [gender]
    rows: [[1, {men}], [2, {women}]]
"""


def _project(tmp_path: Path, survey: str) -> Path:
    """Write a survey file, a catalogue and two targets files; return the survey file."""
    config = tmp_path / "config"
    (config / "targets").mkdir(parents=True)
    (config / "variables.yaml").write_text(CATALOGUE_YAML, encoding="utf-8")
    for name, men, women in (("r8", 500, 520), ("r9", 600, 610)):
        text = TARGETS_YAML.format(men=men, women=women)
        (config / "targets" / f"{name}.yaml").write_text(text, encoding="utf-8")
    path = config / "survey.yaml"
    path.write_text(survey, encoding="utf-8")
    return path


def _two_waves(survey_targets: str | None, w2_targets: str | None) -> str:
    """Return a two-wave survey file with the given survey-level and wave-2 targets."""
    doc = yaml.safe_load(SURVEY_YAML)
    if survey_targets is None:
        del doc["targets"]
    else:
        doc["targets"] = survey_targets
    second = {**doc["waves"][0], "id": "w2", "file": "w2.sav", "codebook": "c2.yaml"}
    if w2_targets is not None:
        second["targets"] = w2_targets
    doc["waves"].append(second)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def test_a_wave_names_its_own_targets(tmp_path: Path) -> None:
    """A wave's targets override the survey's; other waves keep the survey's."""
    path = _project(tmp_path, _two_waves("config/targets/r8.yaml", "config/targets/r9.yaml"))
    survey = load_survey(path)
    catalogue = load_catalogue(tmp_path / "config" / "variables.yaml")
    config = WeightingConfig.model_validate(
        {"base_weight": {"column": "w"}, "calibration": {"margins": ["gender"]}}
    )
    w1 = load_wave_targets(survey, "w1", config, catalogue)
    w2 = load_wave_targets(survey, "w2", config, catalogue)
    assert w1 is not None and w2 is not None
    assert (w1.margin("gender"), w2.margin("gender")) == ({1: 500, 2: 520}, {1: 600, 2: 610})
    none = WeightingConfig.model_validate({"base_weight": {"column": "w"}})
    assert load_wave_targets(survey, "w2", none, catalogue) is None


def test_a_calibrated_wave_without_targets_names_the_key(tmp_path: Path) -> None:
    """Calibration with neither survey nor wave targets is a ConfigError naming the wave's key."""
    path = _project(tmp_path, _two_waves(None, "config/targets/r9.yaml"))
    survey = load_survey(path)
    catalogue = load_catalogue(tmp_path / "config" / "variables.yaml")
    config = WeightingConfig.model_validate(
        {"base_weight": {"column": "w"}, "calibration": {"margins": ["gender"]}}
    )
    assert load_wave_targets(survey, "w2", config, catalogue) is not None
    with pytest.raises(ConfigError, match=r"waves\[0\]\.targets|waves\.0\.targets") as info:
        load_wave_targets(survey, "w1", config, catalogue)
    assert info.value.file == str(path)
    assert "calibration.method: rake" in info.value.expected


# --------------------------------------------------------------------------- codebook


def _meta() -> SurveyMetadata:
    """Describe a frame built in the test (no labels)."""
    return SurveyMetadata(
        path=Path("x"), format="csv", n_rows=0, column_names=[], variable_types={}
    )


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    """Load the small test catalogue (regions 1580-1586, string stratum and PSU)."""
    path = tmp_path_factory.mktemp("catalogue") / "variables.yaml"
    path.write_text(CATALOGUE_YAML, encoding="utf-8")
    return load_catalogue(path)


def _codebook(tmp_path: Path, text: str, catalogue: Catalogue) -> Codebook:
    """Write a codebook and load it against the catalogue."""
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    return load_codebook(path, catalogue)


SMALL = pd.DataFrame(
    {
        "COUNTRY": [788, 788, 504, 788, 788],
        "REGION": [1580, 1581, 1580, 1581, 1580],
        "URBRUR": [1, 2, 1, 1, 9],
        "Q101": [1, 2, 1, 2, 1],
        "W": [1.0, 1.2, 0.8, 0.9, 1.1],
    }
)
DERIVED_BOOK = """\
wave: w1
source_file: s.sav
filter: {COUNTRY: [788]}
variables:
  REGION: {target: region}
  URBRUR: {target: urban_rural, missing: {9: missing}}
  Q101: {target: gender}
  W: {target: base_weight}
derived:
  stratum: {cross: [REGION, URBRUR]}
  respondent_id: {row_number: true}
  %s
"""


def test_derived_columns_and_filter(tmp_path: Path, catalogue: Catalogue) -> None:
    """A filter keeps one country; cross, row_number (file rows) and constant build columns."""
    book = _codebook(tmp_path, DERIVED_BOOK % "psu: {constant: EA-1}", catalogue)
    out = harmonize(SMALL.iloc[:4], _meta(), book, catalogue, source="s.sav")
    assert list(out["stratum"]) == ["1580|1", "1581|2", "1581|1"]
    assert list(out["respondent_id"]) == ["1", "2", "4"]
    assert list(out["psu"]) == ["EA-1"] * 3
    assert str(out["stratum"].dtype) == "string"
    assert out.attrs[FILTER_ATTR] == "filter COUNTRY in [788] kept 3 of 4 rows of s.sav"


def test_a_missing_cross_component_names_column_and_rows(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    """A crossed column blank or coded missing stops harmonization, naming it and the rows."""
    book = _codebook(tmp_path, DERIVED_BOOK % "", catalogue)
    with pytest.raises(ValidationError, match="Column URBRUR is missing in 1 row") as info:
        harmonize(SMALL, _meta(), book, catalogue, source="s.sav")
    assert (info.value.column, info.value.rows) == ("URBRUR", [4])  # file row, not kept row


def test_filter_on_an_absent_column_names_it(tmp_path: Path, catalogue: Catalogue) -> None:
    """A filter column the file lacks is a CodebookError naming it."""
    book = _codebook(tmp_path, DERIVED_BOOK % "", catalogue)
    with pytest.raises(CodebookError, match="COUNTRY") as info:
        harmonize(SMALL.drop(columns="COUNTRY"), _meta(), book, catalogue, source="s.sav")
    assert info.value.column == "COUNTRY"


@pytest.mark.parametrize(
    ("derived", "message"),
    [
        ("incl_peace_process: {constant: 5}", "Constant not valid for incl_peace_process"),
        ("incl_peace_process: {cross: [REGION, URBRUR]}", "cross builds text codes"),
        ("region: {constant: 1580}", "both mapped and derived"),
        ("age_band: {constant: 1}", "cannot be derived"),
        ("regoin: {constant: 1580}", "did you mean 'region'"),
        ("psu: {constant: 1, row_number: true}", "exactly one of"),
    ],
)
def test_bad_derivations_are_config_errors(
    tmp_path: Path, catalogue: Catalogue, derived: str, message: str
) -> None:
    """It rejects derivations the catalogue cannot take, naming the key."""
    with pytest.raises(ConfigError, match=message):
        _codebook(tmp_path, DERIVED_BOOK % derived, catalogue)


AFRO_BOOK = """\
wave: r8
source_file: tun_r8_data.sav
variables:
  RESPNO: {skip: true}
  REGION: {target: region, recode: %s}
  URBRUR: {target: urban_rural}
  Q101: {target: gender}
  Q1: {target: age, missing: {998: refused, 999: dont_know, -1: missing}}
  withinwt_hh: {target: base_weight}
derived:
  stratum: {cross: [REGION, URBRUR]}
  respondent_id: {row_number: true}
"""


@needs_r8
def test_afrobarometer_r8_through_the_codebook_matches_r(
    tmp_path: Path, golden: dict[str, object]
) -> None:
    """R8 harmonized (age codes, recoded regions, crossed strata), weighted as delivered = R."""
    renumbered = CATALOGUE_YAML
    for old in range(1580, 1587):
        renumbered = renumbered.replace(f"      {old}:", f"      {old - 1579}:")
    path = tmp_path / "variables.yaml"
    path.write_text(renumbered, encoding="utf-8")
    catalogue = load_catalogue(path)
    recode = "{" + ", ".join(f"{c}: {c - 1579}" for c in range(1580, 1587)) + "}"
    book = _codebook(tmp_path, AFRO_BOOK % recode, catalogue)
    out = harmonize_file(R8, book, catalogue)
    assert out["stratum"].nunique() == 14 and out["psu"].isna().all()
    assert sorted(out["region"].dropna().astype(int).unique()) == list(range(1, 8))
    assert (out["age"] == 98).sum() == 1 and out["age"].isna().sum() == 0
    assert list(out["respondent_id"][:3]) == ["1", "2", "3"]
    config = WeightingConfig.model_validate(
        {"design": {"strata": "stratum"}, "base_weight": {"column": "base_weight"}}
    )
    final, _ = weight_wave(out, config)
    ages = out["age"].astype("float64").where(~out["age"].isin([98, 99]))
    age = estimate(final.with_columns({"age_years": ages}), ["age_years"], "mean").iloc[0]
    _check(age, next(c for c in _cases(golden) if c["variable"] == "age"))


R9 = AFROBAROMETER / "tun_r9_data.sav"


@pytest.mark.skipif(not R9.is_file(), reason=f"Afrobarometer fixture absent ({R9})")
def test_afrobarometer_r9_french_file_harmonizes_with_the_same_rules(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    """R9 (French labels): age 998 refused / 999 don't know, 14 crossed strata, ids 1..n."""
    text = (AFRO_BOOK % "{}").replace("tun_r8", "tun_r9").replace(", recode: {}", "")
    book = _codebook(tmp_path, text.replace("wave: r8", "wave: r9"), catalogue)
    out = harmonize_file(R9, book, catalogue)
    assert ((out["age"] == 99).sum(), (out["age"] == 98).sum()) == (1, 6)
    assert out["age_band"].isna().sum() == 7
    assert out["stratum"].nunique() == 14
    assert out["respondent_id"].is_unique and out["respondent_id"].iloc[-1] == "1200"
    config = WeightingConfig.model_validate(
        {"design": {"strata": "stratum"}, "base_weight": {"column": "base_weight"}}
    )
    final, report = weight_wave(out, config)
    assert final.degf == 1200 - 14 and report.loc[0, "design"] == say("design.no_psu", "en")
