"""The ``perception`` command: codebook scaffolding and configuration checks.

Every problem a user can cause is printed as the PerceptionError message (no traceback) and
the command exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from perception.errors import ConfigError, PerceptionError
from perception.storage import atomic_write

USAGE_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = _parser()
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


def _parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
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
        "check", help="validate the survey file, the catalogue and every codebook"
    )
    check.add_argument(
        "survey",
        nargs="?",
        type=Path,
        default=Path("config/survey.yaml"),
        help="survey file (default config/survey.yaml)",
    )
    check.set_defaults(run=_config_check)

    schemas = commands.add_parser("schemas", help="write the JSON Schemas of the config files")
    schemas.add_argument(
        "--out", type=Path, default=Path("config/schemas"), help="folder (default config/schemas)"
    )
    schemas.set_defaults(run=_schemas)

    return parser


def _codebook_init(args: argparse.Namespace) -> int:
    """Write a codebook stub to a file or standard output."""
    from perception.scaffold import codebook_stub

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
    """Validate a survey's configuration and summarize it."""
    from perception.config import load_project

    project = load_project(args.survey)
    survey = project.survey
    if survey.geojson is not None:
        from perception.dashboard import load_geojson

        load_geojson(survey.resolve(survey.geojson), project.catalogue.codes("region"))
    print(
        f"{args.survey}: survey {survey.survey!r}, "
        f"{len(project.catalogue.variables)} catalogue variables, "
        f"{len(project.codebooks)} wave(s) ({', '.join(project.codebooks)})"
        + (", map boundaries" if survey.geojson is not None else "")
        + ": OK"
    )
    return 0


def _schemas(args: argparse.Namespace) -> int:
    """Write the JSON Schemas."""
    from perception.config import write_json_schemas

    for file in write_json_schemas(args.out):
        print(f"wrote {file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
