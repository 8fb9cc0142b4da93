"""Tell what a file really is from its first bytes, so a wrong extension gets a precise error."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Content = Literal[
    "spss", "spss-por", "stata", "sas7bdat", "xport", "zip", "ole2", "text", "binary", "empty"
]

HEAD_BYTES = 1024

DESCRIPTION: dict[Content, str] = {
    "spss": "an SPSS data file (.sav/.zsav)",
    "spss-por": "an SPSS portable file (.por)",
    "stata": "a Stata data file (.dta)",
    "sas7bdat": "a SAS data file (.sas7bdat)",
    "xport": "a SAS transport file (.xpt)",
    "zip": "a ZIP container (an .xlsx workbook or another zipped file)",
    "ole2": "an OLE2 container (a legacy .xls workbook or a password-protected workbook)",
    "text": "plain text (a CSV or other delimited file)",
    "binary": "binary data of no recognised survey format",
    "empty": "an empty file (0 bytes)",
}

SUFFIX_FOR: dict[Content, str] = {
    "spss": ".sav",
    "spss-por": ".por",
    "stata": ".dta",
    "sas7bdat": ".sas7bdat",
    "xport": ".xpt",
    "zip": ".xlsx",
    "ole2": ".xls",
    "text": ".csv",
}

_SAS7BDAT_MAGIC = bytes.fromhex("000000000000000000000000c2ea8160b31411cfbd92080009c7318c181f1011")
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13}


def read_head(path: Path) -> bytes:
    """Return the first bytes of a file, opened read-only."""
    with path.open("rb") as handle:
        return handle.read(HEAD_BYTES)


def stata_release(head: bytes) -> int | None:
    """Return the .dta format release (104-119) from a Stata file's first bytes."""
    if head.startswith(b"<stata_dta><header><release>"):
        digits = head[28:31]
        return int(digits) if digits.isdigit() else None
    if len(head) >= 2 and 104 <= head[0] <= 115 and head[1] in (1, 2):
        return head[0]
    return None


def sniff(head: bytes) -> Content:
    """Classify file content from its first bytes."""
    if not head:
        return "empty"
    if head[:4] in (b"$FL2", b"$FL3"):
        return "spss"
    if stata_release(head) is not None:
        return "stata"
    if head.startswith(_SAS7BDAT_MAGIC):
        return "sas7bdat"
    if head.startswith(b"HEADER RECORD*******LIB"):
        return "xport"
    if b"SPSSPORT" in head:
        return "spss-por"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole2"
    if head.startswith(_TEXT_BOMS) or not any(byte in _CONTROL for byte in head):
        return "text"
    return "binary"
