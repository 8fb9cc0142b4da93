"""The Dagster code location: ``dagster dev`` and headless runs load ``defs`` from here."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg

from perception.config import DEPLOYMENT_FILE, load_deployment
from pipelines.assets import build_assets
from pipelines.preflight import preflight
from pipelines.publishing import build_publishing_assets
from pipelines.resources import SurveyProject, wave_partition
from pipelines.sensors import build_raw_files_sensor

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def build_definitions(
    root: str | Path,
    deployment_file: str = DEPLOYMENT_FILE,
    survey_files: Sequence[str] | None = None,
) -> dg.Definitions:
    """Build the definitions for every survey the deployment in ``root`` serves.

    Per-wave assets have one partition per survey × wave, keyed ``"<survey>|<wave>"``; the
    cross-wave reporting assets have one partition per survey. ``survey_files`` replaces the
    deployment's list of survey files (``perception run --survey``).
    """
    surveys = load_deployment(root, deployment_file, survey_files)
    # Composite static keys rather than a MultiPartitionsDefinition: a multi-partition is the
    # full cross product of its dimensions, and surveys have different waves, so it would hold
    # survey × wave pairs that do not exist (a wave of one survey under another survey's key).
    waves = dg.StaticPartitionsDefinition(
        [wave_partition(key, wave.id) for key, survey in surveys.items() for wave in survey.waves]
    )
    survey_partitions = dg.StaticPartitionsDefinition(list(surveys))
    references = {
        wave_partition(key, wave.id): wave_partition(key, wave.reference_wave)
        for key, survey in surveys.items()
        for wave in survey.waves
        if wave.reference_wave is not None
    }
    wave_assets = build_assets(waves, references)
    reporting_assets = build_publishing_assets(waves, survey_partitions)
    wave_job = dg.define_asset_job(
        "wave_job",
        selection=dg.AssetSelection.assets(
            *(a.key for a in wave_assets if isinstance(a, dg.AssetsDefinition))
        ),
        description="Ingest, harmonize and weight one wave of one survey.",
        # Scheduled and sensor runs use one process per step; tests and `make demo` run the
        # same job in-process with execute_in_process.
        executor_def=dg.multiprocess_executor,
    )
    reporting_job = dg.define_asset_job(
        "reporting_job",
        selection=dg.AssetSelection.assets(*(a.key for a in reporting_assets)),
        description="Rebuild one survey's cross-wave tables, status, exports and dashboard.",
    )

    @dg.schedule(
        name="weekly_reporting",
        job=reporting_job,
        cron_schedule=os.environ.get("PERCEPTION_REPORTING_CRON", "0 6 * * 1"),
        execution_timezone="UTC",
        description="Refresh every survey's trends, status, exports and dashboard weekly.",
    )
    def weekly_reporting(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
        """Request one reporting run per survey (Monday 06:00 UTC by default)."""
        # A run key is idempotent across ticks, so it carries the tick's time: one run per
        # survey per week, never a second one for the same tick.
        tick = context.scheduled_execution_time.isoformat()
        for survey in survey_partitions.get_partition_keys():
            yield dg.RunRequest(run_key=f"{survey}@{tick}", partition_key=survey)

    return dg.Definitions(
        assets=[*wave_assets, *reporting_assets],
        jobs=[wave_job, reporting_job],
        schedules=[weekly_reporting],
        sensors=[build_raw_files_sensor(Path(root), deployment_file, "wave_job", survey_files)],
        resources={
            "project": SurveyProject(
                root=str(root),
                deployment_file=deployment_file,
                survey_files=None if survey_files is None else list(survey_files),
            )
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location of ``dagster dev``, loaded by Dagster (not on import of this module).

    It refuses to load a broken deployment (instance config, unreachable database, missing
    config files); a wave whose raw file has not arrived yet is not an error here.
    """
    root = os.environ.get("PERCEPTION_ROOT", PROJECT_ROOT)
    preflight(root, require_raw_files=False)
    return build_definitions(root)
