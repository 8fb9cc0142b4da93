"""The ``perception`` command: codebook scaffolding and configuration checks.

Every problem a user can cause is printed as the PerceptionError message (no traceback) and
the command exits with status 2. The Dagster layer adds ``perception run`` (``pipelines.cli``)
through ``extend``, so this library module never imports Dagster.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from perception.errors import ConfigError, PerceptionError
from perception.storage import atomic_write

USAGE_ERROR = 2


def main(
    argv: Sequence[str] | None = None,
    extend: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] | None = None,
) -> int:
    """Run the command line and return its exit status; ``extend`` adds subcommands."""
    parser, commands = _parser()
    if extend is not None:
        extend(commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    try:
        status: int = args.run(args)
    except PerceptionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    return status


def _parser() -> tuple[
    argparse.ArgumentParser, argparse._SubParsersAction[argparse.ArgumentParser]
]:
    """Build the argument parser and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="perception",
        description="Survey analytics pipeline for peace operations.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    codebook = commands.add_parser("codebook", help="draft codebooks")
    codebook_commands = codebook.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = codebook_commands.add_parser(
        "init",
        help="write a codebook stub drafted from a survey file's metadata",
        description="Draft a codebook from a survey file: labels, value labels, types, "
        "suggested targets and missing codes, and personal-data suspects flagged pii.",
    )
    init.add_argument("file", type=Path, help="survey file (.sav, .dta, .csv, .xlsx, ...)")
    init.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    init.add_argument("--wave", default="w1", help="wave id to write in the stub (default w1)")
    init.add_argument("--force", action="store_true", help="overwrite an existing output file")
    init.set_defaults(run=_codebook_init)

    survey = commands.add_parser("survey", help="scaffold a survey configuration")
    survey_commands = survey.add_subparsers(dest="action", required=True, metavar="ACTION")
    survey_init = survey_commands.add_parser(
        "init",
        help="draft survey.yaml, codebooks, catalogue, indicators and weighting from round files",
        description="Draft a complete survey configuration from one file per round: items are "
        "matched across rounds by their labels and value labels; REVIEW.md lists the matches "
        "with their scores, the uncertain ones and the personal-data suspects.",
    )
    survey_init.add_argument("files", nargs="+", type=Path, help="one survey file per round")
    survey_init.add_argument(
        "-o", "--output", type=Path, required=True, help="folder to write (config/<survey>/)"
    )
    survey_init.add_argument("--survey", help="survey key (default: the output folder's name)")
    survey_init.add_argument("--force", action="store_true", help="overwrite an existing scaffold")
    survey_init.set_defaults(run=_survey_init)

    config = commands.add_parser("config", help="check configuration files")
    config_commands = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = config_commands.add_parser(
        "check",
        help="validate survey files, their catalogue and every codebook",
        description="Validate survey files. Paths inside a survey file are relative to the "
        "project root: the folder holding the config/ folder the survey file is in.",
    )
    check.add_argument(
        "survey",
        nargs="?",
        type=Path,
        default=None,
        help="survey file (default: every survey of config/deployment.yaml, else "
        "config/survey.yaml)",
    )
    check.set_defaults(run=_config_check)

    schemas = commands.add_parser("schemas", help="write the JSON Schemas of the config files")
    schemas.add_argument(
        "--out", type=Path, default=Path("config/schemas"), help="folder (default config/schemas)"
    )
    schemas.set_defaults(run=_schemas)

    return parser, commands


def _codebook_init(args: argparse.Namespace) -> int:
    """Write a codebook stub to a file or standard output."""
    from perception.codebook import codebook_stub

    output: Path | None = args.output
    if output is not None and output.exists() and not args.force:
        raise ConfigError(
            "Output file already exists",
            expected="a new file name",
            found=f"{output} exists",
            hint="choose another -o, or pass --force to overwrite it",
            file=output,
        )
    text = codebook_stub(args.file, wave=args.wave)
    if output is None:
        sys.stdout.write(text)
    else:
        atomic_write(output, lambda stream: stream.write(text.encode("utf-8")))
        print(f"wrote {output}", file=sys.stderr)
    return 0


def _survey_init(args: argparse.Namespace) -> int:
    """Write a survey scaffold and summarize what it found."""
    from perception.survey_init import survey_init

    done = survey_init(args.files, args.output, survey=args.survey, force=args.force)
    for file in done.files:
        print(f"wrote {file}", file=sys.stderr)
    print(
        f"{len(done.matches)} cross-round match(es), {len(done.uncertain)} uncertain, "
        f"{sum(map(len, done.pii.values()))} personal-data suspect(s), "
        f"{len(done.region_conflicts)} region code conflict(s): see {args.output / 'REVIEW.md'}"
    )
    return 0


def _config_check(args: argparse.Namespace) -> int:
    """Validate one survey, or every survey of the deployment, and summarize each."""
    from perception.config import load_deployment

    if args.survey is not None:
        _check_survey(args.survey, None)
    else:
        root = Path.cwd()
        for survey in load_deployment(root).values():
            _check_survey(survey.path.relative_to(root), root)
    return 0


def _check_survey(path: Path, root: Path | None) -> None:
    """Validate one survey's configuration, print its warnings and a summary."""
    from perception.config import (
        check_replicate_weights,
        load_project,
        load_wave_targets,
        load_weighting_config,
        survey_warnings,
    )

    project = load_project(path, root)
    survey = project.survey
    weighting = load_weighting_config(survey.resolve(survey.weighting))
    replicates = check_replicate_weights(survey.resolve(survey.weighting), project.catalogue)
    for wave in survey.waves:
        load_wave_targets(survey, wave.id, weighting, project.catalogue)
    if survey.geojson is not None:
        from perception.dashboard import load_geojson

        load_geojson(
            survey.resolve(survey.geojson), project.catalogue.codes(survey.map_variable or "region")
        )
    from perception.config import BRIEF_FILE, load_brief_config

    load_brief_config(survey.root / BRIEF_FILE)
    for warning in survey_warnings(survey):
        print(f"warning: {path}: {warning}", file=sys.stderr)
    print(
        f"{path}: survey {survey.survey!r}, "
        f"{len(project.catalogue.variables)} catalogue variables, "
        f"{len(project.codebooks)} wave(s) ({', '.join(project.codebooks)}), "
        f"calibration {weighting.calibration.method}"
        + (
            f", {len(replicates)} replicate weights ({weighting.design.replicate_weights.type})"
            if weighting.design.replicate_weights is not None
            else ""
        )
        + (", map boundaries" if survey.geojson is not None else "")
        + ": OK"
    )


def _schemas(args: argparse.Namespace) -> int:
    """Write the JSON Schemas."""
    from perception.config import write_json_schemas

    for file in write_json_schemas(args.out):
        print(f"wrote {file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
