"""Read every survey export (SPSS, Stata, SAS, CSV, KoBoToolbox Excel) into one shape."""

from __future__ import annotations

from perception.io.metadata import MissingRange, ResponseSet, SurveyMetadata
from perception.io.reader import read_survey

__all__ = ["MissingRange", "ResponseSet", "SurveyMetadata", "read_survey"]
