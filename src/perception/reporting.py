"""From per-wave indicator estimates to the published tables: trends, disclosure, status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from perception.config import DisclosureRules, IndicatorCatalogue, SurveyConfig
from perception.disclosure import GapSides, publish_tables
from perception.status import benchmark_status, benchmark_summary
from perception.trends import adjust_published, bh_within, indicator_trends


def gap_sides(indicators: IndicatorCatalogue) -> dict[str, GapSides]:
    """Return the two sides of every gap indicator, for complementary suppression."""
    return {
        i.id: GapSides(i.of, i.by, i.a, i.b)
        for i in indicators.indicators
        if i.type == "gap" and i.of and i.by and i.a is not None and i.b is not None
    }


def wave_dates(survey: SurveyConfig) -> dict[str, dt.date]:
    """Return each wave's fieldwork midpoint, the date trends are projected from."""
    return {
        w.id: w.fieldwork.start + (w.fieldwork.end - w.fieldwork.start) / 2
        for w in survey.waves
        if w.fieldwork is not None
    }


def publish_indicators(
    estimates: pd.DataFrame,
    indicators: IndicatorCatalogue,
    rules: DisclosureRules,
    *,
    waves: Sequence[str],
    domains: Sequence[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the published (disclosure-controlled) estimates and trends.

    ``estimates`` holds Table 1 for every available wave; ``waves`` lists the survey's waves in
    time order; ``domains`` its domain columns (``Catalogue.domain_columns``). Trends are
    computed before suppression (a change needs both sides' values);
    :func:`perception.disclosure.publish_tables` then suppresses both tables jointly (every
    wave, variant, margin, change and gap) and proves that no hidden cell is recoverable.
    """
    present = [w for w in waves if w in set(estimates["wave"])]
    trends = indicator_trends(
        estimates,
        waves=present,
        directions=indicators.directions(),
        domains=domains,
        baseline=indicators.baselines(),
    )
    published, changes = publish_tables(estimates, trends, rules, gaps=gap_sides(indicators))
    return _published_gap_p_values(published), adjust_published(changes, indicators.directions())


def _published_gap_p_values(published: pd.DataFrame) -> pd.DataFrame:
    """Re-adjust the gaps' p-values over the published gaps of each wave and variant only.

    As :func:`perception.trends.adjust_published` does for changes: a family holding a hidden
    gap would let its published neighbours' adjusted p-values give the hidden one's away.
    """
    tested = (
        published["type"].eq("gap")
        & published["availability"].eq("estimated")
        & ~published["suppressed"].astype(bool)
        & published["p_value"].notna()
    )
    return published.assign(p_adjusted=bh_within(published, tested, ("survey", "wave", "variant")))


def status_table(
    estimates: pd.DataFrame,
    trends: pd.DataFrame,
    indicators: IndicatorCatalogue,
    survey: SurveyConfig,
) -> pd.DataFrame:
    """Return each indicator's benchmark status from the published estimates and trends.

    The latest probability wave is judged: a non-probability wave (``sample:
    nonprobability``) is judged only when no probability wave has estimates, and then every
    status is insufficient evidence.
    """
    order = [w.id for w in survey.waves if w.id in set(estimates["wave"])]
    nonprobability = survey.nonprobability_waves()
    probability = [w for w in order if w not in nonprobability]
    return benchmark_status(
        estimates,
        trends,
        indicators.metadata(),
        latest_wave=(probability or order)[-1],
        wave_dates=wave_dates(survey),
        nonprobability_waves=nonprobability,
        wave_labels={w.id: {"en": w.label.en, "fr": w.label.fr} for w in survey.waves},
    )


def summary(status: pd.DataFrame, indicators: IndicatorCatalogue, lang: str = "en") -> str:
    """Return the one-line summary of the headline benchmark (the first in the catalogue)."""
    labels = {k: {"en": b.label.en, "fr": b.label.fr} for k, b in indicators.benchmarks.items()}
    return benchmark_summary(status, labels, indicators.headline, "fr" if lang == "fr" else "en")
