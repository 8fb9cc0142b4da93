"""Preflight: refuse to start when the Dagster instance or the survey configuration is broken.

Run before any run starts (``make demo``, the code location loader, a deployment's init step):
a missing or unreadable ``dagster.yaml`` in ``$DAGSTER_HOME``, a PostgreSQL server that cannot
be reached, or a survey file naming a file that does not exist is a
:class:`~perception.errors.ConfigError`, never a half-started deployment.
``python -m pipelines.preflight [ROOT]`` runs the same checks from a shell.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
from dagster._config import process_config, resolve_to_config_type
from dagster._config.errors import EvaluationError
from dagster._config.stack import EvaluationStackListItemEntry, EvaluationStackPathEntry
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import DAGSTER_CONFIG_YAML_FILENAME
from dagster._core.instance.ref import InstanceRef
from dagster._serdes import ConfigurableClassData
from dagster_shared.error import SerializableErrorInfo

from perception.config import DEPLOYMENT_FILE, load_deployment, load_survey
from perception.errors import ConfigError
from perception.yamlio import YamlDocument, load_yaml

__all__ = [
    "CONNECT_TIMEOUT_S",
    "Component",
    "check_instance",
    "check_survey_files",
    "preflight",
    "validate_instance_config",
]

#: Seconds to wait for the PostgreSQL server of the instance before giving up.
CONNECT_TIMEOUT_S = 3
DEFAULT_SURVEY_FILE = "config/survey.yaml"
_INSTANCE_HINT = (
    "copy deploy/local/dagster.yaml (embedded SQLite) or deploy/postgres/dagster.yaml "
    "(PostgreSQL) to $DAGSTER_HOME/dagster.yaml; see deploy/README.md"
)
#: Instance components that are configurable classes, by their key in dagster.yaml.
_COMPONENTS = {
    "run_storage": "run_storage_data",
    "event_log_storage": "event_storage_data",
    "schedule_storage": "schedule_storage_data",
    "run_coordinator": "run_coordinator_data",
    "run_launcher": "run_launcher_data",
    "scheduler": "scheduler_data",
    "compute_logs": "compute_logs_data",
    "local_artifact_storage": "local_artifact_storage_data",
}


def preflight(
    root: str | Path,
    dagster_home: str | Path | None = None,
    *,
    deployment_file: str = DEPLOYMENT_FILE,
    require_raw_files: bool = True,
) -> None:
    """Check the Dagster instance and every survey file of the deployment; raise if broken.

    ``dagster_home`` defaults to ``$DAGSTER_HOME``; without either, the instance is Dagster's
    temporary one and only the survey configuration is checked. ``require_raw_files=False``
    accepts a configured wave whose file has not been delivered yet (the sensor waits for it).
    """
    home = dagster_home if dagster_home is not None else os.environ.get("DAGSTER_HOME")
    for survey in load_deployment(root, deployment_file).values():
        check_survey_files(root, str(survey.path), require_raw_files=require_raw_files)
    if home:
        check_instance(Path(home))


# --------------------------------------------------------------------------- survey files


def check_survey_files(
    root: str | Path, survey_file: str = DEFAULT_SURVEY_FILE, *, require_raw_files: bool = True
) -> None:
    """Check that every file the survey configuration names exists."""
    path = Path(root) / survey_file
    survey = load_survey(path, root=root)
    doc = load_yaml(path)
    named: list[tuple[tuple[Hashable, ...], Path]] = [
        ((key,), survey.resolve(value))
        for key, value in (
            ("variables", survey.variables),
            ("targets", survey.targets),
            ("weighting", survey.weighting),
            ("geojson", survey.geojson),
            ("indicators", survey.indicators),
            ("disclosure", survey.disclosure),
        )
        if value is not None
    ]
    for index, wave in enumerate(survey.waves):
        named.append((("waves", index, "codebook"), survey.resolve(wave.codebook)))
        if wave.targets is not None:
            named.append((("waves", index, "targets"), survey.resolve(wave.targets)))
        if require_raw_files:
            named.append((("waves", index, "file"), survey.raw_path(wave)))
    for key, file in named:
        if not file.is_file():
            raise ConfigError(
                f"The survey configuration names a file that does not exist at {_where(doc, key)}",
                expected=f"a file at {file}",
                found="a folder" if file.is_dir() else "no such file",
                hint=(
                    f"wave files are looked up in raw_dir ({survey.raw_dir}); deliver the file "
                    "or fix the name"
                    if key[-1] == "file"
                    else f"paths are relative to the project root {survey.root}; fix the path"
                ),
                file=path,
            )


def _where(doc: YamlDocument, key: Sequence[Hashable]) -> str:
    """Render a key path of a YAML document with its line, as ``waves[0].file (line 17)``."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in key)
    line = doc.line_of(key)
    return text.lstrip(".") + (f" (line {line})" if line is not None else "")


# --------------------------------------------------------------------------- Dagster instance


@dataclass(frozen=True)
class Component:
    """One configurable part of a Dagster instance, validated, its ``env:`` values resolved."""

    module_name: str
    class_name: str
    config: Mapping[str, Any]


def check_instance(home: Path) -> None:
    """Check ``home/dagster.yaml`` with Dagster's validation, then reach its PostgreSQL server."""
    servers: list[Mapping[str, Any]] = []
    for component in validate_instance_config(home).values():
        if component.module_name.startswith("dagster_postgres") and component.config not in servers:
            servers.append(component.config)
    for server in servers:
        _check_postgres(server, home / DAGSTER_CONFIG_YAML_FILENAME)


def validate_instance_config(home: Path) -> dict[str, Component]:
    """Validate ``home/dagster.yaml`` as Dagster loads it; return its components by key.

    Dagster's instance schema is checked first, then each component (storage, run coordinator,
    run launcher...) against its own class's schema, as Dagster does when the instance starts,
    but without connecting to anything.
    """
    file = home / DAGSTER_CONFIG_YAML_FILENAME
    if not home.is_absolute() or not home.is_dir():
        raise ConfigError(
            "DAGSTER_HOME is not an existing folder",
            expected="an absolute path to an existing folder holding dagster.yaml",
            found=f"{home} ({'not absolute' if not home.is_absolute() else 'no such folder'})",
            hint=f"create the folder, then {_INSTANCE_HINT}",
            file=file,
        )
    if not file.is_file():
        raise ConfigError(
            "The Dagster instance has no dagster.yaml",
            expected=f"an instance configuration file at {file}",
            found="a folder" if file.is_dir() else "no such file",
            hint=_INSTANCE_HINT,
            file=file,
        )
    try:
        doc = load_yaml(file)
    except OSError as error:
        raise ConfigError(
            "The Dagster instance configuration cannot be read",
            expected=f"a readable file at {file}",
            found=error.strerror or type(error).__name__,
            hint="give the user running Dagster read access to the file",
            file=file,
        ) from None
    if doc.data is not None and not isinstance(doc.data, dict):
        raise ConfigError(
            "Invalid Dagster instance configuration",
            expected="a YAML mapping of instance settings (storage, run_coordinator...)",
            found=f"a {type(doc.data).__name__}",
            hint=_INSTANCE_HINT,
            file=file,
        )
    try:
        ref = InstanceRef.from_dir(str(home))
    except DagsterInvalidConfigError as error:
        raise _invalid(doc, (), error.errors, str(error)) from None
    data = doc.data if isinstance(doc.data, dict) else {}
    components: dict[str, Component] = {}
    for key, attribute in _COMPONENTS.items():
        component: ConfigurableClassData | None = getattr(ref, attribute)
        if component is not None:
            config = _validate_component(doc, _prefix(data, key), component)
            components[key] = Component(component.module_name, component.class_name, config)
    return components


def _prefix(data: Mapping[str, Any], key: str) -> tuple[Hashable, ...]:
    """Return where a component's config sits in dagster.yaml (``storage: postgres:`` or not)."""
    storage = data.get("storage")
    if key.endswith("_storage") and key != "local_artifact_storage" and isinstance(storage, dict):
        return ("storage", *storage)
    return (key, "config")


def _validate_component(
    doc: YamlDocument, prefix: tuple[Hashable, ...], component: ConfigurableClassData
) -> Mapping[str, Any]:
    """Validate one component's config against its class's schema; return the resolved config."""
    try:
        klass = getattr(importlib.import_module(component.module_name), component.class_name)
    except (ImportError, AttributeError):
        raise ConfigError(
            f"The Dagster instance names a missing class at {_where(doc, prefix[:1])}",
            expected="an installed module and class (dagster_postgres, dagster_k8s, dagster...)",
            found=f"module {component.module_name}, class {component.class_name}",
            hint="fix the spelling, or install the integration package into the environment",
            file=doc.path,
        ) from None
    result = process_config(resolve_to_config_type(klass.config_type()), component.config_dict)
    if not result.success:
        raise _invalid(doc, prefix, result.errors or [], f"{component.class_name} config")
    value: Mapping[str, Any] = result.value or {}
    return value


def _invalid(
    doc: YamlDocument, prefix: tuple[Hashable, ...], errors: Sequence[EvaluationError], what: str
) -> ConfigError:
    """Translate Dagster's first config error into a ConfigError with the key path and line."""
    if not errors:
        return ConfigError(
            "Invalid Dagster instance configuration",
            expected="a dagster.yaml that Dagster accepts",
            found=what,
            hint=_INSTANCE_HINT,
            file=doc.path,
        )
    first = errors[0]
    key = [*prefix]
    for entry in first.stack.entries:
        if isinstance(entry, EvaluationStackPathEntry):
            key.append(entry.field_name)
        elif isinstance(entry, EvaluationStackListItemEntry):
            key.append(entry.list_index)
    field = getattr(first.error_data, "field_name", None)
    if field is not None:
        key.append(field)
    found, expected = _describe(first)
    missing_env = "environment variable" in found
    return ConfigError(
        "Invalid Dagster instance configuration at "
        + (_where(doc, key) if key else "the top level")
        + (f" ({len(errors) - 1} more problem(s) after this one)" if len(errors) > 1 else ""),
        expected="an environment variable set for every `env:` entry" if missing_env else expected,
        found=found,
        hint="export the variable in the environment of the webserver, daemon and runs"
        if missing_env
        else "compare with deploy/postgres/dagster.yaml and Dagster's instance reference",
        file=doc.path,
    )


def _describe(error: EvaluationError) -> tuple[str, str]:
    """Split a Dagster config error into what was found and what was expected."""
    if isinstance(error.error_data, SerializableErrorInfo):
        # A failed post-processing step, such as an `env:` variable that is not set.
        return error.error_data.message.split(": ", 1)[-1].strip(), "a value Dagster can resolve"
    found, _, expected = error.message.partition(". Expected: ")
    return found, expected.strip('".') or "a dagster.yaml that Dagster's instance schema accepts"


def _check_postgres(config: Mapping[str, Any], file: Path) -> None:
    """Connect to the PostgreSQL server of a storage config within CONNECT_TIMEOUT_S."""
    target: dict[str, Any]
    if config.get("postgres_url"):
        target = {"dsn": _libpq_url(str(config["postgres_url"]))}
        shown = "the server of postgres_url"
    else:
        db = config["postgres_db"]
        target = {
            "host": db["hostname"],
            "port": db.get("port", 5432),
            "user": db["username"],
            "password": db.get("password") or None,
            "dbname": db["db_name"],
            **dict(db.get("params") or {}),
        }
        shown = f"{db['hostname']}:{db.get('port', 5432)}, database {db['db_name']}"
        shown += f", user {db['username']}"
    try:
        psycopg2.connect(connect_timeout=CONNECT_TIMEOUT_S, **target).close()
    except psycopg2.Error as error:
        reason = str(error).strip().splitlines()
        raise ConfigError(
            "The PostgreSQL server of the Dagster instance cannot be reached",
            expected=f"a PostgreSQL server accepting connections at {shown}",
            found=reason[0] if reason else type(error).__name__,
            hint="start the server (Debian: pg_ctlcluster <version> main start) or fix the "
            "PERCEPTION_PG_* variables / the storage section of dagster.yaml",
            file=file,
        ) from None


def _libpq_url(url: str) -> str:
    """Drop a SQLAlchemy driver suffix (``postgresql+psycopg2://``) so libpq accepts the URL."""
    scheme, sep, rest = url.partition("://")
    return scheme.split("+", 1)[0] + sep + rest


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks for the project root given (default: the current folder); return a code."""
    args = list(sys.argv[1:] if argv is None else argv)
    root = Path(args[0]) if args else Path.cwd()
    try:
        preflight(root)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"preflight: {root.resolve()} is ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
