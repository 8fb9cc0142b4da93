"""Population targets file: validation, error messages, derived margins."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from perception.config import load_targets
from perception.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

SEX_AGE_REGION = [
    [g, a, r, 1000 * g + 100 * a + r] for g in (1, 2) for a in (1, 2, 3) for r in (1, 2)
]


def _region_totals() -> dict[int, int]:
    """Return the region totals of SEX_AGE_REGION, summed by hand."""
    totals = {1: 0, 2: 0}
    for _, _, region, count in SEX_AGE_REGION:
        totals[region] += count
    return totals


def _content() -> dict[str, Any]:
    """Return a valid targets file: sex × age × region, and region × urban with equal totals."""
    regions = _region_totals()
    return {
        "survey": "demo",
        "source": "test census",
        "reference_date": "2025-07-01",
        "tables": [
            {
                "name": "sex_age_region",
                "dimensions": ["gender", "age_band", "region"],
                "rows": copy.deepcopy(SEX_AGE_REGION),
            },
            {
                "name": "region_urban",
                "dimensions": ["region", "urban_rural"],
                "rows": [
                    [1, 1, regions[1] - 300],
                    [1, 2, 300],
                    [2, 1, regions[2] - 200],
                    [2, 2, 200],
                ],
            },
        ],
    }


def _write(tmp_path: Path, content: dict[str, Any]) -> Path:
    """Write a targets file and return its path."""
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path


def _error(tmp_path: Path, content: dict[str, Any]) -> ConfigError:
    """Load a bad targets file and return the ConfigError it raises."""
    path = _write(tmp_path, content)
    with pytest.raises(ConfigError) as info:
        load_targets(path)
    assert info.value.file == str(path)
    return info.value


def test_margins_are_sums_over_the_other_dimensions(tmp_path: Path) -> None:
    """It derives each variable's margin by summing its table over the other dimensions."""
    targets = load_targets(_write(tmp_path, _content()))
    gender = {g: sum(r[3] for r in SEX_AGE_REGION if r[0] == g) for g in (1, 2)}
    assert targets.margin("gender") == gender
    assert targets.margin("region") == _region_totals()
    assert targets.margin("urban_rural") == {1: sum(_region_totals().values()) - 500, 2: 500}
    assert targets.grand_total == sum(r[3] for r in SEX_AGE_REGION)


def test_joint_cells_are_keyed_by_tuples(tmp_path: Path) -> None:
    """It gives post-stratification cells keyed by tuples of codes, in the order asked."""
    targets = load_targets(_write(tmp_path, _content()))
    cells = targets.margin(["age_band", "gender"])
    expected = sum(r[3] for r in SEX_AGE_REGION if r[1] == 3 and r[0] == 2)
    assert cells[(3, 2)] == expected
    assert len(cells) == 6


def test_raking_margins_are_named_by_variable(tmp_path: Path) -> None:
    """It returns {name: {code: total}}, naming a crossed margin gender:age_band."""
    targets = load_targets(_write(tmp_path, _content()))
    margins = targets.raking_margins(["region", ["gender", "age_band"]])
    assert list(margins) == ["region", "gender:age_band"]
    assert margins["region"] == _region_totals()


def test_small_total_difference_is_accepted(tmp_path: Path) -> None:
    """It accepts tables whose grand totals differ by less than 0.1%."""
    content = _content()
    content["tables"][1]["rows"][0][2] += 5  # +5 on a total of about 22,000: 0.02%
    load_targets(_write(tmp_path, content))


def test_inconsistent_grand_totals_are_rejected(tmp_path: Path) -> None:
    """It rejects tables whose grand totals differ by more than 0.1%, naming the table's key."""
    content = _content()
    content["tables"][1]["rows"][1][2] += 1000
    error = _error(tmp_path, content)
    assert "tables[1].rows" in error.message
    assert "line" in error.message
    assert "grand total" in error.expected


def test_disagreeing_shared_margin_is_rejected(tmp_path: Path) -> None:
    """It rejects two tables that disagree on a shared dimension's totals."""
    content = _content()
    rows = content["tables"][1]["rows"]
    rows[0][2] += 1000  # region 1 up, region 2 down: same grand total
    rows[2][2] -= 1000
    error = _error(tmp_path, content)
    assert "region" in error.expected


@pytest.mark.parametrize(
    ("where", "key"),
    [((), "year"), (("tables", 0), "weights")],
)
def test_unknown_keys_are_rejected(tmp_path: Path, where: tuple[Any, ...], key: str) -> None:
    """It rejects an unknown key at any level, naming it and the keys allowed there."""
    content = _content()
    node: Any = content
    for part in where:
        node = node[part]
    node[key] = 1
    error = _error(tmp_path, content)
    assert key in error.found
    assert "dimensions" in error.expected or "tables" in error.expected


def test_non_positive_count_is_rejected(tmp_path: Path) -> None:
    """It rejects a zero count, naming the row's key path."""
    content = _content()
    content["tables"][0]["rows"][2][3] = 0
    error = _error(tmp_path, content)
    assert "tables[0].rows[2]" in error.message


def test_incomplete_table_is_rejected(tmp_path: Path) -> None:
    """It rejects a table missing a combination of codes."""
    content = _content()
    del content["tables"][0]["rows"][4]
    error = _error(tmp_path, content)
    assert "combination" in error.expected


@pytest.mark.parametrize(
    ("row", "word"),
    [([1, 1, 500], "numbers"), ([1, 1, 1, 500], "each cell once"), ([1.5, 1, 1, 9], "integer")],
)
def test_malformed_rows_are_rejected(tmp_path: Path, row: list[float], word: str) -> None:
    """It rejects a row of the wrong length, a duplicate cell, and a non-integer code."""
    content = _content()
    content["tables"][0]["rows"].append(row)
    error = _error(tmp_path, content)
    assert word in error.expected
    assert "tables[0].rows[12]" in error.message


def test_codes_are_checked_against_the_catalogue(tmp_path: Path) -> None:
    """It rejects a code or a dimension that the variable catalogue does not know."""
    targets = load_targets(_write(tmp_path, _content()))
    codes = {"gender": [1, 2], "age_band": [1, 2, 3, 4, 5], "region": [1], "urban_rural": [1, 2]}
    with pytest.raises(ConfigError) as info:
        targets.check_codes(codes)
    assert "[2]" in info.value.found
    with pytest.raises(ConfigError) as unknown:
        targets.check_codes({"gender": [1, 2]})
    assert "age_band" in unknown.value.found


def test_margin_absent_from_every_table_is_an_error(tmp_path: Path) -> None:
    """It says no table holds a requested crossing."""
    targets = load_targets(_write(tmp_path, _content()))
    with pytest.raises(ConfigError) as info:
        targets.margin(["gender", "urban_rural"])
    assert "gender" in info.value.expected


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """It reports a targets file that does not exist."""
    with pytest.raises(ConfigError):
        load_targets(tmp_path / "absent.yaml")


def test_demo_targets_file_is_valid() -> None:
    """It accepts the demo census targets and derives the four raking margins from them."""
    path = ROOT / "config" / "targets" / "demo_census.yaml"
    if not path.is_file():
        pytest.skip("config/targets/demo_census.yaml is not in this checkout yet")
    targets = load_targets(path)
    margins = targets.raking_margins(["gender", "age_band", "region", "urban_rural"])
    for cells in margins.values():
        assert sum(cells.values()) == pytest.approx(targets.grand_total, rel=1e-3)
