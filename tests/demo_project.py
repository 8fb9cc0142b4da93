"""The demo project run once per test session (see conftest.py), as the tests read it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perception.readback import PUBLISHED_FILES

SURVEY = "demo"


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
