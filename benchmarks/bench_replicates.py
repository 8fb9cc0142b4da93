"""Replicate-weight estimation: perception against R ``svyby`` on a replicate design, same run.

Workload (``_workload.py``): 40 binary indicators, 221 domains, 100 strata × 20 PSUs, with 80
seeded Rao-Wu bootstrap replicates built per PSU by ``design.to_replicates``.

1. perception at 1,000,000 rows: best of 3 wall time of ``estimate_domains`` (40 proportions,
   logit CI, 221 domains) on the replicate design, and the same on the Taylor design.
2. perception at 100,000 rows, best of 3, all 40 indicators.
3. R at 100,000 rows on the same data and the *same* replicate weights (the per-PSU factors
   are written to CSV and expanded in R): ``svrepdesign(type = "bootstrap",
   combined.weights = TRUE, scale =, rscales =)`` then ``svymean`` + two ``svyby`` calls per
   indicator, on the first ``R_VARIABLES`` indicators, scaled by 40 / ``R_VARIABLES``. Its
   estimates and SEs are compared with perception's.

Run with ``python -m benchmarks replicates``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import _harness as h
from benchmarks._workload import (
    DOMAIN_SETS,
    INDICATORS,
    PSU,
    STRATUM,
    WEIGHT,
    make_workload,
    write_csv,
)
from benchmarks.bench_estimation import normalize

BIG_ROWS = 1_000_000
PEER_ROWS = 100_000
REPLICATES = 80
R_VARIABLES = 2
R_TIMEOUT = 600.0
SEED = 11

R_CODE = (
    r"""
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
dat <- if (requireNamespace("data.table", quietly = TRUE)) {
  as.data.frame(data.table::fread(args[[1]], na.strings = "NA"))
} else read.csv(args[[1]])
factors <- as.matrix(read.csv(args[[2]]))
constants <- read.csv(args[[3]])
n_var <- as.integer(args[[5]]); out_path <- args[[4]]
unit <- as.integer(dat$unit) + 1L
rw <- factors[unit, , drop = FALSE] * dat$weight
design <- svrepdesign(data = dat, repweights = rw, weights = ~weight, type = "bootstrap",
                      combined.weights = TRUE, scale = constants$scale[1], rscales = 1)
"""
    + h.R_SVYBY_BODY
)


def replicate_design(data: pd.DataFrame) -> object:
    """Strata/PSU design of the workload with 80 seeded bootstrap replicates per PSU."""
    from perception.design import SurveyDesign

    base = SurveyDesign(data, weights=WEIGHT, strata=STRATUM, psu=PSU)
    return base.to_replicates("bootstrap", replicates=REPLICATES, seed=SEED)


def time_estimates(design: object, variables: list[str]) -> tuple[float, pd.DataFrame]:
    """Best of 3 wall time of all proportions over the 221 domains."""
    from perception.design import SurveyDesign
    from perception.estimation import estimate_domains

    assert isinstance(design, SurveyDesign)
    return h.best_of(
        lambda: estimate_domains(
            design, variables, domain_sets=DOMAIN_SETS, stat="proportion", ci_method="logit"
        )
    )


def run_r(data: pd.DataFrame, design: object, mine: pd.DataFrame) -> list[str]:
    """Run R on the same data and replicate factors; return the report lines."""
    from perception.design import SurveyDesign

    assert isinstance(design, SurveyDesign) and design.replicates is not None
    rscript = h.find_rscript()
    if isinstance(rscript, h.Skip):
        return [f"  skipped {rscript.peer}: {rscript.reason}"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        frame = data.assign(unit=design.unit_index)
        write_csv(frame, work / "data.csv")
        pd.DataFrame(design.replicates.factors).to_csv(work / "factors.csv", index=False)
        pd.DataFrame({"scale": [design.replicates.scale]}).to_csv(work / "c.csv", index=False)
        out = work / "r.csv"
        args = [str(work / n) for n in ("data.csv", "factors.csv", "c.csv", "r.csv")]
        stdout = h.run_r(rscript, R_CODE, [*args, str(R_VARIABLES)], work, R_TIMEOUT)
        seconds = h.r_seconds(stdout)
        theirs = normalize(pd.read_csv(out))
    ours = normalize(mine)
    merged = theirs.merge(ours, on=["variable", "domain"], suffixes=("_r", ""))
    se_diff = float(np.max(np.abs(merged["se"] - merged["se_r"]) / merged["se_r"]))
    est_diff = float(np.max(np.abs(merged["estimate"] - merged["estimate_r"])))
    scaled = seconds * len(INDICATORS) / R_VARIABLES
    return [
        f"R survey ({h.r_survey_version(rscript)}): svrepdesign(type='bootstrap', "
        f"{REPLICATES} replicates) + svymean + svyby(~region) + svyby(~sex+age_band+region), "
        f"{R_VARIABLES} indicators in {h.fmt_seconds(seconds)}, scaled to 40: "
        f"{h.fmt_seconds(scaled)}",
        f"compared on {len(merged)} (indicator × domain) rows: largest |Δ estimate| "
        f"{est_diff:.1e}, largest relative Δ SE {se_diff:.1e}",
        f"RATIO_SECONDS {scaled:.6g}",
    ]


def main() -> None:
    """Print perception's times at 1,000,000 and 100,000 rows and the ratio against R."""
    print(f"Replicate-weight benchmark — {h.machine()}")
    rows = []
    import perception.estimation  # noqa: F401  (imported before timing)

    big = make_workload(BIG_ROWS)
    start = time.perf_counter()
    design = replicate_design(big)
    built = time.perf_counter() - start
    rep_seconds, _ = time_estimates(design, INDICATORS)
    from perception.design import SurveyDesign

    taylor = SurveyDesign(big, weights=WEIGHT, strata=STRATUM, psu=PSU)
    taylor_seconds, _ = time_estimates(taylor, INDICATORS)
    rows.append(
        ["perception, 80 bootstrap replicates", f"{BIG_ROWS:,}", h.fmt_seconds(rep_seconds)]
    )
    rows.append(["perception, Taylor (same data)", f"{BIG_ROWS:,}", h.fmt_seconds(taylor_seconds)])
    del big, design, taylor
    small = make_workload(PEER_ROWS)
    small_design = replicate_design(small)
    small_seconds, mine = time_estimates(small_design, INDICATORS)
    rows.append(
        ["perception, 80 bootstrap replicates", f"{PEER_ROWS:,}", h.fmt_seconds(small_seconds)]
    )
    print(f"SurveyDesign + to_replicates at {BIG_ROWS:,} rows: {h.fmt_seconds(built)}")
    lines = run_r(small, small_design, mine)
    for line in lines:
        if line.startswith("RATIO_SECONDS "):
            r_seconds = float(line.split()[1])
            rows.append(
                [
                    "R svyby, replicate design (scaled to 40)",
                    f"{PEER_ROWS:,}",
                    h.fmt_seconds(r_seconds),
                ]
            )
            print(h.table(["run", "rows", "40 indicators × 221 domains"], rows))
            print(
                f"RATIO R(100,000 rows) / perception(100,000 rows): "
                f"{r_seconds / small_seconds:,.1f}×; R(100,000 rows) / perception(1,000,000 "
                f"rows): {r_seconds / rep_seconds:,.1f}×; replicates / Taylor at 1,000,000 "
                f"rows: {rep_seconds / taylor_seconds:.2f}×"
            )
        else:
            print(line)
    if not any(line.startswith("RATIO_SECONDS ") for line in lines):
        print(h.table(["run", "rows", "40 indicators × 221 domains"], rows))


if __name__ == "__main__":
    main()
