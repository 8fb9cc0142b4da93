"""The methodology table: one row per wave with sample size, fieldwork, weighting and rules."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from perception.config import SurveyConfig, WaveConfig, WeightingConfig, nonprobability_weighting
from perception.errors import ConfigError, ValidationError
from perception.tables import METHODOLOGY, TABLES
from perception.weighting import WeightBound
from perception.words import Lang, say

Z_95 = 1.96
"""Normal quantile of a two-sided 95% interval, as in the contract's margin-of-error formula."""

_METHOD_NAMES: Mapping[str, str] = {
    "rake": "raking",
    "poststratify": "post-stratification",
    "linear": "linear calibration (GREG)",
}


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
    suppress_below: int,
    flag_below: int,
    generated_at: dt.datetime,
) -> pd.DataFrame:
    """Return the methodology table: one row per weighted wave, in the survey's wave order.

    ``reports`` maps each wave id to its weighting report
    (:func:`perception.weighting.weight_report`, as the ``weights`` asset stores it); its
    ``overall`` row gives the sample size, Kish deff and effective n. ``generated_at`` is the
    time of the run (a naive time is taken as UTC); pass a fixed one, e.g. derived from the
    inputs, for byte-identical reruns. The weighting text is in English; the sampling design
    (strata, PSUs, and the caveat of a design without PSU ids, or the replicate weights: their
    method, count and whether they came with the data) is in English and French, and
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
        _wave_row(survey, wave, reports[wave.id], weighting, suppress_below, flag_below, stamp)
        for wave in survey.waves
        if wave.id in reports
    ]
    schema = TABLES[METHODOLOGY]
    return pd.DataFrame(rows, columns=list(schema.columns())).astype(schema.dtypes())


def _wave_row(
    survey: SurveyConfig,
    wave: WaveConfig,
    report: pd.DataFrame,
    weighting: WeightingConfig,
    suppress_below: int,
    flag_below: int,
    stamp: str,
) -> dict[str, object]:
    """Return the methodology row of one wave."""
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
    return {
        "survey": survey.survey,
        "wave": wave.id,
        "label_en": wave.label.en,
        "label_fr": wave.label.fr,
        "fieldwork_start": None if fieldwork is None else fieldwork.start,
        "fieldwork_end": None if fieldwork is None else fieldwork.end,
        "provider": wave.provider,
        "source_file": wave.file,
        "n_respondents": n,
        "deff_kish": deff,
        "n_eff": float(top["n_eff"]),
        "moe_95": margin_of_error(n, deff) if wave.is_probability else math.nan,
        "weighting": _nonprobability_prefix(wave) + _weighting_text(survey, wave, weighting, top),
        "design_en": _design_text(weighting, "en", replicates)
        if wave.is_probability
        else _nonprobability_design(wave, "en"),
        "design_fr": _design_text(weighting, "fr", replicates)
        if wave.is_probability
        else _nonprobability_design(wave, "fr"),
        "variance_method": _variance_method(weighting)
        if wave.is_probability
        else ("chen-li-wu" if wave.reference_wave else "none"),
        "suppress_below": suppress_below,
        "flag_below": flag_below,
        "generated_at": stamp,
    }


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


def _design_text(weighting: WeightingConfig, lang: Lang, replicates: int) -> str:
    """Describe the sampling design the variance uses, with its caveat, in one language.

    ``replicates`` is the number of replicate weights of the wave's design (its weighting
    report's ``n_replicates``).
    """
    design = weighting.design
    replicated = design.replicate_text(replicates, lang)
    if design.replicate_weights is not None:
        return say("design.replicate", lang, method=replicated)
    strata = say("design.strata", lang, strata=design.strata) if design.strata else None
    psu = say("design.psu", lang, psu=design.psu) if design.psu else design.note(lang)
    parts = say("design.join", lang).join([strata or say("design.no_strata", lang), psu])
    if replicated:
        return say("design.replicate_with_parts", lang, method=replicated, parts=parts)
    return say("design.taylor", lang, parts=parts)


_PROPENSITY_NAMES: Mapping[str, str] = {
    "clw": "Chen-Li-Wu 2020",
    "valliant_dever": "Valliant-Dever 2011",
}


def _nonprobability_design(wave: WaveConfig, lang: Lang) -> str:
    """Say, in one language, that a wave is a non-probability poll and what its SEs rest on."""
    if wave.reference_wave is None:
        return say("design.nonprobability", lang)
    return say(
        "design.nonprobability_clw",
        lang,
        ref=wave.reference_wave,
        covariates=", ".join(wave.covariates or []),
        method=_PROPENSITY_NAMES[wave.propensity or "clw"],
    )


def _nonprobability_prefix(wave: WaveConfig) -> str:
    """Open the weighting text of a non-probability wave with that fact ("" otherwise)."""
    if wave.is_probability:
        return ""
    if wave.reference_wave is None:
        return "non-probability sample, equal weights for every respondent" + (
            " (rake: true); " if wave.rake else ", unweighted; "
        )
    return (
        f"non-probability sample: its estimates use {_PROPENSITY_NAMES[wave.propensity or 'clw']} "
        f"pseudo-weights against probability wave {wave.reference_wave} on "
        f"{', '.join(wave.covariates or [])}, not the weights below (which the Kish deff, "
        "effective n and weighting report describe); "
    )


def _weighting_text(
    survey: SurveyConfig, wave: WaveConfig, weighting: WeightingConfig, overall: pd.Series[Any]
) -> str:
    """Describe the weighting of a wave: method, margins, targets, trimming and diagnostics."""
    calibration = weighting.calibration
    _, targets = survey.targets_key(wave)
    equal = not wave.is_probability and wave.reference_wave is None
    if equal and calibration.method == "none":
        return "no calibration to population targets, no trimming; no design-based variance."
    if calibration.method == "none" or targets is None:
        parts = ["design weights used as delivered, without calibration to population targets"]
    else:
        margins = ", ".join(
            spec if isinstance(spec, str) else " × ".join(spec) for spec in calibration.specs
        )
        parts = [
            f"{_METHOD_NAMES[calibration.method]} of the {'equal' if equal else 'design'} "
            "weights to population margins "
            f"{margins} (targets: {Path(targets).name})"
        ]
    trimming = weighting.trimming
    if trimming is None:
        parts.append("no trimming")
    else:
        bounds = f"cap {_bound_text(trimming.cap)}"
        if trimming.floor is not None:
            bounds += f", floor {_bound_text(trimming.floor)}"
        again = "re-calibrated" if calibration.needs_targets else "redistributed within strata"
        parts.append(
            f"trimming with {bounds}, {again}; {int(overall['n_trimmed'])} weight(s) "
            f"trimmed in {int(overall['trim_rounds'])} round(s)"
        )
    replicates = weighting.design.replicates
    delivered = weighting.design.replicate_weights
    if equal:
        parts.append("no design-based variance")
    elif delivered is not None:
        text = f"variance from {delivered.type} replicate weights supplied with the data"
        if calibration.needs_targets:
            text += ", each replicate calibrated like the full sample"
        parts.append(text)
    elif replicates is None:
        parts.append("variance by Taylor linearization (ultimate cluster: strata and PSUs)")
    else:
        parts.append(
            f"variance from {replicates.method} replicate weights built from the strata and "
            "PSUs, each replicate calibrated and trimmed like the full sample"
        )
    diagnostics = []
    if calibration.needs_targets:
        converged = "converged" if bool(overall["converged"]) else "did NOT converge"
        diagnostics.append(f"calibration {converged}")
    error = float(overall["margin_error_rel"])
    if math.isfinite(error):
        diagnostics.append(f"largest relative margin error {error:.1e}")
    diagnostics.append(f"largest/smallest weight {float(overall['max_min_ratio']):.1f}")
    parts.append("; ".join(diagnostics))
    return "; ".join(parts) + "."


def _bound_text(bound: WeightBound) -> str:
    """Describe a trimming bound: ``5 × median weight``, ``99th percentile`` or a value."""
    if bound.median_multiple is not None:
        return f"{bound.median_multiple:g} × median weight"
    if bound.percentile is not None:
        return f"{bound.percentile:g}th percentile of the weights"
    return f"{bound.absolute:g}"
