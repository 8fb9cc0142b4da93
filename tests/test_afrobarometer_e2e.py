"""A real two-round survey from files to dashboard: survey init, a review, perception run.

Afrobarometer Tunisia Round 8 (English labels) and Round 9 (French labels), as delivered: no
census targets, no PSU ids, 377 and 388 columns, question numbers that change meaning between
rounds. The numbers are checked against R ``survey`` (tests/reference/afrobarometer_tun_e2e.*).
"""

from __future__ import annotations

import html
import io
import json
import shutil
import warnings
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
import yaml
from config_samples import AFROBAROMETER

from perception.words import say
from pipelines.cli import main

REFERENCE = Path(__file__).resolve().parent / "reference" / "afrobarometer_tun_e2e.json"
REVIEW = Path(__file__).resolve().parent / "fixtures" / "afrobarometer" / "review.yaml"
GOLDEN_RTOL = 1e-6
ITEMS = [
    "trust_police",
    "trust_courts_law",
    "trust_president",
    "trust_religious_leaders",
    "trust_national_electoral_commission",
]
DOMAIN_COLUMN = {"gender": "gender", "age_band": "age_band", "region": "region"}

pytestmark = [
    pytest.mark.skipif(
        not (AFROBAROMETER / "tun_r9_data.sav").is_file(),
        reason=f"the shared Afrobarometer fixtures are absent ({AFROBAROMETER})",
    ),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """Scaffold the two rounds, apply the committed review edits and run the pipeline."""
    root = tmp_path_factory.mktemp("afro")
    raw = root / "data" / "raw"
    raw.mkdir(parents=True)
    for name in ("tun_r8_data.sav", "tun_r9_data.sav"):
        shutil.copy(AFROBAROMETER / name, raw / name)
    out = io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(out):
        warnings.simplefilter("ignore")
        files = [str(raw / "tun_r8_data.sav"), str(raw / "tun_r9_data.sav")]
        assert main(["survey", "init", *files, "-o", str(root / "config" / "tun")]) == 0
        for edit in yaml.safe_load(REVIEW.read_text(encoding="utf-8")):
            path = root / "config" / "tun" / edit["file"]
            text = path.read_text(encoding="utf-8")
            assert text.count(edit["old"]) == 1, edit
            path.write_text(text.replace(edit["old"], edit["new"]), encoding="utf-8")
        code = main(["run", "--root", str(root), "--survey", "config/tun/survey.yaml"])
    assert code == 0, out.getvalue()
    yield root, out.getvalue()


def _published(root: Path, name: str) -> pd.DataFrame:
    """Read one published table of the survey."""
    return pd.read_parquet(root / "data" / "processed" / "tun" / "published" / f"{name}.parquet")


def test_items_are_estimated_in_every_domain_of_both_rounds(project: tuple[Path, str]) -> None:
    """Trust in the police and four other trust items: national, gender, age band, region."""
    root, printed = project
    assert "  wave w2\n    harmonized_responses     ok" in printed
    estimates = _published(root, "estimates")
    for wave in ("w1", "w2"):
        for item in ITEMS:
            rows = estimates[(estimates["wave"] == wave) & (estimates["indicator"] == item)]
            sets = set(rows["domain_set"])
            assert {"national", "gender", "age_band", "region"} <= sets, (wave, item)
            national = rows[(rows["domain_set"] == "national") & (rows["variant"] == "all")]
            assert national["estimate"].notna().all() and len(national) == 1


def test_estimates_equal_r_survey(project: tuple[Path, str]) -> None:
    """Every estimate and SE equals R svymean on svydesign(ids=~1, strata, withinwt_hh)."""
    root, _ = project
    estimates = _published(root, "estimates")
    golden = json.loads(REFERENCE.read_text(encoding="utf-8"))
    compared = 0
    for case in golden["cases"]:
        mask = (
            (estimates["wave"] == case["wave"])
            & (estimates["indicator"] == case["indicator"])
            & (estimates["variant"] == case["variant"])
            & (estimates["domain_set"] == case["domain_set"])
        )
        if case["domain_set"] != "national":
            mask &= estimates[DOMAIN_COLUMN[case["domain_set"]]] == case["code"]
        (row,) = estimates[mask].itertuples()
        if row.suppressed:  # a small cell: not published, so nothing to compare
            assert pd.isna(row.estimate)
            continue
        assert row.estimate == pytest.approx(case["estimate"], rel=GOLDEN_RTOL), case["call"]
        assert row.se == pytest.approx(case["se"], rel=GOLDEN_RTOL), case["call"]
        assert row.df == case["df"], case["call"]
        compared += 1
    assert compared >= 250


def test_change_table_dashboard_and_exports(project: tuple[Path, str]) -> None:
    """The Round 8 to Round 9 changes, the dashboard and the exports are written."""
    root, printed = project
    trends = _published(root, "trends")
    police = trends[(trends["indicator"] == "trust_police") & (trends["domain_set"] == "national")]
    assert set(police["wave"]) == {"w2"} and set(police["reference_wave"]) == {"w1"}
    assert police["estimate"].notna().all()
    dashboard = root / "dashboards" / "tun" / "dashboard.html"
    assert dashboard.is_file() and f"Dashboard: {dashboard}" in printed
    page = dashboard.read_text(encoding="utf-8")
    assert "Afrobarometer Tunisia" in page and "Round 9 (2022)" in page
    for lang in ("en", "fr"):  # the methodology panel says how the SEs treat the missing PSUs
        assert html.escape(say("design.no_psu", lang)) in page or say("design.no_psu", lang) in page
    latest = root / "data" / "processed" / "tun" / "exports" / "latest"
    for name in ("indicators.csv", "indicators.xlsx", "indicators.parquet", "indicators.duckdb"):
        assert (latest / name).is_file()
    for name in ("brief_en.docx", "brief_fr.docx"):  # the results brief of a real survey
        assert (latest / name).stat().st_size > 10_000


def test_no_personal_data_in_processed_outputs(project: tuple[Path, str]) -> None:
    """No respondent number, interviewer or free-text value of the raw files is published."""
    root, _ = project
    values: set[str] = set()
    for name in ("tun_r8_data.sav", "tun_r9_data.sav"):
        df, _ = pyreadstat.read_sav(AFROBAROMETER / name, usecols=["RESPNO"])
        values |= set(df["RESPNO"].astype(str))
    assert len(values) >= 1200  # TUN0001 ... TUN1200 in each round
    written = [p for p in (root / "data" / "processed").rglob("*.parquet")]
    written += [p for p in (root / "data" / "processed").rglob("*.csv")]
    assert written
    for path in written:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        assert "RESPNO" not in table.columns, path
        for column in table.columns:
            shown = set(table[column].dropna().astype(str))
            assert not shown & values, (path, column)
