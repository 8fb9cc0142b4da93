"""Weight trimming: bounds, redistribution, and the trim + re-calibrate loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pydantic
import pytest

from perception.errors import CalibrationError
from perception.weighting import TrimmingSettings, WeightBound, trim_and_recalibrate, trim_weights

FloatArray = npt.NDArray[np.float64]


def test_trim_caps_and_keeps_total() -> None:
    """It caps large weights, keeps the total, and scales the others by one common factor."""
    rng = np.random.default_rng(0)
    w = rng.lognormal(0, 1, 500)
    cap = 4 * float(np.median(w))
    out = trim_weights(w, cap=cap)
    assert out.weights.max() <= cap * (1 + 1e-12)
    assert out.weights.sum() == pytest.approx(w.sum(), rel=1e-12)
    np.testing.assert_array_equal(out.trimmed, np.isclose(out.weights, cap, rtol=1e-12))
    ratio = out.weights[~out.trimmed] / w[~out.trimmed]
    assert np.ptp(ratio) < 1e-12
    assert ratio[0] > 1


def test_redistribution_stays_within_groups() -> None:
    """It gives a group's trimmed weight to that group's other units, keeping group totals."""
    w = np.array([1.0, 1.0, 8.0, 1.0, 1.0, 1.0])
    groups = np.array([0, 0, 0, 1, 1, 1], dtype=np.intp)
    out = trim_weights(w, cap=4.0, groups=groups)
    np.testing.assert_allclose(out.weights, [3.0, 3.0, 4.0, 1.0, 1.0, 1.0])


def test_saturated_group_spills_to_the_other_groups() -> None:
    """It spreads what a group with every unit at the cap cannot hold over the other units."""
    w = np.array([9.0, 7.0, 1.0, 3.0, 2.0])
    groups = np.array([0, 0, 1, 1, 1], dtype=np.intp)
    out = trim_weights(w, cap=5.0, groups=groups)
    # Group 0 keeps 2 x 5 and spills 6 to group 1, which must then hold 6 + 6 = 12: its units
    # (1, 3, 2) double to (2, 6, 4); 6 is capped and the other two share 12 - 5 = 7 as 1 : 2.
    np.testing.assert_allclose(out.weights, [5.0, 5.0, 7 / 3, 5.0, 14 / 3])
    np.testing.assert_array_equal(out.trimmed, [True, True, False, True, False])


def test_redistribution_trims_units_it_pushes_over_the_cap() -> None:
    """It trims a unit that the redistributed excess pushes past the cap (worked by hand)."""
    w = np.array([1.0, 1.0, 1.0, 1.0, 9.5, 20.0])
    out = trim_weights(w, cap=10.0)
    # 20 -> 10 pushes 9.5 to 9.5 · 23.5/13.5 > 10; then the four 1s share 33.5 - 20 = 13.5.
    np.testing.assert_allclose(out.weights, [3.375, 3.375, 3.375, 3.375, 10.0, 10.0])
    np.testing.assert_array_equal(out.trimmed, [False] * 4 + [True, True])


def test_floor_raises_small_weights_and_keeps_total() -> None:
    """It lifts weights below the floor to the floor, taking the difference from the others."""
    w = np.array([0.1, 0.2, 5.0, 5.0, 10.0])
    out = trim_weights(w, cap=100.0, floor=1.0)
    np.testing.assert_allclose(out.weights[:2], [1.0, 1.0])
    assert out.weights.sum() == pytest.approx(w.sum())
    np.testing.assert_allclose(out.weights[2:] / w[2:], (w.sum() - 2) / 20.0)


def test_impossible_bounds_are_an_error() -> None:
    """It refuses a cap so low that n · cap cannot hold the total weight."""
    with pytest.raises(CalibrationError):
        trim_weights(np.array([1.0, 2.0, 9.0]), cap=3.0)


def test_bounds_resolve_from_the_weights() -> None:
    """It resolves a median multiple, a percentile and an absolute bound."""
    w = np.arange(1.0, 102.0)
    assert WeightBound(median_multiple=5).resolve(w) == 5 * 51.0
    assert WeightBound(percentile=99).resolve(w) == pytest.approx(np.percentile(w, 99))
    assert WeightBound(absolute=42).resolve(w) == 42.0


def test_bound_takes_exactly_one_kind() -> None:
    """It rejects a bound with two kinds, or none."""
    with pytest.raises(pydantic.ValidationError):
        WeightBound(median_multiple=5, absolute=3)
    with pytest.raises(pydantic.ValidationError):
        WeightBound()


@dataclass(frozen=True)
class Weighted:
    """Weights after a calibration (what trim_and_recalibrate needs from a design)."""

    weights: FloatArray


def _poststratifier(
    cells: npt.NDArray[np.int64], targets: dict[int, float]
) -> tuple[Callable[[FloatArray], Weighted], Callable[[FloatArray], float]]:
    """Return a closed-form post-stratification to ``targets`` and its largest relative error."""

    def calibrate(w: FloatArray) -> Weighted:
        sums = pd.Series(w).groupby(cells).sum()
        factor = np.array([targets[c] / sums[c] for c in cells])
        return Weighted(w * factor)

    def error(w: FloatArray) -> float:
        sums = pd.Series(w).groupby(cells).sum()
        return float(max(abs(sums[c] - t) / t for c, t in targets.items()))

    return calibrate, error


def test_trim_and_recalibrate_meets_cap_and_margins_on_skewed_sample() -> None:
    """It ends with max weight within the cap tolerance AND every margin within tolerance."""
    rng = np.random.default_rng(7)
    n = 2000
    cells = rng.integers(0, 4, n)
    w = rng.lognormal(2, 1.2, n)
    targets = {0: 30000.0, 1: 50000.0, 2: 25000.0, 3: 45000.0}
    calibrate, error = _poststratifier(cells, targets)
    start = calibrate(w)
    settings = TrimmingSettings(
        cap=WeightBound(median_multiple=3),
        cap_tolerance=1e-4,
        margin_tolerance=1e-9,
        max_rounds=200,
    )
    assert start.weights.max() > 3 * np.median(start.weights) * 1.5  # trimming has work to do
    result = trim_and_recalibrate(
        start,
        calibrate,
        error,
        settings,
        groups=cells.astype(np.intp),
    )
    final = result.design.weights
    assert result.cap == pytest.approx(3 * np.median(start.weights))
    assert final.max() <= result.cap * (1 + 1e-4)
    sums = pd.Series(final).groupby(cells).sum()
    for cell, target in targets.items():
        assert sums[cell] == pytest.approx(target, rel=1e-9)
    assert result.rounds >= 1
    assert result.trimmed.sum() > 0


def test_trim_and_recalibrate_reports_achieved_errors_when_it_cannot_converge() -> None:
    """It raises a CalibrationError with the achieved cap excess and margin error."""
    cells = np.array([0] * 98 + [1, 1])
    w = np.ones(100)
    targets = {0: 980.0, 1: 200.0}  # cell 1's two units must carry 100 each; the cap is 50
    calibrate, error = _poststratifier(cells, targets)
    settings = TrimmingSettings(cap=WeightBound(median_multiple=5), max_rounds=5)
    with pytest.raises(CalibrationError) as info:
        trim_and_recalibrate(
            calibrate(w),
            calibrate,
            error,
            settings,
            groups=cells.astype(np.intp),
        )
    assert "after 5 rounds: cap excess" in info.value.found
    assert "largest margin error" in info.value.found


def test_no_trim_needed_means_no_round() -> None:
    """It returns the calibrated weights untouched when they already meet the cap."""
    cells = np.zeros(10, dtype=np.int64)
    calibrate, error = _poststratifier(cells, {0: 50.0})
    start = calibrate(np.ones(10))
    settings = TrimmingSettings(cap=WeightBound(median_multiple=5))
    result = trim_and_recalibrate(start, calibrate, error, settings)
    assert result.rounds == 0
    assert result.design is start
    assert not result.trimmed.any()
