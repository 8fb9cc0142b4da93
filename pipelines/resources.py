"""Resources: the surveys a deployment serves, each loaded once per content of its config."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from perception.config import DEPLOYMENT_FILE, SurveyConfig, load_deployment
from perception.errors import ConfigError
from perception.flow import Workspace, load_workspace

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


class SurveyProject(dg.ConfigurableResource["SurveyProject"]):
    """A deployment: its folder, its deployment file and the surveys it serves."""

    root: str
    deployment_file: str = DEPLOYMENT_FILE
    survey_files: list[str] | None = None

    def surveys(self) -> dict[str, SurveyConfig]:
        """Return every survey the deployment serves, by survey key."""
        return load_deployment(self.root, self.deployment_file, self.survey_files)

    def load(self, survey: str) -> Workspace:
        """Return one survey's validated workspace (cached while its config files are unchanged)."""
        surveys = self.surveys()
        if survey not in surveys:
            raise ConfigError(
                f"No survey {survey!r} in this deployment",
                expected="one of the survey keys " + ", ".join(surveys),
                found=survey,
                hint=f"add the survey's file under `surveys:` in {self.deployment_file}",
                file=Path(self.root) / self.deployment_file,
            )
        return load_workspace(surveys[survey].path, self.root)
