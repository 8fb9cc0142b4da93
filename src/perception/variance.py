"""The one variance kernel: Taylor linearization (ultimate cluster) or replicate weights.

Every estimator in perception turns its statistic into unit totals of a linearized score and
hands them to :func:`variance`, which dispatches on the design's variance method: a
:class:`PsuLayout` (with-replacement PSUs within strata, :func:`stratified_variance`) or a
:class:`ReplicateLayout` (:func:`replicate_variance`). Domains are not subsets: a domain's
score is zero outside the domain, and PSUs without domain members still count in their
stratum. :func:`degrees_of_freedom` gives the matching df.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse, special

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

LonelyPsu = Literal["fail", "remove", "certainty", "adjust", "average"]
LONELY_PSU_OPTIONS: tuple[str, ...] = ("fail", "remove", "certainty", "adjust", "average")
_DENSE_LIMIT = 4_000_000
"""Largest domains × PSUs for which a calibration correction is applied to dense scores."""
_NOISE = (1e4 * np.finfo(np.float64).eps) ** 2
"""Relative size below which a variance is rounding noise of its cancelled terms."""


@dataclass(frozen=True)
class PsuLayout:
    """How PSUs sit in strata, and what each stratum contributes to a variance.

    Attributes
    ----------
    psu_stratum
        Stratum index of each PSU, shape ``(P,)``.
    n_psu
        Number of PSUs in each stratum, shape ``(H,)``.
    coef
        Multiplier of each stratum's sum of squared deviations, shape ``(H,)``:
        ``f_h · n_h / (n_h − 1)``, or the lonely-PSU rule's value for a one-PSU stratum.
    centered
        Whether each stratum's PSU totals are centred at their stratum mean, shape ``(H,)``.
    multiplier
        Factor applied to the whole sum (``H / H_ok`` under ``lonely_psu="average"``).

    """

    psu_stratum: IntArray
    n_psu: IntArray
    coef: FloatArray
    centered: BoolArray
    multiplier: float

    @property
    def n_strata(self) -> int:
        """Number of strata."""
        return int(self.n_psu.shape[0])

    @property
    def n_psus(self) -> int:
        """Number of PSUs."""
        return int(self.psu_stratum.shape[0])


def build_layout(psu_stratum: IntArray, fpc_factor: FloatArray, lonely_psu: LonelyPsu) -> PsuLayout:
    """Build the per-stratum variance coefficients, applying a lonely-PSU rule.

    Parameters
    ----------
    psu_stratum
        Stratum index of each PSU (every stratum index in ``0..H-1`` must occur).
    fpc_factor
        ``f_h = (N_h − n_h) / N_h`` for each stratum, or 1 without a finite population
        correction.
    lonely_psu
        What a stratum with a single PSU contributes. ``"fail"`` must be rejected by the
        caller before this point; here it behaves like ``"remove"``.

    Returns
    -------
    PsuLayout
        The layout used by :func:`stratified_variance`.

    Notes
    -----
    With ``n_h ≥ 2`` the stratum contributes ``f_h · n_h/(n_h−1) · Σ_i (z_hi − z̄_h)²``.
    A one-PSU stratum contributes 0 under ``"remove"`` and ``"certainty"``; ``f_h · z_h²``
    (not re-centred, no ``n/(n−1)`` factor) under ``"adjust"``; and 0 under ``"average"``,
    where the sum over the other strata is multiplied by ``H / H_ok``. These are the rules of
    R's ``survey`` 4.1 (``options(survey.lonely.psu)``).

    References
    ----------
    .. [1] Lumley, T. (2004). Analysis of complex survey samples. *Journal of Statistical
       Software*, 9(8), 1-19.
    .. [2] Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., Springer,
       section 1.4 (ultimate cluster variance).

    """
    n_psu = np.bincount(psu_stratum).astype(np.intp)
    lonely = n_psu == 1
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(lonely, 0.0, fpc_factor * n_psu / (n_psu - 1.0))
    centered = np.ones(n_psu.shape[0], dtype=np.bool_)
    multiplier = 1.0
    if lonely_psu == "adjust":
        coef = np.where(lonely, fpc_factor, coef)
        centered = ~lonely
    elif lonely_psu == "average" and lonely.any():
        n_ok = int((~lonely).sum())
        multiplier = n_psu.shape[0] / n_ok if n_ok else float("nan")
    return PsuLayout(
        psu_stratum=psu_stratum,
        n_psu=n_psu,
        coef=coef.astype(np.float64),
        centered=centered,
        multiplier=multiplier,
    )


@dataclass(frozen=True)
class AuxScores:
    """PSU totals of a regression correction ``z_j − q_j·β_d`` (calibration-aware variance).

    Attributes
    ----------
    centered
        ``q̃``: PSU totals of ``w·x`` centred within strata as the layout says, ``(P, p)``.
    gram
        ``Σ_j coef_h(j) · q̃_j q̃_jᵀ``, shape ``(p, p)``.

    """

    centered: FloatArray
    gram: FloatArray


def aux_scores(psu_totals: FloatArray, layout: PsuLayout) -> AuxScores:
    """Centre PSU totals of auxiliary scores within strata and form their weighted Gram matrix.

    Parameters
    ----------
    psu_totals
        PSU totals ``q_j = Σ_{i∈j} w_i x_i`` of the calibration model matrix, ``(P, p)``.
    layout
        The design's PSU layout.

    Returns
    -------
    AuxScores
        Centred totals and their Gram matrix, for :func:`stratified_variance`.

    References
    ----------
    .. [1] Särndal, C.-E., Swensson, B. and Wretman, J. (1992). *Model Assisted Survey
       Sampling*, Springer, section 6.6.

    """
    h = layout.psu_stratum
    sums = np.zeros((layout.n_strata, psu_totals.shape[1]))
    np.add.at(sums, h, psu_totals)
    means = sums / layout.n_psu[:, None] * layout.centered[:, None]
    centered = psu_totals - means[h]
    gram = centered.T @ (centered * layout.coef[h][:, None])
    return AuxScores(centered=centered, gram=gram)


def stratified_variance(
    domain: IntArray,
    psu: IntArray,
    values: FloatArray,
    n_domains: int,
    layout: PsuLayout,
    aux: AuxScores | None = None,
    beta: FloatArray | None = None,
    magnitude: FloatArray | None = None,
) -> FloatArray:
    """Variance of a total from PSU totals of its linearized score, for many domains at once.

    The scores come as sparse entries: entry ``e`` says that PSU ``psu[e]`` has total
    ``values[e]`` in domain ``domain[e]``. Each ``(domain, psu)`` pair appears at most once;
    PSUs without an entry have total 0 in that domain and still count in their stratum.

    Parameters
    ----------
    domain, psu, values
        Sparse PSU totals ``z_{j,d}``, one entry per ``(domain, psu)`` pair.
    n_domains
        Number of domains ``D``.
    layout
        Strata, PSU counts, finite population corrections and the lonely-PSU rule.
    aux, beta
        Optional calibration correction: the variance is that of ``z_{j,d} − q_j·β_d``, with
        ``q`` from ``aux`` and ``β`` of shape ``(D, p)``.
    magnitude
        Optional size of the terms that cancelled in each entry's value (e.g. ``Σ|w·u|``).
        A variance below the rounding noise those terms imply is returned as exactly 0.

    Returns
    -------
    numpy.ndarray
        ``V_d = m · Σ_h coef_h Σ_{j∈h} (z_{j,d} − z̄_{h,d})²`` for every domain, shape ``(D,)``.

    Notes
    -----
    Ultimate-cluster, with-replacement variance with a finite population correction factor
    (Wolter 2007, eq. 1.4.4); ``coef`` and the centring come from :func:`build_layout`. Zero
    totals of PSUs outside a domain enter exactly through ``(n_h − #entries)·z̄²``, so the cost
    is linear in the number of entries, not in ``D × P``. A calibration correction is
    subtracted from dense ``D × P`` scores when that array is small (exact two-pass sums);
    otherwise the square expands to ``Σ z̃² − 2 βᵀ Σ coef q̃ z + βᵀ G β``, which loses
    precision when calibration removes nearly all of the variance.

    References
    ----------
    .. [1] Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., Springer.
    .. [2] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, Wiley, ch. 2-3.

    """
    n_strata = layout.n_strata
    h = layout.psu_stratum[psu]
    cell = domain * n_strata + h
    size = n_domains * n_strata
    sums = weighted_bincount(cell, values, size)
    present = np.bincount(cell, minlength=size)
    n_h = np.tile(layout.n_psu, n_domains).astype(np.float64)
    mean = np.where(np.tile(layout.centered, n_domains), sums / n_h, 0.0)
    dev = values - mean[cell]
    squares = weighted_bincount(cell, dev * dev, size) + (n_h - present) * mean * mean
    variance = squares.reshape(n_domains, n_strata) @ layout.coef
    noise = np.zeros(n_domains)
    if magnitude is not None:
        noise = weighted_bincount(domain, layout.coef[h] * magnitude * magnitude, n_domains)
    if aux is not None and beta is not None:
        if n_domains * layout.n_psus <= _DENSE_LIMIT:
            dense = np.zeros((n_domains, layout.n_psus))
            dense[domain, psu] = values
            dense -= mean.reshape(n_domains, n_strata)[:, layout.psu_stratum]
            correction = beta @ aux.centered.T
            dense -= correction
            coef = layout.coef[layout.psu_stratum]
            variance = (dense * dense) @ coef
            noise = noise + (correction * correction) @ coef
        else:
            scores = sparse.csr_matrix(
                (values * layout.coef[h], (domain, psu)), shape=(n_domains, layout.n_psus)
            )
            cross = scores @ aux.centered
            quadratic = np.einsum("dp,pq,dq->d", beta, aux.gram, beta)
            noise = noise + variance + quadratic
            variance = variance - 2.0 * np.einsum("dp,dp->d", beta, cross) + quadratic
    variance = np.where(variance <= _NOISE * noise, 0.0, variance)
    result: FloatArray = variance * layout.multiplier
    return result


def weighted_bincount(codes: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Sum ``weights`` by integer code, for codes ``0..size-1``."""
    sums: FloatArray = np.bincount(codes, weights, minlength=size).astype(np.float64, copy=False)
    return sums


def compress_codes(
    code: npt.NDArray[np.int64], bound: int
) -> tuple[IntArray, npt.NDArray[np.int64]]:
    """Relabel non-negative integer codes below ``bound`` as ``0..k-1``, keeping their order."""
    if bound <= max(4 * code.shape[0], 1 << 20):
        present = np.flatnonzero(np.bincount(code, minlength=bound))
        lookup = np.zeros(bound, dtype=np.intp)
        lookup[present] = np.arange(present.size)
        return lookup[code], present.astype(np.int64)
    uniq, inverse = np.unique(code, return_inverse=True)
    return inverse.astype(np.intp), uniq.astype(np.int64)


def combine_codes(codes: list[IntArray], sizes: list[int], n: int) -> tuple[IntArray, int]:
    """Code the observed combinations of several code arrays, in lexicographic order."""
    combined: IntArray = np.zeros(n, dtype=np.intp)
    bound = 1
    for code, size in zip(codes, sizes, strict=True):
        combined, uniq = compress_codes(combined.astype(np.int64) * size + code, bound * size)
        bound = int(uniq.size)
    return combined, bound


def representative_rows(codes: IntArray, n_codes: int) -> IntArray:
    """Return one row position holding each code ``0..n_codes-1``."""
    rows = np.zeros(n_codes, dtype=np.intp)
    rows[codes] = np.arange(codes.shape[0], dtype=np.intp)
    return rows


# ---------------------------------------------------------------------- replicate weights
RepType = Literal["JK1", "JKn", "BRR", "Fay", "bootstrap", "successive-difference"]
REP_TYPES: tuple[str, ...] = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "successive-difference")
_RANK_TOL = 1e-5
"""Relative singular-value tolerance of the replicate rank (R's ``qr(..., tol = 1e-5)``)."""
_BOUNDARY = 1e-10
"""A replicate proportion within this of 0 or 1 is 0 or 1 (rounding of its deviation)."""
_GLM_EPSILON = 1e-8
"""Relative change of the deviance at which R's ``glm.fit`` stops (``glm.control()``)."""
_GLM_MAXIT = 25
"""Most iterations of R's ``glm.fit`` (``glm.control()``)."""
_ETA_LIMIT = 30.0
"""Beyond ``|η| > 30`` R's logit link clamps its inverse and derivative to machine epsilon."""


@dataclass(frozen=True)
class ReplicateLayout:
    """Replicate weights as factors per variance unit, with the constants of ``svrVar``.

    Attributes
    ----------
    factors
        ``a_{u,r} = w_{r,i} / w_i`` for every row ``i`` of unit ``u``, shape ``(U, R)``.
    scale, rscales
        Overall and per-replicate multipliers: ``V = scale · Σ_r rscales_r (θ_r − c)²``.
    mse
        Centre at the full-sample estimate (True) or at the mean of the replicates (False).
    rep_type
        One of :data:`REP_TYPES` (how the replicates were formed; reported, not used).
    fay_rho
        Fay's ρ (0 except for ``"Fay"``).

    """

    factors: FloatArray
    scale: float
    rscales: FloatArray
    mse: bool
    rep_type: str
    fay_rho: float = 0.0

    @property
    def n_replicates(self) -> int:
        """Number of replicates ``R``."""
        return int(self.factors.shape[1])

    @property
    def n_units(self) -> int:
        """Number of units whose rows share one replicate factor each."""
        return int(self.factors.shape[0])


VarianceMethod = PsuLayout | ReplicateLayout
"""What a design's variance is computed from: its PSU layout, or its replicate factors."""


@dataclass(frozen=True)
class Scores:
    """Linearized scores of several statistics, as sparse (output, unit) entries.

    Entry ``e`` says that unit ``unit[e]`` contributes ``values[e]`` to the linearized score
    of output ``output[e]``; an (output, unit) pair may appear several times (the entries are
    added). A unit is a PSU of a Taylor design, or a replicate unit of a replicate design.

    Attributes
    ----------
    output, unit, values
        The entries; ``values`` are the scores ``u`` of the linearization, whose sum over a
        unit is that unit's total (e.g. ``w·(y − ȳ_d)/N̂_d`` for a domain mean).
    n_outputs
        Number of outputs.
    ratio, denominator
        For ratio estimators (means, proportions and their differences): the ratio each entry
        belongs to (e.g. its domain) and the entry's part of that ratio's denominator
        ``N̂_d`` (its weight total). Every entry of a ratio that an output uses must be
        present. None for totals.
    magnitude
        Optional size of the terms that cancelled in each value (rounding-noise floor of the
        Taylor variance).

    """

    output: IntArray
    unit: IntArray
    values: FloatArray
    n_outputs: int
    ratio: IntArray | None = None
    denominator: FloatArray | None = None
    magnitude: FloatArray | None = None


def variance(
    method: VarianceMethod,
    scores: Scores,
    aux: AuxScores | None = None,
    beta: FloatArray | None = None,
    logit_of: FloatArray | None = None,
) -> FloatArray:
    """Variance of every output of ``scores`` under the design's variance method.

    The one variance entry point of perception. A :class:`PsuLayout` gives the
    Taylor-linearization variance (:func:`stratified_variance`, with the calibration
    correction ``aux``/``beta``); a :class:`ReplicateLayout` gives the replicate variance
    (:func:`replicate_variance`; calibration is already in the replicate factors, so
    ``aux``/``beta`` are not used).

    Parameters
    ----------
    method
        ``design.variance_method``.
    scores
        Linearized scores of the outputs.
    aux, beta
        Calibration correction of the Taylor variance (see :func:`stratified_variance`).
    logit_of
        The outputs' estimates ``θ`` (proportions, ratio scores): return the variance of
        ``logit θ`` instead, for logit intervals (R's ``svyciprop(method = "logit")``).

    Returns
    -------
    numpy.ndarray
        One variance per output, shape ``(n_outputs,)``.

    Notes
    -----
    On the logit scale the Taylor route applies the delta method, ``V/(θ(1 − θ))²`` (the
    linearization of ``logit``, which is what ``svyglm``'s sandwich gives for an intercept-only
    logistic model); the replicate route takes the replicate variance of ``logit θ_r``, as
    ``svyglm`` does by refitting the model on every replicate (see :func:`replicate_variance`).

    References
    ----------
    .. [1] Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., Springer,
       chapters 1, 3-5.
    .. [2] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, Wiley,
       section 2.3.1 (``svyciprop``).

    """
    if isinstance(method, ReplicateLayout):
        return replicate_variance(method, scores, logit_of)
    n_units = method.n_psus
    key, unique = compress_codes(
        scores.output.astype(np.int64) * n_units + scores.unit, scores.n_outputs * n_units
    )
    magnitude = None
    if scores.magnitude is not None:
        magnitude = weighted_bincount(key, scores.magnitude, unique.size)
    linear = stratified_variance(
        (unique // n_units).astype(np.intp),
        (unique % n_units).astype(np.intp),
        weighted_bincount(key, scores.values, unique.size),
        scores.n_outputs,
        method,
        aux,
        beta,
        magnitude,
    )
    if logit_of is None:
        return linear
    with np.errstate(divide="ignore", invalid="ignore"):
        logit: FloatArray = linear / (logit_of * (1.0 - logit_of)) ** 2
    return logit


def replicate_deviations(replicates: ReplicateLayout, scores: Scores) -> FloatArray:
    """Replicate estimates minus the full-sample estimate, ``θ_r − θ``, shape ``(D, R)``.

    Parameters
    ----------
    replicates
        The design's replicate factors per unit.
    scores
        Linearized scores; ``ratio``/``denominator`` make the deviations of ratios exact.

    Returns
    -------
    numpy.ndarray
        ``δ_{d,r}``; NaN where a ratio's replicate denominator is 0 (no replicate estimate).

    Notes
    -----
    For a total ``θ = Σ_u z_u`` (``z_u`` the unit total of the scores) the replicate total is
    ``Σ_u a_{u,r} z_u``, so ``δ_r = Σ_u (a_{u,r} − 1) z_u``. For a ratio ``θ = Y/N`` with
    scores ``u_i = w_i (y_i − θ)/N`` the replicate ratio ``θ_r = Y_r/N_r`` satisfies exactly
    ``θ_r − θ = (N/N_r) Σ_u (a_{u,r} − 1) z_u`` (the scores sum to zero). Every deviation is
    thus one sparse product of unit totals with the ``U × R`` factor matrix: replicates cost
    one matrix product, not ``R`` passes over the rows.

    References
    ----------
    .. [1] Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., Springer,
       chapter 4 (jackknife), 3 (balanced repeated replication).

    """
    n_units = replicates.n_units
    shifted = replicates.factors - 1.0
    if scores.ratio is None or scores.denominator is None:
        matrix = sparse.csr_matrix(
            (scores.values, (scores.output, scores.unit)), shape=(scores.n_outputs, n_units)
        )
        deviation: FloatArray = np.asarray(matrix @ shifted)
        return deviation
    n_ratios = int(scores.ratio.max(initial=-1)) + 1
    part, part_key = compress_codes(
        scores.output.astype(np.int64) * n_ratios + scores.ratio, scores.n_outputs * n_ratios
    )
    shape = (part_key.size, n_units)
    values = sparse.csr_matrix((scores.values, (part, scores.unit)), shape=shape)
    linear = np.asarray(values @ shifted)
    weights = sparse.csr_matrix((scores.denominator, (part, scores.unit)), shape=shape)
    replicate_n = np.asarray(weights @ replicates.factors)
    full_n = np.asarray(weights.sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(replicate_n != 0, linear * (full_n / replicate_n), np.nan)
    part_output = (part_key // n_ratios).astype(np.intp)
    combine = sparse.csr_matrix(
        (np.ones(part_key.size), (part_output, np.arange(part_key.size))),
        shape=(scores.n_outputs, part_key.size),
    )
    deviation = np.asarray(combine @ np.nan_to_num(scaled, nan=0.0))
    undefined = np.asarray(combine @ np.isnan(scaled).astype(np.float64)) > 0
    result: FloatArray = np.where(undefined, np.nan, deviation)
    return result


def replicate_variance(
    replicates: ReplicateLayout, scores: Scores, logit_of: FloatArray | None = None
) -> FloatArray:
    """Replicate variance ``scale · Σ_r rscales_r (θ_r − c)²`` of every output.

    Parameters
    ----------
    replicates
        Replicate factors, ``scale``, ``rscales`` and ``mse``.
    scores
        Linearized scores of the outputs (see :func:`replicate_deviations`).
    logit_of
        The outputs' estimates ``θ``: give the variance of ``logit θ`` from the replicate
        estimates ``logit θ_r``, ``θ_r = θ + δ_r``, centred at ``logit θ`` or at the mean of
        the ``logit θ_r``.

    Returns
    -------
    numpy.ndarray
        One variance per output.

    Notes
    -----
    ``c`` is the full-sample estimate when ``mse`` is true, else the mean of the replicate
    estimates over replicates with ``rscales > 0``. A replicate whose estimate is undefined
    (its denominator is 0, e.g. the jackknife replicate that drops a domain's only PSU) is
    left out of that output's sum, as R's ``svrVar`` does with ``na.action``.

    On the logit scale this is the variance ``svyglm`` gives the intercept of a logistic
    model on a replicate design: each replicate is refitted (:func:`logistic_refit`), so its
    coefficient is ``logit θ_r``. A replicate proportion of 0 or 1 (within ``1e-10``) has no
    finite logit; the refit then stops, as R's does, at a large coefficient (about ±20) where
    the deviance stops changing, which makes the interval very wide.

    References
    ----------
    .. [1] Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., Springer.
    .. [2] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, Wiley,
       section 2.6 (replicate weights).

    """
    deviation = replicate_deviations(replicates, scores)
    if logit_of is not None:
        theta = logit_of[:, None]
        replicate = np.clip(theta + deviation, 0.0, 1.0)
        replicate = np.where(replicate < _BOUNDARY, 0.0, replicate)
        replicate = np.where(replicate > 1.0 - _BOUNDARY, 1.0, replicate)
        start = np.broadcast_to(special.logit(theta), replicate.shape)
        deviation = logistic_refit(replicate, start) - start
    valid = ~np.isnan(deviation)
    deviation = np.where(valid, deviation, 0.0)
    rscales = replicates.rscales[None, :]
    if replicates.mse:
        centre = np.zeros((deviation.shape[0], 1))
    else:
        counted = valid & (rscales > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            centre = (deviation * counted).sum(axis=1, keepdims=True) / counted.sum(
                axis=1, keepdims=True
            )
    spread = np.where(valid, deviation - centre, 0.0)
    result: FloatArray = replicates.scale * (spread * spread * rscales).sum(axis=1)
    result = np.where(valid.any(axis=1), result, np.nan)
    return result


def logistic_refit(proportion: FloatArray, start: FloatArray) -> FloatArray:
    """Intercept of a logistic model refitted to weighted proportions, as R's ``glm.fit``.

    Parameters
    ----------
    proportion
        Weighted proportions ``p_r`` of a 0/1 outcome (NaN where undefined), any shape.
    start
        Starting coefficients (the full-sample ``logit p``), same shape.

    Returns
    -------
    numpy.ndarray
        The coefficient where iteratively reweighted least squares stops: ``logit p_r`` to
        about 1e-9 when ``0 < p_r < 1``; at ``p_r = 0`` or 1 (no finite maximum) the
        iterate at which the deviance stops changing, as in R.

    Notes
    -----
    For an intercept-only model with weights summing to 1 (``svyglm`` refits each replicate
    with ``weights = w_r / Σ w_r``), IRLS is the scalar Newton step ``η ← η + (p_r − μ)/μ'(η)``
    and the deviance is ``−2 (p_r log μ + (1 − p_r) log(1 − μ))``. The iteration stops when
    ``|D − D_old| / (|D| + 0.1) < 1e-8`` or after 25 steps, with ``μ`` and ``μ'`` clamped to
    machine epsilon beyond ``|η| > 30`` (R's ``glm.control()`` and ``binomial()$linkinv``).

    References
    ----------
    .. [1] McCullagh, P. and Nelder, J. A. (1989). *Generalized Linear Models*, 2nd ed.,
       Chapman and Hall, section 2.5 (iteratively reweighted least squares).
    .. [2] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*, Wiley,
       section 5.2 (``svyglm`` on replicate designs).

    """
    eps = float(np.finfo(np.float64).eps)

    def mean(eta: FloatArray) -> FloatArray:
        odds = np.exp(np.clip(eta, -_ETA_LIMIT, _ETA_LIMIT))
        odds = np.where(eta < -_ETA_LIMIT, eps, np.where(eta > _ETA_LIMIT, 1.0 / eps, odds))
        mu: FloatArray = odds / (1.0 + odds)
        return mu

    def slope(eta: FloatArray) -> FloatArray:
        odds = np.exp(np.clip(eta, -_ETA_LIMIT, _ETA_LIMIT))
        derivative: FloatArray = np.where(
            np.abs(eta) > _ETA_LIMIT, eps, odds / ((1.0 + odds) * (1.0 + odds))
        )
        return derivative

    def deviance(mu: FloatArray) -> FloatArray:
        value: FloatArray = -2.0 * (
            special.xlogy(proportion, mu) + special.xlogy(1.0 - proportion, 1.0 - mu)
        )
        return value

    eta = np.array(start, dtype=np.float64)
    previous = deviance(mean(eta))
    active = np.isfinite(proportion) & np.isfinite(eta)
    for _ in range(_GLM_MAXIT):  # scalar Newton steps on every (output, replicate) at once
        if not active.any():
            break
        step = eta + (proportion - mean(eta)) / slope(eta)
        current = deviance(mean(step))
        eta = np.where(active, step, eta)
        active &= np.abs(current - previous) / (np.abs(current) + 0.1) >= _GLM_EPSILON
        previous = current
    result: FloatArray = np.where(np.isfinite(proportion), eta, np.nan)
    return result


def degrees_of_freedom(
    method: VarianceMethod, output: IntArray, unit: IntArray, n_outputs: int
) -> IntArray:
    """Design degrees of freedom of every output, from the units its entries touch.

    Parameters
    ----------
    method
        ``design.variance_method``.
    output, unit
        Which units hold members of each output (pairs may repeat).
    n_outputs
        Number of outputs.

    Returns
    -------
    numpy.ndarray
        Taylor: PSUs holding a member − strata holding one (R's
        ``degf(subset(design, domain))``). Replicates: rank of the replicate weights of the
        output's rows − 1 (R's ``degf`` of a replicate design, ``qr(..., tol = 1e-5)``).

    References
    ----------
    .. [1] Korn, E. L. and Graubard, B. I. (1999). *Analysis of Health Surveys*, Wiley,
       section 5.2 (degrees of freedom).

    """
    n_units = method.n_psus if isinstance(method, PsuLayout) else method.n_units
    _, unique = compress_codes(output.astype(np.int64) * n_units + unit, n_outputs * n_units)
    out = (unique // n_units).astype(np.intp)
    members = (unique % n_units).astype(np.intp)
    if isinstance(method, PsuLayout):
        _, strata = compress_codes(
            out.astype(np.int64) * method.n_strata + method.psu_stratum[members],
            n_outputs * method.n_strata,
        )
        df: IntArray = (
            np.bincount(out, minlength=n_outputs)
            - np.bincount(strata // method.n_strata, minlength=n_outputs)
        ).astype(np.intp)
        return df
    return _replicate_rank(method.factors, out, members, n_outputs) - 1


def _replicate_rank(
    factors: FloatArray, out: IntArray, members: IntArray, n_outputs: int
) -> IntArray:
    """Rank of the factor rows of each output's units (eigenvalues of their Gram matrices)."""
    n_reps = factors.shape[1]
    ranks = np.zeros(n_outputs, dtype=np.intp)
    chunk = max(1, 8_000_000 // (n_reps * n_reps))
    order = np.argsort(out, kind="stable")
    out, members = out[order], members[order]
    bounds = np.searchsorted(out, np.arange(n_outputs + 1))
    for start in range(0, n_outputs, chunk):  # one Gram matrix per output, for df only
        stop = min(start + chunk, n_outputs)
        rows = [factors[members[bounds[k] : bounds[k + 1]]] for k in range(start, stop)]
        values = np.linalg.eigvalsh(np.stack([r.T @ r for r in rows]))
        top = values[:, -1:]
        ranks[start:stop] = ((values > _RANK_TOL * _RANK_TOL * top) & (top > 0)).sum(axis=1)
    return ranks


def describe(method: VarianceMethod) -> str:
    """One sentence naming the variance method, for methodology notes and exports."""
    if isinstance(method, ReplicateLayout):
        mse = ", centred at the full-sample estimate (mse)" if method.mse else ""
        rho = f", rho {method.fay_rho:g}" if method.rep_type == "Fay" else ""
        return (
            f"Replicate weights ({method.rep_type}, {method.n_replicates} replicates{rho}, "
            f"scale {method.scale:.6g}{mse})"
        )
    return "Taylor linearization (ultimate cluster, with-replacement PSUs within strata)"
