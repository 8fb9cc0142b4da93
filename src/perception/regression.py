"""Survey-weighted regression: GLM point estimates, design-based variance, Wald tests, AMEs.

The coefficients are statsmodels' GLM fitted with the design weights. Their variance is the
sandwich ``A⁻¹ V_U A⁻¹`` of R's ``svyglm``: each row's influence on the coefficients,
``A⁻¹ x_i (y_i − μ_i)`` (canonical links), goes to the one variance kernel
(:func:`perception.variance.stratified_variance`) exactly as the influence of a mean does, so
strata, PSUs, fpc, lonely-PSU rules and calibration are handled in one place. Average
marginal effects are linearized the same way, through the same kernel.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import patsy
from scipy import linalg, optimize, stats
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM

from perception.design import SurveyDesign
from perception.errors import ConfigError, ModelError
from perception.estimation import check_level
from perception.tables import TESTED
from perception.variance import FloatArray, IntArray, stratified_variance
from perception.weighting.calibration import greg_coefficients

Family = Literal["gaussian", "binomial", "poisson"]
FAMILIES: tuple[str, ...] = ("gaussian", "binomial", "poisson")
COEFFICIENT_COLUMNS: tuple[str, ...] = (
    "coefficient",
    "term",
    "level",
    "estimate",
    "se",
    "t",
    "df",
    "p_value",
    "ci_low",
    "ci_high",
)
AME_COLUMNS: tuple[str, ...] = ("variable", "level", "reference", *TESTED, "unit")
_RATIO_NAME = {"binomial": "odds_ratio", "poisson": "rate_ratio"}
_ALIAS_TOL = 1e-7
"""Relative size of a pivoted-QR diagonal below which a model column is aliased (R's qr)."""
_FORMULA_FUNCTIONS = frozenset({"C", "Q", "I", "np", "center", "standardize", "scale"})
_LEVEL = re.compile(r"\[T\.(.*)\]$")


@dataclass(frozen=True)
class WaldTest:
    """A Wald test that several coefficients are zero (R's ``regTermTest``).

    Attributes
    ----------
    terms
        The model terms tested.
    statistic
        ``F = χ²/q`` on ``(q, df_den)`` degrees of freedom, or ``χ²`` when ``df_den`` is
        infinite.
    chisq
        The Wald statistic ``βᵀ V⁻¹ β``.
    df_num, df_den
        Number of coefficients tested, and the denominator df (``inf`` for a χ² test).
    p_value
        Upper-tail probability of ``statistic``.
    test
        ``"F"`` or ``"chisq"``.

    """

    terms: tuple[str, ...]
    statistic: float
    chisq: float
    df_num: int
    df_den: float
    p_value: float
    test: str


@dataclass(frozen=True)
class Regression:
    """A fitted survey-weighted GLM with design-based standard errors.

    Attributes
    ----------
    formula, family
        The model as given.
    coefficients
        One row per coefficient: ``coefficient`` (model column name), ``term``, ``level``
        (the factor level, or empty), ``estimate``, ``se``, ``t``, ``df``, ``p_value``,
        ``ci_low``, ``ci_high``; for ``binomial`` also ``odds_ratio``, ``odds_ratio_ci_low``,
        ``odds_ratio_ci_high`` (``rate_ratio…`` for ``poisson``).
    covariance
        Design-based covariance matrix of the coefficients.
    df_residual
        ``design_df + 1 − p`` (R's ``svyglm`` ``df.residual``), the t tests' df.
    design_df
        PSUs minus strata among the rows in the fit (R's ``degf`` of the design the model is
        fitted on).
    n, n_weighted
        Rows in the fit and their weight.
    level
        Confidence level of the intervals.

    """

    formula: str
    family: str
    coefficients: pd.DataFrame
    covariance: pd.DataFrame
    df_residual: int
    design_df: int
    n: int
    n_weighted: float
    level: float
    _fit: _Fit = field(repr=False)

    @property
    def rows(self) -> IntArray:
        """Positions (in the design's data) of the rows in the fit."""
        return self._fit.used

    def wald_test(self, terms: Sequence[str], df: float | None = None) -> WaldTest:
        """Wald test that every coefficient of ``terms`` is zero (see :func:`wald_test`)."""
        return wald_test(self, terms, df)

    def marginal_effects(self, variables: Sequence[str] | None = None) -> pd.DataFrame:
        """Average marginal effects (see :func:`marginal_effects`)."""
        return marginal_effects(self, variables)


@dataclass(frozen=True)
class _Fit:
    """What the variance, tests and marginal effects need from a fit."""

    design: SurveyDesign
    used: IntArray
    data: pd.DataFrame
    x: FloatArray
    y: FloatArray
    w: FloatArray
    beta: FloatArray
    mu: FloatArray
    influence: FloatArray
    design_info: Any
    rhs_columns: tuple[str, ...]
    rows_total: int


# ---------------------------------------------------------------------------------- variance


def influence_covariance(
    design: SurveyDesign, rows: IntArray, influence: FloatArray, *, pairs: bool = True
) -> FloatArray:
    """Design-based covariance of estimators linearized as ``Σ_i w_i u_i`` over ``rows``.

    Parameters
    ----------
    design
        The survey design (calibrated or not).
    rows
        Positions of the rows with a non-zero influence; every other row has ``u_i = 0``
        (domains and missing values are zero-filled, never dropped from the design).
    influence
        ``u_i`` for those rows, shape ``(len(rows), k)``.
    pairs
        False to compute the variances only (the off-diagonal entries are then 0).

    Returns
    -------
    numpy.ndarray
        The ``(k, k)`` covariance matrix.

    Notes
    -----
    PSU totals of ``w·u`` go to :func:`perception.variance.stratified_variance`. Variances of
    the columns come from one call; covariances from the variances of sums of
    standardized columns, ``Cov(a, b) = s_a s_b (V(a/s_a + b/s_b) − 2) / 2``, in a second
    call, since the kernel returns variances. On a calibrated design each column is
    residualized on every calibration model (weighted by the pre-calibration weights), as
    the means in :mod:`perception.estimation` are.

    References
    ----------
    .. [1] Binder, D. A. (1983). On the variances of asymptotically normal estimators from
       complex surveys. *International Statistical Review*, 51(3), 279-292.
    .. [2] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, Wiley, ch. 5.

    """
    k = influence.shape[1]
    n_psus, layout = design.n_psus, design.layout
    weighted = design.weights[rows, None] * influence
    totals = np.zeros((n_psus, k))
    np.add.at(totals, design.psu_index[rows], weighted)
    terms = design.greg_terms()
    beta: FloatArray | None = None
    if terms is not None:
        moments = []
        group = np.zeros(rows.size, dtype=np.intp)
        for step in design.calibration:
            pre = step.pre_weights[rows]
            moments.append(
                np.vstack(
                    [
                        step.model.grouped_sums(pre * influence[:, j], group, 1, rows=rows)[0]
                        for j in range(k)
                    ]
                )
            )
        beta = greg_coefficients(terms, moments)
    aux = None if terms is None else terms.aux

    def variances(values: FloatArray, coefs: FloatArray | None) -> FloatArray:
        """Kernel variance of each column of a ``(P, D)`` matrix of PSU totals."""
        n_domains = values.shape[1]
        return stratified_variance(
            np.repeat(np.arange(n_domains, dtype=np.intp), n_psus),
            np.tile(np.arange(n_psus, dtype=np.intp), n_domains),
            values.T.ravel(),
            n_domains,
            layout,
            aux,
            coefs,
        )

    var = variances(totals, beta)
    scale = np.where(var > 0, np.sqrt(var), 1.0)
    cov = np.diag(var)
    a, b = np.triu_indices(k, 1)
    if a.size and pairs:
        pair_totals = totals[:, a] / scale[a] + totals[:, b] / scale[b]
        pair_beta = None if beta is None else beta[a] / scale[a, None] + beta[b] / scale[b, None]
        pair_var = variances(pair_totals, pair_beta)
        base = np.where(var[a] > 0, 1.0, 0.0) + np.where(var[b] > 0, 1.0, 0.0)
        off = (pair_var - base) / 2.0 * scale[a] * scale[b]
        cov[a, b] = off
        cov[b, a] = off
    result: FloatArray = cov
    return result


# ---------------------------------------------------------------------------------- formula


def _formula_columns(formula: str) -> tuple[list[str], list[str]]:
    """Return the data columns named on each side of a patsy formula (Q("…") included)."""
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise ModelError(
            "The model formula cannot be parsed",
            expected="a formula such as 'included ~ gender + age_band + C(region)'",
            found=f"{formula!r}: {exc}",
            hint="write the outcome, '~', and predictors joined by '+'",
        ) from None

    def names(termlist: Sequence[Any]) -> list[str]:
        found: list[str] = []
        for term in termlist:
            for factor in term.factors:
                found.extend(_code_names(factor.code))
        return list(dict.fromkeys(found))

    return names(desc.lhs_termlist), names(desc.rhs_termlist)


def _code_names(code: str) -> list[str]:
    """Variable names a factor's Python code reads (not functions or modules)."""
    tree = ast.parse(code, mode="eval")
    skip: set[int] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            skip.add(id(node.func))
            if isinstance(node.func, ast.Name) and node.func.id == "Q":
                found.extend(
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                )
        elif isinstance(node, ast.Attribute):
            skip.add(id(node.value))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name)
            and id(node) not in skip
            and node.id not in _FORMULA_FUNCTIONS
        ):
            found.append(node.id)
    return found


def _check_formula_columns(design: SurveyDesign, formula: str) -> tuple[list[str], list[str]]:
    """Raise a ModelError naming a formula variable that is not a column of the data."""
    lhs, rhs = _formula_columns(formula)
    if not lhs:
        raise ModelError(
            "The model formula has no outcome",
            expected="'outcome ~ predictors'",
            found=repr(formula),
            hint="put the outcome column left of '~'",
        )
    columns = [str(c) for c in design.data.columns]
    for name in [*lhs, *rhs]:
        if name not in design.data.columns:
            close = difflib.get_close_matches(name, columns, n=3)
            raise ModelError(
                f"The formula names {name!r}, which is not a column of the data",
                expected="every variable in the formula to be a column of the design's data",
                found=f"no column {name!r}"
                + (f"; close: {', '.join(close)}" if close else f"; columns {columns[:20]}"),
                hint="fix the spelling, or wrap a name with dots or spaces as Q('name')",
                column=name,
            )
    return lhs, rhs


def _domain_mask(design: SurveyDesign, domain: Mapping[str, Hashable] | None) -> np.ndarray:
    """Rows inside the domain ``{column: value}`` (every row without a domain)."""
    mask = np.ones(design.n_rows, dtype=np.bool_)
    for column, value in (domain or {}).items():
        if column not in design.data.columns:
            raise ModelError(
                f"The domain column {column!r} is not in the data",
                expected=f"a column named {column!r}",
                found=f"columns {list(design.data.columns)[:20]}",
                hint="domain= maps a column to the value that selects the domain",
                column=column,
            )
        mask &= (design.data[column] == value).fillna(False).to_numpy(dtype=np.bool_)
    if not mask.any():
        raise ModelError(
            "The domain has no respondents",
            expected="at least one row inside the domain",
            found=f"no row with {dict(domain or {})}",
            hint="check the domain values (1 is not '1')",
            column=", ".join(domain or {}),
        )
    return mask


def _positions(mask: np.ndarray) -> list[int]:
    """Row positions where ``mask`` is true (at most the first 50)."""
    return [int(i) for i in np.flatnonzero(mask)[:50]]


# ---------------------------------------------------------------------------------- checks


def _check_outcome(y: FloatArray, family: str, name: str, rows: IntArray) -> None:
    """Reject an outcome the family cannot model."""
    if family == "binomial":
        bad = (y != 0.0) & (y != 1.0)
        expected, hint = "0 or 1 (or True/False)", "recode the outcome into a 0/1 indicator"
    elif family == "poisson":
        bad = y < 0
        expected, hint = "counts ≥ 0", "use family='gaussian' for an outcome that can be negative"
    else:
        return
    if bad.any():
        raise ModelError(
            f"The outcome {name!r} does not suit family={family!r}",
            expected=expected,
            found=f"{int(bad.sum())} other values, e.g. {np.unique(y[bad])[:5].tolist()}",
            hint=hint,
            column=name,
            rows=[int(r) for r in rows[bad][:50]],
        )


def _check_rank(x: FloatArray, names: list[str]) -> None:
    """Raise a ModelError naming the model columns that are linear combinations of others."""
    norms = np.sqrt((x * x).sum(axis=0))
    empty = [names[int(j)] for j in np.flatnonzero(norms == 0)]
    scaled = x / np.where(norms > 0, norms, 1.0)
    _, r, pivot = linalg.qr(scaled, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int((diag > _ALIAS_TOL * diag[0]).sum()) if diag.size else 0
    if rank < x.shape[1]:
        aliased = list(dict.fromkeys([*empty, *(names[int(j)] for j in pivot[rank:])]))
        raise ModelError(
            "The model is collinear: some coefficients cannot be estimated",
            expected="model columns that are not linear combinations of each other",
            found=f"{len(aliased)} aliased column(s): {', '.join(aliased[:10])}"
            + (" (some never occur in the rows fitted)" if empty else ""),
            hint="drop one of the redundant predictors, or merge levels that coincide with "
            "another variable (e.g. a region that is entirely urban)",
            column=", ".join(aliased[:10]),
        )


def _check_separation(
    x: FloatArray, y: FloatArray, family: str, names: list[str], rows: IntArray
) -> None:
    """Raise a ModelError when the maximum-likelihood estimate does not exist (separation).

    A direction ``d`` with ``s_i x_iᵀd ≥ 0`` for every row (``s = 2y − 1``), strictly for
    some, makes the logistic likelihood increase forever; for a Poisson model ``x_iᵀd ≤ 0``
    where ``y = 0`` and ``= 0`` where ``y > 0``. A linear program finds such a ``d``
    (Konis 2007).
    """
    if family == "gaussian":
        return
    scale = np.abs(x).max(axis=0)
    xs = x / np.where(scale > 0, scale, 1.0)
    p = xs.shape[1]
    if family == "binomial":
        signed = xs * (2.0 * y - 1.0)[:, None]
        res = optimize.linprog(
            -signed.sum(axis=0),
            A_ub=-signed,
            b_ub=np.zeros(len(y)),
            bounds=[(-1.0, 1.0)] * p,
            method="highs",
        )
        margin = signed @ res.x if res.status == 0 else np.zeros(len(y))
    else:
        zero = y == 0
        if not zero.any():
            return
        res = optimize.linprog(
            xs[zero].sum(axis=0),
            A_ub=xs[zero],
            b_ub=np.zeros(int(zero.sum())),
            A_eq=xs[~zero] if (~zero).any() else None,
            b_eq=np.zeros(int((~zero).sum())) if (~zero).any() else None,
            bounds=[(-1.0, 1.0)] * p,
            method="highs",
        )
        margin = np.zeros(len(y))
        if res.status == 0:
            margin[zero] = -(xs[zero] @ res.x)
    separated = margin > 1e-7
    if separated.any():
        direction = res.x
        involved = [names[int(j)] for j in np.flatnonzero(np.abs(direction) > 1e-7)]
        what = (
            "every respondent in these rows has the same outcome"
            if family == "binomial"
            else ("the outcome is 0 in every one of these rows")
        )
        raise ModelError(
            "The model is perfectly separated: some coefficients are infinite",
            expected="outcomes that vary within every predictor pattern the model can isolate",
            found=f"{int(separated.sum())} rows fitted exactly ({what}); "
            f"columns involved: {', '.join(involved[:10])}",
            hint="merge the level with a neighbouring one, drop the predictor, or report the "
            "group's estimate directly instead of a regression coefficient",
            column=", ".join(involved[:10]),
            rows=[int(r) for r in rows[separated][:50]],
        )


# ---------------------------------------------------------------------------------- fit


def _family(family: str) -> Any:
    """Return the statsmodels family with its canonical link."""
    if family == "binomial":
        return families.Binomial()
    if family == "poisson":
        return families.Poisson()
    return families.Gaussian()


def _mu_derivatives(family: str, eta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``μ``, ``dμ/dη`` and ``d²μ/dη²`` of the family's canonical inverse link."""
    if family == "binomial":
        mu = 1.0 / (1.0 + np.exp(-eta))
        d1 = mu * (1.0 - mu)
        return mu, d1, d1 * (1.0 - 2.0 * mu)
    if family == "poisson":
        mu = np.exp(eta)
        return mu, mu, mu
    return eta, np.ones_like(eta), np.zeros_like(eta)


def regress(
    design: SurveyDesign,
    formula: str,
    family: Family = "gaussian",
    domain: Mapping[str, Hashable] | None = None,
    level: float = 0.95,
) -> Regression:
    """Fit a survey-weighted generalized linear model with design-based standard errors.

    Parameters
    ----------
    design
        The survey design (strata, PSUs, fpc, calibration).
    formula
        A patsy formula, e.g. ``"included ~ gender + age_band + C(region)"``. Text columns
        are factors with their first sorted level as reference; wrap numeric codes in
        ``C()``.
    family
        ``"gaussian"`` (identity link), ``"binomial"`` (logit) or ``"poisson"`` (log).
    domain
        ``{column: value}``: fit in that domain only; the rest of the design still counts in
        the variance (R's ``svyglm`` on ``subset(design, …)``).
    level
        Confidence level of the intervals.

    Returns
    -------
    Regression
        Coefficients with SE, t, p-value and Student-t interval on ``df_residual``, odds
        ratios (binomial) or rate ratios (poisson), and the covariance matrix.

    Raises
    ------
    ModelError
        Unknown column, an outcome the family cannot model, a collinear or perfectly
        separated model, or a model with no residual degrees of freedom.

    Notes
    -----
    Rows with a missing value in any model variable are left out of the fit (R's
    ``na.omit``) but stay in the design with a zero score. The coefficients solve the
    weighted score equations ``Σ w_i x_i (y_i − μ_i) = 0`` (statsmodels' IRLS with
    ``var_weights``). With ``A = Σ w_i v(μ_i) x_i x_iᵀ`` the influence of row ``i`` is
    ``u_i = A⁻¹ x_i (y_i − μ_i)`` and ``Var(β̂)`` is the design variance of ``Σ w_i u_i``
    (Binder 1983), computed by :func:`influence_covariance`. ``df_residual`` is
    ``design_df + 1 − p``, where ``design_df`` counts PSUs and strata holding a fitted row,
    as R's ``svyglm`` does; p-values and intervals use Student t on it.

    References
    ----------
    .. [1] Binder, D. A. (1983). On the variances of asymptotically normal estimators from
       complex surveys. *International Statistical Review*, 51(3), 279-292.
    .. [2] Lumley, T. and Scott, A. (2017). Fitting regression models to survey data.
       *Statistical Science*, 32(2), 265-278.
    .. [3] Konis, K. (2007). *Linear programming algorithms for detecting separated data in
       binary logistic regression models*. DPhil thesis, University of Oxford.

    """
    if family not in FAMILIES:
        raise ConfigError(
            f"Unknown model family {family!r}",
            expected=f"one of {', '.join(FAMILIES)}",
            found=repr(family),
            hint="use 'binomial' for a 0/1 outcome (logistic regression)",
        )
    check_level(level)
    lhs, rhs = _check_formula_columns(design, formula)
    inside = _domain_mask(design, domain)
    complete = design.data[list(dict.fromkeys([*lhs, *rhs]))].notna().all(axis=1).to_numpy()
    used = np.flatnonzero(inside & complete).astype(np.intp)
    if used.size == 0:
        raise ModelError(
            "No row has every model variable",
            expected="rows without missing values in the formula's variables",
            found=f"{int(inside.sum())} rows in the domain, all with a missing value",
            hint="check the variables for missing codes, or drop a sparse predictor",
            column=", ".join([*lhs, *rhs]),
        )
    data = design.data.iloc[used]
    for column in [*lhs, *rhs]:
        if isinstance(data[column].dtype, pd.CategoricalDtype):
            data = data.assign(**{column: data[column].cat.remove_unused_categories()})
    env = patsy.EvalEnvironment([{"np": np}])
    try:
        y_frame, x_frame = patsy.dmatrices(formula, data, eval_env=env, return_type="dataframe")
    except patsy.PatsyError as exc:
        raise ModelError(
            "The model formula cannot be evaluated on the data",
            expected="a formula patsy can build a model matrix from",
            found=f"{formula!r}: {exc}",
            hint="check the functions and transformations used in the formula",
        ) from None
    if y_frame.shape[1] != 1:
        raise ModelError(
            "The outcome is not a single numeric column",
            expected="a numeric outcome (0/1 for binomial)",
            found=f"{y_frame.shape[1]} outcome columns: {list(y_frame.columns)[:5]}",
            hint="recode a text outcome into a 0/1 indicator before fitting",
            column=lhs[0],
        )
    names = [str(c) for c in x_frame.columns]
    x = x_frame.to_numpy(dtype=np.float64)
    y = y_frame.to_numpy(dtype=np.float64)[:, 0]
    w = design.weights[used]
    _check_outcome(y, family, lhs[0], used)
    _check_rank(x, names)
    _check_separation(x, y, family, names, used)
    layout = design.layout
    psus = np.unique(design.psu_index[used])
    design_df = int(psus.size - np.unique(layout.psu_stratum[psus]).size)
    p = x.shape[1]
    df_residual = design_df + 1 - p
    if df_residual <= 0:
        raise ModelError(
            "The model has no residual degrees of freedom",
            expected=f"fewer coefficients ({p}) than design df + 1 ({design_df + 1})",
            found=f"{p} coefficients, {psus.size} PSUs in "
            f"{np.unique(layout.psu_stratum[psus]).size} strata: df.residual = {df_residual}",
            hint="use fewer predictors or merge levels; with few PSUs a design cannot support "
            "many coefficients",
        )

    model = GLM(y, x, family=_family(family), var_weights=w / w.mean())
    result = model.fit(tol=1e-12, maxiter=200)
    if not getattr(result, "converged", True):
        raise ModelError(
            "The model did not converge",
            expected="IRLS convergence within 200 iterations",
            found=f"no convergence for {formula!r}",
            hint="check for near-separation (a level with almost all 0 or all 1 outcomes)",
        )
    beta = np.asarray(result.params, dtype=np.float64)
    mu, d1, _ = _mu_derivatives(family, x @ beta)
    a = x.T @ (x * (w * d1)[:, None])
    a_inv = np.linalg.inv(a)
    influence = (x * (y - mu)[:, None]) @ a_inv
    cov = influence_covariance(design, used, influence)
    se = np.sqrt(np.diag(cov))
    t_quant = float(stats.t.ppf(1.0 - (1.0 - level) / 2.0, df_residual))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_value = beta / se
    table = pd.DataFrame(
        {
            "coefficient": names,
            "term": _term_of_columns(x_frame.design_info, names),
            "level": [_level_of(n) for n in names],
            "estimate": beta,
            "se": se,
            "t": t_value,
            "df": float(df_residual),
            "p_value": 2.0 * stats.t.sf(np.abs(t_value), df_residual),
            "ci_low": beta - t_quant * se,
            "ci_high": beta + t_quant * se,
        }
    )
    if family in _RATIO_NAME:
        ratio = _RATIO_NAME[family]
        table[ratio] = np.exp(table["estimate"])
        table[f"{ratio}_ci_low"] = np.exp(table["ci_low"])
        table[f"{ratio}_ci_high"] = np.exp(table["ci_high"])
    fit = _Fit(
        design=design,
        used=used,
        data=data,
        x=x,
        y=y,
        w=w,
        beta=beta,
        mu=mu,
        influence=influence,
        design_info=x_frame.design_info,
        rhs_columns=tuple(rhs),
        rows_total=design.n_rows,
    )
    return Regression(
        formula=formula,
        family=family,
        coefficients=table,
        covariance=pd.DataFrame(cov, index=names, columns=names),
        df_residual=df_residual,
        design_df=design_df,
        n=int(used.size),
        n_weighted=float(w.sum()),
        level=level,
        _fit=fit,
    )


def _term_of_columns(design_info: Any, names: Sequence[str]) -> list[str]:
    """Return the formula term each model column belongs to."""
    term = [""] * len(names)
    for name, span in design_info.term_name_slices.items():
        for j in range(span.start, span.stop):
            term[j] = name
    return term


def _level_of(name: str) -> str:
    """Return the factor level in a treatment-coded column name (``stype[T.H]`` → ``H``)."""
    match = _LEVEL.search(name)
    return match.group(1) if match else ""


# ---------------------------------------------------------------------------------- tests


def wald_test(model: Regression, terms: Sequence[str], df: float | None = None) -> WaldTest:
    """Wald test that all coefficients of several model terms are zero (R's ``regTermTest``).

    Parameters
    ----------
    model
        A fitted :class:`Regression`.
    terms
        Term names as in ``model.coefficients["term"]``, e.g. ``["region"]`` or
        ``["ell", "meals"]``.
    df
        Denominator degrees of freedom; ``None`` uses ``model.df_residual`` (R's default),
        ``float("inf")`` gives the χ² test.

    Returns
    -------
    WaldTest
        ``χ² = β̂ᵀ V̂⁻¹ β̂`` over the ``q`` coefficients, and ``F = χ²/q`` with its p-value on
        ``(q, df)``, or the χ² p-value on ``q`` df when ``df`` is infinite.

    References
    ----------
    .. [1] Korn, E. L. and Graubard, B. I. (1990). Simultaneous testing of regression
       coefficients with complex survey data: use of Bonferroni t statistics. *The American
       Statistician*, 44(4), 270-276.
    .. [2] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, Wiley,
       section 5.2.

    """
    table = model.coefficients
    known = list(dict.fromkeys(table["term"]))
    if not terms:
        raise ModelError(
            "No terms to test",
            expected="at least one model term",
            found="an empty list",
            hint=f"pick terms among {known}",
        )
    for term in terms:
        if term not in known:
            raise ModelError(
                f"The model has no term {term!r}",
                expected=f"one of {known}",
                found=repr(term),
                hint="name terms as they appear in model.coefficients['term']",
            )
    index = np.flatnonzero(table["term"].isin(list(terms)).to_numpy())
    beta = table["estimate"].to_numpy()[index]
    cov = model.covariance.to_numpy()[np.ix_(index, index)]
    chisq = float(beta @ np.linalg.solve(cov, beta))
    q = int(index.size)
    df_den = float(model.df_residual if df is None else df)
    if np.isinf(df_den):
        return WaldTest(
            tuple(terms), chisq, chisq, q, df_den, float(stats.chi2.sf(chisq, q)), "chisq"
        )
    f_stat = chisq / q
    return WaldTest(
        tuple(terms), f_stat, chisq, q, df_den, float(stats.f.sf(f_stat, q, df_den)), "F"
    )


# ---------------------------------------------------------------------------------- AMEs


def _factor_categories(design_info: Any, column: str) -> tuple[Any, ...] | None:
    """Levels of a categorical factor reading ``column``, or None for a numeric one."""
    for factor, info in design_info.factor_infos.items():
        if info.type == "categorical" and column in _code_names(factor.code):
            return tuple(info.categories)
    return None


def marginal_effects(model: Regression, variables: Sequence[str] | None = None) -> pd.DataFrame:
    """Average marginal effects of predictors, with design-based standard errors.

    Parameters
    ----------
    model
        A fitted :class:`Regression`.
    variables
        Data columns on the right of the formula (all of them by default).

    Returns
    -------
    pandas.DataFrame
        One row per numeric variable and per non-reference level of a factor:
        ``variable, level, reference, estimate, se, ci_low, ci_high, df, p_value, unit``.
        For a binomial model the unit is percentage points (the estimate × 100).

    Notes
    -----
    A factor level's effect is the weighted mean, over the fitted rows, of
    ``μ(x_i with the level) − μ(x_i with the reference)``; a numeric variable's is the
    weighted mean of ``dμ_i/dv`` (the model matrix is differentiated numerically, exactly
    for terms linear in ``v``). With ``θ = Σ w_i g_i(β̂) / Σ w_i`` the linearization is
    ``u_i = (g_i − θ)/N̂ + u_iᵝ · ∂θ/∂β``, where ``u_iᵝ`` is the row's influence on the
    coefficients: both the averaging over the sample and the estimation of β count. Its
    variance comes from the same kernel (:func:`influence_covariance`); intervals and
    p-values use Student t on ``model.df_residual``. These are associations in the
    population, not causal effects.

    References
    ----------
    .. [1] Graubard, B. I. and Korn, E. L. (1999). Predictive margins with survey data.
       *Biometrics*, 55(2), 652-659.
    .. [2] Binder, D. A. (1983). On the variances of asymptotically normal estimators from
       complex surveys. *International Statistical Review*, 51(3), 279-292.

    """
    fit = model._fit
    info = fit.design_info
    chosen = list(fit.rhs_columns if variables is None else variables)
    for name in chosen:
        if name not in fit.rhs_columns:
            raise ModelError(
                f"{name!r} is not a predictor of the model",
                expected=f"one of {list(fit.rhs_columns)}",
                found=repr(name),
                hint="marginal effects exist for the variables right of '~'",
            )
    n_total = float(fit.w.sum())
    rows: list[dict[str, Any]] = []
    scores: list[FloatArray] = []

    def matrix(data: pd.DataFrame) -> FloatArray:
        built: FloatArray = np.asarray(patsy.dmatrix(info, data), dtype=np.float64)
        return built

    for name in chosen:
        categories = _factor_categories(info, name)
        if categories is None:
            values = fit.data[name].to_numpy(dtype=np.float64)
            spread = float(np.std(values))
            h = 1e-3 * (spread if spread > 0 else 1.0)
            plus = matrix(fit.data.assign(**{name: values + h}))
            minus = matrix(fit.data.assign(**{name: values - h}))
            dx = (plus - minus) / (2.0 * h)
            _, d1, d2 = _mu_derivatives(model.family, fit.x @ fit.beta)
            slope = dx @ fit.beta
            g = d1 * slope
            dg = (d2 * slope)[:, None] * fit.x + d1[:, None] * dx
            contrasts = [("", "", g, dg)]
        else:
            reference = categories[0]
            base = fit.data.assign(**{name: _fill(fit.data[name], reference)})
            x0 = matrix(base)
            mu0, d10, _ = _mu_derivatives(model.family, x0 @ fit.beta)
            contrasts = []
            for value in categories[1:]:
                x1 = matrix(fit.data.assign(**{name: _fill(fit.data[name], value)}))
                mu1, d11, _ = _mu_derivatives(model.family, x1 @ fit.beta)
                contrasts.append(
                    (
                        str(value),
                        str(reference),
                        mu1 - mu0,
                        d11[:, None] * x1 - d10[:, None] * x0,
                    )
                )
        for level_label, reference_label, g, dg in contrasts:
            theta = float(fit.w @ g) / n_total
            gradient = (fit.w @ dg) / n_total
            scores.append((g - theta) / n_total + fit.influence @ gradient)
            rows.append(
                {
                    "variable": name,
                    "level": level_label,
                    "reference": reference_label,
                    "estimate": theta,
                }
            )
    if not rows:
        return pd.DataFrame(columns=list(AME_COLUMNS))
    cov = influence_covariance(fit.design, fit.used, np.column_stack(scores))
    table = pd.DataFrame(rows)
    factor = 100.0 if model.family == "binomial" else 1.0
    estimate = table["estimate"].to_numpy() * factor
    se = np.sqrt(np.diag(cov)) * factor
    df = model.df_residual
    t_quant = float(stats.t.ppf(1.0 - (1.0 - model.level) / 2.0, df))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_value = np.where(se > 0, 2.0 * stats.t.sf(np.abs(estimate / se), df), np.nan)
    table["estimate"] = estimate
    table["se"] = se
    table["ci_low"] = estimate - t_quant * se
    table["ci_high"] = estimate + t_quant * se
    table["df"] = float(df)
    table["p_value"] = p_value
    table["unit"] = "percentage points" if model.family == "binomial" else "outcome units"
    return table[list(AME_COLUMNS)]


def _fill(series: pd.Series, value: Any) -> pd.Series:
    """Return a column of the same dtype holding ``value`` in every row."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return pd.Series(
            pd.Categorical([value] * len(series), categories=series.cat.categories),
            index=series.index,
        )
    return pd.Series([value] * len(series), index=series.index, dtype=series.dtype)
