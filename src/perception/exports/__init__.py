"""Report-ready exports of the published indicator tables: CSV, Parquet, DuckDB and Excel.

:func:`write_exports` writes a run's files to ``runs/<run_id>/`` and replaces ``latest/`` only
when every file was written (:mod:`perception.exports.writer`). Only published aggregate tables
go out: :func:`check_published` refuses respondent-level columns and tables that have not been
through disclosure control (:mod:`perception.exports.contract`). :func:`methodology_table`
builds the per-wave methodology table from the survey file and the weighting reports.
"""

from __future__ import annotations

from perception.exports.contract import (
    PublishedTables,
    check_published,
    check_tables,
    table_columns,
)
from perception.exports.labels import ExportLabels, Lang
from perception.exports.methodology import margin_of_error, methodology_table
from perception.exports.writer import EXPORT_FILES, ExportResult, add_to_latest, write_exports

__all__ = [
    "EXPORT_FILES",
    "ExportLabels",
    "ExportResult",
    "Lang",
    "PublishedTables",
    "add_to_latest",
    "check_published",
    "check_tables",
    "margin_of_error",
    "methodology_table",
    "table_columns",
    "write_exports",
]
