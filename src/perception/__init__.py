"""perception: weighted, disaggregated, uncertainty-aware indicators for peace operations."""

from __future__ import annotations

from perception.contrasts import Comparison, contrast, wave_difference, wave_differences
from perception.design import SurveyDesign
from perception.errors import (
    CalibrationError,
    CodebookError,
    ConfigError,
    DesignError,
    ModelError,
    PerceptionError,
    ReadError,
    ValidationError,
)
from perception.estimation import estimate, estimate_domains
from perception.io import SurveyMetadata, read_survey
from perception.regression import Regression, WaldTest, marginal_effects, regress, wald_test

__version__ = "0.1.0"

__all__ = [
    "CalibrationError",
    "CodebookError",
    "Comparison",
    "ConfigError",
    "DesignError",
    "ModelError",
    "PerceptionError",
    "ReadError",
    "Regression",
    "SurveyDesign",
    "SurveyMetadata",
    "ValidationError",
    "WaldTest",
    "__version__",
    "contrast",
    "estimate",
    "estimate_domains",
    "marginal_effects",
    "read_survey",
    "regress",
    "wald_test",
    "wave_difference",
    "wave_differences",
]
