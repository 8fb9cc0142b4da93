"""Change over time of every indicator in every domain, with false-discovery-rate control.

:func:`indicator_trends` turns the long table of indicator estimates (one row per survey ×
wave × indicator × variant × domain, "Table 1") into the long table of changes ("Table 2"):
each estimate against the previous wave and against the indicator's baseline wave, as
independent-sample differences (:func:`perception.contrasts.wave_differences`),
with Benjamini-Hochberg adjusted p-values and an improving / worsening / no change verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from perception.config.indicators import NATIONAL
from perception.contrasts import wave_differences
from perception.errors import ConfigError, ValidationError, require_columns
from perception.tables import (
    AVAILABILITY,
    COMPARISONS,
    DIRECTIONS,
    TRENDS_TABLE,
    with_domains,
)

KEY_COLUMNS: tuple[str, ...] = ("survey", "indicator", "variant", "domain_set")
"""Fixed columns that, with the survey's domain columns after them, identify one estimate
within a wave."""
#: Table 2's fixed columns; the table has the survey's domain columns after ``domain_set``
#: (:func:`trend_columns`).
TREND_COLUMNS: tuple[str, ...] = tuple(TRENDS_TABLE.columns(published=False))
_REQUIRED: tuple[str, ...] = (
    *KEY_COLUMNS,
    "wave",
    "benchmark",
    "type",
    "unit",
    "estimate",
    "se",
    "df",
    "n",
    "availability",
)
#: The columns that name one multiple-testing family of changes.
FAMILY = ("survey", "comparison", "wave")
_SIDE: tuple[str, ...] = ("estimate", "se", "df", "n")


def _positions(mask: pd.Series) -> list[int]:
    """Return the row positions where a boolean Series is true (errors show the first 10)."""
    return [int(i) for i in np.flatnonzero(mask.to_numpy(dtype=bool))]


def check_levels(level: float, alpha: float) -> None:
    """Reject a confidence level or significance threshold outside (0, 1)."""
    for name, value, example in (("level", level, 0.95), ("alpha", alpha, 0.05)):
        if not 0.0 < value < 1.0:
            raise ConfigError(
                f"The {name} is out of range",
                expected=f"a {name} strictly between 0 and 1, such as {example}",
                found=repr(value),
                hint=f"pass {name}={example}",
            )


def _check_waves(waves: Sequence[str]) -> tuple[str, ...]:
    """Return the waves as a tuple, rejecting an empty or repeated list."""
    order = tuple(str(w) for w in waves)
    repeated = sorted({w for w in order if order.count(w) > 1})
    if not order or repeated:
        raise ConfigError(
            "The wave order is empty or repeats a wave",
            expected="each wave id once, in chronological order, e.g. ['w1', 'w2', 'w3']",
            found=f"repeated {repeated}" if repeated else "an empty list",
            hint="list the survey's waves in fieldwork order",
        )
    return order


def trend_columns(domains: Sequence[str]) -> tuple[str, ...]:
    """Return every column of Table 2, in order, for a survey's domain columns."""
    return with_domains(TREND_COLUMNS, domains)


def check_estimates(
    estimates: pd.DataFrame, extra: Sequence[str] = (), *, domains: Sequence[str] | None = None
) -> None:
    """Reject an indicator table that lacks a column, has an unknown availability or repeats a row.

    With ``domains`` (the survey's domain columns) every row is checked; without, only the
    national rows are (for callers that read nothing else).

    Raises
    ------
    ValidationError
        A missing column, an ``availability`` outside ``estimated / not_asked / no_data``, or two
        rows with the same survey, wave, indicator, variant and domain.

    """
    require_columns(
        estimates.columns,
        [*_REQUIRED, *(domains or ()), *extra],
        "The indicator_estimates table",
        hint="pass the table built by perception.indicators",
    )
    bad = ~estimates["availability"].isin(AVAILABILITY)
    if bad.any():
        raise ValidationError(
            "Unknown availability values in the indicator estimates",
            expected=f"one of {list(AVAILABILITY)}",
            found=repr(sorted(estimates.loc[bad, "availability"].astype(str).unique())[:5]),
            hint="mark a wave without the item 'not_asked' and an empty domain 'no_data'",
            column="availability",
            rows=_positions(bad),
        )
    keys = [*KEY_COLUMNS, *(domains or ()), "wave"]
    repeated = estimates.duplicated(keys, keep=False)
    if domains is None:
        repeated &= estimates["domain_set"].eq(NATIONAL)
    if repeated.any():
        raise ValidationError(
            "The indicator estimates repeat a survey × wave × indicator × variant × domain",
            expected="one row per survey, wave, indicator, variant and domain",
            found=f"{int(repeated.sum())} rows sharing their key with another row",
            hint="drop duplicated rows, or give each variant its own name",
            rows=_positions(repeated),
        )


def _check_directions(directions: Mapping[str, str], indicators: Sequence[str]) -> None:
    """Reject a direction mapping that misses an indicator or uses another word."""
    absent = [i for i in indicators if i not in directions]
    wrong = {k: v for k, v in directions.items() if v not in DIRECTIONS}
    if absent or wrong:
        raise ConfigError(
            "Indicator directions are incomplete or invalid",
            expected=f"every indicator mapped to one of {list(DIRECTIONS)}",
            found=f"no direction for {absent[:10]}" if absent else f"{wrong}",
            hint="pass directions={indicator: 'higher' | 'lower'} from the indicator catalogue",
        )


def _baselines(
    baseline: str | Mapping[str, str] | None, waves: tuple[str, ...], indicators: Sequence[str]
) -> dict[str, str]:
    """Map every indicator to its baseline wave (default: the first wave)."""
    if baseline is None or isinstance(baseline, str):
        chosen = {i: baseline or waves[0] for i in indicators}
    else:
        chosen = {i: baseline.get(i, waves[0]) for i in indicators}
    unknown = {i: w for i, w in chosen.items() if w not in waves}
    if unknown:
        raise ConfigError(
            "A baseline wave is not among the waves",
            expected=f"a baseline wave in {list(waves)}",
            found=repr(unknown),
            hint="set the baseline to one of the survey's waves",
        )
    return chosen


def _usable(estimates: pd.DataFrame, waves: tuple[str, ...], keys: list[str]) -> pd.DataFrame:
    """Keep estimated rows with an estimate, SE and df, in the listed waves, with their order."""
    table = estimates.assign(_order=estimates.groupby(keys, sort=False, dropna=False).ngroup())
    keep = (
        table["wave"].isin(waves)
        & table["availability"].eq("estimated")
        & table[["estimate", "se", "df"]].notna().all(axis=1)
    )
    return table.loc[keep, [*keys, "wave", "benchmark", "type", "unit", *_SIDE, "_order"]]


def _pairs(
    table: pd.DataFrame, waves: tuple[str, ...], baselines: Mapping[str, str], keys: list[str]
) -> pd.DataFrame:
    """Pair each later estimate with its previous-wave and baseline-wave estimates (inner merge)."""
    rank = {w: k for k, w in enumerate(waves)}
    previous = table.assign(
        comparison="previous",
        reference_wave=table["wave"].map(dict(zip(waves[1:], waves[:-1], strict=True))),
    )
    reference = table["indicator"].map(baselines)
    after = table["wave"].map(rank) > reference.map(rank)
    baseline = table.assign(comparison="baseline", reference_wave=reference).loc[after]
    later = pd.concat([previous.dropna(subset=["reference_wave"]), baseline], ignore_index=True)
    earlier = table[[*keys, "wave", *_SIDE]].rename(
        columns={"wave": "reference_wave", **{c: f"{c}_b" for c in _SIDE}}
    )
    pairs = later.merge(earlier, on=[*keys, "reference_wave"], how="inner")
    return pairs.assign(
        _comparison=pairs["comparison"].map({c: k for k, c in enumerate(COMPARISONS)}),
        _wave=pairs["wave"].map(rank),
    ).sort_values(["_order", "_comparison", "_wave"], kind="stable", ignore_index=True)


def _bh(p_values: pd.Series) -> pd.Series:
    """Benjamini-Hochberg adjusted p-values of one family; NaN p-values stay out and stay NaN."""
    adjusted = pd.Series(np.nan, index=p_values.index, dtype="float64")
    tested = p_values.notna()
    if tested.any():
        adjusted[tested] = multipletests(p_values[tested].to_numpy(), method="fdr_bh")[1]
    return adjusted


def bh_within(table: pd.DataFrame, tested: pd.Series, keys: Sequence[str]) -> pd.Series:
    """Return Benjamini-Hochberg adjusted p-values within each ``keys`` family of ``tested`` rows.

    Rows outside ``tested`` get NaN and take no part in any family.

    References
    ----------
    .. [1] Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate.
       *Journal of the Royal Statistical Society B*, 57(1), 289-300.

    """
    adjusted = pd.Series(np.nan, index=table.index, dtype="float64")
    rows = table[tested.to_numpy(dtype=bool)]
    if len(rows):
        adjusted[rows.index] = rows.groupby(list(keys), sort=False)["p_value"].transform(_bh)
    return adjusted


def adjust_published(
    trends: pd.DataFrame, directions: Mapping[str, str], alpha: float = 0.05
) -> pd.DataFrame:
    """Re-adjust the p-values of published Table 2 over the published changes only.

    :func:`indicator_trends` adjusts each family before disclosure control, so a published
    ``p_adjusted`` (a minimum of ``m/j p_(j)`` over the family) could equal a hidden change's
    scaled p-value and give its test statistic away. Here each family (same survey,
    comparison and wave) holds only the changes that are shown, so every published adjusted
    p-value is a function of published p-values; ``significant`` and ``direction`` follow.
    Suppressed rows keep NA. The family is chosen by disclosure rules (cell sizes), never by
    the p-values, so BH still controls the false discovery rate among the published changes.
    """
    out = trends.copy()
    shown = ~out["suppressed"].astype(bool)
    out["p_adjusted"] = bh_within(out, shown, FAMILY)
    significant, direction = _verdict(out[shown], directions, alpha)
    out.loc[shown, "significant"] = significant
    out.loc[shown, "direction"] = direction
    return out


def _verdict(
    changes: pd.DataFrame, directions: Mapping[str, str], alpha: float
) -> tuple[pd.Series, pd.Series]:
    """Return ``significant`` and ``direction`` (improving / worsening / no change) per row."""
    excludes_zero = (changes["ci_low"] > 0) | (changes["ci_high"] < 0)
    significant = (changes["p_adjusted"] < alpha) & excludes_zero
    good = np.where(changes["indicator"].map(directions).eq("higher"), 1.0, -1.0)
    signed = np.sign(changes["estimate"].to_numpy(dtype=np.float64)) * good
    words = np.where(signed > 0, "improving", "worsening")
    direction = pd.Series(
        np.where(significant, words, "no change"), index=changes.index, dtype="str"
    )
    return significant.astype(bool), direction


def _empty(domains: Sequence[str]) -> pd.DataFrame:
    """Return a Table 2 with no rows and the contract's dtypes."""
    dtypes = TRENDS_TABLE.dtypes(domains, published=False)
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in dtypes.items()})


def indicator_trends(
    estimates: pd.DataFrame,
    *,
    waves: Sequence[str],
    directions: Mapping[str, str],
    domains: Sequence[str],
    baseline: str | Mapping[str, str] | None = None,
    level: float = 0.95,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Change of every indicator × variant × domain since the previous and the baseline wave.

    Parameters
    ----------
    estimates
        The ``indicator_estimates`` table (Table 1): one row per survey × wave × indicator ×
        variant × domain, with ``estimate``, ``se``, ``df``, ``n`` and ``availability``.
    domains
        The survey's domain columns (``Catalogue.domain_columns``), in order.
    waves
        The waves to compare, in chronological order. Rows of other waves are ignored.
    directions
        Each indicator's good direction, ``"higher"`` or ``"lower"`` (every indicator of the
        table must be present).
    baseline
        The baseline wave of every indicator (a wave id), or a mapping indicator → baseline
        wave; indicators absent from the mapping, and ``None``, mean the first of ``waves``.
    level
        Confidence level of the intervals.
    alpha
        False discovery rate at which a change is called significant.

    Returns
    -------
    pandas.DataFrame
        Table 2 (the columns of :func:`trend_columns`), one row per survey × indicator ×
        variant × domain × wave × comparison:
        ``comparison`` ``"previous"`` (``reference_wave`` = the wave before ``wave`` in
        ``waves``) or ``"baseline"`` (every wave after the indicator's baseline); ``estimate``
        = wave − reference with ``se, ci_low, ci_high, df, p_value``; ``p_adjusted``;
        ``significant``; ``direction``; ``n`` = the smaller ``n`` of the two sides, ``n_a`` =
        ``n`` in ``wave`` and ``n_b`` = ``n`` in ``reference_wave``. Rows follow the order of
        the estimates, then comparison, then wave.

    Raises
    ------
    ValidationError
        The estimates lack a column, have an unknown availability or repeat a key.
    ConfigError
        An empty or repeated wave list, a baseline outside it, a missing or invalid direction,
        or a level or alpha outside (0, 1).

    Notes
    -----
    * A change exists only when both sides are ``availability == "estimated"`` with an
      estimate, SE and df: a wave that did not ask the item ("not_asked"), an empty domain
      ("no_data") or a value hidden before this step gives *no row* (never a change of 0 or a
      row of NAs), so it neither enters nor dilutes the multiple-testing family.
    * The previous wave is the wave just before in ``waves``; when that wave lacks the item
      there is no "previous" row (the change against the last wave that asked it is the
      baseline comparison when it is the baseline, or can be read off the estimates).
    * Variance: waves are independent samples, so the change is
      :func:`perception.contrasts.wave_difference` (Welch-Satterthwaite df), computed for all
      rows at once by :func:`perception.contrasts.wave_differences`.
    * Multiple testing: Benjamini-Hochberg (``statsmodels`` ``multipletests``,
      ``method="fdr_bh"``) within each family = all rows of one survey with the same
      ``comparison`` and ``wave`` (every indicator, variant and domain tested at once). Rows
      whose p-value is NaN (df not positive) are left out of their family.
    * ``significant`` = ``p_adjusted < alpha`` **and** the interval excludes 0; only then is
      ``direction`` ``"improving"`` (a change in the indicator's good direction) or
      ``"worsening"``; otherwise ``"no change"``.

    References
    ----------
    .. [1] Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a
       practical and powerful approach to multiple testing. *Journal of the Royal Statistical
       Society B*, 57(1), 289-300.
    .. [2] Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
       components. *Biometrics Bulletin*, 2(6), 110-114.

    """
    order = _check_waves(waves)
    check_levels(level, alpha)
    check_estimates(estimates, domains=domains)
    indicators = list(dict.fromkeys(estimates["indicator"].astype(str)))
    _check_directions(directions, indicators)
    keys = [*KEY_COLUMNS, *domains]
    table = _usable(estimates, order, keys)
    pairs = _pairs(table, order, _baselines(baseline, order, indicators), keys)
    if pairs.empty:
        return _empty(domains)
    side = {
        c: pairs[c].to_numpy(dtype=np.float64, na_value=np.nan)
        for c in ("estimate", "se", "df", "estimate_b", "se_b", "df_b")
    }
    change = wave_differences(
        side["estimate"],
        side["se"],
        side["df"],
        side["estimate_b"],
        side["se_b"],
        side["df_b"],
        level,
    )
    columns = [*keys, "benchmark", "type", "unit", "comparison", "wave", "reference_wave"]
    out = pairs[columns].assign(**change)
    out["p_adjusted"] = bh_within(out, pd.Series(True, index=out.index), FAMILY)
    out["significant"], out["direction"] = _verdict(out, directions, alpha)
    n_a, n_b = pairs["n"].astype("Int64"), pairs["n_b"].astype("Int64")
    out["n"] = np.minimum(n_a, n_b)
    out["n_a"], out["n_b"] = n_a, n_b
    return out[list(trend_columns(domains))].astype(_empty(domains).dtypes.to_dict())
