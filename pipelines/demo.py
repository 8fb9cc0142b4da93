"""``make demo``: generate the demo survey if absent, then run the whole pipeline headless."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg

from perception.config import DEPLOYMENT_FILE, load_deployment
from perception.demo import generate
from perception.errors import ConfigError
from pipelines.definitions import PROJECT_ROOT, build_definitions
from pipelines.preflight import preflight
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


def run_demo(root: Path = PROJECT_ROOT, deployment_file: str = DEPLOYMENT_FILE) -> int:
    """Run every wave of every survey in ``root``, then each survey's reporting; return a code."""
    surveys = load_deployment(root, deployment_file)
    demo = surveys.get("demo")
    if demo is not None and not all(demo.raw_path(wave).exists() for wave in demo.waves):
        print(f"Generating the demo survey into {demo.resolve(demo.raw_dir)}")
        generate(demo.resolve(demo.raw_dir))
    try:
        preflight(root, deployment_file=deployment_file)
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
    sys.exit(run_demo())
