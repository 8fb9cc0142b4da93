"""The Dagster code location: ``dagster dev`` and headless runs load ``defs`` from here."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from perception.config import load_survey
from pipelines.assets import build_assets
from pipelines.resources import SurveyProject
from pipelines.sensors import build_raw_files_sensor

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SURVEY_FILE = "config/survey.yaml"


def build_definitions(root: str | Path, survey_file: str = SURVEY_FILE) -> dg.Definitions:
    """Build the definitions for the survey project in ``root``, one partition per wave."""
    survey = load_survey(Path(root) / survey_file, root=root)
    waves = dg.StaticPartitionsDefinition([wave.id for wave in survey.waves])
    assets = build_assets(waves)
    wave_job = dg.define_asset_job(
        "wave_job",
        selection=dg.AssetSelection.all(),
        description="Ingest, harmonize and weight one wave.",
        # Scheduled and sensor runs use one process per step; tests and `make demo` run the
        # same job in-process with execute_in_process.
        executor_def=dg.multiprocess_executor,
    )
    return dg.Definitions(
        assets=assets,
        jobs=[wave_job],
        sensors=[build_raw_files_sensor(Path(root), survey_file, "wave_job")],
        resources={"project": SurveyProject(root=str(root), survey_file=survey_file)},
    )


defs = build_definitions(os.environ.get("PERCEPTION_ROOT", PROJECT_ROOT))
