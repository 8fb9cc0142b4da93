"""The production instance (deploy/postgres/dagster.yaml) on a real PostgreSQL server.

``.ci/run`` starts the server and exports ``PERCEPTION_PG_*``. Each test module run gets its own
throwaway database, so parallel or repeated runs never share history.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.sensor import execute_sensor_iteration
from psycopg2 import sql
from test_deploy_config import assert_preflight_reads_what_dagster_reads, dagster_components

from perception.demo import generate
from pipelines.definitions import PROJECT_ROOT, build_definitions
from pipelines.preflight import preflight

PG_VARS = (
    "PERCEPTION_PG_HOST",
    "PERCEPTION_PG_PORT",
    "PERCEPTION_PG_USER",
    "PERCEPTION_PG_PASSWORD",
    "PERCEPTION_PG_DB",
)
REPO = Path(__file__).resolve().parents[1]
SENSOR = "raw_files_sensor"

pytestmark = pytest.mark.skipif(
    not all(os.environ.get(name) for name in PG_VARS),
    reason="no PostgreSQL server configured: set " + ", ".join(PG_VARS) + " (.ci/run does)",
)

# A restarted service: a new process that opens the instance from $DAGSTER_HOME and reports
# its run history and the sensor's stored cursor.
RESTARTED = """
import json, sys
import dagster as dg
with dg.DagsterInstance.get() as instance:
    runs = [
        {"id": r.run_id, "status": r.status.value, "partition": r.tags.get("dagster/partition")}
        for r in instance.get_runs()
    ]
    states = [s for s in instance.all_instigator_state() if s.instigator_name == sys.argv[1]]
    cursor = states[0].instigator_data.cursor if states else None
print(json.dumps({"runs": runs, "cursor": cursor}))
"""


@dataclass(frozen=True)
class Deployment:
    """A demo project run against a fresh PostgreSQL database through the production config."""

    root: Path
    home: Path
    database: str
    run_id: str


def _connect(database: str) -> psycopg2.extensions.connection:
    """Connect to a database of the test server as the test role."""
    env = os.environ
    connection = psycopg2.connect(
        host=env["PERCEPTION_PG_HOST"],
        port=env["PERCEPTION_PG_PORT"],
        user=env["PERCEPTION_PG_USER"],
        password=env["PERCEPTION_PG_PASSWORD"],
        dbname=database,
        connect_timeout=5,
    )
    connection.autocommit = True
    return connection


def _admin(statement: str, database: str) -> None:
    """Run CREATE/DROP DATABASE for ``database`` from the configured maintenance database."""
    connection = _connect(os.environ["PERCEPTION_PG_DB"])
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL(statement).format(sql.Identifier(database)))
    finally:
        connection.close()


def _sensor_tick(instance: dg.DagsterInstance, location_file: Path) -> None:
    """Evaluate the code location's sensors once, as the daemon does, without a daemon."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            python_file=str(location_file), attribute="defs", working_directory=str(REPO)
        ),
        location_name="perception",
    )
    target = InProcessWorkspaceLoadTarget(origin)
    with create_test_daemon_workspace_context(target, instance) as workspace:
        for _ in execute_sensor_iteration(workspace, logging.getLogger("sensor"), None, None):
            pass


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Run wave w1, deliver w2, tick the sensor once, on a fresh database; drop it afterwards."""
    base = tmp_path_factory.mktemp("deploy_postgres")
    database = f"perception_test_{secrets.token_hex(6)}"
    home, root = base / "dagster_home", base / "project"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    generate(root / "data" / "raw", waves=["w1", "w2"])
    location = base / "location.py"
    location.write_text(
        "from pipelines.definitions import build_definitions\n"
        f"defs = build_definitions({str(root)!r})\n"
    )
    _admin("CREATE DATABASE {}", database)
    try:
        with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            patch.setenv("PERCEPTION_PG_DB", database)
            patch.setenv("DAGSTER_HOME", str(home))
            preflight(root, home, require_raw_files=False)
            with dg.DagsterInstance.get() as instance:
                job = build_definitions(root).resolve_job_def("wave_job")
                result = job.execute_in_process(partition_key="demo|w1", instance=instance)
                _sensor_tick(instance, location)
            yield Deployment(root=root, home=home, database=database, run_id=result.run_id)
    finally:
        _admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", database)


@pytest.fixture
def instance_env(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point DAGSTER_HOME and the database variable at the deployment."""
    monkeypatch.setenv("PERCEPTION_PG_DB", deployment.database)
    monkeypatch.setenv("DAGSTER_HOME", str(deployment.home))


@pytest.mark.usefixtures("instance_env")
@pytest.mark.parametrize("folder", ["postgres", "k8s"])
def test_preflight_reads_the_components_dagster_reads(
    tmp_path: Path, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preflight reads deploy/'s `storage: postgres:` as the storages Dagster builds on it."""
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", os.environ["PERCEPTION_PG_PASSWORD"])
    defaults_home, home = tmp_path / "defaults", tmp_path / "home"
    for folder_home, source in ((defaults_home, "local"), (home, folder)):
        folder_home.mkdir()
        shutil.copy(REPO / "deploy" / source / "dagster.yaml", folder_home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(defaults_home)) as instance:
        defaults = dagster_components(instance)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__module__.startswith("dagster_postgres")
        assert_preflight_reads_what_dagster_reads(home, instance, defaults)


@pytest.mark.usefixtures("instance_env")
def test_run_and_materializations_read_back_from_the_server(deployment: Deployment) -> None:
    """A new instance object reads the wave's run and its partitioned materializations back."""
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(deployment.run_id)
        assert run is not None
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == "demo|w1"
        for asset in ("harmonized_responses", "weights"):
            records = instance.fetch_materializations(dg.AssetKey(asset), limit=10).records
            assert [r.run_id for r in records] == [deployment.run_id], asset
            materialization = records[0].asset_materialization
            assert materialization is not None
            assert materialization.partition == "demo|w1"
            path = Path(str(materialization.metadata["path"].value))
            assert path.is_file() and path.is_relative_to(deployment.root)
        assert instance.get_materialized_partitions(dg.AssetKey("weights")) == {"demo|w1"}
    with _connect(deployment.database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT run_id FROM runs")
        assert deployment.run_id in {row[0] for row in cursor.fetchall()}
    assert not list(deployment.home.rglob("*.db")), "history must not fall back to SQLite"


@pytest.mark.usefixtures("instance_env")
def test_restart_keeps_run_history_and_sensor_cursor(deployment: Deployment) -> None:
    """After a restart the run history, the sensor's queued run and its cursor are all there.

    The sensor queued the delivered wave w2, not w1, which the last good run had just run on
    the same bytes.
    """
    restarted = subprocess.run(
        [sys.executable, "-c", RESTARTED, SENSOR],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        timeout=120,
    )
    state = json.loads(restarted.stdout.strip().splitlines()[-1])
    runs = {run["id"]: run for run in state["runs"]}
    assert runs[deployment.run_id]["status"] == "SUCCESS"
    queued = [run for run in runs.values() if run["status"] == "QUEUED"]
    assert [run["partition"] for run in queued] == ["demo|w2"], (
        "the sensor's request waits in the queue"
    )
    raw = deployment.root / "data" / "raw" / "demo_w1_pollster.sav"
    assert hashlib.sha256(raw.read_bytes()).hexdigest() in state["cursor"]
    sensor = build_definitions(deployment.root).resolve_sensor_def(SENSOR)
    with dg.DagsterInstance.get() as instance:
        again = sensor(dg.build_sensor_context(instance=instance, cursor=state["cursor"]))
    assert isinstance(again, dg.SensorResult)
    assert not again.run_requests, "the surviving cursor knows the file: no second run"
