"""Survey weighting as a data officer runs it every wave.

base weights (:mod:`.base`) → nonresponse adjustment (:mod:`.nonresponse`) → calibration to the
population targets (:mod:`.targets`, through ``SurveyDesign.rake`` / ``poststratify`` /
``calibrate``) → trimming with re-calibration (:mod:`.trimming`) → diagnostics
(:mod:`.diagnostics`). :func:`weight_wave` runs them all from ``config/weighting.yaml``
(:mod:`.config`).
"""

from __future__ import annotations

from perception.weighting._common import MISSING_LABEL, WeightingWarning
from perception.weighting.base import base_weights_from_column, base_weights_from_probabilities
from perception.weighting.config import WeightingConfig, load_weighting_config
from perception.weighting.diagnostics import (
    MARGIN_ERROR_COLUMNS,
    REPORT_COLUMNS,
    effective_sample_size,
    kish_deff,
    margin_errors,
    weight_report,
)
from perception.weighting.nonresponse import NonresponseResult, adjust_nonresponse
from perception.weighting.targets import (
    PopulationTargets,
    TargetTable,
    load_targets,
    load_wave_targets,
)
from perception.weighting.trimming import (
    TrimmingSettings,
    TrimResult,
    WeightBound,
    trim_and_recalibrate,
    trim_weights,
)
from perception.weighting.workflow import WEIGHT_COLUMN, weight_wave, weighted_table

__all__ = [
    "MARGIN_ERROR_COLUMNS",
    "MISSING_LABEL",
    "REPORT_COLUMNS",
    "WEIGHT_COLUMN",
    "NonresponseResult",
    "PopulationTargets",
    "TargetTable",
    "TrimResult",
    "TrimmingSettings",
    "WeightBound",
    "WeightingConfig",
    "WeightingWarning",
    "adjust_nonresponse",
    "base_weights_from_column",
    "base_weights_from_probabilities",
    "effective_sample_size",
    "kish_deff",
    "load_targets",
    "load_wave_targets",
    "load_weighting_config",
    "margin_errors",
    "trim_and_recalibrate",
    "trim_weights",
    "weight_report",
    "weight_wave",
    "weighted_table",
]
