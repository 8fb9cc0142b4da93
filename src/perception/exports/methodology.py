"""The methodology table: one row per wave with sample size, fieldwork, weighting and rules."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from perception.config import (
    Catalogue,
    SurveyConfig,
    WaveConfig,
    WeightingConfig,
    nonprobability_weighting,
)
from perception.errors import ConfigError, ValidationError
from perception.tables import METHODOLOGY, TABLES
from perception.weighting import WeightBound
from perception.words import LANGS, Lang, capital, number, percent, pick, say

Z_95 = 1.96
"""Normal quantile of a two-sided 95% interval, as in the contract's margin-of-error formula."""

MARGINS_MET = 1e-4
"""A largest relative margin error below this is written "match to within 0.01%"."""


def margin_of_error(n: int, deff_kish: float) -> float:
    r"""Return the 95% margin of error of a 50% proportion at the design's Kish deff.

    Parameters
    ----------
    n : int
        Respondents.
    deff_kish : float
        Kish's design effect due to weighting, :math:`n\sum w^2/(\sum w)^2`.

    Returns
    -------
    float
        :math:`1.96\sqrt{0.25\,\mathrm{deff}/n}`, as a fraction (0.031 is ±3.1 points).

    Notes
    -----
    The conventional headline margin of error of a survey: the half-width of the normal 95%
    interval of a proportion of 50% (the worst case), with the variance inflated by the
    weighting design effect. Clustering and stratification are not in it; the per-cell
    confidence intervals of the estimates tables are design-based and are the ones to quote.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.
    Kish, L. (1992). Weighting for unequal Pi. *Journal of Official Statistics* 8(2), 183-200.

    """
    return Z_95 * math.sqrt(0.25 * deff_kish / n)


def methodology_table(
    survey: SurveyConfig,
    reports: Mapping[str, pd.DataFrame],
    weighting: WeightingConfig,
    *,
    catalogue: Catalogue,
    suppress_below: int,
    flag_below: int,
    generated_at: dt.datetime,
) -> pd.DataFrame:
    """Return the methodology table: one row per weighted wave, in the survey's wave order.

    ``reports`` maps each wave id to its weighting report
    (:func:`perception.weighting.weight_report`, as the ``weights`` asset stores it); its
    ``overall`` row gives the sample size, Kish deff and effective n. ``generated_at`` is the
    time of the run (a naive time is taken as UTC); pass a fixed one, e.g. derived from the
    inputs, for byte-identical reruns. The weighting and the sampling design (strata, PSUs, and
    the caveat of a design without PSU ids, or the replicate weights: their method, count and
    whether they came with the data) are in English and French, written for people: variables
    by their ``catalogue`` labels, waves by their labels, no file names; and
    ``variance_method`` is ``taylor`` or the replicate type (``JK1``, ``JKn``, ``BRR``,
    ``Fay``, ``bootstrap``, ``successive-difference``); for a non-probability wave it is
    ``chen-li-wu`` (with a reference wave) or ``none``.
    A wave declared ``sample: nonprobability`` says so first in both languages, has no margin
    of error (NaN), and names what its standard errors rest on: none without a reference
    wave, Chen-Li-Wu's linearized variance with one.

    Raises
    ------
    ConfigError
        If a report names a wave the survey does not have.
    ValidationError
        If a report has no ``overall`` row.

    """
    known = {wave.id for wave in survey.waves}
    unknown = sorted(set(reports) - known)
    if unknown:
        raise ConfigError(
            "A weighting report names a wave the survey does not have",
            expected=f"waves of survey `{survey.survey}`: {', '.join(sorted(known))}",
            found=", ".join(unknown),
            hint="pass the reports of this survey's waves only",
        )
    stamp = _utc_text(generated_at)
    rows = [
        _wave_row(
            _Context(survey, catalogue, weighting),
            wave,
            reports[wave.id],
            suppress_below,
            flag_below,
            stamp,
        )
        for wave in survey.waves
        if wave.id in reports
    ]
    schema = TABLES[METHODOLOGY]
    return pd.DataFrame(rows, columns=list(schema.columns())).astype(schema.dtypes())


@dataclass(frozen=True)
class _Context:
    """What every wave's row reads: the survey, its catalogue and its weighting settings."""

    survey: SurveyConfig
    catalogue: Catalogue
    weighting: WeightingConfig

    def variable(self, name: str, lang: Lang) -> str:
        """Name a variable for people: its catalogue label (its name if the catalogue lacks it)."""
        known = self.catalogue.variables.get(name)
        return name if known is None else pick(known.label, lang)

    def variables(self, names: Sequence[str], lang: Lang) -> str:
        """Name several variables for people, joined by the language's list separator."""
        return say("list_separator", lang).join(self.variable(n, lang) for n in names)

    def margins(self, lang: Lang) -> str:
        """Name the calibration margins for people (crossed margins joined by ×)."""
        cross = say("weighting.cross", lang)
        return say("list_separator", lang).join(
            self.variable(spec, lang)
            if isinstance(spec, str)
            else cross.join(self.variable(v, lang) for v in spec)
            for spec in self.weighting.calibration.specs
        )

    def wave(self, wave_id: str, lang: Lang) -> str:
        """Name a wave by its label."""
        return next((pick(w.label, lang) for w in self.survey.waves if w.id == wave_id), wave_id)


def _wave_row(
    context: _Context,
    wave: WaveConfig,
    report: pd.DataFrame,
    suppress_below: int,
    flag_below: int,
    stamp: str,
) -> dict[str, object]:
    """Return the methodology row of one wave."""
    weighting = context.weighting
    if not wave.is_probability and wave.reference_wave is None:
        weighting = nonprobability_weighting(weighting, rake=wave.rake)
    overall = report.loc[report["domain"] == "overall"]
    if overall.empty:
        raise ValidationError(
            f"The weighting report of wave `{wave.id}` has no overall row",
            expected="a report from perception.weighting.weight_report (first row 'overall')",
            found=f"domains: {', '.join(map(str, report['domain'].unique()))}",
            hint="pass the report that weight_wave returned for this wave",
            column="domain",
        )
    top = overall.iloc[0]
    n = int(top["n"])
    deff = float(top["deff_kish"])
    fieldwork = wave.fieldwork
    replicates = int(top.get("n_replicates", 0))
    provider = wave.provider
    row: dict[str, object] = {
        "survey": context.survey.survey,
        "wave": wave.id,
        "label_en": wave.label.en,
        "label_fr": wave.label.fr,
        "fieldwork_start": None if fieldwork is None else fieldwork.start,
        "fieldwork_end": None if fieldwork is None else fieldwork.end,
        "interview_mode": wave.mode,
        "source_file": wave.file,
        "n_respondents": n,
        "deff_kish": deff,
        "n_eff": float(top["n_eff"]),
        "moe_95": margin_of_error(n, deff) if wave.is_probability else math.nan,
        "variance_method": _variance_method(weighting)
        if wave.is_probability
        else ("chen-li-wu" if wave.reference_wave else "none"),
        "suppress_below": suppress_below,
        "flag_below": flag_below,
        "generated_at": stamp,
    }
    for lang in LANGS:
        row[f"provider_{lang}"] = (
            provider if provider is None or isinstance(provider, str) else pick(provider, lang)
        )
        parts = [
            *_nonprobability_prefix(context, wave, lang),
            *_weighting_parts(context, wave, weighting, top, lang),
        ]
        row[f"weighting_{lang}"] = capital(say("design.join", lang).join(parts)) + "."
        row[f"design_{lang}"] = (
            _design_text(context, weighting, lang, replicates)
            if wave.is_probability
            else _nonprobability_design(context, wave, lang)
        )
    return row


def _utc_text(moment: dt.datetime) -> str:
    """Return a time as ISO 8601 UTC to the second, e.g. ``2026-09-01T12:00:00Z``."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _variance_method(weighting: WeightingConfig) -> str:
    """Return the variance method of a survey's designs: ``taylor`` or a replicate type."""
    design = weighting.design
    if design.replicate_weights is not None:
        return design.replicate_weights.type
    if design.replicates is not None:
        return design.replicates.method
    return "taylor"


def _design_text(context: _Context, weighting: WeightingConfig, lang: Lang, replicates: int) -> str:
    """Describe the sampling design the variance uses, with its caveat, in one language.

    ``replicates`` is the number of replicate weights of the wave's design (its weighting
    report's ``n_replicates``); strata and PSUs are named by their catalogue labels.
    """
    design = weighting.design
    replicated = design.replicate_text(replicates, lang)
    if design.replicate_weights is not None:
        return say("design.replicate", lang, method=replicated)
    strata = (
        say("design.strata", lang, strata=context.variable(design.strata, lang))
        if design.strata
        else say("design.no_strata", lang)
    )
    psu = (
        say("design.psu", lang, psu=context.variable(design.psu, lang))
        if design.psu
        else design.note(lang)
    )
    parts = say("design.join", lang).join([strata, psu])
    if replicated:
        return say("design.replicate_with_parts", lang, method=replicated, parts=parts)
    return say("design.taylor", lang, parts=parts)


_PROPENSITY_NAMES: Mapping[str, str] = {
    "clw": "Chen-Li-Wu 2020",
    "valliant_dever": "Valliant-Dever 2011",
}


def _nonprobability_design(context: _Context, wave: WaveConfig, lang: Lang) -> str:
    """Say, in one language, that a wave is a non-probability poll and what its SEs rest on."""
    if wave.reference_wave is None:
        return say("design.nonprobability", lang)
    return say(
        "design.nonprobability_clw" + _raked(context, wave),
        lang,
        ref=context.wave(wave.reference_wave, lang),
        covariates=context.variables(wave.covariates or [], lang),
        method=_PROPENSITY_NAMES[wave.propensity or "clw"],
        **_raking_words(context, lang),
    )


def _raked(context: _Context, wave: WaveConfig) -> str:
    """Return ``_raked`` when a wave's pseudo-weights are calibrated (``rake: true``), else ''."""
    return "_raked" if wave.rake and context.weighting.calibration.needs_targets else ""


def _raking_words(context: _Context, lang: Lang) -> dict[str, str]:
    """Return the calibration method and margins of the survey's weighting, in words."""
    method = context.weighting.calibration.method
    return {
        "calibration": say(f"weighting.method.{method}", lang) if method != "none" else "",
        "margins": context.margins(lang),
    }


def _nonprobability_prefix(context: _Context, wave: WaveConfig, lang: Lang) -> list[str]:
    """Open the weighting text of a non-probability wave with that fact (nothing otherwise)."""
    if wave.is_probability:
        return []
    if wave.reference_wave is None:
        key = "weighting.nonprobability_raked" if wave.rake else "weighting.nonprobability"
        return [say(key, lang)]
    text = say(
        "weighting.nonprobability_clw" + _raked(context, wave),
        lang,
        method=_PROPENSITY_NAMES[wave.propensity or "clw"],
        ref=context.wave(wave.reference_wave, lang),
        covariates=context.variables(wave.covariates or [], lang),
        **_raking_words(context, lang),
    )
    return [text]


def _weighting_parts(
    context: _Context,
    wave: WaveConfig,
    weighting: WeightingConfig,
    overall: pd.Series[Any],
    lang: Lang,
) -> list[str]:
    """Describe the weighting of a wave: method, margins, trimming, variance and diagnostics."""
    calibration = weighting.calibration
    _, targets = context.survey.targets_key(wave)
    equal = not wave.is_probability and wave.reference_wave is None
    if equal and calibration.method == "none":
        return [say("weighting.none", lang)]
    if calibration.method == "none" or targets is None:
        parts = [say("weighting.as_delivered", lang)]
    else:
        margins = context.margins(lang)
        parts = [
            say(
                "weighting.calibrated",
                lang,
                method=say(f"weighting.method.{calibration.method}", lang),
                base=say("weighting.base." + ("equal" if equal else "design"), lang),
                margins=margins,
            )
        ]
    trimming = weighting.trimming
    if trimming is None:
        parts.append(say("weighting.no_trimming", lang))
    else:
        floor = (
            ""
            if trimming.floor is None
            else say("weighting.floor", lang, floor=_bound_text(trimming.floor, lang))
        )
        again = "recalibrated" if calibration.needs_targets else "redistributed"
        parts.append(
            say(
                "weighting.trimming",
                lang,
                cap=_bound_text(trimming.cap, lang),
                floor=floor,
                again=say(f"weighting.{again}", lang),
                count=number(int(overall["n_trimmed"]), 0, lang),
                rounds=number(int(overall["trim_rounds"]), 0, lang),
            )
        )
    replicates = weighting.design.replicates
    delivered = weighting.design.replicate_weights
    if equal:
        parts.append(say("weighting.no_variance", lang))
    elif delivered is not None:
        key = "variance_delivered_calibrated" if calibration.needs_targets else "variance_delivered"
        parts.append(say(f"weighting.{key}", lang, method=say(f"replicate.{delivered.type}", lang)))
    elif replicates is None:
        parts.append(say("weighting.variance_taylor", lang))
    else:
        parts.append(
            say(
                "weighting.variance_built", lang, method=say(f"replicate.{replicates.method}", lang)
            )
        )
    if calibration.needs_targets:
        parts.append(
            say(
                "weighting.converged" if bool(overall["converged"]) else "weighting.not_converged",
                lang,
            )
        )
    error = float(overall["margin_error_rel"])
    if math.isfinite(error):
        parts.append(
            say("weighting.margins_met", lang, limit=percent(100 * MARGINS_MET, 2, lang))
            if error < MARGINS_MET
            else say("weighting.margins_off", lang, error=percent(100 * error, 2, lang))
        )
    ratio = number(float(overall["max_min_ratio"]), 1, lang)
    parts.append(say("weighting.ratio", lang, ratio=ratio))
    return parts


def _bound_text(bound: WeightBound, lang: Lang) -> str:
    """Describe a trimming bound: ``5 × the median weight``, a percentile or a value."""
    if bound.median_multiple is not None:
        return say("weighting.bound.median", lang, multiple=_short(bound.median_multiple, lang))
    if bound.percentile is not None:
        return say("weighting.bound.percentile", lang, percentile=_short(bound.percentile, lang))
    return _short(float(bound.absolute or 0.0), lang)


def _short(value: float, lang: Lang) -> str:
    """Write a configured number with the decimals it has (``5``, ``2.5``; ``2,5`` in French)."""
    decimals = 0 if float(value).is_integer() else len(f"{value:g}".partition(".")[2])
    return number(value, decimals, lang)
