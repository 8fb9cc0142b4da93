"""The R `survey` golden files of tests/reference/ (provenance in reference/PROVENANCE.md)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

REFERENCE = Path(__file__).resolve().parent / "reference"


@cache
def expected(file: str) -> dict[str, Any]:
    """Load one JSON file of R's results once (shared: never modify it)."""
    result: dict[str, Any] = json.loads((REFERENCE / file).read_text())
    return result


@cache
def dataset(name: str) -> pd.DataFrame:
    """Read one reference CSV once, school codes (`cds`) as text (shared: copy to modify it)."""
    return pd.read_csv(REFERENCE / f"{name}.csv", dtype={"cds": str})
