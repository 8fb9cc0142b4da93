"""``make demo``: generate the demo survey if absent, then run every wave headless, in-process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg

from perception.config import load_survey
from perception.demo import generate
from pipelines.definitions import PROJECT_ROOT, SURVEY_FILE, build_definitions


def _instance() -> dg.DagsterInstance:
    """Return the instance in ``$DAGSTER_HOME`` (SQLite) when set, else a temporary one."""
    home = os.environ.get("DAGSTER_HOME")
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def run_demo(root: Path = PROJECT_ROOT) -> int:
    """Materialize every wave of the survey in ``root``; return a process exit code."""
    survey = load_survey(root / SURVEY_FILE, root=root)
    raw_dir = survey.resolve(survey.raw_dir)
    if not all(survey.raw_path(wave).exists() for wave in survey.waves):
        print(f"Generating the demo survey into {raw_dir}")
        generate(raw_dir)
    job = build_definitions(root).resolve_job_def("wave_job")
    failed: list[str] = []
    with _instance() as instance:
        for wave in survey.waves:
            result = job.execute_in_process(
                partition_key=wave.id, instance=instance, raise_on_error=False
            )
            status = "ok" if result.success else "FAILED"
            print(f"wave {wave.id}: {status}")
            if not result.success:
                failed.append(wave.id)
                for event in result.all_events:
                    if event.is_step_failure and event.step_failure_data is not None:
                        print(
                            event.step_failure_data.error.message
                            if event.step_failure_data.error
                            else ""
                        )
    processed = survey.resolve(survey.processed_dir) / survey.survey
    print("\nOutputs:")
    for path in sorted(processed.rglob("*.parquet")):
        print(f"  {path.relative_to(root)}")
    if failed:
        print(
            f"\n{len(failed)} wave(s) failed: {', '.join(failed)}; other waves' outputs are intact."
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
