"""Measurement helpers shared by the benchmark scripts: timing, memory, peers, tables."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypeVar

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "RESULT "
GIB = 1024**3


@dataclass(frozen=True)
class Skip:
    """A peer that did not run, and why."""

    peer: str
    reason: str


def best_of(fn: Callable[[], T], repeats: int = 3) -> tuple[float, T]:
    """Run ``fn`` ``repeats`` times; return the fastest wall time and the last result."""
    best = float("inf")
    result: T | None = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def import_peer(name: str) -> ModuleType | Skip:
    """Import an optional peer library, or say why it is unavailable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # samplics announces it is archived
            return importlib.import_module(name)
    except ImportError as exc:
        return Skip(name, f"not importable ({exc}); install with `make bench` (the bench extra)")


def find_rscript() -> str | Skip:
    """Return the path of an Rscript that has the survey package, or say why there is none."""
    path = shutil.which("Rscript")
    if path is None:
        return Skip("R survey", "Rscript not on PATH (Debian: apt-get install r-cran-survey)")
    probe = subprocess.run(
        [path, "-e", 'cat(as.character(packageVersion("survey")))'],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return Skip("R survey", "R has no `survey` package (Debian: apt-get install r-cran-survey)")
    return path


def r_survey_version(rscript: str) -> str:
    """Return 'R x.y.z, survey a.b.c' for the report."""
    code = 'cat(R.version$major, ".", R.version$minor, " ", '
    code += 'as.character(packageVersion("survey")), sep = "")'
    out = subprocess.run([rscript, "-e", code], capture_output=True, text=True, check=True)
    r_version, survey_version = out.stdout.split()
    return f"R {r_version}, survey {survey_version}"


def run_r(rscript: str, code: str, args: Sequence[str], workdir: Path, timeout: float) -> str:
    """Run R ``code`` with ``args`` through Rscript and return its standard output."""
    script = workdir / "bench.R"
    script.write_text(code)
    done = subprocess.run(
        [rscript, "--vanilla", str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"Rscript failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def r_seconds(stdout: str, label: str = "ELAPSED") -> float:
    """Return the seconds R reported on its '<label> <seconds>' line."""
    match = re.search(rf"^{label} (\S+)\s*$", stdout, flags=re.MULTILINE)
    if match is None:
        raise RuntimeError(f"R did not report {label}; its output was:\n{stdout[-2000:]}")
    return float(match.group(1))


def run_child(module: str, args: Sequence[str], timeout: float) -> dict[str, float]:
    """Run ``python -m module args`` in a fresh process and parse its RESULT line."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"child {module} {args} failed:\n{done.stderr[-3000:]}")
    parsed: dict[str, float] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return parsed


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set size (Linux), so the next peak is clean."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_kib(field: str) -> int:
    """Return a /proc/self/status memory field in KiB."""
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, flags=re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return int(match.group(1))


def rss_bytes() -> int:
    """Return this process's current resident set size in bytes."""
    return _status_kib("VmRSS") * 1024


def peak_rss_bytes() -> int:
    """Return this process's peak resident set size since the last reset, in bytes."""
    return _status_kib("VmHWM") * 1024


def machine() -> str:
    """Describe the machine and the numeric stack in one line."""
    import numpy as np
    import pandas as pd

    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} CPUs (1-min load average {load:.1f} at start), "
        f"Python {sys.version.split()[0]}, numpy {np.__version__}, pandas {pd.__version__}"
    )


def verdict(ok: bool) -> str:
    """Spell a target check."""
    return "PASS" if ok else "FAIL"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Format rows as a plain fixed-width table."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, rule, *body])


def fmt_seconds(seconds: float) -> str:
    """Format a duration."""
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def fmt_diff(value: float | None) -> str:
    """Format a largest absolute difference (or n/a)."""
    return "n/a" if value is None else f"{value:.1e}"


# R code shared by the R peers: time svymean and two svyby per indicator on `design`.
# The caller's prelude defines dat, design, n_var and out_path.
R_SVYBY_BODY = r"""
variables <- grep("^y[0-9]+$", names(dat), value = TRUE)[seq_len(n_var)]
fits <- vector("list", length(variables))
started <- proc.time()[["elapsed"]]
for (i in seq_along(variables)) {
  f <- reformulate(variables[[i]])
  fits[[i]] <- list(
    svymean(f, design, na.rm = TRUE, deff = TRUE),
    svyby(f, ~region, design, svymean, na.rm = TRUE, deff = TRUE),
    svyby(f, ~sex + age_band + region, design, svymean, na.rm = TRUE, deff = TRUE)
  )
}
elapsed <- proc.time()[["elapsed"]] - started
long <- function(variable, fit) {
  out <- data.frame(variable = variable, estimate = unname(coef(fit)),
                    se = unname(SE(fit)), deff = unname(deff(fit)))
  for (b in c("sex", "age_band", "region")) {
    out[[b]] <- if (inherits(fit, "svyby") && b %in% names(fit)) fit[[b]] else NA
  }
  out
}
rows <- do.call(rbind, unlist(lapply(seq_along(variables), function(i) {
  lapply(fits[[i]], function(fit) long(variables[[i]], fit))
}), recursive = FALSE))
for (col in c("estimate", "se", "deff")) rows[[col]] <- sprintf("%.17g", rows[[col]])
write.csv(rows, out_path, row.names = FALSE, quote = FALSE)
cat("ELAPSED ", elapsed, "\n", sep = "")
"""


def demo_run(root: Path = REPO) -> Path:
    """Return a project whose demo has run: ``root`` after ``make demo``, else a fresh run.

    The fresh run goes into a temporary folder (kept for the process) and takes a minute.
    """
    if (root / "data" / "processed" / "demo" / "published" / "estimates.parquet").exists():
        return root
    from pipelines.demo import run_demo  # Dagster is imported only when a run is needed

    project = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    shutil.copytree(REPO / "config", project / "config")
    print(f"no demo run in {root}: running the demo into {project}")
    stdout = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(stdout):
        warnings.simplefilter("ignore")
        code = run_demo(project)
    if code != 0:
        raise RuntimeError(f"the demo run failed:\n{stdout.getvalue()}")
    return project
