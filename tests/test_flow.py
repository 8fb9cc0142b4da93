"""perception.flow: the wave's steps in order, and estimates only from the checked weights."""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from perception import flow
from perception.config import SURVEY_FILE
from perception.demo import generate
from perception.errors import PerceptionError
from perception.storage import write_parquet
from pipelines.definitions import PROJECT_ROOT, build_definitions

WAVE = "w1"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a copy of the demo project with wave w1's raw file."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    generate(root / "data" / "raw", waves=[WAVE])
    return root


def _workspace(root: Path) -> flow.Workspace:
    """Load the demo survey's workspace of a project."""
    return flow.load_workspace(root / SURVEY_FILE, root)


@pytest.fixture(scope="module")
def weighed(root: Path) -> flow.Workspace:
    """Return the workspace after wave w1 was harmonized and weighted (before estimates)."""
    ws = _workspace(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fallback-salt warning for a personal id
        flow.harmonize(ws, WAVE)
    flow.weigh(ws, WAVE)
    return ws


@pytest.fixture
def edited_weighting(root: Path) -> Iterator[Path]:
    """Yield weighting.yaml, edited after the weights were computed; restore it afterwards."""
    path = root / "config" / "weighting.yaml"
    text = path.read_text(encoding="utf-8")
    assert "median_multiple: 5" in text
    path.write_text(text.replace("median_multiple: 5", "median_multiple: 4"), encoding="utf-8")
    yield path
    path.write_text(text, encoding="utf-8")


def test_the_design_estimated_from_is_the_one_the_weights_step_wrote(
    weighed: flow.Workspace,
) -> None:
    """Its weights are the published weights, and its calibration history is kept."""
    design = flow.checked_design(weighed, WAVE)
    published = pd.read_parquet(weighed.output("weighted", WAVE))
    np.testing.assert_array_equal(design.weights, published["weight"].to_numpy())
    assert design.calibration[0].method == "raking"  # the variance needs it
    step = flow.estimate(weighed, WAVE)
    assert not flow.failed_blocking(step)
    table = pd.read_parquet(step.path)
    assert (table["wave"] == WAVE).all()
    assert table["se"].notna().sum() > 100


def test_estimates_refuse_weights_whose_config_changed_since(
    weighed: flow.Workspace, edited_weighting: Path
) -> None:
    """Editing weighting.yaml between the weights and the estimates fails loudly, naming it."""
    ws = _workspace(weighed.root)
    assert ws is not weighed  # the edited file is read again
    for step in (flow.estimate, flow.drivers):
        with pytest.raises(PerceptionError, match="changed after they were computed") as caught:
            step(ws, WAVE)
        assert edited_weighting.relative_to(ws.survey.root).as_posix() in caught.value.found
        assert "--wave w1" in caught.value.hint


def test_estimates_follow_the_weights_again_once_they_are_recomputed(
    weighed: flow.Workspace, edited_weighting: Path
) -> None:
    """After the weights step runs on the edited config, the estimates use its new weights."""
    ws = _workspace(weighed.root)
    old = pd.read_parquet(ws.output("weighted", WAVE))["weight"].to_numpy()
    _, design = flow.weigh(ws, WAVE)
    checked = flow.checked_design(ws, WAVE)
    np.testing.assert_array_equal(checked.weights, design.weights)
    assert not np.allclose(checked.weights, old)  # a lower trimming cap moved the weights
    assert checked.weights.max() < old.max()


def test_weights_with_a_failed_blocking_check_are_refused(
    root: Path, weighed: flow.Workspace
) -> None:
    """A weights record naming a failed blocking check stops the estimates."""
    ws = _workspace(root)
    flow.weigh(ws, WAVE)
    path = ws.output("weighted", WAVE)
    table = pq.read_table(path)
    metadata = dict(table.schema.metadata or {})
    record = json.loads(metadata[flow.WEIGHTS_RECORD.encode()])
    record["failed_checks"] = ["margins_met"]
    try:
        write_parquet(table.to_pandas(), path, metadata={flow.WEIGHTS_RECORD: json.dumps(record)})
        with pytest.raises(PerceptionError, match="failed blocking checks") as caught:
            flow.estimate(ws, WAVE)
        assert "margins_met" in caught.value.found
    finally:
        flow.weigh(ws, WAVE)


def test_a_replaced_design_file_is_refused(root: Path, weighed: flow.Workspace) -> None:
    """A design file other than the one the weights step wrote is not estimated from."""
    ws = _workspace(root)
    flow.weigh(ws, WAVE)
    design_file = ws.folder("weighted") / f"{WAVE}.design.pickle"
    blob = design_file.read_bytes()
    try:
        design_file.write_bytes(blob + b"\0")
        with pytest.raises(PerceptionError, match="not the one its weights step wrote"):
            flow.checked_design(ws, WAVE)
    finally:
        design_file.write_bytes(blob)
    assert flow.checked_design(ws, WAVE).n_rows > 0


def test_a_wave_without_weights_has_no_estimates(root: Path) -> None:
    """Estimating a wave that was never weighted says which step to run."""
    with pytest.raises(PerceptionError, match="has no weights") as caught:
        flow.estimate(_workspace(root), "w2")
    assert "perception run --wave w2" in caught.value.hint


def test_process_wave_weighs_once(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wave's steps run in order, and weighting runs once for all of them."""
    calls: list[str] = []
    real = flow.weight_wave

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("weight_wave")
        return real(*args, **kwargs)

    monkeypatch.setattr(flow, "weight_wave", counted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        steps = flow.process_wave(_workspace(root), WAVE)
    assert [s.name for s in steps] == ["harmonize", "weigh", "estimate", "drivers", "small_areas"]
    assert calls == ["weight_wave"]
    assert all(not flow.failed_blocking(s) for s in steps)


def test_the_workspace_is_loaded_once_per_config_content(root: Path) -> None:
    """Two loads of an unchanged configuration share one workspace."""
    assert _workspace(root) is _workspace(root)


def test_dagster_estimates_fail_on_weights_whose_config_changed(tmp_path: Path, root: Path) -> None:
    """In Dagster too: weights, then an edited weighting.yaml, then estimates: a failed step."""
    shutil.copytree(root / "config", tmp_path / "config")
    shutil.copytree(root / "data" / "raw", tmp_path / "data" / "raw")
    job = build_definitions(tmp_path).resolve_job_def("wave_job")
    instance = dg.DagsterInstance.ephemeral()

    def run(*assets: str) -> dg.ExecuteInProcessResult:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return job.execute_in_process(
                partition_key=f"demo|{WAVE}",
                instance=instance,
                raise_on_error=False,
                asset_selection=[dg.AssetKey(a) for a in assets],
            )

    assert run("harmonized_responses", "weights").success
    weighting = tmp_path / "config" / "weighting.yaml"
    text = weighting.read_text(encoding="utf-8")
    weighting.write_text(text.replace("median_multiple: 5", "median_multiple: 4"), "utf-8")
    result = run("indicator_estimates")
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1
    message = str(failures[0].step_failure_data.error)
    assert "changed after they were computed" in message
    assert not (tmp_path / "data" / "processed" / "demo" / "estimates" / f"{WAVE}.parquet").exists()
