"""``make demo``: generate the demo survey if absent, then run the whole pipeline headless."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg

from perception.config import load_survey
from perception.demo import generate
from perception.errors import ConfigError
from pipelines.definitions import PROJECT_ROOT, SURVEY_FILE, build_definitions
from pipelines.preflight import preflight


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


def run_demo(root: Path = PROJECT_ROOT) -> int:
    """Run every wave of the survey in ``root``, then the reporting; return an exit code."""
    survey = load_survey(root / SURVEY_FILE, root=root)
    if not all(survey.raw_path(wave).exists() for wave in survey.waves):
        print(f"Generating the demo survey into {survey.resolve(survey.raw_dir)}")
        generate(survey.resolve(survey.raw_dir))
    try:
        preflight(root)
    except ConfigError as error:
        print(f"error: {error}")
        return 2
    defs = build_definitions(root)
    with _instance() as instance:
        waves_ok = [
            _run(defs.resolve_job_def("wave_job"), instance, f"wave {w.id}", partition_key=w.id)
            for w in survey.waves
        ]
        reporting_ok = any(waves_ok) and _run(
            defs.resolve_job_def("reporting_job"), instance, "reporting"
        )
    processed = survey.resolve(survey.processed_dir) / survey.survey
    print("\nOutputs:")
    for path in sorted(p for p in processed.rglob("*") if p.is_file() and "runs" not in p.parts):
        print(f"  {path.relative_to(root)}")
    dashboard = root / "dashboards" / survey.survey / "dashboard.html"
    if dashboard.exists():
        print(f"\nDashboard: {dashboard}")
    if not all(waves_ok) or not reporting_ok:
        print("\nSome runs failed (above); every other output is intact.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
