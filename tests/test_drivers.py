"""The drivers table: AMEs of each indicator's drivers, small levels pooled or dropped."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from drivers_data import LOOSE_MIN_N, demo_catalogue, demo_indicators, planted_wave

from perception.config import DisclosureRules, load_indicators
from perception.design import SurveyDesign
from perception.errors import ConfigError, ValidationError
from perception.exports import check_published
from perception.indicators.drivers import (
    DRIVER_COLUMNS,
    DRIVER_VALUE_COLUMNS,
    PUBLISHED_DRIVER_COLUMNS,
    indicator_drivers,
    publish_drivers,
)
from perception.regression import marginal_effects, regress
from perception.storage import write_parquet
from perception.words import say

ROOT = Path(__file__).resolve().parents[1]
_catalogue = demo_catalogue
_indicators = demo_indicators
_wave = planted_wave


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
    assert (table["n_reference"] >= 25).all()


def test_small_levels_are_pooled_or_dropped_with_a_note() -> None:
    """Regions 7 and 8 (20 + 12 rows) are pooled; the 15 returnees alone are left out, noted."""
    table = _table()
    region = table[table["driver"] == "region"]
    pooled = region[region["level_label_en"].str.startswith(say("drivers.pooled_prefix", "en"))]
    assert len(pooled) == 1 and 25 <= pooled["n_level"].iloc[0] <= 32
    assert pooled["level_label_en"].iloc[0] == "Pooled: Coastal Region, Southern Savannah"
    assert pooled["level_label_fr"].iloc[0].startswith(say("drivers.pooled_prefix", "fr"))
    assert "Pooled" not in pooled["level_label_fr"].iloc[0]
    english = "Region: levels with fewer than 25 respondents pooled (Coastal Region, Southern"
    assert region["note_en"].iloc[0].startswith(english)
    french = (
        "Région\u202f: niveaux de moins de 25 répondants regroupés (Région Côtière, Savane du Sud)"
    )
    assert french in region["note_fr"].iloc[0]
    displacement = table[table["driver"] == "displacement"]
    assert set(displacement["level"]) == {2}
    assert "left out (Returnee)" in displacement["note_en"].iloc[0]
    assert "laissés hors du modèle (Retourné)" in displacement["note_fr"].iloc[0]


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
    assert "perfectly separated" in table["note_en"].iloc[0]
    assert table["note_fr"].iloc[0].startswith("modèle non estimé\u202f: ")


def test_drivers_must_be_categorical_catalogue_variables(tmp_path: Path) -> None:
    """A driver that is not a categorical variable is a ConfigError naming the key."""
    text = (ROOT / "config" / "indicators.yaml").read_text()
    bad = text.replace("drivers: [gender, age_band,", "drivers: [age, age_band,", 1)
    path = tmp_path / "indicators.yaml"
    path.write_text(bad)
    with pytest.raises(ConfigError, match="driver not categorical") as info:
        load_indicators(path, _catalogue())
    assert "drivers" in str(info.value)


def test_reference_counts_are_the_model_rows_of_the_reference_level() -> None:
    """n_reference counts the reference level's rows the model used, as n_level does its own."""
    design = _wave()
    table = _table()
    data = design.data
    gender = table[table["driver"] == "gender"].iloc[0]
    in_model = (
        data["incl_peace_process"].isin([1, 2, 3, 4, 98])
        & (data["trust_mission"] != 98)
        & (data["displacement"] != 3)
    )
    assert int(gender["n"]) == int(in_model.sum())
    assert int(gender["n_reference"]) == int((in_model & (data["gender"] == 1)).sum())
    assert int(gender["n_level"]) == int((in_model & (data["gender"] == 2)).sum())


def test_publishing_flags_small_levels_and_keeps_every_value() -> None:
    """With the threshold used for pooling, nothing is hidden; the pool of 32 is flagged."""
    published = publish_drivers(_table(), DisclosureRules())
    assert list(published.columns) == list(PUBLISHED_DRIVER_COLUMNS)
    assert not published["suppressed"].any()
    flagged = published[published["flagged"]]
    assert list(flagged["level_label_en"]) == ["Pooled: Coastal Region, Southern Savannah"]
    assert set(flagged["disclosure"]) == {"flagged: 25<=n<50"}
    assert set(published.loc[~published["flagged"], "disclosure"]) == {""}
    pd.testing.assert_frame_equal(
        published[list(DRIVER_COLUMNS)], _table(), check_dtype=False, check_exact=True
    )


def test_publishing_a_table_of_looser_rules_hides_its_small_levels() -> None:
    """A table fitted with min_n=10 has levels under 25: published, they show no value."""
    loose = indicator_drivers(
        _wave(), _indicators(), _catalogue(), survey="demo", wave="w1", min_n=LOOSE_MIN_N
    )
    small = (loose["n_level"] < 25) | (loose["n_reference"] < 25)
    assert set(loose.loc[small, "level"]) == {3, 7, 8}  # returnees, regions 7 and 8
    published = publish_drivers(loose, DisclosureRules(suppress_below=25, flag_below=50))
    assert published["suppressed"].tolist() == small.tolist()
    assert published.loc[small, list(DRIVER_VALUE_COLUMNS)].isna().all(axis=None)
    assert published.loc[~small, list(DRIVER_VALUE_COLUMNS)].notna().all(axis=None)
    assert set(published.loc[small, "disclosure"]) == {"suppressed: n<25"}
    assert published.loc[small, "n_level"].tolist() == loose.loc[small, "n_level"].tolist()


def test_publishing_refuses_a_table_without_its_columns() -> None:
    """A drivers table from an older version (no n_reference) is a ValidationError."""
    with pytest.raises(ValidationError, match="lacks required columns") as info:
        publish_drivers(_table().drop(columns="n_reference"), DisclosureRules())
    assert info.value.column == "n_reference"
    assert "rerun" in info.value.hint


def test_a_catalogue_without_drivers_publishes_an_empty_exportable_table(tmp_path: Path) -> None:
    """Without drivers: an empty table that survives Parquet, publishing and the export gate."""
    text = (ROOT / "config" / "indicators.yaml").read_text()
    lines = [line for line in text.splitlines() if not line.strip().startswith("drivers:")]
    path = tmp_path / "indicators.yaml"
    path.write_text("\n".join(lines) + "\n")
    indicators = load_indicators(path, _catalogue())
    table = indicator_drivers(_wave(), indicators, _catalogue(), survey="demo", wave="w1")
    assert table.empty and list(table.columns) == list(DRIVER_COLUMNS)
    write_parquet(table, tmp_path / "w1.parquet")
    back = pd.read_parquet(tmp_path / "w1.parquet")
    published = publish_drivers(pd.concat([back, back], ignore_index=True), DisclosureRules())
    checked = check_published(published, "indicator_drivers", _catalogue().domain_columns)
    assert checked.empty and list(checked.columns) == list(PUBLISHED_DRIVER_COLUMNS)
