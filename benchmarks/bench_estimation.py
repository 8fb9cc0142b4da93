"""Every indicator in every domain: perception against R survey, svy and samplics in one run.

Workload (see ``_workload.py``): 40 binary indicators with ~2% item missingness, 221 domains
(national, 20 regions, 200 sex × age band × region cells), 100 strata × 20 PSUs.

1. perception at 1,000,000 rows, in a fresh subprocess: best of 3 wall time for
   ``SurveyDesign(...)`` + all 40 proportions (logit CI, SE, deff) over the 221 domains; peak RSS
   during that step (whole process, data included) and the tracemalloc peak of one run.
2. perception at 100,000 rows, best of 3, on all 40 indicators and on the peers' subset.
3. Peers at 100,000 rows on the same data, each on the first ``PEER_VARIABLES`` indicators and
   all 221 domains, one variable at a time where listwise deletion would otherwise bite (R's
   trap). Their estimation time is scaled by 40 / ``PEER_VARIABLES`` to the full workload; the
   estimates and SEs they produced are compared with perception's.

Run with ``python -m benchmarks estimation``.
"""

from __future__ import annotations

import gc
import json
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import _harness as h
from benchmarks._workload import (
    AGE,
    DOMAIN_SETS,
    INDICATORS,
    N_DOMAINS,
    PSU,
    REGION,
    SEX,
    STRATUM,
    WEIGHT,
    make_workload,
    write_csv,
)

BIG_ROWS = 1_000_000
PEER_ROWS = 100_000
PEER_VARIABLES = 5
TARGET_SECONDS_BIG = 1.5
TARGET_BYTES_BIG = 2 * h.GIB
TARGET_RATIO = 100.0
TARGET_EQUAL = 1e-9
BY_COLUMNS = [SEX, AGE, REGION]
R_TIMEOUT = 240.0

R_CODE = (
    r"""
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
csv <- args[[1]]; out_path <- args[[2]]; n_var <- as.integer(args[[3]])
dat <- if (requireNamespace("data.table", quietly = TRUE)) {
  as.data.frame(data.table::fread(csv, na.strings = "NA"))
} else {
  read.csv(csv)
}
design <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = dat)
"""
    + h.R_SVYBY_BODY
)


@dataclass(frozen=True)
class PeerRun:
    """One peer's timed run and the estimates it produced (normalized long format)."""

    peer: str
    call: str
    variables: int
    seconds: float
    estimates: pd.DataFrame
    speed_target: bool


@dataclass(frozen=True)
class PerceptionTiming:
    """Best-of-3 wall times of one perception run, split into design and estimation."""

    design: float
    estimate: float
    result: pd.DataFrame

    @property
    def total(self) -> float:
        """Design plus estimation."""
        return self.design + self.estimate


# --------------------------------------------------------------------------- perception


def run_perception(data: pd.DataFrame, variables: list[str]) -> tuple[float, float, pd.DataFrame]:
    """Build the design and estimate every proportion in every domain; return both timings."""
    from perception.design import SurveyDesign
    from perception.estimation import estimate_domains

    start = time.perf_counter()
    design = SurveyDesign(data, weights=WEIGHT, strata=STRATUM, psu=PSU)
    built = time.perf_counter()
    result = estimate_domains(
        design, variables, domain_sets=DOMAIN_SETS, stat="proportion", ci_method="logit"
    )
    done = time.perf_counter()
    return built - start, done - built, result


def time_perception(data: pd.DataFrame, variables: list[str], repeats: int = 3) -> PerceptionTiming:
    """Time ``run_perception`` ``repeats`` times (a fresh design each time); keep the fastest."""
    runs = [run_perception(data, variables) for _ in range(repeats)]
    design, estimate, result = min(runs, key=lambda r: r[0] + r[1])
    return PerceptionTiming(design, estimate, result)


def measure_big(n_rows: int) -> dict[str, float]:
    """Measure perception at ``n_rows`` in this (fresh) process: time, peak RSS, tracemalloc."""
    import perception.estimation  # noqa: F401  (imported before the peak is reset)

    data = make_workload(n_rows)
    gc.collect()
    clean = h.reset_peak_rss()
    rss_before = h.rss_bytes()
    timing = time_perception(data, INDICATORS)
    peak_rss = h.peak_rss_bytes()
    result = {
        "rows": float(len(timing.result)),
        "design": timing.design,
        "estimate": timing.estimate,
        "rss_before": float(rss_before),
        "peak_rss": float(peak_rss),
        "peak_rss_clean": float(clean),
    }
    del timing
    gc.collect()
    tracemalloc.start()
    run_perception(data, INDICATORS)
    result["traced_peak"] = float(tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    return result


# --------------------------------------------------------------------------- normalizing


def domain_labels(frame: pd.DataFrame) -> list[str]:
    """Label each row's domain ('national', 'region=3', 'sex=1,age_band=2,region=3')."""
    present = [c for c in BY_COLUMNS if c in frame.columns]
    values = frame[present].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    labels = []
    for row in values:
        parts = [f"{c}={int(v)}" for c, v in zip(present, row, strict=True) if not np.isnan(v)]
        labels.append(",".join(parts) or "national")
    return labels


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Reduce a result to variable, domain, estimate, se, deff, ci_low, ci_high."""
    out = pd.DataFrame(
        {
            "variable": frame["variable"].astype(str).to_numpy(),
            "domain": domain_labels(frame),
        }
    )
    for col in ["estimate", "se", "deff", "ci_low", "ci_high"]:
        out[col] = frame[col].to_numpy(dtype=np.float64) if col in frame.columns else np.nan
    return out


def compare(reference: pd.DataFrame, peer: pd.DataFrame) -> dict[str, float | None]:
    """Largest absolute differences between a peer's rows and perception's matching rows."""
    merged = peer.merge(reference, on=["variable", "domain"], how="left", suffixes=("_peer", ""))
    unmatched = int(merged["estimate"].isna().sum())
    if unmatched:
        raise RuntimeError(f"{unmatched} peer rows have no matching perception row")
    diffs: dict[str, float | None] = {"rows": float(len(merged))}
    for col in ["estimate", "se", "deff", "ci_low", "ci_high"]:
        delta = (merged[f"{col}_peer"] - merged[col]).abs()
        diffs[col] = None if merged[f"{col}_peer"].isna().all() else float(delta.max())
    ci = [d for d in (diffs["ci_low"], diffs["ci_high"]) if d is not None]
    diffs["ci"] = max(ci) if ci else None
    return diffs


# --------------------------------------------------------------------------- peers


def run_r(rscript: str, csv: Path, workdir: Path, variables: int) -> PeerRun:
    """R survey: svymean / svyby(svymean) with na.rm=TRUE and deff=TRUE, one variable at a time."""
    out = workdir / "r_estimates.csv"
    stdout = h.run_r(rscript, R_CODE, [str(csv), str(out), str(variables)], workdir, R_TIMEOUT)
    return PeerRun(
        peer=f"R survey ({h.r_survey_version(rscript)})",
        call="svymean + svyby(svymean), na.rm, deff; loop over variables",
        variables=variables,
        seconds=h.r_seconds(stdout),
        estimates=normalize(pd.read_csv(out)),
        speed_target=True,
    )


def run_svy(data: pd.DataFrame, variables: list[str], route: str) -> PeerRun:
    """Svy: ``estimation.prop`` (logit CI) or ``estimation.mean`` over the three domain sets."""
    import polars as pl
    import svy

    sample = svy.Sample(
        pl.from_pandas(data, nan_to_null=True),
        svy.Design(stratum=STRATUM, psu=PSU, wgt=WEIGHT),
    )
    calls: dict[str, Callable[..., object]] = {
        "prop": lambda by: sample.estimation.prop(
            variables, by=by, ci_method="logit", deff="wor", drop_nulls=True
        ),
        "mean": lambda by: sample.estimation.mean(variables, by=by, deff="wor", drop_nulls=True),
    }
    start = time.perf_counter()
    results = [calls[route](tuple(by) if by else None) for by in DOMAIN_SETS]
    seconds = time.perf_counter() - start
    frames = []
    for per_set in results:
        for variable, est in zip(variables, per_set, strict=True):  # type: ignore[call-overload]
            frame = est.to_polars().to_pandas()
            if route == "prop":
                frame = frame[frame[variable] == 1.0]
            frame = frame.rename(columns={"est": "estimate", "lci": "ci_low", "uci": "ci_high"})
            frames.append(frame.assign(variable=variable))
    estimates = normalize(pd.concat(frames, ignore_index=True))
    if route == "mean":
        estimates[["ci_low", "ci_high"]] = np.nan  # symmetric t CI, not the logit CI
    version = getattr(svy, "__version__", "?")
    return PeerRun(
        peer=f"svy {version} ({route})",
        call=f"Sample.estimation.{route}([vars], by=..., drop_nulls=True, deff='wor')",
        variables=len(variables),
        seconds=seconds,
        estimates=estimates,
        speed_target=route == "prop",
    )


def run_samplics(data: pd.DataFrame, variables: list[str]) -> PeerRun:
    """Samplics: TaylorEstimator(prop, logit) per variable and domain set, remove_nan=True."""
    import importlib.metadata

    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam

    weight = data[WEIGHT].to_numpy()
    stratum = data[STRATUM]
    psu = data[PSU]
    keys = {
        (): None,
        (REGION,): data[REGION],
        (SEX, AGE, REGION): data[SEX] * 10_000 + data[AGE] * 100 + data[REGION],
    }
    start = time.perf_counter()
    fits = []
    for variable in variables:
        y = data[variable].to_numpy()
        for by, domain in keys.items():
            est = TaylorEstimator(param=PopParam.prop, ciprop_method="logit")
            est.estimate(
                y=y,
                samp_weight=weight,
                stratum=stratum,
                psu=psu,
                domain=domain,
                deff=True,
                remove_nan=True,
            )
            fits.append((variable, by, est))
    seconds = time.perf_counter() - start
    rows = []
    for variable, by, est in fits:
        if not by:
            rows.append(_samplics_row(variable, {}, est.point_est, est.stderror, est))
            continue
        for key in est.point_est:
            codes = dict(
                zip(by, _decode_cell(int(key)) if len(by) == 3 else (int(key),), strict=True)
            )
            rows.append(
                _samplics_row(variable, codes, est.point_est[key], est.stderror[key], est, key)
            )
    return PeerRun(
        peer=f"samplics {importlib.metadata.version('samplics')}",
        call="TaylorEstimator(prop, logit).estimate(domain=..., remove_nan=True)",
        variables=len(variables),
        seconds=seconds,
        estimates=normalize(pd.DataFrame(rows)),
        speed_target=False,
    )


def _decode_cell(key: int) -> tuple[int, int, int]:
    """Split a samplics cell key back into sex, age band and region codes."""
    return key // 10_000, key // 100 % 100, key % 100


def _samplics_row(
    variable: str,
    codes: dict[str, int],
    point: dict[float, float],
    se: dict[float, float],
    est: object,
    key: object = None,
) -> dict[str, object]:
    """One normalized row (the share of 1s) from a samplics proportion fit."""
    low = est.lower_ci if key is None else est.lower_ci[key]  # type: ignore[attr-defined]
    high = est.upper_ci if key is None else est.upper_ci[key]  # type: ignore[attr-defined]
    return {
        "variable": variable,
        **codes,
        "estimate": point[1.0],
        "se": se[1.0],
        "ci_low": low[1.0],
        "ci_high": high[1.0],
    }


def peers(data: pd.DataFrame, variables: list[str]) -> list[PeerRun | h.Skip]:
    """Run every installed peer on ``variables``; a missing or failing peer becomes a Skip."""
    found: list[PeerRun | h.Skip] = []
    rscript = h.find_rscript()
    if isinstance(rscript, h.Skip):
        found.append(rscript)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            csv = write_csv(data, workdir / "workload.csv")
            found.append(_guard("R survey", lambda: run_r(rscript, csv, workdir, len(variables))))
    for name, runs in [
        (
            "svy",
            [lambda: run_svy(data, variables, "prop"), lambda: run_svy(data, variables, "mean")],
        ),
        ("samplics", [lambda: run_samplics(data, variables)]),
    ]:
        module = h.import_peer(name)
        if isinstance(module, h.Skip):
            found.append(module)
            continue
        found.extend(_guard(name, run) for run in runs)
    return found


def _guard(peer: str, run: Callable[[], PeerRun]) -> PeerRun | h.Skip:
    """Run a peer; turn its failure into a printed Skip instead of stopping the benchmark."""
    try:
        return run()
    except Exception as exc:  # a peer's own failure must not hide the others' numbers
        return h.Skip(peer, f"failed: {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- report


def report_big(big: dict[str, float]) -> list[list[str]]:
    """Rows of the 1,000,000-row summary."""
    total = big["design"] + big["estimate"]
    peak_label = "peak RSS during estimation" if big["peak_rss_clean"] else "peak RSS (process)"
    return [
        ["time, design + estimates", h.fmt_seconds(total), f"<= {TARGET_SECONDS_BIG} s",
         h.verdict(total <= TARGET_SECONDS_BIG)],
        ["  of which SurveyDesign(...)", h.fmt_seconds(big["design"]), "", ""],
        ["  of which estimate_domains(...)", h.fmt_seconds(big["estimate"]), "", ""],
        [peak_label + " (data included)", f"{big['peak_rss'] / h.GIB:.2f} GiB",
         f"< {TARGET_BYTES_BIG / h.GIB:.0f} GiB", h.verdict(big["peak_rss"] < TARGET_BYTES_BIG)],
        ["  RSS before estimation (data loaded)", f"{big['rss_before'] / h.GIB:.2f} GiB", "", ""],
        ["  tracemalloc peak of one run", f"{big['traced_peak'] / h.GIB:.2f} GiB", "", ""],
        ["result rows", f"{big['rows']:.0f}", f"{len(INDICATORS) * N_DOMAINS}",
         h.verdict(big["rows"] == len(INDICATORS) * N_DOMAINS)],
    ]  # fmt: skip


def report_peers(
    runs: list[PeerRun | h.Skip], full: PerceptionTiming, subset: PerceptionTiming
) -> tuple[list[list[str]], list[str]]:
    """Rows of the peer table, and the lines for skipped peers."""
    reference = normalize(full.result)
    rows, skipped = [], []
    for run in runs:
        if isinstance(run, h.Skip):
            skipped.append(f"  skipped {run.peer}: {run.reason}")
            continue
        scaled = run.seconds * len(INDICATORS) / run.variables
        ratio = scaled / full.total
        diffs = compare(reference, run.estimates)
        est, se = diffs["estimate"], diffs["se"]
        equal = est is not None and se is not None and max(est, se) <= TARGET_EQUAL
        speed = h.verdict(ratio >= TARGET_RATIO) if run.speed_target else "no target"
        rows.append(
            [
                run.peer,
                f"{run.variables}×{N_DOMAINS}",
                h.fmt_seconds(run.seconds),
                h.fmt_seconds(scaled),
                f"{ratio:,.0f}×",
                f"{run.seconds / subset.total:,.0f}×",
                h.fmt_diff(est),
                h.fmt_diff(se),
                h.fmt_diff(diffs["deff"]),
                h.fmt_diff(diffs["ci"]),
                speed,
                h.verdict(equal),
            ]
        )
    return rows, skipped


def main() -> None:
    print(f"Estimation benchmark — {h.machine()}")
    print(
        f"workload: {len(INDICATORS)} binary indicators (~2% missing each, item by item), "
        f"{N_DOMAINS} domains, 100 strata × 20 PSUs; stat='proportion', ci_method='logit'"
    )

    print(f"\n[1] perception at {BIG_ROWS:,} rows (fresh subprocess, best of 3)")
    big = h.run_child("benchmarks.bench_estimation", ["--measure", str(BIG_ROWS)], timeout=600)
    print(h.table(["measure", "value", "target", "verdict"], report_big(big)))

    print(f"\n[2] perception at {PEER_ROWS:,} rows (best of 3)")
    data = make_workload(PEER_ROWS)
    subset_vars = INDICATORS[:PEER_VARIABLES]
    full = time_perception(data, INDICATORS)
    subset = time_perception(data, subset_vars)
    print(
        h.table(
            ["variables", "design", "estimates", "total"],
            [
                [f"{len(v)}×{N_DOMAINS}", h.fmt_seconds(t.design), h.fmt_seconds(t.estimate),
                 h.fmt_seconds(t.total)]
                for v, t in [(INDICATORS, full), (subset_vars, subset)]
            ],
        )
    )  # fmt: skip

    print(f"\n[3] peers at {PEER_ROWS:,} rows on the same data ({PEER_VARIABLES} indicators each)")
    rows, skipped = report_peers(peers(data, subset_vars), full, subset)
    headers = [
        "peer", "ran", "time", f"time×{len(INDICATORS)}/{PEER_VARIABLES}", "ratio (40 vars)",
        "ratio (same vars)", "max|Δest|", "max|ΔSE|", "max|Δdeff|", "max|ΔCI|",
        f"speed ≥{TARGET_RATIO:.0f}×", f"equal ≤{TARGET_EQUAL:.0e}",
    ]  # fmt: skip
    if rows:
        print(h.table(headers, rows))
    print("\n".join(skipped))
    print(
        "\nNotes: peer times are the estimation step only (their design object is built "
        "beforehand); perception's time includes SurveyDesign(...). 'ratio (40 vars)' scales the "
        f"peer's time by {len(INDICATORS)}/{PEER_VARIABLES} and divides by perception's time on "
        "all 40; 'ratio (same vars)' divides the measured peer time by perception's time on the "
        "same indicators. R uses svymean (the exact ratio estimator; svyciprop's svyglm "
        "estimate is iterative, ~3e-9) and is timed inside R. Differences are over every "
        "(indicator, domain) row the peer produced; CI differences only where the peer "
        "computes a logit CI. CI differences are expected, not errors: svy counts a "
        "domain's df from PSUs with a non-missing value (the contract and R count domain "
        "membership only), and samplics uses the whole design's df for every domain."
    )


def _child(argv: list[str]) -> None:
    """Entry point of the fresh measuring subprocess: print one RESULT line."""
    n_rows = int(argv[argv.index("--measure") + 1])
    print(h.RESULT_PREFIX + json.dumps(measure_big(n_rows)))


if __name__ == "__main__":
    if "--measure" in sys.argv:
        _child(sys.argv)
    else:
        main()
