"""Small-area estimation: the area-level Fay-Herriot model for domains with thin samples.

A district with 20-60 respondents has a direct (design-based) estimate too noisy to publish
alone. The Fay-Herriot model borrows strength from area covariates (census shares, an earlier
wave) through a linking regression, and each area's EBLUP is a precision-weighted compromise
between its direct estimate and the regression prediction. Areas without sample get the
regression (synthetic) prediction alone, marked as such. Every number it returns is
model-based, not design-based, and must be published as such.

:func:`fay_herriot` fits the model to arrays; :func:`small_area` takes the tidy direct
estimates (the ``estimate, se, n, n_eff`` columns of :func:`perception.estimate` or of
Table 1) and an area covariate frame, and returns one tidy row per area.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from perception.config import Catalogue, IndicatorCatalogue
from perception.errors import ConfigError, ModelError, ValidationError
from perception.estimation import check_level
from perception.tables import SMALL_AREAS, TABLES
from perception.variance import FloatArray
from perception.words import LANGS, say

__all__ = [
    "AREA_TABLE_COLUMNS",
    "SMALL_AREA_COLUMNS",
    "FayHerriotFit",
    "audit_small_areas",
    "fay_herriot",
    "indicator_small_areas",
    "load_area_covariates",
    "publish_small_areas",
    "small_area",
]

VarianceMethod = Literal["reml", "ml", "fh"]
Transform = Literal["none", "arcsin"]
Gvf = Literal["none", "unstable", "all"]
VARIANCE_METHODS: tuple[str, ...] = ("reml", "ml", "fh")
TRANSFORMS: tuple[str, ...] = ("none", "arcsin")
GVFS: tuple[str, ...] = ("none", "unstable", "all")

#: Columns of :func:`small_area`'s table after the area column, with their dtypes.
SMALL_AREA_COLUMNS: dict[str, str] = {
    "kind": "str",
    "n": "Int64",
    "direct": "float64",
    "direct_se": "float64",
    "sampling_variance": "float64",
    "variance_smoothed": "bool",
    "synthetic": "float64",
    "gamma": "float64",
    "estimate": "float64",
    "mse": "float64",
    "rmse": "float64",
    "cv": "float64",
    "ci_low": "float64",
    "ci_high": "float64",
    "sigma2_u": "float64",
    "method": "str",
}


@dataclass(frozen=True)
class FayHerriotFit:
    """A fitted Fay-Herriot model on the sampled areas (arrays in the order of ``y``).

    Attributes
    ----------
    beta, cov_beta
        Regression coefficients and ``(X'V⁻¹X)⁻¹`` at the estimated ``sigma2_u``.
    sigma2_u
        Variance of the area random effect (truncated at 0).
    method
        ``"reml"``, ``"ml"`` or ``"fh"``.
    iterations, converged, truncated
        Fisher-scoring iterations, whether the stopping rule was met, and whether the
        estimate was negative and set to 0.
    eblup, gamma, synthetic
        EBLUP ``x'β + γ (y − x'β)``, shrinkage factor ``γ = σ²_u / (σ²_u + ψ)``, and ``x'β``.
    g1, g2, g3, mse
        Prasad-Rao components and the second-order unbiased MSE estimate.
    var_sigma2_u
        Asymptotic variance of ``sigma2_u`` used by ``g3``.

    """

    beta: FloatArray
    cov_beta: FloatArray
    sigma2_u: float
    method: str
    iterations: int
    converged: bool
    truncated: bool
    eblup: FloatArray
    gamma: FloatArray
    synthetic: FloatArray
    g1: FloatArray
    g2: FloatArray
    g3: FloatArray
    mse: FloatArray
    var_sigma2_u: float

    def predict(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Synthetic prediction ``x'β`` for unsampled areas and its MSE ``σ²_u + x'Qx``."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        pred: FloatArray = x @ self.beta
        mse: FloatArray = self.sigma2_u + np.einsum("ij,jk,ik->i", x, self.cov_beta, x)
        return pred, mse


def _score_step(
    method: str, a: float, y: FloatArray, psi: FloatArray, x: FloatArray
) -> tuple[float, float]:
    """One Fisher-scoring step for ``sigma2_u``: the score and the expected information."""
    vi = 1.0 / (a + psi)
    xv = x * vi[:, None]
    q = np.linalg.inv(x.T @ xv)
    beta = q @ (xv.T @ y)
    resid = y - x @ beta
    m, p = x.shape
    if method == "fh":
        return float(np.sum(vi * resid**2) - (m - p)), float(np.sum(vi))
    py = vi * resid  # P y = V⁻¹ (y − Xβ̂)
    if method == "ml":
        return float(-0.5 * vi.sum() + 0.5 * py @ py), float(0.5 * np.sum(vi**2))
    proj = np.diag(vi) - xv @ q @ xv.T  # P = V⁻¹ − V⁻¹X (X'V⁻¹X)⁻¹ X'V⁻¹
    return float(-0.5 * np.trace(proj) + 0.5 * py @ py), float(0.5 * np.sum(proj * proj))


def fay_herriot(
    y: FloatArray,
    psi: FloatArray,
    x: FloatArray,
    *,
    method: VarianceMethod = "reml",
    tol: float = 1e-4,
    max_iter: int = 100,
) -> FayHerriotFit:
    r"""Fit the Fay-Herriot model and compute each area's EBLUP and Prasad-Rao MSE.

    The model is :math:`y_d = x_d'\beta + u_d + e_d` with :math:`u_d \sim N(0, \sigma^2_u)`
    and :math:`e_d \sim N(0, \psi_d)`, :math:`\psi_d` the known sampling variance of the
    direct estimate :math:`y_d`.

    Parameters
    ----------
    y, psi
        Direct estimates and their sampling variances (positive), one per sampled area.
    x
        ``m × p`` covariate matrix, intercept included, of full column rank.
    method
        ``"reml"`` (default), ``"ml"``, or ``"fh"`` (the Fay-Herriot moment estimator).
    tol, max_iter
        Stop when the relative change of :math:`\sigma^2_u` is at most ``tol``, or after
        ``max_iter`` steps (R ``sae::eblupFH``'s ``PRECISION = 1e-4``, ``MAXITER = 100``).

    Returns
    -------
    FayHerriotFit

    Raises
    ------
    ModelError
        When the iterations do not meet ``tol`` within ``max_iter``.

    Warns
    -----
    UserWarning
        When the estimate of :math:`\sigma^2_u` is negative and is set to 0: every area then
        gets its synthetic estimate (:math:`\gamma_d = 0`).

    Notes
    -----
    :math:`\sigma^2_u` is found by Fisher scoring from the median of :math:`\psi_d`, as
    ``sae::eblupFH`` does: for REML the score is
    :math:`-\tfrac12 \operatorname{tr} P + \tfrac12 y'P^2y` and the information
    :math:`\tfrac12 \operatorname{tr} P^2`, with
    :math:`P = V^{-1} - V^{-1}X(X'V^{-1}X)^{-1}X'V^{-1}`; for ML :math:`-\tfrac12\sum V_d^{-1}
    + \tfrac12 y'P^2y` and :math:`\tfrac12\sum V_d^{-2}`; for the moment method the
    equation :math:`\sum V_d^{-1}(y_d - x_d'\hat\beta)^2 = m - p` is solved with slope
    :math:`\sum V_d^{-1}`. A negative estimate is set to 0. If a step would make
    :math:`\sigma^2_u + \psi_d \le 0`, the estimate is 0.

    With :math:`\gamma_d = \sigma^2_u/(\sigma^2_u + \psi_d)` and :math:`B_d = 1 - \gamma_d`,
    the MSE is :math:`g_{1d} + g_{2d} + 2 g_{3d} - b\,B_d^2` (Prasad & Rao 1990; Datta &
    Lahiri 2000; Rao & Molina 2015, eq. 6.2.11), where :math:`g_{1d} = \gamma_d \psi_d`,
    :math:`g_{2d} = B_d^2 x_d'(X'V^{-1}X)^{-1}x_d`,
    :math:`g_{3d} = \psi_d^2 (\sigma^2_u + \psi_d)^{-3} \bar V(\hat\sigma^2_u)`, with
    :math:`\bar V = 2/\sum V_d^{-2}` for REML and ML and :math:`2m/(\sum V_d^{-1})^2` for the
    moment method; the bias :math:`b` of :math:`\hat\sigma^2_u` is 0 for REML,
    :math:`-\operatorname{tr}[(X'V^{-1}X)^{-1}X'V^{-2}X]/\sum V_d^{-2}` for ML and
    :math:`2(m\sum V_d^{-2} - (\sum V_d^{-1})^2)/(\sum V_d^{-1})^3` for the moment method
    (Datta, Rao & Smith 2005). These are ``sae::mseFH``'s formulas.

    References
    ----------
    .. [1] Fay, R. E. and Herriot, R. A. (1979). Estimates of income for small places: an
       application of James-Stein procedures to census data. JASA 74, 269-277.
    .. [2] Prasad, N. G. N. and Rao, J. N. K. (1990). The estimation of the mean squared error
       of small-area estimators. JASA 85, 163-171.
    .. [3] Datta, G. S. and Lahiri, P. (2000). A unified measure of uncertainty of estimated
       best linear unbiased predictors in small area estimation problems. Statistica Sinica
       10, 613-627.
    .. [4] Datta, G. S., Rao, J. N. K. and Smith, D. D. (2005). On measuring the variability
       of small area estimators under a basic area level model. Biometrika 92, 183-196.
    .. [5] Rao, J. N. K. and Molina, I. (2015). Small Area Estimation, 2nd ed., Wiley,
       chapter 6.

    """
    y = np.asarray(y, dtype=np.float64)
    psi = np.asarray(psi, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if method not in VARIANCE_METHODS:
        raise ConfigError(
            f"Unknown Fay-Herriot variance method {method!r}",
            expected=f"one of {', '.join(VARIANCE_METHODS)}",
            found=repr(method),
            hint="'reml' is the usual choice (sae::eblupFH's default)",
        )
    m = y.size
    a = float(np.median(psi))
    iterations, diff, floor = 0, tol + 1.0, -float(psi.min())
    while diff > tol and iterations < max_iter:
        iterations += 1
        score, info = _score_step(method, a, y, psi, x)
        new = a + score / info
        diff = abs(new - a) / abs(a) if a != 0.0 else abs(new - a)
        a = new
        if a <= floor:
            diff = 0.0
            break
    converged = diff <= tol
    if not converged:
        raise ModelError(
            f"The {method.upper()} estimate of the area variance did not converge",
            expected=f"a relative change of at most {tol:g} within {max_iter} iterations",
            found=f"a relative change of {diff:.3g} after {iterations} iterations",
            hint="raise max_iter, or use method='fh' (the moment estimator), which is sturdier",
        )
    truncated = a < 0.0
    if truncated:
        warnings.warn(
            f"The {method.upper()} estimate of the area variance sigma2_u is negative "
            f"({a:.4g}) and is set to 0: the covariates explain all between-area variation "
            "the direct estimates can show, and every area gets its synthetic estimate.",
            UserWarning,
            stacklevel=2,
        )
        a = 0.0
    vi = 1.0 / (a + psi)
    xv = x * vi[:, None]
    q: FloatArray = np.asarray(np.linalg.inv(x.T @ xv), dtype=np.float64)
    beta = q @ (xv.T @ y)
    synthetic = x @ beta
    gamma = a * vi
    b = psi * vi
    s1, s2 = float(vi.sum()), float(np.sum(vi**2))
    if method == "fh":
        var_a = 2.0 * m / s1**2
        bias = 2.0 * (m * s2 - s1**2) / s1**3
    else:
        var_a = 2.0 / s2
        bias = -float(np.trace(q @ (x.T @ (x * (vi**2)[:, None])))) / s2 if method == "ml" else 0.0
    g1 = gamma * psi
    g2 = b**2 * np.einsum("ij,jk,ik->i", x, q, x)
    g3 = psi**2 * vi**3 * var_a
    return FayHerriotFit(
        beta=beta,
        cov_beta=q,
        sigma2_u=a,
        method=method,
        iterations=iterations,
        converged=converged,
        truncated=truncated,
        eblup=synthetic + gamma * (y - synthetic),
        gamma=gamma,
        synthetic=synthetic,
        g1=g1,
        g2=g2,
        g3=g3,
        mse=g1 + g2 + 2.0 * g3 - bias * b**2,
        var_sigma2_u=var_a,
    )


def _gvf(
    psi: FloatArray, n: FloatArray, unstable: np.ndarray, *, area: str
) -> tuple[FloatArray, FloatArray]:
    """Fit ``log ψ = a + b log n`` on stable areas; return smoothed ψ for all and the fit."""
    stable = ~unstable & np.isfinite(psi) & (psi > 0) & (n > 0)
    if int(stable.sum()) < 3:
        raise ValidationError(
            "Too few areas with stable sampling variances to fit the variance function",
            expected="at least 3 areas with a positive variance and n >= gvf_min_n",
            found=f"{int(stable.sum())} such areas",
            hint="lower gvf_min_n, or merge the smallest areas",
            column=area,
        )
    design = np.column_stack([np.ones(int(stable.sum())), np.log(n[stable])])
    coef, *_ = np.linalg.lstsq(design, np.log(psi[stable]), rcond=None)
    resid = np.log(psi[stable]) - design @ coef
    smearing = float(np.mean(np.exp(resid)))
    with np.errstate(divide="ignore"):
        smoothed: FloatArray = smearing * np.exp(coef[0] + coef[1] * np.log(n))
    return smoothed, coef


def _covariate_matrix(
    auxiliary: pd.DataFrame, area: str, covariates: Sequence[str], file: str | None
) -> pd.DataFrame:
    """Check the covariate frame (columns, numeric, unique areas) and index it by area."""
    for column in [area, *covariates]:
        if column not in auxiliary.columns:
            raise ValidationError(
                f"The area covariates have no column {column!r}",
                expected=f"columns {[area, *covariates]}",
                found=f"columns {list(auxiliary.columns)[:20]}",
                hint="name the area column and every covariate as they are spelled in the file",
                file=file,
                column=column,
            )
    for column in covariates:
        if not pd.api.types.is_numeric_dtype(auxiliary[column]):
            raise ValidationError(
                f"The area covariate {column!r} is not numeric",
                expected="numbers (shares, rates, earlier-wave estimates)",
                found=f"dtype {auxiliary[column].dtype}",
                hint="code categorical covariates as 0/1 columns",
                file=file,
                column=column,
            )
    duplicated = auxiliary[area].duplicated(keep=False) | auxiliary[area].isna()
    if duplicated.any():
        raise ValidationError(
            f"The area covariates repeat or miss area codes in {area!r}",
            expected="one row per area, each with its code",
            found=f"{int(duplicated.sum())} rows with a repeated or missing code",
            hint="keep one row per area",
            file=file,
            column=area,
            rows=np.flatnonzero(duplicated.to_numpy()).tolist(),
        )
    return auxiliary.set_index(area)[list(covariates)].astype(np.float64)


def _check_rank(x: FloatArray, names: Sequence[str], file: str | None) -> None:
    """Raise a ModelError naming the first covariate that is a combination of earlier ones."""
    for k in range(1, x.shape[1] + 1):
        if np.linalg.matrix_rank(x[:, :k]) < k:
            column = names[k - 1]
            raise ModelError(
                f"The area covariate {column!r} is collinear with the intercept "
                "and the covariates before it",
                expected="covariates that are not linear combinations of each other",
                found=f"{column!r} adds no information on the sampled areas "
                f"(covariates {list(names[1:])})",
                hint=f"drop {column!r} (or the covariate it duplicates)",
                file=file,
                column=column,
            )


def small_area(
    estimates: pd.DataFrame,
    auxiliary: pd.DataFrame,
    method: Literal["fay_herriot"] = "fay_herriot",
    *,
    area: str,
    covariates: Sequence[str] | None = None,
    variance_method: VarianceMethod = "reml",
    transform: Transform = "none",
    gvf: Gvf = "none",
    gvf_min_n: int = 30,
    level: float = 0.95,
    tol: float = 1e-4,
    max_iter: int = 100,
    auxiliary_file: str | Path | None = None,
) -> pd.DataFrame:
    r"""Model-based estimates for every area from direct estimates and area covariates.

    Parameters
    ----------
    estimates
        Direct estimates, one row per sampled area, with the area column and ``estimate``,
        ``se``, ``n`` (and ``n_eff`` for ``transform="arcsin"``): the columns of
        :func:`perception.estimate` or of Table 1 filtered to one indicator and domain set.
        Rows with ``n == 0`` count as unsampled.
    auxiliary
        Area covariates, one row per area (sampled or not), with the area column.
    method
        ``"fay_herriot"``: the area-level model of :func:`fay_herriot`.
    area
        The area column (the same name in both frames).
    covariates
        Columns of ``auxiliary`` in the linking model (an intercept is always added);
        default every column but ``area``.
    variance_method
        ``"reml"``, ``"ml"`` or ``"fh"`` (see :func:`fay_herriot`).
    transform
        ``"arcsin"`` for proportions: the model is fitted to
        :math:`\theta_d = \arcsin\sqrt{\hat p_d}` with sampling variance
        :math:`1/(4 n_{\mathrm{eff},d})`, and estimates are back-transformed.
    gvf
        Generalized variance function smoothing of the sampling variances: ``"unstable"``
        replaces the variance of areas with ``n < gvf_min_n`` or a zero, missing or
        infinite variance by the smoothed one; ``"all"`` replaces every area's.
    gvf_min_n
        Areas with fewer respondents than this have unstable variances.
    level
        Confidence level of ``ci_low``/``ci_high``.
    tol, max_iter
        Fisher-scoring stopping rule (see :func:`fay_herriot`).
    auxiliary_file
        The file the covariates came from, for error messages.

    Returns
    -------
    pandas.DataFrame
        One row per area of ``auxiliary`` (and of ``estimates``): the area column, then
        :data:`SMALL_AREA_COLUMNS`. ``kind`` is ``"eblup"`` for sampled areas and
        ``"synthetic"`` for the others (``x'β`` with MSE :math:`\sigma^2_u + x'Qx`, where
        ``direct``, ``gamma`` and ``sampling_variance`` are missing). ``estimate``, ``mse``,
        ``rmse``, ``cv`` and the interval are on the scale of the direct estimates;
        ``sampling_variance``, ``synthetic`` and ``sigma2_u`` are on the model scale (the
        arcsine scale with ``transform="arcsin"``). ``attrs["perception.small_area"]`` holds
        the coefficients, their covariance, the iterations, the GVF coefficients and whether
        :math:`\sigma^2_u` was truncated at 0.

    Raises
    ------
    ValidationError
        Missing columns, a zero, negative or missing sampling variance (unless ``gvf``
        smooths it), an area with sample but no covariates, repeated areas, a proportion
        outside [0, 1].
    ModelError
        Collinear covariates, fewer sampled areas than parameters (coefficients plus
        :math:`\sigma^2_u`), or no convergence.

    Notes
    -----
    *Variance smoothing.* Direct variances of small areas are themselves noisy (an area
    whose respondents all answer alike has variance 0). The generalized variance function
    is the log-linear regression :math:`\log\psi_d = a + b\log n_d`, fitted by least squares
    on the stable areas and returned to the variance scale with Duan's (1983) smearing factor
    (the mean of the exponentiated residuals). With ``transform="arcsin"`` it smooths
    :math:`1/(4 n_{\mathrm{eff}})` (so an area with an estimate of 0 or 1, whose effective
    size is undefined, can be kept with ``gvf="unstable"``).

    *Arcsine transform.* :math:`\arcsin\sqrt{p}` stabilizes the variance of a proportion at
    :math:`1/(4n)`; a design effect enters through :math:`n_{\mathrm{eff}} = n/\mathrm{deff}`
    (Raghunathan et al. 2007; Casas-Cordero, Encina & Lahiri 2016). The EBLUP and the interval
    ends are back-transformed by :math:`\sin^2\theta` (clipped to :math:`[0, \pi/2]`) with no
    bias correction: this is the median, not the mean, of the model's predictive
    distribution on the proportion scale (the bias-corrected back-transformation of Hadam,
    Würz & Kreutzmann 2020, ``emdi::fh(backtransformation = "bc")``, is not implemented). The
    MSE is carried to the proportion scale by the delta method,
    :math:`\sin^2(2\hat\theta)\,\mathrm{MSE}_\theta`, which is poor near 0 and 1: prefer the
    interval there.

    References
    ----------
    .. [1] Fay, R. E. and Herriot, R. A. (1979). JASA 74, 269-277.
    .. [2] Prasad, N. G. N. and Rao, J. N. K. (1990). JASA 85, 163-171.
    .. [3] Datta, G. S. and Lahiri, P. (2000). Statistica Sinica 10, 613-627.
    .. [4] Rao, J. N. K. and Molina, I. (2015). Small Area Estimation, 2nd ed., Wiley,
       chapter 6.
    .. [5] Duan, N. (1983). Smearing estimate: a nonparametric retransformation method.
       JASA 78, 605-610.
    .. [6] Casas-Cordero, C., Encina, J. and Lahiri, P. (2016). Poverty mapping for the Chilean
       comunas. In Analysis of Poverty Data by Small Area Estimation, Wiley, 379-404.
    .. [7] Hadam, S., Würz, N. and Kreutzmann, A.-K. (2020). Estimating regional unemployment
       with mobile network data for Functional Urban Areas in Germany. FU Berlin
       Discussion Paper 2020/20.

    """
    file = None if auxiliary_file is None else str(auxiliary_file)
    if method != "fay_herriot":
        raise ConfigError(
            f"Unknown small-area method {method!r}",
            expected="'fay_herriot'",
            found=repr(method),
            hint="the area-level Fay-Herriot model is the one method available",
        )
    for name, option, allowed in (
        ("variance_method", variance_method, VARIANCE_METHODS),
        ("transform", transform, TRANSFORMS),
        ("gvf", gvf, GVFS),
    ):
        if option not in allowed:
            raise ConfigError(
                f"Unknown {name} {option!r}",
                expected=f"one of {', '.join(allowed)}",
                found=repr(option),
                hint=f"pass {name}={allowed[0]!r}",
            )
    check_level(level)
    needed = [area, "estimate", "se", "n"] + (["n_eff"] if transform == "arcsin" else [])
    for column in needed:
        if column not in estimates.columns:
            raise ValidationError(
                f"The direct estimates have no column {column!r}",
                expected=f"columns {needed}",
                found=f"columns {list(estimates.columns)[:20]}",
                hint="pass one indicator's rows of the estimates table for one domain set",
                column=column,
            )
    if covariates is None:
        covariates = [c for c in auxiliary.columns if c != area]
    aux = _covariate_matrix(auxiliary, area, covariates, file)

    codes = estimates[area]
    repeated = codes.duplicated(keep=False) | codes.isna()
    if repeated.any():
        raise ValidationError(
            f"The direct estimates repeat or miss area codes in {area!r}",
            expected="one row per area (one indicator, one domain set)",
            found=f"{int(repeated.sum())} rows with a repeated or missing code",
            hint="filter the estimates to one indicator, variant and domain set first",
            column=area,
            rows=np.flatnonzero(repeated.to_numpy()).tolist(),
        )
    n_all = pd.to_numeric(estimates["n"]).fillna(0).to_numpy(dtype=np.float64)
    sampled_rows = np.flatnonzero(n_all > 0)
    est = estimates.iloc[sampled_rows]
    direct = est["estimate"].to_numpy(dtype=np.float64, na_value=np.nan)
    direct_se = est["se"].to_numpy(dtype=np.float64, na_value=np.nan)
    n = n_all[sampled_rows]
    bad = ~np.isfinite(direct)
    if bad.any():
        raise ValidationError(
            "A sampled area has no direct estimate",
            expected="a finite estimate wherever n > 0",
            found=f"{int(bad.sum())} missing or infinite estimates",
            hint="set n to 0 for areas without a usable estimate (they get a synthetic one)",
            column="estimate",
            rows=sampled_rows[bad].tolist(),
        )
    if transform == "arcsin":
        outside = (direct < 0) | (direct > 1)
        if outside.any():
            raise ValidationError(
                "The arcsine transform needs proportions",
                expected="estimates between 0 and 1",
                found=f"{int(outside.sum())} estimates outside [0, 1]",
                hint="use transform='none' for means and scores",
                column="estimate",
                rows=sampled_rows[outside].tolist(),
            )
        n_eff = est["n_eff"].to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(divide="ignore"):
            psi = np.where(n_eff > 0, 1.0 / (4.0 * n_eff), np.nan)
        y = np.arcsin(np.sqrt(direct))
        psi_column = "n_eff"
    else:
        psi = direct_se**2
        y = direct
        psi_column = "se"

    unstable = ~np.isfinite(psi) | (psi <= 0) | (n < gvf_min_n)
    smoothed = np.zeros(n.size, dtype=np.bool_)
    gvf_coef: list[float] | None = None
    if gvf != "none":
        fitted, coef = _gvf(psi, n, unstable, area=area)
        smoothed = np.ones(n.size, dtype=np.bool_) if gvf == "all" else unstable
        psi = np.where(smoothed, fitted, psi)
        gvf_coef = [float(c) for c in coef]
    bad = ~np.isfinite(psi) | (psi <= 0) | (direct_se < 0)
    if bad.any():
        raise ValidationError(
            "Sampled areas have a zero, negative or missing sampling variance",
            expected=f"a positive, finite {psi_column} for every area with n > 0",
            found=f"{int(bad.sum())} areas, e.g. "
            f"{est[area].iloc[np.flatnonzero(bad)[:5]].tolist()}",
            hint="smooth them with gvf='unstable' (a generalized variance function), "
            "or set their n to 0 to give them a synthetic estimate",
            column=psi_column,
            rows=sampled_rows[bad].tolist(),
        )

    area_codes = est[area].tolist()
    absent = ~np.isin(np.asarray(area_codes, dtype=object), np.asarray(aux.index, dtype=object))
    if absent.any():
        raise ValidationError(
            "Sampled areas are not in the area covariates",
            expected=f"a row of covariates for every area with a direct estimate ({area!r})",
            found=f"{int(absent.sum())} areas without one, e.g. "
            f"{[area_codes[i] for i in np.flatnonzero(absent)[:5]]}",
            hint="add those areas to the covariate file (codes must match the domain codes)",
            file=file,
            column=area,
            rows=sampled_rows[absent].tolist(),
        )
    known = aux.loc[area_codes]
    for column in covariates:
        blank = known[column].isna().to_numpy()
        if blank.any():
            raise ValidationError(
                f"Sampled areas have no value of the covariate {column!r}",
                expected=f"a value of {column!r} for every area with a direct estimate",
                found=f"{int(blank.sum())} blank values, areas "
                f"{[area_codes[i] for i in np.flatnonzero(blank)[:5]]}",
                hint="fill the missing values in the covariate file, or drop the covariate",
                file=file,
                column=column,
                rows=sampled_rows[blank].tolist(),
            )
    x = np.column_stack([np.ones(len(area_codes)), known.to_numpy(dtype=np.float64)])
    names = ["(intercept)", *covariates]
    m, p = x.shape
    if m < p + 1:
        raise ModelError(
            "Too few sampled areas for the Fay-Herriot model",
            expected=f"at least {p + 1} sampled areas ({p} coefficients plus sigma2_u)",
            found=f"{m} sampled areas",
            hint="use fewer covariates, or a coarser area level",
            file=file,
            column=area,
        )
    _check_rank(x, names, file)
    fit = fay_herriot(y, psi, x, method=variance_method, tol=tol, max_iter=max_iter)

    others = aux.loc[~aux.index.isin(area_codes)]
    complete = others.notna().all(axis=1).to_numpy()
    if not complete.all():
        warnings.warn(
            f"{int((~complete).sum())} unsampled areas have missing covariates and get no "
            f"estimate: {others.index[~complete].tolist()[:10]}",
            UserWarning,
            stacklevel=2,
        )
    others = others.loc[complete]
    x_out = np.column_stack([np.ones(len(others)), others.to_numpy(dtype=np.float64)])
    synth_out, mse_out = fit.predict(x_out)

    theta = np.concatenate([fit.eblup, synth_out])
    mse_theta = np.concatenate([fit.mse, mse_out])
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    low, high = theta - z * np.sqrt(mse_theta), theta + z * np.sqrt(mse_theta)
    if transform == "arcsin":
        clip = np.clip(theta, 0.0, math.pi / 2.0)
        value = np.sin(clip) ** 2
        mse = np.sin(2.0 * clip) ** 2 * mse_theta
        low = np.sin(np.clip(low, 0.0, math.pi / 2.0)) ** 2
        high = np.sin(np.clip(high, 0.0, math.pi / 2.0)) ** 2
    else:
        value, mse = theta, mse_theta
    n_out = len(others)
    nan_out = np.full(n_out, np.nan)
    rmse = np.sqrt(mse)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where(value != 0, rmse / np.abs(value), np.nan)
    table = pd.DataFrame(
        {
            area: area_codes + others.index.tolist(),
            "kind": ["eblup"] * m + ["synthetic"] * n_out,
            "n": pd.array(np.concatenate([n, np.zeros(n_out)]).astype(np.int64), dtype="Int64"),
            "direct": np.concatenate([direct, nan_out]),
            "direct_se": np.concatenate([direct_se, nan_out]),
            "sampling_variance": np.concatenate([psi, nan_out]),
            "variance_smoothed": np.concatenate([smoothed, np.zeros(n_out, dtype=np.bool_)]),
            "synthetic": np.concatenate([fit.synthetic, synth_out]),
            "gamma": np.concatenate([fit.gamma, nan_out]),
            "estimate": value,
            "mse": mse,
            "rmse": rmse,
            "cv": cv,
            "ci_low": low,
            "ci_high": high,
            "sigma2_u": fit.sigma2_u,
            "method": f"fay_herriot_{variance_method}"
            + ("_arcsin" if transform == "arcsin" else ""),
        }
    )
    if pd.api.types.is_integer_dtype(estimates[area]) and pd.api.types.is_integer_dtype(
        auxiliary[area]
    ):
        table[area] = table[area].astype(estimates[area].dtype)
    table = table.astype({"kind": "str", "method": "str"})
    table.attrs["perception.small_area"] = {
        "method": "fay_herriot",
        "variance_method": variance_method,
        "transform": transform,
        "coefficients": dict(zip(names, (float(b) for b in fit.beta), strict=True)),
        "cov_beta": fit.cov_beta.tolist(),
        "sigma2_u": fit.sigma2_u,
        "truncated": fit.truncated,
        "iterations": fit.iterations,
        "gvf": gvf,
        "gvf_coefficients": gvf_coef,
        "n_sampled": m,
        "n_synthetic": n_out,
    }
    return table


# --------------------------------------------------------------------------- per-wave table

#: The small-area table's columns and dtypes (``perception.tables.SMALL_AREAS_TABLE``).
AREA_TABLE_COLUMNS: dict[str, str] = TABLES[SMALL_AREAS].dtypes()


def load_area_covariates(
    path: str | Path, level: str, catalogue: Catalogue, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read a CSV of area covariates and check it: codes of ``level``, numeric covariates.

    Returns the frame with the area column (``Int64`` codes) and the covariate columns; every
    problem is a ConfigError naming the file, the column and the rows.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(
            "The area covariate file does not exist",
            expected="a CSV file, relative to the project root",
            found=f"no file at {file}",
            hint=f"write one row per {level} with its code in a column named {level!r}",
            file=file,
        )
    try:
        frame = pd.read_csv(file)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(
            "The area covariate file cannot be read as CSV",
            expected="a comma-separated file with a header row",
            found=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            hint="save it as CSV (UTF-8, comma-separated)",
            file=file,
        ) from None
    wanted = list(columns) if columns is not None else [c for c in frame.columns if c != level]
    try:
        _covariate_matrix(frame, level, wanted, str(file))
    except ValidationError as error:  # the file is configuration: report it as such
        raise ConfigError(
            error.message,
            expected=error.expected,
            found=error.found,
            hint=error.hint,
            file=file,
            column=error.column,
            rows=error.rows,
        ) from None
    codes = pd.to_numeric(frame[level], errors="coerce")
    known = set(catalogue.codes(level))
    bad = codes.isna() | ~codes.isin(known) | (codes != codes.round())
    if bad.any():
        raise ConfigError(
            f"The area covariate file has codes that are not codes of {level!r}",
            expected=f"codes of {level} in config/variables.yaml: {sorted(known)}",
            found=f"{int(bad.sum())} rows, e.g. {frame.loc[bad, level].tolist()[:5]} "
            "(rows count from 0 after the header)",
            hint="use the harmonized codes of the catalogue, not names or source codes",
            file=file,
            column=level,
            rows=np.flatnonzero(bad.to_numpy()).tolist(),
        )
    out = frame[[level, *wanted]].copy()
    out[level] = codes.astype("Int64")
    return out


def indicator_small_areas(
    estimates: pd.DataFrame,
    indicators: IndicatorCatalogue,
    covariates: dict[str, pd.DataFrame],
    *,
    suppress_below: int,
    files: dict[str, Path] | None = None,
) -> pd.DataFrame:
    """Small-area estimates of every indicator that lists ``areas:``, from a wave's Table 1.

    Parameters
    ----------
    estimates
        A wave's indicator estimates (Table 1), with the area levels among its domain columns.
    indicators
        The indicator catalogue: ``areas:`` (levels and options) and each indicator's level.
    covariates
        Each area level's covariates (:func:`load_area_covariates`).
    suppress_below
        An area with fewer respondents is treated as unsampled: its direct estimate enters
        neither the model fit nor the table, and it gets the synthetic estimate. An EBLUP
        would give the hidden direct value back, as (EBLUP - (1 - gamma) x synthetic) / gamma.
        So is an area whose row is ``suppressed`` when the table is a published one.
    files
        Each level's covariate file, for error messages.

    Returns
    -------
    pandas.DataFrame
        :data:`AREA_TABLE_COLUMNS`: one row per indicator, variant and area, each described
        in ``basis_en``/``basis_fr`` as model-based (``small_area.*`` in ``words.yaml``).
        Proportions go through the arcsine transform unless the level's ``transform`` says
        otherwise.

    """
    parts: list[pd.DataFrame] = []
    for indicator in indicators.indicators:
        level = indicator.areas
        if level is None:
            continue
        settings = (indicators.areas or {})[level]
        rows = estimates[
            estimates["indicator"].eq(indicator.id)
            & estimates["domain_set"].eq(level)
            & estimates["availability"].ne("not_asked")
        ]
        transform: Transform = (
            ("arcsin" if indicator.type == "proportion" else "none")
            if settings.transform == "auto"
            else settings.transform
        )
        for variant, group in rows.groupby("variant", sort=False):
            publishable = group["n"].fillna(0).ge(suppress_below)
            if "suppressed" in group.columns:  # a published table: hidden areas are unsampled
                publishable &= ~group["suppressed"].astype(bool)
            direct = group.loc[publishable, [level, "estimate", "se", "n", "n_eff"]]
            table = small_area(
                direct,
                covariates[level],
                area=level,
                covariates=settings.columns,
                variance_method=settings.variance_method,
                transform=transform,
                gvf=settings.gvf,
                gvf_min_n=settings.gvf_min_n,
                auxiliary_file=None if files is None else files.get(level),
            )
            first = group.iloc[0]
            table = table.rename(columns={level: "area"})
            for column in ("survey", "wave", "indicator", "type", "unit"):
                table[column] = str(first[column])
            table["variant"] = str(variant)
            table["domain_set"] = level
            parts.append(table)
    if not parts:
        return _empty_table()
    out = pd.concat(parts, ignore_index=True)
    for lang in LANGS:
        out[f"basis_{lang}"] = out["kind"].map(lambda k, lang=lang: say(f"small_area.{k}", lang))
    return out[list(AREA_TABLE_COLUMNS)].astype(AREA_TABLE_COLUMNS)


def publish_small_areas(
    published: pd.DataFrame,
    indicators: IndicatorCatalogue,
    covariates: dict[str, pd.DataFrame],
    *,
    waves: Sequence[str],
    suppress_below: int,
    files: dict[str, Path] | None = None,
) -> pd.DataFrame:
    """Small-area estimates of each wave, refitted on the published (disclosure-controlled) Table 1.

    Parameters
    ----------
    published
        The published estimates (:func:`perception.reporting.publish_indicators`), every wave.
    indicators, covariates, suppress_below, files
        As :func:`indicator_small_areas`.
    waves
        The waves to model: probability waves (a non-probability poll has no design-based
        variance for the model to weigh its direct estimates by).

    Returns
    -------
    pandas.DataFrame
        :data:`AREA_TABLE_COLUMNS`, wave by wave. An area whose direct estimate is suppressed,
        for too few respondents or to protect another cell, counts as unsampled: the model
        never sees its direct value, so no published number (EBLUP, gamma, synthetic) can give
        it back, and it gets the synthetic estimate (``kind: synthetic``).

    """
    parts = [
        indicator_small_areas(
            published[published["wave"].eq(wave)],
            indicators,
            covariates,
            suppress_below=suppress_below,
            files=files,
        )
        for wave in waves
    ]
    return pd.concat(parts, ignore_index=True) if parts else _empty_table()


def _empty_table() -> pd.DataFrame:
    """Return an empty small-area table with the fixed columns."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in AREA_TABLE_COLUMNS.items()})


def audit_small_areas(table: pd.DataFrame, published: pd.DataFrame) -> list[str]:
    """Return the problems of a small-area table against the published estimates (none: []).

    Every direct value it shows must be a published, unsuppressed estimate of that wave,
    indicator, variant and area; an area whose estimate is suppressed must be synthetic.
    """
    keys = ["wave", "indicator", "variant", "domain_set", "area"]
    shown = [
        published.loc[
            published["domain_set"].eq(level) & ~published["suppressed"].astype(bool),
            ["wave", "indicator", "variant", "domain_set", "estimate"],
        ].assign(area=published[level].astype("Int64"))
        for level in table["domain_set"].unique()
    ]
    if not shown:
        return []
    merged = table.merge(
        pd.concat(shown, ignore_index=True).rename(columns={"estimate": "published"}),
        on=keys,
        how="left",
        indicator=True,
    )
    hidden = merged["_merge"].eq("left_only")
    direct = merged["direct"].to_numpy(dtype=np.float64, na_value=np.nan)
    value = merged["published"].to_numpy(dtype=np.float64, na_value=np.nan)
    leaks = hidden & (merged["kind"].ne("synthetic") | ~np.isnan(direct))
    differs = ~hidden & ~np.isnan(direct) & ~np.isclose(direct, value, rtol=1e-12, atol=0.0)
    where = merged[keys].astype(str).agg(" ".join, axis=1)
    return [f"{w}: a hidden or unpublished area is not synthetic" for w in where[leaks]] + [
        f"{w}: its direct value is not the published estimate" for w in where[differs]
    ]
