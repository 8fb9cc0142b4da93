"""Perception indicators: the catalogue (``config/indicators.yaml``) and per-wave estimates.

:func:`perception.config.load_indicators` reads and checks the catalogue;
:func:`compute_indicators` estimates every indicator of one wave in every domain and
denominator variant (Table 1, ``indicator_estimates``); :func:`index_reliability` gives
Cronbach's alpha of the composite indices; :func:`indicator_drivers` gives the average marginal
effects of the ``drivers:`` an indicator names (associations, not causes).
"""

from __future__ import annotations

from perception.indicators.drivers import (
    DRIVER_COLUMNS,
    PUBLISHED_DRIVER_COLUMNS,
    indicator_drivers,
    publish_drivers,
)
from perception.indicators.estimates import (
    ESTIMATE_COLUMNS,
    RELIABILITY_COLUMNS,
    compute_indicators,
    estimate_columns,
    index_reliability,
)
from perception.indicators.scores import VARIANTS, Responses, cronbach_alpha, score_indicator

__all__ = [
    "DRIVER_COLUMNS",
    "ESTIMATE_COLUMNS",
    "PUBLISHED_DRIVER_COLUMNS",
    "RELIABILITY_COLUMNS",
    "VARIANTS",
    "Responses",
    "compute_indicators",
    "cronbach_alpha",
    "estimate_columns",
    "index_reliability",
    "indicator_drivers",
    "publish_drivers",
    "score_indicator",
]
