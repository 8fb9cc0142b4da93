"""Results brief: time to build both briefs (EN and FR) as Word and PDF from the published tables.

No other tool writes this brief, so there is no peer to measure a ratio against; the time is
printed beside the issue's target (both briefs, DOCX and PDF, in under 10 s for the demo),
with the machine's load, which moves it.

Input: a demo project run by ``make demo`` (``--project``, default this repository): its
``data/processed/demo/published/*.parquet`` and ``dashboards/demo/images/``; without them, a
demo run made for the benchmark in a temporary folder.
Each phase is the best of ``--repeats``: the content (sentences, tables) of both languages,
the two DOCX files; the total is the best of complete builds, the two PDFs included (printed
side by side in two tabs of the process's one headless Chromium, which the first build starts).

Run with ``python -m benchmarks brief``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from benchmarks import _harness as h
from perception.brief import build_briefs, render_briefs
from perception.brief.word import docx_bytes
from perception.config import BriefConfig, load_catalogue, load_indicators, load_survey

TARGET = 10.0
TABLES = {
    "indicator_estimates": "estimates",
    "indicator_trends": "trends",
    "benchmark_status": "status",
    "methodology": "methodology",
}


def demo_tables(root: Path) -> tuple[Mapping[str, pd.DataFrame], Path | None, str] | None:
    """Read the published tables of a demo project, or None when it has not been run."""
    folder = root / "data" / "processed" / "demo" / "published"
    if not all((folder / f"{stem}.parquet").exists() for stem in TABLES.values()):
        return None
    tables = {name: pd.read_parquet(folder / f"{stem}.parquet") for name, stem in TABLES.items()}
    images = root / "dashboards" / "demo" / "images"
    return tables, images if images.is_dir() else None, f"demo run in {root}"


def main(argv: list[str] | None = None) -> None:
    """Build both briefs and print each phase's time against the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=h.REPO)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args([] if argv is None else argv)
    print(h.machine())
    print("no peer writes this brief: each measure is printed against the target")
    tables, images, source = demo_tables(args.project) or demo_tables(h.demo_run(args.project))
    print(f"input: {source}")
    catalogue = load_catalogue(h.REPO / "config" / "variables.yaml")
    survey = load_survey(h.REPO / "config" / "survey.yaml", root=h.REPO)
    indicators = load_indicators(h.REPO / "config" / "indicators.yaml", catalogue)

    def content():  # type: ignore[no-untyped-def]
        return build_briefs(
            tables,
            catalogue=catalogue,
            survey=survey,
            indicators=indicators,
            config=BriefConfig(),
            images=images,
        )

    built, briefs = h.best_of(content, args.repeats)
    word, _ = h.best_of(lambda: [docx_bytes(b) for b in briefs.values()], args.repeats)
    both, rendered = h.best_of(lambda: render_briefs(content()), args.repeats)
    rows = [
        ["content, EN + FR", h.fmt_seconds(built), "", ""],
        ["DOCX, EN + FR", h.fmt_seconds(word), "", ""],
    ]
    if rendered.pdf_error is not None:
        rows.append(["PDF", f"skipped: {str(rendered.pdf_error).splitlines()[0]}", "", ""])
    sizes = ", ".join(f"{name} {len(data) / 1e6:.2f} MB" for name, data in rendered.files.items())
    rows.append(
        [
            f"both briefs, DOCX + PDF (best of {args.repeats})",
            h.fmt_seconds(both),
            f"< {TARGET:g} s",
            h.verdict(both < TARGET),
        ]
    )
    print(h.table(["measure", "value", "target", "verdict"], rows))
    print(f"files: {sizes}")


if __name__ == "__main__":
    main(sys.argv[1:])
