"""SurveyDesign: which columns play which role in a sample, validated once and immutable."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from perception.calibration import (
    CalibrationStep,
    GregTerms,
    Missing,
    calibrate_weights,
    greg_terms,
    poststratify_weights,
)
from perception.errors import ConfigError, DesignError
from perception.variance import (
    LONELY_PSU_OPTIONS,
    FloatArray,
    IntArray,
    LonelyPsu,
    PsuLayout,
    build_layout,
    combine_codes,
    representative_rows,
)

Calfun = Literal["linear", "raking"]


def _positions(mask: npt.NDArray[np.bool_]) -> list[int]:
    """Row positions where ``mask`` is true (errors show the first 10 and the count)."""
    return [int(i) for i in np.flatnonzero(mask)]


def _require_column(data: pd.DataFrame, column: str, role: str) -> pd.Series:
    """Return ``data[column]`` or raise a DesignError naming the role."""
    if column not in data.columns:
        raise DesignError(
            f"The {role} column {column!r} is not in the data",
            expected=f"a column named {column!r}",
            found=f"columns {list(data.columns)[:20]}",
            hint=f"check the spelling of {role}=",
            column=column,
        )
    return data[column]


def _float_column(series: pd.Series, role: str) -> FloatArray:
    """Convert a numeric design column to float64, rejecting text."""
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise DesignError(
            f"The {role} column {series.name!r} is not numeric",
            expected="numbers",
            found=f"dtype {series.dtype}",
            hint=f"convert {series.name!r} to numbers before building the design",
            column=str(series.name),
        )
    values: FloatArray = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def _validate_weights(series: pd.Series) -> FloatArray:
    """Return weights as float64, or raise if any is missing, zero, negative or infinite."""
    w = _float_column(series, "weights")
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        kinds = {
            "missing": int(np.isnan(w).sum()),
            "infinite": int(np.isinf(w).sum()),
            "zero": int((w == 0).sum()),
            "negative": int((w < 0).sum()),
        }
        found = ", ".join(f"{k} {v}" for k, v in kinds.items() if v)
        raise DesignError(
            f"Weights in {series.name!r} must be positive and finite",
            expected="a positive, finite weight in every row",
            found=found,
            hint="drop out-of-sample rows before building the design, or fix the weights",
            column=str(series.name),
            rows=_positions(bad),
        )
    return w


def _codes(series: pd.Series, role: str) -> tuple[IntArray, pd.Index]:
    """Factorize an id column (sorted), rejecting missing ids."""
    missing = series.isna().to_numpy()
    if missing.any():
        raise DesignError(
            f"The {role} column {series.name!r} has missing ids",
            expected=f"a {role} id in every row",
            found=f"{int(missing.sum())} missing",
            hint=f"fill in the {role} id or drop those rows before building the design",
            column=str(series.name),
            rows=_positions(missing),
        )
    codes, uniques = pd.factorize(series, sort=True)
    return codes.astype(np.intp), pd.Index(uniques)


def _fpc_factor(fpc: FloatArray, stratum: IntArray, n_psu: IntArray, column: str) -> FloatArray:
    """Return ``f_h`` per stratum from a population count or a sampling fraction column."""
    bad = ~np.isfinite(fpc) | (fpc <= 0)
    if bad.any():
        raise DesignError(
            f"The fpc column {column!r} has missing, infinite or non-positive values",
            expected="a positive population count (or a sampling fraction ≤ 1) in every row",
            found=f"{int(bad.sum())} bad values",
            hint="fix the fpc column or leave fpc=None (sampling with replacement)",
            column=column,
            rows=_positions(bad),
        )
    per_stratum = fpc[representative_rows(stratum, n_psu.shape[0])]
    varies = fpc != per_stratum[stratum]
    if varies.any():
        raise DesignError(
            f"The fpc column {column!r} varies within a stratum",
            expected="one fpc value per stratum",
            found=f"{int(varies.sum())} rows differ from their stratum's value",
            hint="fpc is the population count of PSUs in the stratum (or the sampling fraction)",
            column=column,
            rows=_positions(varies),
        )
    if np.all(per_stratum <= 1.0):
        return 1.0 - per_stratum
    too_small = per_stratum < n_psu
    if too_small.any():
        raise DesignError(
            f"The fpc column {column!r} is smaller than the number of sampled PSUs",
            expected="population PSU count ≥ sampled PSU count in every stratum",
            found=f"{int(too_small.sum())} strata with fewer population PSUs than sampled",
            hint="fpc must be a population count of PSUs, or a sampling fraction ≤ 1",
            column=column,
            rows=_positions(too_small[stratum]),
        )
    factor: FloatArray = (per_stratum - n_psu) / per_stratum
    return factor


class SurveyDesign:
    """A complex sample: data, final weights, strata, PSUs, fpc and calibration history.

    Parameters
    ----------
    data
        One row per respondent.
    weights
        Column of sampling weights (positive and finite in every row).
    strata
        Column of stratum ids, or None for a single stratum.
    psu
        Column of primary sampling unit ids, or None when each row is its own PSU.
    fpc
        Column with the population count of PSUs in the stratum, or a sampling fraction of at
        most 1 (constant within a stratum). None means sampling with replacement.
    nest
        Relabel PSU ids within strata (R's ``nest=TRUE``). With ``nest=False`` a PSU id that
        occurs in two strata is an error.
    lonely_psu
        Rule for a stratum with one PSU: ``"fail"`` (an error, raised here), ``"remove"``,
        ``"certainty"``, ``"adjust"`` or ``"average"``, as in R's ``survey.lonely.psu``.

    Notes
    -----
    The design is immutable: :meth:`rake`, :meth:`poststratify`, :meth:`calibrate` and
    :meth:`with_weights` return new designs. ``design.weights`` (a read-only array aligned
    with the data rows) is authoritative; the weight column in ``design.data`` keeps the
    original base weights.

    """

    __slots__ = (
        "_cache",
        "_calibration",
        "_data",
        "_fpc",
        "_layout",
        "_lonely_psu",
        "_nest",
        "_psu",
        "_psu_index",
        "_strata",
        "_stratum_labels",
        "_weights",
        "_weights_column",
    )

    _data: pd.DataFrame
    _weights: FloatArray
    _weights_column: str
    _strata: str | None
    _psu: str | None
    _fpc: str | None
    _nest: bool
    _lonely_psu: LonelyPsu
    _psu_index: IntArray
    _stratum_labels: pd.Index
    _layout: PsuLayout
    _calibration: tuple[CalibrationStep, ...]
    _cache: dict[Any, Any]

    def __init__(
        self,
        data: pd.DataFrame,
        weights: str,
        strata: str | None = None,
        psu: str | None = None,
        fpc: str | None = None,
        nest: bool = False,
        lonely_psu: LonelyPsu = "fail",
    ) -> None:
        if lonely_psu not in LONELY_PSU_OPTIONS:
            raise ConfigError(
                f"Unknown lonely_psu rule {lonely_psu!r}",
                expected=f"one of {', '.join(LONELY_PSU_OPTIONS)}",
                found=repr(lonely_psu),
                hint="use R's survey.lonely.psu names",
            )
        if len(data) == 0:
            raise DesignError(
                "The design has no rows",
                expected="at least one respondent",
                found="an empty table",
                hint="check the filter that produced the data",
            )
        self._data = data.copy(deep=False)
        self._weights_column = weights
        self._strata, self._psu, self._fpc = strata, psu, fpc
        self._nest, self._lonely_psu = nest, lonely_psu
        w = _validate_weights(_require_column(data, weights, "weights"))
        w.flags.writeable = False
        self._weights = w
        self._calibration = ()
        self._cache = {}
        self._build_structure()

    def _build_structure(self) -> None:
        """Index PSUs within strata, check nesting, fpc and lonely PSUs."""
        data, n = self._data, len(self._data)
        if self._strata is None:
            stratum = np.zeros(n, dtype=np.intp)
            self._stratum_labels = pd.Index(["(all)"])
        else:
            stratum, self._stratum_labels = _codes(
                _require_column(data, self._strata, "strata"), "stratum"
            )
        n_strata = len(self._stratum_labels)
        if self._psu is None:
            psu_code, n_psu_ids = np.arange(n, dtype=np.intp), n
        else:
            psu_code, psu_labels = _codes(_require_column(data, self._psu, "psu"), "PSU")
            n_psu_ids = len(psu_labels)
            if not self._nest and self._strata is not None:
                self._check_nesting(stratum, psu_code, n_strata, n_psu_ids, psu_labels)
        self._psu_index, n_psus = combine_codes([stratum, psu_code], [n_strata, n_psu_ids], n)
        psu_stratum = stratum[representative_rows(self._psu_index, n_psus)]
        n_psu = np.bincount(psu_stratum, minlength=n_strata).astype(np.intp)
        if self._fpc is None:
            factor = np.ones(n_strata)
        else:
            fpc = _float_column(_require_column(data, self._fpc, "fpc"), "fpc")
            factor = _fpc_factor(fpc, stratum, n_psu, self._fpc)
        if self._lonely_psu == "fail" and (n_psu == 1).any():
            self._fail_lonely(stratum, n_psu)
        self._layout = build_layout(psu_stratum, factor, self._lonely_psu)

    def _check_nesting(
        self,
        stratum: IntArray,
        psu_code: IntArray,
        n_strata: int,
        n_psu_ids: int,
        psu_labels: pd.Index,
    ) -> None:
        """Reject PSU ids shared by several strata when nest=False."""
        pairs, n_pairs = combine_codes([psu_code, stratum], [n_psu_ids, n_strata], len(stratum))
        pair_psu = psu_code[representative_rows(pairs, n_pairs)]
        strata_per_psu = np.bincount(pair_psu, minlength=n_psu_ids)
        shared = np.flatnonzero(strata_per_psu > 1)
        if shared.size:
            labels = [str(x) for x in psu_labels[shared[:5]]]
            raise DesignError(
                "PSU ids are not nested in strata",
                expected="each PSU id in a single stratum (nest=False)",
                found=f"{shared.size} PSU ids in several strata, e.g. {', '.join(labels)}",
                hint="pass nest=True if PSU ids are only unique within a stratum",
                column=self._psu,
                rows=_positions(np.isin(psu_code, shared)),
            )

    def _fail_lonely(self, stratum: IntArray, n_psu: IntArray) -> None:
        """Raise R's lonely-PSU error for the first stratum with one PSU."""
        lonely = np.flatnonzero(n_psu == 1)
        names = [str(x) for x in self._stratum_labels[lonely]]
        raise DesignError(
            f"Stratum ({names[0]}) has only one PSU at stage 1",
            expected="at least two PSUs in every stratum",
            found=f"{lonely.size} strata with one PSU: {', '.join(names[:10])}",
            hint="collapse strata, or choose lonely_psu='adjust', 'average', 'remove' or "
            "'certainty'",
            column=self._strata,
            rows=_positions(np.isin(stratum, lonely)),
        )

    # ------------------------------------------------------------------ read-only views
    @property
    def data(self) -> pd.DataFrame:
        """The respondent table (its weight column holds the original weights)."""
        return self._data

    @property
    def weights(self) -> FloatArray:
        """Final weights, a read-only array aligned with the data rows."""
        return self._weights

    @property
    def weights_column(self) -> str:
        """Name of the original weight column."""
        return self._weights_column

    @property
    def strata(self) -> str | None:
        """Name of the strata column, or None."""
        return self._strata

    @property
    def psu(self) -> str | None:
        """Name of the PSU column, or None (each row its own PSU)."""
        return self._psu

    @property
    def fpc(self) -> str | None:
        """Name of the fpc column, or None."""
        return self._fpc

    @property
    def nest(self) -> bool:
        """Whether PSU ids are relabelled within strata."""
        return self._nest

    @property
    def lonely_psu(self) -> LonelyPsu:
        """The lonely-PSU rule."""
        return self._lonely_psu

    @property
    def calibration(self) -> tuple[CalibrationStep, ...]:
        """Calibration steps applied to the base weights, oldest first."""
        return self._calibration

    @property
    def layout(self) -> PsuLayout:
        """Strata, PSU counts and variance coefficients used by the variance kernel."""
        return self._layout

    @property
    def psu_index(self) -> IntArray:
        """PSU index (``0..P-1``, PSUs sorted by stratum) of every row."""
        return self._psu_index

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return len(self._data)

    @property
    def n_psus(self) -> int:
        """Number of PSUs."""
        return self._layout.n_psus

    @property
    def n_strata(self) -> int:
        """Number of strata."""
        return self._layout.n_strata

    @property
    def degf(self) -> int:
        """Design degrees of freedom: PSUs minus strata (R's ``degf``)."""
        return self.n_psus - self.n_strata

    def __repr__(self) -> str:
        """Summarize the design."""
        cal = f", {len(self._calibration)} calibration step(s)" if self._calibration else ""
        return (
            f"SurveyDesign({self.n_rows} rows, {self.n_strata} strata, {self.n_psus} PSUs, "
            f"weights={self._weights_column!r}, fpc={self._fpc!r}, "
            f"lonely_psu={self._lonely_psu!r}{cal})"
        )

    # ------------------------------------------------------------------ cached helpers
    def column_codes(self, column: str) -> tuple[IntArray, pd.Index]:
        """Sorted integer codes of a column (-1 for missing) and its levels, cached."""
        key = ("codes", column)
        if key not in self._cache:
            codes, uniques = pd.factorize(self._data[column], sort=True)
            self._cache[key] = (codes.astype(np.intp), pd.Index(uniques))
        cached: tuple[IntArray, pd.Index] = self._cache[key]
        return cached

    def greg_terms(self) -> GregTerms | None:
        """Calibration terms the variance needs (None for an uncalibrated design), cached."""
        if not self._calibration:
            return None
        if "greg" not in self._cache:
            self._cache["greg"] = greg_terms(
                self._calibration, self._weights, self._psu_index, self._layout
            )
        terms: GregTerms = self._cache["greg"]
        return terms

    # ------------------------------------------------------------------ new designs
    def _derive(
        self, weights: FloatArray, calibration: tuple[CalibrationStep, ...]
    ) -> SurveyDesign:
        """Return a copy of this design with new weights and calibration history."""
        new = object.__new__(SurveyDesign)
        for name in SurveyDesign.__slots__:
            setattr(new, name, getattr(self, name))
        weights = np.array(weights, dtype=np.float64)
        weights.flags.writeable = False
        new._weights = weights
        new._calibration = calibration
        new._cache = {k: v for k, v in self._cache.items() if k[0] == "codes"}
        return new

    def with_weights(self, weights: npt.ArrayLike) -> SurveyDesign:
        """Return the same design with new base weights (drops the calibration history)."""
        series = pd.Series(np.asarray(weights, dtype=np.float64), name="weights")
        if len(series) != self.n_rows:
            raise DesignError(
                "New weights do not match the rows of the design",
                expected=f"{self.n_rows} weights",
                found=f"{len(series)} weights",
                hint="pass one weight per data row, in row order",
            )
        return self._derive(_validate_weights(series), ())

    def with_columns(self, columns: Mapping[str, npt.ArrayLike | pd.Series]) -> SurveyDesign:
        """Return the same design (weights, calibration history) with data columns added.

        Each value holds one entry per data row, in row order (a Series' index is ignored).
        An existing column may be replaced, except the weight column. A strata, PSU or fpc
        column may be replaced too, so that a harmonized variable can be both a stratum and a
        reporting domain (``strata: region`` with estimates by region): the design's strata,
        PSUs and fpc were fixed when it was built and do not change with the data column.
        """
        data = self._data
        added: dict[str, pd.Series] = {}
        for name, values in columns.items():
            if name == self._weights_column:
                raise DesignError(
                    f"The weight column {name!r} cannot be replaced",
                    expected="new columns, or columns other than the weights",
                    found=repr(name),
                    hint="use with_weights() to change the weights",
                    column=name,
                )
            series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
            if len(series) != self.n_rows:
                raise DesignError(
                    f"The new column {name!r} does not match the rows of the design",
                    expected=f"{self.n_rows} values",
                    found=f"{len(series)} values",
                    hint="pass one value per data row, in row order",
                    column=name,
                )
            added[name] = series.set_axis(data.index)
        new = self._derive(self._weights, self._calibration)
        new._data = data.assign(**added)
        new._cache = {
            key: value
            for key, value in self._cache.items()
            if not (isinstance(key, tuple) and key[0] == "codes" and key[1] in added)
        }
        return new

    def calibrate(
        self,
        margins: Mapping[str, Mapping[Hashable, float]] | None = None,
        totals: Mapping[str, float] | None = None,
        *,
        population_size: float | None = None,
        calfun: Calfun = "linear",
        tol: float = 1e-10,
        max_iter: int = 100,
        missing: Missing = "error",
    ) -> SurveyDesign:
        """Calibrate the weights to population totals (GREG, or raking with ``calfun``).

        Parameters
        ----------
        margins
            Population counts of categorical variables, ``{column: {level: count}}``.
        totals
            Population totals of numeric auxiliary columns, ``{column: total}``.
        population_size
            Population size (the intercept constraint). Implied by ``margins`` when given.
        calfun
            ``"linear"`` (GREG: ``g = 1 + xᵀλ``) or ``"raking"`` (``g = exp(xᵀλ)``).
        tol, max_iter
            Stop when every ``|achieved − target| / max(|target|, 1)`` is at most ``tol``.
        missing
            ``"error"`` (default) rejects a missing value in a margin variable; ``"category"``
            treats it as the level :data:`perception.calibration.MISSING_CATEGORY`, which then
            needs its own target.

        Returns
        -------
        SurveyDesign
            A new design whose variance is calibration-aware.

        References
        ----------
        .. [1] Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
           sampling. *JASA*, 87(418), 376-382.

        """
        weights, step = calibrate_weights(
            self._data,
            self._weights,
            margins or {},
            totals or {},
            population_size=population_size,
            calfun=calfun,
            tol=tol,
            max_iter=max_iter,
            missing=missing,
        )
        return self._derive(weights, (*self._calibration, step))

    def rake(
        self,
        margins: Mapping[str, Mapping[Hashable, float]],
        *,
        tol: float = 1e-10,
        max_iter: int = 100,
        missing: Missing = "error",
    ) -> SurveyDesign:
        """Rake the weights to categorical margins (calibration with ``calfun="raking"``).

        References
        ----------
        .. [1] Deming, W. E. and Stephan, F. F. (1940). On a least squares adjustment of a
           sampled frequency table when the expected marginal totals are known. *Annals of
           Mathematical Statistics*, 11(4), 427-444.

        """
        return self.calibrate(margins, calfun="raking", tol=tol, max_iter=max_iter, missing=missing)

    def poststratify(
        self,
        variables: Sequence[str],
        targets: Mapping[Hashable, float],
        *,
        missing: Missing = "error",
    ) -> SurveyDesign:
        """Post-stratify to population cell counts (keys are tuples for several variables).

        References
        ----------
        .. [1] Holt, D. and Smith, T. M. F. (1979). Post stratification. *JRSS A*, 142(1),
           33-46.

        """
        weights, step = poststratify_weights(
            self._data, self._weights, list(variables), targets, missing=missing
        )
        return self._derive(weights, (*self._calibration, step))
