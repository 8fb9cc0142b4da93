"""Survey weighting as a data officer runs it every wave.

base weights (:mod:`.base`) → nonresponse adjustment (:mod:`.nonresponse`) → calibration to the
population targets (:mod:`perception.config.targets`; raking, post-stratification and linear
calibration in :mod:`.calibration`, through ``SurveyDesign.rake`` / ``poststratify`` /
``calibrate``) → trimming with re-calibration (:mod:`.trimming`) → diagnostics
(:mod:`.diagnostics`). :func:`.workflow.weight_wave` runs them all from
``config/weighting.yaml`` (:mod:`perception.config.weighting`); this package does not import
its workflow, which reads :mod:`perception.config`, whose models use this package's types.
"""

from __future__ import annotations

from perception.weighting._common import MISSING_LABEL, WeightingWarning
from perception.weighting.base import base_weights_from_column, base_weights_from_probabilities
from perception.weighting.diagnostics import (
    MARGIN_ERROR_COLUMNS,
    REPORT_COLUMNS,
    effective_sample_size,
    kish_deff,
    margin_errors,
    weight_report,
)
from perception.weighting.nonresponse import NonresponseResult, adjust_nonresponse
from perception.weighting.trimming import (
    TrimmingSettings,
    TrimResult,
    WeightBound,
    trim_and_recalibrate,
    trim_weights,
)

__all__ = [
    "MARGIN_ERROR_COLUMNS",
    "MISSING_LABEL",
    "REPORT_COLUMNS",
    "NonresponseResult",
    "TrimResult",
    "TrimmingSettings",
    "WeightBound",
    "WeightingWarning",
    "adjust_nonresponse",
    "base_weights_from_column",
    "base_weights_from_probabilities",
    "effective_sample_size",
    "kish_deff",
    "margin_errors",
    "trim_and_recalibrate",
    "trim_weights",
    "weight_report",
]
