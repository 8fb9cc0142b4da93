"""SurveyDesign: which columns play which role in a sample, validated once and immutable."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from perception.errors import ConfigError, DesignError
from perception.replicates import (
    brr_psu_rank,
    psu_replicates,
    replicate_columns,
    replicate_constants,
    replicate_matrix,
    unit_factors,
)
from perception.variance import (
    LONELY_PSU_OPTIONS,
    FloatArray,
    IntArray,
    LonelyPsu,
    PsuLayout,
    ReplicateLayout,
    RepType,
    VarianceMethod,
    build_layout,
    combine_codes,
    degrees_of_freedom,
    representative_rows,
)
from perception.weighting.calibration import (
    CalibrationStep,
    GregTerms,
    Missing,
    calibrate_weights,
    greg_terms,
    poststratify_weights,
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
    replicate_weights
        Replicate weight columns (full weights, R's ``combined.weights = TRUE``): a list of
        names or a regular expression. The variance then comes from the replicates.
    rep_type
        How the replicates were made: ``"JK1"``, ``"JKn"``, ``"BRR"``, ``"Fay"``,
        ``"bootstrap"`` or ``"successive-difference"`` (R's ``svrepdesign`` ``type``).
    scale, rscales, fay_rho, mse
        ``V = scale · Σ_r rscales_r (θ_r − c)²`` with ``c`` the full-sample estimate when
        ``mse`` is true, else the mean of the replicates. Defaults follow R's
        ``svrepdesign``; ``JKn`` needs ``rscales`` and ``Fay`` needs ``fay_rho``.

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
        "_replicates",
        "_strata",
        "_stratum_labels",
        "_unit_index",
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
    _replicates: ReplicateLayout | None
    _unit_index: IntArray

    def __init__(
        self,
        data: pd.DataFrame,
        weights: str,
        strata: str | None = None,
        psu: str | None = None,
        fpc: str | None = None,
        nest: bool = False,
        lonely_psu: LonelyPsu = "fail",
        replicate_weights: Sequence[str] | str | None = None,
        rep_type: RepType | None = None,
        scale: float | None = None,
        rscales: Sequence[float] | float | None = None,
        fay_rho: float | None = None,
        mse: bool = False,
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
        self._replicates, self._unit_index = None, self._psu_index
        if replicate_weights is not None or rep_type is not None:
            self._set_replicates(replicate_weights, rep_type, scale, rscales, fay_rho, mse)

    def _set_replicates(
        self,
        replicate_weights: Sequence[str] | str | None,
        rep_type: str | None,
        scale: float | None,
        rscales: Sequence[float] | float | None,
        fay_rho: float | None,
        mse: bool,
    ) -> None:
        """Read and check the replicate weight columns; store them as factors per unit."""
        if replicate_weights is None or rep_type is None:
            raise ConfigError(
                "Replicate weights need both replicate_weights= and rep_type=",
                expected="both, or neither",
                found=f"replicate_weights={replicate_weights!r}, rep_type={rep_type!r}",
                hint="e.g. replicate_weights='repw[0-9]+', rep_type='JK1'",
            )
        columns = replicate_columns(self._data, replicate_weights)
        matrix = replicate_matrix(self._data, columns)
        final_scale, final_rscales, rho = replicate_constants(
            rep_type, len(columns), scale, rscales, fay_rho
        )
        self._unit_index, factors = unit_factors(
            self._weights, matrix, self._psu_index, self.n_psus
        )
        self._replicates = ReplicateLayout(factors, final_scale, final_rscales, mse, rep_type, rho)

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
    def replicates(self) -> ReplicateLayout | None:
        """Replicate factors per variance unit, or None for a Taylor design."""
        return self._replicates

    @property
    def variance_method(self) -> VarianceMethod:
        """What :func:`perception.variance.variance` computes this design's variance from."""
        return self._layout if self._replicates is None else self._replicates

    @property
    def unit_index(self) -> IntArray:
        """Variance unit of every row: its PSU, or its replicate unit (``0..U-1``)."""
        return self._unit_index

    @property
    def n_units(self) -> int:
        """Number of variance units (PSUs of a Taylor design)."""
        return self.n_psus if self._replicates is None else self._replicates.n_units

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
        """Design degrees of freedom: PSUs − strata, or replicate rank − 1 (R's ``degf``)."""
        if self._replicates is None:
            return self.n_psus - self.n_strata
        units = np.arange(self.n_units, dtype=np.intp)
        method = self.variance_method
        return int(degrees_of_freedom(method, np.zeros_like(units), units, 1)[0])

    def __repr__(self) -> str:
        """Summarize the design."""
        cal = f", {len(self._calibration)} calibration step(s)" if self._calibration else ""
        if self._replicates is not None:
            cal += f", {self._replicates.n_replicates} {self._replicates.rep_type} replicates"
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
        if not self._calibration or self._replicates is not None:
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
            treats it as the level
            :data:`perception.weighting.calibration.MISSING_CATEGORY`, which then needs its own
            target.

        Returns
        -------
        SurveyDesign
            A new design whose variance is calibration-aware.

        References
        ----------
        .. [1] Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey
           sampling. *JASA*, 87(418), 376-382.

        """

        def solve(base: FloatArray) -> tuple[FloatArray, CalibrationStep]:
            return calibrate_weights(
                self._data,
                base,
                margins or {},
                totals or {},
                population_size=population_size,
                calfun=calfun,
                tol=tol,
                max_iter=max_iter,
                missing=missing,
            )

        return self._calibrated(solve)

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

        def solve(base: FloatArray) -> tuple[FloatArray, CalibrationStep]:
            return poststratify_weights(self._data, base, list(variables), targets, missing=missing)

        return self._calibrated(solve)

    def _calibrated(
        self, solve: Callable[[FloatArray], tuple[FloatArray, CalibrationStep]]
    ) -> SurveyDesign:
        """Apply a calibration to the weights and, on a replicate design, to every replicate.

        Each replicate's weights ``w·a_r`` are calibrated to the same targets (R's
        ``calibrate`` on a replicate design); the new factors are constant within each
        (unit × calibration cell), which become the new units (rows with numeric totals).
        """
        weights, step = solve(self._weights)
        new = self._derive(weights, (*self._calibration, step))
        reps = self._replicates
        if reps is None:
            return new
        units = self._unit_index
        if step.model.numeric.shape[1]:
            cell, n_cells = np.arange(self.n_rows, dtype=np.intp), self.n_rows
        else:
            cell, n_cells = combine_codes(
                [units, step.model.cells],
                [reps.n_units, step.model.cell_x.shape[0]],
                self.n_rows,
            )
        rows = representative_rows(cell, n_cells)
        factors = np.empty((n_cells, reps.n_replicates))
        for r in range(reps.n_replicates):  # one calibration per replicate, as R does
            replicate, _ = solve(self._weights * reps.factors[units, r])
            factors[:, r] = replicate[rows] / weights[rows]
        new._unit_index = cell
        new._replicates = ReplicateLayout(
            factors, reps.scale, reps.rscales, reps.mse, reps.rep_type, reps.fay_rho
        )
        return new

    def to_replicates(
        self,
        method: RepType = "JKn",
        *,
        replicates: int | None = None,
        seed: int | None = None,
        fay_rho: float = 0.0,
        mse: bool = False,
    ) -> SurveyDesign:
        """Return this design with replicate weights built from its strata and PSUs.

        Parameters
        ----------
        method
            ``"JK1"`` (unstratified), ``"JKn"``, ``"BRR"`` or ``"Fay"`` (two PSUs per
            stratum), or ``"bootstrap"``.
        replicates, seed
            Number of bootstrap replicates (default 50) and the seed of their generator.
        fay_rho
            Fay's ρ for ``method="Fay"``.
        mse
            Centre the variance at the full-sample estimate.

        Returns
        -------
        SurveyDesign
            The same data and weights with replicate factors per PSU (R's
            ``as.svrepdesign``); a calibrated design keeps its history but new calibrations
            are repeated on every replicate.

        References
        ----------
        .. [1] Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed.,
           Springer, chapters 3-5.

        """
        if self._calibration:
            raise ConfigError(
                "Build replicates before calibrating",
                expected="an uncalibrated strata/PSU design",
                found=f"{len(self._calibration)} calibration step(s)",
                hint="call to_replicates() first, then calibrate: each replicate is then "
                "calibrated too",
            )
        if self._replicates is not None:
            raise ConfigError(
                "The design already has replicate weights",
                expected="a strata/PSU design",
                found=repr(self),
                hint="build replicates from the design before it got replicate weights",
            )
        if method == "Fay" and not 0.0 < fay_rho < 1.0:
            raise ConfigError(
                "method='Fay' needs Fay's rho",
                expected="fay_rho strictly between 0 and 1",
                found=repr(fay_rho),
                hint="pass fay_rho=0.5, or use method='BRR'",
            )
        layout = self._layout
        n_h = layout.n_psu.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            fpc = np.where(n_h > 1, layout.coef * (n_h - 1.0) / n_h, 1.0)
        if self._fpc is None:
            fpc = np.ones(layout.n_strata)
        first_row = np.unique(self._psu_index, return_index=True)[1]
        rank = brr_psu_rank(list(self._stratum_labels), layout.psu_stratum, first_row)
        reps = psu_replicates(layout, fpc, method, replicates, seed, fay_rho, mse, rank)
        new = self._derive(self._weights, self._calibration)
        new._replicates = reps
        new._unit_index = self._psu_index
        return new
