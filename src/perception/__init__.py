"""perception: weighted, disaggregated, uncertainty-aware indicators for peace operations."""

from __future__ import annotations

from perception.design import SurveyDesign
from perception.errors import (
    CalibrationError,
    CodebookError,
    ConfigError,
    DesignError,
    PerceptionError,
    ReadError,
    ValidationError,
)
from perception.estimation import (
    Comparison,
    contrast,
    estimate,
    estimate_domains,
    wave_difference,
    wave_differences,
)
from perception.io import SurveyMetadata, read_survey

__version__ = "0.1.0"

__all__ = [
    "CalibrationError",
    "CodebookError",
    "Comparison",
    "ConfigError",
    "DesignError",
    "PerceptionError",
    "ReadError",
    "SurveyDesign",
    "SurveyMetadata",
    "ValidationError",
    "__version__",
    "contrast",
    "estimate",
    "estimate_domains",
    "read_survey",
    "wave_difference",
    "wave_differences",
]
