"""Estimation: output shape, consistency between routes, contrasts and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from golden import REFERENCE
from scipy import stats

from perception.contrasts import contrast, wave_difference
from perception.design import SurveyDesign
from perception.errors import ConfigError, ValidationError
from perception.estimation import NATIONAL, estimate, estimate_domains

COLUMNS = ["estimate", "se", "ci_low", "ci_high", "df", "deff", "n", "n_weighted", "n_eff"]


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    """Load the stratified API sample (weights constant within each stratum)."""
    data = pd.read_csv(REFERENCE / "apistrat.csv", dtype={"cds": str})
    return data.assign(schwide=(data["sch.wide"] == "Yes").astype(float))


@pytest.fixture(scope="module")
def dstrat(apistrat: pd.DataFrame) -> SurveyDesign:
    """R's dstrat."""
    return SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")


@pytest.fixture(scope="module")
def dnhanes() -> SurveyDesign:
    """R's dnhanes (HI_CHOL has 745 missing values)."""
    data = pd.read_csv(REFERENCE / "nhanes.csv")
    return SurveyDesign(data, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)


def test_output_columns_follow_the_contract(dnhanes: SurveyDesign) -> None:
    """It returns variable, by columns, then the nine statistics, one row per domain."""
    table = estimate(dnhanes, ["HI_CHOL"], "proportion", by=["RIAGENDR", "agecat"])
    assert list(table.columns) == ["variable", "RIAGENDR", "agecat", *COLUMNS]
    assert len(table) == 8
    assert table["df"].dtype == np.int64 and table["n"].dtype == np.int64
    assert table.groupby(["RIAGENDR", "agecat"]).ngroups == 8


def test_estimate_domains_long_format(dnhanes: SurveyDesign) -> None:
    """It stacks national, one-way and crossed domain sets with NA for unused columns."""
    sets = [[], ["RIAGENDR"], ["RIAGENDR", "race"]]
    table = estimate_domains(dnhanes, ["HI_CHOL"], sets, stat="proportion")
    assert list(table.columns) == ["variable", "domain_set", "RIAGENDR", "race", *COLUMNS]
    counts = table["domain_set"].value_counts()
    assert counts[NATIONAL] == 1 and counts["RIAGENDR"] == 2 and counts["RIAGENDR×race"] == 8
    national = table[table["domain_set"] == NATIONAL]
    assert national[["RIAGENDR", "race"]].isna().all(axis=None)
    assert table.loc[table["domain_set"] == "RIAGENDR", "race"].isna().all()


def test_estimate_domains_equals_estimate_per_set(dnhanes: SurveyDesign) -> None:
    """It gives the same numbers as estimate(by=...) for every domain set."""
    sets = [[], ["agecat"], ["RIAGENDR", "agecat"]]
    long = estimate_domains(dnhanes, ["HI_CHOL"], sets, stat="proportion", ci_method="beta")
    for columns in sets:
        label = "×".join(columns) if columns else NATIONAL
        part = long[long["domain_set"] == label].reset_index(drop=True)
        single = estimate(dnhanes, ["HI_CHOL"], "proportion", by=columns, ci_method="beta")
        pd.testing.assert_frame_equal(
            part[COLUMNS], single[COLUMNS], check_exact=False, rtol=1e-12, atol=0
        )


def test_missing_values_drop_out_of_one_variable_only(dnhanes: SurveyDesign) -> None:
    """It keeps rows missing one variable for another variable and keeps the df."""
    data = dnhanes.data.assign(ones=1.0)
    design = SurveyDesign(data, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)
    table = estimate(design, ["HI_CHOL", "ones"], "mean")
    assert table["n"].tolist() == [7846, 8591]
    assert table["df"].tolist() == [16, 16]


def test_rows_with_missing_domain_value_leave_that_set_only(dnhanes: SurveyDesign) -> None:
    """It leaves a row with a missing domain value out of that set, not out of national."""
    data = dnhanes.data.assign(group=dnhanes.data["race"].where(dnhanes.data["race"] != 1))
    design = SurveyDesign(data, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)
    table = estimate_domains(design, ["HI_CHOL"], [[], ["group"]], stat="proportion")
    assert table["n"].iloc[0] == 7846
    assert table["n"].iloc[1:].sum() == 7846 - int(
        (data["race"].eq(1) & data["HI_CHOL"].notna()).sum()
    )


def test_total_is_mean_times_population_when_weights_are_constant_in_strata(
    dstrat: SurveyDesign,
) -> None:
    """It gives total = mean · N̂ and SE(total) = N̂ · SE(mean) when N̂ has no variance."""
    mean = estimate(dstrat, ["enroll"], "mean")
    total = estimate(dstrat, ["enroll"], "total")
    size = dstrat.weights.sum()
    assert total["estimate"][0] == pytest.approx(mean["estimate"][0] * size, rel=1e-12)
    assert total["se"][0] == pytest.approx(mean["se"][0] * size, rel=1e-9)


def test_proportion_equals_mean_of_a_01_variable(dnhanes: SurveyDesign) -> None:
    """It gives the same estimate, SE, deff and n_eff via stat='mean' and 'proportion'."""
    as_mean = estimate(dnhanes, ["HI_CHOL"], "mean", by=["agecat"])
    as_prop = estimate(dnhanes, ["HI_CHOL"], "proportion", by=["agecat"], ci_method="wald")
    cols = ["estimate", "se", "deff", "n_eff", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(as_mean[cols], as_prop[cols], rtol=1e-10)


def test_boolean_and_nullable_columns_count_as_01(dnhanes: SurveyDesign) -> None:
    """It accepts boolean and nullable boolean indicators for proportions."""
    data = dnhanes.data.assign(
        flag=dnhanes.data["HI_CHOL"].map({1.0: True, 0.0: False}).astype("boolean"),
        flag_int=dnhanes.data["HI_CHOL"].astype("Int64"),
    )
    design = SurveyDesign(data, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)
    table = estimate(design, ["HI_CHOL", "flag", "flag_int"], "proportion")
    assert np.allclose(table["estimate"], table["estimate"][0], rtol=1e-14)
    assert np.allclose(table["se"], table["se"][0], rtol=1e-14)


def test_deff_and_n_eff_definitions(dstrat: SurveyDesign, apistrat: pd.DataFrame) -> None:
    """It computes deff against SRS without replacement and n_eff as p(1−p)/Var(p)."""
    table = estimate(dstrat, ["schwide"], "proportion", by=["yr.rnd"])
    w, p_all = apistrat["pw"].to_numpy(), apistrat["schwide"].to_numpy()
    for _, row in table.iterrows():
        inside = (apistrat["yr.rnd"] == row["yr.rnd"]).to_numpy()
        wd, yd = w[inside], p_all[inside]
        n, size = inside.sum(), wd.sum()
        p = float(wd @ yd / size)
        s2 = float(wd @ (yd - p) ** 2 / size) * n / (n - 1)
        assert row["deff"] == pytest.approx(row["se"] ** 2 / (s2 * (1 - n / size) / n), rel=1e-10)
        assert row["n_eff"] == pytest.approx(p * (1 - p) / row["se"] ** 2, rel=1e-10)
    assert np.isnan(estimate(dstrat, ["enroll"], "total")["n_eff"][0])


def test_intervals_use_t_with_domain_df(dstrat: SurveyDesign) -> None:
    """It builds symmetric t intervals on each domain's own df for means."""
    table = estimate(dstrat, ["api00"], "mean", by=["stype"], level=0.9)
    half = stats.t.ppf(0.95, table["df"]) * table["se"]
    np.testing.assert_allclose(table["ci_high"] - table["estimate"], half, rtol=1e-12)
    assert table["df"].tolist() == [99, 49, 49]


def test_beta_interval_at_p_zero_uses_the_row_count(dstrat: SurveyDesign) -> None:
    """It gives a one-sided Korn-Graubard interval [0, u] in a domain where p = 0."""
    table = estimate(dstrat, ["schwide"], "proportion", by=["stype", "yr.rnd"], ci_method="beta")
    zero = table[table["estimate"] == 0]
    assert not zero.empty
    positive = zero[zero["df"] > 0]
    assert (positive["ci_low"] == 0).all() and (positive["ci_high"] > 0).all()
    assert zero[zero["df"] == 0]["ci_high"].isna().all()


def _p01_case(case_id: str, ci_method: str) -> tuple[dict[str, object], pd.Series]:
    """Return an R reference case of p01_expected.json and perception's row for its domain."""
    import json

    reference = json.loads((REFERENCE / "p01_expected.json").read_text(encoding="utf-8"))
    case = next(c for c in reference["cases"] if c["id"] == case_id)
    data = pd.read_csv(REFERENCE / "p01_design.csv").astype({"y": float})
    design = SurveyDesign(data, weights="w", strata="stratum", psu="psu", nest=True)
    by = {"national": None, "region2": ["region"]}.get(case_id, ["region", "gender"])
    table = estimate(design, ["y"], "proportion", by=by, ci_method=ci_method)  # type: ignore[arg-type]
    keys = {"region1_women_p1": (1, 2), "region3_men_p0": (3, 1), "region2": (2,)}
    if by is None:
        return case, table.iloc[0]
    mask = np.logical_and.reduce(
        [table[column].eq(value) for column, value in zip(by, keys[case_id], strict=True)]
    )
    return case, table[mask].iloc[0]


@pytest.mark.parametrize("ci_method", ["logit", "beta", "wald"])
@pytest.mark.parametrize("case_id", ["region1_women_p1", "region3_men_p0"])
def test_interval_at_p_zero_or_one_is_defined_and_matches_r(case_id: str, ci_method: str) -> None:
    """At p = 0 or 1 every method gives R's Korn-Graubard formula with n* = domain rows."""
    case, row = _p01_case(case_id, ci_method)
    assert row["estimate"] == case["estimate"] and row["se"] == pytest.approx(0, abs=1e-15)
    assert row["df"] == case["df"]
    assert case["r_beta_ci"] == [None, None]  # R itself has no interval here
    assert row["ci_low"] == pytest.approx(case["ci_low"], rel=1e-6, abs=1e-12)
    assert row["ci_high"] == pytest.approx(case["ci_high"], rel=1e-6, abs=1e-12)
    assert row["ci_low"] <= row["estimate"] <= row["ci_high"]
    assert row["ci_high"] - row["ci_low"] > 0.1


@pytest.mark.parametrize("case_id", ["national", "region2"])
def test_beta_and_logit_intervals_inside_match_r(case_id: str) -> None:
    """Away from 0 and 1 the beta and logit intervals are R's svyciprop ones."""
    for method in ("beta", "logit"):
        case, row = _p01_case(case_id, method)
        assert row["se"] == pytest.approx(case["se"], rel=1e-6)
        low, high = case[f"r_{method}_ci"]  # type: ignore[misc]
        assert row["ci_low"] == pytest.approx(low, rel=1e-6)
        assert row["ci_high"] == pytest.approx(high, rel=1e-6)


def test_contrast_of_independent_strata_adds_variances(dstrat: SurveyDesign) -> None:
    """It gives SE = sqrt(se_a² + se_b²) for domains in disjoint strata (no covariance)."""
    table = estimate(dstrat, ["api00"], "mean", by=["stype"]).set_index("stype")
    result = contrast(dstrat, "api00", ["stype"], "E", "H")
    assert result.estimate == pytest.approx(table.loc["E", "estimate"] - table.loc["H", "estimate"])
    assert result.se == pytest.approx(np.hypot(table.loc["E", "se"], table.loc["H", "se"]))
    assert result.df == 148
    assert result.ci_low < result.estimate < result.ci_high
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(result.estimate / result.se), 148))


def test_contrast_uses_the_covariance_of_shared_psus(dnhanes: SurveyDesign) -> None:
    """It equals the SE of the difference computed as one variable's domain totals."""
    data = dnhanes.data
    by_sex = estimate(dnhanes, ["HI_CHOL"], "mean", by=["RIAGENDR"]).set_index("RIAGENDR")
    means = by_sex["estimate"]
    sizes = by_sex["n_weighted"]
    y = data["HI_CHOL"].to_numpy()
    sex = data["RIAGENDR"].to_numpy()
    score = np.where(sex == 2, (y - means[2]) / sizes[2], -(y - means[1]) / sizes[1])
    linear = data.assign(score=np.where(np.isnan(y), np.nan, score))
    design = SurveyDesign(linear, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)
    want = estimate(design, ["score"], "total")["se"][0]
    result = contrast(dnhanes, "HI_CHOL", ["RIAGENDR"], 2, 1, stat="proportion")
    assert result.se == pytest.approx(want, rel=1e-9)
    assert result.se < np.hypot(by_sex.loc[1, "se"], by_sex.loc[2, "se"])
    assert result.estimate == pytest.approx(means[2] - means[1])


def test_contrast_rejects_unknown_domain(dstrat: SurveyDesign) -> None:
    """It names a contrast domain that has no respondents."""
    with pytest.raises(ValidationError, match="No respondents"):
        contrast(dstrat, "api00", ["stype"], "E", "K")
    with pytest.raises(ValidationError, match="does not match the by columns"):
        contrast(dstrat, "api00", ["stype"], ("E", "No"), "H")


def test_wave_difference_is_symmetric_with_satterthwaite_df() -> None:
    """It adds variances, uses Welch-Satterthwaite df and is antisymmetric in its inputs."""
    later = {"estimate": 0.42, "se": 0.03, "df": 30}
    earlier = pd.Series({"estimate": 0.35, "se": 0.02, "df": 60})
    forward = wave_difference(later, earlier)
    backward = wave_difference(earlier, later)
    assert forward.estimate == pytest.approx(0.07)
    assert forward.se == pytest.approx(np.hypot(0.03, 0.02))
    assert min(30, 60) <= forward.df <= 90
    assert backward.estimate == pytest.approx(-forward.estimate)
    assert backward.p_value == pytest.approx(forward.p_value)
    assert backward.ci_low == pytest.approx(-forward.ci_high)
    same_se = wave_difference(
        {"estimate": 1, "se": 1, "df": 20}, {"estimate": 0, "se": 1, "df": 20}
    )
    assert same_se.df == pytest.approx(40)


def test_rejects_unknown_variable_and_bad_options(dstrat: SurveyDesign) -> None:
    """It names an unknown variable or domain column and rejects unknown options."""
    with pytest.raises(ValidationError, match="variable 'api01' is not in the data") as info:
        estimate(dstrat, ["api01"])
    assert info.value.column == "api01"
    with pytest.raises(ValidationError, match="domain column 'region'"):
        estimate(dstrat, ["api00"], by=["region"])
    with pytest.raises(ConfigError, match="Unknown statistic"):
        estimate(dstrat, ["api00"], "median")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Unknown interval method"):
        estimate(dstrat, ["schwide"], "proportion", ci_method="wilson")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="level"):
        estimate(dstrat, ["api00"], level=95)


def test_rejects_proportion_that_is_not_01(dstrat: SurveyDesign) -> None:
    """It rejects a proportion variable with values other than 0 and 1, naming rows."""
    with pytest.raises(ValidationError, match="not 0/1") as info:
        estimate(dstrat, ["api00"], "proportion")
    assert info.value.rows and info.value.rows[0] == 0
    with pytest.raises(ValidationError, match="not numeric"):
        estimate(dstrat, ["sch.wide"], "proportion")


def test_wave_difference_with_zero_standard_errors_gives_a_defined_p_value() -> None:
    """It returns p = 0 for a certain difference and NaN for none when both SEs are 0."""
    certain = wave_difference(
        {"estimate": 1.0, "se": 0.0, "df": 5}, {"estimate": 0.0, "se": 0.0, "df": 5}
    )
    assert certain.p_value == 0.0 and certain.ci_low == certain.ci_high == 1.0
    none = wave_difference(
        {"estimate": 1.0, "se": 0.0, "df": 5}, {"estimate": 1.0, "se": 0.0, "df": 5}
    )
    assert np.isnan(none.p_value)
