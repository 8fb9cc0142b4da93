"""The published tables an export accepts: their columns, SQL types and the no-microdata gate.

Every exported table must hold exactly the columns of its contract (the indicator contracts of
issue 4): an extra column is refused, so respondent-level columns such as
``respondent_id`` can never reach a published file, and Tables 1 and 2 (and the drivers table)
must carry the disclosure columns appended by :mod:`perception.disclosure`
(:func:`perception.indicators.publish_drivers`). The SQL types are the portable subset shared by
DuckDB and PostgreSQL (``VARCHAR``, ``DOUBLE``, ``BIGINT``, ``BOOLEAN``, ``DATE``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from pandas.api import types as ptypes

from perception.config.indicators import with_domains
from perception.errors import ValidationError
from perception.status import STATUSES

SqlType = Literal["VARCHAR", "DOUBLE", "BIGINT", "BOOLEAN", "DATE"]

ESTIMATES = "indicator_estimates"
TRENDS = "indicator_trends"
STATUS = "benchmark_status"
METHODOLOGY = "methodology"
DRIVERS = "indicator_drivers"

DISCLOSURE_COLUMNS: tuple[str, ...] = ("suppressed", "flagged", "disclosure")
"""Columns appended by perception.disclosure; a table without them is not published."""

_DOMAIN: SqlType = "BIGINT"
_DISCLOSURE: dict[str, SqlType] = {
    "suppressed": "BOOLEAN",
    "flagged": "BOOLEAN",
    "disclosure": "VARCHAR",
}

TABLE_COLUMNS: Mapping[str, Mapping[str, SqlType]] = {
    ESTIMATES: {
        "survey": "VARCHAR",
        "wave": "VARCHAR",
        "indicator": "VARCHAR",
        "variant": "VARCHAR",
        "benchmark": "VARCHAR",
        "type": "VARCHAR",
        "unit": "VARCHAR",
        "domain_set": "VARCHAR",
        "estimate": "DOUBLE",
        "se": "DOUBLE",
        "ci_low": "DOUBLE",
        "ci_high": "DOUBLE",
        "df": "DOUBLE",
        "deff": "DOUBLE",
        "n": "BIGINT",
        "n_weighted": "DOUBLE",
        "n_eff": "DOUBLE",
        "dk_share": "DOUBLE",
        "n_refused": "BIGINT",
        "availability": "VARCHAR",
        "n_a": "BIGINT",
        "n_b": "BIGINT",
        "p_value": "DOUBLE",
        "p_adjusted": "DOUBLE",
        **_DISCLOSURE,
    },
    TRENDS: {
        "survey": "VARCHAR",
        "indicator": "VARCHAR",
        "variant": "VARCHAR",
        "benchmark": "VARCHAR",
        "type": "VARCHAR",
        "unit": "VARCHAR",
        "domain_set": "VARCHAR",
        "comparison": "VARCHAR",
        "wave": "VARCHAR",
        "reference_wave": "VARCHAR",
        "estimate": "DOUBLE",
        "se": "DOUBLE",
        "ci_low": "DOUBLE",
        "ci_high": "DOUBLE",
        "df": "DOUBLE",
        "p_value": "DOUBLE",
        "p_adjusted": "DOUBLE",
        "significant": "BOOLEAN",
        "direction": "VARCHAR",
        "n": "BIGINT",
        "n_a": "BIGINT",
        "n_b": "BIGINT",
        **_DISCLOSURE,
    },
    STATUS: {
        "survey": "VARCHAR",
        "indicator": "VARCHAR",
        "benchmark": "VARCHAR",
        "benchmark_term": "VARCHAR",
        "label_en": "VARCHAR",
        "label_fr": "VARCHAR",
        "type": "VARCHAR",
        "unit": "VARCHAR",
        "direction": "VARCHAR",
        "latest_wave": "VARCHAR",
        "estimate": "DOUBLE",
        "ci_low": "DOUBLE",
        "ci_high": "DOUBLE",
        "change_previous": "DOUBLE",
        "change_previous_ci_low": "DOUBLE",
        "change_previous_ci_high": "DOUBLE",
        "change_previous_p": "DOUBLE",
        "change_baseline": "DOUBLE",
        "change_baseline_ci_low": "DOUBLE",
        "change_baseline_ci_high": "DOUBLE",
        "change_baseline_p": "DOUBLE",
        "target": "DOUBLE",
        "target_date": "DATE",
        "status": "VARCHAR",
        "reason_en": "VARCHAR",
        "reason_fr": "VARCHAR",
    },
    METHODOLOGY: {
        "survey": "VARCHAR",
        "wave": "VARCHAR",
        "label_en": "VARCHAR",
        "label_fr": "VARCHAR",
        "fieldwork_start": "DATE",
        "fieldwork_end": "DATE",
        "provider": "VARCHAR",
        "source_file": "VARCHAR",
        "n_respondents": "BIGINT",
        "deff_kish": "DOUBLE",
        "n_eff": "DOUBLE",
        "moe_95": "DOUBLE",
        "weighting": "VARCHAR",
        "design_en": "VARCHAR",
        "design_fr": "VARCHAR",
        "variance_method": "VARCHAR",
        "suppress_below": "BIGINT",
        "flag_below": "BIGINT",
        "generated_at": "VARCHAR",
    },
    DRIVERS: {
        "survey": "VARCHAR",
        "wave": "VARCHAR",
        "indicator": "VARCHAR",
        "model": "VARCHAR",
        "driver": "VARCHAR",
        "driver_label_en": "VARCHAR",
        "driver_label_fr": "VARCHAR",
        "level": "BIGINT",
        "level_label_en": "VARCHAR",
        "level_label_fr": "VARCHAR",
        "reference": "BIGINT",
        "reference_label_en": "VARCHAR",
        "reference_label_fr": "VARCHAR",
        "estimate": "DOUBLE",
        "se": "DOUBLE",
        "ci_low": "DOUBLE",
        "ci_high": "DOUBLE",
        "df": "DOUBLE",
        "p_value": "DOUBLE",
        "driver_p_value": "DOUBLE",
        "unit": "VARCHAR",
        "n_level": "BIGINT",
        "n_reference": "BIGINT",
        "n": "BIGINT",
        "note_en": "VARCHAR",
        "note_fr": "VARCHAR",
        **_DISCLOSURE,
    },
}
"""Fixed columns of each published table, in order, with the SQL type each is stored as; Tables
1 and 2 also have the survey's domain columns after ``domain_set`` (:func:`table_columns`)."""

TABLE_KEYS: Mapping[str, tuple[str, ...]] = {
    ESTIMATES: ("survey", "wave", "indicator", "variant", "domain_set"),
    TRENDS: ("survey", "indicator", "variant", "domain_set", "comparison", "wave"),
    STATUS: ("survey", "indicator"),
    METHODOLOGY: ("survey", "wave"),
    DRIVERS: ("survey", "wave", "indicator", "driver", "level"),
}
"""Fixed columns identifying one row of each table (with the domain columns after
``domain_set``); a repeated key means it is not an aggregate table."""


TABLE_DESCRIPTIONS: Mapping[str, str] = {
    ESTIMATES: "Table 1: every indicator by wave, variant (don't know kept or excluded) and "
    "domain, with its design-based standard error and 95% confidence interval, after "
    "disclosure control.",
    TRENDS: "Table 2: the change of every indicator × domain since the previous wave and the "
    "baseline, with its interval and Benjamini-Hochberg adjusted p-value, after disclosure "
    "control.",
    STATUS: "Table 3: each indicator's benchmark status (achieved, on track, off track, "
    "insufficient evidence, no target) with the sentence that explains it.",
    METHODOLOGY: "One row per wave: fieldwork, provider, sample size, design effect, margin "
    "of error, weighting, sample design, variance method and the disclosure rules.",
    DRIVERS: "Survey-weighted regression of an indicator on its drivers: average marginal "
    "effect of each group against its reference group; associations, not causes.",
}
"""What each published table holds: the comment of its DuckDB table."""

COLUMN_DESCRIPTIONS: Mapping[str, str] = {
    "survey": "Survey id (config survey.yaml).",
    "wave": "Wave id.",
    "indicator": "Indicator id (config indicators.yaml).",
    "variant": "all: don't know kept in the base; excl_dk: don't know excluded.",
    "benchmark": "Benchmark id the indicator reports to.",
    "benchmark_term": "short, medium or long term benchmark.",
    "type": "Indicator type: proportion, mean, net, index or gap.",
    "unit": "Unit of the values: percent (as a fraction 0-1), score or percentage points.",
    "domain_set": "Which breakdown the row belongs to (national, gender, gender×region...).",
    "estimate": "The estimate, in the indicator's unit.",
    "se": "Design-based standard error of the estimate.",
    "ci_low": "Lower bound of the 95% confidence interval.",
    "ci_high": "Upper bound of the 95% confidence interval.",
    "df": "Degrees of freedom of the interval (design df).",
    "deff": "Design effect (variance against simple random sampling).",
    "n": "Respondents in the base (unweighted).",
    "n_weighted": "Weighted count of the base.",
    "n_eff": "Effective sample size (n / design effect).",
    "dk_share": "Weighted share of don't know answers.",
    "n_refused": "Respondents who refused the item.",
    "availability": "estimated, not_asked (the wave did not ask) or no_data (no respondent).",
    "n_a": "Respondents in the first group of a gap or the earlier wave of a change.",
    "n_b": "Respondents in the second group of a gap or the later wave of a change.",
    "p_value": "p-value of the test (gap or change against zero).",
    "p_adjusted": "Benjamini-Hochberg adjusted p-value over the published tests of its family.",
    "suppressed": "True when the cell is hidden (too few respondents, or to protect another).",
    "flagged": "True when the cell rests on few respondents: interpret with caution.",
    "disclosure": "Why the cell is suppressed or flagged.",
    "comparison": "previous (since the previous wave) or baseline (since the first wave).",
    "reference_wave": "The wave the change is measured from.",
    "significant": "True when the adjusted p-value is below 0.05 and the interval excludes 0.",
    "direction": "improving, worsening or no change, given the indicator's good direction.",
    "label_en": "Label in English.",
    "label_fr": "Label in French.",
    "latest_wave": "The wave whose estimate is judged.",
    "change_previous": "Change since the previous wave.",
    "change_previous_ci_low": "Lower 95% bound of the change since the previous wave.",
    "change_previous_ci_high": "Upper 95% bound of the change since the previous wave.",
    "change_previous_p": "Adjusted p-value of the change since the previous wave.",
    "change_baseline": "Change since the baseline wave.",
    "change_baseline_ci_low": "Lower bound of the 95% interval of the change since the baseline.",
    "change_baseline_ci_high": "Upper bound of the 95% interval of the change since the baseline.",
    "change_baseline_p": "Adjusted p-value of the change since the baseline.",
    "target": "Target value, in the indicator's unit.",
    "target_date": "Date by which the target is to be reached.",
    "status": "Benchmark status.",
    "reason_en": "Why the status, in English.",
    "reason_fr": "Why the status, in French.",
    "fieldwork_start": "First day of fieldwork.",
    "fieldwork_end": "Last day of fieldwork.",
    "provider": "Who collected the data.",
    "source_file": "Name of the delivered data file.",
    "n_respondents": "Respondents in the wave.",
    "deff_kish": "Kish design effect of the weights.",
    "moe_95": "Margin of error at 95% of a 50% proportion, as a fraction.",
    "weighting": "How the weights were made.",
    "design_en": "Sample design and variance method, in English.",
    "design_fr": "Sample design and variance method, in French.",
    "variance_method": "taylor, a replicate type (JK1, JKn, BRR, Fay, bootstrap...), "
    "chen-li-wu or none.",
    "suppress_below": "Cells with fewer respondents are suppressed.",
    "flag_below": "Cells with fewer respondents are flagged.",
    "generated_at": "When the tables were computed (UTC).",
    "model": "The regression model (formula and family).",
    "driver": "Driver variable.",
    "driver_label_en": "Driver label in English.",
    "driver_label_fr": "Driver label in French.",
    "level": "Code of the group.",
    "level_label_en": "Group label in English.",
    "level_label_fr": "Group label in French.",
    "reference": "Code of the reference group.",
    "reference_label_en": "Reference group label in English.",
    "reference_label_fr": "Reference group label in French.",
    "driver_p_value": "Wald test p-value of the driver as a whole.",
    "n_level": "Respondents in the group.",
    "n_reference": "Respondents in the reference group.",
    "note_en": "Note on the model or the group, in English.",
    "note_fr": "Note on the model or the group, in French.",
}
"""What each published column holds: the comment of its DuckDB column (all tables)."""

_TABLE_COLUMN_DESCRIPTIONS: Mapping[str, Mapping[str, str]] = {
    TRENDS: {
        "estimate": "The change (later minus earlier wave), in the indicator's unit.",
        "se": "Standard error of the change.",
        "ci_low": "Lower bound of the 95% interval of the change.",
        "ci_high": "Upper bound of the 95% interval of the change.",
        "n": "Respondents in the later wave.",
    },
    STATUS: {"estimate": "The latest national estimate, in the indicator's unit."},
    DRIVERS: {
        "estimate": "Average marginal effect against the reference group.",
        "n": "Respondents in the model.",
        "unit": "Unit of the effects (percentage points or score).",
    },
}


def column_description(name: str, column: str, domains: Sequence[str]) -> str:
    """Return what a column of a published table holds, for its DuckDB comment."""
    if column in domains:
        return f"Code of the domain variable {column} (NA where the breakdown does not use it)."
    return _TABLE_COLUMN_DESCRIPTIONS.get(name, {}).get(column) or COLUMN_DESCRIPTIONS[column]


def table_columns(name: str, domains: Sequence[str]) -> dict[str, SqlType]:
    """Return the columns of a published table and their SQL types, for a survey's domains."""
    fixed = TABLE_COLUMNS[name]
    return {c: fixed.get(c, _DOMAIN) for c in with_domains(fixed, domains)}


def table_keys(name: str, domains: Sequence[str]) -> tuple[str, ...]:
    """Return the columns identifying one row of a published table, for a survey's domains."""
    return with_domains(TABLE_KEYS[name], domains)


_TYPES = ("proportion", "mean", "net", "index", "gap")
_INDICATOR_VALUES: Mapping[str, tuple[str, ...]] = {
    "variant": ("all", "excl_dk"),
    "type": _TYPES,
    "unit": ("percent", "score"),
}
TABLE_VALUES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    ESTIMATES: {**_INDICATOR_VALUES, "availability": ("estimated", "not_asked", "no_data")},
    TRENDS: {
        **_INDICATOR_VALUES,
        "comparison": ("previous", "baseline"),
        "direction": ("improving", "worsening", "no change"),
    },
    STATUS: {
        "type": _TYPES,
        "unit": ("percent", "score"),
        "benchmark_term": ("short", "medium", "long"),
        "direction": ("higher", "lower"),
        "status": STATUSES,
    },
    METHODOLOGY: {},
    DRIVERS: {"model": ("binomial", "gaussian"), "unit": ("percentage points", "points")},
}
"""The values each coded text column may take (NA aside)."""

_HIDDEN_WHEN_SUPPRESSED: Mapping[str, tuple[str, ...]] = {
    ESTIMATES: (
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "deff",
        "n_eff",
        "n_weighted",
        "dk_share",
    ),
    TRENDS: ("estimate", "se", "ci_low", "ci_high"),
    DRIVERS: ("estimate", "se", "ci_low", "ci_high", "p_value", "driver_p_value"),
}
"""Value columns that disclosure blanks on a suppressed row; a value there means a leak."""


def empty_drivers() -> pd.DataFrame:
    """Return a drivers table without rows (a survey whose indicators name no drivers)."""
    dtypes = {"VARCHAR": "str", "DOUBLE": "float64", "BIGINT": "Int64", "BOOLEAN": "bool"}
    return pd.DataFrame(
        {c: pd.Series(dtype=dtypes[sql]) for c, sql in TABLE_COLUMNS[DRIVERS].items()}
    )


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

    def by_name(self) -> dict[str, pd.DataFrame]:
        """Return the tables under their database names, in the contract's order."""
        return {
            ESTIMATES: self.estimates,
            TRENDS: self.trends,
            STATUS: self.status,
            METHODOLOGY: self.methodology,
            DRIVERS: self.drivers,
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
    if name not in TABLE_COLUMNS:
        raise ValidationError(
            f"Unknown published table `{name}`",
            expected=f"one of {', '.join(TABLE_COLUMNS)}",
            found=name,
            hint="export only the tables of the indicator contract",
        )
    contract = table_columns(name, domains)
    _check_disclosed(table, name)
    missing = [c for c in contract if c not in table.columns]
    if missing:
        raise ValidationError(
            f"Table `{name}` lacks columns of its contract",
            expected=", ".join(contract),
            found=f"missing: {', '.join(missing)}",
            hint="build the table with the producer of its contract (perception.indicators, "
            "perception.trends, perception.status, perception.exports.methodology_table)",
            column=missing[0],
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
    for column, allowed in TABLE_VALUES[name].items():
        _check_values(ordered[column], allowed, name)
    _check_unique(ordered, name, table_keys(name, domains))
    _check_hidden(ordered, name)
    return ordered


def _check_disclosed(table: pd.DataFrame, name: str) -> None:
    """Refuse Table 1, 2 or the drivers table when it lacks the disclosure columns."""
    if name not in _HIDDEN_WHEN_SUPPRESSED:
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
    columns = _HIDDEN_WHEN_SUPPRESSED.get(name, ())
    if not columns:
        return
    shown = table["suppressed"].to_numpy(dtype=bool) & table[list(columns)].notna().any(
        axis=1
    ).to_numpy(dtype=bool)
    if shown.any():
        rows = [int(i) for i in shown.nonzero()[0]]
        raise ValidationError(
            f"Table `{name}` shows values on suppressed rows",
            expected=f"NA in {', '.join(columns)} wherever suppressed is true",
            found=f"{len(rows)} suppressed row(s) with a value",
            hint="apply perception.disclosure to the table before exporting it",
            rows=rows,
        )


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
                ("estimates", "trends", "status", "methodology", "drivers"),
                tables.by_name().items(),
                strict=True,
            )
        }
    )
    surveys = sorted({s for t in checked.by_name().values() for s in t["survey"].dropna()})
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
        set(checked.estimates["wave"])
        | set(checked.trends["wave"])
        | set(checked.trends["reference_wave"].dropna())
        | set(checked.status["latest_wave"].dropna())
        | set(checked.drivers["wave"])
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


STATUS_PARTS: Mapping[str, tuple[str, ...]] = {
    "estimate": ("estimate", "ci_low", "ci_high"),
    "previous": (
        "change_previous",
        "change_previous_ci_low",
        "change_previous_ci_high",
        "change_previous_p",
    ),
    "baseline": (
        "change_baseline",
        "change_baseline_ci_low",
        "change_baseline_ci_high",
        "change_baseline_p",
    ),
}
"""Columns of Table 3 that repeat a national cell: its Table 1 estimate, its Table 2 changes."""


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
