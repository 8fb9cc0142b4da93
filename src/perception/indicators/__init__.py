"""Perception indicators: the catalogue (``config/indicators.yaml``) and per-wave estimates.

:func:`load_indicators` reads and checks the catalogue against the variable catalogue;
:func:`compute_indicators` estimates every indicator of one wave in every domain and
denominator variant (Table 1, ``indicator_estimates``); :func:`index_reliability` gives
Cronbach's alpha of the composite indices; :func:`indicator_drivers` gives the average marginal
effects of the ``drivers:`` an indicator names (associations, not causes).
"""

from __future__ import annotations

from perception.indicators.config import (
    DOMAIN_DTYPE,
    SET_SEPARATOR,
    Benchmark,
    Defaults,
    Indicator,
    IndicatorCatalogue,
    IndicatorType,
    domain_set_columns,
    domain_set_label,
    load_indicators,
    validate_indicators,
    with_domains,
)
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
    "DOMAIN_DTYPE",
    "DRIVER_COLUMNS",
    "ESTIMATE_COLUMNS",
    "PUBLISHED_DRIVER_COLUMNS",
    "RELIABILITY_COLUMNS",
    "SET_SEPARATOR",
    "VARIANTS",
    "Benchmark",
    "Defaults",
    "Indicator",
    "IndicatorCatalogue",
    "IndicatorType",
    "Responses",
    "compute_indicators",
    "cronbach_alpha",
    "domain_set_columns",
    "domain_set_label",
    "estimate_columns",
    "index_reliability",
    "indicator_drivers",
    "load_indicators",
    "publish_drivers",
    "score_indicator",
    "validate_indicators",
    "with_domains",
]
