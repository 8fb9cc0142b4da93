"""The indicator_estimates asset's handling of a `sample: nonprobability` wave."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from perception.codebook import harmonize_file, write_harmonized
from perception.config import Project, load_indicators, load_targets, load_weighting_config
from perception.demo import generate
from perception.nonprob import DESIGN_UNCERTAINTY, estimate_nonprobability_wave
from perception.weighting import weight_wave
from pipelines.assets import _nonprobability_table
from pipelines.resources import SurveyProject

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[SurveyProject, Project, dict[str, pd.DataFrame]]:
    """Copy the demo config, declare w2 an SMS poll against w1, harmonize w1 and w2."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "config", root / "config")
    survey = root / "config" / "survey.yaml"
    text = survey.read_text(encoding="utf-8")
    anchor = "    codebook: config/codebooks/demo_w2.yaml\n"
    assert anchor in text
    survey.write_text(
        text.replace(
            anchor,
            anchor + "    sample: nonprobability\n    reference_wave: w1\n"
            "    covariates: [gender, age_band, region]\n",
        ),
        encoding="utf-8",
    )
    project = SurveyProject(root=str(root))
    loaded = project.load("demo")
    raw = root / "data" / "raw"
    generate(raw, waves=["w1", "w2"])
    frames = {}
    for wave in loaded.survey.waves[:2]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fallback-salt warning for a personal id
            frames[wave.id] = harmonize_file(
                raw / wave.file, loaded.codebooks[wave.id], loaded.catalogue, survey="demo"
            )
    return project, loaded, frames


def test_missing_reference_output_is_a_dagster_failure(
    setup: tuple[SurveyProject, Project, dict[str, pd.DataFrame]],
) -> None:
    """Before the reference wave is harmonized, the SMS wave's estimates fail naming it."""
    project, loaded, frames = setup
    path = project.output(loaded, "harmonized", "w1")
    path.unlink(missing_ok=True)
    indicators = load_indicators(project.indicators_path(loaded), loaded.catalogue)
    with pytest.raises(dg.Failure, match="reference wave w1 harmonized first"):
        _nonprobability_table(
            project, loaded, project.wave(loaded, "w2"), frames["w2"], pd.DataFrame(), indicators
        )


def test_without_reference_the_asset_blanks_design_uncertainty(
    setup: tuple[SurveyProject, Project, dict[str, pd.DataFrame]],
) -> None:
    """A non-probability wave without a reference keeps its estimates and loses every SE/CI."""
    project, loaded, frames = setup
    wave = project.wave(loaded, "w2").model_copy(
        update={"reference_wave": None, "covariates": None}
    )
    table = pd.DataFrame({"estimate": [0.4, 0.5], **{c: [0.1, 0.2] for c in DESIGN_UNCERTAINTY}})
    indicators = load_indicators(project.indicators_path(loaded), loaded.catalogue)
    out = _nonprobability_table(project, loaded, wave, frames["w2"], table, indicators)
    assert out["estimate"].tolist() == [0.4, 0.5]
    assert out[list(DESIGN_UNCERTAINTY)].isna().all().all()


def test_with_reference_the_asset_uses_the_weighted_reference_wave(
    setup: tuple[SurveyProject, Project, dict[str, pd.DataFrame]],
) -> None:
    """The asset fits the pseudo-weights to the reference wave as the weights asset weights it."""
    project, loaded, frames = setup
    write_harmonized(frames["w1"], project.output(loaded, "harmonized", "w1"), loaded.catalogue)
    indicators = load_indicators(project.indicators_path(loaded), loaded.catalogue)
    wave = project.wave(loaded, "w2")
    got = _nonprobability_table(project, loaded, wave, frames["w2"], pd.DataFrame(), indicators)
    root = Path(project.root)
    reference, _ = weight_wave(
        frames["w1"],
        load_weighting_config(root / "config" / "weighting.yaml"),
        load_targets(root / "config" / "targets" / "demo_census.yaml"),
    )
    want, _ = estimate_nonprobability_wave(
        frames["w2"],
        indicators,
        loaded.catalogue,
        survey="demo",
        wave="w2",
        reference=reference,
        covariates=["gender", "age_band", "region"],
    )
    estimated = want["availability"].eq("estimated").to_numpy()
    assert estimated.sum() > 100
    for column in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(got[column], want[column], rtol=1e-9)
    assert got["df"].isna().all()
