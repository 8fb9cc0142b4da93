"""Delimited text exports: strict encoding detection and delimiter detection."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from pathlib import Path

import pandas as pd

from perception.errors import ReadError

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_CHARS = 65_536
_SAMPLE_LINES = 50
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_FALLBACK_ENCODINGS = ("utf-8", "cp1252")
_BINARY_CONTROLS = frozenset(chr(code) for code in range(32)) - set("\t\n\r\f")


def decode(raw: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode a text file strictly and return ``(text, encoding)``.

    With no ``encoding`` given: a byte-order mark decides (UTF-8 or UTF-16); otherwise UTF-8 is
    tried strictly, then Windows-1252 (a superset of latin-1 for printable text). Text holding
    control characters (binary data or UTF-16 without a BOM) is rejected, never guessed at.
    """
    if encoding is not None:
        candidates: tuple[str, ...] = (encoding,)
    else:
        bom = next((name for mark, name in _BOMS if raw.startswith(mark)), None)
        candidates = (bom,) if bom is not None else _FALLBACK_ENCODINGS
    for candidate in candidates:
        try:
            text = raw.decode(candidate)
        except UnicodeDecodeError:
            continue
        except LookupError as error:
            raise ReadError(
                f"unknown text encoding {candidate!r}",
                expected="an encoding name Python knows, e.g. 'utf-8', 'cp1252', 'latin-1'",
                found=repr(candidate),
                hint="Fix the encoding argument passed to read_survey.",
                file=path,
            ) from error
        if not _BINARY_CONTROLS.intersection(text):
            return text, candidate
    raise ReadError(
        f"cannot decode the text in {path.name}",
        expected="text in " + " or ".join(candidates),
        found=_undecodable_detail(raw, candidates),
        hint="Re-save the file as UTF-8 (CSV UTF-8 in Excel), or pass the right encoding, "
        "e.g. read_survey(path, encoding='cp1251').",
        file=path,
    )


def _undecodable_detail(raw: bytes, candidates: tuple[str, ...]) -> str:
    """Say where decoding failed, or that the text holds control characters."""
    for candidate in candidates:
        try:
            raw.decode(candidate)
        except UnicodeDecodeError as error:
            bad = raw[error.start : error.start + 4]
            return f"bytes {bad!r} at offset {error.start} are not valid {candidate}"
    return "control characters (NUL and others) that only occur in binary data or UTF-16 text"


def sniff_delimiter(text: str) -> str:
    """Pick the delimiter that splits the first lines into the same number (>1) of fields.

    Among consistent delimiters the one giving the most fields wins; a file no delimiter splits
    is read as a single column.
    """
    sample = text[:_SAMPLE_CHARS]
    if len(text) > _SAMPLE_CHARS:
        sample = sample[: sample.rfind("\n") + 1] or sample
    best, best_width = ",", 1
    for delimiter in DELIMITERS:
        rows = csv.reader(io.StringIO(sample), delimiter=delimiter)
        widths = Counter(
            len(row) for _, row in zip(range(_SAMPLE_LINES), rows, strict=False) if row
        )
        if len(widths) == 1:
            (width,) = widths
            if width > best_width:
                best, best_width = delimiter, width
    return best


def read_delimited(path: Path, encoding: str | None) -> tuple[pd.DataFrame, str, str]:
    """Read a delimited text file; return the frame, the encoding and the delimiter used.

    Only empty cells are missing: "NA", "null" or "None" stay text for the codebook to judge.
    """
    text, used = decode(path.read_bytes(), path, encoding)
    if not text.strip():
        raise ReadError(
            f"{path.name} is empty",
            expected="a header line and at least one data row",
            found="only whitespace",
            hint="Export the data again; the file holds no table.",
            file=path,
        )
    delimiter = sniff_delimiter(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, ValueError) as error:
        raise ReadError(
            f"{path.name} is not a consistent table",
            expected=f"every line split by {delimiter!r} into the same number of fields",
            found=str(error).strip(),
            hint="A line has extra or missing fields, or an unclosed quote: check the line "
            "named above, or re-export the file.",
            file=path,
        ) from error
    return frame, used, delimiter
