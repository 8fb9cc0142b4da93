"""Deterministic demo survey of the fictional Republic of Kelvara, for the demo and the tests.

Three waves over 18 months, each delivered in a different format (SPSS, Stata, KoBoToolbox
XLSX) with its own names and codes, drawn from a stratified two-stage cluster sample with
realistic nonresponse, personal-data canaries and planted effects (``PLANTED_EFFECTS``).
"""

from __future__ import annotations

from perception.demo.country import (
    COUNTRY,
    REGIONS,
    admin1_geojson,
    census_region_urban,
    census_sex_age_region,
)
from perception.demo.items import ITEMS, PLANTED_EFFECTS, WAVE_IDS, PlantedEffects, true_share
from perception.demo.sample import FIELDWORK, SEED, simulate_wave
from perception.demo.writers import (
    FILES,
    PII_COLUMNS,
    PROVIDERS,
    generate,
    kobo_table,
    pii_canaries,
    write_kobo_xlsx,
)

__all__ = [
    "COUNTRY",
    "FIELDWORK",
    "FILES",
    "ITEMS",
    "PII_COLUMNS",
    "PLANTED_EFFECTS",
    "PROVIDERS",
    "REGIONS",
    "SEED",
    "WAVE_IDS",
    "PlantedEffects",
    "admin1_geojson",
    "census_region_urban",
    "census_sex_age_region",
    "generate",
    "kobo_table",
    "pii_canaries",
    "simulate_wave",
    "true_share",
    "write_kobo_xlsx",
]
