"""Read a survey's published outputs back from disk and audit every number they show.

:func:`perception.disclosure.audit_published` proves, from the tables it is given, that no
small cell shows a value and that no hidden cell is recoverable by any linear combination of
the published numbers. This module gives it the tables a reader actually gets, and proves that
every other output shows nothing beyond them:

1. The audited tables are the tables of ``exports/latest/indicators.duckdb`` (Tables 1-3,
   the methodology and the drivers), read from disk. They go through the joint audit, the
   status table included; a suppressed drivers row must show no value.
2. Every tidy copy of a table (``indicators.csv`` and ``indicators.parquet``, Table 1;
   ``drivers.csv`` and ``drivers.parquet``; the pipeline's ``published/*.parquet`` when given)
   is compared with its audited table, cell by cell: a value where the audited table has NA is
   a hidden cell shown; any other difference is a number that is not in the audited tables.
3. The workbooks (``indicators.xlsx`` and ``indicators_fr.xlsx``, every sheet) and the
   dashboard (the JSON embedded in its HTML, then the rest of the page) are presentations: each
   is rebuilt from the audited tables by the writer that made it, and compared with the file,
   cell by cell and number by number. Whatever a presentation shows that equals its rebuild is
   a function of the audited tables alone, so it discloses nothing they do not; whatever
   differs is reported with its sheet and
   cell, or its figure and position.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import re
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any, TypeAlias

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.utils import get_column_letter

from perception import storage
from perception.config import DisclosureRules, IndicatorCatalogue, Project
from perception.dashboard import build_dashboard, page_inputs
from perception.disclosure import GapSides, audit_published
from perception.errors import PerceptionError, ValidationError, require_columns, show_rows
from perception.exports import ExportLabels, PublishedTables, check_tables
from perception.exports.analysts import analysts_tables, benchmark_views, published_table
from perception.exports.labels import Lang
from perception.exports.workbook import (
    FORMULA_PREFIXES,
    SUPPRESSED,
    workbook_bytes,
    workbooks_key,
)
from perception.exports.writer import (
    CSV,
    DRIVERS_CSV,
    DRIVERS_PARQUET,
    DUCKDB,
    PARQUET,
    SMALL_AREAS_CSV,
    SMALL_AREAS_PARQUET,
    WORKBOOKS,
)
from perception.small_area import audit_small_areas
from perception.tables import (
    DRIVERS,
    ESTIMATES,
    METHODOLOGY,
    SMALL_AREAS,
    STATUS,
    TABLES,
    TRENDS,
)
from perception.words import LANGS

__all__ = ["Finding", "audit_outputs", "find_disclosures", "read_published"]

READBACK_RTOL = 1e-12
"""Relative tolerance of a number read back: the exports' percent scale (× 100) and its
inverse may move a value by an ulp or two; anything else that differs is a finding."""
#: The pipeline's ``published/`` Parquet file of each table.
PUBLISHED_FILES = {
    ESTIMATES: "estimates.parquet",
    TRENDS: "trends.parquet",
    STATUS: "status.parquet",
    METHODOLOGY: "methodology.parquet",
    DRIVERS: "drivers.parquet",
    SMALL_AREAS: "small_areas.parquet",
}
_BLOB = re.compile(r'<script type="application/json" id="dashboard-data">(.*?)</script>', re.DOTALL)
_LANG = re.compile(r'\{"lang":"(\w+)"')
_STAMP = re.compile(r'<meta name="generated" content="([^"]+)">')


@dataclass(frozen=True)
class Finding:
    """One thing an output shows that the audited tables do not allow."""

    file: Path
    table: str
    column: str
    rows: tuple[int, ...]
    problem: str

    def __str__(self) -> str:
        """Render as ``file [table] column, rows …: problem``."""
        rows = f", rows {show_rows(list(self.rows))}" if self.rows else ""
        return f"{self.file} [{self.table}] {self.column}{rows}: {self.problem}"


def read_published(exports: str | Path, domains: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Load the published tables from ``indicators.duckdb`` in ``exports``.

    Columns keep the dtypes the pipeline writes (text as ``str``, domain and count columns as
    ``Int64``, ``DATE`` columns as :class:`datetime.date`), so the writers accept them back.

    Raises
    ------
    ValidationError
        When the file is missing, lacks a table or a column of its contract, or holds another
        table.

    """
    path = Path(exports) / DUCKDB
    if not path.is_file():
        raise ValidationError(
            "The exports have no DuckDB file to audit",
            expected=f"{DUCKDB} in the exports folder",
            found="no such file",
            hint="run the exports first (reporting_job)",
            file=path,
        )
    key = storage.content_sha256(storage.file_sha256(path), list(domains))
    tables = _READ.get(key, lambda: _read_published(path, domains))
    return {name: table.copy() for name, table in tables.items()}


#: The tables of DuckDB files read in this process, by the digest of the file's bytes.
_READ: storage.Recent[dict[str, pd.DataFrame]] = storage.Recent(2)


def _read_published(path: Path, domains: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Load the published tables from a DuckDB file (see :func:`read_published`)."""
    tables: dict[str, pd.DataFrame] = {}
    with duckdb.connect(str(path), read_only=True) as connection:
        present = {
            str(r[0])
            for r in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
        for name in TABLES:
            if name not in present:
                raise ValidationError(
                    f"The DuckDB export lacks the table {name}",
                    expected=", ".join(TABLES),
                    found=", ".join(sorted(present)) or "no table",
                    hint="rerun the exports; never edit the published files by hand",
                    file=path,
                )
            tables[name] = _frame(connection, f'SELECT * FROM "{name}"')
        extra = sorted(present - set(TABLES))
        if extra:
            raise ValidationError(
                "The DuckDB export holds tables beyond the published ones",
                expected=", ".join(TABLES),
                found="also " + ", ".join(extra),
                hint="only the published tables may be exported; rerun the exports",
                file=path,
            )
        _check_views(connection, tables[ESTIMATES], domains, path)
    for name, schema in TABLES.items():
        table = tables[name]
        contract = schema.export_columns(domains if schema.domains else ())
        require_columns(
            table.columns,
            contract,
            f"The DuckDB table {name}",
            hint="rerun the exports; never edit the published files by hand",
            file=path,
        )
        for column, sql in contract.items():
            if sql == "DATE":
                table[column] = pd.Series(
                    [None if pd.isna(v) else pd.Timestamp(v).date() for v in table[column]],
                    index=table.index,
                    dtype=object,
                )
        tables[name] = published_table(table, name, domains)
    return tables


#: The Arrow types of the contract's SQL types, as DuckDB gives them.
_ARROW_TYPES = {pa.string(), pa.float64(), pa.int64(), pa.bool_(), pa.date32()}


def _frame(connection: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    """Return a query's rows as ``.df()`` gives them, read through Arrow when it can (faster)."""
    rows = connection.sql(query).to_arrow_table()
    if not rows.num_rows or not set(rows.schema.types) <= _ARROW_TYPES:
        return connection.execute(query).df()
    frame: pd.DataFrame = (
        rows.to_pandas()
    )  # then the dtypes .df() gives where NULLs or dates decide them
    for name, values in zip(rows.column_names, rows.columns, strict=True):
        kind = values.type
        if kind == pa.date32():
            frame[name] = values.cast(pa.timestamp("us")).to_numpy()
        elif values.null_count == len(values) and kind == pa.string():
            frame[name] = np.full(len(values), None, dtype=object)
        elif values.null_count and kind in (pa.int64(), pa.bool_()):
            data = values.fill_null(0 if kind == pa.int64() else False).to_numpy()
            masked = pd.arrays.IntegerArray if kind == pa.int64() else pd.arrays.BooleanArray
            frame[name] = masked(data, values.is_null().to_numpy())
    return frame


def _check_views(
    connection: duckdb.DuckDBPyConnection,
    estimates: pd.DataFrame,
    domains: Sequence[str],
    path: Path,
) -> None:
    """Refuse views other than the benchmarks' readable views, or one that shows other rows."""
    views = {
        str(r[0])
        for r in connection.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    }
    wanted = benchmark_views(estimates, domains, sorted(set(estimates["benchmark"].unique())))
    if views != set(wanted):
        raise ValidationError(
            "The DuckDB export holds other views than one per benchmark",
            expected=", ".join(sorted(wanted)) or "no view",
            found=", ".join(sorted(views)) or "no view",
            hint="only the benchmarks' readable views may be exported; rerun the exports",
            file=path,
        )
    for view, select in wanted.items():
        found, expected = (f'SELECT * FROM "{view}"', select)
        if connection.sql(found).to_arrow_table().equals(connection.sql(expected).to_arrow_table()):
            continue  # the same rows, so the same frames; else the frames decide (NaN = NaN)
        if not _frame(connection, found).equals(_frame(connection, expected)):
            raise ValidationError(
                f"The DuckDB view {view} does not show its benchmark's published rows",
                expected=select,
                found="other rows or columns",
                hint="rerun the exports; never edit the published files by hand",
                file=path,
            )


def audit_outputs(
    project: Project,
    indicators: IndicatorCatalogue,
    rules: DisclosureRules,
    *,
    exports: str | Path,
    published: str | Path | None = None,
    dashboard: str | Path | None = None,
) -> dict[str, pd.DataFrame]:
    """Audit a survey's published outputs as read back from disk; return the audited tables.

    ``exports`` is the folder of one run's export files (``exports/latest``), ``published``
    the pipeline's ``published/`` folder and ``dashboard`` the dashboard's HTML file (both
    optional). The dashboard is rebuilt with :func:`~perception.dashboard.page_inputs`, as the
    pipeline builds it. See the module docstring for what is checked.

    Raises
    ------
    ValidationError
        Naming the file, the table (or sheet, or figure), the column (or cell) and the rows of
        each problem: a suppressed cell that shows a value in any output, an output number that
        is not in the audited tables, a hidden cell that the published numbers recover, or a
        published file that is missing or unreadable.

    """
    tables = read_published(exports, project.catalogue.domain_columns)
    findings = find_disclosures(
        tables,
        rules,
        gaps=indicators.gap_sides(),
        exports=Path(exports),
        dashboard=None if dashboard is None else Path(dashboard),
        published=None if published is None else Path(published),
        labels=ExportLabels.from_config(
            project.survey,
            project.catalogue,
            indicators={i.id: i.label.model_dump() for i in indicators.indicators},
            benchmarks={k: b.label.model_dump() for k, b in indicators.benchmarks.items()},
        ),
        dashboard_inputs=page_inputs(project.survey, project.catalogue, indicators),
    )
    if findings:
        first = findings[0]
        raise ValidationError(
            f"The published outputs disclose what disclosure control hides "
            f"({len(findings)} problem(s))",
            expected="every output shows only the numbers of the audited tables, and no hidden "
            "cell is recoverable from them",
            found="\n            ".join(str(f) for f in findings[:10]),
            hint="do not hand the outputs out; rerun reporting_job so every output is written "
            "from the disclosure-controlled tables, and report a problem that persists",
            file=first.file,
            column=f"{first.table}: {first.column}",
            rows=list(first.rows),
        )
    return tables


def find_disclosures(
    tables: Mapping[str, pd.DataFrame],
    rules: DisclosureRules,
    *,
    gaps: Mapping[str, GapSides],
    exports: Path,
    labels: ExportLabels,
    dashboard: Path | None = None,
    dashboard_inputs: Mapping[str, Any] | None = None,
    published: Path | None = None,
) -> list[Finding]:
    """Return every problem of the outputs against the audited ``tables`` (empty: clean).

    ``tables`` are the audited tables (:func:`read_published`); the other arguments as for
    :func:`audit_outputs`, ``dashboard_inputs`` being the keyword arguments
    :func:`~perception.dashboard.build_dashboard` needs beside the tables. The presentations
    (workbooks, dashboard) are rebuilt from the ``published`` tables they were built from when
    those equal the audited tables (compared first), else from the audited tables.
    """
    copies: list[Finding] = []
    source = dict(tables)
    if published is not None:
        found: dict[str, pd.DataFrame] = {}
        for name, stem in PUBLISHED_FILES.items():
            read = _read_copy(published / stem, name)
            if isinstance(read, Finding):
                copies.append(read)
            else:
                found[name] = read
                copies += _compare_copy(published / stem, name, tables[name], read)
        if not copies:  # the presentations' input, equal to the audited tables
            source = found
    findings = _audit_exports(tables, rules, gaps, exports, labels, source) + copies
    if dashboard is not None:
        findings += _compare_dashboard(dashboard, source, dashboard_inputs or {})
    return findings


# --------------------------------------------------------------------------- export files

#: Keys of checks found clean in this process: export folders (see :func:`_audit_exports`)
#: and joint audits of the audited tables.
_CLEAN: storage.Recent[None] = storage.Recent(16)


def _audit_exports(
    tables: Mapping[str, pd.DataFrame],
    rules: DisclosureRules,
    gaps: Mapping[str, GapSides],
    exports: Path,
    labels: ExportLabels,
    source: Mapping[str, pd.DataFrame],
) -> list[Finding]:
    """Audit the export files: the joint audit, the tidy copies and the workbooks.

    The workbooks are rebuilt from ``source``: the audited tables, or the pipeline's copies of
    them that :func:`find_disclosures` found equal to them.

    A folder whose files are byte-equal to those of a folder found clean in this process, with
    the same audited tables, rules, gaps and labels, is clean: the audit reads nothing else
    (the pipeline audits the exports before publishing them, then ``latest/`` with the
    dashboard). So are audited tables whose joint audit, under the same rules and gaps, found
    nothing in this process.
    """
    audited = storage.content_sha256(*(p for name in sorted(tables) for p in (name, tables[name])))
    joint = storage.content_sha256("joint", audited, rules.model_dump_json(), sorted(gaps.items()))
    key = _exports_key(audited, joint, exports, labels)
    if key is not None and key in _CLEAN:
        _CLEAN.put(key, None)
        return []
    findings = [] if joint in _CLEAN else _joint_audit(tables, rules, gaps, exports / DUCKDB)
    if not findings:
        _CLEAN.put(joint, None)
    try:
        exported = analysts_tables(_checked(tables, labels), labels)
    except PerceptionError as error:
        exported = {}
        findings.append(
            Finding(exports / DUCKDB, "tables", "-", (), f"cannot be rebuilt: {error.message}")
        )
    for path, name in (
        (exports / PARQUET, ESTIMATES),
        (exports / CSV, ESTIMATES),
        (exports / DRIVERS_PARQUET, DRIVERS),
        (exports / DRIVERS_CSV, DRIVERS),
        (exports / SMALL_AREAS_PARQUET, SMALL_AREAS),
        (exports / SMALL_AREAS_CSV, SMALL_AREAS),
    ):
        if name in exported:
            findings += _compare_copy(path, name, exported[name])
    try:
        shown: PublishedTables | str = _checked(source, labels)
    except PerceptionError as error:
        shown = error.message
    built = workbooks_key(shown, labels) if not isinstance(shown, str) else ""
    for lang, workbook in WORKBOOKS.items():
        findings += _compare_workbook(exports / workbook, shown, labels, lang, built)
    if key is not None and not findings:
        _CLEAN.put(key, None)
    return findings


def _exports_key(audited: str, joint: str, exports: Path, labels: ExportLabels) -> str | None:
    """Return the SHA-256 of everything the export audit reads, or None if a file is missing.

    ``audited`` is the digest of the audited tables, ``joint`` that of their joint audit.
    """
    files = []
    names = (DUCKDB, PARQUET, CSV, DRIVERS_PARQUET, DRIVERS_CSV, SMALL_AREAS_PARQUET)
    for name in (*names, SMALL_AREAS_CSV, *WORKBOOKS.values()):
        path = exports / name
        if not path.is_file():
            return None
        files.append((name, storage.file_sha256(path)))
    return storage.content_sha256(files, audited, joint, labels)


# --------------------------------------------------------------------------- audited tables


def _joint_audit(
    tables: Mapping[str, pd.DataFrame],
    rules: DisclosureRules,
    gaps: Mapping[str, GapSides],
    path: Path,
) -> list[Finding]:
    """Run the joint disclosure audit on the audited tables, one finding per problem."""
    problems = audit_published(
        tables[ESTIMATES], tables[TRENDS], rules, gaps=gaps, status=tables[STATUS]
    )
    return [
        Finding(
            path,
            STATUS if problem.startswith("status") else f"{ESTIMATES} + {TRENDS}",
            _column_of(problem),
            _rows_of(problem),
            problem,
        )
        for problem in problems
    ] + [
        Finding(path, SMALL_AREAS, "kind, direct", (), problem)
        for problem in audit_small_areas(tables[SMALL_AREAS], tables[ESTIMATES])
    ]


def _rows_of(problem: str) -> tuple[int, ...]:
    """Return the row numbers an audit line starts with (``rows 1, 2: …``, ``row 5 (…)``)."""
    match = re.match(r"(?:status )?rows? ([\d, ]+)", problem)
    if match is None:
        return ()
    return tuple(int(r) for r in match.group(1).replace(" ", "").split(",") if r)


def _column_of(problem: str) -> str:
    """Return the column an audit line is about."""
    for column in ("dk_share", "change_previous", "change_baseline"):
        if column in problem:
            return column
    if "recoverable" in problem:
        return "estimate, n_weighted (joint solve)"
    return "estimate" if "gap" in problem or "change" in problem else "value columns"


# --------------------------------------------------------------------------- tidy copies


#: The tidy copies read in this process, by the digest of the file's bytes and its kind.
_COPIES: storage.Recent[pd.DataFrame] = storage.Recent(12)


def _read_copy(path: Path, name: str) -> pd.DataFrame | Finding:
    """Read a tidy copy of a table (CSV or Parquet), or say why it cannot be read."""

    def read() -> pd.DataFrame:
        if path.suffix == ".csv":
            return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
        return pd.read_parquet(path)

    try:
        try:
            key = storage.content_sha256(storage.file_sha256(path), path.suffix)
        except OSError:  # read() says why
            return read()
        return _COPIES.get(key, read).copy()
    except (OSError, ValueError) as error:
        return Finding(path, name, "-", (), f"cannot be read back ({error})")


def _compare_copy(
    path: Path, name: str, audited: pd.DataFrame, found: pd.DataFrame | None = None
) -> list[Finding]:
    """Compare a tidy copy of a table (``found``, else read from ``path``) with its audited one."""
    if found is None:
        read = _read_copy(path, name)
        if isinstance(read, Finding):
            return [read]
        found = read
    extra = [c for c in found.columns if c not in audited.columns]
    missing = [c for c in audited.columns if c not in found.columns]
    findings = [
        Finding(path, name, column, (), what)
        for columns, what in (
            (extra, "column not in the audited tables"),
            (missing, "column of the audited table missing"),
        )
        for column in columns
    ]
    if len(found) != len(audited):
        return [
            *findings,
            Finding(
                path, name, "-", (), f"{len(found)} rows; the audited table has {len(audited)}"
            ),
        ]
    suppressed = _flags(audited, "suppressed")
    for column in audited.columns:
        if column not in found.columns:
            continue
        shown, differs = _differences(found[column], audited[column], csv=path.suffix == ".csv")
        for mask, what in (
            (shown & suppressed, "a suppressed cell shows a value"),
            (shown & ~suppressed, "shows a value the audited table hides"),
            (differs, "differs from the audited table (a number not in the audited tables)"),
        ):
            if mask.any():
                rows = tuple(np.flatnonzero(mask).tolist())
                findings.append(Finding(path, name, column, rows, what))
    return findings


def _flags(table: pd.DataFrame, column: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Return a boolean column as an array (False where absent or NA)."""
    if column not in table.columns:
        return np.zeros(len(table), dtype=bool)
    return np.asarray(table[column].fillna(False).to_numpy(dtype=bool), dtype=np.bool_)


def _differences(
    found: pd.Series, audited: pd.Series, *, csv: bool
) -> tuple[np.ndarray[Any, np.dtype[np.bool_]], np.ndarray[Any, np.dtype[np.bool_]]]:
    """Return where ``found`` shows a value the audited column hides, and where they differ."""
    if _same(found, audited, csv=csv):
        return np.zeros(len(found), dtype=bool), np.zeros(len(found), dtype=bool)
    missing = audited.isna().to_numpy(dtype=bool)
    present = found.notna().to_numpy(dtype=bool)
    shown = missing & present
    both = ~missing & present
    gone = ~missing & ~present
    if pd.api.types.is_bool_dtype(audited) or pd.api.types.is_numeric_dtype(audited):
        a = audited.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
        if pd.api.types.is_bool_dtype(found) or pd.api.types.is_numeric_dtype(found):
            f = found  # already numbers (a typed copy): nothing to read as one
        else:
            f = pd.to_numeric(found.astype(object).map(_as_number), errors="coerce")
        b = f.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
        unequal = both & ~np.isclose(a, b, rtol=READBACK_RTOL, atol=0.0)
    else:
        a_text = _texts(audited, csv=False)
        f_text = _texts(found, csv=csv)
        unequal = _unequal(a_text, f_text)
        shown = missing & _unequal(f_text, "")
        gone = np.zeros(len(found), dtype=bool)
        unequal &= ~shown
    return shown, unequal | gone


def _same(found: pd.Series, audited: pd.Series, *, csv: bool) -> bool:
    """Tell whether a copy's column is the audited column exactly, so it differs nowhere.

    Only for text (with no apostrophe to undo in a CSV), numbers and yes/no, whose NA is
    their only missing value (a masked float's NaN would be a value unequal to itself).
    """
    if found.dtype != audited.dtype or not found.equals(audited):
        return False
    if isinstance(audited.dtype, pd.StringDtype):
        return not csv or not bool(found.str.startswith("'").fillna(False).any())
    if isinstance(audited.dtype, np.dtype):
        return audited.dtype.kind in "biuf"
    return isinstance(audited.array, pd.arrays.IntegerArray | pd.arrays.BooleanArray)


def _as_number(value: object) -> object:
    """Read ``True``/``False`` text (a CSV boolean) as 1/0; leave anything else."""
    if isinstance(value, str) and value in ("True", "False"):
        return float(value == "True")
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    return value


Texts: TypeAlias = pa.Array | np.ndarray[Any, np.dtype[np.object_]]


def _texts(column: pd.Series, *, csv: bool) -> Texts:
    """Return a text or date column as comparable text (see :func:`_plain`).

    Arrow-backed text stays in Arrow (compared there, without a Python string per cell).
    """
    if pd.api.types.is_string_dtype(column) and not csv:
        text = column.fillna("").astype(str)
    elif isinstance(column.dtype, pd.StringDtype):  # CSV text: _plain(_unquoted(v)), at once
        text = column.fillna("")
        quoted = text.str.startswith("'") & text.str[1:].str.startswith(FORMULA_PREFIXES)
        text = text.mask(quoted, text.str[1:])
    else:
        values = column.astype(object).tolist()
        return np.array([_plain(_unquoted(v) if csv else v) for v in values], dtype=object)
    if isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow":
        return pa.array(text.array)
    return np.asarray(text.to_numpy(dtype=object))


def _unequal(a: Texts, b: Texts | str) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Return where two texts (or a text and one string) differ."""
    if isinstance(a, pa.Array) and not isinstance(b, np.ndarray):
        return np.asarray(pc.not_equal(a, b).to_numpy(zero_copy_only=False), dtype=np.bool_)
    if isinstance(a, pa.Array):
        a = np.asarray(a.to_numpy(zero_copy_only=False), dtype=object)
    if isinstance(b, pa.Array):
        b = np.asarray(b.to_numpy(zero_copy_only=False), dtype=object)
    return np.asarray(a != b, dtype=np.bool_)


def _plain(value: object) -> str:
    """Return a text or date cell as text: NA and empty alike, dates and timestamps in ISO."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):  # type: ignore[call-overload]
        return ""
    if isinstance(value, (dt.date, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    return str(value)


def _unquoted(value: object) -> object:
    """Undo the CSV writer's apostrophe before a text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


# --------------------------------------------------------------------------- workbook


def _checked(tables: Mapping[str, pd.DataFrame], labels: ExportLabels) -> PublishedTables:
    """Return the audited tables checked as the exports check them."""
    return check_tables(
        PublishedTables(
            estimates=tables[ESTIMATES],
            trends=tables[TRENDS],
            status=tables[STATUS],
            methodology=tables[METHODOLOGY],
            drivers=tables[DRIVERS],
            small_areas=tables[SMALL_AREAS],
        ),
        labels.domains,
    )


def _close(found: object, wanted: object) -> bool:
    """Tell whether two numbers agree to :data:`READBACK_RTOL` (never a text or a yes/no)."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (found, wanted)):
        return False
    return math.isclose(float(found), float(wanted), rel_tol=READBACK_RTOL)  # type: ignore[arg-type]


def _compare_workbook(
    path: Path, tables: PublishedTables | str, labels: ExportLabels, lang: Lang, key: str
) -> list[Finding]:
    """Compare every sheet of a workbook with the workbook the audited tables give in ``lang``.

    ``tables`` are the checked tables to rebuild it from, or why they could not be checked;
    ``key`` their :func:`~perception.exports.workbook.workbooks_key` with ``labels``.
    The rebuild is byte-identical on the same tables, so a file equal to it byte for byte shows
    exactly what the rebuild shows and needs no reading cell by cell.
    """
    try:
        found = path.read_bytes()
    except OSError as error:
        return [Finding(path, "workbook", "-", (), f"cannot be read back ({error})")]
    if isinstance(tables, str):
        return [Finding(path, "workbook", "-", (), f"cannot be rebuilt: {tables}")]
    try:
        rebuilt = workbook_bytes(tables, labels, lang, key)
    except PerceptionError as error:
        return [Finding(path, "workbook", "-", (), f"cannot be rebuilt: {error.message}")]
    if found == rebuilt:
        return []
    try:
        book = openpyxl.load_workbook(io.BytesIO(found), read_only=True)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        return [Finding(path, "workbook", "-", (), f"cannot be read back ({error})")]
    expected = openpyxl.load_workbook(io.BytesIO(rebuilt), read_only=True)
    findings = [
        Finding(path, sheet, "-", (), "sheet not in the workbook the audited tables give")
        for sheet in book.sheetnames
        if sheet not in expected.sheetnames
    ]
    findings += [
        Finding(path, sheet, "-", (), "sheet missing")
        for sheet in expected.sheetnames
        if sheet not in book.sheetnames
    ]
    for sheet in (s for s in book.sheetnames if s in expected.sheetnames):
        rows = zip_longest(
            book[sheet].iter_rows(values_only=True), expected[sheet].iter_rows(values_only=True)
        )
        for number, (found, wanted) in enumerate(rows, start=1):
            cells = zip_longest(found or (), wanted or ())
            for column, (value, want) in enumerate(cells, start=1):
                if value == want or _close(value, want):
                    continue
                where = " / ".join(str(v) for v in (found or ())[:3] if v is not None)
                what = (
                    f"shows {value!r} where the audited tables hide the cell (*)"
                    if want == SUPPRESSED
                    else f"shows {value!r}; the audited tables give {want!r}"
                )
                cell = f"cell {get_column_letter(column)}{number}"
                findings.append(Finding(path, sheet, cell, (number,), f"{what} ({where})"))
    return findings


# --------------------------------------------------------------------------- dashboard


def _compare_dashboard(
    path: Path, tables: Mapping[str, pd.DataFrame], inputs: Mapping[str, Any]
) -> list[Finding]:
    """Compare the dashboard's embedded data, then its page, with the page the tables give."""
    try:
        page = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [Finding(path, "page", "-", (), f"cannot be read back ({error})")]
    blob, stamp = _BLOB.search(page), _STAMP.search(page)
    if blob is None or stamp is None:
        return [Finding(path, "page", "-", (), "no embedded dashboard data or generation time")]
    guess = _LANG.match(blob.group(1))  # the page's language, for a first rebuild
    rebuilt = None
    if guess is not None and guess.group(1) in LANGS:
        with contextlib.suppress(PerceptionError):  # reported below, after the JSON is read
            rebuilt = _rebuild(tables, inputs, stamp.group(1), guess.group(1))
        if rebuilt == page:  # the same page, so the same data: nothing beyond the audited tables
            return []
    try:
        data = json.loads(blob.group(1))
    except ValueError as error:
        return [Finding(path, "dashboard-data", "-", (), f"embedded JSON unreadable ({error})")]
    lang = data.get("lang", "en") if isinstance(data, dict) else "en"
    if rebuilt is None or guess is None or lang != guess.group(1):
        try:
            rebuilt = _rebuild(tables, inputs, stamp.group(1), lang)
        except PerceptionError as error:
            return [Finding(path, "page", "-", (), f"cannot be rebuilt: {error.message}")]
        if rebuilt == page:
            return []
    match = _BLOB.search(rebuilt)
    assert match is not None  # the page writer always embeds its data
    findings = [
        Finding(path, table, column, rows, what)
        for table, column, rows, what in _tree_differences(data, json.loads(match.group(1)), [])
    ]
    if not findings:
        outside = (page[: blob.start()] + page[blob.end() :]).splitlines()
        theirs = (rebuilt[: match.start()] + rebuilt[match.end() :]).splitlines()
        for line, (a, b) in enumerate(zip(outside, theirs, strict=False), start=1):
            if a != b:
                findings.append(
                    Finding(
                        path,
                        "page",
                        f"line {line}",
                        (),
                        "differs from the page the audited tables give",
                    )
                )
                break
        else:
            if len(outside) != len(theirs):
                findings.append(
                    Finding(
                        path,
                        "page",
                        "-",
                        (),
                        "has other lines than the page the audited tables give",
                    )
                )
    return findings


def _rebuild(
    tables: Mapping[str, pd.DataFrame], inputs: Mapping[str, Any], stamp: str, lang: Any
) -> str:
    """Return the page the tables give at the page's generation time, in ``lang``."""
    with tempfile.TemporaryDirectory() as folder:
        return build_dashboard(
            tables,
            out_path=Path(folder) / "dashboard.html",
            generated_at=dt.datetime.fromisoformat(stamp),
            lang=lang,
            **inputs,
        ).read_text(encoding="utf-8")


def _tree_differences(
    found: object, wanted: object, path: list[str | int]
) -> Iterator[tuple[str, str, tuple[int, ...], str]]:
    """Yield (figure, field, position, problem) for each leaf where two JSON trees differ."""
    if isinstance(found, dict) and isinstance(wanted, dict):
        for key in sorted(set(found) | set(wanted), key=str):
            if key not in wanted:
                yield (*_place([*path, key]), "not in the page the audited tables give")
            elif key not in found:
                yield (*_place([*path, key]), "missing")
            else:
                yield from _tree_differences(found[key], wanted[key], [*path, key])
    elif isinstance(found, list) and isinstance(wanted, list):
        if len(found) != len(wanted):
            yield (*_place(path), f"{len(found)} values; the audited tables give {len(wanted)}")
        for index, (a, b) in enumerate(zip(found, wanted, strict=False)):
            yield from _tree_differences(a, b, [*path, index])
    elif (found != wanted and not _close(found, wanted)) or type(found) is not type(wanted):
        hidden = "where the audited tables hide it " if wanted is None else ""
        yield (*_place(path), f"shows {found!r} {hidden}(the audited tables give {wanted!r})")


def _place(path: Sequence[str | int]) -> tuple[str, str, tuple[int, ...]]:
    """Split a JSON path into its figure (``figures/en/<key>``), field and position."""
    parts = list(path)
    rows: tuple[int, ...] = ()
    last = parts[-1] if parts else None
    if isinstance(last, int):
        rows = (last,)
        parts.pop()
    depth = 3 if parts[:1] == ["figures"] else 1
    table = "/".join(str(p) for p in parts[:depth]) or "dashboard-data"
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts[depth:])
    field = field.removeprefix(".")
    return table, field or "-", rows
