"""perception: weighted, disaggregated, uncertainty-aware perception indicators for peace operations."""

from __future__ import annotations

from perception.errors import (
    CalibrationError,
    CodebookError,
    ConfigError,
    DesignError,
    PerceptionError,
    ReadError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "CalibrationError",
    "CodebookError",
    "ConfigError",
    "DesignError",
    "PerceptionError",
    "ReadError",
    "ValidationError",
    "__version__",
]
