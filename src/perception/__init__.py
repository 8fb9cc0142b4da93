"""perception: weighted, disaggregated, uncertainty-aware indicators for peace operations.

The names below are imported on first use (PEP 562), so ``import perception.config`` or the
``perception`` command does not load scipy and statsmodels before a step needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from perception.contrasts import Comparison, contrast, wave_difference, wave_differences
    from perception.design import SurveyDesign
    from perception.estimation import estimate, estimate_domains
    from perception.io import SurveyMetadata, read_survey
    from perception.regression import (
        Regression,
        WaldTest,
        marginal_effects,
        regress,
        wald_test,
    )

__version__ = "0.1.0"

_LAZY = {
    "perception.contrasts": ("Comparison", "contrast", "wave_difference", "wave_differences"),
    "perception.design": ("SurveyDesign",),
    "perception.estimation": ("estimate", "estimate_domains"),
    "perception.io": ("SurveyMetadata", "read_survey"),
    "perception.regression": ("Regression", "WaldTest", "marginal_effects", "regress", "wald_test"),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> object:
    """Import a public name from its module on first use."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'perception' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
