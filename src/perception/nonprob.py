"""Non-probability samples (SMS, IVR, online panels): quasi-randomization pseudo-weights.

A non-probability sample ``S_A`` (no design weights) is weighted by the inverse of its
estimated participation propensity, which is estimated against a reference probability sample
``S_B`` of the same population carrying its design weights. Two propensity models are
offered, both logistic in the covariates:

- ``"clw"``: Chen, Li and Wu (2020): the pseudo-likelihood estimating equations
  ``Σ_{S_A} x_i − Σ_{S_B} d_i π(x_i) x_i = 0``; pseudo-weights ``1/π̂_i``.
- ``"valliant_dever"``: a survey-weighted logistic regression on the stacked samples
  (``S_A`` with weight 1, ``S_B`` with its design weights; Valliant and Dever 2011), with the
  odds correction of Wang, Valliant and Li (2021): pseudo-weights ``(1 − p̂_i)/p̂_i``.

Either can be followed by raking to census margins (:func:`perception.weighting.calibration.
calibrate_weights`, or :func:`rake_pseudo_weights` with the survey's weighting settings). Means
come with the linearized variance of Chen, Li and Wu (2020), whose reference-sample component
goes through the one variance kernel (via :func:`perception.regression.influence_covariance`);
after raking it is applied to the raking residuals (Deville and Särndal 1992).
:func:`balance_table` and :func:`weight_diagnostics` return the diagnostics as tidy frames.
:func:`estimate_nonprobability_wave` builds Table 1 of a wave declared ``sample:
nonprobability``: point estimates on the pseudo-weights (or unweighted), and no design-based
uncertainty except CLW intervals (raked or not).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from perception.config import (
    Catalogue,
    IndicatorCatalogue,
    PopulationTargets,
    WeightingConfig,
    nonprobability_weighting,
)
from perception.config.indicators import domain_set_columns
from perception.design import SurveyDesign
from perception.errors import ModelError, PerceptionError, ValidationError
from perception.estimation import check_level, confidence_interval
from perception.indicators import VARIANTS, compute_indicators, score_indicator
from perception.indicators.scores import item_codes
from perception.regression import _check_rank, influence_covariance
from perception.variance import FloatArray
from perception.weighting._common import spec_name
from perception.weighting.calibration import CalibrationStep, calibrate_weights
from perception.weighting.diagnostics import effective_sample_size, kish_deff
from perception.weighting.workflow import weight_nonprobability

Method = Literal["clw", "valliant_dever"]
METHODS: tuple[str, ...] = ("clw", "valliant_dever")
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "variable",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "unweighted",
    "n",
    "n_eff",
    "method",
    "variance",
)
BALANCE_COLUMNS: tuple[str, ...] = (
    "covariate",
    "level",
    "target_mean",
    "target_sd",
    "sample_mean",
    "weighted_mean",
    "asmd_before",
    "asmd_after",
)
_TOL = 1e-10
"""Newton stops when the largest score, relative to the reference total, is below this."""
_MAX_ITER = 100
_CHUNK = 256
_CI = ("se", "ci_low", "ci_high")
"""Outcome columns whose reference-sample variances go to the kernel in one call."""


@dataclass(frozen=True)
class _Covariates:
    """Model matrices of both samples and the one-hot columns used for balance."""

    sample: FloatArray
    reference: FloatArray
    names: list[str]
    balance_sample: FloatArray
    balance_reference: FloatArray
    balance_names: list[tuple[str, str]]


@dataclass(frozen=True)
class QuasiRandomization:
    """Pseudo-weights of a non-probability sample and the propensity model behind them.

    Attributes
    ----------
    weights
        Final pseudo-weights of the sample rows (after raking when ``raked``).
    propensity
        Estimated participation propensity ``π̂_i`` of each sample row (``1/w`` before raking).
    coefficients
        The logistic coefficients, indexed by model column.
    method
        ``"clw"`` or ``"valliant_dever"``.
    raked
        Whether the pseudo-weights were raked to margins afterwards.
    iterations
        Newton iterations of the propensity fit.
    reference_propensity
        ``π̂`` at the reference sample's rows (``e^η`` for ``valliant_dever``).
    calibration
        The raking step when ``raked`` (its ``pre_weights`` are the pseudo-weights), else None.

    """

    weights: FloatArray
    propensity: FloatArray
    coefficients: pd.Series
    method: Method
    raked: bool
    iterations: int
    reference_propensity: FloatArray
    covariates: tuple[str, ...]
    _x_sample: FloatArray
    _x_reference: FloatArray
    _eta_sample: FloatArray
    _eta_reference: FloatArray
    calibration: CalibrationStep | None = None


def _positions(mask: npt.NDArray[np.bool_]) -> list[int]:
    """Row positions where ``mask`` is true."""
    return [int(i) for i in np.flatnonzero(mask)]


def _is_numeric(series: pd.Series) -> bool:
    """Whether a covariate enters the model as a number rather than as categories."""
    return bool(
        pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype)
    )


def _check_covariates(
    sample: pd.DataFrame, reference: pd.DataFrame, covariates: Sequence[str]
) -> None:
    """Raise when a covariate is absent from a sample or has missing values."""
    if not covariates:
        raise ValidationError(
            "A non-probability sample needs covariates shared with its reference sample",
            expected="at least one covariate present in both samples",
            found="no covariates",
            hint="list catalogue items both waves asked (gender, age band, region...)",
        )
    for name, frame in (("non-probability sample", sample), ("reference sample", reference)):
        absent = [c for c in covariates if c not in frame.columns]
        if absent:
            raise ValidationError(
                f"The {name} lacks covariate(s) {', '.join(absent)}",
                expected="every covariate in both samples",
                found=f"columns {', '.join(map(str, list(frame.columns)[:20]))}",
                hint="use only covariates both waves measured (same catalogue items)",
                column=", ".join(absent),
            )
        for column in covariates:
            missing = frame[column].isna().to_numpy()
            if missing.any():
                raise ValidationError(
                    f"Covariate {column!r} has missing values in the {name}",
                    expected="a value in every row (the propensity model needs all covariates)",
                    found=f"{int(missing.sum())} missing value(s)",
                    hint="impute, add a 'missing' level, or drop the covariate",
                    column=column,
                    rows=_positions(missing),
                )
        if len(frame) == 0:
            raise ValidationError(
                f"The {name} has no rows",
                expected="at least one respondent",
                found="an empty table",
                hint="check the wave's filter",
            )


def _covariates(
    sample: pd.DataFrame, reference: pd.DataFrame, covariates: Sequence[str]
) -> _Covariates:
    """Build the logistic model matrices (intercept, numbers, dummies but the first level)."""
    _check_covariates(sample, reference, covariates)
    n_a, n_b = len(sample), len(reference)
    model_a: list[FloatArray] = [np.ones(n_a)]
    model_b: list[FloatArray] = [np.ones(n_b)]
    names = ["(Intercept)"]
    bal_a: list[FloatArray] = []
    bal_b: list[FloatArray] = []
    bal_names: list[tuple[str, str]] = []
    for column in covariates:
        a, b = sample[column], reference[column]
        if _is_numeric(a) and _is_numeric(b):
            va, vb = a.to_numpy(dtype=np.float64), b.to_numpy(dtype=np.float64)
            model_a.append(va)
            model_b.append(vb)
            names.append(column)
            bal_a.append(va)
            bal_b.append(vb)
            bal_names.append((column, ""))
            continue
        sa, sb = a.astype(str).to_numpy(), b.astype(str).to_numpy()
        levels_a, levels_b = set(sa.tolist()), set(sb.tolist())
        only_a, only_b = sorted(levels_a - levels_b), sorted(levels_b - levels_a)
        if only_a or only_b:
            where, rows = (
                ("reference sample", np.isin(sa, only_a))
                if only_a
                else ("non-probability sample", np.isin(sb, only_b))
            )
            raise ModelError(
                f"Covariate {column!r} has level(s) absent from the {where}",
                expected="every level of a covariate in both samples",
                found=f"level(s) {', '.join((only_a or only_b)[:10])} only in the other sample",
                hint="collapse the level into a neighbouring one: its propensity cannot be "
                "estimated (it would be 0 or 1)",
                column=column,
                rows=_positions(rows),
            )
        levels = sorted(levels_b)
        for k, level in enumerate(levels):
            da, db = (sa == level).astype(np.float64), (sb == level).astype(np.float64)
            bal_a.append(da)
            bal_b.append(db)
            bal_names.append((column, level))
            if k > 0:
                model_a.append(da)
                model_b.append(db)
                names.append(f"{column}[{level}]")
    x_b = np.column_stack(model_b)
    _check_rank(x_b, names)
    return _Covariates(
        np.column_stack(model_a),
        x_b,
        names,
        np.column_stack(bal_a),
        np.column_stack(bal_b),
        bal_names,
    )


def _expit(eta: FloatArray) -> FloatArray:
    """Logistic function, stable for large ``|eta|``."""
    out: FloatArray = np.exp(-np.logaddexp(0.0, -eta))
    return out


def _objective(
    method: str, xa: FloatArray, xb: FloatArray, d: FloatArray, theta: FloatArray
) -> float:
    """Return the concave pseudo log-likelihood whose gradient is the estimating function."""
    eta_a, eta_b = xa @ theta, xb @ theta
    soft_b = float(d @ np.logaddexp(0.0, eta_b))
    if method == "clw":
        return float(eta_a.sum()) - soft_b
    return float((eta_a - np.logaddexp(0.0, eta_a)).sum()) - soft_b


def _score_hessian(
    method: str, xa: FloatArray, xb: FloatArray, d: FloatArray, theta: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Estimating function ``U(θ)`` and its Jacobian (negative definite)."""
    pb = _expit(xb @ theta)
    score_b = xb.T @ (d * pb)
    jac = -(xb.T @ (xb * (d * pb * (1.0 - pb))[:, None]))
    if method == "clw":
        score: FloatArray = xa.sum(axis=0) - score_b
        return score, jac
    pa = _expit(xa @ theta)
    score = xa.T @ (1.0 - pa) - score_b
    jac = jac - xa.T @ (xa * (pa * (1.0 - pa))[:, None])
    return score, jac


def _fit(
    method: str, xa: FloatArray, xb: FloatArray, d: FloatArray, names: list[str]
) -> tuple[FloatArray, int]:
    """Solve the estimating equations by Newton's method with step halving."""
    n_a, total = float(xa.shape[0]), float(d.sum())
    theta = np.zeros(xa.shape[1])
    share = n_a / max(total - n_a, n_a * 1e-6) if method == "clw" else n_a / total
    theta[0] = np.log(share)
    scale = max(total, n_a)
    current = _objective(method, xa, xb, d, theta)
    for iteration in range(1, _MAX_ITER + 1):
        score, jac = _score_hessian(method, xa, xb, d, theta)
        if np.max(np.abs(score)) / scale < _TOL:
            return theta, iteration - 1
        try:
            step = np.linalg.solve(jac, -score)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while t > 1e-10:
            candidate = theta + t * step
            value = _objective(method, xa, xb, d, candidate)
            if np.isfinite(value) and value >= current - 1e-12 * abs(current):
                break
            t /= 2.0
        theta, current = candidate, value
        if np.max(np.abs(theta)) > 50:
            break
    score, _ = _score_hessian(method, xa, xb, d, theta)
    worst = int(np.argmax(np.abs(theta)))
    raise ModelError(
        "The propensity model of the non-probability sample does not converge",
        expected=f"estimating equations solved to {_TOL:g} within {_MAX_ITER} Newton steps",
        found=f"largest score {np.max(np.abs(score)):.3g}; largest coefficient "
        f"{names[worst]} = {theta[worst]:.3g}",
        hint="a covariate pattern is (almost) only in one sample: merge its levels or drop "
        "the covariate",
        column=names[worst],
    )


def _pseudo_weights(method: str, eta: FloatArray) -> FloatArray:
    """Pseudo-weights from the linear predictor: ``1 + e^{−η}`` (CLW) or ``e^{−η}`` (VD)."""
    base: FloatArray = np.exp(-eta)
    return base + 1.0 if method == "clw" else base


def pseudo_weights(
    sample: pd.DataFrame,
    reference: SurveyDesign,
    covariates: Sequence[str],
    *,
    method: Method = "clw",
    rake_to: Mapping[str, Mapping[Hashable, float]] | None = None,
) -> QuasiRandomization:
    """Estimate participation propensities of a non-probability sample and its pseudo-weights.

    Parameters
    ----------
    sample
        The non-probability sample ``S_A``, one row per respondent.
    reference
        The reference probability sample ``S_B`` as a design; its weights are the design
        weights ``d_i`` (calibrated weights are accepted as they are).
    covariates
        Columns present in both samples: numeric columns enter linearly, others as one dummy
        per level but the first.
    method
        ``"clw"`` (default) or ``"valliant_dever"``.
    rake_to
        Optional population margins ``{column: {level: count}}``: the pseudo-weights are then
        raked to them (:func:`perception.weighting.calibration.calibrate_weights`).

    Returns
    -------
    QuasiRandomization
        Pseudo-weights, propensities and the fitted model.

    Raises
    ------
    ValidationError
        A covariate is absent from a sample or has missing values.
    ModelError
        A covariate level occurs in one sample only, the model is collinear, or Newton's
        method does not converge.

    Notes
    -----
    With ``π(x, θ) = expit(xᵀθ)``, CLW maximise the pseudo log-likelihood
    ``l(θ) = Σ_{S_A} xᵢᵀθ − Σ_{S_B} dᵢ log(1 + e^{xᵢᵀθ})`` whose score is their estimating
    function ``U(θ) = Σ_{S_A} xᵢ − Σ_{S_B} dᵢ πᵢ xᵢ``; the pseudo-weights are ``1/π̂ᵢ``.
    Valliant-Dever fit the weighted logistic regression of membership of ``S_A`` on the
    stacked samples (score ``Σ_{S_A}(1 − pᵢ)xᵢ − Σ_{S_B} dᵢ pᵢ xᵢ``); since the stacked
    data count the sample twice, ``p = π/(1 + π)`` and the pseudo-weights are
    ``(1 − p̂)/p̂ = e^{−xᵀθ̂}`` (Wang, Valliant and Li 2021). Both are solved by Newton's
    method with step halving on the concave objective.

    References
    ----------
    .. [1] Chen, Y., Li, P. and Wu, C. (2020). Doubly robust inference with nonprobability
       survey samples. *Journal of the American Statistical Association*, 115(532),
       2011-2021.
    .. [2] Valliant, R. and Dever, J. A. (2011). Estimating propensity adjustments for
       volunteer web surveys. *Sociological Methods & Research*, 40(1), 105-137.
    .. [3] Wang, L., Valliant, R. and Li, Y. (2021). Adjusted logistic propensity weighting
       methods for population inference using nonprobability volunteer-based epidemiologic
       cohorts. *Statistics in Medicine*, 40(24), 5237-5250.

    """
    if method not in METHODS:
        raise ValidationError(
            f"Unknown pseudo-weighting method {method!r}",
            expected=f"one of {', '.join(METHODS)}",
            found=repr(method),
            hint="use 'clw' (Chen-Li-Wu 2020) unless you need the stacked logistic",
        )
    cov = _covariates(sample, reference.data, covariates)
    d = np.asarray(reference.weights, dtype=np.float64)
    theta, iterations = _fit(method, cov.sample, cov.reference, d, cov.names)
    eta_a, eta_b = cov.sample @ theta, cov.reference @ theta
    weights = _pseudo_weights(method, eta_a)
    propensity = 1.0 / weights
    reference_propensity = _expit(eta_b) if method == "clw" else np.exp(eta_b)
    step = None
    if rake_to is not None:
        weights, step = calibrate_weights(
            sample,
            weights,
            rake_to,
            {},
            population_size=None,
            calfun="raking",
            tol=1e-8,
            max_iter=100,
            missing="error",
        )
    return QuasiRandomization(
        weights=np.asarray(weights, dtype=np.float64),
        propensity=propensity,
        coefficients=pd.Series(theta, index=cov.names, name="coefficient"),
        method=method,
        raked=step is not None,
        iterations=iterations,
        reference_propensity=reference_propensity,
        covariates=tuple(covariates),
        _x_sample=cov.sample,
        _x_reference=cov.reference,
        _eta_sample=eta_a,
        _eta_reference=eta_b,
        calibration=step,
    )


def rake_pseudo_weights(
    fit: QuasiRandomization,
    sample: pd.DataFrame,
    weighting: WeightingConfig,
    targets: PopulationTargets | None,
    *,
    wave: str,
) -> QuasiRandomization:
    """Rake pseudo-weights to the census margins of the survey's weighting settings.

    Parameters
    ----------
    fit
        Pseudo-weights of ``sample`` (:func:`pseudo_weights`); raking starts from them
        before any raking.
    sample
        The non-probability sample.
    weighting, targets
        ``config/weighting.yaml`` and the wave's population targets: its ``calibration``
        (method, margins, tolerance, missing policy) is applied to the pseudo-weights, as
        ``rake: true`` does to the equal weights of a wave without a reference wave; there
        is no trimming (the linearized variance does not cover it).
    wave
        The wave's id, named in errors.

    Returns
    -------
    QuasiRandomization
        ``fit`` with the calibrated weights and the calibration step (unchanged when the
        calibration method is ``none``).

    Raises
    ------
    PerceptionError
        A margin absent from the wave, a level without a census count, or a calibration that
        does not converge: the error of the weighting run, naming the wave.

    References
    ----------
    .. [1] Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
       sampling. *JASA*, 87(418), 376-382.

    """
    config = nonprobability_weighting(weighting, rake=True).model_copy(update={"trimming": None})
    try:
        design, _ = weight_nonprobability(sample, config, targets, weights=1.0 / fit.propensity)
    except PerceptionError as error:
        margins = ", ".join(spec_name(spec) for spec in config.calibration.specs)
        raise error.reworded(
            f"Wave {wave}: its pseudo-weights cannot be raked to the census margins "
            f"({margins}): {error.message}",
            column=margins,
        ) from error
    if not design.calibration:
        return fit
    return replace(fit, weights=design.weights, raked=True, calibration=design.calibration[-1])


def _outcome(sample: pd.DataFrame, variable: str) -> FloatArray:
    """Return the numeric values of an outcome column (NaN where missing)."""
    if variable not in sample.columns:
        raise ValidationError(
            f"The non-probability sample has no column {variable!r}",
            expected="the outcome variable in the sample",
            found=f"columns {', '.join(map(str, list(sample.columns)[:20]))}",
            hint="check the variable name against the catalogue",
            column=variable,
        )
    values = pd.to_numeric(sample[variable], errors="coerce").to_numpy(dtype=np.float64)
    bad = sample[variable].notna().to_numpy() & np.isnan(values)
    if bad.any():
        raise ValidationError(
            f"Outcome {variable!r} is not numeric",
            expected="numbers (0/1 for a proportion)",
            found=f"{int(bad.sum())} non-numeric value(s)",
            hint="recode the item in the codebook",
            column=variable,
            rows=_positions(bad),
        )
    return values


@dataclass(frozen=True)
class _Linearization:
    """What every outcome's CLW linearization shares: the propensity model's pieces.

    After raking, ``cal_x`` is the raking model matrix ``X`` and ``cal_coef`` the ``(p, n)``
    map ``(Xᵀ D X)⁺ Xᵀ D`` (``D``: the pseudo-weights) from a score to its coefficients.
    """

    w: FloatArray
    xa: FloatArray
    xb: FloatArray
    jac: FloatArray
    a_factor: FloatArray
    pb: FloatArray
    odds: FloatArray
    poisson: FloatArray
    cal_x: FloatArray | None = None
    cal_coef: FloatArray | None = None


@dataclass(frozen=True)
class _Part:
    """One estimate's value and its linearized scores, scaled by ``1/N̂``.

    ``sample`` holds ``gᵢ/N̂`` on the non-probability rows and ``reference`` holds
    ``cᵀbᵢ/N̂`` on the reference rows (to be weighted by ``dᵢ``); a difference of two
    estimates is the difference of their parts.
    """

    estimate: float
    sample: FloatArray
    reference: FloatArray

    def __sub__(self, other: _Part) -> _Part:
        """Linearize the difference of two estimates."""
        return _Part(
            self.estimate - other.estimate,
            self.sample - other.sample,
            self.reference - other.reference,
        )


def _linearization(fit: QuasiRandomization, reference: SurveyDesign) -> _Linearization:
    """Gather the propensity model's Jacobian and factors once for many outcomes."""
    xa, xb = fit._x_sample, fit._x_reference
    d = np.asarray(reference.weights, dtype=np.float64)
    eta_a, eta_b = fit._eta_sample, fit._eta_reference
    pb = _expit(eta_b)
    jac = -(xb.T @ (xb * (d * pb * (1.0 - pb))[:, None]))
    if fit.method == "clw":
        a_factor = np.ones(xa.shape[0])
    else:
        pa = _expit(eta_a)
        a_factor = 1.0 - pa
        jac = jac - xa.T @ (xa * (pa * (1.0 - pa))[:, None])
    pseudo = _pseudo_weights(fit.method, eta_a)
    poisson = np.clip(1.0 - 1.0 / pseudo, 0.0, None)
    step = fit.calibration
    if step is None:
        return _Linearization(fit.weights, xa, xb, jac, a_factor, pb, np.exp(-eta_a), poisson)
    x = step.model.dense()
    gram = np.linalg.pinv(step.model.cross(step.pre_weights, step.model), hermitian=True)
    # w = d(θ)·γ: the derivative of the raked weights in η holds the raking factors γ fixed.
    odds = np.exp(-eta_a) * fit.weights / pseudo
    coef = gram @ (x * step.pre_weights[:, None]).T
    return _Linearization(fit.weights, xa, xb, jac, a_factor, pb, odds, poisson, x, coef)


def _part(lin: _Linearization, y: FloatArray) -> _Part:
    """Linearize the pseudo-weighted mean of ``y`` over its non-missing rows."""
    observed = ~np.isnan(y)
    yo = np.where(observed, y, 0.0)
    total = float(lin.w[observed].sum())
    if total <= 0:
        nan = np.full(lin.w.shape[0], np.nan)
        return _Part(float("nan"), nan, np.full(lin.xb.shape[0], np.nan))
    mu = float((lin.w * yo).sum() / total)
    resid = np.where(observed, yo - mu, 0.0)
    if lin.cal_x is not None and lin.cal_coef is not None:  # raked: the raking residual
        resid = resid - lin.cal_x @ (lin.cal_coef @ resid)
    c = np.linalg.solve(lin.jac, -(lin.xa.T @ (lin.odds * resid)))
    g = lin.w * resid - (lin.xa @ c) * lin.a_factor
    return _Part(mu, g / total, lin.pb * (lin.xb @ c) / total)


def _variances(lin: _Linearization, reference: SurveyDesign, parts: Sequence[_Part]) -> FloatArray:
    """CLW variances: Poisson term of the sample plus the kernel's variance of the reference."""
    out = np.empty(len(parts))
    every_row = np.arange(lin.xb.shape[0], dtype=np.intp)
    for start in range(0, len(parts), _CHUNK):
        chunk = parts[start : start + _CHUNK]
        influence = np.column_stack([p.reference for p in chunk])
        cov = influence_covariance(reference, every_row, influence, pairs=False)
        poisson = np.array([float((lin.poisson * p.sample * p.sample).sum()) for p in chunk])
        out[start : start + len(chunk)] = poisson + np.diag(cov)
    return out


def nonprob_means(
    fit: QuasiRandomization,
    sample: pd.DataFrame,
    reference: SurveyDesign,
    variables: Sequence[str],
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """Pseudo-weighted (Hájek) means of a non-probability sample with CLW's variance.

    Parameters
    ----------
    fit
        The result of :func:`pseudo_weights` on the same ``sample`` and ``reference``.
    sample, reference
        The non-probability sample and the reference design.
    variables
        Numeric outcome columns of ``sample`` (0/1 for proportions); a missing value leaves
        the row out of that variable's mean (and its linearization).
    level
        Confidence level of the normal-theory interval.

    Returns
    -------
    pandas.DataFrame
        One row per variable with :data:`ESTIMATE_COLUMNS`: the estimate, its standard error
        and interval, the unweighted mean, the respondents ``n``, Kish's effective ``n``, the
        method and how the variance was obtained.

    Notes
    -----
    The estimator is ``μ̂ = Σ_{S_A} wᵢ yᵢ / Σ_{S_A} wᵢ`` (CLW's ``μ̂_IPW2``). Jointly with
    ``U(θ) = Σ_{S_A} aᵢ − Σ_{S_B} dᵢ bᵢ`` (``a = x, b = πx`` for CLW; ``a = (1 − p)x,
    b = px`` for Valliant-Dever) it linearizes as
    ``N̂ (μ̂ − μ) ≈ Σ_{S_A} gᵢ + Σ_{S_B} dᵢ cᵀbᵢ`` with ``gᵢ = wᵢ(yᵢ − μ) − cᵀaᵢ``,
    ``c = J⁻¹h``, ``J = ∂U/∂θ`` and ``h = ∂/∂θ Σ_{S_A} wᵢ(yᵢ − μ) = −Σ_{S_A} e^{−ηᵢ}
    (yᵢ − μ)xᵢ``. The two samples are independent, so
    ``V̂(μ̂) = N̂⁻² [Σ_{S_A} (1 − π̂ᵢ) gᵢ² + V̂_p(Σ_{S_B} dᵢ cᵀbᵢ)]``: the first term treats
    ``S_A`` as a Poisson sample with probabilities ``π̂ᵢ``, the second is the design-based
    variance of a total of the reference sample, from the one variance kernel (strata, PSUs,
    calibration of the reference design included). For CLW this is the plug-in variance of
    their Theorem 2 for ``μ̂_IPW2`` (``c`` is their ``b₂``).

    After raking (``fit.raked``) the weights are ``wᵢ = dᵢ γᵢ``, the pseudo-weights ``dᵢ``
    times raking factors ``γᵢ`` that meet census totals ``T_z`` of the margins' indicator
    columns ``zᵢ``. The totals are fixed, so ``Σ wᵢ uᵢ = Σ wᵢ eᵢ + Bᵀ T_z`` varies only
    through the residual ``eᵢ = uᵢ − zᵢᵀB``, ``B = (Σ dᵢ zᵢ zᵢᵀ)⁺ Σ dᵢ zᵢ uᵢ``, of the score
    ``uᵢ = yᵢ − μ`` (zero off its rows): raking has the residual of linear calibration
    (Deville and Särndal 1992, Result 1). The linearization above is then applied to ``eᵢ``
    in place of ``yᵢ − μ``, with the raked weights: ``gᵢ = wᵢ eᵢ − cᵀaᵢ`` and
    ``h = −Σ_{S_A} γᵢ e^{−ηᵢ} eᵢ xᵢ`` (the raking factors held fixed), so the propensity's
    estimation still enters both terms. A domain mean or a gap is residualized whole, over
    every row, as R's ``svyby`` on a calibrated design does. An outcome that is a margin's
    category has ``e = 0``: its raked mean is the census share, with variance 0.

    References
    ----------
    .. [1] Chen, Y., Li, P. and Wu, C. (2020). Doubly robust inference with nonprobability
       survey samples. *JASA*, 115(532), 2011-2021, section 3 and Theorem 2.
    .. [2] Wu, C. (2022). Statistical inference with non-probability survey samples. *Survey
       Methodology*, 48(2), 283-311.
    .. [3] Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
       sampling. *JASA*, 87(418), 376-382.

    """
    check_level(level)
    n_a = len(sample)
    if fit.weights.shape[0] != n_a or fit._x_reference.shape[0] != len(reference.data):
        raise ValidationError(
            "The pseudo-weights do not belong to these samples",
            expected=f"{fit.weights.shape[0]} sample and {fit._x_reference.shape[0]} "
            "reference rows",
            found=f"{n_a} and {len(reference.data)} rows",
            hint="pass the same sample and reference design to pseudo_weights and nonprob_means",
        )
    lin = _linearization(fit, reference)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    rows: list[dict[str, Any]] = []
    parts: list[_Part] = []
    for variable in variables:
        y = _outcome(sample, variable)
        observed = ~np.isnan(y)
        part = _part(lin, y)
        parts.append(part)
        rows.append(
            {
                "variable": variable,
                "estimate": part.estimate,
                "unweighted": float(np.mean(y[observed])) if observed.any() else float("nan"),
                "n": int(observed.sum()),
                "n_eff": effective_sample_size(fit.weights[observed]) if observed.any() else 0.0,
                "method": fit.method + ("+raking" if fit.raked else ""),
            }
        )
    variance = "linearized (Chen-Li-Wu 2020)" + (
        " on the raking residuals (Deville-Särndal 1992)" if fit.raked else ""
    )
    if rows:
        for row, var in zip(rows, _variances(lin, reference, parts), strict=True):
            se = float(np.sqrt(max(var, 0.0)))
            row.update(
                se=se,
                ci_low=row["estimate"] - z * se,
                ci_high=row["estimate"] + z * se,
                variance=variance,
            )
    return pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS))


def _weighted_mean_sd(x: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Weighted means and reliability-weight standard deviations of the columns of ``x``."""
    total = w.sum()
    mean = (w @ x) / total
    denom = total - (w * w).sum() / total
    var = (w @ ((x - mean) ** 2)) / denom if denom > 0 else np.full(x.shape[1], np.nan)
    sd: FloatArray = np.sqrt(var)
    result: FloatArray = mean
    return result, sd


def balance_table(
    sample: pd.DataFrame,
    reference: SurveyDesign,
    covariates: Sequence[str],
    weights: FloatArray,
) -> pd.DataFrame:
    """Covariate balance of a sample against the reference, before and after weighting.

    Parameters
    ----------
    sample
        The non-probability sample.
    reference
        The reference design (its weights define the target distribution).
    covariates
        Numeric columns, or categorical ones expanded to one indicator per level.
    weights
        The sample's pseudo-weights.

    Returns
    -------
    pandas.DataFrame
        :data:`BALANCE_COLUMNS`, one row per numeric covariate or category level (``level``
        is empty for numeric covariates): the target's weighted mean and SD, the sample's
        unweighted and weighted means, and the absolute standardized mean differences.

    Notes
    -----
    ``ASMD = |x̄_sample − x̄_target| / s_target``, with the target's weighted standard
    deviation under reliability weights, ``s² = Σ dᵢ(xᵢ − x̄)² / (Σ d − Σ d²/Σ d)``: the
    definition of Meta's ``balance`` (``asmd(..., std_type="target")``). Values under 0.1
    are conventionally taken as balanced.

    References
    ----------
    .. [1] Austin, P. C. (2009). Balance diagnostics for comparing the distribution of
       baseline covariates between treatment groups in propensity-score matched samples.
       *Statistics in Medicine*, 28(25), 3083-3107.
    .. [2] Sarig, T., Galili, T. and Eilat, R. (2023). balance – a Python package for
       balancing biased data samples. arXiv:2307.06024.

    """
    cov = _covariates(sample, reference.data, covariates)
    w = np.asarray(weights, dtype=np.float64)
    target_mean, target_sd = _weighted_mean_sd(
        cov.balance_reference, np.asarray(reference.weights, dtype=np.float64)
    )
    before = cov.balance_sample.mean(axis=0)
    after = (w @ cov.balance_sample) / w.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        asmd_before = np.abs(before - target_mean) / target_sd
        asmd_after = np.abs(after - target_mean) / target_sd
    return pd.DataFrame(
        {
            "covariate": [c for c, _ in cov.balance_names],
            "level": [lv for _, lv in cov.balance_names],
            "target_mean": target_mean,
            "target_sd": target_sd,
            "sample_mean": before,
            "weighted_mean": after,
            "asmd_before": asmd_before,
            "asmd_after": asmd_after,
        },
        columns=list(BALANCE_COLUMNS),
    )


def weight_diagnostics(fit: QuasiRandomization, reference: SurveyDesign) -> pd.DataFrame:
    """One-row summary of the pseudo-weights: Kish deff, effective n, propensity range.

    Columns: ``method``, ``raked``, ``n_sample``, ``n_reference``, ``reference_total`` (sum
    of design weights), ``weight_total``, ``kish_deff``, ``n_eff``, ``weight_min``,
    ``weight_max`` (of the final weights), ``kish_deff_unraked`` (of the pseudo-weights
    before any raking), ``propensity_min``, ``propensity_median``, ``propensity_max`` (over
    the sample rows) and ``iterations``.
    """
    w, p = fit.weights, fit.propensity
    return pd.DataFrame(
        [
            {
                "method": fit.method,
                "raked": fit.raked,
                "n_sample": int(w.shape[0]),
                "n_reference": len(reference.data),
                "reference_total": float(np.sum(reference.weights)),
                "weight_total": float(w.sum()),
                "kish_deff": kish_deff(w),
                "n_eff": effective_sample_size(w),
                "weight_min": float(w.min()),
                "weight_max": float(w.max()),
                "kish_deff_unraked": kish_deff(1.0 / p),
                "propensity_min": float(p.min()),
                "propensity_median": float(np.median(p)),
                "propensity_max": float(p.max()),
                "iterations": fit.iterations,
            }
        ]
    )


DESIGN_UNCERTAINTY: tuple[str, ...] = (
    "se",
    "ci_low",
    "ci_high",
    "df",
    "deff",
    "p_value",
    "p_adjusted",
)
"""Table 1 columns that only a probability design (or the CLW linearization) can supply."""
PSEUDO_WEIGHT = "pseudo_weight"
"""The weight column of a non-probability wave's design (1 when it has no reference wave)."""


def without_design_uncertainty(table: pd.DataFrame) -> pd.DataFrame:
    """Blank every :data:`DESIGN_UNCERTAINTY` column of a Table 1 (a non-probability wave's)."""
    return table.assign(**{c: np.nan for c in DESIGN_UNCERTAINTY if c in table.columns})


def estimate_nonprobability_wave(
    sample: pd.DataFrame,
    indicators: IndicatorCatalogue,
    catalogue: Catalogue,
    *,
    survey: str,
    wave: str,
    reference: SurveyDesign | None = None,
    covariates: Sequence[str] = (),
    method: Method = "clw",
    weighting: WeightingConfig | None = None,
    targets: PopulationTargets | None = None,
    level: float = 0.95,
) -> tuple[pd.DataFrame, QuasiRandomization | None]:
    """Table 1 of a non-probability wave: point estimates, and CLW intervals where they exist.

    Parameters
    ----------
    sample
        The wave's harmonized responses.
    indicators, catalogue
        The indicator and variable catalogues.
    survey, wave
        Written in every row.
    reference
        The weighted design of the reference probability wave, or None: the estimates are then
        unweighted.
    covariates, method
        The propensity model (see :func:`pseudo_weights`); required with ``reference``.
    weighting, targets
        With a reference wave, the pseudo-weights are raked to these census margins
        (:func:`rake_pseudo_weights`, the wave's ``rake: true``) when ``weighting`` is given.
    level
        Confidence level of the CLW intervals.

    Returns
    -------
    tuple
        Table 1 (:func:`perception.indicators.compute_indicators` on the pseudo-weights, or on
        equal weights) with every column of :data:`DESIGN_UNCERTAINTY` blanked, then ``se``,
        ``ci_low`` and ``ci_high`` filled on every estimated row when there is a reference
        wave, from the CLW linearization of :func:`nonprob_means` (of the raking residuals
        after raking; a normal interval; for
        proportions clipped to [0, 1], and at p = 0 or 1, where the linearized SE is 0, the
        Korn-Graubard interval on the row count of
        :func:`perception.estimation.confidence_interval`; a domain's values are its own, NaN
        elsewhere, which is the linearization of a domain mean; a gap's is the difference of
        its two sides' linearizations); and the pseudo-weighting fit (None without a
        reference).

    Notes
    -----
    A design-based interval computed as if the poll were a probability sample would be
    wrong: it ignores self-selection. Only the CLW linearization, which rests on the
    assumption that participation depends on the covariates alone, supplies one.

    References
    ----------
    .. [1] Chen, Y., Li, P. and Wu, C. (2020). Doubly robust inference with nonprobability
       survey samples. *JASA*, 115(532), 2011-2021.
    .. [2] AAPOR Task Force on Non-Probability Sampling (2013). Report of the AAPOR Task Force
       on Non-Probability Sampling. *Journal of Survey Statistics and Methodology*, 1(2),
       90-143.
    .. [3] Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
       sampling. *JASA*, 87(418), 376-382.

    """
    fit = None
    weights = np.ones(len(sample))
    if reference is not None:
        fit = pseudo_weights(sample, reference, covariates, method=method)
        if weighting is not None:
            fit = rake_pseudo_weights(fit, sample, weighting, targets, wave=wave)
        weights = fit.weights
    data = sample.assign(**{PSEUDO_WEIGHT: weights})
    design = SurveyDesign(data, weights=PSEUDO_WEIGHT)
    table = compute_indicators(design, indicators, catalogue, survey=survey, wave=wave, level=level)
    table = without_design_uncertainty(table).reset_index(drop=True)
    if fit is None or reference is None:
        return table, None
    columns: dict[str, FloatArray] = {}
    for ind in indicators.indicators:
        answers = None if ind.type == "gap" else score_indicator(data, ind, catalogue)
        if answers is not None:
            for variant in VARIANTS:
                columns[f"{ind.id}.{variant}"] = answers.variant(variant)
    domains = catalogue.domain_columns
    by_id = {ind.id: ind for ind in indicators.indicators}
    gap_by = [ind.by for ind in indicators.indicators if ind.type == "gap" and ind.by]
    codes = {
        column: item_codes(data[column])
        for column in dict.fromkeys([*domains, *gap_by])
        if column in data.columns
    }
    indicator = table["indicator"].astype(str).to_numpy()
    variants = table["variant"].astype(str).to_numpy()
    sets = table["domain_set"].astype(str).to_numpy()
    cells = {c: table[c].astype("float64").to_numpy() for c in domains if c in table.columns}

    def source(position: int) -> str:
        """Name the score column a row averages (a gap: the indicator it compares)."""
        ind = by_id[indicator[position]]
        return f"{ind.of if ind.type == 'gap' else ind.id}.{variants[position]}"

    estimated = table["availability"].eq("estimated").to_numpy()
    wanted = np.array(
        [p for p in np.flatnonzero(estimated) if source(int(p)) in columns], dtype=np.intp
    )
    lin = _linearization(fit, reference)
    se, ci_low, ci_high = (table[c].to_numpy(dtype=np.float64, copy=True) for c in _CI)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    for start in range(0, wanted.size, _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        parts = []
        for position in chunk:
            mask = np.ones(len(data), dtype=np.bool_)
            for column in domain_set_columns(sets[position], domains):
                mask &= codes[column] == cells[column][position]
            values = columns[source(int(position))]
            ind = by_id[indicator[position]]
            if ind.type == "gap" and ind.by is not None:
                side_a = mask & (codes[ind.by] == ind.a)
                side_b = mask & (codes[ind.by] == ind.b)
                parts.append(
                    _part(lin, np.where(side_a, values, np.nan))
                    - _part(lin, np.where(side_b, values, np.nan))
                )
            else:
                parts.append(_part(lin, np.where(mask, values, np.nan)))
        half = z * np.sqrt(np.maximum(_variances(lin, reference, parts), 0.0))
        estimate = np.array([p.estimate for p in parts])
        se[chunk] = half / z
        ci_low[chunk], ci_high[chunk] = estimate - half, estimate + half
    proportion = table["type"].eq("proportion").to_numpy()
    rows = wanted[proportion[wanted]]
    low, high = confidence_interval(
        table["estimate"].to_numpy(dtype=np.float64)[rows],
        se[rows],
        np.full(rows.size, np.inf),
        table["n"].to_numpy(dtype=np.float64, na_value=np.nan)[rows],
        "proportion",
        "wald",
        level,
    )
    ci_low[rows], ci_high[rows] = np.maximum(low, 0.0), np.minimum(high, 1.0)
    table = table.assign(se=se, ci_low=ci_low, ci_high=ci_high)
    return table, fit
