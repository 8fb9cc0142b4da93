"""The demo project run once per test session (see conftest.py), as the tests read it."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterable
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from perception.config import SURVEY_FILE, load_indicators, load_project
from perception.dashboard import build_dashboard, page_inputs
from perception.demo import FILES
from perception.demo.country import REGIONS
from perception.readback import PUBLISHED_FILES
from perception.small_area import load_area_covariates, publish_small_areas
from perception.tables import ESTIMATES_TABLE, SMALL_AREAS
from pipelines.cli import main as cli_main
from pipelines.definitions import PROJECT_ROOT
from pipelines.demo import run_demo

REPO = Path(__file__).resolve().parents[1]
PROJECT = load_project(REPO / "config" / "survey.yaml", root=REPO)
INDICATORS = load_indicators(REPO / "config" / "indicators.yaml", PROJECT.catalogue)
#: What the pipeline builds the demo's dashboard with: labels, boundaries, questions.
DASHBOARD_INPUTS = page_inputs(PROJECT.survey, PROJECT.catalogue, INDICATORS)
GENERATED_AT = datetime(2026, 9, 2, 14, 30)
#: A region cell the demo publishes, hidden in every wave by :func:`hide_region`.
HIDDEN = ("incl_views_considered", 3)

SURVEY = "demo"
#: Indicators given small-area estimates by region by :func:`with_small_areas` (one hidden).
AREA_INDICATORS = ("incl_feel_included", "state_services_score", HIDDEN[0])


@dataclass(frozen=True)
class DemoRun:
    """A demo project whose waves and reporting have run, with what its checks said."""

    root: Path
    checks: dict[str, bool]  # "asset:check" -> passed, the latest evaluation of each check

    @property
    def raw(self) -> Path:
        """Return the raw folder (the generated survey files, with personal data)."""
        return self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        """Return the demo survey's processed-output folder."""
        return self.root / "data" / "processed" / SURVEY

    @property
    def latest(self) -> Path:
        """Return the folder of the latest exports."""
        return self.processed / "exports" / "latest"

    @property
    def dashboard(self) -> Path:
        """Return the dashboard page."""
        return self.root / "dashboards" / SURVEY / "dashboard.html"

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return fresh copies of the published tables, keyed by their table names."""
        published = self.processed / "published"
        return {name: pd.read_parquet(published / f) for name, f in PUBLISHED_FILES.items()}

    def estimates(self) -> pd.DataFrame:
        """Return Table 1 of every wave as estimated, before disclosure control."""
        files = sorted((self.processed / "estimates").glob("*.parquet"))
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)

    def copy(self, to: Path) -> DemoRun:
        """Copy the whole project to ``to`` (a new folder) and return the copy, free to change."""
        shutil.copytree(self.root, to, symlinks=True)
        return DemoRun(to, self.checks)


def heatmap_suppressed(table1: pd.DataFrame) -> pd.DataFrame:
    """Return the suppressed cells of the demo dashboard's heatmap (w3, gender×age_band×region)."""
    return table1[
        (table1["indicator"] == "incl_feel_included")
        & (table1["wave"] == "w3")
        & (table1["variant"] == "all")
        & (table1["domain_set"] == "gender×age_band×region")
        & table1["suppressed"]
    ]


def build_page(tables: dict[str, pd.DataFrame], out: Path, **options: Any) -> Path:
    """Build the demo's dashboard from ``tables`` into ``out``, as the pipeline does."""
    inputs = {**DASHBOARD_INPUTS, **options}
    return build_dashboard(tables, out_path=out, generated_at=GENERATED_AT, **inputs)


def hide_region(
    tables: dict[str, pd.DataFrame], indicator: str, region: int
) -> dict[str, pd.DataFrame]:
    """Return the tables with one region's cell of an indicator suppressed in every wave.

    The demo hides small cells only in its three-way breakdown; maps and trend lines by region
    need a hidden region, marked as disclosure control marks a cell under the threshold.
    """
    t1 = tables["indicator_estimates"].copy()
    hit = (t1["indicator"] == indicator) & (t1["domain_set"] == "region") & (t1["region"] == region)
    assert hit.sum() >= 3 and not t1.loc[hit, "suppressed"].any()
    t1 = ESTIMATES_TABLE.blank(t1, hit)
    t1.loc[hit, ["suppressed", "flagged"]] = [True, False]
    t1.loc[hit, "disclosure"] = t1.loc[t1["suppressed"] & ~hit, "disclosure"].iloc[0]
    return {**tables, "indicator_estimates": t1}


def with_small_areas(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, pd.DataFrame]:
    """Return the tables with the small-area table the pipeline would publish from them.

    The demo's configuration has no ``areas:``; this adds one (``region``, with each region's
    census urban share as covariate) for :data:`AREA_INDICATORS` in ``folder`` and refits on
    the published Table 1 of ``tables``, as the reporting step does
    (:func:`perception.small_area.publish_small_areas`).
    """
    data = yaml.safe_load((REPO / "config" / "indicators.yaml").read_text(encoding="utf-8"))
    data["areas"] = {"region": {"covariates": "region.csv"}}
    for entry in data["indicators"]:
        if entry["id"] in AREA_INDICATORS:
            entry["areas"] = "region"
    path = folder / "indicators.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    rows = "\n".join(f"{r.code},{r.urban_share}" for r in REGIONS)
    (folder / "region.csv").write_text(f"region,urban_share\n{rows}\n", encoding="utf-8")
    covariates = {
        "region": load_area_covariates(folder / "region.csv", "region", PROJECT.catalogue)
    }
    published = tables["indicator_estimates"]
    areas = publish_small_areas(
        published,
        load_indicators(path, PROJECT.catalogue),
        covariates,
        waves=sorted(set(published["wave"])),
        suppress_below=int(tables["methodology"]["suppress_below"].iloc[0]),
    )
    return {**tables, SMALL_AREAS: areas}


def distinctive(canaries: set[str]) -> list[str]:
    """Return the canaries worth searching inside free text (not short bare numbers)."""
    return [c for c in canaries if len(c) >= 8 and re.search(r"[^\d.\-]", c)]


def grep(patterns: Iterable[str], contents: dict[Path, bytes]) -> list[Path]:
    """Return the files whose bytes contain any pattern (fixed strings, GNU grep -F).

    Each distinct content is searched once: a file copied elsewhere is found or not alike.
    """
    patterns = sorted(set(patterns))
    assert patterns and all(p and "\n" not in p for p in patterns)
    found: dict[bytes, bool] = {}
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as listing:
        listing.write("\n".join(patterns) + "\n")
        listing.flush()
        for path, data in contents.items():
            if data not in found:
                run = subprocess.run(
                    ["grep", "-F", "-a", "-q", "-f", listing.name], input=data, check=False
                )
                assert run.returncode in (0, 1), f"grep failed on {path}"
                found[data] = run.returncode == 0
    return [path for path, data in contents.items() if found[data]]


#: Region covariates of the small-area configuration written by :func:`area_indicators`.
AREAS_CSV = "region,urban_share,literacy\n" + "\n".join(
    f"{code},{share},{lit}"
    for code, share, lit in zip(
        range(1, 9),
        (0.21, 0.35, 0.92, 0.30, 0.44, 0.18, 0.52, 0.12),
        (0.61, 0.70, 0.93, 0.66, 0.74, 0.58, 0.81, 0.49),
        strict=True,
    )
)


def area_indicators(**areas: Any) -> dict[str, Any]:
    """Return the demo indicator catalogue with `areas:` and two indicators listing region."""
    data: dict[str, Any] = yaml.safe_load((REPO / "config" / "indicators.yaml").read_text())
    data["areas"] = {"region": {"covariates": "config/areas/region.csv", **areas}}
    for entry in data["indicators"]:
        if entry["id"] in ("incl_feel_included", "state_services_score"):
            entry["areas"] = "region"
    return data


def add_second_survey(root: Path) -> Path:
    """Add survey ``demo_b`` to a demo project: waves w1 and w2, its own raw folder and rules.

    Its disclosure rules are stricter than the demo's, so each survey's own rules are seen to
    apply. Returns the raw folder of ``demo_b``; the deployment then serves both surveys.
    """
    folder = root / "config" / "demo_b"
    (folder / "codebooks").mkdir(parents=True)
    for wave in ("w1", "w2"):
        shutil.copy(root / "config" / "codebooks" / f"demo_{wave}.yaml", folder / "codebooks")
    shutil.copy(root / "config" / "indicators.yaml", folder)
    rules = (root / "config" / "disclosure.yaml").read_text(encoding="utf-8")
    (folder / "disclosure.yaml").write_text(
        rules.replace("suppress_below: 25", "suppress_below: 40").replace(
            "flag_below: 50", "flag_below: 80"
        ),
        encoding="utf-8",
    )
    survey = (root / SURVEY_FILE).read_text(encoding="utf-8").split("  - id: w3")[0]
    for old, new in (
        ("survey: demo\n", "survey: demo_b\n"),
        ("raw_dir: data/raw\n", "raw_dir: data/raw/demo_b\n"),
        (
            "waves:\n",
            "indicators: config/demo_b/indicators.yaml\n"
            "disclosure: config/demo_b/disclosure.yaml\nwaves:\n",
        ),
        ("config/codebooks/", "config/demo_b/codebooks/"),
    ):
        assert old in survey
        survey = survey.replace(old, new)
    (folder / "survey.yaml").write_text(survey, encoding="utf-8")
    (root / "config" / "deployment.yaml").write_text(
        "surveys:\n  - config/survey.yaml\n  - config/demo_b/survey.yaml\n", encoding="utf-8"
    )
    return root / "data" / "raw" / "demo_b"


#: The domains of ``demo_b`` in :func:`build_two_surveys`, in the order its catalogue lists them.
REORDERED_DOMAINS = ("region", "gender", "urban_rural", "age_band", "youth")


def _unusual_second_survey(root: Path) -> None:
    """Give ``demo_b`` no GeoJSON, its own catalogue with reordered domains, other benchmarks."""
    config = root / "config" / "demo_b"
    survey = (config / "survey.yaml").read_text(encoding="utf-8")
    for old, new in (
        ("geojson: config/geo/demo_admin1.geojson\n", ""),
        ("map_variable: region\n", ""),
        ("variables: config/variables.yaml\n", "variables: config/demo_b/variables.yaml\n"),
    ):
        assert old in survey
        survey = survey.replace(old, new)
    (config / "survey.yaml").write_text(survey, encoding="utf-8")
    indicators = (config / "indicators.yaml").read_text(encoding="utf-8")
    indicators = indicators.replace("  inclusion:\n", "  peace_inclusion:\n", 1)
    indicators = indicators.replace("benchmark: inclusion\n", "benchmark: peace_inclusion\n")
    (config / "indicators.yaml").write_text(indicators, encoding="utf-8")
    variables = (root / "config" / "variables.yaml").read_text(encoding="utf-8")
    old = "domains: [gender, age_band, youth, region, urban_rural]"
    assert old in variables
    variables = variables.replace(old, f"domains: [{', '.join(REORDERED_DOMAINS)}]")
    (config / "variables.yaml").write_text(variables, encoding="utf-8")


@dataclass(frozen=True)
class Ran:
    """What one headless run printed and returned, and the survey folders there were after it."""

    code: int
    stdout: str
    processed: list[str]


@dataclass(frozen=True)
class TwoSurveys:
    """A deployment of two surveys run one after the other, as :func:`build_two_surveys` ran it."""

    root: Path
    survey_b: Ran  # `perception run --survey config/demo_b/survey.yaml`, first
    demo: Ran  # then `make demo` (run_demo)


def build_two_surveys(root: Path, raw: Path) -> TwoSurveys:
    """Build and run a deployment of the demo and ``demo_b``; return what each run did.

    The demo has small-area estimates by region (:func:`area_indicators`, covariates
    :data:`AREAS_CSV`); ``demo_b`` (:func:`add_second_survey`, waves w1 and w2) has stricter
    disclosure rules, no GeoJSON, its domains reordered (:data:`REORDERED_DOMAINS`) and its
    benchmark renamed. Each survey's raw folder gets a copy of the generated demo files in
    ``raw`` (the session's ``demo_raw``). ``perception run --survey`` runs ``demo_b``, then
    ``make demo`` the demo. One deployment serves the tests of each of these (one Dagster run
    of each survey).
    """
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    raw_b = add_second_survey(root)
    _unusual_second_survey(root)
    (root / "config" / "areas").mkdir()
    (root / "config" / "areas" / "region.csv").write_text(AREAS_CSV + "\n")
    (root / "config" / "indicators.yaml").write_text(
        yaml.safe_dump(area_indicators(), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    shutil.copytree(raw, root / "data" / "raw", dirs_exist_ok=True)
    raw_b.mkdir()
    for wave in ("w1", "w2"):
        shutil.copy(raw / FILES[wave], raw_b)
    processed = root / "data" / "processed"
    runs = []
    for run in (
        lambda: cli_main(["run", "--root", str(root), "--survey", "config/demo_b/survey.yaml"]),
        lambda: run_demo(root),
    ):
        stdout = io.StringIO()
        with warnings.catch_warnings(), redirect_stdout(stdout):
            warnings.simplefilter("ignore")
            code = run()
        runs.append(Ran(code, stdout.getvalue(), sorted(p.name for p in processed.iterdir())))
    return TwoSurveys(root, *runs)
