"""Weighting settings (config/weighting.yaml): the demo file and the errors of bad files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from perception.config import WeightingConfig, load_weighting_config
from perception.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_demo_config_rakes_on_the_four_demographics() -> None:
    """It loads the demo settings: base_weight column, stratum/psu, raking, 5 x median cap."""
    config = load_weighting_config(ROOT / "config" / "weighting.yaml")
    assert config.base_weight.column == "base_weight"
    assert (config.design.strata, config.design.psu) == ("stratum", "psu")
    assert config.calibration.method == "rake"
    assert config.calibration.specs == ("gender", "age_band", "region", "urban_rural")
    assert config.trimming is not None
    assert config.trimming.cap.median_multiple == 5
    assert config.missing_policy == "error"


def _write(tmp_path: Path, content: dict[str, Any]) -> Path:
    """Write a weighting config and return its path."""
    path = tmp_path / "weighting.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path


def _minimal() -> dict[str, Any]:
    """Return the smallest valid weighting config."""
    return {"base_weight": {"column": "w"}, "calibration": {"margins": ["gender"]}}


def test_minimal_config_takes_documented_defaults(tmp_path: Path) -> None:
    """It fills defaults: raking, no trimming, missing values are an error, margins as domains."""
    config = load_weighting_config(_write(tmp_path, _minimal()))
    assert config.calibration.method == "rake"
    assert config.trimming is None
    assert config.nonresponse is None
    assert config.missing_policy == "error"
    assert config.domain_specs == ("gender",)


def test_crossed_margins_become_tuples(tmp_path: Path) -> None:
    """It reads [gender, age_band] in margins as one crossed margin."""
    content = _minimal()
    content["calibration"]["margins"] = [["gender", "age_band"], "region"]
    config = load_weighting_config(_write(tmp_path, content))
    assert config.calibration.specs == (("gender", "age_band"), "region")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c["calibration"].update(tolerence=1e-6), "calibration.tolerence"),
        (lambda c: c["base_weight"].update(stage_probabilities=["p1"]), "base_weight"),
        (lambda c: c["calibration"].update(method="ipf"), "calibration.method"),
        (lambda c: c.update(missing_policy="impute"), "missing_policy"),
        (
            lambda c: c["calibration"].update(method="poststratify", margins=["a", "b"]),
            "calibration",
        ),
        (lambda c: c.update(trimming={"cap": {"median_multiple": 5, "percentile": 99}}), "cap"),
    ],
)
def test_bad_settings_name_the_file_and_key(tmp_path: Path, change: Any, key: str) -> None:
    """It rejects unknown keys and bad values, naming the file and the key path."""
    content = _minimal()
    change(content)
    path = _write(tmp_path, content)
    with pytest.raises(ConfigError) as info:
        load_weighting_config(path)
    assert info.value.file == str(path)
    assert key in info.value.message


def test_unknown_key_suggests_the_right_spelling(tmp_path: Path) -> None:
    """It suggests the closest valid key for a misspelt one."""
    content = _minimal()
    content["calibration"]["tolerence"] = 1e-6
    with pytest.raises(ConfigError) as info:
        load_weighting_config(_write(tmp_path, content))
    assert "tolerance" in info.value.hint


def test_model_is_frozen() -> None:
    """It refuses to change settings after loading."""
    config = WeightingConfig.model_validate(_minimal())
    with pytest.raises(ValueError, match="frozen"):
        config.missing_policy = "separate_category"  # type: ignore[misc]
