"""Synthetic survey shared by the benchmarks: deterministic, numpy-vectorized, any size.

Design: 100 strata × 20 PSUs = 2,000 PSUs with globally unique ids. The strata nest in
20 regions (5 strata per region), so a region is a domain that covers 100 PSUs in 5 strata.
PSU sizes vary (gamma-distributed shares), weights are positive and vary between and within
PSUs, and each of the 40 binary indicators (0/1 float) depends on a PSU random effect, sex,
age band and region, with about 2% of its values missing, independently item by item.

Domains: national, 20 regions, and 200 sex × age band × region cells (221 in all).
All by-columns hold small integer codes (sex 1-2, age_band 1-5, region 1-20).
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261128
N_STRATA = 100
PSUS_PER_STRATUM = 20
N_PSUS = N_STRATA * PSUS_PER_STRATUM
N_REGIONS = 20
STRATA_PER_REGION = N_STRATA // N_REGIONS
N_INDICATORS = 40
MISSING_RATE = 0.02
POPULATION = 20_000_000

WEIGHT = "weight"
STRATUM = "stratum"
PSU = "psu"
SEX = "sex"
AGE = "age_band"
REGION = "region"
INDICATORS = [f"y{k:02d}" for k in range(1, N_INDICATORS + 1)]
Margins = dict[str, dict[Hashable, float]]
DOMAIN_SETS: list[list[str]] = [[], [REGION], [SEX, AGE, REGION]]
N_DOMAINS = 1 + N_REGIONS + 2 * 5 * N_REGIONS

_AGE_SHARES = np.array([0.27, 0.24, 0.20, 0.16, 0.13])


def make_workload(n_rows: int, n_indicators: int = N_INDICATORS, seed: int = SEED) -> pd.DataFrame:
    """Return the benchmark survey with ``n_rows`` respondents, sorted by stratum and PSU."""
    rng = np.random.default_rng(seed)
    psu_share = rng.gamma(4.0, size=N_PSUS)
    psu = np.sort(rng.choice(N_PSUS, size=n_rows, p=psu_share / psu_share.sum()))
    stratum = psu // PSUS_PER_STRATUM
    region = stratum // STRATA_PER_REGION
    sex = (rng.random(n_rows) < 0.52).astype(np.int64)
    age = np.searchsorted(np.cumsum(_AGE_SHARES), rng.random(n_rows) * _AGE_SHARES.sum())
    age = np.minimum(age, _AGE_SHARES.size - 1)

    psu_weight = rng.lognormal(np.log(POPULATION / n_rows), 0.5, size=N_PSUS)
    weight = psu_weight[psu] * rng.lognormal(0.0, 0.3, size=n_rows)

    frame: dict[str, np.ndarray] = {
        STRATUM: stratum + 1,
        PSU: psu + 1,
        REGION: region + 1,
        SEX: sex + 1,
        AGE: age + 1,
        WEIGHT: weight,
    }
    sex_effect = rng.normal(0.0, 0.3)
    age_effect = rng.normal(0.0, 0.3, size=_AGE_SHARES.size)
    for name in INDICATORS[:n_indicators]:
        region_effect = rng.normal(0.0, 0.4, size=N_REGIONS)
        psu_effect = rng.normal(0.0, 0.5, size=N_PSUS)
        logit = (
            rng.normal(0.0, 1.0)
            + psu_effect[psu]
            + region_effect[region]
            + sex_effect * sex
            + age_effect[age]
        )
        y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.float64)
        y[rng.random(n_rows) < MISSING_RATE] = np.nan
        frame[name] = y
    return pd.DataFrame(frame)


def write_csv(data: pd.DataFrame, path: Path) -> Path:
    """Write ``data`` as CSV with round-trip precision (17 significant digits), NA for NaN."""
    data.to_csv(path, index=False, float_format="%.17g", na_rep="NA")
    return path


def population_margins(total: int = POPULATION) -> Margins:
    """Return integer raking targets for sex, age band and region that each sum to ``total``."""
    rng = np.random.default_rng(SEED + 1)
    shares = {
        SEX: np.array([0.49, 0.51]),
        AGE: np.array([0.30, 0.25, 0.19, 0.15, 0.11]),
        REGION: rng.uniform(0.5, 1.5, size=N_REGIONS),
    }
    return {name: _integer_split(total, s) for name, s in shares.items()}


def _integer_split(total: int, shares: np.ndarray) -> dict[Hashable, float]:
    """Split ``total`` into integers proportional to ``shares`` (largest remainder)."""
    exact = total * shares / shares.sum()
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(counts - exact)[: total - int(counts.sum())]] += 1
    return {code + 1: float(count) for code, count in enumerate(counts)}
