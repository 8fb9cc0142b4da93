"""Drivers tables for the tests: real regressions on planted waves of the demo catalogue.

:func:`planted_wave` builds a harmonized wave in which trust in the mission and awareness of
the agreement go with feeling included, with small levels (regions 7 and 8: 20 and 12
respondents, 15 returnees). :func:`published_drivers` runs :func:`indicator_drivers` and
:func:`publish_drivers` on one such wave per survey wave: w1 and w2 with the disclosure
threshold (small regions pooled into a flagged level of 32, returnees left out), the last wave
computed with ``min_n=10`` as a stale table under looser rules would be, so that publishing it
under the 25-respondent rule has rows to suppress.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from perception.config import (
    Catalogue,
    DisclosureRules,
    IndicatorCatalogue,
    load_indicators,
    load_project,
)
from perception.design import SurveyDesign
from perception.indicators.drivers import indicator_drivers, publish_drivers

ROOT = Path(__file__).resolve().parents[1]
LOOSE_MIN_N = 10
"""``min_n`` of the last wave's stale table: its regions 7 and 8 and returnees stay alone."""


@cache
def demo_catalogue() -> Catalogue:
    """Load the demo's variable catalogue."""
    return load_project(ROOT / "config" / "survey.yaml", root=ROOT).catalogue


@cache
def demo_indicators() -> IndicatorCatalogue:
    """Load the default indicator catalogue (the headline inclusion indicator has drivers)."""
    return load_indicators(ROOT / "config" / "indicators.yaml", demo_catalogue())


def planted_wave(seed: int = 7, n: int = 2400) -> SurveyDesign:
    """Build a harmonized wave where trust and awareness go with feeling included.

    Region 8 has 12 respondents and region 7 has 20 (both small); returnees are 15.
    """
    rng = np.random.default_rng(seed)
    region = rng.choice(np.arange(1, 7), size=n)
    region[:12] = 8
    region[12:32] = 7
    displacement = rng.choice([1, 2], size=n, p=[0.8, 0.2])
    displacement[40:55] = 3
    stratum = region.astype(str)
    psu = np.array([f"{r}-{k}" for r, k in zip(region, rng.integers(0, 8, size=n), strict=True)])
    psu[:32] = np.where(region[:32] == 8, "8-0", "7-0")
    psu[:6], psu[12:22] = "8-1", "7-1"
    trust = rng.choice([1, 2, 3, 4, 98], size=n, p=[0.2, 0.25, 0.25, 0.25, 0.05])
    aware = rng.choice([0, 1], size=n, p=[0.4, 0.6])
    eta = -1.0 + 0.4 * np.where(trust == 98, 0, trust - 1) + 0.8 * aware
    included = rng.random(n) < 1.0 / (1.0 + np.exp(-eta))
    answer = np.where(included, rng.choice([3, 4], size=n), rng.choice([1, 2], size=n))
    answer[rng.random(n) < 0.04] = 98
    data = pd.DataFrame(
        {
            "stratum": stratum,
            "psu": psu,
            "weight": rng.uniform(0.5, 2.0, size=n),
            "incl_peace_process": answer,
            "gender": rng.choice([1, 2], size=n),
            "age_band": rng.choice([1, 2, 3, 4, 5], size=n),
            "region": region,
            "urban_rural": rng.choice([1, 2], size=n),
            "displacement": displacement,
            "disability": rng.choice([1, 2], size=n, p=[0.9, 0.1]),
            "aware_agreement": aware,
            "trust_mission": trust,
        }
    )
    return SurveyDesign(data, "weight", strata="stratum", psu="psu")


@cache
def _published(survey: str, waves: tuple[str, ...]) -> pd.DataFrame:
    """Compute and publish the drivers tables of ``waves`` once per process."""
    tables = [
        indicator_drivers(
            planted_wave(seed=7 + number),
            demo_indicators(),
            demo_catalogue(),
            survey=survey,
            wave=wave,
            min_n=LOOSE_MIN_N if number == len(waves) - 1 else 25,
        )
        for number, wave in enumerate(waves)
    ]
    rules = DisclosureRules(suppress_below=25, flag_below=50)
    return publish_drivers(pd.concat(tables, ignore_index=True), rules)


def published_drivers(
    survey: str = "demo", waves: tuple[str, ...] = ("w1", "w2", "w3")
) -> pd.DataFrame:
    """Return the published drivers table of ``waves`` (a fresh copy; see the module)."""
    return _published(survey, waves).copy()
