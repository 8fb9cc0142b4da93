"""Benchmark status of every indicator and a one-line summary of a benchmark, in English and French.

:func:`indicator_status` reads the national, "all" variant row of each indicator in the latest
wave (Table 1) and its changes (Table 2) and gives each indicator one of four statuses with a
sentence saying why ("Table 3"); :func:`benchmark_summary` condenses one benchmark into the
line a quarterly report quotes. The rules are here; their words are in :mod:`perception.words`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from perception.config import IndicatorCatalogue, SurveyConfig
from perception.errors import ConfigError, ValidationError, require_columns
from perception.estimation import NATIONAL
from perception.tables import DIRECTIONS, STATUS_TABLE, TERMS
from perception.tables import STATUSES as STATUSES  # the statuses, re-exported
from perception.trends import TREND_COLUMNS, check_estimates, check_levels
from perception.words import (
    Lang,
    format_change,
    format_date,
    format_interval,
    format_value,
    level_interval,
    say,
    status_word,
)

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
"""Indicator metadata that :func:`indicator_status` reads (``target``, ``target_date`` optional)."""
STATUS_COLUMNS: tuple[str, ...] = tuple(STATUS_TABLE.columns())
"""Table 3's columns, in order (:data:`perception.tables.STATUS_TABLE`)."""
_OPTIONAL = ("target", "target_date")
_CHANGE = {
    "estimate": "",
    "ci_low": "_ci_low",
    "ci_high": "_ci_high",
    "p_adjusted": "_p",
    "se": "_se",
}
_SUMMARY_ORDER = ("on track", "achieved", "off track", "insufficient evidence", "no target")
# The status each rule gives; its sentence is words.yaml's reason.<rule>. Fields: wave, est, ci,
# target, side (above/below), miss (the other side), base, change, change_ci, date, proj.
_RULES: dict[str, str] = {
    "no_target": "no target",
    "missing": "insufficient evidence",
    "not_asked": "insufficient evidence",
    "no_data": "insufficient evidence",
    "suppressed": "insufficient evidence",
    "achieved": "achieved",
    "deadline_missed": "off track",
    "deadline_unclear": "insufficient evidence",
    "nonprobability": "insufficient evidence",
    "nonprobability_baseline": "insufficient evidence",
    "no_change": "insufficient evidence",
    "worsening": "off track",
    "projected_short": "off track",
    "on_pace": "on track",
    "projected_unclear": "insufficient evidence",
    "improving": "on track",
    "not_significant": "insufficient evidence",
}
_PROJECTED = ("projection", "projection_low", "projection_high")
_DATELESS_RULES = (
    "no_target",
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


def status_tally(statuses: Sequence[str], lang: Lang) -> str:
    """Count statuses in :data:`STATUSES` order: ``"2 achieved, 3 on track, 4 off track"``."""
    counts = {status: list(statuses).count(status) for status in STATUSES}
    parts = [f"{k} {status_word(status, lang, k)}" for status, k in counts.items() if k]
    return ", ".join(parts)


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
    columns = ["survey", "indicator", "estimate", "se", "ci_low", "ci_high"]
    return rows[columns].assign(state=state)


def _changes(trends: pd.DataFrame, latest_wave: str) -> pd.DataFrame:
    """Return the national "all" changes in the latest wave, one column set per comparison."""
    require_columns(
        trends.columns,
        TREND_COLUMNS,
        "The indicator_trends table",
        hint="pass the table built by perception.trends.indicator_trends",
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
    """Name the rule that decides each row's status (see :func:`indicator_status`)."""
    higher = frame["direction"].eq("higher")
    target = frame["target"]
    has_target = target.notna()

    def past(low: pd.Series, high: pd.Series) -> pd.Series:
        """Tell where an interval lies entirely on the good side of the target."""
        return has_target & ((higher & (low >= target)) | (~higher & (high <= target)))

    def short(low: pd.Series, high: pd.Series) -> pd.Series:
        """Tell where an interval lies entirely on the bad side of the target."""
        return has_target & ((higher & (high < target)) | (~higher & (low > target)))

    dated = frame["target_date"].notna() & has_target
    passed = dated & frame["target_date"].map(
        lambda d: isinstance(d, dt.date) and latest_date is not None and d < latest_date
    ).astype(bool)
    projection = frame["projection"]
    reaches = (higher & (projection >= target)) | (~higher & (projection <= target))
    projected = frame["projection"].notna()
    state = frame["state"].fillna("missing")
    improving = frame["trend"].eq("improving")
    checks: list[tuple[pd.Series, str | pd.Series]] = [
        (~has_target, "no_target"),
        (state.ne("estimated"), state),
        (frame["nonprobability"].eq("latest"), "nonprobability"),
        (past(frame["ci_low"], frame["ci_high"]), "achieved"),
        (passed & short(frame["ci_low"], frame["ci_high"]), "deadline_missed"),
        (passed, "deadline_unclear"),
        (frame["nonprobability"].eq("baseline"), "nonprobability_baseline"),
        (frame["change_baseline"].isna(), "no_change"),
        (frame["trend"].eq("worsening"), "worsening"),
        (projected & short(frame["projection_low"], frame["projection_high"]), "projected_short"),
        (projected & improving & reaches, "on_pace"),
        (projected & past(frame["projection_low"], frame["projection_high"]), "on_pace"),
        (projected, "projected_unclear"),
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


def _projection(frame: pd.DataFrame, dates: Mapping[str, dt.date], level: float) -> pd.DataFrame:
    """Project the baseline → latest change linearly to the target date, with its interval.

    Returns the columns ``projection``, ``projection_low`` and ``projection_high`` (NaN where
    there is no target date, no change or no wave date).
    """
    out = pd.DataFrame(np.nan, index=frame.index, columns=list(_PROJECTED))
    needed = frame[["target", "target_date", "change_baseline"]].notna().all(axis=1)
    needed &= frame["undated"].eq("")
    if not needed.any():
        return out
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
    ratio = ahead / elapsed
    projected = rows["estimate"].to_numpy(float) + ratio * rows["change_baseline"].to_numpy(float)
    # Independent waves: Var(latest + r·Δ) = (1 + 2r)·Var(latest) + r²·Var(Δ).
    variance = (1 + 2 * ratio) * rows["se"].to_numpy(float) ** 2
    variance += ratio**2 * rows["change_baseline_se"].to_numpy(float) ** 2
    half = float(norm.ppf(0.5 + level / 2)) * np.sqrt(variance)
    out.loc[needed, "projection"] = projected
    out.loc[needed, "projection_low"] = projected - half
    out.loc[needed, "projection_high"] = projected + half
    return out


def _reason(
    row: pd.Series, lang: Lang, level: float, waves: Mapping[str, Mapping[str, str]]
) -> str:
    """Write the sentence of one row's rule in one language."""
    unit, kind = str(row["unit"]), str(row["type"])
    higher = row["direction"] == "higher"
    above, below = say("reason.above", lang), say("reason.below", lang)
    target, date = row["target"], row["target_date"]

    def wave(ident: Any) -> str:
        return str(waves.get(str(ident), {}).get(lang, ident))

    fields = {
        "wave": wave(row["latest_wave"]),
        "est": format_value(row["estimate"], unit, lang, kind),
        "ci": level_interval(row["ci_low"], row["ci_high"], unit, lang, level, kind),
        "target": format_value(target, unit, lang, kind),
        "side": above if higher else below,
        "miss": below if higher else above,
        "base": wave(row["baseline_wave"]),
        "change": format_change(row["change_baseline"], unit, lang, kind),
        "change_ci": format_interval(
            row["change_baseline_ci_low"], row["change_baseline_ci_high"], unit, lang, level, kind
        ),
        "date": format_date(date, lang) if isinstance(date, dt.date) else "",
        "proj": format_value(row["projection"], unit, lang, kind),
        "proj_ci": level_interval(
            row["projection_low"], row["projection_high"], unit, lang, level, kind
        ),
    }
    undated = ", ".join(wave(w) for w in str(row["undated"]).split(", ") if w)
    text = say(f"reason.{row['rule']}", lang, **fields)
    if row["undated"] and row["rule"] not in _DATELESS_RULES:
        text += " " + say("reason.undated", lang, undated=undated, date=fields["date"])
    return text


def indicator_status(
    estimates: pd.DataFrame,
    trends: pd.DataFrame,
    indicators_meta: pd.DataFrame | Mapping[str, Mapping[str, Any]],
    *,
    latest_wave: str,
    wave_dates: Mapping[str, dt.date] | None = None,
    wave_labels: Mapping[str, Mapping[str, str]] | None = None,
    level: float = 0.95,
    nonprobability_waves: Collection[str] = (),
) -> pd.DataFrame:
    """Status of every indicator against its target: achieved, on track, off track, unclear or none.

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
    wave_labels
        Wave id → ``{"en": …, "fr": …}`` label, written in the sentences in place of the ids
        (default: the ids).
    level
        The confidence level of the estimates and trends (it labels the intervals in the
        sentences, and is the level of the projected interval).
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
    The first rule that applies decides, in this order (``status.<status>.definition`` in
    ``words.yaml`` says the same in words, for the dashboard and ``ARCHITECTURE.md``):

    1. **no target** (monitoring) when the indicator has no target.
    2. **insufficient evidence** when the latest national row is absent, not asked, has no
       respondent or is suppressed: nothing can be said about a value that is not published
       (and the changes of a suppressed row are blanked too, as are changes that disclosure
       control marked ``suppressed`` in ``trends``).
    3. **achieved** when the latest confidence interval lies entirely on the good side of the
       target (``ci_low ≥ target`` for higher-is-better, ``ci_high ≤ target`` for
       lower-is-better). This is the conservative rule: a point estimate past the target with
       an interval that straddles it is still compatible with a population value short of
       the target, and declaring a benchmark met too early costs more than declaring it late.
    4. When the target date is before the latest wave's date: **off track** if the latest
       interval lies entirely on the bad side of the target, otherwise **insufficient
       evidence** (the interval still includes the target).
    5. **insufficient evidence** when there is no change since the baseline (one wave only, the
       latest wave is the baseline, or the baseline wave lacks the item).
    6. **off track** when the change since the baseline is significantly in the bad direction
       (``direction == "worsening"`` in Table 2: BH-adjusted p < alpha and the interval
       excludes 0).
    7. With a target date, the change is extrapolated linearly in calendar time,
       ``projection = latest + r·Δ`` with ``r = (target_date − latest) / (latest − baseline)``,
       and given an interval at ``level``: ``projection ± z·√((1 + 2r)·se_latest² + r²·se_Δ²)``,
       the variance of ``(1 + r)·latest − r·baseline`` for independent samples (Table 2's
       changes assume the same). **Off track** when the target lies outside that plausible
       range on the bad side, even a flat indicator (a flat trend stays where it is, give or
       take its sampling error); **on track** when the change is significantly improving and
       the projection reaches the target, or the whole projected interval lies past it;
       otherwise **insufficient evidence** (the target is within the plausible range).
    8. Without a target date: **on track** when the change is significantly improving,
       otherwise **insufficient evidence**: a trend that cannot be told apart from sampling
       noise supports neither "on track" nor "off track".

    A non-probability wave never sets a status on its own: when it is the latest wave, every
    published indicator is **insufficient evidence** (right after rule 1), and when it is the
    baseline, a change since it decides nothing (insufficient evidence, right before rule 4);
    rules 2 and 3 still apply to a probability latest wave, since they use it alone.

    The trend used is always baseline → latest (the benchmark's horizon), not previous →
    latest, which is reported but does not decide. The projection interval carries the
    sampling error of the latest estimate and of the change; it does not model uncertainty
    about the pace itself (a straight line is an assumption, not a forecast).

    Fieldwork dates are optional. Rule 4 needs the latest wave's date and the projection of
    rule 7 needs the baseline's too; without them these rules are skipped (the indicator is
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
    frame[list(_PROJECTED)] = _projection(frame, dates, level)
    frame["rule"] = _rules(frame, dates.get(latest_wave))
    frame["status"] = frame["rule"].map(_RULES)
    labels = dict(wave_labels or {})
    for lang in ("en", "fr"):
        frame[f"reason_{lang}"] = [_reason(row, lang, level, labels) for _, row in frame.iterrows()]
    dtypes = STATUS_TABLE.dtypes()
    dtypes.pop("target_date")  # datetime.date values, or None
    return frame[list(STATUS_COLUMNS)].astype(dtypes)


# --------------------------------------------------------------------------- summary


def _counts(rows: pd.DataFrame, lang: Lang) -> str:
    """Write "2 of 4 indicators on track, 1 achieved, …" from a benchmark's statuses."""
    counts = rows["status"].value_counts()
    parts: list[str] = []
    for status in _SUMMARY_ORDER:
        k = int(counts.get(status, 0))
        if k == 0:
            continue
        word = status_word(status, lang, k)
        if not parts:
            total = len(rows)
            one = total == 1 if lang == "en" else k == 1
            lead = say("summary.lead_one" if one else "summary.lead", lang, k=k, total=total)
            parts.append(f"{lead} {word}")
        else:
            parts.append(f"{k} {word}")
    return ", ".join(parts)


def _headline(row: pd.Series, lang: Lang, level: float, alpha: float) -> str:
    """Describe the headline indicator's move from baseline to the latest wave."""
    unit, kind = str(row["unit"]), str(row["type"])
    label = say("summary.quote", lang, label=row[f"label_{lang}"])
    wave = row["latest_wave"]
    if not math.isfinite(row["estimate"]):
        return say("summary.unpublished", lang, label=label, wave=wave)
    latest = format_value(row["estimate"], unit, lang, kind, decimals=0)
    change = row["change_baseline"]
    if not math.isfinite(change):
        return say("summary.latest", lang, label=label, latest=latest, wave=wave)
    start = format_value(row["estimate"] - change, unit, lang, kind, decimals=0)
    low, high = row["change_baseline_ci_low"], row["change_baseline_ci_high"]
    significant = row["change_baseline_p"] < alpha and (low > 0 or high < 0)
    interval = format_interval(low, high, unit, lang, level, kind)
    detail = f"{format_change(change, unit, lang, kind)}, {interval}"
    key = ("summary.rose" if change > 0 else "summary.fell") if significant else "summary.went"
    return say(key, lang, label=label, start=start, latest=latest, wave=wave, detail=detail)


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
        Table 3 of one survey (:func:`indicator_status`).
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
    return say(
        "summary.benchmark",
        lang,
        term=say(f"term.{rows['benchmark_term'].iloc[0]}", lang),
        label=say("summary.quote", lang, label=benchmark_labels[benchmark][lang]),
        counts=_counts(rows, lang),
        move=_headline(chosen.iloc[0], lang, level, alpha),
    )


def wave_dates(survey: SurveyConfig) -> dict[str, dt.date]:
    """Return each wave's fieldwork midpoint, the date trends are projected from."""
    return {
        w.id: w.fieldwork.start + (w.fieldwork.end - w.fieldwork.start) / 2
        for w in survey.waves
        if w.fieldwork is not None
    }


def survey_status(
    estimates: pd.DataFrame,
    trends: pd.DataFrame,
    indicators: IndicatorCatalogue,
    survey: SurveyConfig,
) -> pd.DataFrame:
    """Return each indicator's status (:func:`indicator_status`) for a survey's waves.

    The latest probability wave is judged: a non-probability wave (``sample:
    nonprobability``) is judged only when no probability wave has estimates, and then every
    status is insufficient evidence.
    """
    order = [w.id for w in survey.waves if w.id in set(estimates["wave"])]
    nonprobability = survey.nonprobability_waves()
    probability = [w for w in order if w not in nonprobability]
    return indicator_status(
        estimates,
        trends,
        indicators.metadata(),
        latest_wave=(probability or order)[-1],
        wave_dates=wave_dates(survey),
        nonprobability_waves=nonprobability,
        wave_labels={w.id: {"en": w.label.en, "fr": w.label.fr} for w in survey.waves},
    )


def headline_summary(
    status: pd.DataFrame, indicators: IndicatorCatalogue, lang: Lang = "en"
) -> str:
    """Return the one-line summary of the headline benchmark (the first in the catalogue)."""
    labels = {k: {"en": b.label.en, "fr": b.label.fr} for k, b in indicators.benchmarks.items()}
    return benchmark_summary(status, labels, indicators.headline, lang)
