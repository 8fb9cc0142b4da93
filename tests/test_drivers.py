"""The drivers table: AMEs of each indicator's drivers, small levels pooled or dropped."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perception.config import Catalogue, load_project
from perception.design import SurveyDesign
from perception.errors import ConfigError
from perception.indicators import IndicatorCatalogue, load_indicators
from perception.indicators.drivers import DRIVER_COLUMNS, POOLED_PREFIX, indicator_drivers
from perception.regression import marginal_effects, regress

ROOT = Path(__file__).resolve().parents[1]


@cache
def _catalogue() -> Catalogue:
    """Load the demo's variable catalogue."""
    return load_project(ROOT / "config" / "survey.yaml", root=ROOT).catalogue


@cache
def _indicators() -> IndicatorCatalogue:
    """Load the default indicator catalogue (the headline inclusion indicator has drivers)."""
    return load_indicators(ROOT / "config" / "indicators.yaml", _catalogue())


def _wave(seed: int = 7, n: int = 2400) -> SurveyDesign:
    """Build a harmonized wave where trust and awareness go with feeling included.

    Region 8 has 12 respondents and region 7 has 20 (both small); returnees are 15.
    """
    rng = np.random.default_rng(seed)
    region = rng.choice(np.arange(1, 7), size=n)
    region[:12] = 8
    region[12:32] = 7
    displacement = rng.choice([1, 2], size=n, p=[0.8, 0.2])
    displacement[40:55] = 3
    stratum = region.astype(str)
    psu = np.array([f"{r}-{k}" for r, k in zip(region, rng.integers(0, 8, size=n), strict=True)])
    psu[:32] = np.where(region[:32] == 8, "8-0", "7-0")
    psu[:6], psu[12:22] = "8-1", "7-1"
    trust = rng.choice([1, 2, 3, 4, 98], size=n, p=[0.2, 0.25, 0.25, 0.25, 0.05])
    aware = rng.choice([0, 1], size=n, p=[0.4, 0.6])
    eta = -1.0 + 0.4 * np.where(trust == 98, 0, trust - 1) + 0.8 * aware
    included = rng.random(n) < 1.0 / (1.0 + np.exp(-eta))
    answer = np.where(included, rng.choice([3, 4], size=n), rng.choice([1, 2], size=n))
    answer[rng.random(n) < 0.04] = 98
    data = pd.DataFrame(
        {
            "stratum": stratum,
            "psu": psu,
            "weight": rng.uniform(0.5, 2.0, size=n),
            "incl_peace_process": answer,
            "gender": rng.choice([1, 2], size=n),
            "age_band": rng.choice([1, 2, 3, 4, 5], size=n),
            "region": region,
            "urban_rural": rng.choice([1, 2], size=n),
            "displacement": displacement,
            "disability": rng.choice([1, 2], size=n, p=[0.9, 0.1]),
            "aware_agreement": aware,
            "trust_mission": trust,
        }
    )
    return SurveyDesign(data, "weight", strata="stratum", psu="psu")


@cache
def _table() -> pd.DataFrame:
    """Return the drivers table of the planted wave."""
    return indicator_drivers(_wave(), _indicators(), _catalogue(), survey="demo", wave="w1")


def test_table_has_its_schema_and_one_indicator() -> None:
    """The table has the documented columns and dtypes, for the headline inclusion indicator."""
    table = _table()
    assert list(table.columns) == list(DRIVER_COLUMNS)
    for column, dtype in DRIVER_COLUMNS.items():
        if dtype != "str":
            assert str(table[column].dtype) == dtype, column
    assert set(table["indicator"]) == {"incl_feel_included"}
    assert set(table["driver"]) == set(_indicators().indicator("incl_feel_included").drivers or [])
    assert (table["unit"] == "percentage points").all()
    assert (table["model"] == "binomial").all()


def test_no_published_level_rests_on_fewer_than_25_respondents() -> None:
    """Every level and reference in the table has at least 25 respondents in the model."""
    table = _table()
    assert (table["n_level"] >= 25).all()


def test_small_levels_are_pooled_or_dropped_with_a_note() -> None:
    """Regions 7 and 8 (20 + 12 rows) are pooled; the 15 returnees alone are left out, noted."""
    table = _table()
    region = table[table["driver"] == "region"]
    pooled = region[region["level_label_en"].str.startswith(POOLED_PREFIX)]
    assert len(pooled) == 1 and 25 <= pooled["n_level"].iloc[0] <= 32
    assert pooled["level_label_en"].iloc[0] == "Pooled: Coastal Region, Southern Savannah"
    assert "pooled (Coastal Region, Southern Savannah)" in region["note"].iloc[0]
    displacement = table[table["driver"] == "displacement"]
    assert set(displacement["level"]) == {2}
    assert "left out (Returnee)" in displacement["note"].iloc[0]


def test_planted_associations_come_out_with_the_right_sign() -> None:
    """Trust in the mission and awareness go with feeling included; gender does not."""
    table = _table().set_index(["driver", "level"])
    assert table.loc[("trust_mission", 4), "ci_low"] > 10.0
    assert table.loc[("aware_agreement", 1), "ci_low"] > 5.0
    assert table.loc[("gender", 2), "ci_low"] < 0 < table.loc[("gender", 2), "ci_high"]
    assert table.loc[("trust_mission", 4), "driver_p_value"] < 1e-6
    assert table.loc[("trust_mission", 4), "reference_label_en"] == "Not at all"


def test_effects_equal_a_direct_regression_on_the_pooled_codes() -> None:
    """The table's effects are regress() + marginal_effects() on the same recoded data."""
    design = _wave()
    data = design.data
    y = np.where(data["incl_peace_process"].isin([1, 2, 98]), 0.0, np.nan)
    y = np.where(data["incl_peace_process"].isin([3, 4]), 1.0, y)
    region = data["region"].where(data["region"] != 8, 7)
    displacement = data["displacement"].where(data["displacement"] != 3)
    trust = data["trust_mission"].where(data["trust_mission"] != 98)
    recoded = design.with_columns(
        {"y": y, "region2": region, "displacement2": displacement, "trust2": trust}
    )
    formula = (
        "y ~ C(gender) + C(age_band) + C(region2) + C(urban_rural) + C(displacement2)"
        " + C(disability) + C(aware_agreement) + C(trust2)"
    )
    direct = marginal_effects(regress(recoded, formula, "binomial"))
    table = _table()
    got = table[table["driver"] == "trust_mission"].sort_values("level")
    want = direct[direct["variable"] == "trust2"]
    np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=1e-10)
    np.testing.assert_allclose(got["se"], want["se"], rtol=1e-10)


def test_a_model_that_cannot_be_fitted_gives_a_noted_row() -> None:
    """A separated model yields one row with NaN effects and the reason, not an exception."""
    design = _wave()
    data = design.data.copy()
    data["incl_peace_process"] = np.where(
        data["aware_agreement"] == 1, 4, data["incl_peace_process"]
    )
    table = indicator_drivers(
        SurveyDesign(data, "weight", strata="stratum", psu="psu"),
        _indicators(),
        _catalogue(),
        survey="demo",
        wave="w1",
    )
    assert len(table) == 1
    assert np.isnan(table["estimate"].iloc[0])
    assert "perfectly separated" in table["note"].iloc[0]


def test_drivers_must_be_categorical_catalogue_variables(tmp_path: Path) -> None:
    """A driver that is not a categorical variable is a ConfigError naming the key."""
    text = (ROOT / "config" / "indicators.yaml").read_text()
    bad = text.replace("drivers: [gender, age_band,", "drivers: [age, age_band,", 1)
    path = tmp_path / "indicators.yaml"
    path.write_text(bad)
    with pytest.raises(ConfigError, match="driver not categorical") as info:
        load_indicators(path, _catalogue())
    assert "drivers" in str(info.value)
