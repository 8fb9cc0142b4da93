"""The no-microdata gate: every exported table checked against its schema in perception.tables.

Every exported table must hold exactly the columns of its schema (:mod:`perception.tables`):
an extra column is refused, so respondent-level columns such as ``respondent_id`` can never
reach a published file; Tables 1 and 2 and the drivers table must carry the disclosure columns
appended by :mod:`perception.disclosure` (:func:`perception.indicators.publish_drivers`), and
no suppressed row may show a value in a column the schema marks hidden.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api import types as ptypes

from perception.errors import ValidationError, require_columns
from perception.tables import (
    DISCLOSURE_COLUMNS,
    DRIVERS,
    ESTIMATES,
    METHODOLOGY,
    SMALL_AREAS,
    STATUS,
    STATUS_PARTS,
    TABLES,
    TRENDS,
    SqlType,
)


def table_columns(name: str, domains: Sequence[str]) -> dict[str, SqlType]:
    """Return the columns of a published table and their SQL types, for a survey's domains."""
    return TABLES[name].columns(domains)


def empty_drivers() -> pd.DataFrame:
    """Return a drivers table without rows (a survey whose indicators name no drivers)."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in TABLES[DRIVERS].dtypes().items()})


def empty_small_areas() -> pd.DataFrame:
    """Return a small-area table without rows (no indicator lists ``areas:``)."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in TABLES[SMALL_AREAS].dtypes().items()})


@dataclass(frozen=True, eq=False)
class PublishedTables:
    """The tables of one export: Tables 1-3 and the drivers table, published, and the methodology.

    ``drivers`` comes from :func:`perception.indicators.publish_drivers`; it is empty when no
    indicator names ``drivers:``.
    """

    estimates: pd.DataFrame
    trends: pd.DataFrame
    status: pd.DataFrame
    methodology: pd.DataFrame
    drivers: pd.DataFrame = field(default_factory=empty_drivers)
    small_areas: pd.DataFrame = field(default_factory=empty_small_areas)
    """Model-based estimates by area (:func:`perception.small_area.publish_small_areas`)."""

    def by_name(self) -> dict[str, pd.DataFrame]:
        """Return the tables under their database names, in the contract's order."""
        return {
            ESTIMATES: self.estimates,
            TRENDS: self.trends,
            STATUS: self.status,
            METHODOLOGY: self.methodology,
            DRIVERS: self.drivers,
            SMALL_AREAS: self.small_areas,
        }


def check_published(table: pd.DataFrame, name: str, domains: Sequence[str]) -> pd.DataFrame:
    """Return ``table`` with its contract's columns in order, or refuse it as not publishable.

    ``domains`` are the survey's domain columns (``Catalogue.domain_columns``).

    Raises
    ------
    ValidationError
        If ``name`` is not a published table; the table lacks the disclosure columns (Tables 1
        and 2), lacks other contract columns or holds columns outside the contract
        (respondent-level data); a column has the wrong type or a coded column an unknown
        value; the same key appears twice; or a suppressed row still shows a value.

    """
    if name not in TABLES:
        raise ValidationError(
            f"Unknown published table `{name}`",
            expected=f"one of {', '.join(TABLES)}",
            found=name,
            hint="export only the tables of the indicator contract",
        )
    contract = table_columns(name, domains)
    _check_disclosed(table, name)
    require_columns(
        table.columns,
        contract,
        f"Table `{name}`",
        hint="build the table with the producer of its contract (perception.indicators, "
        "perception.trends, perception.status, perception.exports.methodology_table)",
    )
    extra = [str(c) for c in table.columns if c not in contract]
    if extra:
        raise ValidationError(
            f"Table `{name}` holds columns outside its published contract",
            expected="aggregate columns only: " + ", ".join(contract),
            found=f"extra columns: {', '.join(extra)}",
            hint="exports publish aggregates only; drop respondent-level columns "
            "(such as respondent_id) and never export microdata",
            column=extra[0],
        )
    ordered = table.loc[:, list(contract)].reset_index(drop=True)
    for column, sql in contract.items():
        _check_type(ordered[column], sql, name)
    for column, allowed in TABLES[name].values.items():
        _check_values(ordered[column], allowed, name)
    _check_unique(ordered, name, TABLES[name].key(domains))
    _check_hidden(ordered, name)
    return ordered


def _check_disclosed(table: pd.DataFrame, name: str) -> None:
    """Refuse Table 1, 2 or the drivers table when it lacks the disclosure columns."""
    if not TABLES[name].disclosed:
        return
    absent = [c for c in DISCLOSURE_COLUMNS if c not in table.columns]
    if absent:
        raise ValidationError(
            f"Table `{name}` has not been through disclosure control",
            expected=f"a published table with columns {', '.join(DISCLOSURE_COLUMNS)}",
            found=f"missing: {', '.join(absent)}",
            hint="apply perception.disclosure to the table before exporting it",
            column=absent[0],
        )


def _check_type(series: pd.Series[Any], sql: SqlType, name: str) -> None:
    """Refuse a column whose values cannot be stored faithfully as ``sql``."""
    all_missing = sql != "BOOLEAN" and bool(series.isna().all())
    if all_missing or _fits(series, sql):
        return
    raise ValidationError(
        f"Column `{series.name}` of table `{name}` has the wrong type",
        expected=_EXPECTED_DTYPE[sql],
        found=str(series.dtype),
        hint="build the table with the dtypes of its contract",
        column=str(series.name),
    )


_EXPECTED_DTYPE: Mapping[SqlType, str] = {
    "VARCHAR": "text (str)",
    "DOUBLE": "float64",
    "BIGINT": "integers (Int64)",
    "BOOLEAN": "bool, without NA",
    "DATE": "dates (datetime64 at midnight, or datetime.date values)",
}


def _fits(series: pd.Series[Any], sql: SqlType) -> bool:
    """Tell whether a column's dtype fits a SQL type of the contract."""
    if sql == "VARCHAR":
        if isinstance(series.dtype, pd.StringDtype):  # holds nothing but text and NA
            return True
        return bool(ptypes.is_string_dtype(series.dtype)) and all(
            isinstance(v, str) for v in series.dropna()
        )
    if sql == "DOUBLE":
        return bool(ptypes.is_float_dtype(series.dtype))
    if sql == "BIGINT":
        return bool(ptypes.is_integer_dtype(series.dtype)) and not ptypes.is_bool_dtype(
            series.dtype
        )
    if sql == "BOOLEAN":
        return bool(ptypes.is_bool_dtype(series.dtype)) and not bool(series.isna().any())
    if ptypes.is_datetime64_dtype(series.dtype):
        stamps = pd.DatetimeIndex(series.dropna())
        return bool((stamps == stamps.normalize()).all())
    values = series.dropna()
    return series.dtype == object and all(
        isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values
    )


def _check_values(series: pd.Series[Any], allowed: tuple[str, ...], name: str) -> None:
    """Refuse a coded column holding a value outside its vocabulary."""
    bad = (series.notna() & ~series.isin(allowed)).to_numpy(dtype=bool)
    if bad.any():
        found = sorted({str(v) for v in series[bad]})
        raise ValidationError(
            f"Column `{series.name}` of table `{name}` holds unknown values",
            expected=", ".join(allowed),
            found=", ".join(found),
            hint="use the values of the indicator contract",
            column=str(series.name),
            rows=[int(i) for i in bad.nonzero()[0]],
        )


def _check_unique(table: pd.DataFrame, name: str, keys: Sequence[str]) -> None:
    """Refuse a table with two rows on the same key (respondent-level rows, or a bad join)."""
    repeated = table.duplicated(list(keys), keep="first")
    if bool(repeated.any()):
        rows = [int(i) for i in repeated.to_numpy().nonzero()[0]]
        raise ValidationError(
            f"Table `{name}` repeats rows with the same key",
            expected="one row per " + " × ".join(keys),
            found=f"{len(rows)} repeated key(s)",
            hint="an aggregate table has one row per key; respondent-level rows are never exported",
            rows=rows,
        )


def _check_hidden(table: pd.DataFrame, name: str) -> None:
    """Refuse a suppressed row that still shows a value: disclosure was not applied."""
    columns = TABLES[name].hidden
    if not columns:
        return
    suppressed = table["suppressed"].to_numpy(dtype=bool)
    shown = suppressed & np.any([shows(table[c]) for c in columns], axis=0)
    if shown.any():
        rows = [int(i) for i in shown.nonzero()[0]]
        raise ValidationError(
            f"Table `{name}` shows values on suppressed rows",
            expected=f"NA (False for a yes/no) in {', '.join(columns)} wherever suppressed is true",
            found=f"{len(rows)} suppressed row(s) with a value",
            hint="apply perception.disclosure to the table before exporting it",
            rows=rows,
        )


def shows(column: pd.Series[Any]) -> npt.NDArray[np.bool_]:
    """Return where a column shows something: a value, or True for a yes/no column."""
    if ptypes.is_bool_dtype(column.dtype):
        return np.asarray(column.fillna(False).to_numpy(dtype=bool), dtype=np.bool_)
    return np.asarray(column.notna().to_numpy(dtype=bool), dtype=np.bool_)


def check_tables(tables: PublishedTables, domains: Sequence[str]) -> PublishedTables:
    """Return the tables checked (:func:`check_published`) and consistent with each other.

    ``domains`` are the survey's domain columns (``Catalogue.domain_columns``).

    Raises
    ------
    ValidationError
        If a table is not publishable, the tables mix surveys, a wave lacks its methodology
        row, the methodology rows disagree on the disclosure thresholds, or ``generated_at`` is
        not an ISO 8601 time.

    """
    checked = PublishedTables(
        **{
            field: check_published(table, name, domains)
            for field, (name, table) in zip(
                ("estimates", "trends", "status", "methodology", "drivers", "small_areas"),
                tables.by_name().items(),
                strict=True,
            )
        }
    )
    surveys = sorted({s for t in checked.by_name().values() for s in t["survey"].dropna().unique()})
    if len(surveys) > 1:
        raise ValidationError(
            "The exported tables mix surveys",
            expected="one survey per export (exports/ sits under data/processed/<survey>/)",
            found=", ".join(surveys),
            hint="export each survey's tables to its own folder",
            column="survey",
        )
    described = set(checked.methodology["wave"])
    used = (
        set(checked.estimates["wave"].unique())
        | set(checked.trends["wave"].unique())
        | set(checked.trends["reference_wave"].dropna().unique())
        | set(checked.status["latest_wave"].dropna().unique())
        | set(checked.drivers["wave"].unique())
        | set(checked.small_areas["wave"].unique())
    )
    undescribed = sorted(used - described)
    if undescribed:
        raise ValidationError(
            "Waves of the exported tables lack a methodology row",
            expected="a methodology row for every wave of Tables 1-3 and the drivers table",
            found=f"no methodology for: {', '.join(undescribed)}",
            hint="build the methodology table from every weighted wave (methodology_table)",
            column="wave",
        )
    for column in ("suppress_below", "flag_below"):
        values = checked.methodology[column].dropna().unique()
        if len(values) != 1:
            raise ValidationError(
                f"The methodology rows disagree on `{column}`",
                expected="one disclosure threshold for the whole export",
                found=", ".join(map(str, values)) or "none",
                hint="build the methodology table with the thresholds of config/disclosure.yaml",
                column=column,
            )
    generated_at(checked.methodology)
    _check_status_hidden(checked)
    return checked


def national_disclosure(
    estimates: pd.DataFrame, trends: pd.DataFrame
) -> dict[tuple[str, str, str], tuple[bool, bool]]:
    """Return ``(suppressed, flagged)`` of the national, variant "all" cells of Tables 1-2.

    Keys are ``(indicator, wave, part)``, ``part`` as in :data:`STATUS_PARTS`: ``estimate``
    for Table 1, ``previous`` or ``baseline`` for the Table 2 comparisons.
    """
    cells: dict[tuple[str, str, str], tuple[bool, bool]] = {}
    for table, part in ((estimates, None), (trends, "comparison")):
        national = table[(table["domain_set"] == "national") & (table["variant"] == "all")]
        parts = ["estimate"] * len(national) if part is None else list(national[part])
        for indicator, wave, name, suppressed, flagged in zip(
            national["indicator"],
            national["wave"],
            parts,
            national["suppressed"],
            national["flagged"],
            strict=True,
        ):
            cells[(str(indicator), str(wave), str(name))] = (bool(suppressed), bool(flagged))
    return cells


def _check_status_hidden(tables: PublishedTables) -> None:
    """Refuse a status row that shows a national value which Tables 1-2 suppress."""
    cells = national_disclosure(tables.estimates, tables.trends)
    status = tables.status
    for position, (indicator, wave) in enumerate(
        zip(status["indicator"], status["latest_wave"], strict=True)
    ):
        for part, columns in STATUS_PARTS.items():
            suppressed, _ = cells.get((str(indicator), str(wave), part), (False, False))
            if suppressed and bool(status.loc[position, list(columns)].notna().any()):
                raise ValidationError(
                    f"The status of `{indicator}` shows a value that disclosure control suppressed",
                    expected=f"NA in {', '.join(columns)}, as the published Tables 1-2 hide it",
                    found="a value",
                    hint="build benchmark_status from the published tables (perception.status)",
                    column=columns[0],
                    rows=[position],
                )


def generated_at(methodology: pd.DataFrame) -> dt.datetime:
    """Return the run's time: the latest ``generated_at`` of the methodology, as naive UTC.

    Raises
    ------
    ValidationError
        If a value is not an ISO 8601 time, or there is none.

    """
    stamps: list[dt.datetime] = []
    for position, value in enumerate(methodology["generated_at"]):
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ValidationError(
                "The methodology's generation time is not an ISO 8601 time",
                expected="a time such as 2026-09-01T12:00:00Z",
                found=repr(value),
                hint="build the methodology table with methodology_table",
                column="generated_at",
                rows=[position],
            ) from None
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
        stamps.append(aware.astimezone(dt.UTC).replace(tzinfo=None))
    if not stamps:
        raise ValidationError(
            "The methodology table is empty",
            expected="one row per wave",
            found="no rows",
            hint="build the methodology table from every weighted wave (methodology_table)",
        )
    return max(stamps)


def wave_order(methodology: pd.DataFrame) -> list[str]:
    """Return the waves in the survey's order (the methodology's row order)."""
    return [str(w) for w in methodology["wave"]]
