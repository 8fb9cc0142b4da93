"""The Dagster code location: ``dagster dev`` and headless runs load ``defs`` from here."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from perception.config import load_survey
from pipelines.assets import build_assets
from pipelines.preflight import preflight
from pipelines.reporting import build_reporting_assets
from pipelines.resources import SurveyProject
from pipelines.sensors import build_raw_files_sensor

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SURVEY_FILE = "config/survey.yaml"


def build_definitions(root: str | Path, survey_file: str = SURVEY_FILE) -> dg.Definitions:
    """Build the definitions for the survey project in ``root``, one partition per wave."""
    survey = load_survey(Path(root) / survey_file, root=root)
    waves = dg.StaticPartitionsDefinition([wave.id for wave in survey.waves])
    wave_assets = build_assets(waves)
    reporting_assets = build_reporting_assets(wave_assets[-1])
    wave_job = dg.define_asset_job(
        "wave_job",
        selection=dg.AssetSelection.assets(*(a.key for a in wave_assets[1:])),
        description="Ingest, harmonize and weight one wave.",
        # Scheduled and sensor runs use one process per step; tests and `make demo` run the
        # same job in-process with execute_in_process.
        executor_def=dg.multiprocess_executor,
    )
    reporting_job = dg.define_asset_job(
        "reporting_job",
        selection=dg.AssetSelection.assets(*(a.key for a in reporting_assets)),
        description="Rebuild the cross-wave tables, benchmark status and exports from every wave.",
    )
    return dg.Definitions(
        assets=[*wave_assets, *reporting_assets],
        jobs=[wave_job, reporting_job],
        schedules=[
            dg.ScheduleDefinition(
                name="weekly_reporting",
                job=reporting_job,
                cron_schedule=os.environ.get("PERCEPTION_REPORTING_CRON", "0 6 * * 1"),
                execution_timezone="UTC",
                description="Refresh trends, status, exports and dashboard weekly (Monday 06:00).",
            )
        ],
        sensors=[build_raw_files_sensor(Path(root), survey_file, "wave_job")],
        resources={"project": SurveyProject(root=str(root), survey_file=survey_file)},
    )


_root = os.environ.get("PERCEPTION_ROOT", PROJECT_ROOT)
# Refuse to load a broken deployment (instance config, unreachable database, missing config
# files); a wave whose raw file has not arrived yet is not an error here.
preflight(_root, require_raw_files=False)
defs = build_definitions(_root)
