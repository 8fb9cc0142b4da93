"""Resources: where the survey configuration and the processed outputs live."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from perception.config import Project, WaveConfig, load_project


class SurveyProject(dg.ConfigurableResource):  # type: ignore[type-arg]
    """A survey project: its folder, its survey file and the processed-output paths."""

    root: str
    survey_file: str = "config/survey.yaml"
    indicators_file: str = "config/indicators.yaml"
    disclosure_file: str = "config/disclosure.yaml"

    def load(self) -> Project:
        """Load and validate the survey file, its catalogue and every codebook."""
        return load_project(Path(self.root) / self.survey_file, root=self.root)

    def wave(self, project: Project, wave_id: str) -> WaveConfig:
        """Return the configuration of one wave."""
        return next(w for w in project.survey.waves if w.id == wave_id)

    def indicators_path(self) -> Path:
        """Return the indicator catalogue file."""
        return Path(self.root) / self.indicators_file

    def disclosure_path(self) -> Path:
        """Return the disclosure rules file."""
        return Path(self.root) / self.disclosure_file

    def dashboards(self) -> Path:
        """Return the folder the dashboards are written to."""
        return Path(self.root) / "dashboards"

    def folder(self, project: Project, kind: str) -> Path:
        """Return the processed folder of one kind of output (estimates, published, exports…)."""
        survey = project.survey
        return survey.resolve(survey.processed_dir) / survey.survey / kind

    def output(self, project: Project, kind: str, wave_id: str) -> Path:
        """Return the processed path of one wave's output of a kind (harmonized, weighted…)."""
        return self.folder(project, kind) / f"{wave_id}.parquet"
