"""Contrasts and wave differences: differences between two estimates, with their uncertainty.

:func:`contrast` compares two domains of one design and :func:`domain_gaps` gives the gaps
``a − b`` within every domain of several domain sets, both from the linearized scores of
:mod:`perception.estimation` (so the covariance of the two sides is kept);
:func:`wave_differences` compares estimates of independent waves.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from perception.design import SurveyDesign
from perception.errors import ConfigError, ValidationError
from perception.estimation import (
    DomainIndex,
    Stat,
    _check_columns,
    _check_options,
    _domain_columns,
    _greg_context,
    _scores,
    _set_label,
    _t_quantile,
    domain_index,
    variable_values,
)
from perception.tables import TESTED
from perception.variance import (
    FloatArray,
    IntArray,
    Scores,
    combine_codes,
    degrees_of_freedom,
    variance,
)


@dataclass(frozen=True)
class Comparison:
    """A difference between two estimates with its uncertainty.

    Attributes
    ----------
    estimate, se, ci_low, ci_high, df, p_value
        Difference, standard error, Student-t interval, degrees of freedom and two-sided
        p-value for the null hypothesis of no difference.

    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    df: float
    p_value: float


def _find_domain(design: SurveyDesign, index: DomainIndex, by: Sequence[str], value: Any) -> int:
    """Return the domain number whose ``by`` values equal ``value`` (a scalar or tuple)."""
    wanted = value if isinstance(value, tuple) else (value,)
    if len(wanted) != len(by):
        raise ValidationError(
            "A contrast domain does not match the by columns",
            expected=f"{len(by)} value(s), one per column of {list(by)}",
            found=repr(value),
            hint="give a tuple of values in the order of by",
        )
    labels = _domain_columns(design, index)
    match = np.ones(index.n_domains, dtype=np.bool_)
    for column, item in zip(by, wanted, strict=True):
        match &= np.asarray(labels[column] == item)
    found = np.flatnonzero(match)
    if found.size == 0:
        raise ValidationError(
            f"No respondents in the domain {value!r}",
            expected=f"a combination of {list(by)} present in the data",
            found=repr(value),
            hint="check the domain values (1 is not '1')",
            column=", ".join(by),
        )
    return int(found[0])


def _comparison(estimate: float, se: float, df: float, level: float) -> Comparison:
    """Build a Student-t interval and two-sided p-value for a difference."""
    t = float(_t_quantile(1.0 - (1.0 - level) / 2.0, np.array([df]))[0])
    if not df > 0:
        p_value = float("nan")
    elif se == 0:  # no sampling variance: a difference is certain, no difference is undefined
        p_value = 0.0 if estimate != 0 else float("nan")
    else:
        p_value = float(2.0 * stats.t.sf(abs(estimate / se), df))
    return Comparison(estimate, se, estimate - t * se, estimate + t * se, float(df), p_value)


def contrast(
    design: SurveyDesign,
    variable: str,
    by: Sequence[str],
    a: Hashable,
    b: Hashable,
    stat: Stat = "mean",
    level: float = 0.95,
) -> Comparison:
    """Difference between two domains of the same design, ``a − b`` (e.g. women − men).

    Parameters
    ----------
    design
        The survey design.
    variable
        Column to estimate.
    by
        Domain columns.
    a, b
        Domain values: a scalar for one ``by`` column, a tuple for several.
    stat
        ``"mean"``, ``"total"`` or ``"proportion"``.
    level
        Confidence level.

    Returns
    -------
    Comparison
        ``θ_a − θ_b`` with ``Var = Var(a) + Var(b) − 2 Cov(a, b)``, a Student-t interval and a
        two-sided p-value.

    Notes
    -----
    The covariance comes from the same PSU scores: the contrast's score is the difference of
    the two domains' scores, passed to the one variance kernel (R's ``svycontrast`` on
    ``svyby`` output). df = PSUs holding a member of either domain − strata holding one.

    References
    ----------
    .. [1] Lumley, T. (2010). *Complex Surveys*, Wiley, section 2.3.

    """
    _check_options(stat, "wald", level)
    index = domain_index(design, [list(by)])
    da, db = (_find_domain(design, index, by, v) for v in (a, b))
    y = variable_values(design, variable, stat)
    scores = _scores(design, index, y, stat, _greg_context(design, index))
    sign = np.where(index.entry_domain == da, 1.0, 0.0) - np.where(
        index.entry_domain == db, 1.0, 0.0
    )
    used = np.flatnonzero(sign != 0)
    zeros = np.zeros(used.size, dtype=np.intp)
    terms = design.greg_terms()
    beta = None if scores.beta is None else (scores.beta[da] - scores.beta[db])[None, :]
    weight = scores.entry_weight
    var = variance(
        design.variance_method,
        Scores(
            zeros,
            index.entry_psu[used],
            sign[used] * scores.entry_values[used],
            1,
            ratio=None if weight is None else index.entry_domain[used],
            denominator=None if weight is None else weight[used],
        ),
        None if terms is None else terms.aux,
        beta,
    )[0]
    df = degrees_of_freedom(design.variance_method, zeros, index.entry_psu[used], 1)[0]
    difference = float(scores.estimate[da] - scores.estimate[db])
    return _comparison(difference, float(np.sqrt(var)), float(df), level)


GAP_COLUMNS: tuple[str, ...] = (*TESTED, "n_a", "n_b")


@dataclass(frozen=True)
class _GapPairs:
    """The two domains of every gap, and which (domain × unit) entries make up each gap.

    Entry ``index.entry_*[link[k]]`` adds ``sign[k]`` times its score to gap ``gap[k]``.
    """

    a: IntArray
    b: IntArray
    link: IntArray
    sign: FloatArray
    gap: IntArray
    df: IntArray


def _gap_pairs(
    design: SurveyDesign, index: DomainIndex, by: str, a: Hashable, b: Hashable
) -> _GapPairs:
    """Pair each ``by == a`` domain with the ``by == b`` domain of the same set and cell."""
    _, levels = design.column_codes(by)
    wanted = []
    for value in (a, b):
        found = np.flatnonzero(np.asarray(levels == value))
        wanted.append(int(found[0]) if found.size else -1)
    by_code = index.cell_codes[by][index.domain_cell]
    others = [c for c in index.columns if c != by]
    parts = [index.domain_set]
    sizes = [len(index.sets)]
    for column in others:
        uses = np.array([column in s for s in index.sets])[index.domain_set]
        size = int(index.cell_codes[column].max(initial=0)) + 2
        parts.append(np.where(uses, index.cell_codes[column][index.domain_cell], size - 1))
        sizes.append(size)
    key, _ = combine_codes(parts, sizes, index.n_domains)
    side_a = np.flatnonzero((by_code == wanted[0]) & (wanted[0] >= 0))
    side_b = np.flatnonzero((by_code == wanted[1]) & (wanted[1] >= 0))
    # Within one set, a domain's key (its cell without `by`) is unique on each side.
    b_of_key = np.full(int(key.max(initial=0)) + 1, -1, dtype=np.intp)
    b_of_key[key[side_b]] = side_b
    match = b_of_key[key[side_a]]
    pair_a, pair_b = side_a[match >= 0], match[match >= 0]
    n_pairs = pair_a.size
    pair_of = np.full((2, index.n_domains), -1, dtype=np.intp)
    pair_of[0, pair_a] = np.arange(n_pairs)
    pair_of[1, pair_b] = np.arange(n_pairs)
    links, signs = [], []
    for side, sign in ((0, 1.0), (1, -1.0)):
        entries = np.flatnonzero(pair_of[side][index.entry_domain] >= 0)
        links.append(entries)
        signs.append(np.full(entries.size, sign))
    link = np.concatenate(links)
    entry_pair = np.concatenate([pair_of[s][index.entry_domain[e]] for s, e in enumerate(links)])
    df = degrees_of_freedom(design.variance_method, entry_pair, index.entry_psu[link], n_pairs)
    return _GapPairs(
        a=pair_a, b=pair_b, link=link, sign=np.concatenate(signs), gap=entry_pair, df=df
    )


def domain_gaps(
    design: SurveyDesign,
    variables: Sequence[str],
    by: str,
    a: Hashable,
    b: Hashable,
    within: Sequence[Sequence[str]],
    stat: Stat = "mean",
    level: float = 0.95,
) -> pd.DataFrame:
    """Gaps ``a − b`` of ``by`` (e.g. women − men) within every domain of several domain sets.

    The vectorized form of :func:`contrast`: for every variable and every domain of every
    set in ``within`` (``[]`` is the whole population), the difference between the members
    with ``by == a`` and those with ``by == b``, with the covariance of the two sides.

    Parameters
    ----------
    design
        The survey design (calibrated or not).
    variables
        Columns to estimate.
    by
        The column that defines the two sides; it must not be in any ``within`` set.
    a, b
        The values of ``by`` on each side.
    within
        Lists of domain columns, e.g. ``[[], ["region"]]``: the national gap and the gap
        within each region.
    stat
        ``"mean"``, ``"total"`` or ``"proportion"``.
    level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per variable × within-domain where both sides have respondents (any value
        of the variable, missing included): ``variable``, ``domain_set`` (``"national"``,
        ``"region"``…), one column per ``within`` column (NA where the set does not use it),
        then ``estimate, se, ci_low, ci_high, df, p_value, n_a, n_b`` (``n_a``, ``n_b``: rows
        with a value on each side).

    Notes
    -----
    Each variable's linearized scores are computed once over the domain sets
    ``within + [by]``; the score of a gap is the a-side score minus the b-side score, summed
    per PSU and passed to the one variance kernel with its calibration correction, exactly
    as :func:`contrast` does for one pair. ``df`` = PSUs holding a member of either side −
    strata holding one.

    References
    ----------
    .. [1] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, Wiley,
       section 2.3 (``svycontrast`` on ``svyby``).

    """
    _check_options(stat, "wald", level)
    _check_columns(design, [by], "domain column")
    if not variables:
        raise ConfigError(
            "No variables to compare",
            expected="at least one variable",
            found="an empty list",
            hint="pass variables=['q1', ...]",
        )
    sets = [list(s) for s in within]
    for within_set in sets:
        if by in within_set:
            raise ValidationError(
                f"The gap column {by!r} is also a within-domain column",
                expected=f"within sets without {by!r}",
                found=f"the set {within_set}",
                hint=f"drop {by!r} from the within sets: the gap is between its values",
                column=by,
            )
    values = [variable_values(design, v, stat) for v in variables]
    index = domain_index(design, [[*s, by] for s in sets])
    pairs = _gap_pairs(design, index, by, a, b)
    n_pairs = pairs.a.size
    context = _greg_context(design, index)
    terms = design.greg_terms()
    parts: dict[str, list[Any]] = {name: [] for name in GAP_COLUMNS}
    for y in values:
        scores = _scores(design, index, y, stat, context)
        beta = None if scores.beta is None else scores.beta[pairs.a] - scores.beta[pairs.b]
        weight = scores.entry_weight
        var = variance(
            design.variance_method,
            Scores(
                pairs.gap,
                index.entry_psu[pairs.link],
                pairs.sign * scores.entry_values[pairs.link],
                n_pairs,
                ratio=None if weight is None else index.entry_domain[pairs.link],
                denominator=None if weight is None else weight[pairs.link],
            ),
            None if terms is None else terms.aux,
            beta,
        )
        estimate = scores.estimate[pairs.a] - scores.estimate[pairs.b]
        se = np.sqrt(var)
        df = pairs.df.astype(np.float64)
        t = _t_quantile(1.0 - (1.0 - level) / 2.0, df)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_value = np.where(
                df > 0, 2.0 * stats.t.sf(np.abs(estimate / se), np.where(df > 0, df, 1.0)), np.nan
            )
        for name, result in (
            ("estimate", estimate),
            ("se", se),
            ("ci_low", estimate - t * se),
            ("ci_high", estimate + t * se),
            ("df", df),
            ("p_value", p_value),
            ("n_a", scores.n[pairs.a].astype(np.int64)),
            ("n_b", scores.n[pairs.b].astype(np.int64)),
        ):
            parts[name].append(result)
    labels = np.array([_set_label(s[:-1]) for s in index.sets], dtype=object)
    out: dict[str, Any] = {
        "variable": np.repeat(np.array(list(variables), dtype=object), n_pairs),
        "domain_set": np.tile(labels[index.domain_set[pairs.a]], len(values)),
    }
    take = np.tile(pairs.a, len(values))
    for name, domain_values in _domain_columns(design, index).items():
        if name != by:
            out[name] = domain_values.take(take)
    for name in GAP_COLUMNS:
        out[name] = np.concatenate(parts[name])
    return pd.DataFrame(out)


def wave_differences(
    estimate_a: FloatArray,
    se_a: FloatArray,
    df_a: FloatArray,
    estimate_b: FloatArray,
    se_b: FloatArray,
    df_b: FloatArray,
    level: float = 0.95,
) -> dict[str, FloatArray]:
    """Differences ``a − b`` between independent estimates, vectorized.

    Parameters
    ----------
    estimate_a, se_a, df_a
        Later estimates, their standard errors and design degrees of freedom.
    estimate_b, se_b, df_b
        Earlier (reference) estimates, likewise.
    level
        Confidence level of the interval.

    Returns
    -------
    dict of numpy.ndarray
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df`` and ``p_value`` (two-sided, for
        the null hypothesis of no change), element by element.

    Notes
    -----
    :func:`wave_difference` is the same for one pair: ``SE = sqrt(se_a² + se_b²)``
    (independent samples, no covariance); Welch-Satterthwaite
    ``df = (se_a² + se_b²)² / (se_a⁴/df_a + se_b⁴/df_b)``, ``df_a + df_b`` when both SEs are 0
    and NaN when either df is not positive; a Student-t interval and p-value on that df (NaN
    where df is NaN).

    References
    ----------
    .. [1] Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
       components. *Biometrics Bulletin*, 2(6), 110-114.
    .. [2] Welch, B. L. (1947). The generalization of "Student's" problem when several different
       population variances are involved. *Biometrika*, 34(1/2), 28-35.

    """
    v_a, v_b = se_a * se_a, se_b * se_b
    total = v_a + v_b
    positive = (df_a > 0) & (df_b > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        welch = total * total / (v_a * v_a / df_a + v_b * v_b / df_b)
        df = np.where(positive, np.where(total == 0, df_a + df_b, welch), np.nan)
        safe = np.where(df > 0, df, 1.0)
        t = np.where(df > 0, stats.t.ppf(1.0 - (1.0 - level) / 2.0, safe), np.nan)
        estimate = estimate_a - estimate_b
        se = np.sqrt(total)
        p_value = np.where(df > 0, 2.0 * stats.t.sf(np.abs(estimate / se), safe), np.nan)
    return {
        "estimate": estimate,
        "se": se,
        "ci_low": estimate - t * se,
        "ci_high": estimate + t * se,
        "df": df,
        "p_value": p_value,
    }


def wave_difference(
    later: Mapping[str, Any] | pd.Series,
    earlier: Mapping[str, Any] | pd.Series,
    level: float = 0.95,
) -> Comparison:
    """Difference between the same estimate in two independent waves, ``later − earlier``.

    Parameters
    ----------
    later, earlier
        Rows of :func:`perception.estimation.estimate` output (or mappings) with ``estimate``,
        ``se`` and ``df``.
    level
        Confidence level.

    Returns
    -------
    Comparison
        ``SE = sqrt(se₁² + se₂²)`` (independent samples, no covariance) and the
        Welch-Satterthwaite df ``(se₁² + se₂²)² / (se₁⁴/df₁ + se₂⁴/df₂)``, which lies between
        ``min(df₁, df₂)`` and ``df₁ + df₂``.

    References
    ----------
    .. [1] Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
       components. *Biometrics Bulletin*, 2(6), 110-114.

    """
    _check_options("mean", "wald", level)
    a, b = (
        {k: np.array([float(row[k])]) for k in ("estimate", "se", "df")} for row in (later, earlier)
    )
    out = wave_differences(
        a["estimate"], a["se"], a["df"], b["estimate"], b["se"], b["df"], level=level
    )
    return Comparison(**{name: float(values[0]) for name, values in out.items()})
