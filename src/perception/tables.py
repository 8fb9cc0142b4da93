"""Every published table's schema: its columns, types, keys, coded values and descriptions.

This module is the one definition of the tables the library publishes: Table 1
(``indicator_estimates``), Table 2 (``indicator_trends``), Table 3 (``benchmark_status``), the
``methodology`` and the drivers table (``indicator_drivers``). Their producers build them from
it, :mod:`perception.disclosure` blanks the columns it marks ``hidden``,
:mod:`perception.exports` checks and writes every output against it (with its descriptions as
DuckDB comments), and :mod:`perception.readback` reads the outputs back against it.

Types are the portable SQL subset of DuckDB and PostgreSQL (``VARCHAR``, ``DOUBLE``,
``BIGINT``, ``BOOLEAN``, ``DATE``); :func:`Table.dtypes` gives the pandas dtype of each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from perception.words import LANGS

SqlType = Literal["VARCHAR", "DOUBLE", "BIGINT", "BOOLEAN", "DATE"]
Scale = Literal["level", "change", "share"]
"""What a value column holds: an indicator's level, a change or gap of it, or a share (0-1)."""

ESTIMATES = "indicator_estimates"
TRENDS = "indicator_trends"
STATUS = "benchmark_status"
METHODOLOGY = "methodology"
DRIVERS = "indicator_drivers"
SMALL_AREAS = "small_area_estimates"

DOMAIN_DTYPE = "Int64"
"""The dtype of every domain column (a catalogue code, NA where the domain set does not use it)."""
DOMAIN_SQL: SqlType = "BIGINT"
DOMAIN_SET = "domain_set"

DTYPES: Mapping[SqlType, str] = {
    "VARCHAR": "str",
    "DOUBLE": "float64",
    "BIGINT": "Int64",
    "BOOLEAN": "bool",
    "DATE": "datetime64[s]",
}
"""The pandas dtype a producer gives each SQL type (read back, ``DATE`` holds datetime.date)."""

# Coded values of the text columns.
VARIANTS: tuple[str, ...] = ("all", "excl_dk")
TYPES: tuple[str, ...] = ("proportion", "mean", "net", "index", "gap")
UNITS: tuple[str, ...] = ("percent", "score")
AVAILABILITY: tuple[str, ...] = ("estimated", "not_asked", "no_data")
COMPARISONS: tuple[str, ...] = ("previous", "baseline")
DIRECTIONS: tuple[str, ...] = ("higher", "lower")
"""The good direction of an indicator."""
CHANGE_DIRECTIONS: tuple[str, ...] = ("improving", "worsening", "no change")
TERMS: tuple[str, ...] = ("short", "medium", "long")
INTERVIEW_MODES: tuple[str, ...] = ("face_to_face", "telephone", "sms", "ivr", "online", "mixed")
"""How a wave's answers were collected (``perception.config.InterviewMode``)."""
STATUSES: tuple[str, ...] = (
    "achieved",
    "on track",
    "off track",
    "insufficient evidence",
    "no target",
)
"""The benchmark statuses, in the order a tally lists them."""


LABEL_LANGS: tuple[str, ...] = LANGS
"""The languages of the label columns: perception.words' languages."""
LANGUAGE_NAMES: Mapping[str, str] = {"en": "English", "fr": "French"}
PERCENT = 100.0
"""The exports' scale of a share: percent 0-100 (changes of shares in percentage points)."""
UNIT_DESCRIPTIONS: Mapping[str, str] = {
    "value_unit": "Unit of the values of the row, as exported: percent (0-100), percentage "
    "points, score or score points.",
    "change_unit": "Unit of the changes of the row, as exported: percentage points or score "
    "points.",
}


def label_columns(column: str) -> tuple[str, ...]:
    """Return the names of a code column's labels in the exports: ``<column>_label_en``, ``_fr``."""
    return tuple(f"{column}_label_{lang}" for lang in LABEL_LANGS)


def value_unit(type_: str, unit: str) -> str:
    """Return the unit of an indicator's exported values: percent, percentage points or score."""
    if unit == "percent":
        return "percentage points" if type_ in ("net", "gap") else "percent"
    return "score points" if type_ == "gap" else "score"


def change_unit(unit: str) -> str:
    """Return the unit of an indicator's exported changes: percentage points or score points."""
    return "percentage points" if unit == "percent" else "score points"


def with_domains(columns: Iterable[str], domains: Sequence[str]) -> tuple[str, ...]:
    """Return a table's columns: its fixed ``columns`` and ``domains`` after ``domain_set``.

    This is the one rule of every table with domains (estimates, trends, published tables,
    exports, dashboard): the fixed columns of the table, with the survey's domain columns
    (``Catalogue.domain_columns``, each :data:`DOMAIN_DTYPE`) right after ``domain_set``.
    """
    out: list[str] = []
    for column in columns:
        out.append(column)
        if column == DOMAIN_SET:
            out.extend(domains)
    return tuple(out)


@dataclass(frozen=True)
class Column:
    """One column of a published table: its name, SQL type and what it holds.

    ``hidden``: disclosure control blanks it on a suppressed row (NA, or False for a
    ``BOOLEAN``), so a value there is a leak. ``values``: the codes a text column may take.
    ``scale``: how the analysts' exports scale it (:func:`to_export_scale`): ``level`` and
    ``change`` values of a percent indicator, and every ``share``, are written × 100.
    """

    name: str
    sql: SqlType
    description: str
    hidden: bool = False
    values: tuple[str, ...] = ()
    scale: Scale | None = None


DISCLOSURE: tuple[Column, ...] = (
    Column(
        "suppressed",
        "BOOLEAN",
        "True when the cell is hidden (too few respondents, or to protect another).",
    ),
    Column(
        "flagged", "BOOLEAN", "True when the cell rests on few respondents: interpret with caution."
    ),
    Column("disclosure", "VARCHAR", "Why the cell is suppressed or flagged."),
)
DISCLOSURE_COLUMNS: tuple[str, ...] = tuple(c.name for c in DISCLOSURE)
"""Columns appended by :mod:`perception.disclosure`; a table without them is not published."""


@dataclass(frozen=True)
class Table:
    """A published table: its fixed columns in order, keys, and whether it has domains.

    ``disclosed`` tables get :data:`DISCLOSURE` appended when published; ``domains`` tables
    have the survey's domain columns after ``domain_set`` (:func:`with_domains`). In the
    analysts' exports (:meth:`export_columns`) each ``labelled`` code column, and each domain
    column, is followed by its labels in English and French, and ``unit`` by the ``units``
    that name the scale of the values (:func:`value_unit`, :func:`change_unit`).
    """

    name: str
    description: str
    fixed: tuple[Column, ...]
    keys: tuple[str, ...]
    domains: bool = False
    disclosed: bool = False
    labelled: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    by_name: Mapping[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the columns by name."""
        every = (*self.fixed, *(DISCLOSURE if self.disclosed else ()))
        object.__setattr__(self, "by_name", {c.name: c for c in every})

    def columns(self, domains: Sequence[str] = (), *, published: bool = True) -> dict[str, SqlType]:
        """Return the columns and SQL types, for a survey's domains (before disclosure or not)."""
        fixed = self.fixed if not published else tuple(self.by_name.values())
        names = with_domains((c.name for c in fixed), domains if self.domains else ())
        return {n: self.by_name[n].sql if n in self.by_name else DOMAIN_SQL for n in names}

    def dtypes(self, domains: Sequence[str] = (), *, published: bool = True) -> dict[str, str]:
        """Return the columns and the pandas dtypes their producers give them, in order."""
        return {c: DTYPES[sql] for c, sql in self.columns(domains, published=published).items()}

    def key(self, domains: Sequence[str] = ()) -> tuple[str, ...]:
        """Return the columns identifying one row, for a survey's domains."""
        return with_domains(self.keys, domains if self.domains else ())

    @property
    def hidden(self) -> tuple[str, ...]:
        """Return the columns disclosure control blanks on a suppressed row."""
        return tuple(c.name for c in self.by_name.values() if c.hidden)

    def blank(self, frame: pd.DataFrame, rows: npt.ArrayLike) -> pd.DataFrame:
        """Return a copy with the :attr:`hidden` columns blank on ``rows`` (a boolean mask).

        Hidden numbers and texts become NA, hidden yes/no columns False: what disclosure
        control leaves on a suppressed row.
        """
        out = frame.copy()
        mask: npt.NDArray[np.bool_] = np.asarray(rows, dtype=bool)
        blanks: Mapping[SqlType, float | bool] = {"DOUBLE": np.nan, "BOOLEAN": False}
        for column in self.hidden:
            out.loc[mask, column] = blanks.get(self.by_name[column].sql, pd.NA)
        return out

    @property
    def hidden_values(self) -> tuple[str, ...]:
        """Return the numeric hidden columns: a value there shows the cell."""
        return tuple(c for c in self.hidden if self.by_name[c].sql == "DOUBLE")

    @property
    def values(self) -> dict[str, tuple[str, ...]]:
        """Return the codes each coded text column may take (NA aside)."""
        return {c.name: c.values for c in self.by_name.values() if c.values}

    def export_columns(self, domains: Sequence[str] = ()) -> dict[str, SqlType]:
        """Return the columns of the analysts' exports (CSV, Parquet, DuckDB), in order."""
        labelled = {*self.labelled, *(domains if self.domains else ())}
        out: dict[str, SqlType] = {}
        for column, sql in self.columns(domains).items():
            out[column] = sql
            if column in labelled:
                out.update(dict.fromkeys(label_columns(column), "VARCHAR"))
            if column == "unit":
                out.update(dict.fromkeys(self.units, "VARCHAR"))
        return out

    def description_of(self, column: str, domains: Sequence[str] = ()) -> str:
        """Return what a column holds, for its DuckDB comment."""
        if column in self.by_name:
            return self.by_name[column].description
        if column in domains:
            return f"Code of the domain variable {column} (NA where the breakdown does not use it)."
        if column in UNIT_DESCRIPTIONS:
            return UNIT_DESCRIPTIONS[column]
        code, _, lang = column.rpartition("_label_")
        return f"Label of {code} in {LANGUAGE_NAMES[lang]}."


TESTED: tuple[str, ...] = ("estimate", "se", "ci_low", "ci_high", "df", "p_value")
"""The columns of a tested difference (a gap, a change, a marginal effect), in order."""


def _c(
    name: str,
    sql: SqlType,
    description: str,
    *,
    hidden: bool = False,
    values: tuple[str, ...] = (),
    scale: Scale | None = None,
) -> Column:
    """Return a column (a short spelling for the tables below)."""
    return Column(name, sql, description, hidden=hidden, values=values, scale=scale)


def _in_each_language(name: str, what: str) -> tuple[Column, ...]:
    """Return the text columns ``<name>_en`` and ``<name>_fr``: ``what`` in each language."""
    return tuple(
        _c(f"{name}_{lang}", "VARCHAR", f"{what} in {LANGUAGE_NAMES[lang]}.")
        for lang in LABEL_LANGS
    )


_SURVEY = _c("survey", "VARCHAR", "Survey id (config survey.yaml).")
_WAVE = _c("wave", "VARCHAR", "Wave id.")
_INDICATOR = _c("indicator", "VARCHAR", "Indicator id (config indicators.yaml).")
_VARIANT = _c(
    "variant",
    "VARCHAR",
    "all: don't know kept in the base; excl_dk: don't know excluded.",
    values=VARIANTS,
)
_BENCHMARK = _c("benchmark", "VARCHAR", "Benchmark id the indicator reports to.")
_TYPE = _c("type", "VARCHAR", "Indicator type: proportion, mean, net, index or gap.", values=TYPES)
_UNIT = _c(
    "unit",
    "VARCHAR",
    "Unit of the indicator: percent (a fraction 0-1 in the library's tables, 0-100 in the "
    "exports) or score.",
    values=UNITS,
)
_DOMAIN_SET = _c(
    DOMAIN_SET,
    "VARCHAR",
    "Which breakdown the row belongs to (national, gender, gender×region...).",
)
_CELL = (_INDICATOR, _VARIANT, _BENCHMARK, _TYPE, _UNIT, _DOMAIN_SET)
"""The columns naming the indicator, variant and breakdown of a row of Tables 1 and 2."""
_ESTIMATE = "The estimate, in value_unit (percent 0-100, percentage points or score)."
_SE = "Design-based standard error of the estimate."
_CI_LOW = "Lower bound of the 95% confidence interval."
_CI_HIGH = "Upper bound of the 95% confidence interval."
_DF = _c("df", "DOUBLE", "Degrees of freedom of the interval (design df).")
_N_A = _c(
    "n_a", "BIGINT", "Respondents in the first group of a gap or the earlier wave of a change."
)
_N_B = _c(
    "n_b", "BIGINT", "Respondents in the second group of a gap or the later wave of a change."
)


def _tested(what: str, estimate: str, scale: Scale | None) -> tuple[Column, ...]:
    """Return the :data:`TESTED` columns of a difference: all hidden but ``df``."""
    low, high = (f"{side} bound of the 95% interval of the {what}." for side in ("Lower", "Upper"))
    se, p = f"Standard error of the {what}.", f"p-value of the {what} against zero."
    return tuple(
        _DF
        if name == "df"
        else _c(name, "DOUBLE", text, hidden=True, scale=None if name == "p_value" else scale)
        for name, text in zip(TESTED, (estimate, se, low, high, "", p), strict=True)
    )


_P_ADJUSTED = "Benjamini-Hochberg adjusted p-value over the published tests of its family."

ESTIMATES_TABLE = Table(
    ESTIMATES,
    "Table 1: every indicator by wave, variant (don't know kept or excluded) and domain, with "
    "its design-based standard error and 95% confidence interval, after disclosure control.",
    (
        _SURVEY,
        _WAVE,
        *_CELL,
        _c("estimate", "DOUBLE", _ESTIMATE, hidden=True, scale="level"),
        _c("se", "DOUBLE", _SE, hidden=True, scale="level"),
        _c("ci_low", "DOUBLE", _CI_LOW, hidden=True, scale="level"),
        _c("ci_high", "DOUBLE", _CI_HIGH, hidden=True, scale="level"),
        _DF,
        _c(
            "deff",
            "DOUBLE",
            "Design effect (variance against simple random sampling).",
            hidden=True,
        ),
        _c("n", "BIGINT", "Respondents in the base (unweighted)."),
        _c("n_weighted", "DOUBLE", "Weighted count of the base.", hidden=True),
        _c("n_eff", "DOUBLE", "Effective sample size (n / design effect).", hidden=True),
        _c(
            "dk_share",
            "DOUBLE",
            "Weighted share of don't know answers (percent 0-100 in the exports).",
            hidden=True,
            scale="share",
        ),
        _c("n_refused", "BIGINT", "Respondents who refused the item."),
        _c(
            "availability",
            "VARCHAR",
            "estimated, not_asked (the wave did not ask) or no_data (no respondent).",
            values=AVAILABILITY,
        ),
        _N_A,
        _N_B,
        _c("p_value", "DOUBLE", "p-value of a gap against zero.", hidden=True),
        _c("p_adjusted", "DOUBLE", _P_ADJUSTED, hidden=True),
    ),
    keys=("survey", "wave", "indicator", "variant", DOMAIN_SET),
    domains=True,
    disclosed=True,
    labelled=("wave", "indicator", "benchmark", DOMAIN_SET),
    units=("value_unit",),
)

TRENDS_TABLE = Table(
    TRENDS,
    "Table 2: the change of every indicator × domain since the previous wave and the "
    "baseline, with its interval and Benjamini-Hochberg adjusted p-value, after disclosure "
    "control.",
    (
        _SURVEY,
        *_CELL,
        _c(
            "comparison",
            "VARCHAR",
            "previous (since the previous wave) or baseline (since the first wave).",
            values=COMPARISONS,
        ),
        _c("wave", "VARCHAR", "The later wave of the change."),
        _c("reference_wave", "VARCHAR", "The wave the change is measured from."),
        *_tested("change", "The change (later minus earlier wave), in value_unit.", "change"),
        _c("p_adjusted", "DOUBLE", _P_ADJUSTED, hidden=True),
        _c(
            "significant",
            "BOOLEAN",
            "True when the adjusted p-value is below 0.05 and the interval excludes 0.",
            hidden=True,
        ),
        _c(
            "direction",
            "VARCHAR",
            "improving, worsening or no change, given the indicator's good direction.",
            hidden=True,
            values=CHANGE_DIRECTIONS,
        ),
        _c("n", "BIGINT", "Respondents in the later wave."),
        _N_A,
        _N_B,
    ),
    keys=("survey", "indicator", "variant", DOMAIN_SET, "comparison", "wave"),
    domains=True,
    disclosed=True,
    labelled=("indicator", "benchmark", DOMAIN_SET, "wave", "reference_wave", "direction"),
    units=("value_unit",),
)

_CHANGE = {"previous": "the previous wave", "baseline": "the baseline wave"}
STATUS_TABLE = Table(
    STATUS,
    "Table 3: each indicator's benchmark status (achieved, on track, off track, insufficient "
    "evidence, no target) with the sentence that explains it.",
    (
        _SURVEY,
        _INDICATOR,
        _BENCHMARK,
        _c("benchmark_term", "VARCHAR", "short, medium or long term benchmark.", values=TERMS),
        *_in_each_language("label", "Indicator label"),
        _TYPE,
        _UNIT,
        _c(
            "direction",
            "VARCHAR",
            "The indicator's good direction: higher or lower.",
            values=DIRECTIONS,
        ),
        _c("latest_wave", "VARCHAR", "The wave whose estimate is judged."),
        _c("estimate", "DOUBLE", "The latest national estimate, in value_unit.", scale="level"),
        _c("ci_low", "DOUBLE", _CI_LOW, scale="level"),
        _c("ci_high", "DOUBLE", _CI_HIGH, scale="level"),
        *(
            column
            for part, since in _CHANGE.items()
            for column in (
                _c(
                    f"change_{part}",
                    "DOUBLE",
                    f"Change since {since}, in change_unit.",
                    scale="change",
                ),
                _c(
                    f"change_{part}_ci_low",
                    "DOUBLE",
                    f"Lower 95% bound of the change since {since}.",
                    scale="change",
                ),
                _c(
                    f"change_{part}_ci_high",
                    "DOUBLE",
                    f"Upper 95% bound of the change since {since}.",
                    scale="change",
                ),
                _c(f"change_{part}_p", "DOUBLE", f"Adjusted p-value of the change since {since}."),
            )
        ),
        _c("target", "DOUBLE", "Target value, in value_unit.", scale="level"),
        _c("target_date", "DATE", "Date by which the target is to be reached."),
        _c("status", "VARCHAR", "Benchmark status.", values=STATUSES),
        *_in_each_language("reason", "Why the status,"),
    ),
    keys=("survey", "indicator"),
    labelled=("benchmark", "latest_wave", "status"),
    units=("value_unit", "change_unit"),
)

STATUS_PARTS: Mapping[str, tuple[str, ...]] = {
    "estimate": ("estimate", "ci_low", "ci_high"),
    **{
        part: (
            f"change_{part}",
            f"change_{part}_ci_low",
            f"change_{part}_ci_high",
            f"change_{part}_p",
        )
        for part in _CHANGE
    },
}
"""Columns of Table 3 that repeat a national cell: its Table 1 estimate, its Table 2 changes;
hidden when that cell is suppressed."""

METHODOLOGY_TABLE = Table(
    METHODOLOGY,
    "One row per wave: fieldwork, provider, interview mode, sample size, design effect, margin "
    "of error, weighting, sample design, variance method and the disclosure rules.",
    (
        _SURVEY,
        _WAVE,
        *_in_each_language("label", "Wave label"),
        _c("fieldwork_start", "DATE", "First day of fieldwork."),
        _c("fieldwork_end", "DATE", "Last day of fieldwork."),
        *_in_each_language("provider", "Who collected the data,"),
        _c(
            "interview_mode",
            "VARCHAR",
            "How the answers were collected (face_to_face, telephone, sms, ivr, online, mixed).",
            values=INTERVIEW_MODES,
        ),
        _c("source_file", "VARCHAR", "Name of the delivered data file."),
        _c("n_respondents", "BIGINT", "Respondents in the wave."),
        _c("deff_kish", "DOUBLE", "Kish design effect of the weights."),
        _c("n_eff", "DOUBLE", "Effective sample size (n / design effect)."),
        _c(
            "moe_95",
            "DOUBLE",
            "Margin of error at 95% of a 50% proportion (percentage points in the exports).",
            scale="share",
        ),
        *_in_each_language("weighting", "How the weights were made,"),
        *_in_each_language("design", "Sample design and variance method,"),
        _c(
            "variance_method",
            "VARCHAR",
            "taylor, a replicate type (JK1, JKn, BRR, Fay, bootstrap...), chen-li-wu or none.",
        ),
        _c("suppress_below", "BIGINT", "Cells with fewer respondents are suppressed."),
        _c("flag_below", "BIGINT", "Cells with fewer respondents are flagged."),
        _c("generated_at", "VARCHAR", "When the tables were computed (UTC)."),
    ),
    keys=("survey", "wave"),
)

DRIVERS_TABLE = Table(
    DRIVERS,
    "Survey-weighted regression of an indicator on its drivers: average marginal effect of "
    "each group against its reference group; associations, not causes.",
    (
        _SURVEY,
        _WAVE,
        _INDICATOR,
        _c(
            "model",
            "VARCHAR",
            "The regression family: binomial (logistic) or gaussian (linear).",
            values=("binomial", "gaussian"),
        ),
        _c("driver", "VARCHAR", "Driver variable."),
        *_in_each_language("driver_label", "Driver label"),
        _c("level", "BIGINT", "Code of the group."),
        *_in_each_language("level_label", "Group label"),
        _c("reference", "BIGINT", "Code of the reference group."),
        *_in_each_language("reference_label", "Reference group label"),
        *_tested("effect", "Average marginal effect against the reference group.", None),
        _c(
            "driver_p_value",
            "DOUBLE",
            "Wald test p-value of the driver as a whole.",
            hidden=True,
        ),
        _c(
            "unit",
            "VARCHAR",
            "Unit of the effects: percentage points or (score) points.",
            values=("percentage points", "points"),
        ),
        _c("n_level", "BIGINT", "Respondents in the group."),
        _c("n_reference", "BIGINT", "Respondents in the reference group."),
        _c("n", "BIGINT", "Respondents in the model."),
        *_in_each_language("note", "Note on the model or the group,"),
    ),
    keys=("survey", "wave", "indicator", "driver", "level"),
    disclosed=True,
    labelled=("wave", "indicator"),
    units=("value_unit",),
)

SMALL_AREAS_TABLE = Table(
    SMALL_AREAS,
    "Model-based (Fay-Herriot) estimates by area for indicators that list areas:, refitted on "
    "the published direct estimates; areas hidden by disclosure control or without respondents "
    "get the synthetic (regression) estimate. Not design-based survey estimates.",
    (
        _SURVEY,
        _WAVE,
        _INDICATOR,
        _VARIANT,
        _TYPE,
        _UNIT,
        _c(DOMAIN_SET, "VARCHAR", "The area level (a domain variable of the catalogue)."),
        _c("area", "BIGINT", "Code of the area in the area level."),
        _c(
            "kind",
            "VARCHAR",
            "eblup: the area's published direct estimate combined with the regression; "
            "synthetic: the regression prediction alone (no published direct estimate).",
            values=("eblup", "synthetic"),
        ),
        _c("n", "BIGINT", "Respondents behind the direct estimate (0 for a synthetic one)."),
        _c(
            "direct",
            "DOUBLE",
            "The published direct (design-based) estimate the EBLUP used.",
            scale="level",
        ),
        _c("direct_se", "DOUBLE", "Its design-based standard error.", scale="level"),
        _c("sampling_variance", "DOUBLE", "Sampling variance the model used (model scale)."),
        _c("variance_smoothed", "BOOLEAN", "True when it comes from the variance function."),
        _c("synthetic", "DOUBLE", "Regression prediction x'beta (model scale)."),
        _c("gamma", "DOUBLE", "Shrinkage factor: the weight of the direct estimate."),
        _c(
            "estimate",
            "DOUBLE",
            "The model-based estimate, in the indicator's unit.",
            scale="level",
        ),
        _c(
            "mse",
            "DOUBLE",
            "Prasad-Rao mean squared error of the estimate (for a percent indicator, of the "
            "proportion as a fraction 0-1).",
        ),
        _c("rmse", "DOUBLE", "Root mean squared error.", scale="level"),
        _c("cv", "DOUBLE", "Coefficient of variation: rmse / estimate."),
        _c(
            "ci_low",
            "DOUBLE",
            "Lower bound of the 95% interval (estimate ± 1.96 rmse).",
            scale="level",
        ),
        _c("ci_high", "DOUBLE", "Upper bound of the 95% interval.", scale="level"),
        _c("sigma2_u", "DOUBLE", "Variance of the area random effect (model scale)."),
        _c("method", "VARCHAR", "fay_herriot_<reml|ml|fh>, with _arcsin on that scale."),
        *_in_each_language("basis", "What the number is (model-based),"),
    ),
    keys=("survey", "wave", "indicator", "variant", "domain_set", "area"),
)

TABLES: Mapping[str, Table] = {
    t.name: t
    for t in (
        ESTIMATES_TABLE,
        TRENDS_TABLE,
        STATUS_TABLE,
        METHODOLOGY_TABLE,
        DRIVERS_TABLE,
        SMALL_AREAS_TABLE,
    )
}
"""Every published table, by its database name, in the order the exports write them."""


def reserved_columns() -> frozenset[str]:
    """Return every fixed column name of the published tables (no domain may take one)."""
    return frozenset(c for t in TABLES.values() for c in t.by_name)


def to_export_scale(frame: pd.DataFrame, schema: Table, *, back: bool = False) -> pd.DataFrame:
    """Return a published table on the exports' scale, or ``back`` on the library's.

    The one conversion between the two: the ``level`` and ``change`` columns of a percent
    indicator (``unit`` percent) and every ``share`` column are × :data:`PERCENT` in the
    exports, so proportions read 0-100 and their changes, gaps and net scores percentage
    points; scores keep their own unit.
    """
    percent = (
        frame["unit"].eq("percent").to_numpy(dtype=bool, na_value=False)
        if "unit" in frame.columns
        else np.zeros(len(frame), dtype=bool)
    )
    out = frame.copy()
    for column in schema.by_name.values():
        if column.scale is None or column.name not in out.columns:
            continue
        factor = np.where(percent | (column.scale == "share"), PERCENT, 1.0)
        values = out[column.name].to_numpy(dtype=np.float64, na_value=np.nan)
        out[column.name] = values / factor if back else values * factor
    return out
