"""Engine pieces the indicators add: SurveyDesign.with_columns and vectorized domain gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from golden import REFERENCE

from perception.contrasts import GAP_COLUMNS, contrast, domain_gaps
from perception.design import SurveyDesign
from perception.errors import DesignError, ValidationError
from perception.estimation import estimate

MARGINS = {"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122}}


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    """Load R's one-stage cluster sample of Californian schools, with a 0/1 column."""
    data = pd.read_csv(REFERENCE / "apiclus1.csv", dtype={"cds": str})
    return data.assign(poor=(data["meals"] >= 50).astype(float))


@pytest.fixture(scope="module")
def raked(apiclus1: pd.DataFrame) -> SurveyDesign:
    """R's dclus1 raked to school type and sch.wide margins (calibration-aware variance)."""
    design = SurveyDesign(apiclus1, weights="pw", psu="dnum", fpc="fpc")
    return design.rake(MARGINS)


@pytest.fixture(scope="module")
def dnhanes() -> SurveyDesign:
    """R's dnhanes: stratified, two PSUs per stratum, missing values in HI_CHOL."""
    data = pd.read_csv(REFERENCE / "nhanes.csv")
    return SurveyDesign(data, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)


# --------------------------------------------------------------------------- with_columns


def test_with_columns_keeps_the_calibration(apiclus1: pd.DataFrame, raked: SurveyDesign) -> None:
    """It gives the same estimates as raking a design that held the column from the start."""
    score = apiclus1["api00"].to_numpy() / 100.0
    added = raked.with_columns({"score": score})
    direct = SurveyDesign(apiclus1.assign(score=score), weights="pw", psu="dnum", fpc="fpc").rake(
        MARGINS
    )
    assert added.calibration == raked.calibration
    np.testing.assert_array_equal(added.weights, raked.weights)
    got = estimate(added, ["score"], "mean", by=["stype"])
    want = estimate(direct, ["score"], "mean", by=["stype"])
    pd.testing.assert_frame_equal(got, want, rtol=1e-12)
    assert "score" not in raked.data.columns


def test_with_columns_replaces_a_domain_column(raked: SurveyDesign) -> None:
    """It forgets the cached codes of a replaced column, so domains follow the new values."""
    before = estimate(raked, ["poor"], "proportion", by=["stype"])
    assert set(before["stype"]) == {"E", "H", "M"}
    merged = np.where(raked.data["stype"] == "M", "H", raked.data["stype"])
    after = estimate(raked.with_columns({"stype": merged}), ["poor"], "proportion", by=["stype"])
    assert set(after["stype"]) == {"E", "H"}
    assert after.loc[after["stype"] == "H", "n"].item() == before["n"].iloc[1:].sum()


def test_with_columns_rejects_the_weights_and_wrong_lengths(raked: SurveyDesign) -> None:
    """It refuses to replace the weight column, or a column of the wrong length."""
    with pytest.raises(DesignError, match="cannot be replaced") as info:
        raked.with_columns({"pw": np.ones(raked.n_rows)})
    assert info.value.column == "pw"
    with pytest.raises(DesignError, match="does not match the rows") as info:
        raked.with_columns({"x": np.ones(3)})
    assert info.value.found == "3 values"


def test_a_stratum_column_can_be_a_reporting_domain(dnhanes: SurveyDesign) -> None:
    """Replacing the strata column by its own domain codes keeps the design: same estimates."""
    strata = dnhanes.data["SDMVSTRA"].to_numpy(dtype=float)
    before = estimate(dnhanes, ["HI_CHOL"], "mean", by=["SDMVSTRA"])
    work = dnhanes.with_columns({"SDMVSTRA": strata, "SDMVPSU": dnhanes.data["SDMVPSU"]})
    after = estimate(work, ["HI_CHOL"], "mean", by=["SDMVSTRA"])
    assert (work.n_strata, work.n_psus) == (dnhanes.n_strata, dnhanes.n_psus)
    np.testing.assert_allclose(after["estimate"], before["estimate"], rtol=1e-12)
    np.testing.assert_allclose(after["se"], before["se"], rtol=1e-12)
    merged = work.with_columns({"SDMVSTRA": np.where(strata > 20, 20.0, strata)})
    national = estimate(dnhanes, ["HI_CHOL"], "mean")["se"].item()
    assert estimate(merged, ["HI_CHOL"], "mean")["se"].item() == national


def test_with_columns_ignores_a_series_index(raked: SurveyDesign) -> None:
    """It places a Series' values in row order, whatever its index."""
    values = pd.Series(np.arange(raked.n_rows, dtype=float), index=np.arange(raked.n_rows)[::-1])
    added = raked.with_columns({"x": values})
    np.testing.assert_array_equal(added.data["x"].to_numpy(), np.arange(raked.n_rows))


# --------------------------------------------------------------------------- domain_gaps


def _check_against_contrast(
    design: SurveyDesign, table: pd.DataFrame, by: str, a: object, b: object, stat: str
) -> None:
    """Check every row of a domain_gaps table against contrast() on the same domains."""
    for _, row in table.iterrows():
        within = [c for c in table.columns[2:] if c not in GAP_COLUMNS and pd.notna(row[c])]
        values = tuple(row[c] for c in within)
        one = contrast(
            design,
            row["variable"],
            [*within, by],
            (*values, a) if within else a,
            (*values, b) if within else b,
            stat=stat,  # type: ignore[arg-type]
        )
        assert row["estimate"] == pytest.approx(one.estimate, rel=1e-12, abs=1e-15)
        assert row["se"] == pytest.approx(one.se, rel=1e-9)
        assert row["df"] == one.df
        assert row["ci_low"] == pytest.approx(one.ci_low, rel=1e-9, nan_ok=True)
        assert row["p_value"] == pytest.approx(one.p_value, rel=1e-6, abs=1e-300, nan_ok=True)


def test_domain_gaps_equal_contrast_on_a_raked_design(raked: SurveyDesign) -> None:
    """It gives contrast()'s difference, SE, df and p-value in every within-domain (raked)."""
    within = [[], ["sch.wide"], ["comp.imp", "yr.rnd"]]
    table = domain_gaps(raked, ["poor", "api00"], "stype", "E", "M", within, "mean")
    assert list(table.columns) == [
        "variable",
        "domain_set",
        "sch.wide",
        "comp.imp",
        "yr.rnd",
        *GAP_COLUMNS,
    ]
    assert table["domain_set"].drop_duplicates().tolist() == [
        "national",
        "sch.wide",
        "comp.imp×yr.rnd",
    ]
    assert np.isfinite(table["p_value"]).all()
    _check_against_contrast(raked, table, "stype", "E", "M", "mean")


def test_domain_gaps_equal_contrast_with_strata_and_missing_values(
    dnhanes: SurveyDesign,
) -> None:
    """It gives contrast()'s numbers for a proportion with missing values in a stratified design."""
    table = domain_gaps(dnhanes, ["HI_CHOL"], "RIAGENDR", 2, 1, [[], ["race"]], "proportion")
    _check_against_contrast(dnhanes, table, "RIAGENDR", 2, 1, "proportion")
    national = table[table["domain_set"] == "national"].iloc[0]
    data = dnhanes.data
    has = data["HI_CHOL"].notna()
    assert national["n_a"] == int((has & (data["RIAGENDR"] == 2)).sum())
    assert national["n_b"] == int((has & (data["RIAGENDR"] == 1)).sum())


def test_domain_gaps_skip_domains_missing_a_side(raked: SurveyDesign) -> None:
    """It returns a within-domain only when both sides have members."""
    table = domain_gaps(raked, ["poor"], "stype", "E", "H", [["cname"]], "proportion")
    sides = raked.data.groupby("cname")["stype"].agg(lambda s: {"E", "H"} <= set(s))
    assert sorted(table["cname"]) == sorted(sides[sides].index)
    assert len(table) < raked.data["cname"].nunique()
    _check_against_contrast(raked, table.head(3), "stype", "E", "H", "proportion")


def test_domain_gaps_reject_the_gap_column_in_a_within_set(raked: SurveyDesign) -> None:
    """It refuses a within set that holds the column defining the two sides."""
    with pytest.raises(ValidationError, match="also a within-domain column"):
        domain_gaps(raked, ["poor"], "stype", "E", "H", [[], ["stype"]], "proportion")
