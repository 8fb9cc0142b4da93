"""Survey weighting as a data officer runs it every wave.

base weights (:mod:`.base`) → nonresponse adjustment (:mod:`.nonresponse`) → calibration to the
population targets (:mod:`perception.config.targets`; raking, post-stratification and linear
calibration in :mod:`.calibration`, through ``SurveyDesign.rake`` / ``poststratify`` /
``calibrate``) → trimming with re-calibration (:mod:`.trimming`) → diagnostics
(:mod:`.diagnostics`). :func:`weight_wave` runs them all from ``config/weighting.yaml``
(:mod:`perception.config.weighting`).

The workflow is imported on first use: it builds a ``SurveyDesign``, whose module imports
:mod:`.calibration` from this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from perception.weighting.workflow import (
        WEIGHT_COLUMN,
        weight_nonprobability,
        weight_wave,
        weighted_table,
    )

__all__ = [
    "MARGIN_ERROR_COLUMNS",
    "MISSING_LABEL",
    "REPORT_COLUMNS",
    "WEIGHT_COLUMN",
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
    "weight_nonprobability",
    "weight_report",
    "weight_wave",
    "weighted_table",
]

_LAZY = {
    "WEIGHT_COLUMN",
    "weight_nonprobability",
    "weight_wave",
    "weighted_table",
}


def __getattr__(name: str) -> Any:
    """Import the workflow's names on first use (see the module docstring)."""
    if name in _LAZY:
        return getattr(importlib.import_module("perception.weighting.workflow"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
