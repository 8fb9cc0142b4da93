"""Column helpers shared by every reader: variable types, ISO date text, label keys."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from perception.io.metadata import LabelKey, VariableType

_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_ISO_DATETIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_TZ_SUFFIX = r"(?:Z|[+-]\d{2}:?\d{2})$"


def label_key(value: LabelKey) -> LabelKey:
    """Return an integral float code as an int (``1.0`` -> ``1``), anything else unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def variable_type(series: pd.Series, datetime_format: bool | None = None) -> VariableType:
    """Classify a column as numeric, string, date, datetime or time.

    A datetime64 column is a "datetime" when ``datetime_format`` says its storage format carries
    a time of day; when the format is unknown (text files), when any value has one.
    """
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return "datetime"
    if pd.api.types.is_datetime64_dtype(series.dtype):
        if datetime_format is not None:
            return "datetime" if datetime_format else "date"
        values = series.dropna()
        return "date" if bool((values == values.dt.normalize()).all()) else "datetime"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "numeric"
    first = series.first_valid_index()
    if first is None:
        return "string"
    value = series.loc[first]
    if isinstance(value, dt.time):
        return "time"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    kind = pd.api.types.infer_dtype(series, skipna=True)
    return "numeric" if kind in {"integer", "floating", "mixed-integer-float"} else "string"


def parse_iso_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns whose every value is an ISO 8601 date or timestamp into datetime64.

    Timestamps with a UTC offset (KoBoToolbox ``start``, ``end``, ``_submission_time``) become
    timezone-aware UTC; values that look like dates but are not valid ones stay text.
    """
    converted: dict[str, pd.Series] = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.infer_dtype(series, skipna=True) != "string":
            continue
        text = series.dropna().astype(str)
        if text.empty:
            continue
        try:
            if bool(text.str.fullmatch(_ISO_DATE).all()):
                converted[name] = pd.to_datetime(series, format="%Y-%m-%d")
            elif bool(text.str.fullmatch(_ISO_DATETIME).all()):
                aware = bool(text.str.contains(_TZ_SUFFIX).any())
                converted[name] = pd.to_datetime(series, format="ISO8601", utc=aware)
        except (ValueError, OverflowError):
            continue
    return frame.assign(**converted) if converted else frame
