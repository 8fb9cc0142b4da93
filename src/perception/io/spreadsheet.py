"""Excel workbooks (.xlsx and .xls, through calamine): the first sheet is the data."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

import pandas as pd
from python_calamine import CalamineError, PasswordError, XmlError, ZipError

from perception.errors import ReadError

# What calamine (and pandas' check of the file's format) raise on damaged input.
_WORKBOOK_ERRORS = (
    CalamineError,
    PasswordError,
    XmlError,
    ZipError,
    zipfile.BadZipFile,
    LookupError,
    ValueError,
    EOFError,
    OSError,
)


def read_workbook(path: Path, kind: Literal["xlsx", "xls"]) -> tuple[pd.DataFrame, list[str]]:
    """Read the first sheet of a workbook; return it with a warning naming any other sheets.

    KoBoToolbox puts repeat groups on further sheets; they are not part of the respondent table.
    Only empty cells are missing: "NA" or "None" stay text for the codebook to judge.
    """
    try:
        with pd.ExcelFile(path, engine="calamine") as book:
            sheets = [str(name) for name in book.sheet_names]
            frame = pd.read_excel(book, sheet_name=sheets[0], keep_default_na=False, na_values=[""])
    except _WORKBOOK_ERRORS as error:
        raise ReadError(
            f"{path.name} is corrupt or truncated",
            expected=f"a complete .{kind} workbook",
            found=f"{type(error).__name__}: {error}",
            hint="The workbook was probably cut short by an interrupted download or damaged: "
            "download the export again, or open and re-save it in a spreadsheet program.",
            file=path,
        ) from error
    if len(sheets) > 1:
        ignored = ", ".join(sheets[1:])
        return frame, [f"only the first sheet {sheets[0]!r} was read; ignored sheets: {ignored}"]
    return frame, []
