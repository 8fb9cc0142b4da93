"""The weighting run of one wave: base weights → nonresponse → calibration → trimming → report.

Margins are calibrated through label columns added to the design's data: for each margin
``name`` (``gender`` or ``gender:age_band``) a text column ``_cal_<name>`` holds each
respondent's level (``"2"``, ``"1:3"`` or ``"<missing>"``), and the column ``_input_weight``
holds the weights entering calibration (base weights after any nonresponse adjustment). The
original columns are never changed.

Missing values in weighting variables (margins and nonresponse classes; NA or one of
``missing_codes``) follow ``missing_policy``. Under ``error`` (the default) the run stops with a
CalibrationError naming the column and rows. Under ``separate_category`` they form a
``<missing>`` category, announced by a :class:`WeightingWarning`. In a calibration margin the
``<missing>`` category is calibrated to its pre-calibration weighted share ``s`` of the margin
total ``N`` (target ``s·N``), and every known category to ``(1 − s)`` times its census count.
Equivalently, respondents with a missing value are left out of that margin's adjustment
(their share is held where the design put it) and the known categories reproduce the census
distribution. This is unbiased when the value is missing completely at random with respect to
that variable; it never invents a census count for "missing" (see Kalton & Flores-Cervantes
2003; Valliant, Dever & Kreuter 2018).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from perception.config import (
    EQUAL_WEIGHT,
    CalibrationSettings,
    DesignSettings,
    PopulationTargets,
    WeightingConfig,
)
from perception.design import SurveyDesign
from perception.errors import CalibrationError, ConfigError, PerceptionError
from perception.weighting._common import (
    MISSING_LABEL,
    BoolArray,
    FloatArray,
    IntArray,
    MarginSpec,
    WeightingWarning,
    key_label,
    level_labels,
    missing_mask,
    positions,
    spec_name,
    spec_variables,
)
from perception.weighting.base import base_weights_from_column, base_weights_from_probabilities
from perception.weighting.diagnostics import largest_margin_error, weight_report
from perception.weighting.nonresponse import adjust_nonresponse
from perception.weighting.trimming import trim_and_recalibrate

INPUT_WEIGHT_COLUMN = "_input_weight"
"""Column of the design's data holding the weights entering calibration."""


def calibration_column(spec: MarginSpec) -> str:
    """Return the name of the label column that calibrates margin ``spec``: ``_cal_<name>``."""
    return f"_cal_{spec_name(spec)}"


@dataclass(frozen=True)
class CalibrationPlan:
    """Margins ready for the design API, and how to calibrate to them.

    ``margins`` maps each label column (:func:`calibration_column`) to ``{level label: total}``;
    ``by_spec`` holds the same targets keyed by margin spec, for the diagnostics; ``columns``
    holds each label column's values for the respondents.
    """

    settings: CalibrationSettings
    margins: dict[str, dict[Hashable, float]]
    by_spec: dict[MarginSpec, dict[Hashable, float]]
    columns: dict[str, npt.NDArray[np.object_]]

    def cells(self) -> IntArray:
        """Return each respondent's calibration cell: the crossing of every margin's levels."""
        codes = np.column_stack([pd.factorize(labels)[0] for labels in self.columns.values()])
        return np.unique(codes, axis=0, return_inverse=True)[1].ravel().astype(np.intp)

    def apply(self, design: SurveyDesign) -> SurveyDesign:
        """Calibrate ``design`` (whose weights are the input weights) to the margins."""
        method = self.settings.method
        if method == "poststratify":
            ((column, cells),) = self.margins.items()
            return design.poststratify([column], cells)
        return design.calibrate(
            self.margins,
            calfun="raking" if method == "rake" else "linear",
            tol=self.settings.tolerance,
            max_iter=self.settings.max_iterations,
        )


def _require(data: pd.DataFrame, spec: MarginSpec, role: str, key: str) -> None:
    """Raise if a variable of ``spec`` is not a column of the data."""
    for variable in spec_variables(spec):
        if variable not in data.columns:
            error = CalibrationError if role == "weighting" else ConfigError
            raise error(
                f"A {role} variable is not in the data.",
                expected=f"a column named {variable!r} (from {key} in config/weighting.yaml)",
                found=f"columns {list(map(str, data.columns))[:20]}",
                hint="Use harmonized variable names, or harmonize this variable first.",
                column=variable,
            )


def _margin_targets(
    respondents: pd.DataFrame,
    weights: FloatArray,
    spec: MarginSpec,
    census: dict[Hashable, float],
    config: WeightingConfig,
    at: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.object_], dict[Hashable, float]]:
    """Return the respondents' level labels of one margin and the targets keyed by label."""
    _require(respondents, spec, "weighting", "calibration.margins")
    missing = np.zeros(len(respondents), dtype=bool)
    for variable in spec_variables(spec):
        here = missing_mask(respondents[variable], config.missing_codes)
        if here.any() and config.missing_policy == "error":
            raise CalibrationError(
                "A weighting variable has missing values.",
                expected=f"a known value of {variable!r} for every respondent",
                found=f"{int(here.sum())} missing value(s)"
                + (f" (NA or codes {list(config.missing_codes)})" if config.missing_codes else ""),
                hint="Fix the values, or set missing_policy: separate_category in "
                "config/weighting.yaml to weight them as a <missing> category.",
                column=variable,
                rows=positions(here, at),
            )
        missing |= here
    labels = level_labels(respondents, spec, config.missing_codes)
    targets = {key_label(k): v for k, v in census.items()}
    unknown = ~np.isin(labels, list(targets)) & ~missing
    if unknown.any():
        levels = sorted(set(labels[unknown].tolist()))
        raise CalibrationError(
            "Respondents fall in categories that have no population target.",
            expected=f"levels of {spec_name(spec)} among {sorted(targets)}",
            found=f"{int(unknown.sum())} respondent(s) in level(s) {levels[:10]}",
            hint="Recode these values in the codebook, list them in missing_codes, or add them "
            "to the population targets file.",
            column=spec_name(spec),
            rows=positions(unknown, at),
        )
    if not missing.any():
        return labels, {k: v for k, v in targets.items()}
    share = float(weights[missing].sum() / weights.sum())
    if share >= 1.0:
        raise CalibrationError(
            "Every respondent is missing on a weighting variable.",
            expected=f"some known values of {spec_name(spec)}",
            found="all values missing",
            hint="Remove this margin from calibration.margins.",
            column=spec_name(spec),
        )
    total = sum(targets.values())
    warnings.warn(
        f"{int(missing.sum())} respondent(s) with missing {spec_name(spec)} form a "
        f"{MISSING_LABEL} category calibrated to their pre-calibration weighted share "
        f"({share:.2%} of {total:,.0f}); the known categories are calibrated to "
        f"{1 - share:.2%} of their census counts (missing_policy: separate_category).",
        WeightingWarning,
        stacklevel=3,
    )
    scaled: dict[Hashable, float] = {k: v * (1.0 - share) for k, v in targets.items()}
    scaled[MISSING_LABEL] = share * total
    return labels, scaled


def _base_weights(df: pd.DataFrame, config: WeightingConfig) -> FloatArray:
    """Return the base weights of every row, from a column or from stage probabilities."""
    source = config.base_weight
    if source.column is not None:
        return base_weights_from_column(df, source.column)
    assert source.stage_probabilities is not None  # guaranteed by BaseWeightSettings
    return base_weights_from_probabilities(df, source.stage_probabilities)


def weight_wave(
    df: pd.DataFrame,
    config: WeightingConfig,
    targets: PopulationTargets | None = None,
    *,
    strata: str | None = None,
    psu: str | None = None,
) -> tuple[SurveyDesign, pd.DataFrame]:
    r"""Weight one wave: base weights, nonresponse, calibration, trimming, diagnostics.

    Parameters
    ----------
    df : pandas.DataFrame
        Harmonized responses. With a ``nonresponse`` section, every eligible sampled unit,
        nonrespondents included; otherwise respondents only.
    config : WeightingConfig
        Weighting settings (``config/weighting.yaml``).
    targets : PopulationTargets, optional
        Population targets; the calibration margins are summed from its tables. Required
        unless ``calibration.method`` is ``none``, ignored then.
    strata, psu : str, optional
        Stratum and PSU columns; default to ``config.design``.

    Returns
    -------
    design : SurveyDesign
        The respondents' calibrated (and trimmed) design, ready for estimation with
        calibration-aware variance. Its data hold the respondents, the ``_input_weight`` column
        and one ``_cal_<margin>`` label column per margin (see the module docstring). With
        ``method: none`` it is uncalibrated: its weights are the design weights (after any
        nonresponse adjustment and trimming). With ``design.replicate_weights`` its variance
        comes from the replicate weights delivered with the data (each recalibrated like the
        full sample when calibration is configured); with ``design.replicates`` from
        replicates built from the strata and PSUs.
    report : pandas.DataFrame
        The diagnostics of :func:`~perception.weighting.diagnostics.weight_report` on the final
        weights, for ``config.domains`` (or the margins); its ``design`` column states the
        caveat of a design without PSU ids.

    Raises
    ------
    DesignError
        Bad base weights or probabilities, response flags, strata or PSUs.
    CalibrationError
        A missing weighting variable (default policy), a respondent level without a target, a
        nonresponse class without respondents, calibration that cannot reach its margins, or
        trimming that cannot meet both the cap and the margins.
    ConfigError
        A diagnostics domain that is not in the data, margins absent from the targets, or a
        calibration method other than ``none`` without targets.

    Notes
    -----
    Steps, in order: base weights :math:`d_i` (column or :math:`1/\prod_s p_{s,i}`);
    nonresponse adjustment within weighting classes; calibration (raking, post-stratification
    or linear/GREG) of the respondents to the census margins, or none; trimming to the cap with
    redistribution (within calibration cells, re-calibrating until both hold; without
    calibration, within strata, so stratum totals are kept); diagnostics on the final weights.

    Without calibration the estimates are ratio estimators on the design weights, so their
    proportions, means, standard errors and intervals do not depend on the weights' scale
    (mean 1 or population totals alike); only totals scale.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.
    Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling.
    *Journal of the American Statistical Association* 87(418), 376-382.
    Kalton, G. and Flores-Cervantes, I. (2003). Weighting methods. *Journal of Official
    Statistics* 19(2), 81-97.
    Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
    Weighting Survey Samples*, 2nd ed. Springer.

    """
    settings = config.design.model_copy(
        update={
            "strata": config.design.strata if strata is None else strata,
            "psu": config.design.psu if psu is None else psu,
        }
    )
    if settings.replicate_weights is None:
        _warn_unused_design_columns(df, settings.strata, settings.psu)
    if config.calibration.needs_targets and targets is None:
        raise ConfigError(
            "Calibration needs population targets, and this wave has none.",
            expected=f"a `targets:` file for the wave or the survey (calibration.method: "
            f"{config.calibration.method})",
            found="no targets",
            hint="Name a targets file under `targets:` in config/survey.yaml (for the survey or "
            "the wave), or set calibration: {method: none} in config/weighting.yaml to use the "
            "design weights as delivered.",
        )
    at = np.arange(len(df), dtype=np.intp)
    weights = _base_weights(df, config)
    if config.nonresponse is not None:
        nr = config.nonresponse
        adjusted = adjust_nonresponse(
            df,
            weights,
            classes=nr.classes,
            responded=nr.response_column,
            eligible=nr.eligible_column,
            min_respondents=nr.min_respondents,
            missing_policy=config.missing_policy,
            missing_codes=config.missing_codes,
        )
        at = at[adjusted.respondents]
        weights = adjusted.weights[adjusted.respondents]
    respondents = df.iloc[at].reset_index(drop=True).copy()  # one block per dtype
    calibration = (
        None
        if targets is None or not config.calibration.needs_targets
        else _plan(respondents, weights, config, targets, at)
    )
    columns = {} if calibration is None else calibration.columns
    frame = respondents.assign(**columns, **{INPUT_WEIGHT_COLUMN: weights})
    for domain in config.domain_specs:
        _require(frame, domain, "diagnostics domain", "domains")
    design = _design(frame, settings)
    replicates = config.design.replicates
    if replicates is not None:  # calibration and trimming are then repeated on every replicate
        design = design.to_replicates(
            replicates.method,
            replicates=replicates.replicates,
            seed=replicates.seed,
            fay_rho=replicates.fay_rho,
            mse=replicates.mse,
        )
    if calibration is None:
        final, trimmed, cap, floor, rounds = _trim_uncalibrated(design, config)
        iterations, converged = 0, True
        by_spec: dict[MarginSpec, dict[Hashable, float]] = {}
    else:
        final, trimmed, cap, floor, rounds = _trim_calibrated(design, calibration, config)
        iterations = final.calibration[-1].iterations
        converged = final.calibration[-1].converged
        by_spec = calibration.by_spec
    report = weight_report(
        frame,
        final.weights,
        domains=config.domain_specs,
        margins=by_spec,
        trimmed=trimmed,
        cap=cap,
        floor=floor,
        trim_rounds=rounds,
        iterations=iterations,
        converged=converged,
        missing_codes=config.missing_codes,
        design=settings.note("en"),
        n_replicates=0 if final.replicates is None else final.replicates.n_replicates,
    )
    return final, report


def _design(frame: pd.DataFrame, settings: DesignSettings) -> SurveyDesign:
    """Build the wave's design, with the replicate weights delivered with the data if any.

    A problem with the replicate weights (a column absent, a missing or negative value, a
    count that does not fit the type) is re-raised naming ``design.replicate_weights`` of
    ``config/weighting.yaml`` beside the column and rows.
    """
    design = SurveyDesign(
        frame,
        weights=INPUT_WEIGHT_COLUMN,
        strata=settings.strata,
        psu=settings.psu,
        fpc=settings.fpc,
        nest=settings.nest,
        lonely_psu=settings.lonely_psu,
    )
    delivered = settings.replicate_weights
    if delivered is None:
        return design
    # Built once without the replicates above, so that a weight, stratum or PSU problem is
    # reported as such; the replicate weights are then read and checked.
    try:
        return SurveyDesign(
            frame,
            weights=INPUT_WEIGHT_COLUMN,
            strata=settings.strata,
            psu=settings.psu,
            nest=settings.nest,
            lonely_psu=settings.lonely_psu,
            replicate_weights=delivered.pattern or list(delivered.columns or ()),
            rep_type=delivered.type,
            scale=delivered.scale,
            rscales=delivered.rscales,
            fay_rho=delivered.fay_rho,
            mse=delivered.mse,
        )
    except PerceptionError as error:
        named = delivered.pattern or ", ".join(delivered.columns or ())
        raise error.reworded(
            f"{error.message} (design.replicate_weights in config/weighting.yaml: type "
            f"{delivered.type}, {'pattern' if delivered.pattern else 'columns'} {named})"
        ) from error


def _warn_unused_design_columns(df: pd.DataFrame, strata: str | None, psu: str | None) -> None:
    """Warn when the data hold stratum or PSU ids (catalogue names) the design does not use."""
    effects = {
        "strata": "standard errors then ignore the stratification (usually a little too large)",
        "psu": "each respondent is then its own cluster, and standard errors are too small if "
        "the sample is clustered",
    }
    for role, column in (("strata", "stratum"), ("psu", "psu")):
        used = strata if role == "strata" else psu
        if used is None and column in df.columns and df[column].notna().any():
            warnings.warn(
                f"The data hold {role} ids in column {column!r}, but design.{role} is not set "
                f"in config/weighting.yaml, so the design ignores them: {effects[role]}. Set "
                f"design: {{{role}: {column}}} to use them.",
                WeightingWarning,
                stacklevel=3,
            )


_Trimmed = tuple[SurveyDesign, BoolArray | None, float, float, int]
"""A trimmed design, its trimmed units, the cap and floor, and the trimming rounds."""


def _trim_calibrated(
    design: SurveyDesign, calibration: CalibrationPlan, config: WeightingConfig
) -> _Trimmed:
    """Calibrate, then trim and re-calibrate within calibration cells when trimming is set."""
    calibrated = calibration.apply(design)
    if config.trimming is None:
        return calibrated, None, np.nan, np.nan, 0

    def margin_error(w: FloatArray) -> float:
        return largest_margin_error(
            design.data, w, calibration.by_spec, missing_codes=config.missing_codes
        )

    result = trim_and_recalibrate(
        calibrated,
        lambda w: calibration.apply(design.with_weights(w)),
        margin_error,
        config.trimming,
        groups=calibration.cells(),
    )
    return result.design, result.trimmed, result.cap, result.floor, result.rounds


def _trim_uncalibrated(design: SurveyDesign, config: WeightingConfig) -> _Trimmed:
    """Trim the design weights when trimming is set, redistributing within strata."""
    if config.trimming is None:
        return design, None, np.nan, np.nan, 0
    strata = design.strata
    groups = None if strata is None else design.column_codes(strata)[0]
    result = trim_and_recalibrate(
        design, design.with_weights, lambda _: 0.0, config.trimming, groups=groups
    )
    return result.design, result.trimmed, result.cap, result.floor, result.rounds


def _plan(
    respondents: pd.DataFrame,
    weights: FloatArray,
    config: WeightingConfig,
    targets: PopulationTargets,
    at: npt.NDArray[np.intp],
) -> CalibrationPlan:
    """Return the calibration plan: targets by label and the respondents' label columns."""
    margins: dict[str, dict[Hashable, float]] = {}
    by_spec: dict[MarginSpec, dict[Hashable, float]] = {}
    columns: dict[str, npt.NDArray[np.object_]] = {}
    for spec in config.calibration.specs:
        labels, cells = _margin_targets(
            respondents, weights, spec, targets.margin(spec_variables(spec)), config, at
        )
        columns[calibration_column(spec)] = labels
        margins[calibration_column(spec)] = cells
        by_spec[spec] = cells
    return CalibrationPlan(config.calibration, margins, by_spec, columns)


WEIGHT_COLUMN = "weight"
"""Column of :func:`weighted_table` holding the final weights."""


def weight_nonprobability(
    df: pd.DataFrame,
    config: WeightingConfig,
    targets: PopulationTargets | None,
    *,
    weights: FloatArray | None = None,
) -> tuple[SurveyDesign, pd.DataFrame]:
    """Weight a non-probability wave (``config`` from ``config.nonprobability_weighting``).

    The base weights are 1, or ``weights`` (pseudo-weights). Strata and PSU columns in the
    data are ignored without the warning a probability wave gets.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", r".*but design\.(strata|psu) is not set", WeightingWarning
        )
        base = 1.0 if weights is None else weights
        return weight_wave(df.assign(**{EQUAL_WEIGHT: base}), config, targets)


def weighted_table(design: SurveyDesign) -> pd.DataFrame:
    """Return the design's respondents with their final weights in a ``weight`` column.

    The working columns of the weighting run (``_input_weight`` and ``_cal_*``) are left out.
    """
    keep = [c for c in design.data.columns if not str(c).startswith("_")]
    return design.data[keep].assign(**{WEIGHT_COLUMN: design.weights})
