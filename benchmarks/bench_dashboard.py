"""Leadership dashboard: file size, generation time and time to interactive in headless Chromium.

No other tool builds this dashboard, so there is no peer to measure a ratio against; each
measure is printed beside the issue's target instead (size < 10 MB, generation < 5 s after the
indicators are computed, interactive < 3 s in headless Chromium on a 2-core machine), with the
machine's load, which moves the times.

Input: the demo's published tables from ``make demo``
(``data/processed/demo/exports/latest/indicators.duckdb``) when they exist, else those of a
demo run made for the benchmark in a temporary folder. ``--duckdb PATH`` picks another
export's ``indicators.duckdb``.

Generation: ``build_dashboard`` on tables already in memory, best of ``--repeats``.
Time to interactive: wall time from ``page.goto(file://...)`` to the moment every figure is
drawn (the page sets ``body[data-rendered]`` once ``Plotly.react`` has resolved for all of
them), in a fresh page of one headless Chromium (Debian's ``/usr/bin/chromium`` via
Playwright); the first load and the median of ``--repeats`` loads are printed, the median is
judged.

Run with ``python -m benchmarks dashboard``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks import _harness as h
from perception.config import Label, load_catalogue, load_indicators, load_survey
from perception.dashboard import TABLES, build_dashboard
from perception.readback import read_published

DEMO_EXPORT = Path("data") / "processed" / "demo" / "exports" / "latest" / "indicators.duckdb"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TARGET_MB = 10.0
TARGET_GENERATION = 5.0
TARGET_INTERACTIVE = 3.0
GENERATED_AT = dt.datetime(2026, 1, 1, 12, 0)


def demo_tables(path: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Label], str]:
    """Read the published tables of an export, and the benchmark labels of the demo config."""
    catalogue = load_catalogue(h.REPO / "config" / "variables.yaml")
    # The DuckDB tables are in the exports' form (labels, percent scale): read them back as
    # published, as the readback audit does.
    published = read_published(path.parent, catalogue.domain_columns)
    tables = {name: published[name] for name in TABLES}
    indicators = load_indicators(h.REPO / "config" / "indicators.yaml", catalogue)
    labels = {key: bench.label for key, bench in indicators.benchmarks.items()}
    return tables, labels, f"demo export {path}"


def time_to_interactive(path: Path, repeats: int) -> list[float]:
    """Load the dashboard ``repeats`` times in fresh pages; return the seconds of each load."""
    from playwright.sync_api import sync_playwright

    seconds = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            start = time.perf_counter()
            page.goto(path.as_uri(), wait_until="commit")
            page.wait_for_selector("body[data-rendered]", timeout=60_000)
            seconds.append(time.perf_counter() - start)
            page.close()
        browser.close()
    return seconds


def main(argv: list[str] | None = None) -> None:
    """Build the dashboard, then print its size, generation time and time to interactive."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duckdb", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args([] if argv is None else argv)
    print(h.machine())
    print("no peer builds this dashboard: each measure is printed against its target")
    tables, labels, source = demo_tables(args.duckdb or h.demo_run() / DEMO_EXPORT)
    print(f"input: {source}")
    catalogue = load_catalogue(h.REPO / "config" / "variables.yaml")
    survey = load_survey(h.REPO / "config" / "survey.yaml", root=h.REPO)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "dashboard.html"

        def build() -> Path:
            return build_dashboard(
                tables,
                catalogue=catalogue,
                survey=survey,
                benchmark_labels=labels,
                out_path=out,
                generated_at=GENERATED_AT,
            )

        generation, _ = h.best_of(build, args.repeats)
        size_mb = out.stat().st_size / 1e6
        rows = [
            ["size", f"{size_mb:.2f} MB", f"< {TARGET_MB:g} MB", h.verdict(size_mb < TARGET_MB)],
            [
                f"generation (best of {args.repeats})",
                h.fmt_seconds(generation),
                f"< {TARGET_GENERATION:g} s",
                h.verdict(generation < TARGET_GENERATION),
            ],
        ]
        if CHROMIUM.exists():
            loads = time_to_interactive(out, args.repeats)
            median = statistics.median(loads)
            rows.append(["interactive, first load", h.fmt_seconds(loads[0]), "", ""])
            rows.append(
                [
                    f"interactive, median of {args.repeats}",
                    h.fmt_seconds(median),
                    f"< {TARGET_INTERACTIVE:g} s",
                    h.verdict(median < TARGET_INTERACTIVE),
                ]
            )
        else:
            rows.append(["interactive", "skipped: no /usr/bin/chromium", "", ""])
    print(h.table(["measure", "value", "target", "verdict"], rows))


if __name__ == "__main__":
    main(sys.argv[1:])
