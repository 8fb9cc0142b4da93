"""Onboarding a real survey: ``survey init`` plus ``perception run``, and Dagster's share.

Input: the two Afrobarometer Tunisia rounds of the shared fixtures (1,200 x 377 and
1,200 x 388, ``../shared/fixtures/afrobarometer/``), copied into a temporary project.

Measured, each once (a cold run is what a data officer sees):

- ``survey init`` on both files (reading, matching, writing the scaffold);
- ``perception run`` on the unedited scaffold (two ``wave_job`` runs and one
  ``reporting_job`` run on a fresh embedded instance);
- inside that run, the time spent in asset bodies (each step's STEP_START to STEP_SUCCESS in
  the run's event log) against the run's wall time: the rest is Dagster's own machinery
  (run and step setup, event log writes, hooks) plus process start-up.

No other tool onboards a survey, so there is no peer ratio; the split is the measure.
Run with ``python -m benchmarks onboarding``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import dagster as dg

from perception.survey_init import survey_init
from pipelines.run import run_surveys

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "afrobarometer"
ROUNDS = ("tun_r8_data.sav", "tun_r9_data.sav")


def _step_seconds(home: Path) -> tuple[float, int]:
    """Return the summed STEP_START→STEP_SUCCESS/FAILURE time of every run, and the run count."""
    total, runs = 0.0, 0
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            runs += 1
            started: dict[str, float] = {}
            for record in instance.all_logs(run.run_id):
                event = record.dagster_event
                if event is None or record.step_key is None:
                    continue
                if event.event_type_value == "STEP_START":
                    started[record.step_key] = record.timestamp
                elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                    total += record.timestamp - started.pop(record.step_key, record.timestamp)
    return total, runs


def main() -> None:
    """Scaffold and run the two rounds; print the times and the Dagster share."""
    if not all((FIXTURES / name).is_file() for name in ROUNDS):
        print(f"skipped: the Afrobarometer fixtures are absent ({FIXTURES})")
        return
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        raw = root / "data" / "raw"
        raw.mkdir(parents=True)
        for name in ROUNDS:
            shutil.copy(FIXTURES / name, raw / name)
        os.environ.pop("DAGSTER_HOME", None)
        with warnings.catch_warnings(), redirect_stdout(StringIO()):
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            survey_init([raw / name for name in ROUNDS], root / "config" / "tun")
            scaffolded = time.perf_counter()
            code = run_surveys(root, survey_files=["config/tun/survey.yaml"])
            done = time.perf_counter()
        if code != 0:
            raise RuntimeError(f"perception run exited {code}")
        steps, runs = _step_seconds(root / ".dagster")
    init, run = scaffolded - start, done - scaffolded
    print(f"survey init (2 rounds)      {init:7.1f} s")
    print(f"perception run ({runs} runs)    {run:7.1f} s")
    print(f"  in asset bodies           {steps:7.1f} s ({steps / run:.0%})")
    print(f"  Dagster and start-up      {run - steps:7.1f} s ({(run - steps) / run:.0%})")
    print(f"end to end                  {init + run:7.1f} s")


if __name__ == "__main__":
    main()
