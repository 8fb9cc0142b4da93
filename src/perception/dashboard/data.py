"""The dashboard's view of the published tables: checked once, then looked up by key.

Input is the mapping of published tables that the exports write (the DuckDB table names):
``indicator_estimates`` (Table 1), ``indicator_trends`` (Table 2), ``benchmark_status``
(Table 3) and ``methodology``, each checked against its schema by the export gate
(:func:`perception.exports.contract.check_published`): exactly its columns and types, the
disclosure columns on Tables 1 and 2, and no value on a suppressed row. Every number the
dashboard shows comes from Tables 1 and 2; Table 3 gives each indicator's labels, direction,
target and status, and the methodology table the wave-level facts. The published drivers table
(``indicator_drivers``, optional) gives the marginal effects of the drivers view,
under the same checks. The published small-area table (``small_area_estimates``,
optional) gives the map's model-based view: its rows at the map's area level, refused when an
area hidden in Table 1 has anything but a synthetic estimate there
(:func:`perception.small_area.audit_small_areas`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import pandas as pd

from perception.config import Catalogue, Label, SurveyConfig
from perception.config.indicators import NATIONAL as NATIONAL_SET
from perception.config.indicators import domain_set_columns
from perception.errors import ConfigError, ValidationError
from perception.exports.contract import check_published
from perception.small_area import audit_small_areas
from perception.tables import DISCLOSURE_COLUMNS, DRIVERS, SMALL_AREAS
from perception.tables import TABLES as SCHEMAS
from perception.words import (
    FLAG_MARK,
    NBSP,
    Lang,
    interval,
    number,
    percent_sign,
    points,
    say,
    value_decimals,
)

__all__ = [
    "DISCLOSURE_COLUMNS",
    "TABLES",
    "AreaCell",
    "Cell",
    "Change",
    "DashboardData",
    "Effect",
    "Indicator",
    "prepare",
]

VARIANT = "all"
_VALUES = ("estimate", "ci_low", "ci_high")

DomainKey = tuple[tuple[str, int], ...]
"""A domain: its (column, code) pairs sorted by column name; ``()`` is the whole population."""
NATIONAL: DomainKey = ()
State = Literal["value", "suppressed", "not_asked", "no_data", "not_estimated"]

#: The published tables the dashboard reads; the drivers and small-area tables are optional
#: inputs: without the first the drivers view says that no indicator names ``drivers:``, without
#: the second (or without rows at the map's level) the map shows direct estimates only.
TABLES: tuple[str, ...] = tuple(n for n in SCHEMAS if n not in (DRIVERS, SMALL_AREAS))


@dataclass(frozen=True)
class AreaCell:
    """One published model-based (Fay-Herriot) estimate of an area, as the map shows it."""

    kind: Literal["eblup", "synthetic"]
    estimate: float
    ci_low: float
    ci_high: float
    cv: float


@dataclass(frozen=True)
class Cell:
    """One published estimate, as the dashboard may show it."""

    state: State
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int | None = None
    flagged: bool = False
    se: float = math.nan
    n_weighted: float = math.nan

    @property
    def has_interval(self) -> bool:
        """Whether the cell has a value and a confidence interval (a poll may have none)."""
        return self.state == "value" and math.isfinite(self.ci_low + self.ci_high)


MISSING = Cell("not_estimated")


@dataclass(frozen=True)
class Change:
    """One published change between two waves (national)."""

    reference_wave: str
    suppressed: bool
    estimate: float
    ci_low: float
    ci_high: float
    direction: str
    flagged: bool
    significant: bool = False
    """Significant after Benjamini-Hochberg with an interval excluding 0 (Table 2's verdict)."""


@dataclass(frozen=True)
class Indicator:
    """What the dashboard knows about one indicator."""

    id: str
    benchmark: str
    type: str
    unit: str
    direction: str
    label: Label
    status: str
    reason: Label
    target: float
    target_date: str
    latest_wave: str

    @property
    def scale(self) -> float:
        """Return the factor from stored values to displayed ones (fractions to percent)."""
        return 100.0 if self.unit == "percent" else 1.0

    @property
    def signed(self) -> bool:
        """Tell whether values have a meaningful sign (net scores and gaps)."""
        return self.type in ("net", "gap")

    def suffix(self, lang: Lang, *, change: bool = False) -> str:
        """Return the unit written after a value (or after a change when ``change``)."""
        if self.unit != "percent":
            return ""
        if self.type == "proportion" and not change:
            return percent_sign(lang)
        return NBSP + points(lang)

    @property
    def decimals(self) -> int:
        """Return the decimals shown (:func:`perception.words.value_decimals`)."""
        return value_decimals(self.unit, self.type)

    def value(
        self, value: float, lang: Lang, *, change: bool = False, decimals: int | None = None
    ) -> str:
        """Format a stored value (or a change when ``change``) for display."""
        places = self.decimals if decimals is None else decimals
        text = number(value * self.scale, places, lang, signed=change or self.signed)
        return text + self.suffix(lang, change=change)

    def ci(self, low: float, high: float, lang: Lang, *, change: bool = False) -> str:
        """Format a confidence interval of a stored value (of a change when ``change``)."""
        if not math.isfinite(low + high):
            return say("no_margin", lang)
        signed = change or self.signed
        low_text = number(low * self.scale, self.decimals, lang, signed=signed)
        high_text = number(high * self.scale, self.decimals, lang, signed=signed)
        return interval(low_text, high_text, lang)

    def axis_title(self, lang: Lang) -> str:
        """Return the y-axis title of the indicator's values."""
        if self.unit != "percent":
            return say("score", lang)
        return say("percent_points", lang) if self.signed else "%"

    def cell_text(self, cell: Cell, lang: Lang, *, decimals: int | None = None) -> str:
        """Return what a cell shows: the value (with the flag mark) or why there is none."""
        if cell.state == "value":
            text = self.value(cell.estimate, lang, decimals=decimals)
            return text + FLAG_MARK if cell.flagged else text
        return state_word(cell.state, lang)


def state_word(state: State, lang: Lang) -> str:
    """Return the word shown for a cell without a value."""
    return say(state, lang)


@dataclass(frozen=True)
class Effect:
    """One published marginal effect of a driver level (``suppressed``: no value)."""

    indicator: str
    wave: str
    driver: str
    driver_label: Label
    level_label: Label
    reference_label: Label
    estimate: float
    ci_low: float
    ci_high: float
    unit: str
    n_level: int | None
    n_reference: int | None
    n: int | None
    suppressed: bool
    flagged: bool


@dataclass(frozen=True)
class WaveFacts:
    """One row of the methodology table."""

    wave: str
    fieldwork: tuple[str, ...]
    provider: dict[str, str]
    """Who collected the data, by language."""
    mode: str
    """How the answers were collected: a code of ``perception.tables.INTERVIEW_MODES`` or ""."""
    n_respondents: int | None
    deff_kish: float
    n_eff: float
    moe_95: float
    design: dict[str, str]
    """The sample design in words, by language (strata, clusters or their absence)."""
    weighting: dict[str, str]
    """How the weights were made, in words, by language."""


@dataclass(frozen=True)
class DashboardData:
    """The published tables of one survey, checked and indexed for the dashboard."""

    survey: SurveyConfig
    catalogue: Catalogue
    benchmarks: dict[str, Label]
    waves: list[str]
    indicators: dict[str, Indicator]
    cells: dict[tuple[str, str, DomainKey], Cell]
    changes: dict[tuple[str, str, str], Change]
    domain_sets: dict[str, list[str]]
    facts: list[WaveFacts]
    suppress_below: int
    flag_below: int
    n_suppressed: int
    n_flagged: int
    complementary: bool
    tables_generated: str
    effects: tuple[Effect, ...] = ()
    """The published drivers table's effects, in table order (empty without that table)."""
    areas: dict[tuple[str, str, int], AreaCell] = field(default_factory=dict)
    """Model-based estimates at the map's level by (indicator, wave, area code); may be empty."""
    area_methods: tuple[str, ...] = ()
    """The small-area table's methods at the map's level (``fay_herriot_reml_arcsin``...)."""

    @property
    def domains(self) -> tuple[str, ...]:
        """Return the survey's domain columns, in order."""
        return self.catalogue.domain_columns

    @property
    def breakdowns(self) -> tuple[str, ...]:
        """Return the breakdowns of the trends view: national, then every domain column."""
        return ("national", *self.domains)

    def heatmap_columns(self) -> tuple[str, tuple[str, ...]] | None:
        """Return the heatmap's default indicator and dimensions, or None without a crossing.

        The dimensions are the crossed domain set with the most columns of the first indicator
        (benchmark, then catalogue order) published in a crossed set, the first listed on ties.
        """
        for ind in self.ordered_indicators(gaps=False):
            sets = [domain_set_columns(name, self.domains) for name in self.domain_sets[ind.id]]
            crossed = [columns for columns in sets if len(columns) >= 2]
            if crossed:
                return ind.id, max(crossed, key=len)
        return None

    def present_codes(self, column: str) -> list[int]:
        """Return the codes of a domain column that some published cell uses, sorted."""
        return sorted({dict(key)[column] for _, _, key in self.cells if column in dict(key)})

    def cell(self, indicator: str, wave: str, key: DomainKey = NATIONAL) -> Cell:
        """Return the published cell of an indicator, wave and domain (or MISSING)."""
        return self.cells.get((indicator, wave, key), MISSING)

    def wave_label(self, wave: str, lang: Lang) -> str:
        """Return a wave's label from the survey configuration."""
        for config in self.survey.waves:
            if config.id == wave:
                text: str = getattr(config.label, lang)
                return text
        return wave

    def code_label(self, column: str, code: int, lang: Lang) -> str:
        """Return the label of a domain code as a group of people ("Women", a region...)."""
        text: str = getattr(self.catalogue.group_label(column, code), lang)
        return text

    def column_label(self, column: str, lang: Lang) -> str:
        """Return the label of a breakdown (a catalogue variable, or "national")."""
        if column == "national":
            return say("national", lang)
        text: str = getattr(self.catalogue.variables[column].label, lang)
        return text

    def codes(self, column: str) -> list[int]:
        """Return the codes of a domain column, in catalogue order."""
        return list(self.catalogue.codes(column))

    def ordered_indicators(self, *, gaps: bool) -> list[Indicator]:
        """Return the gap indicators, or the others, in benchmark then table order."""
        chosen = [ind for ind in self.indicators.values() if (ind.type == "gap") == gaps]
        order = list(self.benchmarks)
        return sorted(chosen, key=lambda ind: order.index(ind.benchmark))

    def driver_indicators(self) -> list[str]:
        """Return the indicators with a drivers model, in benchmark then table order."""
        modelled = {e.indicator for e in self.effects}
        return [i.id for i in self.ordered_indicators(gaps=False) if i.id in modelled]

    def driver_effects(self, indicator: str, wave: str) -> list[Effect]:
        """Return the effects of an indicator's drivers in a wave, in table order."""
        return [e for e in self.effects if e.indicator == indicator and e.wave == wave]

    def area_cell(self, indicator: str, wave: str, code: int) -> AreaCell | None:
        """Return the model-based estimate of an area (None when the table has none)."""
        return self.areas.get((indicator, wave, code))

    def latest_wave(self, indicator: str, key: DomainKey = NATIONAL) -> str:
        """Return the latest wave in which an indicator was asked (or the last wave)."""
        for wave in reversed(self.waves):
            if self.cell(indicator, wave, key).state != "not_asked":
                return wave
        return self.waves[-1]


def domain_key(codes: Mapping[str, Any]) -> DomainKey:
    """Build a domain key from domain codes by column (NA and None are left out)."""
    return tuple(sorted((c, int(v)) for c, v in codes.items() if v is not None and not pd.isna(v)))


def prepare(
    tables: Mapping[str, pd.DataFrame],
    *,
    catalogue: Catalogue,
    survey: SurveyConfig,
    benchmark_labels: Mapping[str, Label],
) -> DashboardData:
    """Check the published tables of ``survey.survey`` and index them for the dashboard."""
    domains = catalogue.domain_columns
    frames = {name: _checked(tables, name, survey.survey, domains) for name in TABLES}
    estimates = frames["indicator_estimates"]
    estimates = estimates[estimates["variant"] == VARIANT]
    trends = frames["indicator_trends"]
    trends = trends[trends["variant"] == VARIANT]
    waves = _waves(estimates, survey)
    _check_codes(estimates, catalogue)
    order = {column: rank for rank, column in enumerate(domains)}
    sets = [domain_set_columns(str(name), domains) for name in estimates["domain_set"].unique()]
    unknown = sorted({c for columns in sets for c in columns if c not in order})
    if unknown:
        raise ValidationError(
            "The indicator table has domain sets by variables that are not domains",
            expected=f"domain sets of the catalogue's domains: {', '.join(domains)}",
            found=f"domain column(s) {', '.join(unknown)}",
            hint="compute the tables with the same config/variables.yaml",
            column="domain_set",
        )
    indicators = _indicators(frames["benchmark_status"], estimates, benchmark_labels)
    method = frames["methodology"]
    first = method.iloc[0]
    both = pd.concat([estimates[list(DISCLOSURE_COLUMNS)], trends[list(DISCLOSURE_COLUMNS)]])
    return DashboardData(
        survey=survey,
        catalogue=catalogue,
        benchmarks=dict(benchmark_labels),
        waves=waves,
        indicators=indicators,
        cells=_cells(estimates, domains, set(survey.nonprobability_waves())),
        changes=_changes(trends),
        domain_sets={
            str(ind): list(dict.fromkeys(group))
            for ind, group in estimates.groupby("indicator", sort=False)["domain_set"]
        },
        facts=[_facts(row) for _, row in method.iterrows()],
        suppress_below=int(first["suppress_below"]),
        flag_below=int(first["flag_below"]),
        n_suppressed=int(both["suppressed"].astype(bool).sum()),
        n_flagged=int(both["flagged"].astype(bool).sum()),
        complementary=bool(both["disclosure"].astype(str).str.contains("complementary").any()),
        tables_generated=_text(first["generated_at"]),
        effects=_effects(tables, survey.survey, domains) if DRIVERS in tables else (),
        **_areas(tables, survey, frames["indicator_estimates"]),
    )


def _checked(
    tables: Mapping[str, pd.DataFrame], name: str, survey: str, domains: tuple[str, ...]
) -> pd.DataFrame:
    """Return one table restricted to the survey, checked against its schema (the export gate)."""
    if name not in tables:
        raise ValidationError(
            f"The dashboard needs the published table {name}",
            expected=f"tables {', '.join(TABLES)}",
            found=f"tables {', '.join(sorted(tables)) or 'none'}",
            hint="pass the published tables (the exports' DuckDB tables of the same names)",
        )
    frame = check_published(tables[name], name, domains)
    selected = frame[frame["survey"] == survey]
    if selected.empty and name != "indicator_trends":  # a first wave has no changes yet
        raise ValidationError(
            f"Table {name} has no rows for survey {survey!r}",
            expected=f"rows with survey == {survey!r}",
            found=f"surveys {sorted(map(str, frame['survey'].unique()))}",
            hint="pass the tables of the survey named in survey.yaml",
            column="survey",
        )
    return selected


def _waves(estimates: pd.DataFrame, survey: SurveyConfig) -> list[str]:
    """Return the waves with estimates, in survey order; reject unknown waves."""
    configured = [wave.id for wave in survey.waves]
    present = set(estimates["wave"].astype(str))
    unknown = sorted(present - set(configured))
    if unknown:
        raise ValidationError(
            "The indicator table has waves that survey.yaml does not list",
            expected=f"waves among {', '.join(configured)}",
            found=f"wave(s) {', '.join(unknown)}",
            hint="pass the survey configuration the tables were computed from",
            column="wave",
        )
    return [wave for wave in configured if wave in present]


def _check_codes(estimates: pd.DataFrame, catalogue: Catalogue) -> None:
    """Reject domain codes that the catalogue does not label."""
    for column in catalogue.domain_columns:
        known = set(catalogue.codes(column))
        values = estimates[column].dropna().astype(int)
        bad = values[~values.isin(known)]
        if not bad.empty:
            raise ValidationError(
                f"The indicator table has {column} codes that the catalogue does not define",
                expected=f"codes {', '.join(map(str, sorted(known)))}",
                found=f"code(s) {', '.join(map(str, sorted(set(bad))))}",
                hint="compute the tables with the same config/variables.yaml",
                column=column,
                rows=[int(i) for i in bad.index[:10]],
            )


def _indicators(
    status: pd.DataFrame, estimates: pd.DataFrame, benchmark_labels: Mapping[str, Label]
) -> dict[str, Indicator]:
    """Describe every indicator of Table 1 from Table 3 (labels, status) and Table 1 (unit)."""
    unlabelled = sorted(set(estimates["indicator"]) - set(status["indicator"]))
    if unlabelled:
        raise ValidationError(
            "Indicators of the estimates table are missing from the benchmark status table",
            expected="one benchmark_status row per indicator (its labels and status)",
            found=f"no status for {', '.join(unlabelled)}",
            hint="pass the benchmark_status table computed with the estimates",
            column="indicator",
        )
    unknown = sorted(set(status["benchmark"]) - set(benchmark_labels))
    if unknown:
        raise ConfigError(
            "Benchmarks of the status table have no label",
            expected=f"labels for benchmarks {', '.join(sorted(set(status['benchmark'])))}",
            found=f"no label for {', '.join(unknown)}",
            hint="pass benchmark_labels from config/indicators.yaml (benchmarks: ... label:)",
        )
    kinds = estimates.drop_duplicates("indicator").set_index("indicator")
    out: dict[str, Indicator] = {}
    for row in status.itertuples(index=False):
        ident = str(row.indicator)
        if ident not in kinds.index:
            continue
        out[ident] = Indicator(
            id=ident,
            benchmark=str(row.benchmark),
            type=str(kinds.at[ident, "type"]),
            unit=str(kinds.at[ident, "unit"]),
            direction=str(row.direction),
            label=Label(en=str(row.label_en), fr=str(row.label_fr)),
            status=str(row.status),
            reason=Label(en=_text(row.reason_en) or "-", fr=_text(row.reason_fr) or "-"),
            target=_float(row.target),
            target_date=_text(row.target_date),
            latest_wave=str(row.latest_wave),
        )
    return out


def _cells(
    estimates: pd.DataFrame, domains: tuple[str, ...], nonprobability: set[str]
) -> dict[tuple[str, str, DomainKey], Cell]:
    """Index Table 1's cells by (indicator, wave, domain).

    A wave of ``nonprobability`` may have estimates without an interval (no reference wave):
    their cells have NaN ``ci_low`` and ``ci_high``, which the views show as "no margin of
    error".
    """
    out: dict[tuple[str, str, DomainKey], Cell] = {}
    columns = ["indicator", "wave", *_VALUES, "n", "availability", "suppressed", "flagged"]
    columns += ["se", "n_weighted"]
    codes = estimates[list(domains)].astype(object).to_dict("records")
    rows = estimates[columns].itertuples(index=False, name=None)
    for position, (row, domain) in enumerate(zip(rows, codes, strict=True)):
        ind, wave, est, low, high, n, availability, suppressed, flagged, se, weighted = row
        key = (str(ind), str(wave), domain_key({str(k): v for k, v in domain.items()}))
        count = None if pd.isna(n) else int(n)
        if availability == "not_asked":
            out[key] = Cell("not_asked")
        elif bool(suppressed):
            out[key] = Cell("suppressed", n=count)
        elif availability == "no_data":
            out[key] = Cell("no_data", n=count)
        elif pd.isna(est) or ((pd.isna(low) or pd.isna(high)) and str(wave) not in nonprobability):
            raise ValidationError(
                "An estimated, unsuppressed cell of the indicator table has no value",
                expected="estimate, ci_low and ci_high on every estimated row",
                found=f"NA in indicator {ind}, wave {wave}",
                hint="check availability and disclosure of the table",
                rows=[position],
            )
        else:
            out[key] = Cell(
                "value",
                float(est),
                float(low),
                float(high),
                count,
                bool(flagged),
                _float(se),
                _float(weighted),
            )
    return out


def _changes(trends: pd.DataFrame) -> dict[tuple[str, str, str], Change]:
    """Index Table 2's national changes by (indicator, comparison, wave)."""
    national = trends[trends["domain_set"] == NATIONAL_SET]
    out: dict[tuple[str, str, str], Change] = {}
    for row in national.itertuples(index=False):
        out[(str(row.indicator), str(row.comparison), str(row.wave))] = Change(
            reference_wave=str(row.reference_wave),
            suppressed=bool(row.suppressed),
            estimate=_float(row.estimate),
            ci_low=_float(row.ci_low),
            ci_high=_float(row.ci_high),
            direction=str(row.direction),
            flagged=bool(row.flagged),
            significant=bool(row.significant) and not bool(row.suppressed),
        )
    return out


def _effects(
    tables: Mapping[str, pd.DataFrame], survey: str, domains: tuple[str, ...]
) -> tuple[Effect, ...]:
    """Read the published drivers table's effects (rows of a model without one are skipped)."""
    frame = tables[DRIVERS]
    if frame.empty:
        return ()
    frame = _checked(tables, DRIVERS, survey, domains)
    out: list[Effect] = []
    for row in frame[frame["driver"].notna()].itertuples(index=False):
        out.append(
            Effect(
                indicator=str(row.indicator),
                wave=str(row.wave),
                driver=str(row.driver),
                driver_label=Label(en=str(row.driver_label_en), fr=str(row.driver_label_fr)),
                level_label=Label(en=str(row.level_label_en), fr=str(row.level_label_fr)),
                reference_label=Label(
                    en=str(row.reference_label_en), fr=str(row.reference_label_fr)
                ),
                estimate=_float(row.estimate),
                ci_low=_float(row.ci_low),
                ci_high=_float(row.ci_high),
                unit=str(row.unit),
                n_level=_count(row.n_level),
                n_reference=_count(row.n_reference),
                n=_count(row.n),
                suppressed=bool(row.suppressed),
                flagged=bool(row.flagged),
            )
        )
    return tuple(out)


def _areas(
    tables: Mapping[str, pd.DataFrame], survey: SurveyConfig, published: pd.DataFrame
) -> dict[str, Any]:
    """Read the small-area table's rows at the map's level (``areas`` and ``area_methods``).

    The table must agree with the published Table 1 (``published``, every variant): an area
    hidden there has a synthetic estimate and no direct value, or the table is refused.
    """
    frame = tables.get(SMALL_AREAS)
    level = survey.map_variable
    if frame is None or frame.empty or level is None:
        return {}
    frame = check_published(frame, SMALL_AREAS, ())
    frame = frame[frame["survey"].eq(survey.survey)].reset_index(drop=True)
    problems = audit_small_areas(frame, published)
    if problems:
        raise ValidationError(
            f"Table {SMALL_AREAS} shows what the published indicator table hides",
            expected="a synthetic estimate, with no direct value, for every hidden area",
            found="; ".join(problems[:5]),
            hint="publish the small-area table refitted on the published indicator table "
            "(perception.small_area.publish_small_areas)",
        )
    mine = frame[frame["variant"].eq(VARIANT) & frame["domain_set"].eq(level)]
    areas = {
        (str(row.indicator), str(row.wave), int(str(row.area))): AreaCell(
            kind="synthetic" if row.kind == "synthetic" else "eblup",
            estimate=_float(row.estimate),
            ci_low=_float(row.ci_low),
            ci_high=_float(row.ci_high),
            cv=_float(row.cv),
        )
        for row in mine.itertuples(index=False)
    }
    return {"areas": areas, "area_methods": tuple(sorted(set(mine["method"].astype(str))))}


def _count(value: Any) -> int | None:
    """Return a count, None for NA."""
    return None if pd.isna(value) else int(value)


def _facts(row: pd.Series) -> WaveFacts:
    """Read one methodology row."""
    dates = (_text(row["fieldwork_start"]), _text(row["fieldwork_end"]))
    return WaveFacts(
        wave=str(row["wave"]),
        fieldwork=tuple(d for d in dates if d),
        provider={"en": _text(row["provider_en"]), "fr": _text(row["provider_fr"])},
        mode=_text(row["interview_mode"]),
        n_respondents=None if pd.isna(row["n_respondents"]) else int(row["n_respondents"]),
        deff_kish=_float(row["deff_kish"]),
        n_eff=_float(row["n_eff"]),
        moe_95=_float(row["moe_95"]),
        design={"en": _text(row["design_en"]), "fr": _text(row["design_fr"])},
        weighting={"en": _text(row["weighting_en"]), "fr": _text(row["weighting_fr"])},
    )


def _float(value: Any) -> float:
    """Return a float, NaN for NA."""
    return math.nan if pd.isna(value) else float(value)


def _text(value: Any) -> str:
    """Write a cell as text: dates as ISO dates, timestamps to the minute, NA as empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
