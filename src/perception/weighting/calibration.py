"""Calibration of survey weights: post-stratification, raking and linear (GREG) calibration.

One core solves every method. Rows are first grouped by their combination of calibration
categories, so the Newton iterations run on cell totals, never on rows. The calibrated design
keeps each step's model matrix and pre-calibration weights for the calibration-aware variance.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from perception.errors import CalibrationError
from perception.variance import (
    AuxScores,
    FloatArray,
    IntArray,
    PsuLayout,
    aux_scores,
    combine_codes,
    representative_rows,
    weighted_bincount,
)

Missing = Literal["error", "category"]
MISSING_CATEGORY = "(missing)"
"""Level that stands for a missing value when calibrating with ``missing="category"``."""

MARGIN_TOTAL_RTOL = 1e-3
"""Margins whose totals differ by more than this (relative) are an error; less is normalized."""


def _positions(mask: npt.NDArray[np.bool_]) -> list[int]:
    """Row positions where ``mask`` is true (errors show the first 10 and the count)."""
    return [int(i) for i in np.flatnonzero(mask)]


@dataclass(frozen=True)
class ModelMatrix:
    """A calibration model matrix ``X``, stored as category cells plus numeric columns.

    Row ``i`` of ``X`` is ``[cell_x[cells[i]], numeric[i]]``.
    """

    cells: IntArray
    cell_x: FloatArray
    numeric: FloatArray
    names: tuple[str, ...]

    @property
    def width(self) -> int:
        """Number of columns of ``X``."""
        return int(self.cell_x.shape[1] + self.numeric.shape[1])

    def grouped_sums(
        self, values: FloatArray, group: IntArray, n_groups: int, rows: IntArray | None = None
    ) -> FloatArray:
        """Return ``Σ_{i in g} values_i · x_i`` for every group, shape ``(n_groups, width)``.

        ``rows`` selects the rows of ``X`` that ``values`` and ``group`` refer to.
        """
        cells = self.cells if rows is None else self.cells[rows]
        numeric = self.numeric if rows is None else self.numeric[rows]
        n_cells, n = self.cell_x.shape[0], values.shape[0]
        parts: list[FloatArray] = []
        if self.cell_x.shape[1]:
            size = n_groups * n_cells
            if size <= max(4 * n, 1 << 20):
                table = weighted_bincount(group * n_cells + cells, values, size)
                parts.append(table.reshape(n_groups, n_cells) @ self.cell_x)
            else:
                parts.append(
                    np.stack(
                        [
                            weighted_bincount(group, values * self.cell_x[cells, k], n_groups)
                            for k in range(self.cell_x.shape[1])
                        ],
                        axis=1,
                    )
                )
        parts.extend(
            weighted_bincount(group, values * numeric[:, j], n_groups)[:, None]
            for j in range(numeric.shape[1])
        )
        if not parts:
            return np.zeros((n_groups, 0))
        return np.hstack(parts)

    def cross(self, weights: FloatArray, other: ModelMatrix) -> FloatArray:
        """Return ``Xᵀ diag(weights) X_other``."""
        blocks: list[FloatArray] = []
        if self.cell_x.shape[1]:
            per_cell = other.grouped_sums(weights, self.cells, self.cell_x.shape[0])
            blocks.append(self.cell_x.T @ per_cell)
        zeros = np.zeros(weights.shape[0], dtype=np.intp)
        blocks.extend(
            other.grouped_sums(weights * self.numeric[:, j], zeros, 1)
            for j in range(self.numeric.shape[1])
        )
        if not blocks:
            return np.zeros((0, other.width))
        return np.vstack(blocks)

    def dense(self) -> FloatArray:
        """Return ``X`` as a dense ``(n, width)`` array."""
        return np.hstack([self.cell_x[self.cells], self.numeric])


@dataclass(frozen=True)
class CalibrationStep:
    """One calibration applied to a design: what it matched, and how well.

    Attributes
    ----------
    method
        ``"raking"``, ``"linear"`` or ``"poststratify"``.
    model
        The model matrix ``X`` (its column names say which margin level or total).
    pre_weights
        Weights before this step (the regression weights of the GREG variance).
    targets, achieved
        Population totals of the columns of ``X``, and the calibrated weights' totals.
    iterations
        Newton iterations used (1 for linear calibration and post-stratification).
    max_error
        Largest ``|achieved − target| / max(|target|, 1)``.

    """

    method: str
    model: ModelMatrix
    pre_weights: FloatArray
    targets: FloatArray
    achieved: FloatArray
    iterations: int
    max_error: float

    @property
    def converged(self) -> bool:
        """True: a step that failed to converge raises instead of being recorded."""
        return True

    def report(self) -> pd.DataFrame:
        """Return a tidy table of target, achieved total and relative error per constraint."""
        error = np.abs(self.achieved - self.targets) / np.maximum(np.abs(self.targets), 1.0)
        return pd.DataFrame(
            {
                "constraint": list(self.model.names),
                "target": self.targets,
                "achieved": self.achieved,
                "relative_error": error,
            }
        )


@dataclass(frozen=True)
class _Margin:
    """A categorical margin: per-row level codes and the levels' targets."""

    label: str
    codes: IntArray
    levels: list[Hashable]
    targets: FloatArray


def _check_columns(data: pd.DataFrame, columns: list[str]) -> None:
    """Raise if a weighting variable is not a column of the data."""
    for column in columns:
        if column not in data.columns:
            raise CalibrationError(
                f"The weighting variable {column!r} is not in the data",
                expected=f"a column named {column!r}",
                found=f"columns {list(data.columns)[:20]}",
                hint="check the spelling of the margin names",
                column=column,
            )


def _column_codes(
    data: pd.DataFrame, column: str, label: str, missing: Missing
) -> tuple[IntArray, list[Hashable]]:
    """Factorize a weighting variable; a missing value is an error or its own level."""
    codes, uniques = pd.factorize(data[column])
    levels: list[Hashable] = list(uniques)
    na = codes < 0
    if na.any():
        if missing != "category":
            raise CalibrationError(
                f"The weighting variable {label!r} has missing values",
                expected="a value in every row of a weighting variable",
                found=f"{int(na.sum())} missing values",
                hint=f"impute them first, or pass missing='category' and give a target for "
                f"{MISSING_CATEGORY!r}",
                column=column,
                rows=_positions(na),
            )
        codes = np.where(na, len(levels), codes)
        levels.append(MISSING_CATEGORY)
    return codes.astype(np.intp), levels


def _level_codes(
    data: pd.DataFrame, columns: list[str], keys: list[Hashable], label: str, missing: Missing
) -> IntArray:
    """Match each row's value (or tuple of values) to the index of its target key."""
    if len(columns) > 1 and not all(isinstance(k, tuple) and len(k) == len(columns) for k in keys):
        raise CalibrationError(
            f"Targets for {label!r} are not keyed by tuples",
            expected=f"keys that are tuples of {len(columns)} values",
            found=f"keys such as {keys[:3]}",
            hint="key each cell by a tuple of its values, in the order of the variables",
            column=label,
        )
    coded = [_column_codes(data, c, label, missing) for c in columns]
    combo, n_combo = combine_codes(
        [c for c, _ in coded], [len(levels) for _, levels in coded], len(data)
    )
    rep = representative_rows(combo, n_combo)
    values = [[levels[i] for i in codes[rep]] for codes, levels in coded]
    if len(columns) == 1:
        key_index = pd.Index(keys).get_indexer(pd.Index(values[0], dtype=object))
    else:
        tuples = [k for k in keys if isinstance(k, tuple)]
        key_index = pd.MultiIndex.from_tuples(tuples).get_indexer(pd.MultiIndex.from_arrays(values))
    codes = key_index[combo]
    unmatched = codes < 0
    if unmatched.any():
        missing_values = [
            tuple(v[i] for v in values) if len(columns) > 1 else values[0][i]
            for i in np.flatnonzero(key_index < 0)[:5]
        ]
        raise CalibrationError(
            f"Values of {label!r} have no population target",
            expected=f"a target for every value of {label!r}",
            found=f"{int(unmatched.sum())} rows with values {missing_values} "
            f"(targets: {keys[:10]})",
            hint="add the missing levels to the targets; keys must equal the data values "
            "(1 is not '1')",
            column=label,
            rows=_positions(unmatched),
        )
    return codes.astype(np.intp)


def _margin(
    data: pd.DataFrame, columns: list[str], targets: Mapping[Hashable, float], missing: Missing
) -> _Margin:
    """Build and check one categorical margin."""
    label = "×".join(columns)
    _check_columns(data, columns)
    keys = list(targets.keys())
    values = np.array([float(targets[k]) for k in keys])
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any() or not keys:
        raise CalibrationError(
            f"Targets for {label!r} must be non-negative numbers",
            expected="a finite count ≥ 0 for every level",
            found=f"{dict(zip(keys, values.tolist(), strict=True))}",
            hint="fix the population targets",
            column=label,
        )
    codes = _level_codes(data, columns, keys, label, missing)
    counts = np.bincount(codes, minlength=len(keys))
    empty = np.flatnonzero((values > 0) & (counts == 0))
    if empty.size:
        raise CalibrationError(
            f"A category of {label!r} has a positive target but no respondents",
            expected="at least one respondent in every category with a positive target",
            found=f"no respondents in {[keys[i] for i in empty]}",
            hint="collapse the empty category with a neighbouring one in both data and targets",
            column=label,
        )
    zero = np.flatnonzero((values == 0) & (counts > 0))
    if zero.size:
        raise CalibrationError(
            f"A category of {label!r} has respondents but a target of 0",
            expected="a positive target for every category with respondents",
            found=f"target 0 for {[keys[i] for i in zero]}",
            hint="drop those respondents or fix the targets",
            column=label,
            rows=_positions(np.isin(codes, zero)),
        )
    return _Margin(label=label, codes=codes, levels=keys, targets=values)


def _reconcile_totals(margins: list[_Margin], population_size: float | None) -> list[_Margin]:
    """Check that margins agree on the population size; normalize small differences."""
    sums = [float(m.targets.sum()) for m in margins]
    reference = population_size if population_size is not None else sums[0]
    relative = [abs(s - reference) / reference for s in sums]
    worst = int(np.argmax(relative))
    if relative[worst] > MARGIN_TOTAL_RTOL:
        raise CalibrationError(
            "Margin totals disagree",
            expected=f"every margin summing to the same population size (within "
            f"{MARGIN_TOTAL_RTOL:.1%})",
            found=", ".join(f"{m.label}: {s:g}" for m, s in zip(margins, sums, strict=True))
            + (f", population_size: {population_size:g}" if population_size is not None else ""),
            hint="targets for every margin must come from the same population figures",
            column=margins[worst].label,
        )
    if max(relative) > 1e-12:
        warnings.warn(
            f"Margin totals differ by up to {max(relative):.3g} (relative); each margin is "
            f"scaled to {reference:g}.",
            UserWarning,
            stacklevel=4,
        )
        return [
            _Margin(m.label, m.codes, m.levels, m.targets * (reference / s))
            for m, s in zip(margins, sums, strict=True)
        ]
    return margins


def _numeric_columns(data: pd.DataFrame, totals: Mapping[str, float]) -> FloatArray:
    """Return numeric auxiliary columns as an ``(n, q)`` array, rejecting missing values."""
    columns = list(totals)
    _check_columns(data, columns)
    out = np.zeros((len(data), len(columns)))
    for j, column in enumerate(columns):
        series = data[column]
        if not pd.api.types.is_numeric_dtype(series):
            raise CalibrationError(
                f"The auxiliary variable {column!r} is not numeric",
                expected="numbers (use margins= for categories)",
                found=f"dtype {series.dtype}",
                hint="pass categorical variables as margins",
                column=column,
            )
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            raise CalibrationError(
                f"The auxiliary variable {column!r} has missing or infinite values",
                expected="a finite value in every row of a weighting variable",
                found=f"{int(bad.sum())} missing or infinite values",
                hint="impute them before calibrating",
                column=column,
                rows=_positions(bad),
            )
        out[:, j] = values
    return out


def _model(
    margins: list[_Margin],
    numeric: FloatArray,
    numeric_names: list[str],
    intercept: bool,
) -> tuple[ModelMatrix, FloatArray]:
    """Build ``X`` (first margin: every level; later margins: all but one) and its targets."""
    n = numeric.shape[0]
    sizes = [len(m.levels) for m in margins]
    cells, n_cells = combine_codes([m.codes for m in margins], sizes, n)
    rep = representative_rows(cells, n_cells)
    columns: list[FloatArray] = []
    names: list[str] = []
    targets: list[float] = []
    if intercept:
        columns.append(np.ones(n_cells))
        names.append("(population)")
    for position, margin in enumerate(margins):
        present = np.flatnonzero(np.bincount(margin.codes, minlength=len(margin.levels)))
        keep = present if position == 0 else present[1:]
        level_of_cell = margin.codes[rep]
        for level in keep:
            columns.append((level_of_cell == level).astype(np.float64))
            names.append(f"{margin.label}={margin.levels[level]}")
            targets.append(float(margin.targets[level]))
    cell_x = np.stack(columns, axis=1) if columns else np.zeros((n_cells, 0))
    model = ModelMatrix(cells=cells, cell_x=cell_x, numeric=numeric, names=(*names, *numeric_names))
    return model, np.array(targets)


def _relative_error(achieved: FloatArray, targets: FloatArray) -> float:
    """Largest ``|achieved − target| / max(|target|, 1)``."""
    if achieved.size == 0:
        return 0.0
    return float(np.max(np.abs(achieved - targets) / np.maximum(np.abs(targets), 1.0)))


def _solve_raking(
    x: FloatArray, w: FloatArray, targets: FloatArray, tol: float, max_iter: int
) -> tuple[FloatArray, int]:
    """Solve ``Σ w·exp(xᵀλ)·x = targets`` by Newton's method on the convex dual.

    References
    ----------
    .. [1] Deville, J.-C., Särndal, C.-E. and Sautory, O. (1993). Generalized raking
       procedures in survey sampling. *JASA*, 88(423), 1013-1020.

    """
    lam = np.zeros(x.shape[1])

    def dual(lam: FloatArray) -> tuple[float, FloatArray]:
        with np.errstate(over="ignore"):
            g = np.exp(x @ lam)
        return float(np.sum(w * g) - lam @ targets), g

    value, g = dual(lam)
    for iteration in range(max_iter + 1):
        achieved = x.T @ (w * g)
        error = _relative_error(achieved, targets)
        if error <= tol:
            return g, iteration
        if iteration == max_iter:
            break
        hessian = x.T @ (x * (w * g)[:, None])
        step = np.linalg.lstsq(hessian, targets - achieved, rcond=None)[0]
        slope = -float(step @ (targets - achieved))
        size = 1.0
        while size >= 1e-12:
            new_value, new_g = dual(lam + size * step)
            if np.isfinite(new_value) and (
                new_value <= value + 1e-4 * size * slope
                or _relative_error(x.T @ (w * new_g), targets) < error
            ):
                break
            size /= 2.0
        if size < 1e-12:
            break
        lam, value, g = lam + size * step, new_value, new_g
    raise CalibrationError(
        f"Raking did not converge in {max_iter} iterations",
        expected=f"largest relative margin error ≤ {tol:g}",
        found=f"largest relative margin error {_relative_error(x.T @ (w * g), targets):.3g}",
        hint="check for margins that cannot all be met (sparse cells, contradictory targets), "
        "or raise max_iter",
    )


def _solve_linear(x: FloatArray, w: FloatArray, targets: FloatArray) -> FloatArray:
    """Solve the linear (GREG) calibration ``g = 1 + xᵀλ`` in closed form."""
    gram = x.T @ (x * w[:, None])
    lam = np.linalg.lstsq(gram, targets - x.T @ w, rcond=None)[0]
    g: FloatArray = 1.0 + x @ lam
    return g


def _apply(
    weights: FloatArray,
    model: ModelMatrix,
    targets: FloatArray,
    method: str,
    calfun: str,
    tol: float,
    max_iter: int,
) -> tuple[FloatArray, CalibrationStep]:
    """Solve the calibration on cells (or rows, with numeric auxiliaries) and record it."""
    if model.numeric.shape[1]:
        x, w, index = model.dense(), weights, None
    else:
        x = model.cell_x
        w = weighted_bincount(model.cells, weights, x.shape[0])
        index = model.cells
    if calfun == "raking":
        g, iterations = _solve_raking(x, w, targets, tol, max_iter)
    else:
        g, iterations = _solve_linear(x, w, targets), 1
    new = weights * (g if index is None else g[index])
    bad = ~np.isfinite(new) | ((new <= 0) & (weights > 0))  # a replicate may hold zeros
    if bad.any():
        raise CalibrationError(
            "Linear calibration gave non-positive weights",
            expected="positive calibrated weights",
            found=f"{int(bad.sum())} weights ≤ 0",
            hint="use calfun='raking' (weights stay positive) or revise the targets",
            rows=_positions(bad),
        )
    achieved = model.grouped_sums(new, np.zeros(new.shape[0], dtype=np.intp), 1)[0]
    error = _relative_error(achieved, targets)
    if error > max(tol, 1e-8):
        raise CalibrationError(
            "Calibration cannot meet its targets",
            expected=f"largest relative margin error ≤ {tol:g}",
            found=f"largest relative margin error {error:.3g}",
            hint="the targets are inconsistent with each other or with the data",
        )
    step = CalibrationStep(
        method=method,
        model=model,
        pre_weights=weights,
        targets=targets,
        achieved=achieved,
        iterations=iterations,
        max_error=error,
    )
    return new, step


def calibrate_weights(
    data: pd.DataFrame,
    weights: FloatArray,
    margins: Mapping[str, Mapping[Hashable, float]],
    totals: Mapping[str, float],
    *,
    population_size: float | None,
    calfun: str,
    tol: float,
    max_iter: int,
    missing: Missing,
) -> tuple[FloatArray, CalibrationStep]:
    """Calibrate ``weights`` to categorical margins and numeric totals.

    Parameters
    ----------
    data, weights
        Respondents and their current weights.
    margins
        ``{column: {level: population count}}``.
    totals
        ``{numeric column: population total}``.
    population_size
        Intercept constraint; implied by the margins when there are any.
    calfun
        ``"linear"`` (GREG) or ``"raking"``.
    tol, max_iter
        Convergence criterion on the largest relative margin error.
    missing
        ``"error"`` or ``"category"`` (see :data:`MISSING_CATEGORY`).

    Returns
    -------
    tuple
        New weights and the :class:`CalibrationStep` to store in the design.

    Notes
    -----
    Raking solves ``Σ_i w_i exp(x_iᵀλ) x_i = t`` by Newton's method on the dual, with a
    backtracking line search, on totals of the cells formed by the margins' categories.
    Linear calibration solves ``Σ_i w_i (1 + x_iᵀλ) x_i = t`` in one step.

    References
    ----------
    .. [1] Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
       sampling. *JASA*, 87(418), 376-382.
    .. [2] Lumley, T. (2010). *Complex Surveys*, Wiley, ch. 7.

    """
    if calfun not in ("linear", "raking"):
        raise CalibrationError(
            f"Unknown calibration function {calfun!r}",
            expected="'linear' or 'raking'",
            found=repr(calfun),
            hint="use calfun='raking' for raking and 'linear' for GREG",
        )
    if not margins and not totals and population_size is None:
        raise CalibrationError(
            "Nothing to calibrate to",
            expected="at least one margin, numeric total or a population size",
            found="no margins, no totals and no population size",
            hint="pass margins={column: {level: count}} or totals={column: total}",
        )
    built = [_margin(data, [column], targets, missing) for column, targets in margins.items()]
    if built:
        built = _reconcile_totals(built, population_size)
    intercept = not built and population_size is not None
    model, targets = _model(built, _numeric_columns(data, totals), list(totals), intercept)
    head = [float(population_size)] if intercept and population_size is not None else []
    targets = np.concatenate([head, targets, [float(totals[c]) for c in totals]])
    method = "raking" if calfun == "raking" else "linear"
    return _apply(weights, model, targets, method, calfun, tol, max_iter)


def poststratify_weights(
    data: pd.DataFrame,
    weights: FloatArray,
    variables: list[str],
    targets: Mapping[Hashable, float],
    *,
    missing: Missing,
) -> tuple[FloatArray, CalibrationStep]:
    """Post-stratify: scale weights in each cell to its population count.

    Parameters
    ----------
    data, weights
        Respondents and their current weights.
    variables
        Columns whose combinations form the cells.
    targets
        Population count of each cell, keyed by value (one variable) or tuple of values.
    missing
        ``"error"`` or ``"category"``.

    Returns
    -------
    tuple
        ``w · N_c / Σ_{i∈c} w_i`` and the :class:`CalibrationStep`.

    References
    ----------
    .. [1] Holt, D. and Smith, T. M. F. (1979). Post stratification. *JRSS A*, 142(1), 33-46.

    """
    margin = _margin(data, variables, targets, missing)
    model, values = _model([margin], np.zeros((len(data), 0)), [], intercept=False)
    return _apply(weights, model, values, "poststratify", "linear", 1e-10, 1)


@dataclass(frozen=True)
class GregTerms:
    """Design-level pieces of the calibration-aware (GREG) variance, for every step.

    Attributes
    ----------
    gram_pinv
        ``(X_kᵀ W_{k−1} X_k)⁺`` for each step ``k``.
    cross
        ``X_kᵀ W_{k−1} X_l`` for each pair ``k < l``.
    aux
        Stratum-centred PSU totals of ``w·X`` (all steps side by side) and their Gram matrix.

    """

    gram_pinv: tuple[FloatArray, ...]
    cross: Mapping[tuple[int, int], FloatArray]
    aux: AuxScores


def greg_terms(
    steps: tuple[CalibrationStep, ...], weights: FloatArray, psu: IntArray, layout: PsuLayout
) -> GregTerms:
    """Precompute what the calibration-aware variance needs from the design.

    References
    ----------
    .. [1] Särndal, C.-E., Swensson, B. and Wretman, J. (1992). *Model Assisted Survey
       Sampling*, Springer, section 6.6.

    """
    gram_pinv = tuple(
        np.linalg.pinv(s.model.cross(s.pre_weights, s.model), hermitian=True).astype(np.float64)
        for s in steps
    )
    cross = {
        (k, l): steps[k].model.cross(steps[k].pre_weights, steps[l].model)
        for k in range(len(steps))
        for l in range(k + 1, len(steps))  # noqa: E741
    }
    totals = np.hstack([s.model.grouped_sums(weights, psu, layout.n_psus) for s in steps])
    return GregTerms(gram_pinv=gram_pinv, cross=cross, aux=aux_scores(totals, layout))


def greg_coefficients(terms: GregTerms, moments: list[FloatArray]) -> FloatArray:
    """Regression coefficients of a score on every step's ``X``, newest step first.

    ``moments[k]`` holds ``X_kᵀ W_{k−1} u_d`` for every domain ``d`` (shape ``(D, p_k)``).
    The score is residualized on the newest calibration first, then on each older one
    (the chain rule of the linearization), which for a single step is R's GREG variance.

    References
    ----------
    .. [1] Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
       sampling. *JASA*, 87(418), 376-382.

    """
    betas: list[FloatArray] = [np.zeros(0)] * len(moments)
    for k in reversed(range(len(moments))):
        rhs = moments[k].copy()
        for l in range(k + 1, len(moments)):  # noqa: E741
            rhs -= betas[l] @ terms.cross[(k, l)].T
        betas[k] = rhs @ terms.gram_pinv[k]
    return np.hstack(betas)
