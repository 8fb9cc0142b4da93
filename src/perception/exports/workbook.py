"""The report workbook: a status sheet, one per benchmark, a methodology and a drivers sheet.

Cell conventions, explained in the footnotes under every table:

- A suppressed value is the text ``*``.
- A flagged value stays a number, shown in parentheses by its number format (``(41.2%)``), so
  report writers can still chart or compute with it; the parentheses are the format, not text.
- Proportions use percent formats (``0.0%``). Differences of percentages (gaps, net scores,
  changes) are stored in percentage points (the fraction × 100) with a ``+0.0 "pts"`` format,
  since ``+5.0%`` would read as a relative change. Scores (means, 0-100 indices) use ``0.00``.
- ``n/a`` marks an item the wave did not ask, ``–`` a domain without respondents.
- A signed value smaller than half its last shown digit is written as 0, never ``-0.0``; the
  margin of error is in points with a ``±`` (``±2.3 pts``).

The file is deterministic: the workbook's created and modified times and every zip entry's
time are the run's ``generated_at``, so rerunning on the same tables gives the same bytes.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from perception.errors import ConfigError
from perception.exports.contract import (
    PublishedTables,
    generated_at,
    national_disclosure,
    wave_order,
)
from perception.exports.labels import ExportLabels, set_columns
from perception.forking import CAN_FORK, Forked
from perception.storage import Recent, content_sha256
from perception.tables import STATUS_PARTS
from perception.words import Lang, capital, format_moment, points, say, status_label

SUPPRESSED = "*"
NOT_ASKED = say("not_asked_mark", "en")
"""Marks a question not asked in a wave, the same in both workbooks (``not_asked_mark``)."""
NO_DATA = "–"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a text as a formula (OWASP CSV injection)."""

Kind = Literal[
    "percent", "points", "pp", "score", "score_change", "p_value", "count", "ratio", "margin"
]
Mark = Literal["plain", "flagged", "suppressed"]

PTS = "{pts}"
"""Stands in a number format for the unit of percentage points, ``pts`` of ``words.yaml``."""
_FORMATS: Mapping[Kind, tuple[str, str]] = {
    "percent": ("0.0%", "(0.0%);(-0.0%);(0.0%)"),
    "points": (
        f'+0.0" {PTS}";-0.0" {PTS}";0.0" {PTS}"',
        f'(+0.0" {PTS}");(-0.0" {PTS}");(0.0" {PTS}")',
    ),
    "pp": (
        f'+0.0" {PTS}";-0.0" {PTS}";0.0" {PTS}"',
        f'(+0.0" {PTS}");(-0.0" {PTS}");(0.0" {PTS}")',
    ),
    "score": ("0.00", "(0.00);(-0.00);(0.00)"),
    "score_change": ("+0.00;-0.00;0.00", "(+0.00);(-0.00);(0.00)"),
    "p_value": ("0.000", "(0.000)"),
    "count": ("#,##0", "#,##0"),
    "ratio": ("0.00", "0.00"),
    "margin": (f'"±"0.0" {PTS}"', f'"±"0.0" {PTS}"'),
}
"""Number format of each kind of value: (plain, flagged). ``points`` are fractions shown in
percentage points (× 100), ``pp`` values already in percentage points (marginal effects);
:data:`PTS` becomes the workbook language's unit word when the cell is written."""

_SCALE: Mapping[Kind, float] = {"points": 100.0, "margin": 100.0}
_HALF_LAST_DIGIT: Mapping[Kind, float] = {
    "percent": 0.0005,
    "points": 0.05,
    "pp": 0.05,
    "score": 0.005,
    "score_change": 0.005,
}
"""Half the last shown digit of signed kinds: a smaller value is written as 0, never "-0.0"."""
_DATE_FORMAT = "yyyy-mm-dd"
_HEADER_ROW = 3
_LINE_HEIGHT = 15.0
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
_SHEET_NAME_LENGTH = 31
_HEADER_FILL = PatternFill(fill_type="solid", start_color="FFD9E1F2", end_color="FFD9E1F2")
# One object per style: openpyxl looks each assigned style up in the workbook's style list, and
# building a new one per cell is most of the time a workbook takes.
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_RIGHT = Alignment(horizontal="right")


@dataclass(frozen=True)
class _Cell:
    """A value to put in a cell, with its number format."""

    value: str | float | int | dt.date | None = None
    number_format: str = "General"


_BLANK = _Cell()


@dataclass(frozen=True)
class _Column:
    """A column of a sheet's table: its header, width and whether its text wraps."""

    header: str
    width: float = 12.0
    wrap: bool = False


@dataclass(frozen=True)
class _Sheet:
    """Everything one sheet shows: titles, a table, footnotes, and the columns kept in view."""

    name: str
    title: str
    subtitle: str
    columns: Sequence[_Column]
    rows: Sequence[Sequence[_Cell]]
    notes: Sequence[str]
    frozen_columns: int


#: Workbooks built in this process, by the digest of their tables, labels and language: the
#: readback rebuilds the workbooks the exports just wrote, from equal tables.
_BUILT: Recent[bytes] = Recent(4)


def start_workbooks(
    tables: PublishedTables, labels: ExportLabels, langs: Sequence[Lang], key: str
) -> Callable[[], None]:
    """Start building the workbooks of ``langs`` in forked processes; return a wait function.

    ``key`` is :func:`workbooks_key` of the tables and labels. Where
    :data:`~perception.forking.CAN_FORK`, each workbook not yet built in this process is
    built in a forked process while this one goes on (the exports write their other files
    meanwhile); once the returned function has been called (more calls do nothing),
    :func:`workbook_bytes` returns them without building them. A build that fails in its
    process is left to :func:`workbook_bytes`, which then raises the same error here.
    """
    if not CAN_FORK:
        return lambda: None
    started = [
        (f"{key} {lang}", Forked(functools.partial(_build, tables, labels, lang)))
        for lang in langs
        if f"{key} {lang}" not in _BUILT
    ]

    def wait() -> None:
        while started:
            built, build = started.pop(0)
            try:
                _BUILT.put(built, build.result())
            except Exception:  # workbook_bytes builds it again and raises
                continue

    return wait


def workbooks_key(tables: PublishedTables, labels: ExportLabels) -> str:
    """Return the digest of everything the workbooks are built from but their language."""
    return content_sha256(*(getattr(tables, f.name) for f in fields(tables)), labels)


def workbook_bytes(
    tables: PublishedTables, labels: ExportLabels, lang: Lang, key: str | None = None
) -> bytes:
    """Return the report workbook (``.xlsx``) of tables checked by ``check_tables``.

    Byte-identical on reruns over the same tables and labels (a workbook already built in this
    process from equal content is returned as it was built). ``key``, when given, is
    :func:`workbooks_key` of the tables and labels.

    Raises
    ------
    ConfigError
        If a label holds a character Excel refuses.

    """
    built = f"{key or workbooks_key(tables, labels)} {lang}"
    return _BUILT.get(built, lambda: _build(tables, labels, lang))


def _build(tables: PublishedTables, labels: ExportLabels, lang: Lang) -> bytes:
    """Build the report workbook (see :func:`workbook_bytes`)."""
    context = _Context.of(tables, labels, lang)
    sheets = [
        _status_sheet(context),
        *(_benchmark_sheet(context, b) for b in context.benchmarks()),
        _methodology_sheet(context),
        *([_drivers_sheet(context)] if len(tables.drivers) else []),
        *([_small_areas_sheet(context)] if len(tables.small_areas) else []),
    ]
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        _render(workbook.create_sheet(title=sheet.name), sheet, points(lang))
    stamp = generated_at(tables.methodology)
    properties = workbook.properties
    properties.creator = "perception"
    properties.title = labels.survey[lang]
    properties.created = stamp
    properties.modified = stamp
    return _normalised_zip(_save(workbook), stamp)


@dataclass(frozen=True)
class _Context:
    """The tables, labels and language of a workbook, with the facts every sheet shares."""

    tables: PublishedTables
    labels: ExportLabels
    lang: Lang
    waves: Sequence[str]
    wave_labels: Mapping[str, str]
    suppress_below: int
    flag_below: int
    no_margin: frozenset[str]
    """Non-probability waves without a margin of error (methodology ``variance_method: none``)."""

    @classmethod
    def of(cls, tables: PublishedTables, labels: ExportLabels, lang: Lang) -> _Context:
        """Gather the shared facts of checked tables."""
        method = tables.methodology
        present = set(tables.estimates["wave"])
        return cls(
            tables=tables,
            labels=labels,
            lang=lang,
            waves=[w for w in wave_order(method) if w in present],
            wave_labels=dict(zip(method["wave"], method[f"label_{lang}"], strict=True)),
            suppress_below=int(method["suppress_below"].iloc[0]),
            flag_below=int(method["flag_below"].iloc[0]),
            no_margin=frozenset(method.loc[method["variance_method"].eq("none"), "wave"]),
        )

    def text(self, key: str, **values: object) -> str:
        """Return a workbook text in the workbook's language."""
        return say(key, self.lang, **values)

    def benchmarks(self) -> list[str]:
        """Return the benchmarks with indicators, in the catalogue's order."""
        present = set(self.tables.estimates["benchmark"])
        return [b for b in self.labels.benchmarks if b in present]

    def indicator_rank(self, indicator: str) -> int:
        """Return the catalogue position of an indicator, for sorting."""
        return list(self.labels.indicators).index(indicator)

    def notes(self, *keys: str) -> list[str]:
        """Return the footnotes named by ``keys``, then the source line."""
        polls = [self.wave_labels[w] for w in self.waves if w in self.no_margin]
        if polls:
            keys = (*keys, "note_nonprobability")
        values = {
            "suppress": self.suppress_below,
            "flag_last": self.flag_below - 1,
            "waves": ", ".join(polls),
        }
        source = self.text(
            "note_source",
            survey=self.labels.survey[self.lang],
            waves=", ".join(self.wave_labels[w] for w in wave_order(self.tables.methodology)),
            generated=format_moment(generated_at(self.tables.methodology), self.lang),
        )
        return [*(self.text(k, **values) for k in keys), source]


# --------------------------------------------------------------------------- cells


def _mark(row: Mapping[str, object]) -> Mark:
    """Return how disclosure marks a published row."""
    if bool(row["suppressed"]):
        return "suppressed"
    return "flagged" if bool(row["flagged"]) else "plain"


def _missing(value: object) -> bool:
    """Tell whether a value is NA (None, NaN, pd.NA, NaT)."""
    if type(value) is float:  # the common cases first: pd.isna is slow on a scalar
        return value != value
    if type(value) is str or type(value) is int:
        return False
    return value is None or bool(pd.isna(value))  # type: ignore[call-overload]


def _number(value: object, kind: Kind, mark: Mark = "plain") -> _Cell:
    """Return a number cell: ``*`` when suppressed, blank when NA, else formatted by kind."""
    if mark == "suppressed":
        return _Cell(SUPPRESSED)
    if _missing(value):
        return _BLANK
    plain, flagged = _FORMATS[kind]
    number = float(value) * _SCALE.get(kind, 1.0)  # type: ignore[arg-type]
    if abs(number) < _HALF_LAST_DIGIT.get(kind, 0.0):
        number = 0.0
    shown = int(number) if kind == "count" and number.is_integer() else number
    return _Cell(shown, flagged if mark == "flagged" else plain)


def _level_kind(type_: object, unit: object) -> Kind:
    """Return the kind of an indicator's level: percent, percentage points or score."""
    if unit == "percent":
        return "points" if type_ in ("net", "gap") else "percent"
    return "score"


def _change_kind(unit: object) -> Kind:
    """Return the kind of a difference of an indicator: percentage points or score."""
    return "points" if unit == "percent" else "score_change"


def _date(value: object) -> _Cell:
    """Return a date cell (blank when NA)."""
    if _missing(value):
        return _BLANK
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return _Cell(stamp.date(), _DATE_FORMAT)


def _text_cell(value: object) -> _Cell:
    """Return a text cell (blank when NA)."""
    return _BLANK if _missing(value) else _Cell(str(value))


# --------------------------------------------------------------------------- benchmark sheets

_Key = tuple[object, ...]


def _key(row: Mapping[str, object], domains: Sequence[str]) -> _Key:
    """Return the indicator × domain key of a Table 1 or Table 2 row (NA codes as None)."""
    codes = tuple(None if _missing(row[c]) else int(row[c]) for c in domains)  # type: ignore[call-overload]
    return (row["indicator"], row["domain_set"], *codes)


def _records(table: pd.DataFrame) -> list[dict[str, object]]:
    """Return a table's rows as dictionaries keyed by column name."""
    names = [str(c) for c in table.columns]
    columns = [table.iloc[:, i].tolist() for i in range(len(names))]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _by_wave(context: _Context, table: pd.DataFrame) -> list[dict[str, object]]:
    """Return a table's rows by wave, then the catalogue's indicator order, then table order."""
    order = wave_order(context.tables.methodology)
    return sorted(
        _records(table),
        key=lambda r: (order.index(str(r["wave"])), context.indicator_rank(str(r["indicator"]))),
    )


def _benchmark_sheet(context: _Context, benchmark: str) -> _Sheet:
    """Build the sheet of one benchmark: each indicator by domain, baseline to latest wave.

    The waves are the baseline (the first wave, which the status sheet quotes), the previous
    and the latest; the changes are the latest against the previous wave and the baseline.
    """
    shown = list(dict.fromkeys([*context.waves[:1], *context.waves[-2:]]))
    estimates = context.tables.estimates
    rows = estimates[
        (estimates["benchmark"] == benchmark)
        & (estimates["variant"] == "all")
        & estimates["wave"].isin(shown)
    ]
    by_wave: dict[_Key, dict[str, dict[str, object]]] = {}
    for row in _records(rows):
        by_wave.setdefault(_key(row, context.labels.domains), {})[str(row["wave"])] = row
    references = list(dict.fromkeys(shown[-2::-1]))  # previous wave, then the baseline
    changes = [_changes(context, benchmark, reference, shown[-1]) for reference in references]
    ordered = sorted(by_wave, key=lambda k: _sort_key(context, k))
    columns = [
        _Column(context.text("indicator"), 45, wrap=True),
        _Column(context.text("breakdown"), 18),
        _Column(context.text("domain"), 32),
    ]
    for wave in shown:
        label = context.wave_labels[wave]
        columns += [
            _Column(context.text(key, wave=label), 13, wrap=True)
            for key in ("estimate", "ci_low", "ci_high", "n", "dk")
        ]
    for reference in references:
        columns += [
            _Column(context.text("change", wave=context.wave_labels[reference]), 13, wrap=True),
            _Column(context.text("change_ci_low"), 13, wrap=True),
            _Column(context.text("change_ci_high"), 13, wrap=True),
            _Column(context.text("trend"), 16),
        ]
    body = [_benchmark_row(context, key, by_wave[key], shown, changes) for key in ordered]
    term = _term(context, benchmark)
    notes = ["note_suppressed", "note_flagged", "note_dk", "note_missing", "note_units"]
    return _Sheet(
        name=_sheet_name(context, benchmark),
        title=context.labels.benchmarks[benchmark][context.lang],
        subtitle=" ".join(
            filter(
                None,
                [
                    term,
                    context.text(
                        "subtitle",
                        survey=context.labels.survey[context.lang],
                        waves=", ".join(context.wave_labels[w] for w in shown),
                    ),
                ],
            )
        ),
        columns=columns,
        rows=body,
        notes=context.notes(*notes, *(["note_trend"] if references else [])),
        frozen_columns=3,
    )


def _changes(
    context: _Context, benchmark: str, reference: str, wave: str
) -> dict[_Key, dict[str, object]]:
    """Return the change from ``reference`` to ``wave`` of each indicator × domain."""
    trends = context.tables.trends
    rows = trends[
        (trends["benchmark"] == benchmark)
        & (trends["variant"] == "all")
        & (trends["wave"] == wave)
        & (trends["reference_wave"] == reference)
    ]
    return {_key(row, context.labels.domains): row for row in _records(rows)}


def _sort_key(context: _Context, key: _Key) -> tuple[object, ...]:
    """Order rows by indicator, then domain set (fewest columns first, domain order), codes."""
    indicator, domain_set, *codes = key
    domains = context.labels.domains
    columns = set_columns(str(domain_set))
    ranks = [domains.index(c) if c in domains else len(domains) for c in columns]
    return (
        context.indicator_rank(str(indicator)),
        len(columns),
        sorted(ranks),
        str(domain_set),
        *(-1 if c is None else c for c in codes),
    )


def _benchmark_row(
    context: _Context,
    key: _Key,
    waves: Mapping[str, Mapping[str, object]],
    shown: Sequence[str],
    changes: Sequence[Mapping[_Key, Mapping[str, object]]],
) -> list[_Cell]:
    """Return the cells of one indicator × domain row of a benchmark sheet."""
    indicator, domain_set = str(key[0]), str(key[1])
    codes = {c: v for c, v in zip(context.labels.domains, key[2:], strict=True) if v is not None}
    labels, lang = context.labels, context.lang
    cells = [
        _Cell(labels.indicators[indicator][lang]),
        _Cell(labels.domain_set(domain_set, lang)),
        _Cell(labels.domain(domain_set, {c: int(codes[c]) for c in set_columns(domain_set)}, lang)),  # type: ignore[call-overload]
    ]
    for wave in shown:
        no_margin = context.text("no_margin") if wave in context.no_margin else None
        cells += _wave_cells(waves.get(wave), no_margin)
    for change in changes:
        cells += _change_cells(context, change.get(key))
    return cells


def _wave_cells(row: Mapping[str, object] | None, no_margin: str | None = None) -> list[_Cell]:
    """Return estimate, CI, n and don't-know cells of one wave (blank when the row is absent).

    A shown estimate without an interval in a wave of ``no_margin`` text (a non-probability
    poll) has that text where its lower bound would be.
    """
    if row is None:
        return [_BLANK] * 5
    availability = row["availability"]
    if availability in ("not_asked", "no_data"):
        marker = NOT_ASKED if availability == "not_asked" else NO_DATA
        return [_Cell(marker), _BLANK, _BLANK, _number(row["n"], "count"), _BLANK]
    mark = _mark(row)
    kind = _level_kind(row["type"], row["unit"])
    unbounded = no_margin is not None and mark != "suppressed" and _missing(row["ci_low"])
    return [
        _number(row["estimate"], kind, mark),
        _Cell(no_margin)
        if unbounded and not _missing(row["estimate"])
        else _number(row["ci_low"], kind, mark),
        _number(row["ci_high"], kind, mark),
        _number(row["n"], "count"),
        _number(row["dk_share"], "percent", mark),
    ]


def _change_cells(context: _Context, row: Mapping[str, object] | None) -> list[_Cell]:
    """Return change, CI and trend cells (blank when there is no change row)."""
    if row is None:
        return [_BLANK] * 4
    mark = _mark(row)
    kind = _change_kind(row["unit"])
    direction = row["direction"]
    trend = (
        _Cell(SUPPRESSED)
        if mark == "suppressed"
        else _BLANK
        if _missing(direction)
        else _Cell(capital(context.text(str(direction))))
    )
    return [
        _number(row["estimate"], kind, mark),
        _number(row["ci_low"], kind, mark),
        _number(row["ci_high"], kind, mark),
        trend,
    ]


def _term(context: _Context, benchmark: str) -> str:
    """Return "Medium-term benchmark." from the status table (empty when it is not there)."""
    status = context.tables.status
    terms = status.loc[status["benchmark"] == benchmark, "benchmark_term"].dropna().unique()
    if len(terms) != 1 or terms[0] not in ("short", "medium", "long"):
        return ""
    return context.text(f"term_{terms[0]}")


def _sheet_name(context: _Context, benchmark: str) -> str:
    """Return a benchmark's sheet name for people: ``Benchmark 1 – <title>``, cut to 31 chars.

    The number is the benchmark's place in the catalogue, so names are unique; characters
    Excel refuses in a sheet name (brackets, colon, star, question mark, slashes) are left
    out, and a cut title keeps whole words and ends in ``…``.
    """
    number = list(context.labels.benchmarks).index(benchmark) + 1
    title = _NOT_IN_SHEET_NAMES.sub("", context.labels.benchmarks[benchmark][context.lang])
    prefix = f"{say('benchmark', context.lang)} {number} – "
    name = prefix + " ".join(title.split())
    if len(name) <= _SHEET_NAME_LENGTH:
        return name
    cut = name[len(prefix) : _SHEET_NAME_LENGTH - 1]
    if name[_SHEET_NAME_LENGTH - 1] != " ":
        cut = cut.rsplit(" ", 1)[0]  # whole words, unless the first one is too long
    return prefix + cut.rstrip(" ,;.–-") + "…"


# --------------------------------------------------------------------------- status sheet


def _status_sheet(context: _Context) -> _Sheet:
    """Build the status sheet: one row per indicator, with estimate, changes, target, status."""
    status = context.tables.status
    benchmarks = list(context.labels.benchmarks)
    records = sorted(
        _records(status),
        key=lambda r: (
            benchmarks.index(str(r["benchmark"])),
            context.indicator_rank(str(r["indicator"])),
        ),
    )
    marks = _national_marks(context)
    columns = [
        _Column(context.text("benchmark"), 40, wrap=True),
        _Column(context.text("benchmark_term"), 9),
        _Column(context.text("indicator"), 45, wrap=True),
        _Column(context.text("latest_wave"), 16, wrap=True),
        _Column(context.text("status_estimate"), 11, wrap=True),
        _Column(context.text("status_ci_low"), 11, wrap=True),
        _Column(context.text("status_ci_high"), 11, wrap=True),
        _Column(context.text("change_previous_column"), 13, wrap=True),
        _Column(context.text("status_ci_low"), 11, wrap=True),
        _Column(context.text("status_ci_high"), 11, wrap=True),
        _Column(context.text("p_value"), 9),
        _Column(context.text("change_baseline_column"), 13, wrap=True),
        _Column(context.text("status_ci_low"), 11, wrap=True),
        _Column(context.text("status_ci_high"), 11, wrap=True),
        _Column(context.text("p_value"), 9),
        _Column(context.text("target"), 10),
        _Column(context.text("target_date"), 12, wrap=True),
        _Column(context.text("status"), 16),
        _Column(context.text("reason"), 60, wrap=True),
    ]
    return _Sheet(
        name=context.text("status"),
        title=context.text("status_title"),
        subtitle=context.text("status_subtitle", survey=context.labels.survey[context.lang]),
        columns=columns,
        rows=[_status_row(context, row, marks) for row in records],
        notes=context.notes(
            "note_suppressed", "note_flagged", "note_dk", "note_units", "note_trend"
        ),
        frozen_columns=3,
    )


def _national_marks(context: _Context) -> dict[tuple[str, str, str], Mark]:
    """Return the disclosure mark of each national cell the status table repeats."""
    cells = national_disclosure(context.tables.estimates, context.tables.trends)
    return {
        key: "suppressed" if suppressed else "flagged" if flagged else "plain"
        for key, (suppressed, flagged) in cells.items()
    }


def _status_row(
    context: _Context, row: Mapping[str, object], marks: Mapping[tuple[str, str, str], Mark]
) -> list[_Cell]:
    """Return the cells of one indicator's status, marked as Tables 1-2 mark its cells."""
    indicator, wave = str(row["indicator"]), str(row["latest_wave"])
    level, change = _level_kind(row["type"], row["unit"]), _change_kind(row["unit"])
    term = row["benchmark_term"]
    cells = [
        _Cell(context.labels.benchmarks[str(row["benchmark"])][context.lang]),
        _BLANK if _missing(term) else _Cell(context.text(str(term))),
        _Cell(context.labels.indicators[indicator][context.lang]),
        _text_cell(context.wave_labels.get(wave)),
    ]
    for part, columns in STATUS_PARTS.items():
        mark = marks.get((indicator, wave, part), "plain")
        kinds: list[Kind] = [level if part == "estimate" else change] * 3
        cells += [_number(row[c], k, mark) for c, k in zip(columns, kinds, strict=False)]
        if part != "estimate":
            cells.append(_number(row[columns[3]], "p_value", mark))
    status = row["status"]
    cells += [
        _number(row["target"], level),
        _date(row["target_date"]),
        _BLANK if _missing(status) else _Cell(status_label(str(status), context.lang)),
        _text_cell(row[f"reason_{context.lang}"]),
    ]
    return cells


# --------------------------------------------------------------------------- methodology sheet


def _methodology_sheet(context: _Context) -> _Sheet:
    """Build the methodology sheet: one row per wave, then the disclosure rules."""
    columns = [
        _Column(context.text("wave"), 8),
        _Column(context.text("wave_label"), 24, wrap=True),
        _Column(context.text("fieldwork_start"), 12, wrap=True),
        _Column(context.text("fieldwork_end"), 12, wrap=True),
        _Column(context.text("data_provider"), 34, wrap=True),
        _Column(context.text("interview_mode"), 18, wrap=True),
        _Column(context.text("source_file"), 24, wrap=True),
        _Column(context.text("n_respondents_column"), 12, wrap=True),
        _Column(context.text("deff_kish"), 11, wrap=True),
        _Column(context.text("n_eff"), 12, wrap=True),
        _Column(context.text("moe_95"), 12, wrap=True),
        _Column(context.text("weighting"), 80, wrap=True),
        _Column(context.text("design"), 60, wrap=True),
    ]
    rows = [
        [
            _Cell(str(row["wave"])),
            _text_cell(row[f"label_{context.lang}"]),
            _date(row["fieldwork_start"]),
            _date(row["fieldwork_end"]),
            _text_cell(row[f"provider_{context.lang}"]),
            _BLANK
            if _missing(row["interview_mode"])
            else _Cell(context.text(f"mode.{row['interview_mode']}")),
            _text_cell(row["source_file"]),
            _number(row["n_respondents"], "count"),
            _number(row["deff_kish"], "ratio"),
            _number(row["n_eff"], "count"),
            _Cell(context.text("no_margin"))
            if row["wave"] in context.no_margin
            else _number(row["moe_95"], "margin"),
            _text_cell(row[f"weighting_{context.lang}"]),
            _text_cell(row[f"design_{context.lang}"]),
        ]
        for row in _records(context.tables.methodology)
    ]
    return _Sheet(
        name=context.text("methodology"),
        title=context.text("methodology_title"),
        subtitle=context.labels.survey[context.lang],
        columns=columns,
        rows=rows,
        notes=context.notes("note_suppressed", "note_flagged", "note_dk", "note_moe"),
        frozen_columns=1,
    )


# --------------------------------------------------------------------------- drivers sheet


def _drivers_sheet(context: _Context) -> _Sheet:
    """Build the drivers sheet: marginal effects of each indicator's drivers, by wave."""
    lang = context.lang
    records = _by_wave(context, context.tables.drivers)
    columns = [
        _Column(context.text("indicator"), 40, wrap=True),
        _Column(context.text("wave"), 16, wrap=True),
        _Column(context.text("driver"), 22, wrap=True),
        _Column(context.text("driver_level"), 24, wrap=True),
        _Column(context.text("driver_reference"), 20, wrap=True),
        _Column(context.text("driver_effect"), 13, wrap=True),
        _Column(context.text("status_ci_low"), 11, wrap=True),
        _Column(context.text("status_ci_high"), 11, wrap=True),
        _Column(context.text("p_value"), 9),
        _Column(context.text("driver_p_value"), 11, wrap=True),
        _Column(context.text("driver_n_level"), 11, wrap=True),
        _Column(context.text("driver_n_reference"), 11, wrap=True),
        _Column(context.text("driver_n"), 11, wrap=True),
        _Column(context.text("driver_note"), 50, wrap=True),
    ]
    rows = [_drivers_row(context, row) for row in records]
    return _Sheet(
        name=context.text("drivers_sheet"),
        title=context.text("drivers_sheet_title"),
        subtitle=context.text("drivers_subtitle", survey=context.labels.survey[lang]),
        columns=columns,
        rows=rows,
        notes=context.notes(
            "note_drivers", "note_drivers_small", "note_flagged", "note_drivers_dk"
        ),
        frozen_columns=4,
    )


def _drivers_row(context: _Context, row: Mapping[str, object]) -> list[_Cell]:
    """Return the cells of one effect of the drivers sheet, marked as disclosure marks it."""
    lang = context.lang
    mark = _mark(row)
    kind: Kind = "pp" if row["unit"] == "percentage points" else "score_change"
    return [
        _Cell(context.labels.indicators[str(row["indicator"])][lang]),
        _text_cell(context.wave_labels.get(str(row["wave"]))),
        _text_cell(row[f"driver_label_{lang}"]),
        _text_cell(row[f"level_label_{lang}"]),
        _text_cell(row[f"reference_label_{lang}"]),
        _number(row["estimate"], kind, mark),
        _number(row["ci_low"], kind, mark),
        _number(row["ci_high"], kind, mark),
        _number(row["p_value"], "p_value", mark),
        _number(row["driver_p_value"], "p_value", mark),
        _number(row["n_level"], "count"),
        _number(row["n_reference"], "count"),
        _number(row["n"], "count"),
        _text_cell(row[f"note_{lang}"] or None),
    ]


# --------------------------------------------------------------------------- small areas


def _small_areas_sheet(context: _Context) -> _Sheet:
    """Build the small-area sheet: each indicator's model-based estimates by area and wave."""
    lang = context.lang
    table = context.tables.small_areas
    rows = _by_wave(context, table[table["variant"] == "all"])
    columns = [
        _Column(context.text("indicator"), 40, wrap=True),
        _Column(context.text("wave"), 16, wrap=True),
        _Column(context.text("area"), 22, wrap=True),
        _Column(context.text("area_basis"), 22, wrap=True),
        _Column(context.text("area_model_estimate"), 13, wrap=True),
        _Column(context.text("status_ci_low"), 11, wrap=True),
        _Column(context.text("status_ci_high"), 11, wrap=True),
        _Column(context.text("area_cv"), 8),
        _Column(context.text("area_direct"), 13, wrap=True),
        _Column(context.text("n_respondents_column"), 12, wrap=True),
        _Column(context.text("area_method"), 24, wrap=True),
    ]
    return _Sheet(
        name=context.text("small_areas_sheet"),
        title=context.text("small_areas_title"),
        subtitle=context.text("small_areas_subtitle", survey=context.labels.survey[lang]),
        columns=columns,
        rows=[_small_area_row(context, row) for row in rows],
        notes=context.notes("note_small_areas"),
        frozen_columns=3,
    )


def _small_area_row(context: _Context, row: Mapping[str, object]) -> list[_Cell]:
    """Return the cells of one area's model-based estimate."""
    lang = context.lang
    level = str(row["domain_set"])
    kind = _level_kind(row["type"], row["unit"])
    return [
        _Cell(context.labels.indicators[str(row["indicator"])][lang]),
        _text_cell(context.wave_labels.get(str(row["wave"]))),
        _Cell(context.labels.domain(level, {level: int(row["area"])}, lang)),  # type: ignore[call-overload]
        _Cell(context.text(f"area_kind.{row['kind']}")),
        _number(row["estimate"], kind),
        _number(row["ci_low"], kind),
        _number(row["ci_high"], kind),
        _number(row["cv"], "ratio"),
        _number(row["direct"], kind),
        _number(row["n"], "count"),
        _text_cell(row["method"]),
    ]


# --------------------------------------------------------------------------- rendering


def _render(sheet: Worksheet, content: _Sheet, pts: str) -> None:
    """Write a sheet: title, subtitle, header, rows, footnotes, frozen panes, widths, filter.

    ``pts`` is the unit of percentage points in the workbook's language (:data:`PTS`).
    """
    _put(sheet, 1, 1, _Cell(content.title)).font = Font(bold=True, size=12)
    _put(sheet, 2, 1, _Cell(content.subtitle)).font = Font(italic=True)
    for index, column in enumerate(content.columns, start=1):
        cell = _put(sheet, _HEADER_ROW, index, _Cell(column.header))
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = _WRAP_TOP
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    styles: dict[tuple[str, bool, int], StyleArray] = {}
    for offset, row in enumerate(content.rows, start=1):
        for index, (value, column) in enumerate(zip(row, content.columns, strict=True), start=1):
            aligned = (
                _RIGHT
                if value.value in (SUPPRESSED, NOT_ASKED, NO_DATA)
                else _WRAP_TOP
                if column.wrap
                else None
            )
            _put(sheet, _HEADER_ROW + offset, index, value, pts, aligned, styles)
    last = _HEADER_ROW + len(content.rows)
    for offset, note in enumerate(content.notes, start=2):
        _put(sheet, last + offset, 1, _Cell(note)).font = Font(italic=True, size=9)
    sheet.freeze_panes = sheet.cell(row=_HEADER_ROW + 1, column=content.frozen_columns + 1)
    sheet.auto_filter.ref = f"A{_HEADER_ROW}:{get_column_letter(len(content.columns))}{last}"
    _fit_rows(sheet, content)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{_HEADER_ROW}:{_HEADER_ROW}"


def _fit_rows(sheet: Worksheet, content: _Sheet) -> None:
    """Give the header and each table row the height its wrapped text needs.

    Excel does not grow a row for wrapped text written by a program; the line count is
    estimated from the text's length and the column's width (about one character a unit).
    """
    rows = [[_Cell(c.header) for c in content.columns], *content.rows]
    for offset, row in enumerate(rows):
        lines = max(
            (
                math.ceil(len(str(cell.value)) / max(column.width - 1, 1.0))
                for cell, column in zip(row, content.columns, strict=True)
                if (column.wrap or offset == 0) and isinstance(cell.value, str)
            ),
            default=1,
        )
        if lines > 1:
            sheet.row_dimensions[_HEADER_ROW + offset].height = _LINE_HEIGHT * lines


def _put(
    sheet: Worksheet,
    row: int,
    column: int,
    cell: _Cell,
    pts: str = "",
    alignment: Alignment | None = None,
    styles: dict[tuple[str, bool, int], StyleArray] | None = None,
) -> Cell:
    """Write a cell; text is always text (never a formula), and refused text is a ConfigError.

    ``pts`` replaces :data:`PTS` in the cell's number format. ``styles`` keeps the style of
    each (number format, quote prefix, alignment) of one sheet as first set: openpyxl hashes
    every style object it is given against the workbook's lists, so a cell whose style was
    already seen gets a copy of its indices instead (the same file).
    """
    try:
        target = sheet.cell(row=row, column=column, value=cell.value)
    except IllegalCharacterError:
        raise ConfigError(
            "A text cannot be written to the Excel workbook",
            expected="text without control characters",
            found=repr(cell.value),
            hint="remove control characters from the labels in config/ (indicators.yaml, "
            "variables.yaml, survey.yaml)",
        ) from None
    # Excel's own mark for text typed with a leading apostrophe: the cell stays text even when
    # a reader edits it, so a label such as "=HYPERLINK(...)" never becomes a formula.
    quoted = isinstance(cell.value, str) and cell.value.startswith(FORMULA_PREFIXES)
    if isinstance(cell.value, str):
        target.data_type = "s"
    number_format = cell.number_format.replace(PTS, pts) if pts else cell.number_format
    key = (number_format, quoted, id(alignment))
    if styles is not None and key in styles:
        target._style = copy.copy(styles[key])
        return target
    target.quotePrefix = quoted
    target.number_format = number_format
    if alignment is not None:
        target.alignment = alignment
    if styles is not None:
        styles[key] = copy.copy(target._style)
    return target


def _save(workbook: Workbook) -> bytes:
    """Return the workbook's bytes, keeping the created and modified times it holds.

    ``Workbook.save`` stamps the modified time with the clock; the writer it wraps does not.
    """
    buffer = io.BytesIO()
    with ZipFile(buffer, "w", ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    return buffer.getvalue()


def _normalised_zip(raw: bytes, stamp: dt.datetime) -> bytes:
    """Return the same zip with every entry dated ``stamp``, so reruns give identical bytes."""
    moment = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    output = io.BytesIO()
    with ZipFile(io.BytesIO(raw)) as source, ZipFile(output, "w", ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = ZipInfo(info.filename, date_time=moment)
            entry.compress_type = ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return output.getvalue()
