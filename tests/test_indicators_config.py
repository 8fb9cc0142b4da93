"""The indicator catalogue: the default file, and a clear error for each bad input."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from perception.config import (
    Catalogue,
    IndicatorCatalogue,
    load_catalogue,
    load_indicators,
    validate_indicators,
)
from perception.config.indicators import domain_set_columns
from perception.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "config" / "indicators.yaml"
WAVES = ["w1", "w2", "w3"]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    """Load the demo's variable catalogue."""
    return load_catalogue(ROOT / "config" / "variables.yaml")


@pytest.fixture(scope="module")
def default_data() -> dict[str, Any]:
    """Read the default indicator catalogue as plain YAML data."""
    data: dict[str, Any] = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    return data


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    """Write indicator-catalogue data to a YAML file and return it."""
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _position(data: dict[str, Any], indicator_id: str) -> int:
    """Return the position of an indicator in the list."""
    return [i["id"] for i in data["indicators"]].index(indicator_id)


def _fails(
    tmp_path: Path, data: dict[str, Any], catalogue: Catalogue, *fragments: str
) -> ConfigError:
    """Load the data and check the ConfigError names the file and every fragment."""
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_indicators(path, catalogue, waves=WAVES)
    error = info.value
    assert error.file == str(path)
    for fragment in fragments:
        assert fragment in str(error), f"{fragment!r} not in:\n{error}"
    assert error.expected and error.found and error.hint
    return error


def _mutated(data: dict[str, Any], indicator_id: str, **changes: Any) -> dict[str, Any]:
    """Return a copy of the data with keys of one indicator changed (None removes a key)."""
    out = copy.deepcopy(data)
    entry = out["indicators"][_position(out, indicator_id)]
    for key, value in changes.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return out


# --------------------------------------------------------------------------- the default


def test_default_catalogue_loads_and_covers_the_issue(catalogue: Catalogue) -> None:
    """It loads the shipped catalogue: ~20 indicators, every concept the issue lists, EN/FR."""
    indicators = load_indicators(DEFAULT, catalogue, waves=WAVES)
    assert indicators.path == DEFAULT
    assert 18 <= len(indicators.indicators) <= 30
    items = {item for i in indicators.indicators for item in i.items or []}
    assert {
        "incl_peace_process",
        "aware_agreement",
        "know_agreement",
        "consulted_12m",
        "dialogue_attended_12m",
        "voice_system_say",
        "voice_leaders_listen",
        "dialogue_parties",
        "safe_walk_night",
        "violence_experienced_12m",
        "trust_government",
        "trust_police",
        "trust_courts",
        "trust_local_authorities",
        "state_officials_seen",
        "state_services_satisfaction",
        "repr_women",
        "repr_youth",
        "repr_minorities",
        "discrim_experienced_12m",
        "trust_mission",
    } <= items
    types = {i.type for i in indicators.indicators}
    assert types == {"proportion", "net", "mean", "index", "gap"}
    gaps = {(i.of, i.by, i.a, i.b) for i in indicators.indicators if i.type == "gap"}
    assert ("incl_feel_included", "gender", 2, 1) in gaps
    assert ("incl_feel_included", "youth", 1, 2) in gaps
    lower = {i.id for i in indicators.indicators if i.direction == "lower"}
    assert {"violence_experienced", "discrimination_experienced"} <= lower
    assert all(i.label.en != i.label.fr for i in indicators.indicators)
    assert indicators.benchmarks["inclusion"].term == "medium"
    assert any(i.target is not None and i.target_date is not None for i in indicators.indicators)
    assert indicators.baseline_wave(indicators.indicator("mission_protects")) == "w2"
    assert indicators.baseline_wave(indicators.indicator("incl_feel_included")) == "w1"


def test_loaded_catalogue_is_frozen(catalogue: Catalogue) -> None:
    """It refuses to change a loaded catalogue."""
    indicators = load_indicators(DEFAULT, catalogue)
    with pytest.raises(Exception, match="frozen"):
        indicators.indicators[0].target = 0.9  # type: ignore[misc]


def test_domain_set_names_are_canonical() -> None:
    """It reads crossed sets in the order of the survey's domains, whatever the order written."""
    domains = ("gender", "age_band", "youth", "region", "urban_rural")
    assert domain_set_columns("national", domains) == ()
    assert domain_set_columns("region×gender", domains) == ("gender", "region")
    assert domain_set_columns("age_band × gender", domains) == ("gender", "age_band")
    assert domain_set_columns("gender×region", ("region", "gender")) == ("region", "gender")


# --------------------------------------------------------------------------- bad input


def test_unknown_variable_is_named_with_a_suggestion(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects an indicator naming an unknown variable, with its key path and a guess."""
    data = _mutated(default_data, "incl_feel_included", items=["incl_peace_proces"])
    error = _fails(
        tmp_path,
        data,
        catalogue,
        "'incl_feel_included'",
        "unknown variable",
        f"indicators[{_position(data, 'incl_feel_included')}].items[0]",
        "line ",
    )
    assert error.hint == "did you mean 'incl_peace_process'?"


def test_success_code_outside_the_item_codes(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects success codes the item does not have, including don't know."""
    for codes in ([3, 5], [98]):
        data = _mutated(default_data, "trust_mission", success=codes)
        error = _fails(tmp_path, data, catalogue, "'trust_mission'", "success code outside")
        assert error.expected == "one of [1, 2, 3, 4]"
        assert str(codes[-1]) in error.found


@pytest.mark.parametrize(
    ("indicator_id", "target", "expected"),
    [
        ("incl_feel_included", 45, "a value from 0 to 1"),
        ("voice_leaders_listen_net", -1.5, "a value from -1 to 1"),
        ("inclusion_index", 120, "a value from 0 to 100"),
        ("state_services_score", 0.5, "a value from 1 to 4"),
        ("incl_gender_gap", 1.2, "a value from -1 to 1"),
    ],
)
def test_target_outside_the_indicator_range(
    tmp_path: Path,
    default_data: dict[str, Any],
    catalogue: Catalogue,
    indicator_id: str,
    target: float,
    expected: str,
) -> None:
    """It rejects a target outside the range of the indicator's unit."""
    data = _mutated(default_data, indicator_id, target=target)
    error = _fails(tmp_path, data, catalogue, repr(indicator_id), "target outside", ".target")
    assert error.expected == expected


def test_disaggregation_by_a_variable_the_catalogue_lacks(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects a domain set over an unknown variable, in an indicator or the defaults."""
    data = _mutated(default_data, "trust_police", disaggregations=["national", "gender×province"])
    _fails(tmp_path, data, catalogue, "'trust_police'", "'province'", ".disaggregations[1]")
    data = copy.deepcopy(default_data)
    data["defaults"]["disaggregations"] = ["national", "gender*region"]
    error = _fails(tmp_path, data, catalogue, "defaults.disaggregations[1]")
    assert "×" in error.hint


def test_disaggregation_without_a_table_column(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects a domain set by a catalogue variable that is not one of its `domains:`."""
    data = _mutated(default_data, "trust_police", disaggregations=["national", "displacement"])
    error = _fails(
        tmp_path, data, catalogue, "'displacement'", "not one of the catalogue's domains"
    )
    assert "domains:" in error.hint


def test_repeated_domain_set_in_another_order(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects the same crossed set written twice in different orders."""
    data = _mutated(
        default_data, "trust_police", disaggregations=["gender×region", "region×gender"]
    )
    _fails(tmp_path, data, catalogue, "listed twice", ".disaggregations[1]")


def test_gap_of_an_unknown_indicator_or_of_a_gap(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects a gap of an indicator that does not exist, or of another gap."""
    data = _mutated(default_data, "incl_youth_gap", of="incl_feel_include")
    error = _fails(tmp_path, data, catalogue, "'incl_youth_gap'", "unknown indicator", ".of")
    assert error.hint == "did you mean 'incl_feel_included'?"
    data = _mutated(default_data, "incl_youth_gap", of="incl_gender_gap")
    _fails(tmp_path, data, catalogue, "gap of a gap")


def test_gap_codes_and_variable(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects a gap by an unknown variable, codes it lacks, or the same group twice."""
    _fails(tmp_path, _mutated(default_data, "incl_gender_gap", by="sex"), catalogue, ".by")
    _fails(tmp_path, _mutated(default_data, "incl_gender_gap", a=3), catalogue, ".a", "[1, 2]")
    _fails(tmp_path, _mutated(default_data, "incl_gender_gap", a=1), catalogue, "same group")


def test_duplicated_id(tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue) -> None:
    """It rejects two indicators with the same id, naming both places."""
    data = copy.deepcopy(default_data)
    data["indicators"].append(copy.deepcopy(data["indicators"][0]))
    last = len(data["indicators"]) - 1
    error = _fails(tmp_path, data, catalogue, "defined twice", f"indicators[{last}].id")
    assert "indicators[0]" in error.found


def test_unknown_benchmark(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects an indicator serving a benchmark that is not declared."""
    data = _mutated(default_data, "trust_mission", benchmark="missions")
    error = _fails(tmp_path, data, catalogue, "unknown benchmark", ".benchmark")
    assert error.hint == "did you mean 'mission'?"


def test_unknown_key_suggests_the_closest(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects a misspelt key with the closest allowed key."""
    data = _mutated(default_data, "trust_mission", success=None, sucess=[3, 4])
    at = f"indicators[{_position(data, 'trust_mission')}].sucess"
    error = _fails(tmp_path, data, catalogue, "Indicator 'trust_mission'", at, "line ")
    assert error.hint == "did you mean 'success'?"


def test_keys_must_fit_the_type(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects codes on an index, a proportion without success codes, a two-item mean."""
    _fails(
        tmp_path,
        _mutated(default_data, "inclusion_index", success=[3, 4]),
        catalogue,
        "`success` does not apply",
    )
    _fails(
        tmp_path,
        _mutated(default_data, "trust_mission", success=None),
        catalogue,
        "`success` is missing",
    )
    two = ["state_services_satisfaction", "state_officials_seen"]
    _fails(
        tmp_path, _mutated(default_data, "state_services_score", items=two), catalogue, "one item"
    )
    data = _mutated(default_data, "voice_leaders_listen_net", negative=[1, 2, 3])
    _fails(tmp_path, data, catalogue, "both positive and negative")
    data = _mutated(
        default_data,
        "inclusion_index",
        items=["incl_peace_process", "aware_agreement", "info_radio", "gender"],
    )
    _fails(tmp_path, data, catalogue, "not an item", ".items[3]")


def test_mean_of_an_unordered_item(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects a mean score of an item whose codes have no order."""
    catalogue_data = yaml.safe_load((ROOT / "config" / "variables.yaml").read_text())
    catalogue_data["variables"]["trust_mission"]["ordered"] = False
    path = tmp_path / "variables.yaml"
    path.write_text(yaml.safe_dump(catalogue_data, allow_unicode=True), encoding="utf-8")
    unordered = load_catalogue(path)
    data = _mutated(default_data, "state_services_score", items=["trust_mission"])
    _fails(tmp_path, data, unordered, "unordered item")


def test_unknown_baseline_wave(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects a baseline wave the survey does not have, when the waves are given."""
    data = _mutated(default_data, "mission_protects", baseline_wave="w4")
    _fails(tmp_path, data, catalogue, "unknown baseline wave", ".baseline_wave")
    assert load_indicators(_write(tmp_path, data), catalogue).indicators


def test_target_date_needs_a_target(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects a target date without a target."""
    data = _mutated(default_data, "trust_mission", target=None)
    _fails(tmp_path, data, catalogue, "target date without a target")


def test_ci_method_is_set_per_indicator_with_a_default(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It reads ci_method per proportion indicator (default logit, or defaults.ci_method)."""
    data = _mutated(default_data, "incl_feel_included", ci_method="beta")
    loaded = load_indicators(_write(tmp_path, data), catalogue)
    assert loaded.ci_method(loaded.indicator("incl_feel_included")) == "beta"
    assert loaded.ci_method(loaded.indicator("incl_views_considered")) == "logit"
    data["defaults"]["ci_method"] = "wald"
    loaded = load_indicators(_write(tmp_path, data), catalogue)
    assert loaded.ci_method(loaded.indicator("incl_views_considered")) == "wald"
    assert loaded.ci_method(loaded.indicator("incl_feel_included")) == "beta"


def test_ci_method_is_checked(
    tmp_path: Path, default_data: dict[str, Any], catalogue: Catalogue
) -> None:
    """It rejects an unknown ci_method, and one on an indicator that is not a proportion."""
    data = _mutated(default_data, "incl_feel_included", ci_method="betta")
    _fails(tmp_path, data, catalogue, ".ci_method", "did you mean 'beta'")
    mean = next(i["id"] for i in default_data["indicators"] if i["type"] != "proportion")
    data = _mutated(default_data, mean, ci_method="beta")
    _fails(tmp_path, data, catalogue, f"{mean!r}: `ci_method` does not apply", ".ci_method")


def test_in_memory_catalogue_is_checked(default_data: dict[str, Any], catalogue: Catalogue) -> None:
    """It checks a catalogue built in Python with the same rules."""
    indicators = IndicatorCatalogue.model_validate(
        _mutated(default_data, "trust_mission", success=[7])
    )
    with pytest.raises(ConfigError, match="success code outside"):
        validate_indicators(indicators, catalogue)
    validate_indicators(IndicatorCatalogue.model_validate(default_data), catalogue, waves=WAVES)


def test_metadata_for_trends_and_status(catalogue: Catalogue) -> None:
    """It lists each indicator's term, labels, unit, direction, target and baseline, in order."""
    indicators = load_indicators(DEFAULT, catalogue)
    meta = indicators.metadata()
    assert list(meta.columns) == [
        "indicator",
        "benchmark",
        "benchmark_term",
        "label_en",
        "label_fr",
        "type",
        "unit",
        "direction",
        "target",
        "target_date",
    ]
    assert meta["indicator"].tolist() == [i.id for i in indicators.indicators]
    rows = meta.set_index("indicator")
    assert tuple(rows.loc["incl_gender_gap", ["benchmark_term", "type", "unit"]]) == (
        "medium",
        "gap",
        "percent",
    )
    assert rows.loc["inclusion_index", "unit"] == "score"
    assert rows.loc["state_services_score", "unit"] == "score"
    assert rows.loc["incl_feel_included", "target_date"].isoformat() == "2027-06-30"
    assert pd.isna(rows.loc["know_agreement", "target"])
    assert rows.loc["know_agreement", "target_date"] is None
    assert indicators.directions()["violence_experienced"] == "lower"
    assert indicators.baselines()["mission_protects"] == "w2"
    assert indicators.baselines()["trust_mission"] == "w1"
