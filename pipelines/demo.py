"""``make demo``: generate the demo survey if absent, then run its pipeline headless."""

from __future__ import annotations

import sys
from pathlib import Path

from perception.config import DEPLOYMENT_FILE, load_deployment
from perception.demo import generate
from perception.errors import ConfigError
from pipelines.definitions import PROJECT_ROOT
from pipelines.run import run_surveys

DEMO = "demo"


def run_demo(root: Path = PROJECT_ROOT) -> int:
    """Run every wave of the demo survey, then its reporting; return an exit code.

    Only the demo survey runs, whatever else ``config/deployment.yaml`` lists: ``perception
    run`` runs the others.
    """
    try:
        surveys = load_deployment(root, DEPLOYMENT_FILE)
        demo = surveys.get(DEMO)
        if demo is None:
            raise ConfigError(
                "The deployment has no demo survey",
                expected=f"a survey file with `survey: {DEMO}` in {DEPLOYMENT_FILE}",
                found="none",
                hint="add config/survey.yaml back to the deployment, or use `perception run`",
                file=root / DEPLOYMENT_FILE,
            )
        if not all(demo.raw_path(wave).exists() for wave in demo.waves):
            print(f"Generating the demo survey into {demo.resolve(demo.raw_dir)}")
            generate(demo.resolve(demo.raw_dir))
        others = [key for key in surveys if key != DEMO]
        if others:
            print(f"Running the demo survey only (`perception run` runs {', '.join(others)})")
        return run_surveys(root, surveys=[DEMO])
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run_demo())
