"""The deployment configs in deploy/ load and a broken one is rejected.

dagster.yaml files go through Dagster's own validation; the Helm values are checked against the
keys of Dagster's chart and, for the run launcher, against the K8sRunLauncher config schema.
"""

from __future__ import annotations

import copy
import importlib.util
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster_k8s import K8sRunLauncher

from perception.errors import ConfigError
from pipelines.preflight import validate_instance_config

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
ENV = {
    "PERCEPTION_PG_HOST": "postgres.perception.svc.cluster.local",
    "PERCEPTION_PG_PORT": "5432",
    "PERCEPTION_PG_USER": "perception",
    "PERCEPTION_PG_PASSWORD": "secret",
    "PERCEPTION_PG_DB": "perception",
    "DAGSTER_PG_PASSWORD": "secret",
}
# Keys Dagster's Helm chart (values.schema.json of helm/dagster) allows in the sections set here.
CHART_K8S_RUN_LAUNCHER_KEYS = {
    "image",
    "imagePullPolicy",
    "jobNamespace",
    "loadInclusterConfig",
    "kubeconfigFile",
    "envConfigMaps",
    "envSecrets",
    "envVars",
    "volumeMounts",
    "volumes",
    "labels",
    "failPodOnRunFailure",
    "resources",
    "schedulerName",
    "securityContext",
    "runK8sConfig",
}
CHART_RUN_K8S_CONFIG_KEYS = {
    "containerConfig",
    "podSpecConfig",
    "podTemplateSpecMetadata",
    "jobSpecConfig",
    "jobMetadata",
}
CHART_POSTGRESQL_KEYS = {
    "image",
    "enabled",
    "postgresqlHost",
    "postgresqlUsername",
    "postgresqlPassword",
    "postgresqlDatabase",
    "postgresqlParams",
    "postgresqlScheme",
    "service",
}
CHART_QUEUED_RUN_COORDINATOR_KEYS = {
    "maxConcurrentRuns",
    "tagConcurrencyLimits",
    "dequeueIntervalSeconds",
    "dequeueNumWorkers",
    "dequeueUseThreads",
    "blockOpConcurrencyLimitedRuns",
}
# What the chart itself fills in when it writes the launcher's config from the values.
CHART_SUPPLIED = {
    "service_account_name": "perception-dagster",
    "instance_config_map": "perception-dagster-instance",
    "postgres_password_secret": "perception-postgresql-secret",
    "dagster_home": "/opt/dagster/dagster_home",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set the variables the instance configs read."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def _home(
    tmp_path: Path, source: Path, edit: Callable[[dict[str, Any]], None] | None = None
) -> Path:
    """Copy a dagster.yaml into a fresh DAGSTER_HOME, optionally edited, and return the home."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    if edit is None:
        shutil.copy(source, home / "dagster.yaml")
    else:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        edit(data)
        (home / "dagster.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return home


def _values() -> dict[str, Any]:
    """Load the Helm values."""
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text("utf-8"))
    return data


def _snake(name: str) -> str:
    """Turn a chart key (camelCase) into the launcher's key (snake_case)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def helm_problems(values: dict[str, Any]) -> list[str]:
    """List what in the Helm values would not give a K8sRunLauncher deployment of perception."""
    problems: list[str] = []
    launcher = values.get("runLauncher", {})
    if launcher.get("type") != "K8sRunLauncher":
        problems.append(f"runLauncher.type is {launcher.get('type')!r}, not K8sRunLauncher")
    k8s = launcher.get("config", {}).get("k8sRunLauncher")
    if not isinstance(k8s, dict):
        return [*problems, "runLauncher.config.k8sRunLauncher is missing"]
    problems += [f"unknown runLauncher key {k}" for k in set(k8s) - CHART_K8S_RUN_LAUNCHER_KEYS]
    run_k8s = k8s.get("runK8sConfig") or {}
    problems += [f"unknown runK8sConfig key {k}" for k in set(run_k8s) - CHART_RUN_K8S_CONFIG_KEYS]
    config = {_snake(k): v for k, v in k8s.items() if k != "runK8sConfig"}
    config["run_k8s_config"] = {_snake(k): v for k, v in run_k8s.items()}
    config["env_config_maps"] = [item["name"] for item in k8s.get("envConfigMaps", [])]
    config["env_secrets"] = [item["name"] for item in k8s.get("envSecrets", [])]
    result = process_config(
        resolve_to_config_type(K8sRunLauncher.config_type()), {**config, **CHART_SUPPLIED}
    )
    problems += [error.message for error in result.errors or []]
    postgres = values.get("postgresql", {})
    problems += [f"unknown postgresql key {k}" for k in set(postgres) - CHART_POSTGRESQL_KEYS]
    if postgres.get("enabled") is not False or not postgres.get("postgresqlHost"):
        problems.append("postgresql must be external: enabled: false and a postgresqlHost")
    coordinator = values.get("dagsterDaemon", {}).get("runCoordinator", {})
    queued = coordinator.get("config", {}).get("queuedRunCoordinator") or {}
    if coordinator.get("type") != "QueuedRunCoordinator" or not queued.get("maxConcurrentRuns"):
        problems.append("dagsterDaemon.runCoordinator must be a QueuedRunCoordinator with a limit")
    problems += [
        f"unknown queuedRunCoordinator key {k}"
        for k in set(queued) - CHART_QUEUED_RUN_COORDINATOR_KEYS
    ]
    deployments = values.get("dagster-user-deployments", {}).get("deployments", [])
    modules = [
        args[args.index("--module-name") + 1]
        for args in (d.get("dagsterApiGrpcArgs", []) for d in deployments)
        if "--module-name" in args
    ]
    if modules != ["pipelines.definitions"] or importlib.util.find_spec(modules[0]) is None:
        problems.append(f"the code location must load pipelines.definitions, not {modules}")
    return problems


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("folder", ["postgres", "k8s"])
def test_instance_configs_pass_dagster_validation(tmp_path: Path, folder: str) -> None:
    """Each dagster.yaml is accepted by Dagster: PostgreSQL storage and a bounded run queue."""
    components = validate_instance_config(_home(tmp_path, DEPLOY / folder / "dagster.yaml"))
    for storage in ("run_storage", "event_log_storage", "schedule_storage"):
        assert components[storage].module_name == "dagster_postgres"
        assert components[storage].config["postgres_db"]["hostname"] == ENV["PERCEPTION_PG_HOST"]
    coordinator = components["run_coordinator"]
    assert coordinator.class_name == "QueuedRunCoordinator"
    assert coordinator.config["max_concurrent_runs"] > 0


@pytest.mark.parametrize("folder", ["local", "postgres", "k8s"])
def test_instance_configs_turn_off_telemetry_and_onboarding_prompts(folder: str) -> None:
    """Each dagster.yaml turns off telemetry and the UI's onboarding and newsletter prompts."""
    data = yaml.safe_load((DEPLOY / folder / "dagster.yaml").read_text(encoding="utf-8"))
    assert data["telemetry"] == {"enabled": False}
    assert data["nux"] == {"enabled": False}


def test_the_embedded_instance_has_no_onboarding_prompts(tmp_path: Path) -> None:
    """Dagster reads the local instance's setting: no new-user pop-ups in `make dev`."""
    with dg.DagsterInstance.from_config(
        str(_home(tmp_path, DEPLOY / "local" / "dagster.yaml"))
    ) as instance:
        assert instance.nux_enabled is False


@pytest.mark.usefixtures("env")
def test_k8s_instance_uses_dagsters_k8s_run_launcher(tmp_path: Path) -> None:
    """The Kubernetes dagster.yaml launches each run as a Kubernetes Job with K8sRunLauncher."""
    launcher = validate_instance_config(_home(tmp_path, DEPLOY / "k8s" / "dagster.yaml"))[
        "run_launcher"
    ]
    assert (launcher.module_name, launcher.class_name) == ("dagster_k8s", "K8sRunLauncher")
    assert launcher.config["instance_config_map"] == CHART_SUPPLIED["instance_config_map"]
    mounts = {mount["mount_path"] for mount in launcher.config["volume_mounts"]}
    assert mounts == {"/opt/perception/data/processed", "/opt/perception/data/raw"}


def _drop_config_map(data: dict[str, Any]) -> None:
    """Remove the launcher's required instance ConfigMap."""
    del data["run_launcher"]["config"]["instance_config_map"]


def _misspell_key(data: dict[str, Any]) -> None:
    """Misspell a launcher key."""
    data["run_launcher"]["config"]["job_namspace"] = data["run_launcher"]["config"].pop(
        "job_namespace"
    )


def _wrong_type(data: dict[str, Any]) -> None:
    """Give a boolean launcher setting a text."""
    data["run_launcher"]["config"]["load_incluster_config"] = "sometimes"


def _misspell_class(data: dict[str, Any]) -> None:
    """Name a launcher class that does not exist."""
    data["run_launcher"]["class"] = "K8sRunLaunchr"


def _bad_storage(data: dict[str, Any]) -> None:
    """Misspell a PostgreSQL storage key."""
    data["storage"]["postgres"]["postgres_db"]["hostnam"] = "db"


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (_drop_config_map, "run_launcher.config.instance_config_map"),
        (_misspell_key, "run_launcher.config.job_namspace"),
        (_wrong_type, "run_launcher.config.load_incluster_config"),
        (_misspell_class, "run_launcher"),
        (_bad_storage, "storage.postgres.postgres_db.hostnam"),
    ],
)
def test_broken_k8s_instance_config_is_rejected(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], key: str
) -> None:
    """A broken Kubernetes dagster.yaml fails validation with the offending key named."""
    home = _home(tmp_path, DEPLOY / "k8s" / "dagster.yaml", edit)
    with pytest.raises(ConfigError) as caught:
        validate_instance_config(home)
    assert f" {key} (line " in caught.value.message
    assert caught.value.file == str(home / "dagster.yaml")


def test_k8s_instance_config_needs_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An `env:` entry whose variable is unset is reported with the variable's name."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    with pytest.raises(ConfigError, match="password") as caught:
        validate_instance_config(_home(tmp_path, DEPLOY / "k8s" / "dagster.yaml"))
    assert "DAGSTER_PG_PASSWORD" in caught.value.found


def test_helm_values_describe_a_k8s_run_launcher_deployment() -> None:
    """The Helm values parse and give K8sRunLauncher, external PostgreSQL and the code location."""
    assert helm_problems(_values()) == []


def _launcher(values: dict[str, Any]) -> dict[str, Any]:
    """Return the K8sRunLauncher section of the Helm values."""
    launcher: dict[str, Any] = values["runLauncher"]["config"]["k8sRunLauncher"]
    return launcher


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda v: v["runLauncher"].update(type="CeleryK8sRunLauncher"), "runLauncher.type"),
        (lambda v: v["runLauncher"]["config"].pop("k8sRunLauncher"), "k8sRunLauncher is missing"),
        (lambda v: _launcher(v).update(loadInClusterConfig=True), "unknown runLauncher key"),
        (lambda v: _launcher(v).update(failPodOnRunFailure="yes"), "fail_pod_on_run_failure"),
        (lambda v: v["postgresql"].update(enabled=True), "postgresql must be external"),
        (lambda v: v["dagsterDaemon"]["runCoordinator"].update(type="Default"), "runCoordinator"),
        (
            lambda v: v["dagster-user-deployments"]["deployments"][0].update(
                dagsterApiGrpcArgs=["--module-name", "pipelines.definitons"]
            ),
            "pipelines.definitons",
        ),
    ],
)
def test_broken_helm_values_are_reported(
    edit: Callable[[dict[str, Any]], object], problem: str
) -> None:
    """A broken Helm values file is reported, naming what is wrong."""
    values = copy.deepcopy(_values())
    edit(values)
    assert any(problem in found for found in helm_problems(values)), helm_problems(values)


@pytest.mark.usefixtures("env")
def test_helm_values_and_k8s_instance_config_agree(tmp_path: Path) -> None:
    """The Helm values and the plain dagster.yaml give the same queue, resources and volumes."""
    components = validate_instance_config(_home(tmp_path, DEPLOY / "k8s" / "dagster.yaml"))
    values = _values()
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    coordinator = components["run_coordinator"].config
    assert queued["maxConcurrentRuns"] == coordinator["max_concurrent_runs"]
    assert queued["tagConcurrencyLimits"] == coordinator["tag_concurrency_limits"]
    launcher = components["run_launcher"].config
    helm = _launcher(values)["runK8sConfig"]["containerConfig"]
    assert helm["resources"] == launcher["run_k8s_config"]["container_config"]["resources"]
    code = values["dagster-user-deployments"]["deployments"][0]
    assert [v["name"] for v in code["volumes"]] == [v["name"] for v in launcher["volumes"]]
    assert [m["mountPath"] for m in code["volumeMounts"]] == [
        m["mount_path"] for m in launcher["volume_mounts"]
    ]
    postgres = values["postgresql"]
    assert postgres["postgresqlScheme"] == components["run_storage"].config["postgres_db"]["scheme"]
    assert values["global"]["postgresqlSecretName"] == launcher["postgres_password_secret"]
