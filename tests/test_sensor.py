"""The raw-files sensor: content-hash cursor, one run per new or changed wave, hints for strays."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest
from demo_project import DemoRun, add_second_survey

from pipelines.definitions import PROJECT_ROOT, build_definitions
from pipelines.run import open_instance
from pipelines.sensors import last_good_source


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Return a project copy whose raw folder holds two small stand-ins for wave files."""
    shutil.copytree(PROJECT_ROOT / "config", tmp_path / "config")
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "demo_w1_pollster.sav").write_bytes(b"wave one")
    (raw / "demo_w2_university.dta").write_bytes(b"wave two")
    return tmp_path


def _tick(root: Path, cursor: str | None) -> tuple[list[str], str, list[str]]:
    """Evaluate the sensor once; return requested partitions, the new cursor and warnings."""
    defs = build_definitions(root)
    sensor = defs.resolve_sensor_def("raw_files_sensor")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        warnings: list[str] = []
        context.log.warning = warnings.append  # type: ignore[method-assign]
        result = sensor.evaluate_tick(context)
    assert result.cursor is not None
    return [r.partition_key for r in result.run_requests or []], result.cursor, warnings


def test_it_requests_each_wave_whose_file_appeared(root: Path) -> None:
    """It requests a run for every configured wave file present on the first tick, and no more."""
    requested, cursor, _ = _tick(root, None)
    assert requested == ["demo|w1", "demo|w2"]
    again, _, _ = _tick(root, cursor)
    assert again == []


def test_an_identical_recopy_does_not_trigger_but_new_content_does(root: Path) -> None:
    """It ignores a re-copy with the same bytes (new mtime) and runs a wave whose bytes changed."""
    _, cursor, _ = _tick(root, None)
    w1 = root / "data" / "raw" / "demo_w1_pollster.sav"
    w2 = root / "data" / "raw" / "demo_w2_university.dta"
    w1.write_bytes(b"wave one")
    os.utime(w1, ns=(1, 1))
    w2.write_bytes(b"wave two, corrected")
    requested, cursor, _ = _tick(root, cursor)
    assert requested == ["demo|w2"]
    (root / "data" / "raw" / "demo_w3_kobo.xlsx").write_bytes(b"wave three")
    assert _tick(root, cursor)[0] == ["demo|w3"]


def test_a_file_matching_no_wave_is_logged_with_a_hint(root: Path) -> None:
    """It logs a file that matches no configured wave once, with how to add the wave."""
    (root / "data" / "raw" / "wave4_new_firm.sav").write_bytes(b"stray")
    requested, cursor, warnings = _tick(root, None)
    assert "demo|w1" in requested and len(warnings) == 1
    assert "wave4_new_firm.sav" in warnings[0] and "perception codebook init" in warnings[0]
    assert _tick(root, cursor)[2] == []


def test_it_watches_every_survey_of_the_deployment(root: Path) -> None:
    """It requests survey-qualified partitions for each survey's own raw folder."""
    raw_b = add_second_survey(root)
    raw_b.mkdir()
    (raw_b / "demo_w1_pollster.sav").write_bytes(b"survey b, wave one")
    requested, cursor, warnings = _tick(root, None)
    assert requested == ["demo|w1", "demo|w2", "demo_b|w1"]
    assert warnings == []
    (raw_b / "demo_w1_pollster.sav").write_bytes(b"survey b, wave one, corrected")
    assert _tick(root, cursor)[0] == ["demo_b|w1"]


def test_a_fresh_cursor_starts_from_the_last_good_runs(
    demo_copy: DemoRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a cursor (`make dev` after `make demo`) it re-runs no wave whose last run succeeded.

    Only a wave whose file changed since its last good run is requested.
    """
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the demo's own instance, in root/.dagster
    defs = build_definitions(demo_copy.root)
    sensor = defs.resolve_sensor_def("raw_files_sensor")

    def tick(instance: dg.DagsterInstance) -> list[str]:
        context = dg.build_sensor_context(instance=instance, cursor=None, definitions=defs)
        return [r.partition_key for r in sensor.evaluate_tick(context).run_requests or []]

    with open_instance(demo_copy.root) as instance:
        assert None not in {last_good_source(instance, f"demo|{w}") for w in ("w1", "w2", "w3")}
        assert tick(instance) == []
        w2 = demo_copy.raw / "demo_w2_university.dta"
        w2.write_bytes(w2.read_bytes() + b"\0")
        assert tick(instance) == ["demo|w2"]
