"""Write a run's exports to ``runs/<run_id>/`` and replace ``latest/`` only when all succeeded.

Sequence (``out_root`` is ``data/processed/<survey>/exports``; ``<t>`` a fresh random token):

1. Every file is written, each atomically (temp file, fsync, rename), into the staging folder
   ``runs/.<run_id>.tmp-<t>/``. Any failure deletes the staging folder and re-raises: no
   ``runs/<run_id>/`` appears and ``latest/`` is not touched.
2. The staging folder is renamed to ``runs/<run_id>/`` (an existing folder of the same run id
   is first renamed aside to ``runs/.<run_id>.old-<t>`` and deleted after), so a run folder is
   always complete.
3. The run's files are copied into ``.latest.tmp-<t>/``, each file and the folder fsynced.
4. ``latest/`` is renamed to ``.latest.old-<t>``, ``.latest.tmp-<t>`` is renamed to
   ``latest/``, the parent folder is fsynced, and the old folder is deleted. If the second
   rename fails, the old folder is renamed back.

The window: between the two renames of step 4 (two metadata operations on the same
filesystem, microseconds apart) ``latest/`` does not exist. A reader never sees a partial file
or a mix of two runs in ``latest/``; it may, in that window, find no ``latest/`` at all. A crash
inside the window leaves both complete folders beside it (``.latest.old-<t>``,
``.latest.tmp-<t>``), and the next successful run recreates ``latest/``.

Why a real folder rather than a symlink ``latest -> runs/<run_id>`` (whose swap by
``os.replace`` of a temporary link has no window at all): ``latest`` is what report writers
open, copy to a USB stick, zip or sync to a shared drive, often from Windows. A symlink is
copied as a dangling link by ``cp -r``, zip tools and sync clients, needs privileges on
Windows, and dies with its run folder when old runs are pruned. A copy costs a few megabytes
and leaves a window of one rename during which the folder is absent but never wrong.

One writer at a time per ``out_root``: two concurrent runs can each publish, the last one wins,
but their step-4 renames may collide and fail that run (its ``runs/<run_id>/`` stays).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb
import pandas as pd

from perception.errors import ConfigError
from perception.exports.analysts import analysts_tables, benchmark_views, sql_text
from perception.exports.contract import PublishedTables, check_tables
from perception.exports.labels import LANGS, ExportLabels, Lang
from perception.exports.workbook import (
    FORMULA_PREFIXES,
    start_workbooks,
    workbook_bytes,
    workbooks_key,
)
from perception.storage import atomic_write, fsync_dir, write_parquet
from perception.tables import DRIVERS, ESTIMATES, SMALL_AREAS, TABLES

CSV = "indicators.csv"
PARQUET = "indicators.parquet"
DUCKDB = "indicators.duckdb"
XLSX = "indicators.xlsx"
XLSX_FR = "indicators_fr.xlsx"
WORKBOOKS: Mapping[Lang, str] = {"en": XLSX, "fr": XLSX_FR}
"""The report workbook of each language."""
DRIVERS_CSV = "drivers.csv"
DRIVERS_PARQUET = "drivers.parquet"
SMALL_AREAS_CSV = "small_areas.csv"
SMALL_AREAS_PARQUET = "small_areas.parquet"
EXPORT_FILES: tuple[str, ...] = (
    CSV,
    PARQUET,
    DUCKDB,
    XLSX,
    XLSX_FR,
    DRIVERS_CSV,
    DRIVERS_PARQUET,
    SMALL_AREAS_CSV,
    SMALL_AREAS_PARQUET,
)
"""The files of every run, in the order they are written."""

_VIEW_COMMENT = (
    "One benchmark's indicators by wave and domain, don't know kept in the base, with labels "
    "in English and French; estimates in value_unit, NULL where suppressed."
)

LATEST = "latest"
RUNS = "runs"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class ExportResult:
    """Where a run's exports are: its own folder and the ``latest`` copy, and each file."""

    run_dir: Path
    latest_dir: Path
    csv: Path
    parquet: Path
    duckdb: Path
    xlsx: Path
    xlsx_fr: Path
    drivers_csv: Path
    drivers_parquet: Path


def write_exports(
    tables: PublishedTables,
    out_root: Path,
    *,
    run_id: str,
    labels: ExportLabels,
    check: Callable[[Path], object] | None = None,
) -> ExportResult:
    """Write the report-ready exports of a run, then replace ``latest`` with them.

    Writes ``indicators.csv`` (Table 1, tidy long, UTF-8 with BOM), ``indicators.parquet``
    (Table 1), ``indicators.duckdb`` (every table, and a view per benchmark), the report
    workbook in English (``indicators.xlsx``) and French (``indicators_fr.xlsx``),
    ``drivers.csv`` and ``drivers.parquet`` (the published drivers table), ``small_areas.csv``
    and ``small_areas.parquet`` (model-based estimates by area), the tables in their
    analysts' form (:mod:`perception.exports.analysts`), into ``out_root/runs/<run_id>/``, then
    copies them to ``out_root/latest/`` (see the module docstring for the exact sequence).
    Rerunning with the same run id replaces that run's folder. ``check``, when given, is called
    with the folder of the complete files before they become ``runs/<run_id>/``: an error it
    raises leaves no run folder and ``latest/`` untouched (the pipeline reads the files back and
    audits them there).

    Raises
    ------
    ValidationError
        If a table is not publishable (respondent-level columns, no disclosure columns, wrong
        types, suppressed values shown) or the tables disagree (see
        :func:`~perception.exports.contract.check_tables`).
    ConfigError
        If ``run_id`` is invalid, or a label is missing or cannot be written.

    """
    _check_run_id(run_id)
    checked = check_tables(tables, labels.domains)
    for lang in LANGS:
        labels.check(checked.estimates, checked.status, lang, checked.drivers)
    token = uuid.uuid4().hex[:12]
    runs = Path(out_root) / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    staging = runs / f".{run_id}.tmp-{token}"
    staging.mkdir()
    key = workbooks_key(checked, labels)
    wait_for_workbooks = start_workbooks(checked, labels, list(WORKBOOKS), key)
    exported = analysts_tables(checked, labels)
    try:
        _write_csv(exported[ESTIMATES], staging / CSV)
        write_parquet(exported[ESTIMATES], staging / PARQUET)
        views = benchmark_views(checked.estimates, labels.domains, list(labels.benchmarks))
        _write_duckdb(exported, views, staging / DUCKDB, token, labels.domains)
        wait_for_workbooks()
        for lang, name in WORKBOOKS.items():
            _write_bytes(staging / name, workbook_bytes(checked, labels, lang, key))
        _write_csv(exported[DRIVERS], staging / DRIVERS_CSV)
        write_parquet(exported[DRIVERS], staging / DRIVERS_PARQUET)
        _write_csv(exported[SMALL_AREAS], staging / SMALL_AREAS_CSV)
        write_parquet(exported[SMALL_AREAS], staging / SMALL_AREAS_PARQUET)
        if check is not None:
            check(staging)
        run_dir = runs / run_id
        _replace_dir(staging, run_dir, token)
    except BaseException:
        wait_for_workbooks()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    latest = _publish_latest([run_dir / n for n in EXPORT_FILES], Path(out_root), token)
    return ExportResult(
        run_dir=run_dir,
        latest_dir=latest,
        csv=run_dir / CSV,
        parquet=run_dir / PARQUET,
        duckdb=run_dir / DUCKDB,
        xlsx=run_dir / XLSX,
        xlsx_fr=run_dir / XLSX_FR,
        drivers_csv=run_dir / DRIVERS_CSV,
        drivers_parquet=run_dir / DRIVERS_PARQUET,
    )


def _check_run_id(run_id: str) -> None:
    """Refuse a run id that is not a plain folder name."""
    if not _RUN_ID.match(run_id):
        raise ConfigError(
            "A run id must be a plain folder name",
            expected="letters, digits, '.', '_' or '-', starting with a letter or digit",
            found=repr(run_id),
            hint="use the pipeline's run id or a timestamp such as 20260901T120000Z",
        )


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write a table as CSV: UTF-8 with a byte-order mark, RFC 4180 line ends, NA as empty.

    A text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is written with a
    leading apostrophe (``'=HYPERLINK(...)``), as OWASP advises against CSV injection, so a
    spreadsheet shows it as text instead of running it as a formula.
    """
    # The BOM is for Excel: it opens a CSV without one in the Windows ANSI code page (cp1252 on
    # most report writers' machines), turning French accents into mojibake ("Région" becomes
    # "RÃ©gion"). With the BOM it reads UTF-8. pandas, DuckDB and R skip the BOM on reading.
    text = table.select_dtypes(include=["object", "string"]).columns
    safe = table.assign(**{c: _neutralised(table[c]) for c in text})
    _write_bytes(path, safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))


def _neutralised(column: pd.Series) -> pd.Series:
    """Prefix an apostrophe to each text a spreadsheet would read as a formula."""
    if isinstance(column.dtype, pd.StringDtype):
        risky = column.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
        return column.mask(risky, "'" + column) if risky.any() else column
    return column.map(
        lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v,
        na_action="ignore",
    )


def _write_bytes(path: Path, content: bytes) -> None:
    """Write bytes to a file atomically."""

    def write(stream: BinaryIO) -> None:
        stream.write(content)

    atomic_write(path, write)


def _write_duckdb(
    tables: Mapping[str, pd.DataFrame],
    views: Mapping[str, str],
    path: Path,
    token: str,
    domains: Sequence[str],
) -> None:
    """Write the tables and views to a DuckDB file, via a temp file + rename.

    Each table is created from its export columns with ``VARCHAR``/``DOUBLE``/``BIGINT``/
    ``BOOLEAN``/``DATE`` columns (types PostgreSQL loads unchanged) and filled with explicit
    casts, so an all-NA column keeps its declared type. NaN is stored as NULL. ``views`` are
    the readable views of the benchmarks (:func:`~perception.exports.analysts.benchmark_views`).
    """
    temp = path.with_name(f".{path.name}.{token}.tmp")
    try:
        connection = duckdb.connect(str(temp))
        try:
            connection.execute("BEGIN TRANSACTION")  # one commit, not one per statement
            for name, table in tables.items():
                _load_table(connection, name, table, domains)
            for view, select in views.items():
                connection.execute(f'CREATE VIEW "{view}" AS {select}')
                connection.execute(f'COMMENT ON VIEW "{view}" IS {sql_text(_VIEW_COMMENT)}')
            connection.execute("COMMIT")
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
        with temp.open("rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        temp.with_name(temp.name + ".wal").unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _load_table(
    connection: duckdb.DuckDBPyConnection, name: str, table: pd.DataFrame, domains: Sequence[str]
) -> None:
    """Create table ``name`` from its contract and insert ``table`` with explicit casts."""
    schema = TABLES[name]
    contract = schema.export_columns(domains if schema.domains else ())
    columns = ", ".join(f'"{column}" {sql}' for column, sql in contract.items())
    casts = ", ".join(f'CAST("{column}" AS {sql})' for column, sql in contract.items())
    connection.execute(f'CREATE TABLE "{name}" ({columns})')
    connection.register("published_source", table)
    try:
        connection.execute(f'INSERT INTO "{name}" SELECT {casts} FROM published_source')
    finally:
        connection.unregister("published_source")
    connection.execute(
        ";\n".join(
            [
                f'COMMENT ON TABLE "{name}" IS {sql_text(schema.description)}',
                *(
                    f'COMMENT ON COLUMN "{name}"."{column}" IS '
                    + sql_text(schema.description_of(column, domains))
                    for column in contract
                ),
            ]
        )
    )


def _publish_latest(sources: Sequence[Path], out_root: Path, token: str) -> Path:
    """Copy complete files into a new ``latest`` and swap it in (module docstring, steps 3-4)."""
    staging = out_root / f".{LATEST}.tmp-{token}"
    staging.mkdir()
    latest = out_root / LATEST
    try:
        for source in sources:
            _copy_synced(source, staging / source.name)
        fsync_dir(staging)
        _replace_dir(staging, latest, token)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return latest


def _copy_synced(source: Path, target: Path) -> None:
    """Copy a file and flush it to disk."""
    with source.open("rb") as reader, target.open("xb") as writer:
        shutil.copyfileobj(reader, writer)
        writer.flush()
        os.fsync(writer.fileno())


def _replace_dir(new: Path, target: Path, token: str) -> None:
    """Put folder ``new`` at ``target``: old one renamed aside, new one renamed in, old deleted.

    If the second rename fails, the old folder is renamed back before the error propagates.
    """
    old = target.with_name(f".{target.name}.old-{token}")
    moved = False
    try:
        if target.exists() or target.is_symlink():
            os.rename(target, old)
            moved = True
        os.rename(new, target)
    except BaseException:
        if moved and not target.exists():
            os.rename(old, target)
        raise
    fsync_dir(target.parent)
    if moved:
        if old.is_symlink() or old.is_file():
            old.unlink()
        else:
            shutil.rmtree(old)


def add_to_latest(
    out_root: Path, files: Mapping[str, bytes], *, run_id: str, replaces: Sequence[str] = ()
) -> Path:
    """Add files produced after the exports (the results briefs) to a run and to ``latest``.

    Each file is written atomically into ``runs/<run_id>/`` (created if the run wrote no
    exports, e.g. ``perception brief`` alone); then ``latest/`` is rebuilt as a copy of its
    current files, less those named in ``replaces`` (so a stale file of an earlier run never
    stays beside new ones), plus ``files``, and swapped in as :func:`write_exports` swaps it.
    Returns the ``latest`` folder.
    """
    _check_run_id(run_id)
    root = Path(out_root)
    run_dir = root / RUNS / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        _write_bytes(run_dir / name, content)
    latest = root / LATEST
    current = sorted(p for p in latest.iterdir() if p.is_file()) if latest.is_dir() else []
    kept = [p for p in current if p.name not in replaces and p.name not in files]
    return _publish_latest([*kept, *(run_dir / n for n in files)], root, uuid.uuid4().hex[:12])
