"""Raking 1,000,000 rows to three margins: perception against R survey, svy and samplics.

The workload's base weights (summing to about 23 million) are raked to integer population
margins for sex (2), age band (5) and region (20) that each sum to 20 million (see
``_workload.population_margins``). Every tool is asked for a relative margin error of 1e-10 or
tighter; the achieved error is measured here from the weights each tool returns, and every
peer's weights are compared with perception's.

Run with ``python -m benchmarks raking``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import _harness as h
from benchmarks._workload import (
    AGE,
    PSU,
    REGION,
    SEX,
    STRATUM,
    WEIGHT,
    Margins,
    make_workload,
    population_margins,
    write_csv,
)

N_ROWS = 1_000_000
TOLERANCE = 1e-10
TARGET_SECONDS = 0.5
R_TIMEOUT = 240.0

R_CODE = r"""
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
csv <- args[[1]]; margins_csv <- args[[2]]; out <- args[[3]]
dat <- if (requireNamespace("data.table", quietly = TRUE)) {
  as.data.frame(data.table::fread(csv))
} else {
  read.csv(csv)
}
margins <- read.csv(margins_csv)
design <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = dat)
totals <- function(v) margins[margins$variable == v, c("level", "total")]
population <- c(sum(totals("sex")$total), totals("sex")$total[-1],
                totals("age_band")$total[-1], totals("region")$total[-1])
started <- proc.time()[["elapsed"]]
cal <- calibrate(design, ~factor(sex) + factor(age_band) + factor(region), population,
                 calfun = "raking", epsilon = 1e-12, maxit = 100)
cal_seconds <- proc.time()[["elapsed"]] - started
margin_frame <- function(v) setNames(totals(v), c(v, "Freq"))
started <- proc.time()[["elapsed"]]
ipf <- rake(design, list(~sex, ~age_band, ~region),
            lapply(c("sex", "age_band", "region"), margin_frame),
            control = list(maxit = 200, epsilon = 1e-13))
rake_seconds <- proc.time()[["elapsed"]] - started
writeBin(as.double(weights(cal)), paste0(out, ".calibrate"), size = 8)
writeBin(as.double(weights(ipf)), paste0(out, ".rake"), size = 8)
cat("CALIBRATE ", cal_seconds, "\nRAKE ", rake_seconds, "\n", sep = "")
"""


@dataclass(frozen=True)
class RakeRun:
    """One tool's timed raking run and the weights it returned."""

    tool: str
    call: str
    seconds: float
    weights: np.ndarray


def margin_error(weights: np.ndarray, data: pd.DataFrame, margins: Margins) -> float:
    """Largest relative difference between a weighted margin and its population total."""
    worst = 0.0
    for variable, targets in margins.items():
        levels = np.array(list(targets))
        totals = np.bincount(data[variable].to_numpy(), weights=weights, minlength=levels.max() + 1)
        wanted = np.array(list(targets.values()))
        worst = max(worst, float(np.max(np.abs(totals[levels] / wanted - 1.0))))
    return worst


def run_perception(data: pd.DataFrame, margins: Margins) -> RakeRun:
    """Perception: SurveyDesign(...).rake(margins), best of 3 (the design is built once)."""
    from perception.design import SurveyDesign

    design = SurveyDesign(data, weights=WEIGHT, strata=STRATUM, psu=PSU)
    seconds, raked = h.best_of(lambda: design.rake(margins, tol=TOLERANCE))
    call = "SurveyDesign(...).rake(margins, tol=1e-10)"
    return RakeRun("perception", call, seconds, np.asarray(raked.weights))


def run_r(rscript: str, data: pd.DataFrame, margins: Margins) -> list[RakeRun]:
    """R survey: calibrate(calfun='raking', epsilon=1e-12) and rake(epsilon=1e-13), timed in R."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        csv = write_csv(data[[STRATUM, PSU, SEX, AGE, REGION, WEIGHT]], workdir / "rake.csv")
        rows = [(v, lv, t) for v, targets in margins.items() for lv, t in targets.items()]
        margins_csv = workdir / "margins.csv"
        pd.DataFrame(rows, columns=["variable", "level", "total"]).to_csv(margins_csv, index=False)
        out = workdir / "weights"
        args = [str(csv), str(margins_csv), str(out)]
        stdout = h.run_r(rscript, R_CODE, args, workdir, R_TIMEOUT)
        version = h.r_survey_version(rscript)
        return [
            RakeRun(
                f"R survey ({version})",
                "calibrate(~sex+age+region, calfun='raking', epsilon=1e-12)",
                h.r_seconds(stdout, "CALIBRATE"),
                np.fromfile(f"{out}.calibrate", dtype=np.float64),
            ),
            RakeRun(
                f"R survey ({version})",
                "rake(list(~sex, ~age, ~region), control=list(epsilon=1e-13))",
                h.r_seconds(stdout, "RAKE"),
                np.fromfile(f"{out}.rake", dtype=np.float64),
            ),
        ]


def run_svy(data: pd.DataFrame, margins: Margins) -> RakeRun:
    """Svy: Sample.weighting.rake(controls=margins, tol=1e-10), best of 3."""
    import polars as pl
    import svy

    sample = svy.Sample(pl.from_pandas(data), svy.Design(stratum=STRATUM, psu=PSU, wgt=WEIGHT))
    controls: Any = margins  # svy's annotation does not admit Hashable keys
    seconds, raked = h.best_of(
        lambda: sample.weighting.rake(controls=controls, tol=TOLERANCE, max_iter=1000)
    )
    frame = raked.data
    weights = (frame if isinstance(frame, pl.DataFrame) else frame.collect())["rk_wgt"].to_numpy()
    return RakeRun(
        f"svy {svy.__version__}", "weighting.rake(controls, tol=1e-10)", seconds, weights
    )


def run_samplics(data: pd.DataFrame, margins: Margins) -> RakeRun:
    """Samplics: SampleWeight().rake(tol=ctrl_tol=1e-10), best of 3."""
    import importlib.metadata

    from samplics.weighting import SampleWeight

    weight = data[WEIGHT].to_numpy()
    columns: Any = {v: data[v].to_numpy() for v in margins}  # samplics mis-annotates margins
    controls: Any = margins
    seconds, weights = h.best_of(
        lambda: SampleWeight().rake(
            samp_weight=weight,
            control=controls,
            margins=columns,
            tol=TOLERANCE,
            ctrl_tol=TOLERANCE,
            max_iter=1000,
        )
    )
    version = importlib.metadata.version("samplics")
    return RakeRun(
        f"samplics {version}", "SampleWeight().rake(tol=ctrl_tol=1e-10)", seconds, weights
    )


def peers(data: pd.DataFrame, margins: Margins) -> list[RakeRun | h.Skip]:
    """Run every installed peer; a missing or failing peer becomes a Skip."""
    found: list[RakeRun | h.Skip] = []
    rscript = h.find_rscript()
    if isinstance(rscript, h.Skip):
        found.append(rscript)
    else:
        found.extend(_guard("R survey", lambda: run_r(rscript, data, margins)))
    runners: dict[str, Callable[[pd.DataFrame, Margins], RakeRun]] = {
        "svy": run_svy,
        "samplics": run_samplics,
    }
    for name, runner in runners.items():
        module = h.import_peer(name)
        if isinstance(module, h.Skip):
            found.append(module)
            continue
        found.extend(_guard(name, lambda runner=runner: [runner(data, margins)]))  # type: ignore[misc]
    return found


def _guard(peer: str, run: Callable[[], list[RakeRun]]) -> list[RakeRun | h.Skip]:
    """Run a peer; turn its failure into a printed Skip instead of stopping the benchmark."""
    try:
        return list(run())
    except Exception as exc:  # a peer's own failure must not hide the others' numbers
        return [h.Skip(peer, f"failed: {type(exc).__name__}: {exc}")]


def main() -> None:
    print(f"Raking benchmark — {h.machine()}")
    data = make_workload(N_ROWS, n_indicators=0)
    margins = population_margins()
    print(
        f"{N_ROWS:,} rows raked to sex (2), age band (5) and region (20) margins; "
        f"base weights sum to {data[WEIGHT].sum():,.0f}, targets to "
        f"{sum(margins[SEX].values()):,.0f}; requested relative margin error {TOLERANCE:.0e}"
    )
    mine = run_perception(data, margins)
    error = margin_error(mine.weights, data, margins)
    rows = [
        [
            mine.tool,
            mine.call,
            h.fmt_seconds(mine.seconds),
            "1×",
            f"{error:.1e}",
            "—",
            "—",
            f"time {h.verdict(mine.seconds <= TARGET_SECONDS)} (≤ {TARGET_SECONDS} s), "
            f"error {h.verdict(error <= TOLERANCE)} (≤ {TOLERANCE:.0e})",
        ]
    ]
    skipped = []
    for run in peers(data, margins):
        if isinstance(run, h.Skip):
            skipped.append(f"  skipped {run.peer}: {run.reason}")
            continue
        delta = np.abs(run.weights - mine.weights)
        rows.append(
            [
                run.tool,
                run.call,
                h.fmt_seconds(run.seconds),
                f"{run.seconds / mine.seconds:,.1f}×",
                f"{margin_error(run.weights, data, margins):.1e}",
                f"{delta.max():.1e}",
                f"{np.max(delta / mine.weights):.1e}",
                "",
            ]
        )
    headers = [
        "tool", "call", "time", "ratio", "margin error", "max|Δw|", "max|Δw|/w", "verdict",
    ]  # fmt: skip
    print(h.table(headers, rows))
    print("\n".join(skipped))
    print(
        "\nNotes: times are the raking call alone (design objects built beforehand); perception, "
        "svy and samplics best of 3, R once, timed inside R. 'margin error' is the largest "
        "|weighted total / target − 1| over the 27 categories, measured here on the returned "
        "weights; Δw compares each tool's weights with perception's, row by row."
    )


if __name__ == "__main__":
    main()
