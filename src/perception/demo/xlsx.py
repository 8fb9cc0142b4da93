"""A minimal, fast and byte-for-byte reproducible XLSX writer for one-sheet exports.

openpyxl without lxml needs seconds for a 3,000 x 80 sheet and stamps the current time into the
file; this writer needs a fraction of a second and stamps a given time. Strings are written
inline, numbers as numbers, dates and datetimes as Excel serial numbers with a date format, so
openpyxl and pandas read them back as datetimes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_EPOCH = dt.datetime(1899, 12, 30)
_DATE_STYLE, _DATETIME_STYLE = 1, 2

_PKG = "application/vnd.openxmlformats-package"
_SHEETML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_CONTENT_TYPES = (
    _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    f'<Default Extension="rels" ContentType="{_PKG}.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEETML}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SHEETML}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_SHEETML}.styles+xml"/>'
    f'<Override PartName="/docProps/core.xml" ContentType="{_PKG}.core-properties+xml"/>'
    "</Types>"
)  # fmt: skip
_ROOT_RELS = (
    _HEAD + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_PKG_REL}/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    "</Relationships>"
)  # fmt: skip
_WORKBOOK_RELS = (
    _HEAD + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
    "</Relationships>"
)  # fmt: skip
_STYLES = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)  # fmt: skip


def column_letter(index: int) -> str:
    """Return the spreadsheet column letters of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _cell(ref: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return (
            f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'
        )
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, dt.datetime):
        serial = (value - _EPOCH).total_seconds() / 86400.0
        return f'<c r="{ref}" s="{_DATETIME_STYLE}"><v>{serial!r}</v></c>'
    if isinstance(value, dt.date):
        serial_days = (value - _EPOCH.date()).days
        return f'<c r="{ref}" s="{_DATE_STYLE}"><v>{serial_days}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} to XLSX")


def _sheet(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    parts = [_HEAD, f'<worksheet xmlns="{_MAIN}"><sheetData>']
    letters: list[str] = [column_letter(k) for k in range(len(header))]
    for r, row in enumerate([header, *rows], start=1):
        cells = "".join(_cell(f"{letters[k]}{r}", v) for k, v in enumerate(row))
        parts.append(f'<row r="{r}">{cells}</row>')
    parts.append("</sheetData></worksheet>")
    return "".join(parts)


def _core(creator: str, when: dt.datetime) -> str:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        _HEAD + "<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{escape(creator)}</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )  # fmt: skip


def write_xlsx(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    sheet_name: str,
    created: dt.datetime,
    creator: str,
) -> None:
    """Write one sheet (``header`` then ``rows``) to ``path``; ``None``/NaN cells stay blank.

    Values must be ``str``, ``bool``, ``int``, ``float``, ``datetime.date`` or
    ``datetime.datetime`` (naive). Every zip entry and the document properties carry ``created``.
    """
    workbook = (
        _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        f'<sheet name={quoteattr(sheet_name[:31])} sheetId="1" r:id="rId1"/>'
        "</sheets></workbook>"
    )
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _ROOT_RELS,
        "docProps/core.xml": _core(creator, created),
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
        "xl/styles.xml": _STYLES,
        "xl/worksheets/sheet1.xml": _sheet(header, rows),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            entry = zipfile.ZipInfo(name, date_time=created.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, text.encode("utf-8"))
    path.write_bytes(buffer.getvalue())


def read_columns(path: Path, wanted: Callable[[str], bool]) -> dict[str, list[Any]]:
    """Return the first sheet's columns whose header satisfies ``wanted``, as raw cell values.

    Strings (inline or shared) come back as ``str``, numbers as ``float``, blanks as ``None``;
    dates stay Excel serial numbers. A fast reader for the files :func:`write_xlsx` writes (and
    for the same files saved again by a spreadsheet program).
    """
    with zipfile.ZipFile(path) as archive:
        shared = _shared_strings(archive)
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        first = book.find(f"{{{_MAIN}}}sheets/{{{_MAIN}}}sheet")
        if first is None:
            raise ValueError(f"{path} holds no worksheet")
        rel_id = first.attrib[f"{{{_REL}}}id"]
        target = next(r.attrib["Target"] for r in rels if r.attrib["Id"] == rel_id)
        sheet = archive.read("xl/" + target.lstrip("/").removeprefix("xl/"))
    rows = ElementTree.fromstring(sheet).iter(f"{{{_MAIN}}}row")
    header = {_letters(ref): str(v) for ref, v in _row_cells(next(rows), shared)}
    keep = {letters: name for letters, name in header.items() if wanted(name)}
    columns: dict[str, list[Any]] = {name: [] for name in keep.values()}
    for row in rows:
        values = {_letters(ref): v for ref, v in _row_cells(row, shared)}
        for letters, name in keep.items():
            columns[name].append(values.get(letters))
    return columns


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in si.iter(f"{{{_MAIN}}}t")) for si in root]


def _letters(ref: str) -> str:
    return ref.rstrip("0123456789")


def _row_cells(row: ElementTree.Element, shared: Sequence[str]) -> Iterator[tuple[str, Any]]:
    for cell in row:
        kind = cell.attrib.get("t", "n")
        if kind == "inlineStr":
            value: Any = "".join(t.text or "" for t in cell.iter(f"{{{_MAIN}}}t"))
        else:
            raw = cell.findtext(f"{{{_MAIN}}}v")
            if raw is None:
                continue
            value = shared[int(raw)] if kind == "s" else raw if kind == "str" else float(raw)
        yield cell.attrib["r"], value
