"""Nonresponse adjustment by weighting classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from perception.errors import CalibrationError, DesignError
from perception.weighting import WeightingWarning, adjust_nonresponse


def _sample(seed: int = 3, n: int = 400) -> pd.DataFrame:
    """Return a sample with two class variables, response and eligibility flags, weights."""
    rng = np.random.default_rng(seed)
    region = rng.integers(1, 4, n)
    urban = rng.integers(1, 3, n)
    propensity = 0.3 + 0.15 * region + 0.1 * (urban == 1)
    return pd.DataFrame(
        {
            "region": region,
            "urban_rural": urban,
            "responded": (rng.random(n) < propensity).astype(int),
            "eligible": (rng.random(n) < 0.9).astype(int),
            "w": rng.uniform(5, 50, n),
        }
    )


def test_adjustment_preserves_eligible_weight_in_every_class() -> None:
    """It gives respondents the weight total of all eligible units of their class."""
    data = _sample()
    w = data["w"].to_numpy()
    result = adjust_nonresponse(
        data, w, classes=["region", "urban_rural"], responded="responded", eligible="eligible"
    )
    eligible = data["eligible"] == 1
    before = data[eligible].groupby(["region", "urban_rural"])["w"].sum()
    after = pd.Series(result.weights).groupby([data["region"], data["urban_rural"]]).sum()
    pd.testing.assert_series_equal(after, before, check_names=False)
    assert result.weights.sum() == pytest.approx(w[eligible].sum())


def test_only_eligible_respondents_keep_a_weight() -> None:
    """It sets weight 0 on nonrespondents and on ineligible units."""
    data = _sample()
    result = adjust_nonresponse(
        data, data["w"].to_numpy(), classes=["region"], responded="responded", eligible="eligible"
    )
    kept = (data["responded"] == 1) & (data["eligible"] == 1)
    np.testing.assert_array_equal(result.respondents, kept.to_numpy())
    assert np.all(result.weights[~kept.to_numpy()] == 0)
    assert np.all(result.weights[kept.to_numpy()] > 0)


def test_factor_is_ratio_of_weighted_totals() -> None:
    """It multiplies respondents' weights by Σw(eligible)/Σw(respondents) of their class."""
    data = pd.DataFrame(
        {"c": [1, 1, 1, 2, 2], "r": [1, 0, 1, 1, 0], "w": [10.0, 20.0, 30.0, 5.0, 15.0]}
    )
    result = adjust_nonresponse(data, data["w"].to_numpy(), classes=["c"], responded="r")
    np.testing.assert_allclose(result.weights, [10 * 60 / 40, 0, 30 * 60 / 40, 5 * 4, 0])
    assert result.classes["factor"].tolist() == pytest.approx([1.5, 4.0])
    assert result.classes["response_rate"].tolist() == pytest.approx([40 / 60, 5 / 20])


def test_class_without_respondents_is_an_error_with_a_collapse_hint() -> None:
    """It refuses a class with no respondents and suggests collapsing classes."""
    data = pd.DataFrame({"c": [1, 1, 2, 2], "r": [1, 0, 0, 0], "w": [1.0, 1.0, 1.0, 1.0]})
    with pytest.raises(CalibrationError) as info:
        adjust_nonresponse(data, data["w"].to_numpy(), classes=["c"], responded="r")
    assert "min_respondents" in info.value.hint
    assert info.value.rows == [2, 3]


def test_collapsing_is_announced_and_merges_into_nearest_response_rate() -> None:
    """It merges a small class into the class with the closest response rate, with a warning."""
    data = pd.DataFrame(
        {
            "c": [1] * 10 + [2] * 10 + [3] * 3,
            "r": [1] * 9 + [0] + [1] * 3 + [0] * 7 + [0, 0, 1],
            "w": 1.0,
        }
    )
    # Response rates: class 1 = 0.9, class 2 = 0.3, class 3 = 1/3 (one respondent).
    with pytest.warns(WeightingWarning, match="3 -> 2"):
        result = adjust_nonresponse(
            data, data["w"].to_numpy(), classes=["c"], responded="r", min_respondents=2
        )
    table = result.classes.set_index("class")
    assert table.loc["3", "adjustment_class"] == "2"
    assert table.loc["3", "factor"] == pytest.approx(13 / 4)
    merged = data["c"].isin([2, 3]).to_numpy()
    assert result.weights[merged].sum() == pytest.approx(13.0)


def test_no_collapsing_without_min_respondents() -> None:
    """It never merges classes unless min_respondents is set."""
    data = _sample()
    result = adjust_nonresponse(
        data, data["w"].to_numpy(), classes=["region"], responded="responded"
    )
    assert (result.classes["class"] == result.classes["adjustment_class"]).all()


def test_missing_class_value_is_an_error_by_default() -> None:
    """It refuses a missing class variable, naming the column and the rows."""
    data = pd.DataFrame(
        {"c": pd.array([1, None, 2, 2], dtype="Int64"), "r": [1, 1, 1, 0], "w": 1.0}
    )
    with pytest.raises(CalibrationError) as info:
        adjust_nonresponse(data, data["w"].to_numpy(), classes=["c"], responded="r")
    assert info.value.column == "c"
    assert info.value.rows == [1]


def test_missing_class_value_forms_its_own_class_when_configured() -> None:
    """It makes missing values (NA and listed codes) a separate class, with a warning."""
    data = pd.DataFrame(
        {"c": pd.array([1, None, 99, 2, 2], dtype="Int64"), "r": [1, 1, 0, 1, 0], "w": 1.0}
    )
    with pytest.warns(WeightingWarning, match="separate"):
        result = adjust_nonresponse(
            data,
            data["w"].to_numpy(),
            classes=["c"],
            responded="r",
            missing_policy="separate_category",
            missing_codes=[99],
        )
    assert set(result.classes["class"]) == {"1", "2", "<missing>"}
    np.testing.assert_allclose(result.weights, [1.0, 2.0, 0.0, 2.0, 0.0])


def test_response_flag_must_be_zero_or_one() -> None:
    """It rejects a response flag that is missing or not 0/1."""
    data = pd.DataFrame({"c": [1, 1], "r": [1.0, np.nan], "w": 1.0})
    with pytest.raises(DesignError) as info:
        adjust_nonresponse(data, data["w"].to_numpy(), classes=["c"], responded="r")
    assert info.value.column == "r"
    assert info.value.rows == [1]
