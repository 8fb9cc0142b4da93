"""Benchmark status of every indicator and a one-line summary of a benchmark, in English and French.

:func:`benchmark_status` reads the national, "all" variant row of each indicator in the latest
wave (Table 1) and its changes (Table 2) and gives each indicator one of four statuses with a
sentence saying why ("Table 3"); :func:`benchmark_summary` condenses one benchmark into the
line a quarterly report quotes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from perception.errors import ConfigError, ValidationError
from perception.estimation import NATIONAL
from perception.trends import DIRECTIONS, check_estimates, check_levels

Lang = Literal["en", "fr"]
STATUSES: tuple[str, ...] = ("achieved", "on track", "off track", "insufficient evidence")
TERMS: tuple[str, ...] = ("short", "medium", "long")
META_COLUMNS: tuple[str, ...] = (
    "indicator",
    "benchmark",
    "benchmark_term",
    "label_en",
    "label_fr",
    "type",
    "unit",
    "direction",
    "target",
    "target_date",
)
"""Indicator metadata that :func:`benchmark_status` reads (``target``, ``target_date`` optional)."""
STATUS_COLUMNS: tuple[str, ...] = (
    "survey",
    "indicator",
    "benchmark",
    "benchmark_term",
    "label_en",
    "label_fr",
    "type",
    "unit",
    "direction",
    "latest_wave",
    "estimate",
    "ci_low",
    "ci_high",
    "change_previous",
    "change_previous_ci_low",
    "change_previous_ci_high",
    "change_previous_p",
    "change_baseline",
    "change_baseline_ci_low",
    "change_baseline_ci_high",
    "change_baseline_p",
    "target",
    "target_date",
    "status",
    "reason_en",
    "reason_fr",
)
_OPTIONAL = ("target", "target_date")
_TREND_NEEDED = (
    "survey",
    "indicator",
    "variant",
    "domain_set",
    "comparison",
    "wave",
    "reference_wave",
    "estimate",
    "ci_low",
    "ci_high",
    "p_adjusted",
    "direction",
)
_CHANGE = {"estimate": "", "ci_low": "_ci_low", "ci_high": "_ci_high", "p_adjusted": "_p"}
_STATUS_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "on track": ("on track", "on track"),
        "achieved": ("achieved", "achieved"),
        "off track": ("off track", "off track"),
        "insufficient evidence": ("insufficient evidence", "insufficient evidence"),
    },
    "fr": {
        "on track": ("en bonne voie", "en bonne voie"),
        "achieved": ("atteint", "atteints"),
        "off track": ("hors trajectoire", "hors trajectoire"),
        "insufficient evidence": ("sans preuve suffisante", "sans preuve suffisante"),
    },
}
_SUMMARY_ORDER = ("on track", "achieved", "off track", "insufficient evidence")
_TERM_WORDS = {
    "en": {"short": "Short-term", "medium": "Medium-term", "long": "Long-term"},
    "fr": {"short": "à court terme", "medium": "à moyen terme", "long": "à long terme"},
}

# One rule per row; each has a status and a sentence in each language. Fields: wave, est, ci,
# target, side (above/below), miss (the other side), base, change, change_ci, date, proj.
_RULES: dict[str, tuple[str, str, str]] = {
    "missing": (
        "insufficient evidence",
        "There is no estimate for {wave}.",
        "Il n'y a pas d'estimation pour {wave}.",
    ),
    "not_asked": (
        "insufficient evidence",
        "The question was not asked in {wave}.",
        "La question n'a pas été posée en {wave}.",
    ),
    "no_data": (
        "insufficient evidence",
        "No respondent answered in {wave}.",
        "Aucune personne interrogée n'a répondu en {wave}.",
    ),
    "suppressed": (
        "insufficient evidence",
        "The {wave} estimate is suppressed (too few respondents).",
        "L'estimation de {wave} est masquée (trop peu de personnes interrogées).",
    ),
    "achieved": (
        "achieved",
        "The {wave} estimate ({est}, {ci}) lies entirely {side} the target of {target}.",
        "L'estimation de {wave} ({est}, {ci}) se situe entièrement {side} de la cible de {target}.",
    ),
    "deadline_missed": (
        "off track",
        "The target date {date} has passed and the {wave} estimate ({est}, {ci}) lies entirely "
        "{miss} the target of {target}.",
        "La date cible du {date} est passée et l'estimation de {wave} ({est}, {ci}) se situe "
        "entièrement {miss} de la cible de {target}.",
    ),
    "deadline_unclear": (
        "insufficient evidence",
        "The target date {date} has passed and the {wave} interval ({ci}) still includes the "
        "target of {target}.",
        "La date cible du {date} est passée et l'intervalle de {wave} ({ci}) contient encore la "
        "cible de {target}.",
    ),
    "nonprobability": (
        "insufficient evidence",
        "{wave} is a non-probability poll (SMS, IVR or online panel): on its own it cannot set "
        "a benchmark status.",
        "{wave} est un sondage non probabiliste (SMS, serveur vocal ou panel en ligne) : à lui "
        "seul, il ne peut pas fixer le statut d'un indicateur.",
    ),
    "nonprobability_baseline": (
        "insufficient evidence",
        "The baseline {base} is a non-probability poll (SMS, IVR or online panel): a change "
        "since it cannot set a benchmark status.",
        "La vague de référence {base} est un sondage non probabiliste (SMS, serveur vocal ou "
        "panel en ligne) : une évolution depuis celle-ci ne peut pas fixer le statut d'un "
        "indicateur.",
    ),
    "no_change": (
        "insufficient evidence",
        "No change since the baseline can be assessed in {wave} (a single wave so far, or the "
        "baseline wave lacks the item).",
        "Aucune évolution depuis la référence ne peut être évaluée en {wave} (une seule vague à "
        "ce jour, ou la question manque dans la vague de référence).",
    ),
    "worsening": (
        "off track",
        "It worsened significantly since {base} ({change}, {change_ci}), after "
        "Benjamini-Hochberg adjustment.",
        "Il s'est dégradé de façon significative depuis {base} ({change}, {change_ci}), après "
        "correction de Benjamini-Hochberg.",
    ),
    "too_slow": (
        "off track",
        "It improved significantly since {base} ({change}, {change_ci}), but at this pace it "
        "would reach only {proj} by {date}, short of the target of {target}.",
        "Il s'est amélioré de façon significative depuis {base} ({change}, {change_ci}), mais à "
        "ce rythme il n'atteindrait que {proj} au {date}, en deçà de la cible de {target}.",
    ),
    "on_pace": (
        "on track",
        "It improved significantly since {base} ({change}, {change_ci}); at this pace it would "
        "reach {proj} by {date}, meeting the target of {target}.",
        "Il s'est amélioré de façon significative depuis {base} ({change}, {change_ci}) ; à ce "
        "rythme il atteindrait {proj} au {date}, et la cible de {target} serait atteinte.",
    ),
    "improving": (
        "on track",
        "It improved significantly since {base} ({change}, {change_ci}), after "
        "Benjamini-Hochberg adjustment.",
        "Il s'est amélioré de façon significative depuis {base} ({change}, {change_ci}), après "
        "correction de Benjamini-Hochberg.",
    ),
    "not_significant": (
        "insufficient evidence",
        "The change since {base} ({change}, {change_ci}) is not significant after "
        "Benjamini-Hochberg adjustment.",
        "L'évolution depuis {base} ({change}, {change_ci}) n'est pas significative après "
        "correction de Benjamini-Hochberg.",
    ),
}
_SIDES = {"en": ("above", "below"), "fr": ("au-dessus", "en dessous")}
# Appended to the sentence of a row whose target date could not be assessed for want of dates.
_UNDATED = (
    " Fieldwork dates are missing for {undated}, so progress towards the target date {date} "
    "is not assessed.",
    " Les dates de terrain manquent pour {undated} : la progression vers la date cible du "
    "{date} n'est pas évaluée.",
)
_DATELESS_RULES = (
    "missing",
    "not_asked",
    "no_data",
    "suppressed",
    "achieved",
    "deadline_missed",
    "deadline_unclear",
    "nonprobability",
    "nonprobability_baseline",
)


# --------------------------------------------------------------------------- metadata


def _meta_error(found: str, hint: str) -> ConfigError:
    """Build the ConfigError of an invalid indicator metadata entry."""
    return ConfigError(
        "Invalid indicator metadata for the benchmark status",
        expected=f"per indicator {list(META_COLUMNS[1:])} (target and target_date optional)",
        found=found,
        hint=hint,
    )


def _as_date(value: Any, indicator: str) -> dt.date | None:
    """Return a target date as ``datetime.date`` (from a date, timestamp or ISO string)."""
    if value is None or (not isinstance(value, str | dt.date) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _meta_error(
            f"target_date {value!r} for {indicator!r}", "write dates as YYYY-MM-DD"
        ) from None


def indicator_meta_frame(meta: pd.DataFrame | Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Return indicator metadata as a checked DataFrame with the columns ``META_COLUMNS``.

    ``meta`` is either a DataFrame with those columns, or a mapping indicator id → mapping of
    the other columns; ``target`` and ``target_date`` may be absent or None. Unknown keys, an
    unknown direction or term, a non-numeric target and an unreadable date raise ConfigError.
    """
    records: list[dict[str, Any]]
    if isinstance(meta, pd.DataFrame):
        records = [{str(k): v for k, v in r.items()} for r in meta.to_dict("records")]
    else:
        records = [{"indicator": key, **dict(value)} for key, value in meta.items()]
    rows = []
    for record in records:
        name = str(record.get("indicator"))
        unknown = sorted(set(record) - set(META_COLUMNS))
        absent = [c for c in META_COLUMNS if c not in record and c not in _OPTIONAL]
        if unknown or absent:
            raise _meta_error(
                f"{name!r}: unknown keys {unknown}, missing keys {absent}",
                "give exactly the documented keys",
            )
        if record["direction"] not in DIRECTIONS or record["benchmark_term"] not in TERMS:
            raise _meta_error(
                f"{name!r}: direction {record['direction']!r}, term {record['benchmark_term']!r}",
                f"use a direction in {list(DIRECTIONS)} and a term in {list(TERMS)}",
            )
        target = record.get("target")
        try:
            target = float("nan") if target is None or pd.isna(target) else float(target)
        except (TypeError, ValueError):
            raise _meta_error(
                f"{name!r}: target {target!r}", "give the target as a number in the unit"
            ) from None
        rows.append(
            {**record, "target": target, "target_date": _as_date(record.get("target_date"), name)}
        )
    frame = pd.DataFrame(rows, columns=list(META_COLUMNS))
    repeated = frame["indicator"].duplicated()
    if repeated.any():
        raise _meta_error(
            f"the indicator {frame.loc[repeated, 'indicator'].iloc[0]!r} twice",
            "list each indicator once",
        )
    return frame.astype({c: "str" for c in META_COLUMNS if c not in _OPTIONAL}).astype(
        {"target": "float64", "target_date": "object"}
    )


# --------------------------------------------------------------------------- formatting


def _number(value: float, decimals: int, lang: Lang, sign: bool = False) -> str:
    """Format a number with a decimal point (en) or comma (fr), optionally signed."""
    text = f"{value:+.{decimals}f}" if sign else f"{value:.{decimals}f}"
    return text.replace(".", ",") if lang == "fr" else text


def format_value(value: float, unit: str, lang: Lang, decimals: int = 1) -> str:
    """Format a level: ``"37.2%"`` / ``"37,2 %"`` for percent units, ``"52.3"`` for scores."""
    if not math.isfinite(value):
        return "n/a" if lang == "en" else "n.d."
    if unit == "percent":
        return _number(100 * value, decimals, lang) + ("\u00a0%" if lang == "fr" else "%")
    return _number(value, decimals, lang)


def format_change(value: float, unit: str, lang: Lang) -> str:
    """Format a change: ``"+2.1 points"`` / ``"+2,1 points"`` in percent units, else ``"+2.1"``."""
    if not math.isfinite(value):
        return "n/a" if lang == "en" else "n.d."
    scale = 100.0 if unit == "percent" else 1.0
    text = _number(scale * value, 1, lang, sign=True)
    if unit != "percent":
        return text
    singular = lang == "fr" and abs(round(scale * value, 1)) < 2  # French: "1,5 point"
    return f"{text} point" if singular else f"{text} points"


def format_interval(low: float, high: float, unit: str, lang: Lang, level: float) -> str:
    """Format an interval: ``"95% CI +0.3 to +3.9"`` / ``"IC à 95 % +0,3 à +3,9"``."""
    pct = _number(100 * level, 0 if (100 * level).is_integer() else 1, lang)
    scale = 100.0 if unit == "percent" else 1.0
    ends = [
        _number(scale * x, 1, lang, sign=True) if math.isfinite(x) else "n/a" for x in (low, high)
    ]
    if lang == "fr":
        return f"IC à {pct}\u00a0% {ends[0]} à {ends[1]}"
    return f"{pct}% CI {ends[0]} to {ends[1]}"


def _level_interval(low: float, high: float, unit: str, lang: Lang, level: float) -> str:
    """Format the interval of a level (not signed): ``"95% CI 35.1% to 39.0%"``."""
    pct = _number(100 * level, 0 if (100 * level).is_integer() else 1, lang)
    ends = [format_value(x, unit, lang) for x in (low, high)]
    if lang == "fr":
        return f"IC à {pct}\u00a0% {ends[0]} à {ends[1]}"
    return f"{pct}% CI {ends[0]} to {ends[1]}"


# --------------------------------------------------------------------------- status


def _latest(estimates: pd.DataFrame, latest_wave: str) -> pd.DataFrame:
    """Return the national, variant "all" row of each survey × indicator in the latest wave."""
    rows = estimates[
        estimates["wave"].eq(latest_wave)
        & estimates["domain_set"].eq(NATIONAL)
        & estimates["variant"].eq("all")
    ]
    hidden = rows["availability"].eq("estimated") & rows["estimate"].isna()
    if "suppressed" in rows.columns:
        hidden |= rows["suppressed"].fillna(False).astype(bool)
    state = np.where(hidden, "suppressed", rows["availability"].astype(str))
    return rows[["survey", "indicator", "estimate", "ci_low", "ci_high"]].assign(state=state)


def _changes(trends: pd.DataFrame, latest_wave: str) -> pd.DataFrame:
    """Return the national "all" changes in the latest wave, one column set per comparison."""
    missing = [c for c in _TREND_NEEDED if c not in trends.columns]
    if missing:
        raise ValidationError(
            "The indicator trends lack required columns",
            expected=f"the indicator_trends columns, including {list(_TREND_NEEDED)}",
            found=f"no {missing}",
            hint="pass the table built by perception.trends.indicator_trends",
            column=missing[0],
        )
    wanted = trends["wave"].eq(latest_wave) & trends["domain_set"].eq(NATIONAL)
    wanted &= trends["variant"].eq("all")
    if "suppressed" in trends.columns:
        wanted &= ~trends["suppressed"].fillna(False).astype(bool)
    rows = trends[wanted]
    parts = []
    for comparison in ("previous", "baseline"):
        part = rows[rows["comparison"].eq(comparison)]
        renamed = {c: f"change_{comparison}{suffix}" for c, suffix in _CHANGE.items()}
        keep = ["survey", "indicator", *_CHANGE]
        if comparison == "baseline":
            renamed |= {"reference_wave": "baseline_wave", "direction": "trend"}
            keep += ["reference_wave", "direction"]
        parts.append(part[keep].rename(columns=renamed))
    return parts[0].merge(parts[1], on=["survey", "indicator"], how="outer")


def _rules(frame: pd.DataFrame, latest_date: dt.date | None) -> pd.Series:
    """Name the rule that decides each row's status (see :func:`benchmark_status`)."""
    higher = frame["direction"].eq("higher")
    has_target = frame["target"].notna()
    achieved = has_target & (
        (higher & (frame["ci_low"] >= frame["target"]))
        | (~higher & (frame["ci_high"] <= frame["target"]))
    )
    missed = has_target & (
        (higher & (frame["ci_high"] < frame["target"]))
        | (~higher & (frame["ci_low"] > frame["target"]))
    )
    dated = frame["target_date"].notna() & has_target
    passed = dated & frame["target_date"].map(
        lambda d: isinstance(d, dt.date) and latest_date is not None and d < latest_date
    ).astype(bool)
    reaches = (higher & (frame["projection"] >= frame["target"])) | (
        ~higher & (frame["projection"] <= frame["target"])
    )
    projected = dated & frame["undated"].eq("")
    state = frame["state"].fillna("missing")
    improving = frame["trend"].eq("improving")
    checks: list[tuple[pd.Series, str | pd.Series]] = [
        (state.ne("estimated"), state),
        (frame["nonprobability"].eq("latest"), "nonprobability"),
        (achieved, "achieved"),
        (passed & missed, "deadline_missed"),
        (passed, "deadline_unclear"),
        (frame["nonprobability"].eq("baseline"), "nonprobability_baseline"),
        (frame["change_baseline"].isna(), "no_change"),
        (frame["trend"].eq("worsening"), "worsening"),
        (improving & projected & ~reaches, "too_slow"),
        (improving & projected, "on_pace"),
        (improving, "improving"),
    ]
    rule = pd.Series("not_significant", index=frame.index, dtype="str")
    for condition, name in reversed(checks):
        rule = rule.mask(condition.to_numpy(dtype=bool), name)
    return rule


def _undated(frame: pd.DataFrame, dates: Mapping[str, dt.date]) -> pd.Series:
    """Name, per row with a target date, the waves it needs that have no date ("" if none)."""
    dated = frame[["target", "target_date"]].notna().all(axis=1)
    needed = [
        [w for w in (latest, base) if isinstance(w, str) and w not in dates] if want else []
        for want, latest, base in zip(
            dated, frame["latest_wave"], frame["baseline_wave"], strict=True
        )
    ]
    return pd.Series([", ".join(dict.fromkeys(w)) for w in needed], index=frame.index)


def _projection(frame: pd.DataFrame, dates: Mapping[str, dt.date]) -> pd.Series:
    """Project the baseline → latest change linearly to the target date (NaN where none)."""
    needed = frame[["target", "target_date", "change_baseline"]].notna().all(axis=1)
    needed &= frame["undated"].eq("")
    if not needed.any():
        return pd.Series(np.nan, index=frame.index)
    rows = frame.loc[needed]
    latest = rows["latest_wave"].map(dates)
    elapsed = np.array(
        [
            (end - dates[start]).days
            for end, start in zip(latest, rows["baseline_wave"], strict=True)
        ],
        dtype=np.float64,
    )
    ahead = np.array(
        [(target - end).days for target, end in zip(rows["target_date"], latest, strict=True)],
        dtype=np.float64,
    )
    if (elapsed <= 0).any():
        raise ConfigError(
            "Wave dates are not in chronological order",
            expected="each baseline wave dated before the latest wave",
            found=f"{int((elapsed <= 0).sum())} baseline waves dated on or after the latest",
            hint="give each wave's fieldwork date in wave_dates",
        )
    projected = rows["estimate"] + rows["change_baseline"] / elapsed * ahead
    return projected.reindex(frame.index)


def _reason(row: pd.Series, lang: Lang, level: float) -> str:
    """Write the sentence of one row's rule in one language."""
    unit = str(row["unit"])
    higher = row["direction"] == "higher"
    above, below = _SIDES[lang]
    target, date = row["target"], row["target_date"]
    fields = {
        "wave": row["latest_wave"],
        "est": format_value(row["estimate"], unit, lang),
        "ci": _level_interval(row["ci_low"], row["ci_high"], unit, lang, level),
        "target": format_value(target, unit, lang),
        "side": above if higher else below,
        "miss": below if higher else above,
        "base": row["baseline_wave"],
        "change": format_change(row["change_baseline"], unit, lang),
        "change_ci": format_interval(
            row["change_baseline_ci_low"], row["change_baseline_ci_high"], unit, lang, level
        ),
        "date": date.isoformat() if isinstance(date, dt.date) else "",
        "proj": format_value(row["projection"], unit, lang),
    }
    template = _RULES[str(row["rule"])][1 if lang == "en" else 2]
    if row["undated"] and row["rule"] not in _DATELESS_RULES:
        template += _UNDATED[0 if lang == "en" else 1]
    return template.format(**fields, undated=row["undated"])


def benchmark_status(
    estimates: pd.DataFrame,
    trends: pd.DataFrame,
    indicators_meta: pd.DataFrame | Mapping[str, Mapping[str, Any]],
    *,
    latest_wave: str,
    wave_dates: Mapping[str, dt.date] | None = None,
    level: float = 0.95,
    nonprobability_waves: Collection[str] = (),
) -> pd.DataFrame:
    """Status of every indicator against its benchmark: achieved, on track, off track or not known.

    Parameters
    ----------
    estimates
        Table 1 (``indicator_estimates``), before or after disclosure control.
    trends
        Table 2 (:func:`perception.trends.indicator_trends` of the same estimates).
    indicators_meta
        Per indicator: ``benchmark``, ``benchmark_term`` (short / medium / long), ``label_en``,
        ``label_fr``, ``type``, ``unit``, ``direction`` (higher / lower) and optionally
        ``target`` (in the indicator's unit) and ``target_date``; a DataFrame with an
        ``indicator`` column, or a mapping indicator id → those keys
        (see :func:`indicator_meta_frame`).
    latest_wave
        The wave whose estimates are judged.
    wave_dates
        A date per wave (e.g. the fieldwork midpoint); used only for indicators with a target
        date, for the baseline and latest waves. Where they lack a date, the target date is
        not assessed (see Notes).
    level
        The confidence level of the estimates and trends (it labels the intervals in the
        sentences).
    nonprobability_waves
        Waves declared ``sample: nonprobability`` (SMS, IVR, online panels): they never set a
        status on their own (see Notes).

    Returns
    -------
    pandas.DataFrame
        Table 3: one row per survey × indicator (in metadata order) with the latest national
        "all"-variant estimate, its changes since the previous and the baseline wave
        (``change_*_p`` are Benjamini-Hochberg adjusted p-values), ``target``, ``target_date``,
        ``status`` and ``reason_en`` / ``reason_fr``.

    Raises
    ------
    ValidationError
        The estimates or trends lack required columns.
    ConfigError
        Invalid metadata, an indicator of the estimates without metadata, or unordered wave
        dates for a projection.

    Notes
    -----
    The first rule that applies decides, in this order:

    1. **insufficient evidence** when the latest national row is absent, not asked, has no
       respondent or is suppressed: nothing can be said about a value that is not published
       (and the changes of a suppressed row are blanked too, as are changes that disclosure
       control marked ``suppressed`` in ``trends``).
    2. **achieved** when a target exists and the latest confidence interval lies entirely on
       the good side of it (``ci_low ≥ target`` for higher-is-better, ``ci_high ≤ target`` for
       lower-is-better). This is the conservative rule: a point estimate past the target with
       an interval that straddles it is still compatible with a population value short of
       the target, and declaring a benchmark met too early costs more than declaring it late.
    3. When the target date is before the latest wave's date and the target is not achieved:
       **off track** if the interval lies entirely on the bad side of the target, otherwise
       **insufficient evidence** (the interval still includes the target).
    4. **insufficient evidence** when there is no change since the baseline (one wave only, the
       latest wave is the baseline, or the baseline wave lacks the item).
    5. **off track** when the change since the baseline is significantly in the bad direction
       (``direction == "worsening"`` in Table 2: BH-adjusted p < alpha and the interval
       excludes 0).
    6. When it is significantly in the good direction: with a target and a target date, the
       change is extrapolated linearly in calendar time,
       ``projection = estimate + change · (target_date − latest) / (latest − baseline)``;
       **on track** if the projection reaches the target by the target date, **off track** if
       it falls short (improving, but too slowly). Without a target date: **on track**.
    7. Otherwise (the change is not significant after BH adjustment) **insufficient
       evidence**: a trend that cannot be told apart from sampling noise supports neither
       "on track" nor "off track".

    A non-probability wave never sets a status on its own: when it is the latest wave, every
    published indicator is **insufficient evidence** (right after rule 1), and when it is the
    baseline, a change since it decides nothing (insufficient evidence, right before rule 4);
    rules 2 and 3 still apply to a probability latest wave, since they use it alone.

    The trend used is always baseline → latest (the benchmark's horizon), not previous →
    latest, which is reported but does not decide. The projection uses point estimates; it is
    a pace check, not a forecast with its own uncertainty.

    Fieldwork dates are optional. Rule 3 needs the latest wave's date and the projection of
    rule 6 needs the baseline's too; without them these rules are skipped (the indicator is
    judged as if it had no target date) and the sentence says which waves lack dates.

    References
    ----------
    .. [1] Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a
       practical and powerful approach to multiple testing. *Journal of the Royal Statistical
       Society B*, 57(1), 289-300.
    .. [2] United Nations Department of Peace Operations (2020). *Comprehensive Planning and
       Performance Assessment System (CPAS)*: benchmarks with indicators, baselines and
       targets.

    """
    check_levels(level, 0.05)
    check_estimates(estimates, extra=("ci_low", "ci_high"))
    meta = indicator_meta_frame(indicators_meta)
    unknown = sorted(set(estimates["indicator"].astype(str)) - set(meta["indicator"]))
    if unknown:
        raise _meta_error(
            f"no metadata for the indicators {unknown[:10]}", "add them to the catalogue"
        )
    surveys = pd.DataFrame({"survey": list(dict.fromkeys(estimates["survey"].astype(str)))})
    frame = (
        surveys.merge(meta, how="cross")
        .merge(_latest(estimates, latest_wave), on=["survey", "indicator"], how="left")
        .merge(_changes(trends, latest_wave), on=["survey", "indicator"], how="left")
        .assign(latest_wave=latest_wave)
    )
    hidden = frame["state"].eq("suppressed").to_numpy(dtype=bool)
    for column in STATUS_COLUMNS:
        if column.startswith("change_"):
            frame[column] = frame[column].astype("float64").mask(hidden)
    nonprobability = set(nonprobability_waves)
    frame["nonprobability"] = np.where(
        latest_wave in nonprobability,
        "latest",
        np.where(frame["baseline_wave"].isin(nonprobability), "baseline", ""),
    )
    dates = dict(wave_dates or {})
    frame["undated"] = _undated(frame, dates)
    frame["projection"] = _projection(frame, dates)
    frame["rule"] = _rules(frame, dates.get(latest_wave))
    frame["status"] = frame["rule"].map({k: v[0] for k, v in _RULES.items()})
    for lang in ("en", "fr"):
        frame[f"reason_{lang}"] = [_reason(row, lang, level) for _, row in frame.iterrows()]
    floats = [c for c in STATUS_COLUMNS if c in ("estimate", "ci_low", "ci_high", "target")]
    strings = [
        c for c in STATUS_COLUMNS if c not in (*floats, "target_date") and "change_" not in c
    ]
    return frame[list(STATUS_COLUMNS)].astype(
        {**{c: "float64" for c in floats}, **{c: "str" for c in strings}}
    )


# --------------------------------------------------------------------------- summary


def _counts(rows: pd.DataFrame, lang: Lang) -> str:
    """Write "2 of 4 indicators on track, 1 achieved, …" from a benchmark's statuses."""
    counts = rows["status"].value_counts()
    parts: list[str] = []
    for status in _SUMMARY_ORDER:
        k = int(counts.get(status, 0))
        if k == 0:
            continue
        word = _STATUS_WORDS[lang][status][0 if k == 1 else 1]
        if not parts:
            total = len(rows)
            if lang == "en":
                lead = f"{k} of {total} indicator{'s' if total > 1 else ''}"
            else:
                lead = f"{k} indicateur{'s' if k > 1 else ''} sur {total}"
            parts.append(f"{lead} {word}")
        else:
            parts.append(f"{k} {word}")
    return ", ".join(parts)


def _headline(row: pd.Series, lang: Lang, level: float, alpha: float) -> str:
    """Describe the headline indicator's move from baseline to the latest wave."""
    unit = str(row["unit"])
    label = row[f"label_{lang}"]
    quoted = f"'{label}'" if lang == "en" else f"«\u00a0{label}\u00a0»"
    wave = row["latest_wave"]
    if not math.isfinite(row["estimate"]):
        return (
            f"no published estimate of {quoted} in {wave}"
            if lang == "en"
            else f"pas d'estimation publiée pour {quoted} en {wave}"
        )
    latest = format_value(row["estimate"], unit, lang, decimals=0)
    change = row["change_baseline"]
    if not math.isfinite(change):
        return f"{quoted}: {latest} in {wave}" if lang == "en" else f"{quoted} : {latest} en {wave}"
    start = format_value(row["estimate"] - change, unit, lang, decimals=0)
    low, high = row["change_baseline_ci_low"], row["change_baseline_ci_high"]
    significant = row["change_baseline_p"] < alpha and (low > 0 or high < 0)
    detail = f"{format_change(change, unit, lang)}, {format_interval(low, high, unit, lang, level)}"
    if lang == "en":
        verb = ("rose" if change > 0 else "fell") if significant else "went"
        note = "" if significant else ", not significant"
        return f"{quoted} {verb} from {start} at baseline to {latest} in {wave} ({detail}{note})"
    verb = ("a progressé" if change > 0 else "a reculé") if significant else "est passé"
    note = "" if significant else ", non significatif"
    return f"{quoted} {verb} de {start} à la référence à {latest} en {wave} ({detail}{note})"


def benchmark_summary(
    status: pd.DataFrame,
    benchmark_labels: Mapping[str, Mapping[str, str]],
    benchmark: str,
    lang: Lang = "en",
    *,
    headline: str | None = None,
    level: float = 0.95,
    alpha: float = 0.05,
) -> str:
    """One line summarising a benchmark: its statuses and its headline indicator's change.

    Parameters
    ----------
    status
        Table 3 of one survey (:func:`benchmark_status`).
    benchmark_labels
        Benchmark id → ``{"en": …, "fr": …}`` label (the indicator catalogue's benchmarks).
    benchmark
        The benchmark to summarise.
    lang
        ``"en"`` or ``"fr"``.
    headline
        The indicator whose change is quoted; default the benchmark's first non-gap indicator.
    level, alpha
        The confidence level and false discovery rate the trends used (a change is said to
        rise or fall only when its BH-adjusted p < alpha and its interval excludes 0).

    Returns
    -------
    str
        E.g. "Medium-term benchmark 'The population considers…': 2 of 4 indicators on track,
        1 achieved, 1 insufficient evidence; 'Feels included' rose from 37% at baseline to 39%
        in w3 (+2.1 points, 95% CI +0.4 to +3.8)."

    Raises
    ------
    ConfigError
        An unknown benchmark, language or headline indicator, or a benchmark without a label.
    ValidationError
        A status table holding several surveys.

    """
    check_levels(level, alpha)
    if lang not in ("en", "fr"):
        raise ConfigError(
            f"Unknown language {lang!r}",
            expected="'en' or 'fr'",
            found=repr(lang),
            hint="pass lang='en' or lang='fr'",
        )
    if status["survey"].nunique() > 1:
        raise ValidationError(
            "The status table holds several surveys",
            expected="the status of one survey",
            found=f"surveys {sorted(status['survey'].unique())}",
            hint="filter the table to one survey before summarising",
            column="survey",
        )
    rows = status[status["benchmark"].eq(benchmark)]
    if rows.empty or benchmark not in benchmark_labels:
        raise ConfigError(
            f"No indicators or no label for the benchmark {benchmark!r}",
            expected=f"a labelled benchmark among {sorted(status['benchmark'].unique())}",
            found=repr(benchmark),
            hint="check the benchmark id against config/indicators.yaml",
        )
    candidates = rows if headline is not None else rows[rows["type"].ne("gap")]
    chosen = candidates[candidates["indicator"].eq(headline)] if headline else candidates.head(1)
    if chosen.empty:
        raise ConfigError(
            f"The headline indicator {headline!r} is not in the benchmark {benchmark!r}",
            expected=f"one of {list(rows['indicator'])}",
            found=repr(headline),
            hint="pick an indicator of this benchmark, or leave headline unset",
        )
    term = _TERM_WORDS[lang][str(rows["benchmark_term"].iloc[0])]
    label = benchmark_labels[benchmark][lang]
    counts = _counts(rows, lang)
    move = _headline(chosen.iloc[0], lang, level, alpha)
    if lang == "en":
        return f"{term} benchmark '{label}': {counts}; {move}."
    return f"Repère {term} «\u00a0{label}\u00a0»\u00a0: {counts}\u00a0; {move}."
