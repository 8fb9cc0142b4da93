"""The demo project run once per test session (see conftest.py), as the tests read it."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from perception.config import load_indicators, load_project
from perception.dashboard import build_dashboard, page_inputs
from perception.demo.country import REGIONS
from perception.readback import PUBLISHED_FILES
from perception.small_area import load_area_covariates, publish_small_areas
from perception.tables import ESTIMATES_TABLE, SMALL_AREAS

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
    """Return the files whose bytes contain any pattern (fixed strings, GNU grep -F)."""
    patterns = sorted(set(patterns))
    assert patterns and all(p and "\n" not in p for p in patterns)
    hits = []
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as listing:
        listing.write("\n".join(patterns) + "\n")
        listing.flush()
        for path, data in contents.items():
            found = subprocess.run(
                ["grep", "-F", "-a", "-q", "-f", listing.name], input=data, check=False
            )
            assert found.returncode in (0, 1), f"grep failed on {path}"
            if found.returncode == 0:
                hits.append(path)
    return hits
