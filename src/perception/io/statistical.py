"""SPSS, Stata and SAS files through pyreadstat, keeping labels and every kind of missing code.

The values are left exactly as stored: SPSS user-missing codes stay in the column (the codebook
decides what is missing), Stata extended missing values become the strings ``".a"``-``".z"``, and
only system-missing becomes NaN. Post-processing touches metadata and, for Stata, only the
columns that hold extended missing values, so reading costs what pyreadstat costs.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, cast

import pandas as pd
import pyreadstat
from pyreadstat._readstat_parser import parser_entry_point

from perception.errors import ReadError
from perception.io.columns import label_key, variable_type
from perception.io.metadata import (
    LabelKey,
    Measure,
    MissingRange,
    ResponseSet,
    SurveyMetadata,
    VariableType,
)
from perception.io.sniff import DESCRIPTION, read_head, stata_release

StatFormat = Literal["spss", "spss-por", "stata", "sas7bdat", "xport"]

_PYREADSTAT_ERRORS = (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, UnicodeError, OSError)
_FIRST_UTF8_STATA_RELEASE = 118
_XPORT_RECORD = 80
_MEASURES: frozenset[str] = frozenset({"nominal", "ordinal", "scale"})


def read_statistical(
    path: Path, fmt: StatFormat, encoding: str | None
) -> tuple[pd.DataFrame, SurveyMetadata]:
    """Read an SPSS, Stata or SAS file with its labels, user-missing and extended missing codes."""
    if fmt == "xport" and path.stat().st_size % _XPORT_RECORD:
        raise _truncated(path, fmt, "a size that is not a whole number of 80-byte records")
    frame, raw, used_encoding = _read(path, fmt, encoding)
    if frame.empty:
        raise ReadError(
            f"{path.name} holds no data rows",
            expected="at least one respondent (row)",
            found=f"{frame.shape[0]} rows and {frame.shape[1]} columns",
            hint="Ask the provider for the export with the data, not only the dictionary.",
            file=path,
        )
    extended: dict[str, list[str]] = {}
    if fmt in ("stata", "sas7bdat"):
        frame, extended = _dotted_extended_missing(frame, raw.missing_user_values)
    formats: dict[str, str] = raw.original_variable_types
    storage: dict[str, str] = raw.readstat_variable_types
    types = {
        name: _stat_variable_type(frame[name], storage.get(name, ""), formats.get(name, ""))
        for name in frame.columns
    }
    metadata = SurveyMetadata(
        path=path,
        format=fmt,
        n_rows=len(frame),
        column_names=[str(name) for name in frame.columns],
        variable_types=types,
        column_labels={name: label for name, label in raw.column_names_to_labels.items() if label},
        value_labels={
            name: {_value_key(key, fmt): text for key, text in labels.items()}
            for name, labels in raw.variable_value_labels.items()
        },
        missing_ranges={
            name: [MissingRange(label_key(r["lo"]), label_key(r["hi"])) for r in ranges]
            for name, ranges in raw.missing_ranges.items()
        },
        extended_missing=extended,
        encoding=used_encoding,
        file_label=raw.file_label or None,
        notes=list(raw.notes or []),
        measures={
            name: cast(Measure, measure)
            for name, measure in raw.variable_measure.items()
            if measure in _MEASURES
        },
        response_sets={name: _response_set(spec) for name, spec in raw.mr_sets.items()},
    )
    return frame, metadata


def _call(path: Path, fmt: StatFormat, encoding: str | None) -> tuple[pd.DataFrame, Any]:
    """Run the pyreadstat reader for one format with user-missing values kept."""
    if fmt == "spss":
        return pyreadstat.read_sav(
            path, user_missing=True, dates_as_pandas_datetime=True, encoding=encoding
        )
    if fmt == "stata":
        return pyreadstat.read_dta(
            path, user_missing=True, dates_as_pandas_datetime=True, encoding=encoding
        )
    if fmt == "sas7bdat":
        return pyreadstat.read_sas7bdat(
            path, user_missing=True, dates_as_pandas_datetime=True, encoding=encoding
        )
    if fmt == "xport":
        return pyreadstat.read_xport(path, dates_as_pandas_datetime=True, encoding=encoding)
    # pyreadstat.read_por has no user_missing switch and turns declared user-missing values into
    # NaN; the parser entry point it wraps keeps them when asked.
    result: tuple[pd.DataFrame, Any] = parser_entry_point(
        str(path), parser_format="por", user_missing=True, dates_as_pandas_datetime=True
    )
    return result


def _read(
    path: Path, fmt: StatFormat, encoding: str | None
) -> tuple[pd.DataFrame, Any, str | None]:
    """Read the file, turning every pyreadstat failure into a ReadError."""
    try:
        if fmt == "stata" and encoding is None:
            return _read_stata(path)
        frame, raw = _call(path, fmt, encoding)
    except _PYREADSTAT_ERRORS as error:
        raise _unreadable(path, fmt, error) from error
    return frame, raw, _codec_name(encoding or raw.file_encoding)


def _read_stata(path: Path) -> tuple[pd.DataFrame, Any, str]:
    """Read a Stata file; before release 118 (Stata 14) the text encoding is not recorded.

    Old releases hold Windows-1252 text when Stata wrote them and UTF-8 when R, Python or other
    tools did, so UTF-8 is tried strictly first and Windows-1252 is the fallback.
    """
    release = stata_release(read_head(path))
    if release is None or release >= _FIRST_UTF8_STATA_RELEASE:
        frame, raw = _call(path, "stata", None)
        return frame, raw, "utf-8"
    try:
        frame, raw = _call(path, "stata", "utf-8")
    except pyreadstat.ReadstatError as error:
        if not _is_encoding_error(error):
            raise
        frame, raw = _call(path, "stata", "cp1252")
        return frame, raw, "cp1252"
    return frame, raw, "utf-8"


def _codec_name(encoding: str | None) -> str | None:
    """Spell an encoding as Python does ("UTF-8" -> "utf-8", "windows-1252" -> "cp1252")."""
    if encoding is None:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


def _is_encoding_error(error: Exception) -> bool:
    """Tell whether a pyreadstat failure is about decoding text."""
    return isinstance(error, UnicodeError) or "encoding" in str(error) or "charset" in str(error)


def _unreadable(path: Path, fmt: StatFormat, error: Exception) -> ReadError:
    """Describe a pyreadstat failure for the user."""
    if _is_encoding_error(error):
        return ReadError(
            f"cannot decode the text in {path.name}",
            expected=f"{DESCRIPTION[fmt]} whose labels and strings decode in its encoding",
            found=f"{type(error).__name__}: {error}",
            hint="Pass the encoding the file was written in, e.g. "
            "read_survey(path, encoding='cp1252') or encoding='latin-1'.",
            file=path,
        )
    if isinstance(error, OSError):
        return ReadError(
            f"cannot open {path.name}",
            expected="a readable file",
            found=f"{type(error).__name__}: {error}",
            hint="Check the file permissions and that no other program holds it locked.",
            file=path,
        )
    return _truncated(path, fmt, f"pyreadstat: {error}")


def _truncated(path: Path, fmt: StatFormat, found: str) -> ReadError:
    """Build the error for a damaged or truncated file."""
    return ReadError(
        f"{path.name} is corrupt or truncated",
        expected=f"{DESCRIPTION[fmt]}, complete and undamaged",
        found=found,
        hint="The file was probably cut short by an interrupted download or copy, or damaged. "
        "Ask the provider to re-export it and compare its size with the original.",
        file=path,
    )


def _dotted_extended_missing(
    frame: pd.DataFrame, columns: Iterable[str]
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Write Stata/SAS extended missing codes as ".a"-style strings; list the codes per column.

    pyreadstat returns them as bare letters mixed with the numbers; only the listed columns are
    touched.
    """
    found: dict[str, list[str]] = {}
    for name in columns:
        series = frame[name]
        is_code = pd.to_numeric(series, errors="coerce").isna() & series.notna()
        if not is_code.any():
            continue
        codes = "." + series[is_code].astype(str)
        column = series.astype(object)
        column[is_code] = codes.to_numpy(dtype=object)
        frame[name] = column
        found[name] = sorted(codes.unique().tolist())
    return frame, found


def _value_key(key: LabelKey, fmt: StatFormat) -> LabelKey:
    """Normalise a value-label key; Stata/SAS letter keys label extended missing codes."""
    if isinstance(key, str) and fmt in ("stata", "sas7bdat"):
        return "." + key
    return label_key(key)


def _has_time_of_day(display_format: str) -> bool:
    """Tell whether a date display format shows a time of day (SPSS, Stata or SAS)."""
    upper = display_format.upper()
    return upper.startswith("%TC") or any(
        marker in upper for marker in ("DATETIME", "YMDHMS", "E8601DT")
    )


def _stat_variable_type(series: pd.Series, storage: str, display_format: str) -> VariableType:
    """Classify a pyreadstat column from its storage type, display format and values."""
    if storage == "string":
        return "string"
    if pd.api.types.is_datetime64_dtype(series.dtype):
        return "datetime" if _has_time_of_day(display_format) else "date"
    if series.dtype == object:
        kind = variable_type(series)
        if kind in ("date", "datetime", "time"):
            return kind
    return "numeric"


def _response_set(spec: dict[str, Any]) -> ResponseSet:
    """Convert one pyreadstat multiple-response set description."""
    return ResponseSet(
        label=spec.get("label") or "",
        kind="dichotomy" if spec.get("is_dichotomy") else "category",
        counted_value=spec.get("counted_value"),
        columns=list(spec.get("variable_list", [])),
    )
