"""The content of a results brief, from the published tables only, in one language.

:func:`build_briefs` reads the published tables as the dashboard does
(:func:`perception.dashboard.data.prepare`: disclosure columns required, no suppressed value)
and returns a :class:`Brief` per language: per benchmark, each indicator's status badge and
paragraph (worded by :mod:`perception.brief.rules`), the scorecard, the headline indicator by
every domain with 95% CIs (flagged values in parentheses, suppressed ones as ``*``, as DHS
reports mark them), the exported chart images and a methodology note. The writers
(:mod:`perception.brief.docx`, :mod:`perception.brief.pdf`) only lay it out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perception.brief import rules
from perception.config import (
    BriefConfig,
    Catalogue,
    IndicatorCatalogue,
    Label,
    SurveyConfig,
    Templates,
)
from perception.config.indicators import NATIONAL as NATIONAL_SET
from perception.dashboard.data import Cell, Change, DashboardData, prepare
from perception.dashboard.data import Indicator as IndicatorView
from perception.errors import ConfigError
from perception.words import (
    LANGS,
    Lang,
    format_date,
    margin,
    month_year,
    number,
    say,
    status_label,
)

FLAG_OPEN, FLAG_CLOSE, SUPPRESSED_MARK = "(", ")", "*"
_IMAGE_TITLES = {
    "gaps": "gaps_title",
    "trends": "trends",
    "map": "map",
    "heatmap": "heatmap",
    "drivers": "drivers",
}


@dataclass(frozen=True)
class Table:
    """A formatted table: a caption, a header row, body rows of text and notes under it."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Paragraph:
    """One indicator's paragraph, with its status badge."""

    indicator: str
    badge: str
    text: str


@dataclass(frozen=True)
class Section:
    """One benchmark: its label and its indicators' paragraphs."""

    heading: str
    paragraphs: tuple[Paragraph, ...]


@dataclass(frozen=True)
class Image:
    """A chart image exported with the dashboard, and its caption."""

    path: Path
    caption: str


@dataclass(frozen=True)
class Brief:
    """Everything one language's brief says, in reading order."""

    lang: Lang
    title: str
    intro: str
    scorecard_heading: str
    scorecard: Table
    sections: tuple[Section, ...]
    headline: Table
    images_heading: str
    images: tuple[Image, ...]
    methodology_heading: str
    methodology: Table


def build_briefs(
    tables: Mapping[str, pd.DataFrame],
    *,
    catalogue: Catalogue,
    survey: SurveyConfig,
    indicators: IndicatorCatalogue,
    config: BriefConfig,
    wave: str | None = None,
    images: Path | None = None,
) -> dict[Lang, Brief]:
    """Build the English and French briefs of ``wave`` (default the latest) from the tables.

    ``tables`` are the published tables by their DuckDB names (``indicator_estimates``,
    ``indicator_trends``, ``benchmark_status``, ``methodology``); ``images`` the folder of the
    dashboard's exported charts (``<images>/<lang>/*.png``), if any.

    Raises
    ------
    ValidationError
        If a table is not publishable (see :func:`perception.dashboard.data.prepare`).
    ConfigError
        If ``wave`` has no estimates.

    """
    data = prepare(
        tables,
        catalogue=catalogue,
        survey=survey,
        benchmark_labels={k: b.label for k, b in indicators.benchmarks.items()},
    )
    chosen = wave or data.waves[-1]
    if chosen not in data.waves:
        raise ConfigError(
            f"No published estimates for wave {chosen!r}",
            expected=f"one of the waves {', '.join(data.waves)}",
            found=repr(chosen),
            hint="run the wave first, or pick another with --wave",
            file=survey.path,
        )
    gaps = _gaps(tables["indicator_estimates"], indicators, data, chosen)
    return {lang: _Builder(data, config, lang, chosen, gaps, images).brief() for lang in LANGS}


def _gaps(
    estimates: pd.DataFrame, indicators: IndicatorCatalogue, data: DashboardData, wave: str
) -> dict[str, tuple[Label, Label, bool]]:
    """Return each gap's two group labels and its verdict (BH p < 0.05, CI excludes 0)."""
    national = estimates[
        (estimates["wave"] == wave)
        & (estimates["domain_set"] == NATIONAL_SET)
        & (estimates["variant"] == "all")
    ].set_index("indicator")
    out: dict[str, tuple[Label, Label, bool]] = {}
    for ind in indicators.indicators:
        if ind.type != "gap" or ind.by is None or ind.a is None or ind.b is None:
            continue
        cell = data.cell(ind.id, wave)
        significant = False
        if cell.state == "value" and ind.id in national.index:
            p = float(national["p_adjusted"].astype("float64").get(ind.id, math.nan))
            excludes = cell.ci_low > 0 or cell.ci_high < 0
            significant = bool(p < rules.ALPHA and excludes)
        group = data.catalogue.group_label
        out[ind.id] = (group(ind.by, ind.a), group(ind.by, ind.b), significant)
    return out


class _Builder:
    """Builds one language's brief from the prepared tables."""

    def __init__(
        self,
        data: DashboardData,
        config: BriefConfig,
        lang: Lang,
        wave: str,
        gaps: Mapping[str, tuple[Label, Label, bool]],
        images: Path | None,
    ) -> None:
        self.data, self.lang, self.wave, self.gaps = data, lang, wave, gaps
        self.t: Templates = config.en if lang == "en" else config.fr
        self.comparison = config.comparison
        self.images_root = images

    def date(self, wave: str) -> str:
        """Name a wave by its fieldwork month (``August 2026``), else by its label."""
        for config in self.data.survey.waves:
            if config.id == wave and config.fieldwork is not None:
                return month_year(config.fieldwork.end, self.lang)
        return self.data.wave_label(wave, self.lang)

    def label(self, label: Label) -> str:
        """Return a bilingual label's text in this language."""
        return str(label.en if self.lang == "en" else label.fr)

    def brief(self) -> Brief:
        """Assemble the brief."""
        survey = self.label(self.data.survey.title)
        position = self.data.waves.index(self.wave)
        previous = self.data.waves[position - 1] if position else self.wave
        t = self.t
        headline = self.data.ordered_indicators(gaps=False)[0]
        return Brief(
            lang=self.lang,
            title=t.title.format(survey=survey, wave=self.date(self.wave)),
            intro=t.intro.format(
                survey=survey, wave=self.date(self.wave), previous_wave=self.date(previous)
            )
            if position
            else t.intro_first.format(survey=survey, wave=self.date(self.wave)),
            scorecard_heading=say("scorecard", self.lang),
            scorecard=self.scorecard(),
            sections=tuple(self.sections()),
            headline=self.headline(headline),
            images_heading=t.images,
            images=tuple(self.images()),
            methodology_heading=say("methodology", self.lang),
            methodology=self.methodology(survey),
        )

    # ------------------------------------------------------------------ paragraphs

    def sections(self) -> list[Section]:
        """One section per benchmark, one paragraph per indicator, in catalogue order."""
        ordered = self.data.ordered_indicators(gaps=False) + self.data.ordered_indicators(gaps=True)
        out = []
        for benchmark, label in self.data.benchmarks.items():
            members = [ind for ind in ordered if ind.benchmark == benchmark]
            if members:
                paragraphs = tuple(
                    Paragraph(ind.id, status_label(ind.status, self.lang), self.paragraph(ind))
                    for ind in members
                )
                out.append(Section(self.label(label), paragraphs))
        return out

    def paragraph(self, ind: IndicatorView) -> str:
        """Write an indicator's sentence, then its regional highlights."""
        t = self.t
        cell = self.data.cell(ind.id, self.wave)
        level = rules.level_clause(ind, cell, self.date(self.wave), self.lang, t)
        second = self.second_clause(ind, cell)
        sentence = (
            t.sentence.format(level=level, change=second)
            if second
            else t.sentence_alone.format(level=level)
        )
        return " ".join([sentence, *self.highlights(ind, cell)])

    def second_clause(self, ind: IndicatorView, cell: Cell) -> str:
        """Word the verdict of a gap, else the change since the reference wave."""
        if cell.state != "value":
            return ""
        if ind.id in self.gaps:
            a, b, significant = self.gaps[ind.id]
            gap = rules.Gap(self.label(a), self.label(b), significant)
            return rules.gap_clause(gap, cell, self.t)
        change = self.data.changes.get((ind.id, self.comparison, self.wave))
        if change is None:
            return ""
        reference = self.date(change.reference_wave)
        return rules.change_clause(ind, change, reference, self.lang, self.t)

    def highlights(self, ind: IndicatorView, national: Cell) -> list[str]:
        """Regions whose interval clears the national one, above then below."""
        column = self.data.survey.map_variable
        if ind.type == "gap" or column is None or column not in self.data.domains:
            return []
        sides: dict[str, list[str]] = {"above": [], "below": []}
        for code in self.data.codes(column):
            cell = self.data.cell(ind.id, self.wave, ((column, code),))
            side = rules.regional_side(cell, national)
            if side is not None:
                sides[side].append(
                    self.t.region.format(
                        region=self.data.code_label(column, code, self.lang),
                        about=self.t.about if cell.flagged else "",
                        value=rules.value_text(ind, cell.estimate, self.lang),
                        ci=rules.interval_text(ind, cell.ci_low, cell.ci_high, self.lang, self.t),
                    )
                )
        separator = say("list_separator", self.lang)
        out = []
        if sides["above"]:
            out.append(self.t.regions_above.format(regions=separator.join(sides["above"])))
        if sides["below"]:
            out.append(self.t.regions_below.format(regions=separator.join(sides["below"])))
        return out

    # ------------------------------------------------------------------ tables

    def cell_texts(self, ind: IndicatorView, cell: Cell) -> tuple[str, str]:
        """Write a table cell's value and CI: flagged in parentheses, suppressed as ``*``."""
        if cell.state == "suppressed":
            return SUPPRESSED_MARK, ""
        if cell.state != "value":
            return "–", ""
        value = rules.value_text(ind, cell.estimate, self.lang)
        ci = rules.interval_text(ind, cell.ci_low, cell.ci_high, self.lang, self.t)
        if cell.flagged:
            return f"{FLAG_OPEN}{value}{FLAG_CLOSE}", f"{FLAG_OPEN}{ci}{FLAG_CLOSE}"
        return value, ci

    def notes(self) -> tuple[str, ...]:
        """Return the DHS-style notes under a table."""
        values = {
            "suppress": self.data.suppress_below,
            "flag_last": self.data.flag_below - 1,
        }
        return (
            say("note_suppressed", self.lang, **values),
            say("note_flagged", self.lang, **values),
        )

    def scorecard(self) -> Table:
        """Each indicator's latest value, change since the previous wave and status."""
        lang = self.lang
        header = tuple(say(k, lang) for k in ("indicator", "latest", "change_previous", "status"))
        rows = []
        ordered = self.data.ordered_indicators(gaps=False) + self.data.ordered_indicators(gaps=True)
        for ind in sorted(ordered, key=lambda i: list(self.data.benchmarks).index(i.benchmark)):
            value, ci = self.cell_texts(ind, self.data.cell(ind.id, self.wave))
            change = self.data.changes.get((ind.id, "previous", self.wave))
            latest = f"{value} ({ci})" if ci else value
            rows.append(
                (
                    self.label(ind.label),
                    latest,
                    self.change_cell(ind, change),
                    status_label(ind.status, lang),
                )
            )
        return Table(self.t.scorecard, header, tuple(rows), self.notes())

    def change_cell(self, ind: IndicatorView, change: Change | None) -> str:
        """Write a scorecard change: its value and trend word, ``*`` when suppressed."""
        if change is None:
            return "–"
        if rules.change_key(change) == "change_suppressed":
            return SUPPRESSED_MARK
        value = rules.value_text(ind, change.estimate, self.lang, change=True)
        if change.flagged:
            value = f"{FLAG_OPEN}{value}{FLAG_CLOSE}"
        word = say(change.direction if change.significant else "no change", self.lang)
        return f"{value}, {word}"

    def headline(self, ind: IndicatorView) -> Table:
        """Tabulate the headline indicator by every domain of the survey, with 95% CIs and n."""
        lang = self.lang
        header = (
            say("breakdown", lang),
            self.label(ind.label),
            say("ci95", lang),
            say("n_symbol", lang),
        )
        rows = [self.headline_row(ind, say("national", lang), self.data.cell(ind.id, self.wave))]
        for column in self.data.domains:
            for code in self.data.codes(column):
                key = ((column, code),)
                cell = self.data.cell(ind.id, self.wave, key)
                if cell.state == "not_estimated":
                    continue
                name = say(
                    "labelled",
                    lang,
                    label=self.data.column_label(column, lang),
                    text=self.data.code_label(column, code, lang),
                )
                rows.append(self.headline_row(ind, name, cell))
        caption = self.t.headline_table.format(
            label=self.label(ind.label), wave=self.date(self.wave)
        )
        return Table(caption, header, tuple(rows), self.notes())

    def headline_row(self, ind: IndicatorView, name: str, cell: Cell) -> tuple[str, ...]:
        """One group of the headline table (no n shown for a suppressed group)."""
        value, ci = self.cell_texts(ind, cell)
        shown = cell.state == "value" and cell.n is not None
        return (name, value, ci, number(cell.n or 0, 0, self.lang) if shown else "")

    def methodology(self, survey: str) -> Table:
        """Sample, fieldwork, weighting, margin of error and the suppression rule, per wave."""
        lang = self.lang
        keys = ("wave", "fieldwork", "n_respondents", "deff_kish", "moe")
        header = tuple(say(k, lang) for k in keys)
        rows = []
        for facts in self.data.facts:
            moe = facts.moe_95
            rows.append(
                (
                    self.data.wave_label(facts.wave, lang),
                    self.fieldwork(facts.wave),
                    "" if facts.n_respondents is None else number(facts.n_respondents, 0, lang),
                    "" if math.isnan(facts.deff_kish) else number(facts.deff_kish, 2, lang),
                    "" if math.isnan(moe) else margin(moe, lang),
                )
            )
        designs = list(dict.fromkeys(f.design[lang] for f in self.data.facts if f.design[lang]))
        weighting = [
            say("labelled", lang, label=self.data.wave_label(f.wave, lang), text=f.weighting[lang])
            for f in self.data.facts
            if f.weighting[lang]
        ]
        notes = (
            *designs,
            say("weighting_note", lang),
            *weighting,
            say("moe_note", lang),
            say("units_note", lang),
            say("note_trend", lang),
            *self.notes(),
        )
        return Table(self.t.methodology_intro.format(survey=survey), header, tuple(rows), notes)

    def fieldwork(self, wave: str) -> str:
        """Write a wave's fieldwork dates out (``3 March 2025 – 24 March 2025``)."""
        for config in self.data.survey.waves:
            if config.id == wave and config.fieldwork is not None:
                ends = (config.fieldwork.start, config.fieldwork.end)
                return " – ".join(format_date(d, self.lang) for d in ends)
        return ""

    # ------------------------------------------------------------------ images

    def images(self) -> list[Image]:
        """Return the dashboard's exported PNG charts of this language, with captions."""
        if self.images_root is None:
            return []
        folder = self.images_root / self.lang
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.glob("*.png")):
            kind = path.stem.split("_")[0]
            if kind in _IMAGE_TITLES:
                out.append(Image(path, say(_IMAGE_TITLES[kind], self.lang)))
        return out


def paragraphs_by_indicator(brief: Brief) -> dict[str, str]:
    """Return each indicator's paragraph (for checks)."""
    return {p.indicator: p.text for s in brief.sections for p in s.paragraphs}
