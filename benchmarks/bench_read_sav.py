"""Reading a 1,000,000-row x 200-column SPSS file: read_survey against plain pyreadstat.

Target: ``perception.io.read_survey`` within 1.3x the time of ``pyreadstat.read_sav(path,
user_missing=True)`` on the same file, measured in the same run (best of ``--repeats``, the
readers interleaved so that all see the same machine state). That plain call returns dates as
Python ``datetime.date`` objects, which is slower than the datetime64 columns ``read_survey``
asks pyreadstat for; so the same pyreadstat call with ``dates_as_pandas_datetime=True`` is timed
too, and the second ratio isolates what perception adds (metadata, missing-value bookkeeping).

The file looks like a polling firm's export: bytecode-compressed (SPSS's default), 182 labelled
numeric items with codes 1-5 plus 8/9/-1 (every third item declares 8 and 9 as user-missing), 8
short string columns, 6 date and 4 datetime columns. It is generated once and cached under the
system temporary directory (the path is printed); delete it to regenerate.

Run with ``python -m benchmarks read_sav`` or ``python -m benchmarks.bench_read_sav --rows 100000``.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from benchmarks import _harness as h
from perception.io import read_survey

N_ROWS = 1_000_000
N_ITEMS = 182
N_STRINGS = 8
N_DATES = 6
N_DATETIMES = 4
TARGET_RATIO = 1.3
PEER = "pyreadstat"
SAME_CALL = "pyreadstat+datetime64"  # the call read_survey makes: dates as datetime64
OURS = "read_survey"
CACHE = Path(tempfile.gettempdir()) / "perception-bench"


def make_frame(n_rows: int, seed: int = 20250303) -> pd.DataFrame:
    """Build the survey-like table (200 columns) with a fixed seed."""
    rng = np.random.default_rng(seed)
    codes = np.array([1, 2, 3, 4, 5, 8, 9, -1], dtype=float)
    weights = np.array([0.2, 0.25, 0.2, 0.15, 0.1, 0.04, 0.04, 0.02])
    columns: dict[str, object] = {
        f"Q{i}": rng.choice(codes, size=n_rows, p=weights) for i in range(N_ITEMS)
    }
    words = np.array(["Nord", "Sud", "Est", "Ouest", "Centre", "Littoral"], dtype=object)
    for i in range(N_STRINGS):
        columns[f"S{i}"] = words[rng.integers(0, len(words), n_rows)]
    start = np.datetime64("2024-01-01")
    for i in range(N_DATES):
        days = rng.integers(0, 700, n_rows)
        columns[f"D{i}"] = pd.Series(start + days.astype("timedelta64[D]")).dt.date
    for i in range(N_DATETIMES):
        seconds = rng.integers(0, 700 * 86_400, n_rows)
        columns[f"T{i}"] = pd.Series(start + seconds.astype("timedelta64[s]"))
    return pd.DataFrame(columns)


def survey_file(n_rows: int) -> Path:
    """Return the cached benchmark file, writing it first if it is not there."""
    path = CACHE / f"survey_{n_rows}x{N_ITEMS + N_STRINGS + N_DATES + N_DATETIMES}.sav"
    if path.is_file():
        print(f"using cached file {path}")
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"writing {path} (once; later runs reuse it) ...", flush=True)
    start = time.perf_counter()
    labels = {1: "Pas du tout", 2: "Un peu", 3: "Moyennement", 4: "Beaucoup", 5: "Totalement"}
    labels |= {8: "Refus", 9: "Ne sait pas", -1: "Manquant"}
    partial = path.with_suffix(".partial")
    pyreadstat.write_sav(
        make_frame(n_rows),
        partial,
        row_compress=True,
        column_labels={f"Q{i}": f"Question {i}" for i in range(N_ITEMS)},
        variable_value_labels={f"Q{i}": labels for i in range(N_ITEMS)},
        missing_ranges={f"Q{i}": [8, 9] for i in range(0, N_ITEMS, 3)},
    )
    partial.rename(path)
    print(f"written in {h.fmt_seconds(time.perf_counter() - start)}")
    return path


def read_with(reader: str, path: Path) -> pd.DataFrame:
    """Read the file with one of the three readers compared."""
    if reader == PEER:
        frame, _ = pyreadstat.read_sav(path, user_missing=True)
    elif reader == SAME_CALL:
        frame, _ = pyreadstat.read_sav(path, user_missing=True, dates_as_pandas_datetime=True)
    else:
        frame, _ = read_survey(path)
    return frame


def timed(reader: str, path: Path) -> tuple[float, tuple[int, int], float]:
    """Time one read; return seconds, the frame's shape and a checksum of item Q0."""
    gc.collect()
    start = time.perf_counter()
    frame = read_with(reader, path)
    seconds = time.perf_counter() - start
    return seconds, frame.shape, float(frame["Q0"].sum())


def main(argv: list[str] | None = None) -> None:
    """Time both readers and print the ratio against the 1.3x target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=N_ROWS)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args([] if argv is None else argv)
    print(h.machine())
    path = survey_file(args.rows)
    print(f"file: {path} ({path.stat().st_size / h.GIB:.2f} GiB)")
    best = dict.fromkeys((PEER, SAME_CALL, OURS), float("inf"))
    facts = {}
    for repeat in range(1, args.repeats + 1):
        for reader in best:
            seconds, shape, checksum = timed(reader, path)
            best[reader] = min(best[reader], seconds)
            facts[reader] = (shape, checksum)
            print(
                f"  run {repeat}: {reader:<{len(SAME_CALL)}} {h.fmt_seconds(seconds)}", flush=True
            )
    if len(set(facts.values())) != 1:
        raise RuntimeError(f"the readers disagree: {facts}")
    print(
        h.table(
            ["reader", "best time", "shape"],
            [[name, h.fmt_seconds(best[name]), str(facts[name][0])] for name in best],
        )
    )
    ratio = best[OURS] / best[PEER]
    print(
        f"read_survey / pyreadstat.read_sav(user_missing=True) = {ratio:.3f} "
        f"(target <= {TARGET_RATIO}): {h.verdict(ratio <= TARGET_RATIO)}"
    )
    overhead = best[OURS] / best[SAME_CALL]
    print(
        f"read_survey / the same pyreadstat call with dates_as_pandas_datetime=True = "
        f"{overhead:.3f} (perception's own post-processing)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
