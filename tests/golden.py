"""The R `survey` golden files of tests/reference/ (provenance in reference/PROVENANCE.md)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from perception.config import PopulationTargets

REFERENCE = Path(__file__).resolve().parent / "reference"
#: The statistics a golden case compares with R's.
COMPARED = ("estimate", "se", "ci_low", "ci_high", "deff", "n_weighted")
#: The statistic each operation of the golden files estimates.
STATISTIC = {
    "mean": "mean",
    "total": "total",
    "proportion": "proportion",
    "rake_then_mean": "mean",
    "rake_then_total": "total",
    "poststratify_then_mean": "mean",
    "poststratify_then_total": "total",
}


@cache
def expected(file: str) -> dict[str, Any]:
    """Load one JSON file of R's results once (shared: never modify it)."""
    result: dict[str, Any] = json.loads((REFERENCE / file).read_text())
    return result


@cache
def dataset(name: str) -> pd.DataFrame:
    """Read one reference CSV once, school codes (`cds`) as text (shared: copy to modify it)."""
    return pd.read_csv(REFERENCE / f"{name}.csv", dtype={"cds": str})


def apipop_targets() -> PopulationTargets:
    """Return R's apipop counts of school types and sch.wide as population targets.

    The tables are keyed by the codes ``stype_code`` (E 1, H 2, M 3) and ``sch_wide``
    (No 1, Yes 2) that the tests give R's apiclus1.
    """
    return PopulationTargets.model_validate(
        {
            "survey": "api",
            "source": "apipop (R survey package)",
            "reference_date": "2000-01-01",
            "tables": [
                {
                    "name": "stype",
                    "dimensions": ["stype_code"],
                    "rows": [[1, 4421], [2, 755], [3, 1018]],
                },
                {"name": "schwide", "dimensions": ["sch_wide"], "rows": [[1, 1072], [2, 5122]]},
            ],
        }
    )
