"""Headless runs of the Dagster jobs: ``perception run`` and ``make demo`` share this one path."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from perception import errors
from perception.config import DEPLOYMENT_FILE, SurveyConfig, load_deployment
from perception.errors import ConfigError, PerceptionError
from perception.flow import load_workspace
from perception.forking import CAN_FORK, forked_results
from pipelines.definitions import build_definitions
from pipelines.preflight import preflight
from pipelines.resources import wave_partition

Echo = Callable[[str], None]

LOCAL_INSTANCE_CONFIG = Path("deploy/local/dagster.yaml")


@dataclass
class _Progress:
    """Prints a line per finished step, with the time since the previous line."""

    echo: Echo
    last: float = field(default_factory=time.perf_counter)

    def line(self, step: str, status: str) -> None:
        """Print one step's outcome and how long it took."""
        now = time.perf_counter()
        self.echo(f"    {step:<24} {status:<6} {now - self.last:6.1f} s")
        self.last = now


class _StepLines(logging.Handler):
    """Hands each finished step's outcome, as Dagster logs it, to a :class:`_Progress`."""

    def __init__(self, progress: _Progress) -> None:
        super().__init__()
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        """Print a line for a step's success or failure; ignore every other record."""
        event = getattr(record, "dagster_event", None)
        if isinstance(event, dg.DagsterEvent) and event.step_key is not None:
            if event.is_step_success:
                self.progress.line(event.step_key, "ok")
            elif event.is_step_failure:
                self.progress.line(event.step_key, "FAILED")


def _loggers(progress: _Progress) -> dict[str, dg.LoggerDefinition]:
    """Return the run's one logger, which prints a line per finished step.

    Dagster's console log is for the UI (the run config names this logger, else Dagster adds
    the console one). A logger, not hooks: hooks add two events per step to the event log.
    """

    @dg.logger
    def progress_lines(_: dg.InitLoggerContext) -> logging.Logger:
        """Print each step's outcome and time as it finishes."""
        lines = logging.Logger("perception.progress", logging.DEBUG)  # steps' events: DEBUG
        lines.addHandler(_StepLines(progress))
        return lines

    return {"progress": progress_lines}


class _SqliteSessions:
    """While an instance is open here, its SQLite files commit without waiting for the disk.

    Dagster's SQLite storage opens, commits and closes a connection for every event it stores
    (about 300 a wave run). Each commit waited for an fsync, and each close, as the file's last
    connection, checkpointed the write-ahead log into the database with more: about 2,000
    fsyncs and 2.4 s of a wave run's wall time. Here, for the files under an open instance's
    folder, every connection uses the write-ahead log (Dagster's own choice, made here from
    the file's creation on) and ``synchronous=NORMAL``, the setting SQLite documents for it:
    the database stays consistent after a crash or a power cut, which may lose only the last
    transactions (run records, not outputs, which :mod:`perception.storage` writes
    atomically). One idle connection per file, held until the instance closes, saves the
    checkpoint on each close: each file is checkpointed once, when the instance closes.
    """

    def __init__(self) -> None:
        self.homes: list[Path] = []  # folders of the instances open in this process
        self.held: dict[str, sqlite3.Connection] = {}
        self.lock = threading.Lock()
        self.inherited: list[sqlite3.Connection] = []  # a forked child's: never used or closed
        sa.event.listen(sa.Engine, "connect", self.on_connect)
        os.register_at_fork(after_in_child=self.forked)

    def forked(self) -> None:
        """In a forked child, start with no instance open; keep the parent's connections unused."""
        self.inherited += self.held.values()
        self.homes, self.held, self.lock = [], {}, threading.Lock()

    def on_connect(self, connection: object, _: object) -> None:
        """Set a new connection's journal and sync modes; hold its file open while in use."""
        if not self.homes or not isinstance(connection, sqlite3.Connection):
            return
        path = connection.execute("PRAGMA database_list").fetchone()[2]
        if not path or not any(Path(path).is_relative_to(home) for home in self.homes):
            return
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            connection.execute("PRAGMA journal_mode=WAL").close()
        connection.execute("PRAGMA synchronous=NORMAL").close()
        with self.lock:
            if path not in self.held:
                held = sqlite3.connect(path, check_same_thread=False)
                held.execute("SELECT 1 FROM sqlite_master").close()  # it joins the WAL index
                self.held[path] = held

    @contextmanager
    def session(self, home: Path) -> Iterator[None]:
        """Apply the settings to the files under ``home`` inside the block."""
        self.homes.append(home.resolve())
        try:
            yield
        finally:
            self.homes.pop()
            if not self.homes:
                with self.lock:
                    for held in self.held.values():
                        held.close()
                    self.held.clear()


_SQLITE = _SqliteSessions()


@contextmanager
def open_instance(root: Path) -> Iterator[dg.DagsterInstance]:
    """Open ``$DAGSTER_HOME``'s instance, else the embedded one in ``<root>/.dagster`` (SQLite).

    Its SQLite files, if any, commit without waiting for the disk (:class:`_SqliteSessions`).
    """
    home = Path(os.environ.get("DAGSTER_HOME") or root / ".dagster")
    if not (home / "dagster.yaml").exists():
        home.mkdir(parents=True, exist_ok=True)
        template = root / LOCAL_INSTANCE_CONFIG
        if template.is_file():
            shutil.copyfile(template, home / "dagster.yaml")
        else:
            (home / "dagster.yaml").write_text(
                "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"
            )
    with _SQLITE.session(home), dg.DagsterInstance.from_config(str(home.resolve())) as instance:
        yield instance


#: What a step failure was: bad input (the PerceptionError behind a dg.Failure) or a defect.
OK, BAD_INPUT, DEFECT = 0, 2, 1


def _execute(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    partition: str,
    label: str,
    echo: Echo,
    *,
    assets: Sequence[str] | None = None,
    ops: dict[str, object] | None = None,
) -> int:
    """Run a job in-process for one partition; print each step and the errors of failures.

    Returns :data:`OK`, :data:`BAD_INPUT` when every failure was a data or configuration problem
    (a ``PerceptionError``, as such or as a ``dg.Failure``, or a failed blocking check), else
    :data:`DEFECT`.
    """
    echo(f"  {label}")
    progress = _Progress(echo)
    result = job.with_logger_defs(_loggers(progress)).execute_in_process(
        instance=instance,
        partition_key=partition,
        raise_on_error=False,
        run_config={"loggers": {"progress": {}}, **({"ops": ops} if ops else {})},
        asset_selection=None if assets is None else [dg.AssetKey(a) for a in assets],
    )
    outcome = OK
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            bad_input = _is_bad_input(error.cls_name)
            root = error
            while root.cause is not None:  # Dagster wraps a defect: say what went wrong inside
                root = root.cause
            echo(f"    error in {event.step_key}: {root.message.strip()}")
            if not bad_input and root.stack:
                echo("    at " + root.stack[-1].strip().replace("\n", "\n       "))
            outcome = max(outcome, BAD_INPUT if bad_input else DEFECT)
        elif event.is_step_skipped:
            echo(f"    {event.step_key:<24} skipped (an earlier step failed)")
    if not result.success and outcome == OK:
        outcome = DEFECT
    return outcome


def _is_bad_input(cls_name: str | None) -> bool:
    """Tell whether a step failed on data or configuration rather than on a defect."""
    if cls_name in ("Failure", "DagsterAssetCheckFailedError"):  # as_failure, a blocking check
        return True
    found = getattr(errors, cls_name or "", None)
    return isinstance(found, type) and issubclass(found, errors.PerceptionError)


def _selected_waves(survey: SurveyConfig, waves: Sequence[str] | None) -> list[str]:
    """Return the wave ids to run, in survey order; an unknown id is a ConfigError."""
    known = [wave.id for wave in survey.waves]
    if not waves:
        return known
    unknown = [w for w in waves if w not in known]
    if unknown:
        raise ConfigError(
            f"No wave {', '.join(map(repr, unknown))} in survey {survey.survey!r}",
            expected="one of the wave ids " + ", ".join(known),
            found=", ".join(unknown),
            hint=f"wave ids are the `id:` of each entry under `waves:` in {survey.path}",
            file=survey.path,
        )
    return [w for w in known if w in waves]


def run_surveys(
    root: Path,
    *,
    survey_files: Sequence[str] | None = None,
    surveys: Sequence[str] | None = None,
    waves: Sequence[str] | None = None,
    echo: Echo = print,
) -> int:
    """Run ``wave_job`` for each wave, then ``reporting_job``, for each survey; return a code.

    ``survey_files`` replaces the deployment's list of survey files; ``surveys`` keeps only
    those survey keys; ``waves`` only those waves (reporting still reads every wave's last
    estimates). Configuration problems raise a ConfigError before any run starts. The code is 0
    when every run succeeded, 2 when runs failed on bad input and 1 when a step failed on a
    defect; every output of a failed run is left as it was.
    """
    configured = load_deployment(root, DEPLOYMENT_FILE, survey_files)
    chosen = {k: s for k, s in configured.items() if surveys is None or k in surveys}
    selection = {key: _selected_waves(survey, waves) for key, survey in chosen.items()}
    preflight(root, survey_files=[str(s.path) for s in chosen.values()], require_raw_files=False)
    for survey in chosen.values():
        for wave in survey.waves:
            if wave.id in selection[survey.survey] and not survey.raw_path(wave).is_file():
                raise ConfigError(
                    f"The raw file of wave {wave.id!r} has not been delivered",
                    expected=f"a file at {survey.raw_path(wave)}",
                    found="no such file",
                    hint=f"copy the file into {survey.raw_dir}, or run the other waves with --wave",
                    file=survey.path,
                )
    defs = build_definitions(root, DEPLOYMENT_FILE, survey_files)
    wave_job, reporting_job = (defs.resolve_job_def(n) for n in ("wave_job", "reporting_job"))
    code = OK
    for key, survey in chosen.items():
        echo(f"Survey {key} ({survey.path})")
        outcomes = _run_waves(wave_job, root, key, survey, selection[key], echo)
        code = max([code, *outcomes])
        with open_instance(root) as instance:
            if OK in outcomes:
                code = max(
                    code, _execute(reporting_job, instance, key, "reporting (all waves)", echo)
                )
            else:
                echo("  reporting skipped: no wave ran")
    for survey in chosen.values():
        _print_outputs(root, survey, echo)
    if code != OK:
        echo("\nSome runs failed (above); every other output is intact.")
    return code


def _run_waves(
    job: dg.JobDefinition,
    root: Path,
    key: str,
    survey: SurveyConfig,
    waves: Sequence[str],
    echo: Echo,
) -> list[int]:
    """Run ``job`` for each wave, at the same time on several cores; return their outcomes.

    Waves are independent runs, except that a wave's estimates may read its reference wave's
    weights: those waves run after the others. On Linux each run is a process forked from
    this one (modules and definitions already loaded) with its own connection to the
    instance, up to one more than the cores at a time; elsewhere, or for one wave, the runs
    are in this process. Each wave's lines are printed once it and the waves before it end.
    """
    referencing = {w.id for w in survey.waves if w.reference_wave in waves}
    stages = [[w for w in waves if w not in referencing], [w for w in waves if w in referencing]]
    outcomes: dict[str, int] = {}
    for stage in filter(None, stages):
        workers = min(len(stage), (os.cpu_count() or 1) + 1)
        if workers < 2 or not CAN_FORK:
            with open_instance(root) as instance:
                for wave in stage:
                    outcomes[wave] = _execute(
                        job, instance, wave_partition(key, wave), f"wave {wave}", echo
                    )
            continue
        with suppress(PerceptionError):  # loaded once for every forked run; each reports it
            load_workspace(survey.path, root)
        for wave, (outcome, lines) in _forked_runs(job, root, key, stage, workers):
            outcomes[wave] = outcome
            for line in lines:
                echo(line)
    return [outcomes[w] for w in waves]


def _forked_runs(
    job: dg.JobDefinition, root: Path, key: str, waves: Sequence[str], workers: int
) -> Iterator[tuple[str, tuple[int, list[str]]]]:
    """Run each wave in a forked process, ``workers`` at a time; yield each in order when done.

    An exception in a child is raised here, as it would have been in this process, once every
    child still running has ended.
    """
    with open_instance(root):  # creates its databases: runs that start together would race
        pass
    calls = [functools.partial(_wave_lines, job, root, key, wave) for wave in waves]
    yield from zip(waves, forked_results(calls, workers), strict=True)


def _wave_lines(job: dg.JobDefinition, root: Path, key: str, wave: str) -> tuple[int, list[str]]:
    """Run one wave on its own connection to the instance; return its outcome and lines."""
    lines: list[str] = []
    with open_instance(root) as instance:
        outcome = _execute(job, instance, wave_partition(key, wave), f"wave {wave}", lines.append)
    return outcome, lines


def _print_outputs(root: Path, survey: SurveyConfig, echo: Echo) -> None:
    """Print where a survey's outputs, exports and dashboard are."""
    processed = survey.resolve(survey.processed_dir) / survey.survey
    echo(f"\nOutputs of {survey.survey}: {processed}")
    for path in sorted(p for p in processed.rglob("*") if p.is_file() and "runs" not in p.parts):
        echo(f"  {path.relative_to(processed)}")
    dashboard = root / "dashboards" / survey.survey / "dashboard.html"
    if dashboard.exists():
        echo(f"Dashboard: {dashboard}")


def brief_survey(
    root: Path, *, survey_file: str | None = None, wave: str | None = None, echo: Echo = print
) -> int:
    """Materialize ``results_brief`` of one survey (``perception brief``); return a code.

    It runs the asset of ``reporting_job`` alone, on the published tables of the last
    reporting run, for ``wave`` (default the latest). Without ``survey_file`` the deployment
    must serve one survey.
    """
    files = None if survey_file is None else [survey_file]
    configured = load_deployment(root, DEPLOYMENT_FILE, files)
    if len(configured) != 1:
        raise ConfigError(
            "perception brief writes the brief of one survey",
            expected="--survey naming one survey file",
            found=f"{len(configured)} surveys in {DEPLOYMENT_FILE}",
            hint="pass --survey config/<mission>/survey.yaml",
            file=root / DEPLOYMENT_FILE,
        )
    key, survey = next(iter(configured.items()))
    if wave is not None:
        _selected_waves(survey, [wave])
    job = build_definitions(root, DEPLOYMENT_FILE, files).resolve_job_def("reporting_job")
    with open_instance(root) as instance:
        code = _execute(
            job,
            instance,
            key,
            f"brief of {key} ({wave or 'latest wave'})",
            echo,
            assets=["results_brief"],
            ops={"results_brief": {"config": {"wave": wave} if wave else {}}},
        )
    latest = survey.resolve(survey.processed_dir) / key / "exports" / "latest"
    if code == OK:
        for path in sorted(latest.glob("brief_*")):
            echo(f"  {path}")
    return code
