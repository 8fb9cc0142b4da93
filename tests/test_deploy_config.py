"""The deployment configs in deploy/ load and a broken one is rejected.

dagster.yaml files go through Dagster's own validation; the Helm values are checked against the
keys of Dagster's chart and, for the run launcher, against the K8sRunLauncher config schema.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster_k8s import K8sRunLauncher

from perception.errors import ConfigError
from pipelines.preflight import Component, validate_instance_config

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
ENV = {
    "PERCEPTION_PG_HOST": "postgres.perception.svc.cluster.local",
    "PERCEPTION_PG_PORT": "5432",
    "PERCEPTION_PG_USER": "perception",
    "PERCEPTION_PG_PASSWORD": "secret",
    "PERCEPTION_PG_DB": "perception",
    "DAGSTER_PG_PASSWORD": "secret",
}
# Where Dagster's instance reference keeps each component dagster.yaml can set.
REF_FIELDS = {
    "storage": "storage_data",
    "run_storage": "run_storage_data",
    "event_log_storage": "event_storage_data",
    "schedule_storage": "schedule_storage_data",
    "run_coordinator": "run_coordinator_data",
    "run_launcher": "run_launcher_data",
    "scheduler": "scheduler_data",
    "compute_logs": "compute_logs_data",
    "local_artifact_storage": "local_artifact_storage_data",
}
# Instances Dagster builds on SQLite, each with components in another documented form.
SQLITE_INSTANCES = {
    "shorthand": """
storage:
  sqlite:
    base_dir: {home}/storage
run_queue:
  max_concurrent_runs: 2
  tag_concurrency_limits:
    - {{key: dagster/partition, value: {{applyLimitPerUniqueValue: true}}, limit: 1}}
run_launcher:
  module: dagster
  class: DefaultRunLauncher
compute_logs:
  module: dagster._core.storage.local_compute_log_manager
  class: LocalComputeLogManager
  config:
    base_dir: {home}/logs
""",
    "explicit": """
run_storage:
  module: dagster._core.storage.runs
  class: SqliteRunStorage
  config: {{base_dir: {home}/history}}
event_log_storage:
  module: dagster._core.storage.event_log
  class: SqliteEventLogStorage
  config: {{base_dir: {home}/history/runs}}
schedule_storage:
  module: dagster._core.storage.schedules
  class: SqliteScheduleStorage
  config: {{base_dir: {home}/schedules}}
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config: {{max_concurrent_runs: 1}}
scheduler:
  module: dagster._core.scheduler
  class: DagsterDaemonScheduler
  config: {{max_catchup_runs: 2}}
local_artifact_storage:
  module: dagster._core.storage.root
  class: LocalArtifactStorage
  config: {{base_dir: {home}}}
""",
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


def _resolved(klass: Any, config: Any) -> Any:
    """Return a component's config as Dagster's public run-config validation resolves it."""

    @dg.op(config_schema=klass.config_type())
    def component() -> None:
        """Carry the config (never run)."""

    @dg.job
    def check() -> None:
        """Validate the config (never run)."""
        component()

    return dg.validate_run_config(check, {"ops": {"component": {"config": config}}})["ops"][
        "component"
    ].get("config")


def _class(component: Component) -> Any:
    """Import the class a component names."""
    return getattr(importlib.import_module(component.module_name), component.class_name)


def dagster_components(instance: dg.DagsterInstance) -> dict[str, tuple[Any, Any]]:
    """Return each component Dagster read from dagster.yaml: its class and resolved config."""
    ref = instance.get_ref()
    found = {}
    for key, field in REF_FIELDS.items():
        data = getattr(ref, field)
        if data is not None:
            read = Component(data.module_name, data.class_name, data.config_dict or {})
            found[key] = (_class(read), _resolved(_class(read), read.config))
    return found


def assert_preflight_reads_what_dagster_reads(
    home: Path, instance: dg.DagsterInstance, defaults: dict[str, tuple[Any, Any]]
) -> None:
    """Check preflight's components of home/dagster.yaml against the instance Dagster built.

    Every component preflight returns is the class and config Dagster uses; every one it does
    not return is Dagster's default class (the unified ``storage`` is not compared: preflight
    checks the storages it stands for).
    """
    ours = validate_instance_config(home)
    theirs = dagster_components(instance)
    assert set(ours) <= set(theirs)
    for key, (klass, config) in theirs.items():
        if key in ours:
            assert (_class(ours[key]), dict(ours[key].config)) == (klass, config), key
        elif key != "storage":
            assert klass is defaults[key][0], f"{key}: Dagster uses {klass}, preflight nothing"


@pytest.fixture(scope="module")
def dagster_defaults(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Any]]:
    """Return the components Dagster reads from deploy/local/dagster.yaml (all its defaults)."""
    home = _home(tmp_path_factory.mktemp("defaults"), DEPLOY / "local" / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert validate_instance_config(home) == {}, "the local instance declares no component"
        return dagster_components(instance)


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
    try:
        _resolved(K8sRunLauncher, {**config, **CHART_SUPPLIED})
    except dg.DagsterInvalidConfigError as error:
        problems += [problem.message for problem in error.errors]
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


@pytest.mark.parametrize("name", sorted(SQLITE_INSTANCES))
def test_preflight_reads_the_components_dagster_reads(
    tmp_path: Path, name: str, dagster_defaults: dict[str, tuple[Any, Any]]
) -> None:
    """Preflight's reading of each documented form names the classes and configs Dagster uses.

    The PostgreSQL configs of deploy/ are compared on a real server in test_deploy_postgres.
    """
    home = tmp_path / "dagster_home"
    home.mkdir()
    text = SQLITE_INSTANCES[name].format(home=home)
    (home / "dagster.yaml").write_text(text, encoding="utf-8")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert_preflight_reads_what_dagster_reads(home, instance, dagster_defaults)
    assert (
        set(validate_instance_config(home))
        == {
            "shorthand": {"run_coordinator", "run_launcher", "compute_logs"},
            "explicit": {
                "run_storage",
                "event_log_storage",
                "schedule_storage",
                "run_coordinator",
                "scheduler",
                "local_artifact_storage",
            },
        }[name]
    )


def _top_level_keys(schema: str) -> set[str]:
    """Return the top-level keys of a config schema as Dagster prints it (``{ a?: ... }``)."""
    inner = schema.strip()[1:-1]
    while (nested := re.sub(r"\{[^{}]*\}|\[[^\[\]]*\]|\([^()]*\)", "", inner)) != inner:
        inner = nested
    return set(re.findall(r"(\w+)\??:", inner))


def test_preflight_knows_every_instance_setting_dagster_knows(tmp_path: Path) -> None:
    """Preflight accepts exactly the top-level settings Dagster accepts, so a typo is refused."""
    home = _home(tmp_path, DEPLOY / "local" / "dagster.yaml", lambda data: data.update(nuxx=1))
    with pytest.raises(dg.DagsterInvalidConfigError) as dagster:
        dg.DagsterInstance.from_config(str(home))
    with pytest.raises(ConfigError, match=r"at nuxx \(line") as ours:
        validate_instance_config(home)
    theirs = _top_level_keys(dagster.value.errors[0].message.split(". Expected: ", 1)[1][1:-2])
    assert "run_coordinator" in theirs and "telemetry" in theirs
    assert _top_level_keys(ours.value.expected) == theirs


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
