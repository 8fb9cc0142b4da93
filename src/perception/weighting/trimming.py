"""Weight trimming: cap (and optionally floor) the weights, redistribute, re-calibrate, repeat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from perception.errors import CalibrationError
from perception.weighting._common import BoolArray, FloatArray, IntArray


class WeightBound(BaseModel):
    """A bound on the weights: ``median_multiple`` × median, a ``percentile``, or ``absolute``.

    Exactly one of the three is given. As a cap, ``absolute`` is the largest weight allowed; as
    a floor, the smallest. The bound is resolved once, on the calibrated weights before the
    first trim (:meth:`resolve`), so that trimming iterates towards a fixed number.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    median_multiple: PositiveFloat | None = None
    percentile: float | None = Field(default=None, gt=0, lt=100)
    absolute: PositiveFloat | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> WeightBound:
        """Check that exactly one kind of bound is given."""
        given = [x for x in (self.median_multiple, self.percentile, self.absolute) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of median_multiple, percentile or absolute")
        return self

    def resolve(self, weights: FloatArray) -> float:
        """Return the bound as a weight value for these weights."""
        if self.median_multiple is not None:
            return float(self.median_multiple * np.median(weights))
        if self.percentile is not None:
            return float(np.percentile(weights, self.percentile))
        assert self.absolute is not None  # guaranteed by _exactly_one
        return float(self.absolute)


class TrimmingSettings(BaseModel):
    """How to trim: the cap, an optional floor, tolerances and the most rounds to try."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cap: WeightBound
    floor: WeightBound | None = None
    cap_tolerance: float = Field(default=1e-3, ge=0)
    """Relative slack: the final maximum weight may exceed the cap by this fraction."""
    margin_tolerance: float = Field(default=1e-6, ge=0)
    """Largest relative margin error |Σw − T|/T accepted at the end."""
    max_rounds: int = Field(default=50, ge=1)
    """Most trim + re-calibrate rounds before giving up with a CalibrationError."""


@dataclass(frozen=True)
class TrimmedWeights:
    """Weights after one trim: the new weights and which units sat at a bound."""

    weights: FloatArray
    trimmed: BoolArray


def trim_weights(
    weights: FloatArray,
    *,
    cap: float,
    floor: float | None = None,
    groups: IntArray | None = None,
) -> TrimmedWeights:
    r"""Trim weights to ``[floor, cap]`` and redistribute the difference to the other units.

    Units above the cap are set to the cap and units below the floor to the floor. The net
    weight removed from a group is given back to the group's untrimmed units in proportion to
    their weights, so every group total (and the total :math:`\sum_i w_i`) is unchanged. A group
    whose units are all at a bound cannot absorb its own difference; that remainder is spread
    over the untrimmed units of every group, in proportion to their weights. When the
    redistribution pushes another unit past a bound it is trimmed too, until no untrimmed unit
    lies outside the bounds.

    Parameters
    ----------
    weights : numpy.ndarray
        Positive weights.
    cap : float
        Largest weight allowed.
    floor : float, optional
        Smallest weight allowed.
    groups : numpy.ndarray of int, optional
        Group index (0, 1, ...) of each unit, e.g. its calibration cell: the redistribution
        stays within groups, so totals over groups survive trimming. One group when omitted.

    Returns
    -------
    TrimmedWeights
        The trimmed weights (same total) and the mask of units set to a bound.

    Raises
    ------
    CalibrationError
        If the bounds cannot hold the total: ``cap × n < Σw``, ``floor × n > Σw``, or
        ``floor > cap``.

    References
    ----------
    Potter, F. J. (1990). A study of procedures to identify and trim extreme sampling weights.
    *Proceedings of the Survey Research Methods Section*, American Statistical Association.
    Kalton, G. and Flores-Cervantes, I. (2003). Weighting methods. *Journal of Official
    Statistics* 19(2), 81-97.
    Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
    Weighting Survey Samples*, 2nd ed. Springer.

    """
    low = 0.0 if floor is None else floor
    total = float(weights.sum())
    n = len(weights)
    if low > cap or cap * n < total or low * n > total:
        raise CalibrationError(
            "The trimming bounds cannot hold the total weight.",
            expected=f"floor <= total/n <= cap, with total/n = {total / n:.6g}",
            found=f"floor {low:.6g}, cap {cap:.6g}",
            hint="Raise the cap (e.g. a larger median_multiple) or lower the floor.",
        )
    group = np.zeros(n, dtype=np.intp) if groups is None else groups
    n_groups = int(group.max()) + 1
    target = np.bincount(group, weights, minlength=n_groups)
    at_cap = np.zeros(n, dtype=bool)
    at_floor = np.zeros(n, dtype=bool)
    factor = np.ones(n)
    while True:
        free = ~(at_cap | at_floor)
        if not free.any():
            break
        bounded = np.where(at_cap, cap, 0.0) + np.where(at_floor, low, 0.0)
        carry = target - np.bincount(group, bounded, minlength=n_groups)
        free_sum = np.bincount(group, np.where(free, weights, 0.0), minlength=n_groups)
        open_group = free_sum > 0
        saturated = ~open_group & (carry != 0)
        if saturated.any():
            # Every unit of these groups is at a bound: their remainder goes to the open groups,
            # in proportion to the weight their free units carry.
            share = np.where(open_group, carry, 0.0)
            target += share / share.sum() * carry[saturated].sum()
            target[saturated] -= carry[saturated]
            continue
        factor = (carry / np.where(open_group, free_sum, 1.0))[group]
        scaled = weights * factor
        over = free & (scaled > cap)
        under = free & (scaled < low)
        if not (over.any() or under.any()):
            break
        at_cap |= over
        at_floor |= under
    out = np.where(at_cap, cap, np.where(at_floor, low, weights * factor))
    return TrimmedWeights(weights=out, trimmed=at_cap | at_floor)


class HasWeights(Protocol):
    """Anything carrying final weights, such as a calibrated SurveyDesign."""

    @property
    def weights(self) -> FloatArray:
        """Final weights aligned with the data rows."""
        ...


D = TypeVar("D", bound=HasWeights)


@dataclass(frozen=True)
class TrimResult(Generic[D]):
    """Outcome of :func:`trim_and_recalibrate`.

    Attributes
    ----------
    design : D
        The re-calibrated design whose weights meet both the cap and the margins.
    cap, floor : float
        The resolved bounds (``floor`` is NaN without a floor).
    rounds : int
        Trim + re-calibrate rounds run (0 when the calibrated weights already met the cap).
    trimmed : numpy.ndarray
        Units set to a bound in the last trim (all False when ``rounds`` is 0).
    cap_excess : float
        Achieved relative excess over the bounds, ``max(0, max w / cap − 1, 1 − min w / floor)``.
    margin_error : float
        Achieved largest relative margin error.

    """

    design: D
    cap: float
    floor: float
    rounds: int
    trimmed: BoolArray
    cap_excess: float
    margin_error: float


def _excess(weights: FloatArray, cap: float, floor: float | None) -> float:
    """Return the relative amount by which the weights break the bounds (0 when they hold)."""
    excess = max(0.0, float(weights.max()) / cap - 1.0)
    if floor is not None:
        excess = max(excess, 1.0 - float(weights.min()) / floor)
    return excess


def trim_and_recalibrate(
    calibrated: D,
    recalibrate: Callable[[FloatArray], D],
    margin_error: Callable[[FloatArray], float],
    settings: TrimmingSettings,
    *,
    groups: IntArray | None = None,
) -> TrimResult[D]:
    """Trim, redistribute and re-calibrate until both the cap and the margins hold.

    Each round trims the current calibrated weights with :func:`trim_weights` and calibrates the
    trimmed weights again to the same margins (``recalibrate``), which may push some weights back
    above the cap; the rounds stop when the weights are within ``cap_tolerance`` of the bounds and
    ``margin_error`` is at most ``margin_tolerance``. The final weights are always those of a
    calibration, so the returned design keeps its calibration information for variance estimation.

    Parameters
    ----------
    calibrated : design
        The calibrated design before trimming; its weights fix the cap and the floor.
    recalibrate : callable
        Takes input weights and returns the design calibrated from them (same margins).
    margin_error : callable
        Takes final weights and returns the largest relative margin error.
    settings : TrimmingSettings
        Cap, floor, tolerances and maximum rounds.
    groups : numpy.ndarray of int, optional
        Calibration cell of each unit (the crossing of every margin's categories). Trimmed
        weight is redistributed within cells, so the margins survive the trim and
        re-calibration only repairs what a cell with every unit at the cap had to spill
        elsewhere. Without it, redistribution is global, and re-calibration can keep pushing
        the same units back over the cap.

    Returns
    -------
    TrimResult
        The final design, the resolved bounds, rounds, trimmed units and achieved errors.

    Raises
    ------
    CalibrationError
        If the bounds and the margins do not both hold after ``max_rounds`` rounds. The error
        reports the achieved cap excess and margin error.

    Notes
    -----
    With ``groups`` the margins hold after each trim, so one round usually suffices; a cell
    whose units all reach the cap spills weight to other cells, and the alternation then
    converges geometrically when that cell is a small part of its margins. A cap that is too
    tight for the margins (e.g. a small cell with a large target) cannot be met; the error then
    says so rather than returning weights that miss the targets.

    References
    ----------
    Kalton, G. and Flores-Cervantes, I. (2003). Weighting methods. *Journal of Official
    Statistics* 19(2), 81-97.
    Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
    Weighting Survey Samples*, 2nd ed. Springer.

    """
    start = calibrated.weights
    cap = settings.cap.resolve(start)
    floor = None if settings.floor is None else settings.floor.resolve(start)
    design = calibrated
    trimmed = np.zeros(len(start), dtype=bool)
    rounds = 0
    while True:
        weights = design.weights
        excess = _excess(weights, cap, floor)
        error = margin_error(weights)
        if excess <= settings.cap_tolerance and error <= settings.margin_tolerance:
            return TrimResult(
                design=design,
                cap=cap,
                floor=np.nan if floor is None else floor,
                rounds=rounds,
                trimmed=trimmed,
                cap_excess=excess,
                margin_error=error,
            )
        if rounds == settings.max_rounds:
            raise CalibrationError(
                "Trimming and re-calibration did not converge.",
                expected=f"weights within {settings.cap_tolerance:g} (relative) of the bounds "
                f"[{floor if floor is not None else 0:.6g}, {cap:.6g}] and margins within "
                f"{settings.margin_tolerance:g} (relative)",
                found=f"after {rounds} rounds: cap excess {excess:.3g}, "
                f"largest margin error {error:.3g}",
                hint="Loosen the cap (larger median_multiple or percentile), raise max_rounds, "
                "or collapse small calibration cells whose targets force large weights.",
            )
        step = trim_weights(weights, cap=cap, floor=floor, groups=groups)
        trimmed = step.trimmed
        design = recalibrate(step.weights)
        rounds += 1
