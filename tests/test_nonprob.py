"""Non-probability samples: R goldens, a known-truth simulation, two routes, bad input."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize

from perception.design import SurveyDesign
from perception.errors import ModelError, ValidationError
from perception.nonprob import (
    balance_table,
    nonprob_means,
    pseudo_weights,
    weight_diagnostics,
)

REFERENCE = Path(__file__).resolve().parent / "reference"

# Provenance: expected_nonprob.json meta.tolerance, written by make_nonprob_reference.R
# (R 4.2.2, survey 4.1.1; see tests/reference/PROVENANCE.md). R's Newton and svyglm IRLS
# converge far below this.
GOLDEN_RTOL = 1e-6

COVARIATES = ["x1", "region"]


@cache
def _golden() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Read the R reference data and expected numbers once."""
    sample = pd.read_csv(REFERENCE / "nonprob_sample.csv")
    reference = pd.read_csv(REFERENCE / "nonprob_reference.csv")
    expected: dict[str, Any] = json.loads((REFERENCE / "expected_nonprob.json").read_text())
    return sample, reference, expected


def _reference_design(reference: pd.DataFrame) -> SurveyDesign:
    """Build the stratified two-stage reference design of the golden data."""
    return SurveyDesign(reference, weights="d", strata="stratum", psu="psu")


@pytest.mark.parametrize("index", range(4))
def test_matches_r(index: int) -> None:
    """Coefficients, pseudo-weights, means and CLW standard errors equal R's to 1e-6."""
    sample, reference, expected = _golden()
    case = expected["cases"][index]
    design = _reference_design(reference)
    fit = pseudo_weights(sample, design, COVARIATES, method=case["method"])
    np.testing.assert_allclose(fit.coefficients.to_numpy(), case["coefficients"], rtol=1e-6)
    np.testing.assert_allclose(fit.weights[:5], case["w_first5"], rtol=GOLDEN_RTOL)
    assert np.isclose(fit.weights.sum(), case["weight_sum"], rtol=GOLDEN_RTOL)
    row = nonprob_means(fit, sample, design, [case["variable"]]).iloc[0]
    assert np.isclose(row["estimate"], case["estimate"], rtol=GOLDEN_RTOL)
    assert np.isclose(row["se"], case["se"], rtol=GOLDEN_RTOL)
    assert np.isclose(row["unweighted"], case["unweighted"], rtol=GOLDEN_RTOL)
    assert row["n"] == sample[case["variable"]].notna().sum()


def test_clw_equals_scipy_root_of_estimating_equations() -> None:
    """The CLW coefficients are the root scipy finds of CLW's estimating equations."""
    sample, reference, _ = _golden()
    design = _reference_design(reference)
    fit = pseudo_weights(sample, design, COVARIATES)

    def matrix(df: pd.DataFrame) -> np.ndarray:
        """Intercept, x1 and region dummies (a omitted)."""
        return np.column_stack(
            [np.ones(len(df)), df["x1"], df["region"] == "b", df["region"] == "c"]
        ).astype(float)

    xa, xb, d = matrix(sample), matrix(reference), reference["d"].to_numpy()

    def equations(theta: np.ndarray) -> np.ndarray:
        """U(θ) = Σ_A x − Σ_B d π x, scaled by the reference total."""
        pi = 1.0 / (1.0 + np.exp(-(xb @ theta)))
        out: np.ndarray = (xa.sum(axis=0) - xb.T @ (d * pi)) / d.sum()
        return out

    root = optimize.root(equations, np.zeros(4), method="hybr", tol=1e-14)
    assert root.success
    np.testing.assert_allclose(fit.coefficients.to_numpy(), root.x, rtol=1e-7, atol=1e-9)
    weights = 1.0 + np.exp(-(xa @ root.x))
    y = sample["yes"].to_numpy()
    direct = float((weights * y).sum() / weights.sum())
    got = nonprob_means(fit, sample, design, ["yes"])["estimate"].iloc[0]
    assert np.isclose(got, direct, rtol=1e-9)


def test_valliant_dever_equals_weighted_glm_on_stacked_data() -> None:
    """Valliant-Dever coefficients are statsmodels' weighted logistic fit on the stacked data."""
    sample, reference, _ = _golden()
    design = _reference_design(reference)
    fit = pseudo_weights(sample, design, COVARIATES, method="valliant_dever")
    stacked = pd.concat([sample[COVARIATES], reference[COVARIATES]], ignore_index=True)
    x = np.column_stack(
        [
            np.ones(len(stacked)),
            stacked["x1"],
            stacked["region"] == "b",
            stacked["region"] == "c",
        ]
    ).astype(float)
    z = np.r_[np.ones(len(sample)), np.zeros(len(reference))]
    w = np.r_[np.ones(len(sample)), reference["d"].to_numpy()]
    glm = sm.GLM(z, x, family=sm.families.Binomial(), var_weights=w).fit(tol=1e-14)
    np.testing.assert_allclose(fit.coefficients.to_numpy(), glm.params, rtol=1e-7)


# ------------------------------------------------------------------ known-truth simulation


def _population(seed: int = 1, size: int = 20_000) -> pd.DataFrame:
    """Draw a synthetic population whose outcome depends on the covariates of selection."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=size)
    region = np.array(["a", "b", "c"])[rng.integers(0, 3, size=size)]
    y = 1.0 + 0.8 * x1 + 0.5 * (region == "c") + rng.normal(size=size)
    return pd.DataFrame({"x1": x1, "region": region, "y": y})


def _draw(pop: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, SurveyDesign]:
    """Draw a Poisson PPS probability sample (n ≈ 500) and a selective volunteer one (n ≈ 800)."""
    rng = np.random.default_rng(seed)
    size = len(pop)
    measure = np.exp(0.3 * rng.normal(size=size))
    pi_b = np.clip(500 * measure / measure.sum(), 0, 1)
    in_b = rng.random(size) < pi_b
    reference = pop[in_b].assign(d=1 / pi_b[in_b]).reset_index(drop=True)
    eta = -3.5 + 0.7 * pop["x1"].to_numpy() + 0.4 * (pop["region"] == "c").to_numpy()
    in_a = rng.random(size) < 1 / (1 + np.exp(-eta))
    return pop[in_a].reset_index(drop=True), SurveyDesign(reference, weights="d")


@pytest.mark.parametrize("method", ["clw", "valliant_dever"])
def test_adjustment_removes_most_selection_bias(method: str) -> None:
    """Over 30 replications the pseudo-weighted mean removes > 70% of the selection bias."""
    pop = _population()
    truth = float(pop["y"].mean())
    adjusted, unweighted = [], []
    for rep in range(30):
        sample, design = _draw(pop, 100 + rep)
        fit = pseudo_weights(sample, design, COVARIATES, method=method)  # type: ignore[arg-type]
        row = nonprob_means(fit, sample, design, ["y"]).iloc[0]
        adjusted.append(row["estimate"])
        unweighted.append(row["unweighted"])
    bias_adjusted = abs(np.mean(adjusted) - truth)
    bias_unweighted = abs(np.mean(unweighted) - truth)
    assert bias_unweighted > 0.3  # the volunteer sample is badly selected
    assert bias_adjusted < 0.3 * bias_unweighted


@pytest.mark.parametrize("method", ["clw", "valliant_dever"])
def test_linearized_intervals_have_nominal_coverage(method: str) -> None:
    """Over 200 replications the 95% interval covers the truth 91-99% of the time."""
    pop = _population()
    truth = float(pop["y"].mean())
    covered, ses, estimates = [], [], []
    for rep in range(200):
        sample, design = _draw(pop, 1000 + rep)
        fit = pseudo_weights(sample, design, COVARIATES, method=method)  # type: ignore[arg-type]
        row = nonprob_means(fit, sample, design, ["y"]).iloc[0]
        covered.append(row["ci_low"] < truth < row["ci_high"])
        ses.append(row["se"])
        estimates.append(row["estimate"])
    assert 0.91 <= np.mean(covered) <= 0.99
    # the average SE tracks the Monte Carlo spread of the estimates within 20%
    assert 0.8 < np.mean(ses) / np.std(estimates) < 1.2


# ------------------------------------------------------------------ diagnostics and raking


def test_balance_matches_numpy_weighted_sd_and_improves() -> None:
    """ASMD uses the target's reliability-weight SD (numpy's aweights) and falls after weighting."""
    sample, reference, _ = _golden()
    design = _reference_design(reference)
    fit = pseudo_weights(sample, design, COVARIATES)
    table = balance_table(sample, design, COVARIATES, fit.weights)
    assert list(zip(table["covariate"], table["level"], strict=True)) == [
        ("x1", ""),
        ("region", "a"),
        ("region", "b"),
        ("region", "c"),
    ]
    d = reference["d"].to_numpy()
    x1_sd = float(np.sqrt(np.cov(reference["x1"], aweights=d, ddof=1)))
    x1_mean = float(np.average(reference["x1"], weights=d))
    want = abs(sample["x1"].mean() - x1_mean) / x1_sd
    assert np.isclose(table["asmd_before"].iloc[0], want, rtol=1e-12)
    assert (table["asmd_after"] < table["asmd_before"]).all()
    assert table["asmd_after"].max() < 0.1


def test_weight_diagnostics_report_deff_and_propensity_range() -> None:
    """The diagnostics row gives Kish's deff of the pseudo-weights and the propensity range."""
    sample, reference, _ = _golden()
    design = _reference_design(reference)
    fit = pseudo_weights(sample, design, COVARIATES)
    row = weight_diagnostics(fit, design).iloc[0]
    w = fit.weights
    assert np.isclose(row["kish_deff"], len(w) * (w**2).sum() / w.sum() ** 2)
    assert 0 < row["propensity_min"] < row["propensity_median"] < row["propensity_max"] < 1
    assert np.isclose(row["propensity_max"], 1 / w.min())
    assert row["reference_total"] == pytest.approx(reference["d"].sum())


def test_raking_hits_margins_and_keeps_a_linearized_ci() -> None:
    """Raked pseudo-weights meet the margins; their means carry the residual-based CLW SE."""
    sample, reference, _ = _golden()
    design = _reference_design(reference)
    margins = {"region": {"a": 2000.0, "b": 2000.0, "c": 2000.0}}
    fit = pseudo_weights(sample, design, COVARIATES, rake_to=margins)
    achieved = pd.Series(fit.weights).groupby(sample["region"].to_numpy()).sum()
    np.testing.assert_allclose(achieved.to_numpy(), [2000.0] * 3, rtol=1e-7)
    row = nonprob_means(fit, sample, design, ["y"]).iloc[0]
    assert row["se"] > 0 and row["ci_low"] < row["estimate"] < row["ci_high"]
    assert row["method"] == "clw+raking"
    assert "raking residuals" in row["variance"]


# ------------------------------------------------------------------ bad input


def test_rejects_a_covariate_absent_from_the_reference() -> None:
    """A covariate the reference wave did not measure is a ValidationError naming it."""
    sample, reference, _ = _golden()
    design = _reference_design(reference)
    with pytest.raises(ValidationError, match="reference sample lacks covariate") as err:
        pseudo_weights(sample.assign(age=30), design, ["x1", "age"])
    assert err.value.column == "age"


def test_rejects_no_covariates() -> None:
    """Without shared covariates there is no propensity model: a ValidationError."""
    sample, reference, _ = _golden()
    with pytest.raises(ValidationError, match="needs covariates"):
        pseudo_weights(sample, _reference_design(reference), [])


def test_rejects_missing_covariate_values_naming_rows() -> None:
    """Missing covariate values are named by column and rows."""
    sample, reference, _ = _golden()
    broken = sample.copy()
    broken.loc[[4, 9], "x1"] = np.nan
    with pytest.raises(ValidationError, match="missing values") as err:
        pseudo_weights(broken, _reference_design(reference), COVARIATES)
    assert err.value.column == "x1" and err.value.rows == [4, 9]


def test_rejects_a_level_only_in_one_sample() -> None:
    """A region present only in the volunteer sample cannot get a propensity: ModelError."""
    sample, reference, _ = _golden()
    broken = sample.copy()
    broken.loc[[0, 5], "region"] = "z"
    with pytest.raises(ModelError, match="absent from the reference sample") as err:
        pseudo_weights(broken, _reference_design(reference), COVARIATES)
    assert err.value.rows == [0, 5]


def test_rejects_a_propensity_model_that_does_not_converge() -> None:
    """Samples separated by a covariate make Newton diverge: a ModelError, not a number."""
    sample, reference, _ = _golden()
    separated = sample.assign(x1=sample["x1"] + 100.0)
    with pytest.raises(ModelError, match="does not converge"):
        pseudo_weights(separated, _reference_design(reference), ["x1"])
