"""Resources: where the survey configuration and the processed outputs live."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from perception.config import Project, WaveConfig, load_project


class SurveyProject(dg.ConfigurableResource):  # type: ignore[type-arg]
    """A survey project: its folder, its survey file and the processed-output paths."""

    root: str
    survey_file: str = "config/survey.yaml"

    def load(self) -> Project:
        """Load and validate the survey file, its catalogue and every codebook."""
        return load_project(Path(self.root) / self.survey_file, root=self.root)

    def wave(self, project: Project, wave_id: str) -> WaveConfig:
        """Return the configuration of one wave."""
        return next(w for w in project.survey.waves if w.id == wave_id)

    def output(self, project: Project, kind: str, wave_id: str) -> Path:
        """Return the processed path of one wave's output of a kind (harmonized, weighted…)."""
        survey = project.survey
        return survey.resolve(survey.processed_dir) / survey.survey / kind / f"{wave_id}.parquet"
