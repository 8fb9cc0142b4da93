"""Replicate weights: checking given replicate columns and building JK1, JKn, BRR and bootstrap.

A replicate design stores its replicate weights as factors ``a_{u,r} = w_{r,i} / w_i`` per
variance unit ``u`` (a PSU, or a row), so that every estimator aggregates its scores once per
unit and the replicates cost one matrix product (:mod:`perception.variance`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from perception.errors import ConfigError, DesignError
from perception.variance import (
    REP_TYPES,
    FloatArray,
    IntArray,
    PsuLayout,
    ReplicateLayout,
    representative_rows,
)

_WITHIN_UNIT_RTOL = 1e-9
"""Factors of the rows of one PSU that differ by less than this (relative) are one factor."""


def _positions(mask: npt.NDArray[np.bool_]) -> list[int]:
    """Row positions where ``mask`` is true (at most the first 50)."""
    return [int(i) for i in np.flatnonzero(mask)[:50]]


def replicate_columns(data: pd.DataFrame, spec: Sequence[str] | str) -> list[str]:
    """Resolve replicate weight columns from a list of names or a regular expression."""
    if isinstance(spec, str):
        try:
            pattern = re.compile(spec)
        except re.error as exc:
            raise ConfigError(
                f"replicate_weights={spec!r} is not a valid regular expression",
                expected="a list of column names, or a regular expression such as 'repw[0-9]+'",
                found=str(exc),
                hint="escape special characters, or pass the column names as a list",
            ) from exc
        columns = [str(c) for c in data.columns if pattern.search(str(c))]
    else:
        columns = [str(c) for c in spec]
        absent = [c for c in columns if c not in data.columns]
        if absent:
            raise DesignError(
                f"Replicate weight columns are not in the data: {absent[:10]}",
                expected="every replicate weight column in the data",
                found=f"{len(absent)} missing; columns {list(data.columns)[:20]}",
                hint="check the spelling of replicate_weights=",
                column=absent[0],
            )
    if len(columns) < 2:
        raise DesignError(
            "Too few replicate weight columns",
            expected="at least 2 replicate weight columns",
            found=f"{len(columns)} columns matching {spec!r}: {columns}",
            hint="pass the replicate columns as a list, or a regular expression matching them",
        )
    return columns


def replicate_matrix(data: pd.DataFrame, columns: list[str]) -> FloatArray:
    """Return the replicate weights as an ``(n, R)`` array, rejecting missing or negative ones."""
    out = np.empty((len(data), len(columns)))
    for j, column in enumerate(columns):
        series = data[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            raise DesignError(
                f"The replicate weight column {column!r} is not numeric",
                expected="numbers ≥ 0",
                found=f"dtype {series.dtype}",
                hint=f"convert {column!r} to numbers before building the design",
                column=column,
            )
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            kinds = {
                "missing": int(np.isnan(values).sum()),
                "infinite": int(np.isinf(values).sum()),
                "negative": int((values < 0).sum()),
            }
            found = ", ".join(f"{k} {v}" for k, v in kinds.items() if v)
            raise DesignError(
                f"Replicate weights in {column!r} must be finite and not negative",
                expected="a replicate weight ≥ 0 in every row (0 where a replicate drops the row)",
                found=found,
                hint="replicate weights come with the data set; re-export them, or drop the rows "
                "that lack them before building the design",
                column=column,
                rows=_positions(bad),
            )
        out[:, j] = values
    return out


def replicate_constants(
    rep_type: str,
    n_replicates: int,
    scale: float | None,
    rscales: Sequence[float] | float | None,
    fay_rho: float | None,
) -> tuple[float, FloatArray, float]:
    """Return ``scale``, ``rscales`` and ρ for a replicate type, as R's ``svrepdesign`` does.

    References
    ----------
    .. [1] Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., Springer,
       chapters 3-5.
    .. [2] Fay, R. E. (1989). Theory and application of replicate weighting for variance
       calculations. *Proceedings of the Section on Survey Research Methods*, ASA, 212-217.

    """
    if rep_type not in REP_TYPES:
        raise ConfigError(
            f"Unknown replicate type {rep_type!r}",
            expected=f"one of {', '.join(REP_TYPES)}",
            found=repr(rep_type),
            hint="use R's svrepdesign type names",
        )
    r = n_replicates
    fixed = rep_type in ("BRR", "Fay", "successive-difference")
    if fixed and (scale is not None or rscales is not None):
        raise ConfigError(
            f"rep_type={rep_type!r} fixes scale and rscales",
            expected="scale=None and rscales=None",
            found=f"scale={scale!r}, rscales={rscales!r}",
            hint="leave them out; use rep_type='JK1', 'JKn' or 'bootstrap' to set them",
        )
    if rep_type in ("BRR", "Fay") and not (r == 2 or r % 4 == 0):
        raise DesignError(
            f"{rep_type} needs a replicate count that is the order of a Hadamard matrix",
            expected="2 or a multiple of 4 replicate columns",
            found=f"{r} replicate columns",
            hint="check that every replicate column matched, or choose the rep_type that "
            "produced the weights (JK1, JKn, bootstrap)",
        )
    rho = 0.0
    if rep_type == "Fay":
        if fay_rho is None or not 0.0 < fay_rho < 1.0:
            raise ConfigError(
                "rep_type='Fay' needs Fay's rho",
                expected="fay_rho strictly between 0 and 1 (e.g. 0.5)",
                found=repr(fay_rho),
                hint="give the rho used to build the weights; with rho = 0 use rep_type='BRR'",
            )
        rho = float(fay_rho)
    elif fay_rho not in (None, 0.0):
        raise ConfigError(
            f"fay_rho is only used with rep_type='Fay', not {rep_type!r}",
            expected="fay_rho=None",
            found=repr(fay_rho),
            hint="use rep_type='Fay', or leave fay_rho out",
        )
    if rep_type == "JKn" and rscales is None:
        raise ConfigError(
            "rep_type='JKn' needs rscales",
            expected="rscales: (n_h − 1)/n_h of the stratum of each replicate",
            found="rscales=None",
            hint="the data set's documentation gives them; to_replicates() computes them",
        )
    default_scale = {
        "JK1": (r - 1) / r,
        "JKn": 1.0,
        "BRR": 1.0 / r,
        "Fay": 1.0 / (r * (1.0 - rho) ** 2),
        "bootstrap": 1.0 / (r - 1),
        "successive-difference": 4.0 / r,
    }[rep_type]
    final_scale = default_scale if scale is None else float(scale)
    values = np.ones(r) if rscales is None else np.atleast_1d(np.asarray(rscales, dtype=float))
    if values.size == 1:
        values = np.full(r, float(values[0]))
    if values.size != r or not np.all(np.isfinite(values)) or (values < 0).any():
        raise ConfigError(
            "rscales do not match the replicate weights",
            expected=f"{r} finite values ≥ 0 (one per replicate column), or one value",
            found=f"{values.size} values",
            hint="give one rscale per replicate column, in column order",
        )
    if not (np.isfinite(final_scale) and final_scale > 0):
        raise ConfigError(
            "scale must be a positive number",
            expected="scale > 0",
            found=repr(scale),
            hint="JK1: (n − 1)/n; bootstrap: 1/(R − 1)",
        )
    return final_scale, values.astype(np.float64), rho


def unit_factors(
    weights: FloatArray, replicate_weights: FloatArray, psu_index: IntArray, n_psus: int
) -> tuple[IntArray, FloatArray]:
    """Group rows into units with one replicate factor row each: the PSUs if they allow it.

    Returns the unit of every row and the ``(U, R)`` factors. When the factors of the rows of
    a PSU agree (within ``1e-9`` relative) the unit is the PSU; otherwise every row is a unit.
    """
    factors = replicate_weights / weights[:, None]
    rep = representative_rows(psu_index, n_psus)
    per_psu = factors[rep]
    spread = np.abs(factors - per_psu[psu_index])
    if np.all(spread <= _WITHIN_UNIT_RTOL * np.maximum(np.abs(per_psu[psu_index]), 1.0)):
        return psu_index, per_psu
    return np.arange(weights.shape[0], dtype=np.intp), factors


def _hadamard(order: int) -> FloatArray:
    """Sylvester's Hadamard matrix of a power-of-two order, entries ±1."""
    h = np.ones((1, 1))
    while h.shape[0] < order:
        h = np.block([[h, h], [h, -h]])
    return h


def psu_replicates(
    layout: PsuLayout,
    fpc_factor: FloatArray,
    method: str,
    replicates: int | None,
    seed: int | None,
    fay_rho: float,
    mse: bool,
) -> ReplicateLayout:
    """Replicate factors per PSU from a strata/PSU design (R's ``as.svrepdesign``).

    Parameters
    ----------
    layout
        The design's PSU layout (PSUs sorted by stratum).
    fpc_factor
        ``1 − n_h/N_h`` per stratum (1 without an fpc).
    method
        ``"JK1"`` (unstratified), ``"JKn"``, ``"BRR"``/``"Fay"`` (two PSUs per stratum) or
        ``"bootstrap"``.
    replicates, seed
        Number of bootstrap replicates and the seed of their generator.
    fay_rho, mse
        Fay's ρ (``"Fay"`` only) and the centring of the variance.

    Returns
    -------
    ReplicateLayout
        Factors of shape ``(P, R)`` with R's ``scale`` and ``rscales``.

    Notes
    -----
    JK1 drops one PSU per replicate and multiplies the others by ``n/(n − 1)``; ``scale =
    (n − 1)/n · (1 − f)``. JKn does so within the PSU's stratum, with ``rscales = (n_h −
    1)/n_h · (1 − f_h)``. BRR/Fay give the first PSU of stratum ``h`` the factor ``1 + s``
    and the second ``1 − s`` (``s = ±(1 − ρ)``, the sign from column ``h + 1`` of a Sylvester
    Hadamard matrix of order ``> H``: full orthogonal balance). The bootstrap is Rao and Wu's
    rescaled bootstrap with ``n_h − 1`` PSUs drawn with replacement in each stratum, factor
    ``n_h/(n_h − 1)`` times the draw count, ``scale = 1/(R − 1)``.

    References
    ----------
    .. [1] Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., Springer,
       chapters 3-5.
    .. [2] Rao, J. N. K. and Wu, C. F. J. (1988). Resampling inference with complex survey
       data. *JASA*, 83(401), 231-241.
    .. [3] Judkins, D. R. (1990). Fay's method for variance estimation. *Journal of Official
       Statistics*, 6(3), 223-239.

    """
    h, n_h = layout.psu_stratum, layout.n_psu
    n_psus, n_strata = layout.n_psus, layout.n_strata
    if method not in ("JK1", "JKn", "BRR", "Fay", "bootstrap"):
        raise ConfigError(
            f"Cannot build {method!r} replicates from a design",
            expected="JK1, JKn, BRR, Fay or bootstrap",
            found=repr(method),
            hint="successive-difference replicates need the sample order; supply them as columns",
        )
    if method != "bootstrap" and replicates is not None:
        expected = {"JK1": n_psus, "JKn": int((n_h[n_h > 1]).sum())}.get(method)
        if expected is not None and replicates != expected:
            raise ConfigError(
                f"{method} has one replicate per PSU: replicates={replicates} does not fit",
                expected=f"replicates={expected} or None",
                found=f"replicates={replicates}",
                hint="leave replicates out for jackknife and BRR replicates",
            )
    if method == "JK1":
        if n_strata > 1:
            raise ConfigError(
                "JK1 replicates need an unstratified design",
                expected="a design without strata",
                found=f"{n_strata} strata",
                hint="use method='JKn' (or 'bootstrap') for a stratified design",
            )
        factors = np.full((n_psus, n_psus), n_psus / (n_psus - 1.0))
        np.fill_diagonal(factors, 0.0)
        scale = (n_psus - 1.0) / n_psus * float(fpc_factor[0])
        return ReplicateLayout(factors, scale, np.ones(n_psus), mse, "JK1")
    if method == "JKn":
        if n_strata == 1:
            raise ConfigError(
                "JKn replicates need a stratified design",
                expected="a design with strata",
                found="one stratum",
                hint="use method='JK1' for an unstratified design",
            )
        members = np.flatnonzero(n_h[h] > 1)
        same = h[:, None] == h[members][None, :]
        factors = np.where(same, (n_h[h] / (n_h[h] - 1.0))[:, None], 1.0)
        factors[members, np.arange(members.size)] = 0.0
        rscales = (n_h[h[members]] - 1.0) / n_h[h[members]] * fpc_factor[h[members]]
        return ReplicateLayout(factors, 1.0, rscales, mse, "JKn")
    if method in ("BRR", "Fay"):
        if not np.all(n_h == 2):
            raise DesignError(
                f"{method} replicates need exactly two PSUs in every stratum",
                expected="2 PSUs per stratum",
                found=f"strata with {sorted(set(n_h.tolist()))} PSUs",
                hint="pair PSUs into variance strata, or use method='JKn'",
            )
        order = 1 << int(np.ceil(np.log2(n_strata + 1)))
        signs = _hadamard(order)[:, 1 : n_strata + 1]
        rho = fay_rho if method == "Fay" else 0.0
        first = np.r_[True, h[1:] != h[:-1]]
        side = np.where(first, 1.0, -1.0)
        factors = 1.0 + side[:, None] * (1.0 - rho) * signs.T[h]
        scale = 1.0 / (order * (1.0 - rho) ** 2)
        return ReplicateLayout(factors, scale, np.ones(order), mse, method, rho)
    if (n_h < 2).any():
        raise DesignError(
            "Bootstrap replicates need at least two PSUs in every stratum",
            expected="2 or more PSUs per stratum",
            found=f"{int((n_h < 2).sum())} strata with one PSU",
            hint="collapse strata before building replicates",
        )
    count = 50 if replicates is None else int(replicates)
    if count < 2:
        raise ConfigError(
            "Too few bootstrap replicates",
            expected="replicates ≥ 2 (typically 200 or more)",
            found=f"replicates={replicates}",
            hint="pass replicates=200",
        )
    rng = np.random.default_rng(seed)
    start = np.r_[0, np.cumsum(n_h)[:-1]]
    factors = np.zeros((n_psus, count))
    for stratum in range(n_strata):  # loop over strata, not rows
        size = int(n_h[stratum])
        draws = rng.integers(0, size, size=(count, size - 1))
        counts = np.zeros((count, size))
        np.add.at(counts, (np.arange(count)[:, None], draws), 1.0)
        factors[start[stratum] : start[stratum] + size] = counts.T * size / (size - 1.0)
    return ReplicateLayout(factors, 1.0 / (count - 1.0), np.ones(count), mse, "bootstrap")
