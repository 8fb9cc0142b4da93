"""Preflight: a broken instance or survey configuration is a clear error before any run starts."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perception.errors import ConfigError
from pipelines.definitions import PROJECT_ROOT
from pipelines.preflight import CONNECT_TIMEOUT_S, main, preflight

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PG_ENV = {
    "PERCEPTION_PG_HOST": "127.0.0.1",
    "PERCEPTION_PG_USER": "perception",
    "PERCEPTION_PG_PASSWORD": "perception",
    "PERCEPTION_PG_DB": "perception",
}


@pytest.fixture
def project(tmp_path: Path, demo_raw: Path) -> Path:
    """Return a copy of the demo project with its raw files."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    shutil.copytree(demo_raw, root / "data" / "raw")
    return root


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Return an empty DAGSTER_HOME, set in the environment."""
    folder = tmp_path / "dagster_home"
    folder.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(folder))
    yield folder


def _install(home: Path, source: str) -> Path:
    """Copy a dagster.yaml from deploy/ into a DAGSTER_HOME."""
    return Path(shutil.copy(DEPLOY / source / "dagster.yaml", home / "dagster.yaml"))


def _closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_accepts_the_demo_project_on_the_embedded_instance(project: Path, home: Path) -> None:
    """It passes the demo project with deploy/local/dagster.yaml in DAGSTER_HOME."""
    _install(home, "local")
    preflight(project)


def test_checks_only_the_survey_without_dagster_home(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without DAGSTER_HOME (Dagster's temporary instance) only the survey files are checked."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    preflight(project)
    (project / "config" / "weighting.yaml").unlink()
    with pytest.raises(ConfigError, match="weighting"):
        preflight(project)


def test_rejects_a_dagster_home_without_dagster_yaml(project: Path, home: Path) -> None:
    """A DAGSTER_HOME holding no dagster.yaml is an error that says how to add one."""
    with pytest.raises(ConfigError, match=r"no dagster\.yaml") as caught:
        preflight(project)
    assert caught.value.file == str(home / "dagster.yaml")
    assert "deploy/postgres/dagster.yaml" in caught.value.hint


@pytest.mark.parametrize("where", ["missing", "relative"])
def test_rejects_a_dagster_home_that_is_not_a_folder(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A DAGSTER_HOME that does not exist or is not absolute is an error."""
    home = tmp_path / "nowhere" if where == "missing" else Path("relative/home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with pytest.raises(ConfigError, match="DAGSTER_HOME is not an existing folder") as caught:
        preflight(project)
    assert ("no such folder" if where == "missing" else "not absolute") in caught.value.found


def test_rejects_invalid_yaml(project: Path, home: Path) -> None:
    """A dagster.yaml that is not YAML is an error with its line."""
    (home / "dagster.yaml").write_text("storage:\n  postgres: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"Invalid YAML at line 3") as caught:
        preflight(project)
    assert caught.value.file == str(home / "dagster.yaml")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("- storage\n- postgres\n", "a list"),
        ("storage:\n  sqlite: {}\n  postgres: {}\n", "Expected one of:['postgres'"),
        ("run_launcher:\n  module: dagster\n  class: DefaultRunLauncher\n  config: 3\n", "line 4"),
        (
            "run_coordinator:\n  module: dagster._core.run_coordinator\n"
            "  class: QueuedRunCoordinator\n  config:\n    max_concurent_runs: 2\n",
            "run_coordinator.config.max_concurent_runs (line 5)",
        ),
        (
            "storage:\n  postgres:\n    postgres_db:\n      hostname: localhost\n",
            "storage.postgres.postgres_db",
        ),
    ],
)
def test_rejects_config_that_dagster_refuses(
    project: Path, home: Path, text: str, where: str
) -> None:
    """A dagster.yaml that Dagster's validation refuses is an error naming where."""
    (home / "dagster.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        preflight(project)
    assert where in str(caught.value)


def test_rejects_an_unset_environment_variable(
    project: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL setting read from an unset variable is named before anything connects."""
    _install(home, "postgres")
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PERCEPTION_PG_PORT", raising=False)
    with pytest.raises(ConfigError, match=r"postgres_db\.port") as caught:
        preflight(project)
    assert "PERCEPTION_PG_PORT" in caught.value.found


def test_rejects_an_unreachable_postgres_server_quickly(
    project: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreachable PostgreSQL server fails fast, hides the password, starts nothing.

    Fast: within the connect timeout (and 2 s) of the same preflight on the embedded SQLite
    instance, timed just before, so that a loaded machine slows both alike.
    """
    _install(home, "local")
    start = time.monotonic()
    preflight(project)
    embedded = time.monotonic() - start
    shutil.rmtree(home)
    home.mkdir()
    config = _install(home, "postgres")
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    port = _closed_port()
    monkeypatch.setenv("PERCEPTION_PG_PORT", str(port))
    monkeypatch.setenv("PERCEPTION_PG_PASSWORD", "s3cret-never-shown")
    start = time.monotonic()
    with pytest.raises(ConfigError, match="cannot be reached") as caught:
        preflight(project)
    assert time.monotonic() - start < embedded + CONNECT_TIMEOUT_S + 2
    assert f"127.0.0.1:{port}" in caught.value.expected
    assert "s3cret-never-shown" not in str(caught.value)
    assert caught.value.file == str(config)
    assert sorted(p.name for p in home.iterdir()) == ["dagster.yaml"], "nothing half-started"


@pytest.mark.parametrize(
    ("remove", "key"),
    [
        ("data/raw/demo_w2_university.dta", "waves[1].file (line 2"),
        ("config/codebooks/demo_w3.yaml", "waves[2].codebook (line 3"),
        ("config/targets/demo_census.yaml", "targets (line 14)"),
        ("config/weighting.yaml", "weighting (line 15)"),
    ],
)
def test_rejects_a_survey_naming_a_missing_file(
    project: Path, home: Path, remove: str, key: str
) -> None:
    """A survey configuration naming a file that does not exist is an error with key and line."""
    _install(home, "local")
    (project / remove).unlink()
    with pytest.raises(ConfigError, match="names a file that does not exist") as caught:
        preflight(project)
    assert key in caught.value.message
    assert caught.value.file == str(project / "config" / "survey.yaml")
    assert str(project / remove) in caught.value.expected


def test_tolerates_an_undelivered_wave_when_asked(project: Path, home: Path) -> None:
    """With require_raw_files=False a wave whose file has not arrived yet passes."""
    _install(home, "local")
    (project / "data" / "raw" / "demo_w3_kobo.xlsx").unlink()
    preflight(project, require_raw_files=False)
    with pytest.raises(ConfigError, match=r"waves\[2\]\.file"):
        preflight(project)


def test_command_line_reports_and_exits_2(
    project: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m pipelines.preflight ROOT` prints the error and exits 2, or 0 when ready."""
    assert main([str(project)]) == 2
    assert "no dagster.yaml" in capsys.readouterr().err
    _install(home, "local")
    assert main([str(project)]) == 0
    assert "ready" in capsys.readouterr().out


def test_command_line_before_make_demo_says_the_raw_files_will_be_generated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the demo's raw files exist it passes, noting that make demo generates them."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    root = tmp_path / "fresh"
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    assert main([str(root)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert out.count("note: demo wave") == 3
    assert "demo wave w1: raw file" in out
    assert "generated by `make demo`" in out
    assert "ready (3 wave file(s) not delivered yet)" in out
    (root / "config" / "weighting.yaml").unlink()  # a configuration file is still required
    assert main([str(root)]) == 2
    assert "weighting (line" in capsys.readouterr().err


def test_make_demo_without_a_demo_survey_stops_before_generating(tmp_path: Path) -> None:
    """It exits 2 and generates nothing when the deployment has no demo survey."""
    from pipelines.demo import run_demo

    root = tmp_path / "two"
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    other = (root / "config" / "survey.yaml").read_text(encoding="utf-8")
    (root / "config" / "mission_b").mkdir()
    (root / "config" / "mission_b" / "survey.yaml").write_text(
        other.replace("survey: demo\n", "survey: mission_b\n"), encoding="utf-8"
    )
    (root / "config" / "deployment.yaml").write_text(
        "surveys:\n  - config/mission_b/survey.yaml\n", encoding="utf-8"
    )
    assert run_demo(root) == 2  # nothing generated or run
    assert not (root / "data").exists()


def test_importing_the_code_location_runs_no_preflight(tmp_path: Path) -> None:
    """Importing pipelines.definitions checks nothing: a broken instance fails only at load."""
    env = {**os.environ, "PERCEPTION_ROOT": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "no")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    # One process (the import is the slow part): the import finishes and prints, then loading fails.
    code = "import pipelines.definitions as d; print(type(d.defs).__name__, flush=True); d.defs()"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout == "LazyDefinitions\n", done.stderr
    assert done.returncode != 0
    assert "ConfigError" in done.stderr
