"""Replicate weights: checking given replicate columns and building JK1, JKn, BRR and bootstrap.

A replicate design stores its replicate weights as factors ``a_{u,r} = w_{r,i} / w_i`` per
variance unit ``u`` (a PSU, or a row), so that every estimator aggregates its scores once per
unit and the replicates cost one matrix product (:mod:`perception.variance`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from functools import cache
from importlib import resources

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

Int8Array = npt.NDArray[np.int8]
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


_HADAMARD_BASES = (4, 16, 28, 36)
"""Orders R's ``survey`` starts from: Sylvester's 4 and 16, and two stored matrices."""
_PALEY_PRIME_LIMIT = 7919
"""Largest prime ``p ≡ 3 (mod 4)`` for which ``survey`` 4.1 builds a Paley matrix."""


def _double(matrix: Int8Array) -> Int8Array:
    """Sylvester's doubling ``[[H, H], [H, −H]]``."""
    doubled: Int8Array = np.block([[matrix, matrix], [matrix, -matrix]])
    return doubled


@cache
def _stored_hadamard() -> dict[int, Int8Array]:
    """Load the Hadamard matrices of orders 28 and 36 that R's ``survey`` 4.1 stores."""
    text = resources.files("perception").joinpath("hadamard_stored.json").read_text()
    stored: dict[int, Int8Array] = {}
    for order, rows in json.loads(text)["matrices"].items():
        size = int(order)
        bits = [[(int(c, 16) >> s) & 1 for c in row for s in (3, 2, 1, 0)][:size] for row in rows]
        stored[size] = (2 * np.array(bits, dtype=np.int8) - 1).astype(np.int8)
    return stored


def _hadamard_base(order: int) -> Int8Array:
    """One of R's four starting matrices: Sylvester's of order 4 or 16, or a stored one."""
    if order in (4, 16):
        matrix = np.ones((1, 1), dtype=np.int8)
        while matrix.shape[0] < order:
            matrix = _double(matrix)
        return matrix
    return _stored_hadamard()[order]


@cache
def _primes_3_mod_4() -> IntArray:
    """Primes ``p ≡ 3 (mod 4)`` up to :data:`_PALEY_PRIME_LIMIT`."""
    sieve = np.ones(_PALEY_PRIME_LIMIT + 1, dtype=np.bool_)
    sieve[:2] = False
    for k in range(2, int(_PALEY_PRIME_LIMIT**0.5) + 1):
        if sieve[k]:
            sieve[k * k :: k] = False
    numbers = np.flatnonzero(sieve)
    primes: IntArray = numbers[numbers % 4 == 3].astype(np.intp)
    return primes


def _paley_prime(p: int) -> Int8Array:
    """Paley's Hadamard matrix of order ``p + 1`` for a prime ``p ≡ 3 (mod 4)``.

    First row and column +1; entry ``(i, j)`` of the core is +1 when ``i + j`` is a
    quadratic non-residue mod ``p``, −1 when it is 0 or a residue (R's ``survey:::paley``
    layout).
    """
    residue = np.zeros(p, dtype=np.bool_)
    residue[0] = True
    residue[(np.arange(1, (p - 1) // 2 + 1) ** 2) % p] = True
    index = np.arange(p)
    matrix = np.ones((p + 1, p + 1), dtype=np.int8)
    matrix[1:, 1:] = np.where(residue[(index[:, None] + index[None, :]) % p], -1, 1)
    return matrix


def _paley(n: int, largest: int) -> Int8Array | None:
    """Return a Paley matrix of order > ``n`` (about ``largest`` at most), as R's survey does."""
    ceiling = n + 4 - n % 4
    primes = _primes_3_mod_4()
    if n % 8 >= 4:  # the next multiple of 4 is a multiple of 8: double a smaller Paley matrix
        order = ceiling
        while order % 8 == 0:
            order //= 2
        if order - 1 in primes:
            matrix = _paley_prime(order - 1)
            while order < ceiling:
                matrix, order = _double(matrix), order * 2
            return matrix
    if n > _PALEY_PRIME_LIMIT:
        return None
    p = int(primes[primes >= n].min())
    if p + 1 > ceiling + 4 and ceiling + 4 < largest:
        return _paley(ceiling + 3, 2 * (ceiling + 3))
    if p > largest:
        return None
    return _paley_prime(p)


def hadamard(n: int) -> Int8Array:
    """Return the ±1 Hadamard matrix R's ``survey`` 4.1 uses for BRR with ``n`` strata.

    Parameters
    ----------
    n
        Number of half-sample strata (≥ 0).

    Returns
    -------
    numpy.ndarray
        Square ``int8`` matrix of ±1 with orthogonal columns, of the order that
        ``survey::hadamard(n)`` returns and with the same entries (R's 1 is +1, 0 is −1).

    Notes
    -----
    The order is a multiple of 4 larger than ``n``. If one of the starting orders 4, 16, 28
    or 36 lies in ``(m, m + 4]`` with ``m = n − n mod 4``, that matrix is used (Sylvester's for
    4 and 16, the two stored ones for 28 and 36). Otherwise each starting order is doubled
    until it exceeds ``n`` and the smallest result is the target; if it exceeds ``n`` by more
    than 4, Paley's construction from a prime ``p ≡ 3 (mod 4)`` is tried first (directly, or
    doubled when the next multiple of 4 is a multiple of 8), else the starting matrix is
    doubled. The choice follows R's ``survey:::hadamard`` and ``survey:::paley`` so that BRR
    replicates equal ``as.svrepdesign(type = "BRR")``; the test compares every matrix for
    ``n = 1..130`` with R's.

    References
    ----------
    .. [1] Paley, R. E. A. C. (1933). On orthogonal matrices. *Journal of Mathematics and
       Physics*, 12, 311-320.
    .. [2] Sylvester, J. J. (1867). Thoughts on inverse orthogonal matrices. *Philosophical
       Magazine*, 34, 461-475.
    .. [3] Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., Springer,
       section 3.5 (balanced half-samples from Hadamard matrices).

    """
    m = n - n % 4
    for order in _HADAMARD_BASES:
        if m < order <= m + 4:
            return _hadamard_base(order)
    doublings = [max(0, (-(-(n + 1) // base) - 1).bit_length()) for base in _HADAMARD_BASES]
    orders = [base << k for base, k in zip(_HADAMARD_BASES, doublings, strict=True)]
    best = int(np.argmin([order - n for order in orders]))
    if orders[best] - n > 4:
        paley = _paley(n, orders[best])
        if paley is not None:
            return paley
    matrix = _hadamard_base(_HADAMARD_BASES[best])
    for _ in range(doublings[best]):
        matrix = _double(matrix)
    return matrix


_ICU_ROOT_ORDER = (
    "\t\n\x0b\x0c\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz"
)
"""ASCII characters (case folded) in the primary order of ICU's root collation, R's default."""
_ICU_ACCENT_ORDER = (
    0x301, 0x300, 0x306, 0x302, 0x30C, 0x30A, 0x308, 0x30B, 0x303, 0x307, 0x327, 0x328, 0x304,
    0x305, 0x309, 0x31B, 0x323,
)  # fmt: skip
"""Combining accents in ICU's secondary order (acute, grave, breve, circumflex, caron, ...)."""


def r_collation_key(text: str) -> tuple[list[int], list[int], list[int]]:
    """Sort key of ``text`` in R's ICU root collation: letters, then accents, then case.

    Exact for ASCII (punctuation and spaces are not ignored and sort before digits, digits
    before letters, ``a`` before ``A``) and for Latin letters with the common accents; other
    scripts follow their code points after the Latin letters.
    """
    primary: list[int] = []
    secondary: list[int] = []
    tertiary: list[int] = []
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char):
            code = ord(char)
            rank = _ICU_ACCENT_ORDER.index(code) if code in _ICU_ACCENT_ORDER else code
            secondary.append(1 + rank)
            continue
        folded = char.casefold()
        for base in folded:
            where = _ICU_ROOT_ORDER.find(base)
            primary.append(where if where >= 0 else len(_ICU_ROOT_ORDER) + ord(base))
            secondary.append(0)
            tertiary.append(int(char != folded))
    return primary, secondary, tertiary


def r_text(value: object) -> str:
    """Write an id as R's ``as.character`` does (reals to 15 significant digits, R's width rule)."""
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if not isinstance(value, float | np.floating) or not np.isfinite(value):
        return str(value)
    mantissa, exponent = f"{float(value):.14e}".split("e")
    digits = mantissa.replace("-", "").replace(".", "").rstrip("0") or "0"
    power, sign = int(exponent), "-" if value < 0 else ""
    decimals = max(0, len(digits) - power - 1)
    fixed = f"{abs(float(value)):.{decimals}f}"
    body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    scientific = f"{body}e{'-' if power < 0 else '+'}{abs(power):02d}"
    return sign + (fixed if len(fixed) <= len(scientific) else scientific)


def brr_psu_rank(
    stratum_labels: Sequence[object], psu_stratum: IntArray, psu_first_row: IntArray
) -> IntArray:
    """Position of each PSU in R's BRR order: strata by their labels as text, then first row.

    ``brrweights`` orders strata by ``as.character`` of their ids, sorted as R sorts text
    (:func:`r_collation_key`), and the two PSUs of a stratum by their first row in the data;
    the ``k``-th stratum takes row ``k + 1`` of the Hadamard matrix, its first PSU the ``+``
    half.
    """
    keys = [r_collation_key(r_text(label)) for label in stratum_labels]
    stratum_rank = np.empty(len(keys), dtype=np.intp)
    stratum_rank[sorted(range(len(keys)), key=keys.__getitem__)] = np.arange(len(keys))
    order = np.lexsort((psu_first_row, stratum_rank[psu_stratum]))
    rank: IntArray = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size)
    return rank


def psu_replicates(
    layout: PsuLayout,
    fpc_factor: FloatArray,
    method: str,
    replicates: int | None,
    seed: int | None,
    fay_rho: float,
    mse: bool,
    psu_rank: IntArray,
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
    psu_rank
        Position of each PSU in R's BRR order (:func:`brr_psu_rank`); BRR and Fay only.

    Returns
    -------
    ReplicateLayout
        Factors of shape ``(P, R)`` with R's ``scale`` and ``rscales``.

    Notes
    -----
    JK1 drops one PSU per replicate and multiplies the others by ``n/(n − 1)``; ``scale =
    (n − 1)/n · (1 − f)``. JKn does so within the PSU's stratum, with ``rscales = (n_h −
    1)/n_h · (1 − f_h)``. BRR/Fay give, in replicate ``r``, the first PSU of the ``k``-th
    stratum (in R's order, :func:`brr_psu_rank`) the factor ``1 + s`` and the second ``1 − s``,
    with ``s = (1 − ρ)·H[k + 1, r]`` and ``H = hadamard(H_strata)`` (R's matrix, so the
    replicates equal ``as.svrepdesign(type = "BRR")``); ``scale = 1/(R (1 − ρ)²)``. The
    bootstrap is Rao and Wu's rescaled bootstrap with ``n_h − 1`` PSUs drawn with
    replacement in each stratum, factor ``n_h/(n_h − 1)`` times the draw count, ``scale =
    1/(R − 1)``.

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
        matrix = hadamard(n_strata)
        order = matrix.shape[0]
        rho = fay_rho if method == "Fay" else 0.0
        side = np.where(psu_rank % 2 == 0, 1.0, -1.0)
        signs = matrix[1 : n_strata + 1].astype(np.float64)[psu_rank // 2]
        factors = 1.0 + side[:, None] * (1.0 - rho) * signs
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
