"""`read_survey`: one entry point for every survey export format."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Literal

import pandas as pd

from perception.errors import ReadError
from perception.io.columns import parse_iso_dates, variable_type
from perception.io.delimited import read_delimited
from perception.io.kobo import is_kobo_export, normalize_kobo
from perception.io.metadata import Format, SurveyMetadata
from perception.io.sniff import DESCRIPTION, HEAD_BYTES, SUFFIX_FOR, Content, read_head, sniff
from perception.io.spreadsheet import read_workbook
from perception.io.statistical import read_statistical

FORMAT_FOR_SUFFIX: dict[str, Format] = {
    ".sav": "spss",
    ".zsav": "spss",
    ".por": "spss-por",
    ".dta": "stata",
    ".sas7bdat": "sas7bdat",
    ".xpt": "xport",
    ".csv": "csv",
    ".xlsx": "kobo-xlsx",
    ".xls": "xls",
}

_CONTENT_FOR_FORMAT: dict[Format, Content] = {
    "spss": "spss",
    "spss-por": "spss-por",
    "stata": "stata",
    "sas7bdat": "sas7bdat",
    "xport": "xport",
    "csv": "text",
    "kobo-xlsx": "zip",
    "xls": "ole2",
}


def read_survey(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    select_multiple: Collection[str] | None = None,
) -> tuple[pd.DataFrame, SurveyMetadata]:
    """Read a survey export into a DataFrame and its metadata, losing no label or missing code.

    Parameters
    ----------
    path : str or PathLike
        A ``.sav``, ``.zsav``, ``.por``, ``.dta`` (Stata releases 104-119), ``.sas7bdat``,
        ``.xpt``, ``.csv``, ``.xlsx`` or ``.xls`` file. It is only ever opened for reading.
    encoding : str, optional
        Text encoding to use instead of the detected one (CSV; SPSS, Stata and SAS files whose
        declared encoding is wrong).
    select_multiple : collection of str, optional
        KoBoToolbox exports (``.xlsx``, ``.xls``, and ``.csv`` carrying ``_uuid``-style columns):
        the select_multiple questions, named as in the file with or without their group path.
        By default they are recognised from the data (see `perception.io.kobo`).

    Returns
    -------
    frame : pandas.DataFrame
        One row per respondent. SPSS user-missing codes keep their value, Stata extended missing
        values are the strings ``".a"``-``".z"``, system-missing is NaN, dates are datetime64,
        select_multiple questions are 0/1 ``question/option`` columns.
    metadata : SurveyMetadata
        Labels, value labels, declared missing values, variable types and layout facts.

    Raises
    ------
    perception.errors.ReadError
        For a missing, empty, corrupt, truncated or undecodable file, a content that does not
        match the extension, or an unsupported extension.

    """
    source = Path(path)
    _check_exists(source)
    fmt = _format_of(source)
    _check_content(source, fmt)
    if fmt == "csv" or fmt == "kobo-xlsx" or fmt == "xls":
        return _read_table(source, fmt, encoding, select_multiple)
    return read_statistical(source, fmt, encoding)


def _format_of(path: Path) -> Format:
    """Return the format an extension promises, or explain which extensions are supported."""
    fmt = FORMAT_FOR_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise ReadError(
            f"{path.name} has an extension perception cannot read",
            expected="one of " + ", ".join(FORMAT_FOR_SUFFIX),
            found=repr(path.suffix) if path.suffix else "no extension",
            hint="Export the survey in one of the supported formats, or rename the file if its "
            "extension is wrong.",
            file=path,
        )
    return fmt


def _check_exists(path: Path) -> None:
    """Check that the path names an existing file."""
    if not path.is_file():
        raise ReadError(
            f"{path.name} does not exist" if not path.exists() else f"{path.name} is not a file",
            expected="an existing survey file",
            found="nothing at this path" if not path.exists() else "a directory",
            hint=f"Check the path (relative paths start from the current directory: {Path.cwd()}).",
            file=path,
        )


def _check_content(path: Path, fmt: Format) -> None:
    """Check that the file is not empty and its first bytes match its extension."""
    try:
        content = sniff(read_head(path))
    except OSError as error:
        raise ReadError(
            f"cannot open {path.name}",
            expected="a readable file",
            found=f"{type(error).__name__}: {error}",
            hint="Check the file permissions.",
            file=path,
        ) from error
    expected = _CONTENT_FOR_FORMAT[fmt]
    if content == expected:
        return
    if expected == "text" and content == "binary":
        raise ReadError(
            f"cannot decode the text in {path.name}",
            expected="text in UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-1252",
            found="control characters (NUL and others) in the first "
            f"{HEAD_BYTES} bytes: binary data, or UTF-16 text without a byte-order mark",
            hint="Re-save the file as CSV UTF-8; if it is another kind of file, give it its "
            "own extension.",
            file=path,
        )
    if content == "empty":
        raise ReadError(
            f"{path.name} is empty",
            expected=DESCRIPTION[expected],
            found=DESCRIPTION[content],
            hint="The export or the transfer failed; export or download the file again.",
            file=path,
        )
    suffix = SUFFIX_FOR.get(content)
    raise ReadError(
        f"{path.name} is not what its extension says",
        expected=f"{DESCRIPTION[expected]}, as the extension {path.suffix!r} promises",
        found=DESCRIPTION[content],
        hint=f"Rename the file to {path.with_suffix(suffix).name} if that is what it is."
        if suffix
        else "The file is damaged or of another kind: export it again.",
        file=path,
    )


def _read_table(
    path: Path,
    fmt: Literal["csv", "kobo-xlsx", "xls"],
    encoding: str | None,
    select_multiple: Collection[str] | None,
) -> tuple[pd.DataFrame, SurveyMetadata]:
    """Read a CSV or workbook, with KoBoToolbox layouts normalised."""
    warnings: list[str] = []
    used_encoding: str | None = None
    if fmt == "csv":
        frame, used_encoding, _ = read_delimited(path, encoding)
    else:
        frame, warnings = read_workbook(path, "xlsx" if fmt == "kobo-xlsx" else "xls")
    if frame.empty:
        raise ReadError(
            f"{path.name} holds no data rows",
            expected="a header line and at least one respondent (row)",
            found=f"{len(frame)} rows under {len(frame.columns)} column headers",
            hint="Export the data again after submissions have arrived.",
            file=path,
        )
    frame = parse_iso_dates(frame.rename(columns=str))  # a header cell may hold a number
    column_groups: dict[str, str] = {}
    multiple: dict[str, list[str]] = {}
    if fmt != "csv" or is_kobo_export([str(name) for name in frame.columns]):
        layout = normalize_kobo(frame, select_multiple, path)
        frame = layout.frame
        column_groups, multiple = layout.column_groups, layout.multiple_response
        warnings += layout.warnings
    metadata = SurveyMetadata(
        path=path,
        format=fmt,
        n_rows=len(frame),
        column_names=[str(name) for name in frame.columns],
        variable_types={str(name): variable_type(frame[name]) for name in frame.columns},
        encoding=used_encoding,
        column_groups=column_groups,
        multiple_response=multiple,
        warnings=warnings,
    )
    return frame, metadata
