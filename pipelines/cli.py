"""The ``perception`` command: the library's subcommands plus ``run``, which needs Dagster."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from perception import cli


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    return cli.main(argv, extend=_add_commands)


def _add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the subcommands that need Dagster: ``run`` and ``brief``."""
    _add_run(commands)
    _add_brief(commands)


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``perception run``."""
    run = commands.add_parser(
        "run",
        help="run a survey's pipeline headless (the Dagster jobs of make demo)",
        description="Run wave_job for each wave, then reporting_job, on the embedded Dagster "
        "instance ($DAGSTER_HOME, else .dagster/ in the project folder), and print where the "
        "outputs, exports and dashboard are.",
    )
    run.add_argument(
        "--survey",
        action="append",
        type=Path,
        help="survey file, relative to the project folder (repeatable; default: every survey "
        "of config/deployment.yaml)",
    )
    run.add_argument(
        "--wave", action="append", help="run only this wave (repeatable; default: every wave)"
    )
    run.add_argument(
        "--root",
        type=Path,
        default=Path.cwd(),
        help="project folder holding config/ (default: the current folder)",
    )
    run.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    """Run the pipeline of the chosen surveys."""
    from pipelines.run import run_surveys

    files = None if args.survey is None else [str(p) for p in args.survey]
    return run_surveys(args.root.resolve(), survey_files=files, waves=args.wave)


def _add_brief(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``perception brief``."""
    brief = commands.add_parser(
        "brief",
        help="write the results briefs (Word and PDF, English and French) of a survey",
        description="Materialize the results_brief asset of reporting_job from the published "
        "tables of the last run: exports/latest/brief_{en,fr}.{docx,pdf}.",
    )
    brief.add_argument(
        "--survey", type=Path, help="survey file (default: the deployment's only survey)"
    )
    brief.add_argument("--wave", help="the wave the brief reports (default: the latest)")
    brief.add_argument(
        "--root",
        type=Path,
        default=Path.cwd(),
        help="project folder holding config/ (default: the current folder)",
    )
    brief.set_defaults(run=_brief)


def _brief(args: argparse.Namespace) -> int:
    """Write the briefs of one survey."""
    from pipelines.run import brief_survey

    survey = None if args.survey is None else str(args.survey)
    return brief_survey(args.root.resolve(), survey_file=survey, wave=args.wave)


if __name__ == "__main__":
    sys.exit(main())
