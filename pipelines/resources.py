"""Resources: the surveys a deployment serves, their configuration and processed-output paths."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from perception.config import (
    DEPLOYMENT_FILE,
    Project,
    SurveyConfig,
    WaveConfig,
    load_deployment,
    load_project,
)
from perception.errors import ConfigError

# A per-wave partition key joins the survey key and the wave id: "demo|w1". Neither may hold the
# separator (the survey key and wave id patterns in perception.config forbid it).
KEY_SEPARATOR = "|"


def wave_partition(survey: str, wave: str) -> str:
    """Return the partition key of one wave of one survey, as ``demo|w1``."""
    return f"{survey}{KEY_SEPARATOR}{wave}"


def split_partition(key: str) -> tuple[str, str]:
    """Split a per-wave partition key ``demo|w1`` into its survey key and wave id."""
    survey, wave = key.split(KEY_SEPARATOR, 1)
    return survey, wave


class SurveyProject(dg.ConfigurableResource):
    """A deployment: its folder, its deployment file and each survey's processed-output paths."""

    root: str
    deployment_file: str = DEPLOYMENT_FILE
    survey_files: list[str] | None = None

    def surveys(self) -> dict[str, SurveyConfig]:
        """Return every survey the deployment serves, by survey key."""
        return load_deployment(self.root, self.deployment_file, self.survey_files)

    def load(self, survey: str) -> Project:
        """Load and validate one survey's file, its catalogue and every codebook."""
        surveys = self.surveys()
        if survey not in surveys:
            raise ConfigError(
                f"No survey {survey!r} in this deployment",
                expected="one of the survey keys " + ", ".join(surveys),
                found=survey,
                hint=f"add the survey's file under `surveys:` in {self.deployment_file}",
                file=Path(self.root) / self.deployment_file,
            )
        return load_project(surveys[survey].path, root=self.root)

    def wave(self, project: Project, wave_id: str) -> WaveConfig:
        """Return the configuration of one wave."""
        return next(w for w in project.survey.waves if w.id == wave_id)

    def indicators_path(self, project: Project) -> Path:
        """Return a survey's indicator catalogue file."""
        return project.survey.resolve(project.survey.indicators)

    def disclosure_path(self, project: Project) -> Path:
        """Return a survey's disclosure rules file."""
        return project.survey.resolve(project.survey.disclosure)

    def dashboards(self, project: Project) -> Path:
        """Return the folder a survey's dashboards are written to."""
        return Path(self.root) / "dashboards" / project.survey.survey

    def folder(self, project: Project, kind: str) -> Path:
        """Return the processed folder of one kind of output (estimates, published, exports…)."""
        survey = project.survey
        return survey.resolve(survey.processed_dir) / survey.survey / kind

    def output(self, project: Project, kind: str, wave_id: str) -> Path:
        """Return the processed path of one wave's output of a kind (harmonized, weighted…)."""
        return self.folder(project, kind) / f"{wave_id}.parquet"
