"""A survey without census targets or PSU ids through the Dagster wave job (Afrobarometer R8).

The wave is harmonized with a codebook that crosses REGION × URBRUR into strata and numbers
the rows, weighted with its delivered weights (``calibration: {method: none}``, no PSU), and
its indicator estimates are compared with R's (``tests/reference/afrobarometer_tun_r8.json``).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from config_samples import AFROBAROMETER, CATALOGUE_YAML

from perception.words import say
from pipelines.definitions import PROJECT_ROOT, build_definitions

R8 = AFROBAROMETER / "tun_r8_data.sav"
REFERENCE = Path(__file__).resolve().parent / "reference"
GOLDEN_RTOL = 1e-6

TRUST_ITEM = """\
  trust_police:
    role: item
    kind: categorical
    theme: governance
    ordered: true
    label: {en: Trusts the police, fr: Fait confiance à la police}
    codes:
      1: {en: Not at all, fr: Pas du tout}
      2: {en: Just a little, fr: Un peu}
      3: {en: Somewhat, fr: Assez}
      4: {en: A lot, fr: Beaucoup}
"""
SURVEY = """\
survey: afro
title: {en: Afrobarometer Tunisia, fr: Afrobaromètre Tunisie}
country: {en: Tunisia, fr: Tunisie}
raw_dir: data/raw
processed_dir: data/processed
variables: config/variables.yaml
weighting: config/weighting.yaml
waves:
  - id: r8
    label: {en: Round 8 (2022), fr: Round 8 (2022)}
    file: tun_r8_data.sav
    codebook: config/codebooks/r8.yaml
"""
CODEBOOK = """\
wave: r8
source_file: tun_r8_data.sav
variables:
  RESPNO: {skip: true}
  REGION: {target: region}
  URBRUR: {target: urban_rural}
  Q101: {target: gender}
  Q1: {target: age, missing: {998: refused, 999: dont_know, -1: missing}}
  withinwt_hh: {target: base_weight}
  Q41G:
    target: trust_police
    recode: {0: 1, 1: 2, 2: 3, 3: 4}
    missing: {8: refused, 9: dont_know, -1: missing}
derived:
  stratum: {cross: [REGION, URBRUR]}
  respondent_id: {row_number: true}
"""
WEIGHTING = """\
design: {strata: %s}
base_weight: {column: base_weight}
calibration: {method: none}
"""
INDICATORS = """\
benchmarks:
  state_authority:
    term: long
    label: {en: The State extends its authority, fr: L'État étend son autorité}
defaults:
  disaggregations: [national, gender, region, urban_rural]
  baseline_wave: r8
indicators:
  - id: trust_police
    label: {en: Trust the police, fr: Font confiance à la police}
    benchmark: state_authority
    type: proportion
    items: [trust_police]
    success: [3, 4]
    direction: higher
"""


def _project(root: Path, strata: str) -> None:
    """Write the Afrobarometer project under ``root`` and copy the R8 file into its raw folder."""
    config = root / "config"
    (config / "codebooks").mkdir(parents=True, exist_ok=True)
    (root / "data" / "raw").mkdir(parents=True, exist_ok=True)
    shutil.copy(R8, root / "data" / "raw" / R8.name)
    shutil.copy(PROJECT_ROOT / "config" / "disclosure.yaml", config / "disclosure.yaml")
    files = {
        "survey.yaml": SURVEY,
        "variables.yaml": CATALOGUE_YAML + TRUST_ITEM,
        "codebooks/r8.yaml": CODEBOOK,
        "weighting.yaml": WEIGHTING % strata,
        "indicators.yaml": INDICATORS,
    }
    for name, text in files.items():
        (config / name).write_text(text, encoding="utf-8")


def _run(root: Path) -> dg.ExecuteInProcessResult:
    """Run the wave job for Round 8 on an ephemeral instance."""
    job = build_definitions(root).resolve_job_def("wave_job")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return job.execute_in_process(
            partition_key="afro|r8", instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )


@pytest.mark.skipif(not R8.is_file(), reason=f"Afrobarometer fixture absent ({R8})")
def test_a_survey_without_targets_runs_and_matches_r(tmp_path: Path) -> None:
    """It weights as delivered, passes every check, and trust in police (excl. DK) equals R's."""
    _project(tmp_path, "stratum")
    result = _run(tmp_path)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]
    processed = tmp_path / "data" / "processed" / "afro"
    report = pd.read_parquet(processed / "weighting_report" / "r8.parquet")
    assert report.loc[0, "design"] == say("design.no_psu", "en")
    weighted = pd.read_parquet(processed / "weighted" / "r8.parquet")
    source = pd.read_csv(REFERENCE / "afrobarometer_tun_r8.csv")
    assert weighted["weight"].tolist() == source["withinwt_hh"].tolist()
    table = pd.read_parquet(processed / "estimates" / "r8.parquet")
    national = table[(table["domain_set"] == "national") & (table["variant"] == "excl_dk")]
    golden = json.loads((REFERENCE / "afrobarometer_tun_r8.json").read_text(encoding="utf-8"))
    case = golden["cases"][0]
    assert (case["variable"], case["domain"]) == ("trust_police", "national")
    row = national.iloc[0]
    for key in ("estimate", "se", "ci_low", "ci_high"):
        assert row[key] == pytest.approx(case[key], rel=GOLDEN_RTOL), key


@pytest.mark.skipif(not R8.is_file(), reason=f"Afrobarometer fixture absent ({R8})")
def test_a_stratum_that_is_also_a_reporting_domain(tmp_path: Path) -> None:
    """With strata: region the wave still estimates by region (issue 16, item 7)."""
    _project(tmp_path, "region")
    assert _run(tmp_path).success
    table = pd.read_parquet(tmp_path / "data" / "processed" / "afro" / "estimates" / "r8.parquet")
    by_region = table[(table["domain_set"] == "region") & (table["variant"] == "all")]
    assert sorted(by_region["region"].astype(int)) == list(range(1580, 1587))
    assert by_region["estimate"].notna().all()
