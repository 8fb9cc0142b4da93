"""Base weights: from a column, or from stage selection probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perception.errors import DesignError
from perception.weighting import base_weights_from_column, base_weights_from_probabilities


def test_column_weights_are_returned_as_floats() -> None:
    """It returns the weight column as a float array aligned with the rows."""
    data = pd.DataFrame({"w": [1, 2.5, 10]})
    np.testing.assert_array_equal(base_weights_from_column(data, "w"), [1.0, 2.5, 10.0])


@pytest.mark.parametrize(
    ("bad", "word"),
    [(np.nan, "missing"), (0.0, "zero"), (-3.0, "negative"), (np.inf, "infinite")],
)
def test_column_weight_rejects_bad_values(bad: float, word: str) -> None:
    """It rejects a missing, zero, negative or infinite weight, naming the column and row."""
    data = pd.DataFrame({"w": [1.0, 2.0, bad, 4.0]})
    with pytest.raises(DesignError) as info:
        base_weights_from_column(data, "w")
    assert info.value.column == "w"
    assert info.value.rows == [2]
    assert word in info.value.found


def test_column_weight_rejects_text_and_absent_column() -> None:
    """It rejects a non-numeric weight and a column the data lack."""
    data = pd.DataFrame({"w": ["1.5", "abc", "2"]})
    with pytest.raises(DesignError) as info:
        base_weights_from_column(data, "w")
    assert info.value.rows == [1]
    with pytest.raises(DesignError) as absent:
        base_weights_from_column(data, "weight")
    assert absent.value.column == "weight"


def test_probabilities_give_inverse_of_their_product() -> None:
    """It returns 1 / (p1 · p2) for two stages, checked against the division done by hand."""
    data = pd.DataFrame({"p1": [0.1, 0.5, 1.0], "p2": [0.2, 0.25, 0.04]})
    expected = [1 / 0.1 / 0.2, 1 / 0.5 / 0.25, 1 / 1.0 / 0.04]
    np.testing.assert_allclose(base_weights_from_probabilities(data, ["p1", "p2"]), expected)


@pytest.mark.parametrize("bad", [0.0, 1.2, -0.1, np.nan])
def test_probabilities_outside_unit_interval_are_rejected(bad: float) -> None:
    """It rejects a probability outside (0, 1] or missing, naming the stage column and row."""
    data = pd.DataFrame({"p1": [0.5, 0.5, 0.5], "p2": [0.5, bad, 0.5]})
    with pytest.raises(DesignError) as info:
        base_weights_from_probabilities(data, ["p1", "p2"])
    assert info.value.column == "p2"
    assert info.value.rows == [1]


def test_probabilities_need_at_least_one_stage() -> None:
    """It rejects an empty list of stage columns."""
    with pytest.raises(DesignError):
        base_weights_from_probabilities(pd.DataFrame({"p": [0.5]}), [])


def test_underflowing_probabilities_are_rejected() -> None:
    """It rejects stage probabilities whose product underflows to an infinite weight."""
    data = pd.DataFrame({"p1": [1e-200, 0.5], "p2": [1e-200, 0.5]})
    with pytest.raises(DesignError) as info:
        base_weights_from_probabilities(data, ["p1", "p2"])
    assert info.value.rows == [0]
