"""Sensor: request a wave's run when its raw file appears or its content changes."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from perception.config import SurveyConfig, load_deployment
from perception.storage import file_sha256
from pipelines.resources import wave_partition

#: Materialization metadata key of ``harmonized_responses``: the raw file's SHA-256.
SOURCE_SHA256 = "source_sha256"


@dataclass(frozen=True)
class FileState:
    """What the sensor remembers of a raw file: its size, mtime and content hash."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class Scan:
    """The result of one look at a survey's raw folder."""

    changed: dict[str, str]  # wave id -> sha256 of its new content
    unmatched: list[str]  # new or changed files that belong to no configured wave
    states: dict[str, FileState]  # file path relative to the root -> state, the next cursor


def scan_raw(survey: SurveyConfig, previous: Mapping[str, FileState]) -> Scan:
    """Compare a survey's raw folder with the previous states; re-hash only touched files.

    States are keyed by the file's path relative to the project root (``data/raw/x.sav``), so
    the surveys of one deployment share one cursor without mixing their files.
    """
    raw_dir = survey.resolve(survey.raw_dir)
    wave_of = {wave.file: wave.id for wave in survey.waves}
    changed: dict[str, str] = {}
    unmatched: list[str] = []
    states: dict[str, FileState] = {}
    for path in sorted(p for p in raw_dir.iterdir() if p.is_file()) if raw_dir.is_dir() else []:
        if path.name.startswith("."):
            continue
        key = (Path(survey.raw_dir) / path.name).as_posix()
        stat = path.stat()
        old = previous.get(key)
        if old is not None and (old.size, old.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            states[key] = old
            continue
        states[key] = FileState(stat.st_size, stat.st_mtime_ns, file_sha256(path))
        if old is not None and old.sha256 == states[key].sha256:
            continue  # touched, or copied again with the same content
        wave = wave_of.get(path.name)
        if wave is None:
            unmatched.append(path.name)
        else:
            changed[wave] = states[key].sha256
    return Scan(changed=changed, unmatched=unmatched, states=states)


def encode_cursor(states: Mapping[str, FileState]) -> str:
    """Serialize file states as the sensor cursor (stable JSON)."""
    return json.dumps(
        {k: [v.size, v.mtime_ns, v.sha256] for k, v in states.items()}, sort_keys=True
    )


def decode_cursor(cursor: str | None) -> dict[str, FileState]:
    """Read file states back from a sensor cursor."""
    raw: dict[str, list[object]] = json.loads(cursor) if cursor else {}
    return {k: FileState(int(str(v[0])), int(str(v[1])), str(v[2])) for k, v in raw.items()}


def last_good_source(instance: dg.DagsterInstance, partition: str) -> str | None:
    """Return the raw file hash that a wave's last harmonization used, if its run succeeded.

    The sensor skips a wave whose file still has that content, so a new cursor (a first start
    of ``make dev`` after ``make demo``, or a fresh sensor) does not re-run finished waves.
    """
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey("harmonized_responses"), asset_partitions=[partition]
        ),
        limit=1,
    ).records
    if not records:
        return None
    run = instance.get_run_by_id(records[0].run_id)
    materialization = records[0].asset_materialization
    if run is None or run.status != dg.DagsterRunStatus.SUCCESS or materialization is None:
        return None
    value = materialization.metadata.get(SOURCE_SHA256)
    return None if value is None else str(value.value)


def _claimed(surveys: Mapping[str, SurveyConfig]) -> set[Path]:
    """Return every configured wave file of every survey (surveys may share a raw folder)."""
    return {survey.raw_path(wave) for survey in surveys.values() for wave in survey.waves}


def build_raw_files_sensor(
    root: Path, deployment_file: str, job_name: str, survey_files: Sequence[str] | None = None
) -> dg.SensorDefinition:
    """Build the sensor that runs ``job_name`` for each wave whose raw file appeared or changed."""

    @dg.sensor(
        job_name=job_name,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def raw_files_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        """Watches every survey's raw folder by content hash and runs each new or changed wave."""
        surveys = load_deployment(root, deployment_file, survey_files)
        claimed = _claimed(surveys)
        previous = decode_cursor(context.cursor)
        states: dict[str, FileState] = {}
        requests: list[dg.RunRequest] = []
        for key, survey in surveys.items():
            scan = scan_raw(survey, previous)
            states.update(scan.states)
            for name in scan.unmatched:
                if survey.resolve(survey.raw_dir) / name in claimed:
                    continue  # another survey's wave in a shared raw folder
                context.log.warning(
                    f"{name} in {survey.raw_dir} matches no wave of survey {key}. To add it as "
                    "a wave: run `perception codebook init` on it, edit the codebook, and add an "
                    f"entry under `waves:` in {survey.path} naming the file and the codebook."
                )
            requests += [
                dg.RunRequest(
                    run_key=f"{wave_partition(key, wave)}:{sha[:16]}",
                    partition_key=wave_partition(key, wave),
                )
                for wave, sha in sorted(scan.changed.items())
                if last_good_source(context.instance, wave_partition(key, wave)) != sha
            ]
        return dg.SensorResult(run_requests=requests, cursor=encode_cursor(states))

    return raw_files_sensor
