"""The estimate step's handling of a `sample: nonprobability` wave (perception.flow)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from perception import flow
from perception.codebook import harmonize_file, write_harmonized
from perception.config import load_targets, load_weighting_config
from perception.demo import generate
from perception.errors import PerceptionError
from perception.nonprob import (
    DESIGN_UNCERTAINTY,
    balance_table,
    estimate_nonprobability_wave,
    weight_diagnostics,
)
from perception.weighting.workflow import weight_wave

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def setup(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[flow.Workspace, dict[str, pd.DataFrame]]:
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
    ws = flow.load_workspace(survey, root)
    raw = root / "data" / "raw"
    generate(raw, waves=["w1", "w2"])
    frames = {}
    for wave in ws.survey.waves[:2]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fallback-salt warning for a personal id
            frames[wave.id] = harmonize_file(
                raw / wave.file, ws.project.codebooks[wave.id], ws.project.catalogue, survey="demo"
            )
        write_harmonized(frames[wave.id], ws.output("harmonized", wave.id), ws.project.catalogue)
    return ws, frames


def test_missing_reference_weights_fail_naming_the_wave(
    setup: tuple[flow.Workspace, dict[str, pd.DataFrame]],
) -> None:
    """Before the reference wave is weighted, the SMS wave's estimates fail naming it."""
    ws, _ = setup
    ws.output("weighted", "w1").unlink(missing_ok=True)
    with pytest.raises(PerceptionError, match="Wave w1 has no weights"):
        flow._nonprobability_table(ws, ws.wave("w2"), pd.DataFrame())


def test_without_reference_the_step_blanks_design_uncertainty(
    setup: tuple[flow.Workspace, dict[str, pd.DataFrame]],
) -> None:
    """A non-probability wave without a reference keeps its estimates and loses every SE/CI."""
    ws, _ = setup
    wave = ws.wave("w2").model_copy(update={"reference_wave": None, "covariates": None})
    table = pd.DataFrame({"estimate": [0.4, 0.5], **{c: [0.1, 0.2] for c in DESIGN_UNCERTAINTY}})
    out, diagnostics = flow._nonprobability_table(ws, wave, table)
    assert diagnostics == {}
    assert out["estimate"].tolist() == [0.4, 0.5]
    assert out[list(DESIGN_UNCERTAINTY)].isna().all().all()


def test_with_reference_the_step_uses_the_checked_weights_of_the_reference_wave(
    setup: tuple[flow.Workspace, dict[str, pd.DataFrame]],
) -> None:
    """The pseudo-weights are fitted to the reference wave's design as the weights step wrote it."""
    ws, frames = setup
    flow.weigh(ws, "w1")
    got, diagnostics = flow._nonprobability_table(ws, ws.wave("w2"), pd.DataFrame())
    reference, _ = weight_wave(
        frames["w1"],
        load_weighting_config(ws.root / "config" / "weighting.yaml"),
        load_targets(ws.root / "config" / "targets" / "demo_census.yaml"),
    )
    covariates = ["gender", "age_band", "region"]
    want, fit = estimate_nonprobability_wave(
        frames["w2"],
        ws.indicators,
        ws.project.catalogue,
        survey="demo",
        wave="w2",
        reference=reference,
        covariates=covariates,
    )
    estimated = want["availability"].eq("estimated").to_numpy()
    assert estimated.sum() > 100
    for column in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(got[column], want[column], rtol=1e-9)
    assert got["df"].isna().all()
    assert fit is not None
    pd.testing.assert_frame_equal(
        diagnostics["pseudo_weights"], weight_diagnostics(fit, reference), rtol=1e-9
    )
    pd.testing.assert_frame_equal(
        diagnostics["covariate_balance"],
        balance_table(frames["w2"], reference, covariates, fit.weights),
        rtol=1e-9,
    )


def test_the_estimate_step_reports_the_pseudo_weights_diagnostics(
    setup: tuple[flow.Workspace, dict[str, pd.DataFrame]],
) -> None:
    """The estimates' metadata give the pseudo-weights' deff, propensity range and balance."""
    ws, _ = setup
    flow.weigh(ws, "w1")
    flow.weigh(ws, "w2")
    metadata = flow.estimate(ws, "w2").metadata
    weights = metadata["pseudo_weights"]
    assert weights["kish_deff"].iloc[0] >= 1.0
    assert 0.0 < weights["propensity_min"].iloc[0] <= weights["propensity_max"].iloc[0] < 1.0
    balance = metadata["covariate_balance"]
    assert set(balance["covariate"]) == {"gender", "age_band", "region"}
    # w2 is a probability sample of the same population: weighting keeps it balanced
    assert balance["asmd_after"].max() < 0.1
