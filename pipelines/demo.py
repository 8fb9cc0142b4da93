"""``make demo``: generate the demo survey if absent, then run its pipeline headless.

Only the demo survey runs (``--all`` runs every survey of ``config/deployment.yaml``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg

from perception.config import DEPLOYMENT_FILE, SurveyConfig, load_deployment
from perception.demo import generate
from perception.errors import ConfigError
from pipelines.definitions import PROJECT_ROOT, build_definitions
from pipelines.preflight import DEMO_SURVEY, preflight
from pipelines.resources import wave_partition


def _instance() -> dg.DagsterInstance:
    """Return the instance in ``$DAGSTER_HOME`` when set (SQLite by default), else a new one."""
    return (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )


def _run(job: dg.JobDefinition, instance: dg.DagsterInstance, label: str, **kwargs: str) -> bool:
    """Run a job in-process; print its status and, on failure, the error of each failed step."""
    result = job.execute_in_process(instance=instance, raise_on_error=False, **kwargs)
    print(f"{label}: {'ok' if result.success else 'FAILED'}")
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            print(event.step_failure_data.error.message)
    return result.success


def select_surveys(
    surveys: dict[str, SurveyConfig], every_survey: bool, deployment_file: str = DEPLOYMENT_FILE
) -> tuple[dict[str, SurveyConfig], str]:
    """Return the surveys ``make demo`` runs (the demo only, unless every_survey) and why."""
    if every_survey:
        return surveys, f"Running every survey of {deployment_file}: {', '.join(surveys)}"
    if DEMO_SURVEY not in surveys:
        raise ConfigError(
            f"The deployment has no survey {DEMO_SURVEY!r} for make demo to run",
            expected=f"a survey file with `survey: {DEMO_SURVEY}` in the deployment",
            found=f"surveys {', '.join(surveys)}",
            hint="pass --all (python -m pipelines.demo --all) to run every survey",
            file=deployment_file,
        )
    others = [key for key in surveys if key != DEMO_SURVEY]
    message = f"Running the demo survey {DEMO_SURVEY!r} only" + (
        f"; not the other surveys of {deployment_file} ({', '.join(others)}): pass --all "
        "(python -m pipelines.demo --all), or run them from `make dev`"
        if others
        else ""
    )
    return {DEMO_SURVEY: surveys[DEMO_SURVEY]}, message


def run_demo(
    root: Path = PROJECT_ROOT, deployment_file: str = DEPLOYMENT_FILE, *, every_survey: bool = False
) -> int:
    """Run every wave of the demo survey (or of every survey), then reporting; return a code."""
    try:
        surveys, message = select_surveys(
            load_deployment(root, deployment_file), every_survey, deployment_file
        )
    except ConfigError as error:
        print(f"error: {error}")
        return 2
    print(message)
    demo = surveys.get(DEMO_SURVEY)
    if demo is not None and not all(demo.raw_path(wave).exists() for wave in demo.waves):
        print(f"Generating the demo survey into {demo.resolve(demo.raw_dir)}")
        generate(demo.resolve(demo.raw_dir))
    try:
        # Other surveys' files may not be delivered yet when only the demo runs.
        preflight(root, deployment_file=deployment_file, require_raw_files=every_survey)
    except ConfigError as error:
        print(f"error: {error}")
        return 2
    defs = build_definitions(root, deployment_file)
    wave_job, reporting_job = (defs.resolve_job_def(n) for n in ("wave_job", "reporting_job"))
    failed = False
    with _instance() as instance:
        for key, survey in surveys.items():
            waves_ok = [
                _run(
                    wave_job,
                    instance,
                    f"{key} wave {w.id}",
                    partition_key=wave_partition(key, w.id),
                )
                for w in survey.waves
            ]
            reporting_ok = any(waves_ok) and _run(
                reporting_job, instance, f"{key} reporting", partition_key=key
            )
            failed = failed or not all(waves_ok) or not reporting_ok
    print("\nOutputs:")
    for key, survey in surveys.items():
        processed = survey.resolve(survey.processed_dir) / key
        for path in sorted(
            p for p in processed.rglob("*") if p.is_file() and "runs" not in p.parts
        ):
            print(f"  {path.relative_to(root)}")
    for key in surveys:
        dashboard = root / "dashboards" / key / "dashboard.html"
        if dashboard.exists():
            print(f"\nDashboard ({key}): {dashboard}")
    if failed:
        print("\nSome runs failed (above); every other output is intact.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_demo(every_survey="--all" in sys.argv[1:]))
