"""Pseudo-weights of a volunteer (SMS-style) sample: perception against Meta's balance IPW.

One synthetic population with a known mean (seed 20261204, 200,000 people), a Poisson PPS
reference probability sample (about 2,000, with design weights) and a selective volunteer
sample (about 6,000) whose participation rises with age band, urban residence and a numeric
score that also drives the outcome. Every tool models participation on the same covariates
(``score + gender + age_band + region + urban``) and returns a pseudo-weighted mean of the 0/1
outcome ``y``:

- perception ``clw`` (Chen-Li-Wu 2020) and ``valliant_dever`` (stacked weighted logistic),
  each with its linearized standard error;
- balance ``ipw`` with its defaults (LASSO logistic chosen by cross-validation, numeric
  covariates cut into quantile buckets, weights trimmed at 20 × their mean);
- balance ``ipw`` with the same model as perception (unpenalized ``LogisticRegression``, no
  transformations, no trimming), which fits the weighted logistic regression on the stacked
  data, i.e. the Valliant-Dever model: its estimate should equal perception's
  ``valliant_dever`` one to the solvers' tolerance.

balance pins numpy below 2, so it runs in its own environment, in a child process: set
``BALANCE_PYTHON`` to its interpreter (default ``/tmp/balance-env/bin/python``; create it with
``uv venv /tmp/balance-env && uv pip install --python /tmp/balance-env/bin/python balance``).
Times exclude imports and file reading; each is the best of 3 in the same run.

Run with ``python -m benchmarks nonprob``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import _harness as h
from perception.design import SurveyDesign
from perception.nonprob import balance_table, nonprob_means, pseudo_weights

SEED = 20261204
POPULATION = 200_000
COVARIATES = ["score", "gender", "age_band", "region", "urban"]
BALANCE_TIMEOUT = 600.0
DEFAULT_BALANCE_PYTHON = "/tmp/balance-env/bin/python"

CHILD = r"""
import json, sys, time, warnings, logging
warnings.simplefilter("ignore")
logging.disable(logging.WARNING)
import pandas as pd
import balance
from balance import Sample
from sklearn.linear_model import LogisticRegression

folder = sys.argv[1]
covars = ["score", "gender", "age_band", "region", "urban"]
categorical = ["gender", "age_band", "region", "urban"]
def read(name):
    df = pd.read_csv(f"{folder}/{name}.csv")
    for c in categorical:
        df[c] = df[c].astype(str)
    return df
sample_df, target_df = read("sample"), read("target")

def best_of(fn, repeats=3):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out

def run(**kwargs):
    sample = Sample.from_frame(sample_df, id_column="id", weight_column="w",
                               outcome_columns=["y"])
    target = Sample.from_frame(target_df, id_column="id", weight_column="d")
    return sample.set_target(target).adjust(method="ipw", **kwargs)

formula = "score + gender + age_band + region + urban"
results = {"version": balance.__version__}
for name, kwargs in {
    "default": {},
    "matched": dict(model=LogisticRegression(penalty=None, max_iter=10000, tol=1e-12),
                    transformations=None, weight_trimming_mean_ratio=None, formula=formula,
                    balance_classes=False),
}.items():
    seconds, adjusted = best_of(lambda: run(**kwargs), 1 if name == "default" else 3)
    weights = adjusted.weights().df.iloc[:, 0].to_numpy()
    y = adjusted.outcomes().df["y"].to_numpy()
    asmd = adjusted.covars().asmd().loc["self"]
    results[name] = {"seconds": seconds, "estimate": float((weights * y).sum() / weights.sum()),
                     "asmd": {str(k): float(v) for k, v in asmd.items()}}
    if name == "matched":
        results[name]["weights"] = [float(v) for v in weights]
print("RESULT " + json.dumps(results))
"""


def workload() -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Draw the population, the reference sample and the volunteer sample; return the truth."""
    rng = np.random.default_rng(SEED)
    n = POPULATION
    gender = rng.integers(1, 3, n)
    age_band = rng.integers(1, 6, n)
    region = rng.integers(1, 9, n)
    urban = (rng.random(n) < 0.2 + 0.05 * region).astype(int)
    score = rng.normal(size=n) + 0.3 * urban
    y = (rng.random(n) < 1 / (1 + np.exp(-(-0.3 + 0.9 * score - 0.2 * age_band)))).astype(float)
    pop = pd.DataFrame(
        {
            "id": np.arange(n),
            "score": score,
            "gender": gender,
            "age_band": age_band,
            "region": region,
            "urban": urban,
            "y": y,
        }
    )
    size = np.exp(0.4 * rng.normal(size=n))
    pi_b = np.clip(2_000 * size / size.sum(), 0, 1)
    in_b = rng.random(n) < pi_b
    target = pop[in_b].drop(columns="y").assign(d=1 / pi_b[in_b]).reset_index(drop=True)
    eta = -4.3 + 0.6 * score + 0.5 * urban - 0.25 * age_band + 0.1 * region
    in_a = rng.random(n) < 1 / (1 + np.exp(-eta))
    sample = pop[in_a].assign(w=1.0).reset_index(drop=True)
    return sample, target, float(y.mean())


def _categorical(frame: pd.DataFrame) -> pd.DataFrame:
    """Make the coded covariates categorical (as text), as balance receives them."""
    return frame.astype({c: str for c in ["gender", "age_band", "region", "urban"]})


def run_balance(folder: Path) -> dict[str, object] | h.Skip:
    """Run balance in its own interpreter on the CSVs in ``folder``."""
    python = os.environ.get("BALANCE_PYTHON", DEFAULT_BALANCE_PYTHON)
    if not Path(python).exists():
        return h.Skip("balance", f"no interpreter at {python}; see this module's docstring")
    done = subprocess.run(
        [python, "-c", CHILD, str(folder)],
        capture_output=True,
        text=True,
        timeout=BALANCE_TIMEOUT,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(h.RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        return h.Skip("balance", f"failed:\n{done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(lines[-1][len(h.RESULT_PREFIX) :])
    return result


def main() -> None:
    """Print estimates, bias against the known truth, times and ratios, and the ASMD check."""
    print(h.machine())
    sample, target, truth = workload()
    print(
        f"population {POPULATION:,}, reference sample {len(target):,}, "
        f"volunteer sample {len(sample):,}; true mean of y {truth:.4f}, "
        f"unweighted volunteer mean {sample['y'].mean():.4f}"
    )
    a, b = _categorical(sample), _categorical(target)
    design = SurveyDesign(b, weights="d")
    rows: list[list[str]] = []
    ours: dict[str, tuple[float, float]] = {}
    for method in ("clw", "valliant_dever"):

        def fit(method: str = method) -> pd.DataFrame:
            """Pseudo-weights, then the mean with its linearized SE."""
            result = pseudo_weights(a, design, COVARIATES, method=method)  # type: ignore[arg-type]
            return nonprob_means(result, a, design, ["y"])

        seconds, table = h.best_of(fit)
        row = table.iloc[0]
        ours[method] = (seconds, float(row["estimate"]))
        rows.append(
            [
                f"perception {method}",
                f"{row['estimate']:.5f} (SE {row['se']:.5f})",
                f"{row['estimate'] - truth:+.5f}",
                h.fmt_seconds(seconds),
                f"{seconds / ours.get('clw', (seconds, 0.0))[0]:.1f}",
            ]
        )
    with tempfile.TemporaryDirectory() as tmp:
        sample.to_csv(Path(tmp) / "sample.csv", index=False)
        target.to_csv(Path(tmp) / "target.csv", index=False)
        peer = run_balance(Path(tmp))
    if isinstance(peer, h.Skip):
        print(f"balance skipped: {peer.reason}")
    else:
        for name in ("default", "matched"):
            res = peer[name]
            assert isinstance(res, dict)
            rows.append(
                [
                    f"balance {peer['version']} ipw ({name})",
                    f"{res['estimate']:.5f}",
                    f"{res['estimate'] - truth:+.5f}",
                    h.fmt_seconds(res["seconds"]),
                    f"{res['seconds'] / ours['clw'][0]:.1f}",
                ]
            )
    print()
    print(h.table(["tool", "estimate of mean(y)", "bias", "time", "time / perception clw"], rows))
    if isinstance(peer, h.Skip):
        return
    matched = peer["matched"]
    assert isinstance(matched, dict)
    gap = abs(matched["estimate"] - ours["valliant_dever"][1])
    print(
        f"\nbalance ipw (matched model) vs perception valliant_dever: "
        f"|difference| {gap:.1e} (same stacked weighted logistic model)"
    )
    weights = np.asarray(matched["weights"])
    ours_balance = balance_table(a, design, COVARIATES, weights)
    theirs = matched["asmd"]
    diffs = []
    for c, lv, value in zip(
        ours_balance["covariate"], ours_balance["level"], ours_balance["asmd_after"], strict=True
    ):
        # balance names a level `x[T.lv]` (treatment coding) or `x[lv]`; a numeric one `x`
        for key in [f"{c}[T.{lv}]", f"{c}[{lv}]"] if lv else [c]:
            if key in theirs:
                diffs.append(abs(value - theirs[key]))
    print(
        f"ASMD of balance's own weights, perception.balance_table vs balance .asmd(): "
        f"{len(diffs)} covariate columns compared, largest |difference| "
        f"{h.fmt_diff(max(diffs) if diffs else None)}"
    )


if __name__ == "__main__":
    main()
