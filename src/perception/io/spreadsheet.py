"""Excel workbooks (.xlsx through openpyxl, .xls through xlrd): the first sheet is the data."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Literal
from xml.etree.ElementTree import ParseError

import pandas as pd
import xlrd

from perception.errors import ReadError

# What openpyxl (zip + XML) and xlrd (OLE2 records, checked with asserts and struct) raise on
# damaged input.
_WORKBOOK_ERRORS = (
    zipfile.BadZipFile,
    ParseError,
    xlrd.XLRDError,
    struct.error,
    AssertionError,
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
    engine: Literal["openpyxl", "xlrd"] = "openpyxl" if kind == "xlsx" else "xlrd"
    try:
        with warnings.catch_warnings():
            # pandas 3 deprecates its xlrd engine in favour of python-calamine; xlrd still works.
            warnings.filterwarnings("ignore", message="The xlrd engine is deprecated")
            # xlrd prints its complaints about damaged files to stdout unless given a log file.
            options = {"logfile": io.StringIO()} if engine == "xlrd" else {}
            with pd.ExcelFile(path, engine=engine, engine_kwargs=options) as book:
                sheets = [str(name) for name in book.sheet_names]
                frame = pd.read_excel(
                    book, sheet_name=sheets[0], keep_default_na=False, na_values=[""]
                )
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
