"""Replicate weights delivered with the data: weighting.yaml, harmonization and weighting.

``design.replicate_weights`` in ``config/weighting.yaml`` names harmonized columns (the
catalogue's ``role: replicate_weight`` variables, mapped by the codebook like the design
weight). The end-to-end run against R is ``tests/test_replicates_e2e.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from golden import apipop_targets

from perception.codebook import check_harmonized, harmonize
from perception.config import (
    Catalogue,
    Codebook,
    WeightingConfig,
    check_replicate_weights,
    load_catalogue,
    load_survey,
    load_weighting_config,
)
from perception.errors import ConfigError, DesignError, ValidationError
from perception.estimation import estimate
from perception.exports import methodology_table
from perception.io import SurveyMetadata
from perception.weighting import weight_report
from perception.weighting.workflow import weight_wave
from pipelines.definitions import PROJECT_ROOT

REFERENCE = Path(__file__).resolve().parent / "reference"
GOLDEN_RTOL = 1e-6  # expected_replicates.json meta.tolerance (R 4.2.2, survey 4.1.1)
DOCUMENTED = json.loads((REFERENCE / "expected_replicates.json").read_text(encoding="utf-8"))

GOOD = """\
design:
  replicate_weights:
    pattern: "^repw_[0-9]+$"
    type: JKn
    rscales: 0.5
base_weight: {column: base_weight}
"""


def _load(tmp_path: Path, text: str) -> WeightingConfig:
    """Write a weighting.yaml and load it."""
    path = tmp_path / "weighting.yaml"
    path.write_text(text, encoding="utf-8")
    return load_weighting_config(path)


def test_weighting_yaml_names_delivered_replicate_weights(tmp_path: Path) -> None:
    """It reads columns or a pattern, the type and R's constants."""
    settings = _load(tmp_path, GOOD).design.replicate_weights
    assert settings is not None
    assert (settings.pattern, settings.type, settings.rscales, settings.mse) == (
        "^repw_[0-9]+$",
        "JKn",
        0.5,
        False,
    )
    listed = GOOD.replace('pattern: "^repw_[0-9]+$"', "columns: [rw1, rw2, rw3, rw4]").replace(
        "type: JKn\n    rscales: 0.5", "type: Fay\n    fay_rho: 0.5"
    )
    settings = _load(tmp_path, listed).design.replicate_weights
    assert settings is not None and settings.columns == ("rw1", "rw2", "rw3", "rw4")


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        (
            ("    rscales: 0.5\n", "    rscales: 0.5\n  replicates: {method: JK1}\n"),
            "design",
            "both",
        ),
        (('    pattern: "^repw_[0-9]+$"\n', ""), "replicate_weights", "exactly one of columns"),
        (("    rscales: 0.5\n", ""), "replicate_weights", "rscales with type JKn"),
        (
            ("type: JKn\n    rscales: 0.5", "type: BRR\n    scale: 0.5"),
            "replicate_weights",
            "fixes",
        ),
        (("type: JKn\n    rscales: 0.5", "type: Fay"), "replicate_weights", "fay_rho"),
        (("type: JKn", "type: JK2"), "type", "one of JK1, JKn, BRR"),
        (("[0-9]+$", "[0-9+$"), "pattern", "regular expression"),
        (("    rscales: 0.5\n", "    rscales: 0.5\n    typ: JKn\n"), "typ", "unknown key"),
        (("  replicate_weights:\n", "  fpc: fpc\n  replicate_weights:\n"), "design", "no fpc"),
        (
            (
                'pattern: "^repw_[0-9]+$"\n    type: JKn\n    rscales: 0.5',
                "columns: [a, b, c, d, e, f]\n    type: BRR",
            ),
            "replicate_weights",
            "multiple of 4",
        ),
        (
            (
                'pattern: "^repw_[0-9]+$"\n    type: JKn\n    rscales: 0.5',
                "columns: [a, b, c]\n    type: JKn\n    rscales: [1, 1]",
            ),
            "replicate_weights",
            "one rscale per replicate column",
        ),
    ],
)
def test_bad_replicate_weight_settings_name_file_key_and_line(
    tmp_path: Path, edit: tuple[str, str], key: str, words: str
) -> None:
    """Each misconfiguration is a ConfigError naming weighting.yaml, the key and its line."""
    old, new = edit
    assert GOOD.count(old) == 1
    text = GOOD.replace(old, new)
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    message = str(info.value)
    assert "weighting.yaml" in message and key in message and "(line " in message, message
    assert words in message, message


CATALOGUE = {
    "variables": {
        "respondent_id": {"role": "id", "kind": "string", "label": {"en": "Id", "fr": "Id"}},
        "base_weight": {"role": "design", "kind": "number", "label": {"en": "W", "fr": "P"}},
        "repw_1": {"role": "replicate_weight", "kind": "number", "label": {"en": "R", "fr": "R"}},
        "repw_2": {"role": "replicate_weight", "kind": "number", "label": {"en": "R", "fr": "R"}},
    }
}
CODEBOOK = {
    "wave": "w1",
    "source_file": "delivery.csv",
    "variables": {
        "ID": {"target": "respondent_id"},
        "WT": {"target": "base_weight"},
        "RW1": {"target": "repw_1"},
        "RW2": {"target": "repw_2", "missing": {-9: "missing"}},
    },
}


def _harmonize(frame: pd.DataFrame) -> pd.DataFrame:
    """Harmonize a small delivery with replicate weights."""
    return harmonize(
        frame,
        SurveyMetadata(
            path=Path("delivery.csv"), format="csv", n_rows=0, column_names=[], variable_types={}
        ),
        Codebook.model_validate(CODEBOOK),
        Catalogue.model_validate(CATALOGUE),
        source="data/raw/delivery.csv",
    )


def _delivery() -> pd.DataFrame:
    """Return a delivery whose second replicate drops the first two rows (weights 0)."""
    return pd.DataFrame(
        {
            "ID": ["a", "b", "c", "d"],
            "WT": [1.0, 2.0, 3.0, 4.0],
            "RW1": [2.0, 4.0, 0.0, 0.0],
            "RW2": [0.0, 0.0, 6.0, 8.0],
        }
    )


def test_harmonization_carries_replicate_weights_and_accepts_zeros(tmp_path: Path) -> None:
    """Replicate weights reach the harmonized table as numbers; a 0 is a valid replicate weight."""
    out = _harmonize(_delivery())
    assert out["repw_2"].tolist() == [0.0, 0.0, 6.0, 8.0] and out["repw_1"].dtype == "float64"
    assert check_harmonized(out, Catalogue.model_validate(CATALOGUE)) == []
    negative = out.assign(repw_1=[2.0, -1.0, 0.0, 0.0])
    (finding,) = check_harmonized(negative, Catalogue.model_validate(CATALOGUE))
    assert (finding.check, finding.column, finding.rows) == ("design", "repw_1", (1,))


@pytest.mark.parametrize(
    ("column", "values", "found"),
    [("RW1", [2.0, 4.0, -0.5, 0.0], "negative 1"), ("RW2", [0.0, -9, np.nan, 8.0], "missing 2")],
)
def test_a_missing_or_negative_replicate_weight_names_file_column_and_rows(
    column: str, values: list[float], found: str
) -> None:
    """Harmonization stops with a ValidationError naming the raw file, the column and rows."""
    frame = _delivery().assign(**{column: values})
    with pytest.raises(ValidationError) as info:
        _harmonize(frame)
    error = info.value
    assert error.file == "data/raw/delivery.csv" and error.column == column
    assert error.rows == ([2] if column == "RW1" else [1, 2]) and found in error.found


def _clus1(text: str) -> tuple[pd.DataFrame, WeightingConfig]:
    """Return R's JK1 delivery of apiclus1 and a weighting config parsed from ``text``."""
    data = pd.read_csv(REFERENCE / "rep_clus1_jk1.csv")
    data["stype_code"] = data["stype"].map({"E": 1, "H": 2, "M": 3})
    data["sch_wide"] = data["sch.wide"].map({"No": 1, "Yes": 2})
    return data, WeightingConfig.model_validate(yaml.safe_load(text))


JK1_SCALE = DOCUMENTED["designs"]["clus1_jk1"]["scale"]
JK1 = f"""\
design:
  psu: dnum
  replicate_weights: {{pattern: "^rw[0-9]+$", type: JK1, scale: {JK1_SCALE!r}}}
base_weight: {{column: pw}}
"""


def test_calibration_is_repeated_on_each_delivered_replicate() -> None:
    """Raking with delivered JK1 weights equals R's calibrate() on svrepdesign (mean and SE)."""
    data, config = _clus1(
        JK1 + "calibration: {method: rake, margins: [stype_code, sch_wide], tolerance: 1.0e-12}\n"
    )
    targets = apipop_targets()
    design, report = weight_wave(data, config, targets)
    assert design.replicates is not None and design.replicates.rep_type == "JK1"
    assert design.degf == DOCUMENTED["designs"]["clus1_jk1"]["degf"]
    assert set(report["n_replicates"]) == {15}
    case = next(c for c in DOCUMENTED["cases"] if c["id"] == "clus1_jk1_rake_mean_api00")
    (want,) = case["expected"]
    got = estimate(design, ["api00"]).iloc[0]
    assert got["estimate"] == pytest.approx(want["estimate"], rel=GOLDEN_RTOL)
    assert got["se"] == pytest.approx(want["se"], rel=GOLDEN_RTOL)
    assert got["df"] == want["df"]


def test_uncalibrated_delivered_replicates_equal_the_library_design() -> None:
    """weight_wave on delivered JK1 weights gives R's SE of mean api00 (no calibration)."""
    data, config = _clus1(JK1)
    design, report = weight_wave(data, config)
    case = next(c for c in DOCUMENTED["cases"] if c["id"] == "clus1_jk1_mean_api00_api99")
    want = case["expected"][0]
    got = estimate(design, ["api00"]).iloc[0]
    assert got["se"] == pytest.approx(want["se"], rel=GOLDEN_RTOL) and got["df"] == want["df"]
    assert report.loc[0, "design"] == ""  # no no-PSU caveat: the replicates carry the design


def test_a_replicate_count_that_does_not_fit_the_type_names_the_config_key() -> None:
    """15 columns matched by a pattern cannot be BRR: a DesignError naming the setting."""
    data, config = _clus1(
        'design: {replicate_weights: {pattern: "^rw[0-9]+$", type: BRR}}\n'
        "base_weight: {column: pw}\n"
    )
    with pytest.raises(DesignError) as info:
        weight_wave(data, config)
    message = str(info.value)
    assert "design.replicate_weights in config/weighting.yaml" in message and "15" in message


def test_an_absent_replicate_column_is_named() -> None:
    """A listed replicate column the harmonized table lacks is named with the setting."""
    data, config = _clus1(
        "design: {replicate_weights: {columns: [rw1, rw2, rw99], type: JK1}}\n"
        "base_weight: {column: pw}\n"
    )
    with pytest.raises(DesignError) as info:
        weight_wave(data, config)
    assert info.value.column == "rw99" and "config/weighting.yaml" in str(info.value)


def test_replicate_columns_must_be_replicate_weights_of_the_catalogue(tmp_path: Path) -> None:
    """A listed column outside the catalogue, or a pattern matching none, is named with its line."""
    catalogue = Catalogue.model_validate(CATALOGUE)
    path = tmp_path / "weighting.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert check_replicate_weights(path, catalogue) == ["repw_1", "repw_2"]
    path.write_text(GOOD.replace("^repw_", "^rw_"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"replicate_weights\.pattern \(line 3\)"):
        check_replicate_weights(path, catalogue)
    listed = GOOD.replace('pattern: "^repw_[0-9]+$"', "columns: [repw_1, base_weight]")
    path.write_text(listed, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"columns\[1\] \(line 3\)") as info:
        check_replicate_weights(path, catalogue)
    assert "'base_weight'" in info.value.found and info.value.file == str(path)


@pytest.mark.parametrize(
    ("design", "count", "method", "en", "fr"),
    [
        (
            {"strata": "stratum", "psu": "psu"},
            0,
            "taylor",
            "Taylor-linearised standard errors; strata: Sampling stratum; primary sampling units "
            "(clusters): Enumeration area (PSU).",
            "Erreurs types par linéarisation de Taylor\u202f; strates\u202f: Strate de "
            "sondage\u202f; unités primaires (grappes)\u202f: Zone de dénombrement (UPE).",
        ),
        (
            {"strata": "stratum", "psu": "psu", "replicates": {"method": "JKn"}},
            120,
            "JKn",
            "Replicate-weight standard errors: Jackknife (JKn), 120 replicate weights built from "
            "the strata and PSUs; strata: Sampling stratum; primary sampling units (clusters): "
            "Enumeration area (PSU).",
            "Erreurs types par poids répliqués\u202f: Jackknife (JKn), 120 poids répliqués "
            "construits à partir des strates et des UPE\u202f; strates\u202f: Strate de "
            "sondage\u202f; unités primaires (grappes)\u202f: Zone de dénombrement (UPE).",
        ),
        (
            {"replicate_weights": {"pattern": "^repw_", "type": "JK1"}},
            80,
            "JK1",
            "Replicate-weight standard errors: Jackknife (JK1), 80 replicate weights supplied "
            "with the data.",
            "Erreurs types par poids répliqués\u202f: Jackknife (JK1), 80 poids répliqués fournis "
            "avec les données.",
        ),
    ],
)
def test_methodology_says_which_variance_method_was_used(
    design: dict[str, Any], count: int, method: str, en: str, fr: str
) -> None:
    """design_en/design_fr name Taylor, built or delivered replicates; variance_method codes it."""
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"gender": rng.integers(1, 3, 200)})
    report = weight_report(data, rng.lognormal(0.0, 0.3, 200), domains=(), n_replicates=count)
    config = WeightingConfig.model_validate(
        {"design": design, "base_weight": {"column": "base_weight"}}
    )
    survey = load_survey(PROJECT_ROOT / "config" / "survey.yaml")
    table = methodology_table(
        survey,
        {"w1": report},
        config,
        catalogue=load_catalogue(PROJECT_ROOT / "config" / "variables.yaml"),
        suppress_below=25,
        flag_below=50,
        generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    row = table.iloc[0]
    assert (row["design_en"], row["design_fr"], row["variance_method"]) == (en, fr, method)


def test_delivered_replicates_refuse_a_nonresponse_step(tmp_path: Path) -> None:
    """A nonresponse step would not reach the delivered replicates: a ConfigError says so."""
    text = GOOD + "nonresponse: {classes: [region], response_column: responded}\n"
    with pytest.raises(ConfigError, match=r"no nonresponse adjustment with design\.replicate"):
        _load(tmp_path, text)
