"""Design-based estimation: means, totals and proportions for every domain in one pass.

Rows are coded once by their finest domain cell (the combination of every ``by`` column) and
their PSU. For each variable, weighted sums are aggregated per (cell × PSU) with one
``np.bincount``; every domain of every domain set is then a sum of those cell aggregates, and
its linearized PSU scores go to the one variance kernel in :mod:`perception.variance`.
No loop runs over rows or domains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse, special

from perception.design import SurveyDesign
from perception.errors import ConfigError, ValidationError
from perception.variance import (
    FloatArray,
    IntArray,
    Scores,
    combine_codes,
    compress_codes,
    degrees_of_freedom,
    representative_rows,
    variance,
    weighted_bincount,
)
from perception.weighting.calibration import greg_coefficients

Stat = Literal["mean", "total", "proportion"]
CiMethod = Literal["logit", "beta", "wald"]
STATS: tuple[str, ...] = ("mean", "total", "proportion")
CI_METHODS: tuple[str, ...] = ("logit", "beta", "wald")
RESULT_COLUMNS: tuple[str, ...] = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "deff",
    "n",
    "n_weighted",
    "n_eff",
)
_ROUNDING = 64 * np.finfo(np.float64).eps
NATIONAL = "national"
"""Label of the domain set ``[]`` (the whole population) in ``estimate_domains`` output."""


@dataclass(frozen=True)
class DomainIndex:
    """Integer coding of rows into finest cells, (cell × PSU) pairs and domain-PSU entries.

    A *link* maps a (cell × PSU) pair to the (domain × PSU) *entry* it contributes to; a pair
    has one link per domain set whose columns are all non-missing in its cell.
    """

    sets: tuple[tuple[str, ...], ...]
    columns: tuple[str, ...]
    cell: IntArray
    n_cells: int
    cell_rows: IntArray
    cell_codes: Mapping[str, IntArray]
    pair: IntArray
    n_pairs: int
    pair_weight: FloatArray
    pair_cell: IntArray
    total_weight: float
    link_pair: IntArray
    link_entry: IntArray
    entry_domain: IntArray
    entry_psu: IntArray
    n_domains: int
    cell_domain: sparse.csr_matrix
    domain_set: IntArray
    domain_cell: IntArray
    df: IntArray
    rows: IntArray

    @property
    def n_entries(self) -> int:
        """Number of (domain × PSU) entries."""
        return int(self.entry_domain.shape[0])


@dataclass(frozen=True)
class _Scores:
    """Everything computed for one variable over every domain."""

    estimate: FloatArray
    variance: FloatArray
    n: FloatArray
    n_weighted: FloatArray
    deff: FloatArray
    n_eff: FloatArray
    entry_values: FloatArray
    entry_weight: FloatArray | None
    beta: FloatArray | None
    logit_variance: FloatArray | None = None


def _set_label(columns: Sequence[str]) -> str:
    """Name a domain set: ``"national"`` or the columns joined by ``×``."""
    return "×".join(columns) if columns else NATIONAL


def _check_options(stat: str, ci_method: str, level: float) -> None:
    """Reject an unknown statistic, interval method or confidence level."""
    if stat not in STATS:
        raise ConfigError(
            f"Unknown statistic {stat!r}",
            expected=f"one of {', '.join(STATS)}",
            found=repr(stat),
            hint="use 'proportion' for 0/1 indicators",
        )
    if ci_method not in CI_METHODS:
        raise ConfigError(
            f"Unknown interval method {ci_method!r}",
            expected=f"one of {', '.join(CI_METHODS)}",
            found=repr(ci_method),
            hint="'logit' is R's svyciprop default; 'beta' is Korn-Graubard",
        )
    check_level(level)


def check_level(level: float) -> None:
    """Reject a confidence level outside (0, 1)."""
    if not 0.0 < level < 1.0:
        raise ConfigError(
            "Confidence level out of range",
            expected="a level strictly between 0 and 1, such as 0.95",
            found=repr(level),
            hint="pass level=0.95 for 95% intervals",
        )


def _check_columns(design: SurveyDesign, columns: Sequence[str], role: str) -> None:
    """Raise a ValidationError naming the first column that is not in the data."""
    reserved = {"variable", "domain_set", *RESULT_COLUMNS}
    for column in columns:
        if column not in design.data.columns:
            raise ValidationError(
                f"The {role} {column!r} is not in the data",
                expected=f"a column named {column!r}",
                found=f"columns {list(design.data.columns)[:20]}",
                hint="check the spelling against the harmonized data",
                column=column,
            )
        if role == "domain column" and column in reserved:
            raise ValidationError(
                f"The domain column {column!r} clashes with an output column",
                expected=f"domain columns other than {sorted(reserved)}",
                found=repr(column),
                hint="rename the column before estimating",
                column=column,
            )


def domain_index(design: SurveyDesign, domain_sets: Sequence[Sequence[str]]) -> DomainIndex:
    """Code the design's rows for a list of domain sets (``[]`` is the whole population).

    Rows with a missing value in a domain column belong to no domain of a set that uses
    that column (they still count in the national estimate and in sets without it).
    """
    sets = tuple(tuple(s) for s in domain_sets)
    columns = tuple(dict.fromkeys(c for s in sets for c in s))
    _check_columns(design, columns, "domain column")
    n, n_psus, units = design.n_rows, design.n_units, design.unit_index
    codes: list[IntArray] = []
    sizes: list[int] = []
    for column in columns:
        code, levels = design.column_codes(column)
        codes.append(np.where(code < 0, len(levels), code))
        sizes.append(len(levels) + 1)
    cell, n_cells = combine_codes(codes, sizes, n)
    rep = representative_rows(cell, n_cells)
    cell_codes = {c: codes[j][rep] for j, c in enumerate(columns)}
    size_of = dict(zip(columns, sizes, strict=True))
    pair, n_pairs = combine_codes([cell, units], [n_cells, n_psus], n)
    pair_rep = representative_rows(pair, n_pairs)
    pair_cell, pair_psu = cell[pair_rep], units[pair_rep]
    pair_rows = np.bincount(pair, minlength=n_pairs)

    dom_of_cell: list[IntArray] = []
    domain_set: list[IntArray] = []
    domain_cell: list[IntArray] = []
    offset = 0
    for number, cols in enumerate(sets):
        valid = np.ones(n_cells, dtype=np.bool_)
        for c in cols:
            valid &= cell_codes[c] < size_of[c] - 1
        inside = np.flatnonzero(valid)
        local, n_local = combine_codes(
            [cell_codes[c][inside] for c in cols], [size_of[c] for c in cols], inside.size
        )
        mapping = np.full(n_cells, -1, dtype=np.intp)
        mapping[inside] = local + offset
        dom_of_cell.append(mapping)
        domain_set.append(np.full(n_local, number, dtype=np.intp))
        domain_cell.append(inside[representative_rows(local, n_local)])
        offset += n_local
    n_domains = offset

    link_pair_parts, key_parts, cd_rows, cd_cols = [], [], [], []
    for mapping in dom_of_cell:
        dom = mapping[pair_cell]
        linked = np.flatnonzero(dom >= 0)
        link_pair_parts.append(linked)
        key_parts.append(dom[linked].astype(np.int64) * n_psus + pair_psu[linked])
        has = np.flatnonzero(mapping >= 0)
        cd_rows.append(mapping[has])
        cd_cols.append(has)
    link_pair = np.concatenate(link_pair_parts)
    link_entry, entry_key = compress_codes(np.concatenate(key_parts), n_domains * n_psus)
    entry_domain = (entry_key // n_psus).astype(np.intp)
    entry_psu = (entry_key % n_psus).astype(np.intp)
    entry_rows = weighted_bincount(
        link_entry, pair_rows[link_pair].astype(np.float64), entry_key.size
    )
    rows_idx = np.concatenate(cd_rows)
    cell_domain = sparse.csr_matrix(
        (np.ones(rows_idx.size), (rows_idx, np.concatenate(cd_cols))),
        shape=(n_domains, n_cells),
    )
    return DomainIndex(
        sets=sets,
        columns=columns,
        cell=cell,
        n_cells=n_cells,
        cell_rows=np.bincount(cell, minlength=n_cells).astype(np.intp),
        cell_codes=cell_codes,
        pair=pair,
        n_pairs=n_pairs,
        pair_weight=weighted_bincount(pair, design.weights, n_pairs),
        pair_cell=pair_cell,
        total_weight=float(design.weights.sum()),
        link_pair=link_pair,
        link_entry=link_entry,
        entry_domain=entry_domain,
        entry_psu=entry_psu,
        n_domains=n_domains,
        cell_domain=cell_domain,
        domain_set=np.concatenate(domain_set),
        domain_cell=np.concatenate(domain_cell),
        df=degrees_of_freedom(design.variance_method, entry_domain, entry_psu, n_domains),
        rows=weighted_bincount(entry_domain, entry_rows, n_domains).astype(np.intp),
    )


def variable_values(design: SurveyDesign, variable: str, stat: str) -> FloatArray:
    """Return a variable as float64 with NaN for missing, checking it suits ``stat``."""
    _check_columns(design, [variable], "variable")
    series = design.data[variable]
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise ValidationError(
            f"The variable {variable!r} is not numeric",
            expected="numbers, or 0/1 / boolean values for a proportion",
            found=f"dtype {series.dtype}",
            hint="recode the answer into a 0/1 indicator before estimating",
            column=variable,
        )
    values: FloatArray = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        raise ValidationError(
            f"The variable {variable!r} has infinite values",
            expected="finite numbers or missing values",
            found=f"{int(np.isinf(values).sum())} infinite values",
            hint="set them to missing or fix the data",
            column=variable,
            rows=np.flatnonzero(np.isinf(values)).tolist(),
        )
    if stat == "proportion":
        bad = ~np.isnan(values) & (values != 0.0) & (values != 1.0)
        if bad.any():
            raise ValidationError(
                f"The proportion variable {variable!r} is not 0/1",
                expected="0, 1, True, False or missing",
                found=f"{int(bad.sum())} other values, e.g. {np.unique(values[bad])[:5].tolist()}",
                hint="recode the answer into a 0/1 indicator, or use stat='mean'",
                column=variable,
                rows=np.flatnonzero(bad).tolist(),
            )
    return values


@dataclass(frozen=True)
class _GregContext:
    """Per-call pieces of the calibration correction: row codes and weight sums per cell."""

    joint: list[IntArray | None]
    cell_weight: list[FloatArray]


def _greg_context(design: SurveyDesign, index: DomainIndex) -> _GregContext | None:
    """Precompute, for each calibration step, (domain cell × calibration cell) row codes."""
    if design.greg_terms() is None:
        return None
    joint: list[IntArray | None] = []
    cell_weight: list[FloatArray] = []
    for step in design.calibration:
        model = step.model
        n_cal = model.cell_x.shape[0]
        factor_only = model.numeric.shape[1] == 0
        small = index.n_cells * n_cal <= max(4 * design.n_rows, 1 << 20)
        joint.append(index.cell * n_cal + model.cells if factor_only and small else None)
        cell_weight.append(model.grouped_sums(step.pre_weights, index.cell, index.n_cells))
    return _GregContext(joint=joint, cell_weight=cell_weight)


def _greg_beta(
    design: SurveyDesign,
    index: DomainIndex,
    context: _GregContext,
    yc: FloatArray,
    miss: IntArray,
    center: FloatArray,
    scale: FloatArray,
) -> FloatArray:
    """Coefficients of every domain's score on each calibration step's model matrix.

    The score of domain ``d`` is ``u = scale_d · d·(y − center_d)``; its moments
    ``X_kᵀ W_{k−1} u`` are built from per-cell sums, never from rows of ``X``.
    """
    terms = design.greg_terms()
    assert terms is not None
    moments = []
    for number, step in enumerate(design.calibration):
        pre, model, joint = step.pre_weights, step.model, context.joint[number]
        if joint is None:
            ysum = model.grouped_sums(pre * yc, index.cell, index.n_cells)
        else:
            n_cal = model.cell_x.shape[0]
            table = weighted_bincount(joint, pre * yc, index.n_cells * n_cal)
            ysum = table.reshape(index.n_cells, n_cal) @ model.cell_x
        wsum = context.cell_weight[number] - model.grouped_sums(
            pre[miss], index.cell[miss], index.n_cells, rows=miss
        )
        ydom = index.cell_domain @ ysum
        wdom = index.cell_domain @ wsum
        moments.append(scale[:, None] * (ydom - center[:, None] * wdom))
    return greg_coefficients(terms, moments)


def _scores(
    design: SurveyDesign,
    index: DomainIndex,
    y: FloatArray,
    stat: str,
    context: _GregContext | None,
    logit: bool = False,
) -> _Scores:
    """Estimate, variance, deff and effective n of one variable in every domain.

    Notes
    -----
    For a mean (or proportion) in domain ``d`` the linearized score is
    ``u_i = d_i·(y_i − ȳ_d)/N̂_d`` and for a total ``u_i = d_i·y_i``; missing values of ``y``
    give ``u_i = 0``. On a calibrated design ``u`` is replaced by its residual from each
    step's regression on ``X`` weighted by that step's pre-calibration weights. Means are
    computed on ``y`` shifted by its overall mean, for accuracy of the sums of squares. A
    domain whose values are all equal (within rounding) has a mean with variance exactly 0.

    """
    w = design.weights
    missing = np.isnan(y)
    miss = np.flatnonzero(missing)
    yc = np.where(missing, 0.0, y)
    wy = w * yc
    observed_weight = index.total_weight - float(w[miss].sum())
    ratio = stat != "total"
    if stat == "mean" and observed_weight > 0:
        shift = float(wy.sum()) / observed_weight
        yc = np.where(missing, 0.0, yc - shift)
        wy = w * yc
    else:
        shift = 0.0
    n_pairs, n_cells, n_domains = index.n_pairs, index.n_cells, index.n_domains
    pair_sum = weighted_bincount(index.pair, wy, n_pairs)
    pair_weight = index.pair_weight - weighted_bincount(index.pair[miss], w[miss], n_pairs)
    if stat == "proportion":
        cell_squares = weighted_bincount(index.pair_cell, pair_sum, n_cells)
    else:
        cell_squares = weighted_bincount(index.cell, wy * yc, n_cells)
    entry_sum = weighted_bincount(index.link_entry, pair_sum[index.link_pair], index.n_entries)
    entry_weight = weighted_bincount(
        index.link_entry, pair_weight[index.link_pair], index.n_entries
    )
    ed = index.entry_domain
    total = weighted_bincount(ed, entry_sum, n_domains)
    weight = weighted_bincount(ed, entry_weight, n_domains)
    squares = index.cell_domain @ cell_squares
    cell_obs = index.cell_rows - np.bincount(index.cell[miss], minlength=n_cells)
    n_obs = index.cell_domain @ cell_obs.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_c = total / weight
        if ratio:
            estimate = mean_c + shift
            values = (entry_sum - mean_c[ed] * entry_weight) / weight[ed]
            center, scale = mean_c, 1.0 / weight
        else:
            estimate = total
            values = entry_sum
            center, scale = np.zeros(n_domains), np.ones(n_domains)
        beta = (
            None if context is None else _greg_beta(design, index, context, yc, miss, center, scale)
        )
        if ratio:
            spread = np.abs(mean_c[ed]) + abs(shift)
            magnitude = (np.abs(entry_sum) + spread * entry_weight) / weight[ed]
        else:
            magnitude = np.abs(entry_sum)
        terms = design.greg_terms()
        aux = None if terms is None else terms.aux
        scores = Scores(
            ed,
            index.entry_psu,
            values,
            n_domains,
            ratio=ed if ratio else None,
            denominator=entry_weight if ratio else None,
            magnitude=magnitude,
        )
        var = variance(design.variance_method, scores, aux, beta)
        logit_var = (
            variance(design.variance_method, scores, aux, beta, logit_of=estimate)
            if logit
            else None
        )
        sigma2 = (squares - weight * mean_c**2) / weight
        constant = sigma2 <= _ROUNDING * squares / weight
        sigma2 = np.where(n_obs > 1, np.where(constant, 0.0, sigma2), np.nan)
        if ratio:
            var = np.where(constant, 0.0, var)
            if logit_var is not None:
                logit_var = np.where(constant, 0.0, logit_var)
        svyvar = sigma2 * n_obs / (n_obs - 1.0)
        srs = svyvar * (weight - n_obs) / (weight * n_obs)
        if not ratio:
            srs = srs * weight**2
        deff = np.where(srs > 0, var / srs, np.nan)
        n_eff = np.where(var > 0, sigma2 / var, np.nan) if ratio else np.full(n_domains, np.nan)
    return _Scores(
        estimate=estimate,
        variance=var,
        n=n_obs,
        n_weighted=weight,
        deff=deff,
        n_eff=n_eff,
        entry_values=values,
        entry_weight=entry_weight if ratio else None,
        beta=beta,
        logit_variance=logit_var,
    )


def _t_quantile(prob: float, df: FloatArray) -> FloatArray:
    """Student-t quantile, NaN where df ≤ 0."""
    from scipy import stats  # here, not at import: the configuration loaders import this module

    df = np.asarray(df, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        q: FloatArray = np.where(df > 0, stats.t.ppf(prob, np.where(df > 0, df, 1.0)), np.nan)
    return q


def confidence_interval(
    estimate: FloatArray,
    se: FloatArray,
    df: FloatArray,
    n_rows: FloatArray,
    stat: str,
    ci_method: str,
    level: float,
    logit_se: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Confidence intervals with Student t on the design df, as R's confint / svyciprop.

    Parameters
    ----------
    estimate, se, df
        Point estimates, standard errors and degrees of freedom.
    n_rows
        Rows in the domain including rows with a missing value (Korn-Graubard only).
    stat
        ``"proportion"`` uses ``ci_method``; means and totals use a symmetric t interval.
    ci_method
        ``"logit"``, ``"beta"`` (Korn-Graubard) or ``"wald"`` (symmetric, not clipped).
    level
        Confidence level.
    logit_se
        Standard error of ``logit p`` from the variance kernel (``variance(...,
        logit_of=p)``); needed for ``"logit"``.

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper limits; NaN where df ≤ 0.

    Notes
    -----
    *logit*: ``expit(logit p ± t·SE(logit p))``; ``SE(logit p)`` is ``SE/(p(1−p))`` on a
    Taylor design and the replicate SE of ``logit p_r`` on a replicate design, as R's
    ``svyciprop`` (through ``svyglm``) gives both. *beta* (Korn-Graubard, R's
    ``svyciprop(method="beta")``): ``n* = p(1−p)/SE² · (t_{n−1}/t_df)²`` and the interval
    ``[B⁻¹(α/2; n*p, n*(1−p)+1), B⁻¹(1−α/2; n*p+1, n*(1−p))]``. *wald*: ``p ± t·SE``.

    **p = 0 or 1** (or SE = 0): every method gives the Korn-Graubard interval with the
    domain's row count ``n`` in place of ``p(1−p)/SE²`` (which is 0/0), df-adjusted as above:
    ``[0, 1 − (α/2)^(1/n*)]`` at p = 0 and ``[(α/2)^(1/n*), 1]`` at p = 1 (NCHS practice [2]_).
    R has no defined interval there: ``svyciprop`` returns NaN for ``"beta"`` and a
    zero-width interval next to the point for ``"logit"`` (tests/reference/p01_expected.json).

    References
    ----------
    .. [1] Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions with
       small expected number of positive counts estimated from survey data. *Survey
       Methodology*, 24, 193-201.
    .. [2] Parker, J. D. et al. (2017). National Center for Health Statistics data
       presentation standards for proportions. *Vital Health Stat* 2(175).

    """
    alpha = 1.0 - level
    t = _t_quantile(1.0 - alpha / 2.0, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        if stat != "proportion":
            return estimate - t * se, estimate + t * se
        p, se, df, n_rows, t = np.broadcast_arrays(estimate, se, df, n_rows, t)
        var = se * se
        edge = (p <= 0) | (p >= 1) | (var <= 0)
        if ci_method == "logit":
            if logit_se is None:
                raise ValueError("a logit interval needs the kernel's logit-scale SE")
            eta = special.logit(np.where(edge, 0.5, p))
            half = t * np.broadcast_to(logit_se, p.shape)
            low, high = special.expit(eta - half), special.expit(eta + half)
        elif ci_method == "wald":
            low, high = p - t * se, p + t * se
        else:
            low = high = np.full(p.shape, np.nan)
            edge = np.isfinite(p)  # Korn-Graubard everywhere
        if edge.any():  # Korn-Graubard, computed only where it is used
            k = np.flatnonzero(edge)
            low, high = np.array(low, dtype=np.float64), np.array(high, dtype=np.float64)
            low[k], high[k] = _korn_graubard(p[k], var[k], df[k], n_rows[k], t[k], alpha)
        return low, high


def _korn_graubard(
    p: FloatArray, var: FloatArray, df: FloatArray, n_rows: FloatArray, t: FloatArray, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """Korn-Graubard limits; n* is the row count where p(1−p)/SE² is 0/0 (p = 0 or 1)."""
    from scipy import stats

    edge = (p <= 0) | (p >= 1) | (var <= 0)
    ratio = (_t_quantile(alpha / 2.0, n_rows - 1.0) / _t_quantile(alpha / 2.0, df)) ** 2
    n_star = np.where(edge, n_rows, p * (1.0 - p) / var) * ratio
    n_star = np.where(np.isfinite(t), n_star, np.nan)
    x = n_star * p
    low = np.where(x > 0, stats.beta.ppf(alpha / 2.0, x, n_star - x + 1.0), 0.0)
    high = np.where(x < n_star, stats.beta.ppf(1.0 - alpha / 2.0, x + 1.0, n_star - x), 1.0)
    invalid = ~np.isfinite(n_star) | np.isnan(p)
    return np.where(invalid, np.nan, low), np.where(invalid, np.nan, high)


def _domain_columns(design: SurveyDesign, index: DomainIndex) -> dict[str, pd.Index]:
    """Domain values of every domain column, NA where a domain's set does not use it."""
    out: dict[str, pd.Index] = {}
    for column in index.columns:
        _, levels = design.column_codes(column)
        uses = np.array([column in s for s in index.sets])[index.domain_set]
        code = index.cell_codes[column][index.domain_cell]
        code = np.where(uses & (code < len(levels)), code, -1)
        if (code < 0).any():
            out[column] = levels.take(code, allow_fill=True, fill_value=np.nan)
        else:
            out[column] = levels.take(code)
    return out


def estimate_domains(
    design: SurveyDesign,
    variables: Sequence[str],
    domain_sets: Sequence[Sequence[str]],
    stat: Stat = "mean",
    ci_method: CiMethod = "logit",
    level: float = 0.95,
) -> pd.DataFrame:
    """Estimate every variable over several domain sets at once, in long format.

    Parameters
    ----------
    design
        The survey design (calibrated or not).
    variables
        Columns to estimate; missing values drop out of that variable only.
    domain_sets
        Lists of domain columns, e.g. ``[[], ["region"], ["gender", "age_band", "region"]]``;
        ``[]`` is the whole population.
    stat
        ``"mean"``, ``"total"`` or ``"proportion"`` (0/1 or boolean variables).
    ci_method
        Interval for proportions: ``"logit"``, ``"beta"`` or ``"wald"``.
    level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per variable × domain: ``variable``, ``domain_set`` (``"national"`` or
        ``"gender×region"``), one column per domain column (NA where the set does not use
        it), then ``estimate, se, ci_low, ci_high, df, deff, n, n_weighted, n_eff``.

    Notes
    -----
    * Variance: Taylor linearization, ultimate cluster, with replacement unless fpc is
      given, or the replicate variance of a design with replicate weights
      (:func:`perception.variance.variance`). Domains use scores that are zero outside the
      domain over the whole design, never a subset of rows.
    * ``df`` = PSUs holding a domain member − strata holding one (R's
      ``degf(subset(design, domain))``; with replicates, the rank of the domain's
      replicate weights − 1); missing values of the variable do not change it.
    * ``deff`` = Var / Var_SRSWOR with ``Var_SRSWOR = s²(1 − n/N̂)/n`` for a mean and
      ``N̂² s²(1 − n/N̂)/n`` for a total, ``s² = Σw(y−ȳ)²/Σw · n/(n−1)`` (R's ``deff=TRUE``).
    * ``n_eff`` = ``σ̂²/Var(ȳ)`` with ``σ̂² = Σw(y−ȳ)²/Σw`` (no ``n/(n−1)``), so for a
      proportion it is exactly ``p(1−p)/Var(p)``; NaN for totals and where Var is 0.
    * ``n`` counts rows with a value in the domain; ``n_weighted`` sums their weights.

    References
    ----------
    .. [1] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, Wiley.
    .. [2] Kish, L. (1965). *Survey Sampling*, Wiley (design effect).

    """
    return _estimate_table(design, variables, domain_sets, stat, ci_method, level, True)


def _estimate_table(
    design: SurveyDesign,
    variables: Sequence[str],
    domain_sets: Sequence[Sequence[str]],
    stat: str,
    ci_method: str,
    level: float,
    with_set: bool,
) -> pd.DataFrame:
    """Estimate every variable over the domain sets; label the set when ``with_set``."""
    _check_options(stat, ci_method, level)
    variables = list(variables)
    if not variables:
        raise ConfigError(
            "No variables to estimate",
            expected="at least one variable",
            found="an empty list",
            hint="pass variables=['q1', ...]",
        )
    values = [variable_values(design, v, stat) for v in variables]
    index = domain_index(design, domain_sets)
    n_dom = index.n_domains
    context = _greg_context(design, index)
    logit = stat == "proportion" and ci_method == "logit"
    parts = [_scores(design, index, y, stat, context, logit) for y in values]
    estimate = np.concatenate([p.estimate for p in parts])
    se = np.sqrt(np.concatenate([p.variance for p in parts]))
    df = np.tile(index.df, len(parts)).astype(np.float64)
    logit_se = (
        np.sqrt(np.concatenate([p.logit_variance for p in parts if p.logit_variance is not None]))
        if logit
        else None
    )
    rows = np.tile(index.rows, len(parts)).astype(np.float64)
    low, high = confidence_interval(estimate, se, df, rows, stat, ci_method, level, logit_se)
    labels = np.array([_set_label(s) for s in index.sets], dtype=object)[index.domain_set]
    take = np.tile(np.arange(n_dom), len(parts))
    columns: dict[str, Any] = {"variable": np.repeat(np.array(variables, dtype=object), n_dom)}
    if with_set:
        columns["domain_set"] = labels[take]
    for column, domain_values in _domain_columns(design, index).items():
        columns[column] = domain_values.take(take)
    columns.update(
        estimate=estimate,
        se=se,
        ci_low=low,
        ci_high=high,
        df=df.astype(np.int64),
        deff=np.concatenate([p.deff for p in parts]),
        n=np.concatenate([p.n for p in parts]).astype(np.int64),
        n_weighted=np.concatenate([p.n_weighted for p in parts]),
        n_eff=np.concatenate([p.n_eff for p in parts]),
    )
    return pd.DataFrame(columns)


def estimate(
    design: SurveyDesign,
    variables: Sequence[str],
    stat: Stat = "mean",
    by: Sequence[str] | None = None,
    ci_method: CiMethod = "logit",
    level: float = 0.95,
) -> pd.DataFrame:
    """Estimate means, totals or proportions, overall or by domain (R's ``svyby``).

    Parameters
    ----------
    design
        The survey design.
    variables
        Columns to estimate.
    stat
        ``"mean"``, ``"total"`` or ``"proportion"``.
    by
        Domain columns; every combination present in the data is a domain, estimated over the
        whole design (zeroed scores, never a subset of rows).
    ci_method
        Interval for proportions: ``"logit"``, ``"beta"`` or ``"wald"``; means and totals
        always use symmetric Student-t intervals.
    level
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable``, the ``by`` columns, ``estimate, se, ci_low, ci_high, df, deff,
        n, n_weighted, n_eff``; see :func:`estimate_domains` for definitions.

    References
    ----------
    .. [1] Lumley, T. (2004). Analysis of complex survey samples. *Journal of Statistical
       Software*, 9(8), 1-19.

    """
    return _estimate_table(design, variables, [list(by or [])], stat, ci_method, level, False)
