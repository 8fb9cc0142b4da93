"""Survey-weighted regression against R's svyglm / regTermTest, two-route checks, bad input."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden import dataset, expected

from perception import ConfigError, ModelError, SurveyDesign, regress
from perception.contrasts import contrast
from perception.estimation import estimate
from perception.regression import influence_covariance, marginal_effects, wald_test

EXPECTED = expected("expected_regression.json")

# Provenance: expected_regression.json meta.tolerance, written by make_reference_regression.R
# (R 4.2.2, survey 4.1.1; see tests/reference/PROVENANCE.md). R's glm runs to
# epsilon = 1e-15 there; what is left of its IRLS error stays below 1e-8 on the SEs.
GOLDEN_RTOL = 1e-6
GOLDEN_ATOL = 1e-9


@cache
def _dataset(name: str) -> pd.DataFrame:
    """Read a reference CSV once, with the derived 0/1 column `yes` for the API data."""
    data = dataset(name)
    if "sch.wide" in data.columns:
        data = data.assign(yes=(data["sch.wide"] == "Yes").astype(float))
    return data


def _design(case: dict[str, Any]) -> SurveyDesign:
    """Build the case's design, with its calibration."""
    data = _dataset(case["dataset"])
    if "sim" in case:
        data = data[data["sim"] == case["sim"]].reset_index(drop=True)
    design = SurveyDesign(data, **case["design"])
    calibration = case.get("calibration")
    if calibration and calibration["method"] == "raking":
        design = design.rake(calibration["margins"])
    elif calibration:
        design = design.poststratify(calibration["variables"], calibration["targets"])
    return design


def _r_name(name: str) -> str:
    """R's name of a patsy model column (``stype[T.H]`` → ``stypeH``)."""
    if name == "Intercept":
        return "(Intercept)"
    name = re.sub(r"C\((\w+)\)\[T\.(.+?)\]", r"factor(\1)\2", name)
    return re.sub(r"(\w+)\[T\.(.+?)\]", r"\1\2", name)


def _close(got: float, want: float) -> bool:
    """Compare at the golden tolerance."""
    return bool(np.isclose(got, want, rtol=GOLDEN_RTOL, atol=GOLDEN_ATOL))


CASES = EXPECTED["cases"]


def test_reference_cases_cover_every_family_and_design() -> None:
    """The R reference has gaussian, binomial and poisson fits on every kind of design."""
    assert len(CASES) == 22
    assert {c["family"] for c in CASES} == {"gaussian", "binomial", "poisson"}
    assert {c["dataset"] for c in CASES} == {"apistrat", "apiclus1", "nhanes", "random_regression"}
    assert any("calibration" in c for c in CASES)
    assert any(c["domain"] for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: str(c["id"]))
def test_coefficients_match_svyglm(case: dict[str, Any]) -> None:
    """It reproduces svyglm's coefficients, SEs, t, p, confint and df.residual."""
    model = regress(_design(case), case["formula"], case["family"], domain=case["domain"])
    assert model.df_residual == case["df_residual"]
    assert model.design_df == case["design_degf"]
    assert model.n == case["n"]
    table = model.coefficients.set_index(model.coefficients["coefficient"].map(_r_name))
    assert sorted(table.index) == sorted(c["name"] for c in case["coefficients"])
    for want in case["coefficients"]:
        got = table.loc[want["name"]]
        pairs = (
            ("estimate", "estimate"),
            ("se", "se"),
            ("t", "t"),
            ("p_value", "p"),
            ("ci_low", "ci_low"),
            ("ci_high", "ci_high"),
        )
        wrong = {g: (got[g], want[w]) for g, w in pairs if not _close(float(got[g]), want[w])}
        assert not wrong, (want["name"], wrong)
        assert got["df"] == case["df_residual"]


WALD = [(c, k) for c in CASES for k in range(len(c["wald"]))]


@pytest.mark.parametrize(
    "case, k", WALD, ids=lambda v: str(v["id"]) if isinstance(v, dict) else str(v)
)
def test_wald_matches_regtermtest(case: dict[str, Any], k: int) -> None:
    """It reproduces regTermTest's F (on df.residual) or chi-square (df = Inf) and p-value."""
    want = case["wald"][k]
    model = regress(_design(case), case["formula"], case["family"], domain=case["domain"])
    df = float("inf") if want["chisq_test"] else None
    test = model.wald_test(want["terms_py"], df=df)
    assert test.test == ("chisq" if want["chisq_test"] else "F")
    assert test.df_num == want["df"]
    if not want["chisq_test"]:
        assert test.df_den == want["ddf"]
    assert _close(test.statistic, want["statistic"])
    assert _close(test.p_value, want["p"])


AME = [c for c in CASES if c["ame"]]


@pytest.mark.parametrize("case", AME, ids=lambda c: str(c["id"]))
def test_marginal_effects_match_r_linearization(case: dict[str, Any]) -> None:
    """Its AMEs (percentage points) equal R's counterfactual predictions and svyrecvar SEs."""
    model = regress(_design(case), case["formula"], case["family"], domain=case["domain"])
    table = marginal_effects(model)
    assert (table["unit"] == "percentage points").all()
    for want in case["ame"]:
        match = (table["variable"] == want["variable"]) & (table["level"] == (want["level"] or ""))
        assert match.sum() == 1, want
        got = table[match].iloc[0]
        assert got["reference"] == (want["reference"] or "")
        assert _close(got["estimate"] / 100.0, want["estimate"]), (got, want)
        assert _close(got["se"] / 100.0, want["se"]), (got, want)


# ---------------------------------------------------------------------------------- two routes


def _apistrat() -> SurveyDesign:
    """Build the stratified API design of the R cases."""
    return SurveyDesign(_dataset("apistrat"), "pw", strata="stype", fpc="fpc")


def _apiclus1_cal() -> SurveyDesign:
    """Build the raked one-stage cluster API design of the R cases."""
    case = next(c for c in CASES if c["id"] == "apiclus1_cal_binomial")
    return _design(case)


@pytest.mark.parametrize("make", [_apistrat, _apiclus1_cal], ids=["apistrat", "calibrated"])
def test_intercept_only_model_is_the_weighted_mean(make: Any) -> None:
    """An intercept-only gaussian model gives estimate()'s mean and SE of the outcome."""
    design = make()
    model = regress(design, "api00 ~ 1")
    mean = estimate(design, ["api00"]).iloc[0]
    got = model.coefficients.iloc[0]
    assert np.isclose(got["estimate"], mean["estimate"], rtol=1e-12)
    assert np.isclose(got["se"], mean["se"], rtol=1e-9)


@pytest.mark.parametrize("make", [_apistrat, _apiclus1_cal], ids=["apistrat", "calibrated"])
def test_saturated_logit_ame_is_the_domain_contrast(make: Any) -> None:
    """In `yes ~ stype` the AME of a level is contrast()'s difference of proportions and SE."""
    design = make()
    model = regress(design, "yes ~ stype", "binomial")
    ame = marginal_effects(model).iloc[1]
    gap = contrast(design, "yes", ["stype"], "M", "E", stat="proportion")
    assert ame["level"] == "M" and ame["reference"] == "E"
    assert np.isclose(ame["estimate"] / 100.0, gap.estimate, rtol=1e-9)
    assert np.isclose(ame["se"] / 100.0, gap.se, rtol=1e-7)


def _numeric_influence(design: SurveyDesign, statistic: Any, step: float = 1e-6) -> np.ndarray:
    """Influence of weighted statistics (a vector) by central differences in each row's weight."""
    w = design.weights
    out = []
    for i in range(design.n_rows):
        up, down = w.copy(), w.copy()
        up[i] *= 1.0 + step
        down[i] *= 1.0 - step
        difference = statistic(design.with_weights(up)) - statistic(design.with_weights(down))
        out.append(difference / (2.0 * step * w[i]))
    return np.array(out)


def test_ame_se_matches_a_numeric_derivative_of_the_whole_estimator() -> None:
    """The AME's analytic linearization equals the numeric derivative of the AME in each weight."""
    data = _dataset("random_regression")
    data = data[data["sim"] == 2].reset_index(drop=True)
    design = SurveyDesign(data, "w", strata="stratum", psu="psu")
    model = regress(design, "yb ~ x1 + g", "binomial")
    table = marginal_effects(model)
    # Every AME of one refit at a time: each perturbed design is fitted once, not once per AME.
    influence = _numeric_influence(
        design,
        lambda d: (
            marginal_effects(regress(d, "yb ~ x1 + g", "binomial"))["estimate"].to_numpy() / 100.0
        ),
    )
    rows = np.arange(design.n_rows, dtype=np.intp)
    for row in range(len(table)):
        variance = influence_covariance(design, rows, influence[:, [row]])[0, 0]
        assert np.isclose(table["se"].iloc[row] / 100.0, np.sqrt(variance), rtol=1e-5)


def test_coefficient_se_matches_a_numeric_derivative_on_a_calibrated_design() -> None:
    """The coefficients' sandwich SE equals the kernel variance of their numeric influence."""
    design = _apiclus1_cal()
    model = regress(design, "yes ~ ell + stype", "binomial")
    rows = np.arange(design.n_rows, dtype=np.intp)
    influence = _numeric_influence(
        design,
        lambda d: regress(d, "yes ~ ell + stype", "binomial").coefficients["estimate"].to_numpy(),
    )
    for j in (1, 2):
        variance = influence_covariance(design, rows, influence[:, [j]])[0, 0]
        assert np.isclose(model.coefficients["se"].iloc[j], np.sqrt(variance), rtol=1e-5)


def test_covariance_is_symmetric_and_matches_a_contrast_variance() -> None:
    """Var(b1 − b2) from the covariance matrix equals the kernel variance of b1 − b2's score."""
    design = _apistrat()
    model = regress(design, "api00 ~ ell + meals + stype")
    cov = model.covariance.to_numpy()
    assert np.allclose(cov, cov.T)
    fit = model._fit
    score = fit.influence[:, 1] - fit.influence[:, 2]
    direct = influence_covariance(design, model.rows, score[:, None])[0, 0]
    assert np.isclose(cov[1, 1] + cov[2, 2] - 2 * cov[1, 2], direct, rtol=1e-9)


def test_odds_ratios_are_exponentiated_coefficients_and_limits() -> None:
    """A logistic model's odds ratios and their limits are exp of the coefficient and limits."""
    model = regress(_apistrat(), "yes ~ ell + stype", "binomial")
    table = model.coefficients
    assert np.allclose(table["odds_ratio"], np.exp(table["estimate"]))
    assert np.allclose(table["odds_ratio_ci_low"], np.exp(table["ci_low"]))
    assert np.allclose(table["odds_ratio_ci_high"], np.exp(table["ci_high"]))
    assert list(table["term"]) == ["Intercept", "stype", "stype", "ell"]
    assert list(table["level"]) == ["", "H", "M", ""]


def test_wald_test_of_one_coefficient_is_its_squared_t() -> None:
    """A one-coefficient Wald F is the coefficient's t squared, with the same p-value."""
    model = regress(_apistrat(), "api00 ~ ell + meals")
    row = model.coefficients.set_index("coefficient").loc["ell"]
    test = wald_test(model, ["ell"])
    assert np.isclose(test.statistic, row["t"] ** 2, rtol=1e-12)
    assert np.isclose(test.p_value, row["p_value"], rtol=1e-9)


# ---------------------------------------------------------------------------------- bad input


def test_unknown_column_names_the_column_and_a_close_match() -> None:
    """A formula naming a missing column raises a ModelError that suggests the right one."""
    with pytest.raises(ModelError, match="'mealz'") as info:
        regress(_apistrat(), "api00 ~ mealz")
    assert info.value.column == "mealz"
    assert "meals" in info.value.found


def test_collinear_model_names_the_aliased_column() -> None:
    """A predictor that copies another raises a ModelError naming the aliased column."""
    design = _apistrat().with_columns({"ell2": 2.0 * _dataset("apistrat")["ell"]})
    with pytest.raises(ModelError, match="collinear") as info:
        regress(design, "api00 ~ ell + ell2")
    assert "ell" in info.value.found


def test_separated_logistic_model_names_the_rows() -> None:
    """A level whose respondents all answer 1 is a separation error with its rows."""
    data = _dataset("apistrat").copy()
    data["yes"] = np.where(data["stype"] == "H", 1.0, data["yes"])
    design = SurveyDesign(data, "pw", strata="stype", fpc="fpc")
    with pytest.raises(ModelError, match="perfectly separated") as info:
        regress(design, "yes ~ ell + stype", "binomial")
    assert "stype[T.H]" in info.value.found
    assert info.value.rows and set(info.value.rows) <= set(np.flatnonzero(data["stype"] == "H"))


def test_poisson_level_with_only_zeros_is_separation() -> None:
    """A Poisson level whose counts are all 0 has an infinite coefficient: an error."""
    data = _dataset("apistrat").copy()
    data["emer"] = np.where(data["stype"] == "M", 0, data["emer"])
    design = SurveyDesign(data, "pw", strata="stype", fpc="fpc")
    with pytest.raises(ModelError, match="perfectly separated"):
        regress(design, "emer ~ ell + stype", "poisson")


def test_model_without_residual_df_is_an_error() -> None:
    """More coefficients than the design's PSUs can support raise a ModelError saying so."""
    design = SurveyDesign(_dataset("apiclus1"), "pw", psu="dnum", fpc="fpc")
    formula = "api00 ~ ell + meals + mobility + acs_core + pct_resp + not_hsg + hsg + " + (
        "some_col + col_grad + grad_sch + avg_ed + full + emer + enroll"
    )
    renamed = design.with_columns(
        {c.replace(".", "_"): design.data[c] for c in design.data.columns if "." in c}
    )
    with pytest.raises(ModelError, match="no residual degrees of freedom") as info:
        regress(renamed, formula)
    assert "df.residual" in info.value.found


def test_outcome_outside_the_family_is_an_error() -> None:
    """A binomial outcome other than 0/1 raises a ModelError naming the column and rows."""
    with pytest.raises(ModelError, match="does not suit family='binomial'") as info:
        regress(_apistrat(), "api00 ~ ell", "binomial")
    assert info.value.column == "api00"
    assert info.value.rows


def test_unknown_term_in_wald_test_lists_the_terms() -> None:
    """A Wald test of a term the model lacks says which terms exist."""
    model = regress(_apistrat(), "api00 ~ ell + stype")
    with pytest.raises(ModelError, match="no term 'region'") as info:
        model.wald_test(["region"])
    assert "stype" in info.value.expected


def test_missing_outcome_rows_are_zero_scores_not_dropped_psus() -> None:
    """Rows with a missing outcome leave the fit but keep their PSU's place in the variance."""
    data = _dataset("apistrat").copy()
    data.loc[:9, "api00"] = np.nan
    design = SurveyDesign(data, "pw", strata="stype", fpc="fpc")
    model = regress(design, "api00 ~ 1")
    mean = estimate(design, ["api00"]).iloc[0]
    assert model.n == 190
    assert np.isclose(model.coefficients["se"].iloc[0], mean["se"], rtol=1e-9)
    assert model.design_df == 187


def test_gaussian_marginal_effects_are_the_coefficients() -> None:
    """In a linear model each AME is its coefficient, with the same SE, in outcome units."""
    model = regress(_apistrat(), "api00 ~ ell + stype")
    table = marginal_effects(model).set_index(["variable", "level"])
    coefficients = model.coefficients.set_index("coefficient")
    for (variable, level), name in (
        (("ell", ""), "ell"),
        (("stype", "H"), "stype[T.H]"),
        (("stype", "M"), "stype[T.M]"),
    ):
        assert np.isclose(
            table.loc[(variable, level), "estimate"], coefficients.loc[name, "estimate"]
        )
        assert np.isclose(table.loc[(variable, level), "se"], coefficients.loc[name, "se"])
    assert (table["unit"] == "outcome units").all()


def test_unknown_family_and_unparsable_formula_are_errors() -> None:
    """An unknown family is a ConfigError; a formula patsy cannot read is a ModelError."""
    with pytest.raises(ConfigError, match="Unknown model family"):
        regress(_apistrat(), "api00 ~ ell", "logistic")  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="cannot be parsed"):
        regress(_apistrat(), "api00 ~ ell +")


def test_rescaling_the_weights_changes_nothing() -> None:
    """Multiplying every weight by 7 leaves coefficients, SEs and AMEs unchanged."""
    design = _apistrat()
    scaled = design.with_weights(7.0 * design.weights)
    a = regress(design, "yes ~ ell + stype", "binomial")
    b = regress(scaled, "yes ~ ell + stype", "binomial")
    for column in ("estimate", "se", "p_value"):
        np.testing.assert_allclose(a.coefficients[column], b.coefficients[column], rtol=1e-9)
    np.testing.assert_allclose(marginal_effects(a)["se"], marginal_effects(b)["se"], rtol=1e-9)
    assert np.isclose(b.n_weighted, 7.0 * a.n_weighted)
