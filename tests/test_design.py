"""SurveyDesign: validation of weights, strata, PSUs, fpc and lonely PSUs; immutability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from golden import REFERENCE

from perception.design import SurveyDesign
from perception.errors import ConfigError, DesignError, PerceptionError
from perception.estimation import estimate


@pytest.mark.parametrize(
    ("bad", "kind"),
    [(np.nan, "missing"), (0.0, "zero"), (-2.0, "negative"), (np.inf, "infinite")],
)
def test_rejects_bad_weight(apistrat: pd.DataFrame, bad: float, kind: str) -> None:
    """It rejects a missing, zero, negative or infinite weight and names the rows."""
    data = apistrat.copy()
    data.loc[[3, 7], "pw"] = bad
    with pytest.raises(DesignError, match="positive and finite") as info:
        SurveyDesign(data, weights="pw", strata="stype")
    assert info.value.column == "pw"
    assert info.value.rows == [3, 7]
    assert kind in info.value.found


def test_row_lists_keep_every_row_and_show_the_first_ten_and_a_count(
    apistrat: pd.DataFrame,
) -> None:
    """It keeps every bad row on the error; the message shows the first 10 and the count."""
    data = apistrat.copy()
    data.loc[60:, "pw"] = 0.0
    with pytest.raises(DesignError) as info:
        SurveyDesign(data, weights="pw", strata="stype")
    n_bad = len(data) - 60
    assert info.value.rows == list(range(60, len(data)))
    shown = ", ".join(str(r) for r in range(60, 70))
    assert f"rows:     {shown} (first 10 of {n_bad:,} rows)" in str(info.value)


def test_rejects_unknown_and_text_weight_columns(apistrat: pd.DataFrame) -> None:
    """It rejects a weight column that does not exist or holds text."""
    with pytest.raises(DesignError, match="not in the data") as info:
        SurveyDesign(apistrat, weights="pww")
    assert "weights=" in info.value.hint
    with pytest.raises(DesignError, match="not numeric"):
        SurveyDesign(apistrat, weights="stype")


@pytest.mark.parametrize(("role", "column"), [("strata", "stype"), ("psu", "dnum")])
def test_rejects_missing_stratum_or_psu_id(apistrat: pd.DataFrame, role: str, column: str) -> None:
    """It rejects a missing stratum or PSU id, naming the column and rows."""
    data = apistrat.copy()
    data[column] = data[column].astype(object)
    data.loc[5, column] = None
    with pytest.raises(DesignError, match="missing ids") as info:
        SurveyDesign(data, weights="pw", **{role: column})
    assert info.value.column == column
    assert info.value.rows == [5]


def test_rejects_lonely_psu_under_fail_like_r() -> None:
    """It rejects a stratum with one PSU when lonely_psu='fail', with R's message."""
    data = pd.read_csv(REFERENCE / "apistrat_lonely.csv")
    with pytest.raises(DesignError, match=r"^Stratum \(Amador\) has only one PSU") as info:
        SurveyDesign(data, weights="pw", strata="cname")
    assert "Butte" in info.value.found
    assert "lonely_psu" in info.value.hint
    amador = np.flatnonzero(data["cname"].to_numpy() == "Amador").tolist()
    assert set(amador) <= set(info.value.rows or [])


def test_psu_ids_repeated_across_strata_need_nest(nhanes: pd.DataFrame) -> None:
    """It rejects PSU ids shared by strata under nest=False and accepts them with nest=True."""
    spec = {"weights": "WTMEC2YR", "strata": "SDMVSTRA", "psu": "SDMVPSU"}
    with pytest.raises(DesignError, match="not nested") as info:
        SurveyDesign(nhanes, **spec)
    assert "nest=True" in info.value.hint
    design = SurveyDesign(nhanes, **spec, nest=True)
    assert (design.n_psus, design.n_strata, design.degf) == (31, 15, 16)


def test_degrees_of_freedom_follow_r(apistrat: pd.DataFrame, apiclus1: pd.DataFrame) -> None:
    """It counts PSUs minus strata, with each row its own PSU when psu=None."""
    assert SurveyDesign(apistrat, weights="pw", strata="stype").degf == 197
    assert SurveyDesign(apiclus1, weights="pw", psu="dnum").degf == 14
    assert SurveyDesign(apiclus1, weights="pw").degf == 182


def test_fpc_fraction_equals_population_count(apistrat: pd.DataFrame) -> None:
    """It gives the same SE with fpc as a population count or as a sampling fraction."""
    data = apistrat.copy()
    data["fraction"] = data.groupby("stype")["pw"].transform("size") / data["fpc"]
    by_count = estimate(SurveyDesign(data, weights="pw", strata="stype", fpc="fpc"), ["api00"])
    by_fraction = estimate(
        SurveyDesign(data, weights="pw", strata="stype", fpc="fraction"), ["api00"]
    )
    assert np.isclose(by_count["se"][0], by_fraction["se"][0], rtol=1e-12)
    no_fpc = estimate(SurveyDesign(data, weights="pw", strata="stype"), ["api00"])
    assert by_count["se"][0] < no_fpc["se"][0]


def test_rejects_inconsistent_fpc(apistrat: pd.DataFrame) -> None:
    """It rejects an fpc that varies within a stratum or is below the sampled PSU count."""
    data = apistrat.copy()
    data.loc[0, "fpc"] = data.loc[0, "fpc"] + 1
    with pytest.raises(DesignError, match="varies within a stratum") as info:
        SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    assert info.value.rows == [0]
    data["fpc"] = 10.0
    with pytest.raises(DesignError, match="smaller than the number of sampled PSUs"):
        SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")


def test_rejects_unknown_lonely_rule(apistrat: pd.DataFrame) -> None:
    """It rejects a lonely_psu value that R does not know."""
    with pytest.raises(ConfigError, match="lonely_psu"):
        SurveyDesign(apistrat, weights="pw", lonely_psu="collapse")  # type: ignore[arg-type]


def test_design_is_immutable(apiclus1: pd.DataFrame) -> None:
    """It keeps weights read-only, returns new designs and ignores later edits of the data."""
    data = apiclus1.copy()
    design = SurveyDesign(data, weights="pw", psu="dnum")
    with pytest.raises(ValueError, match="read-only"):
        design.weights[0] = 1.0
    raked = design.rake({"stype": {"E": 4421, "H": 755, "M": 1018}})
    assert raked is not design and not design.calibration and len(raked.calibration) == 1
    assert np.all(design.weights == apiclus1["pw"].to_numpy())
    data.loc[0, "api00"] = 10_000
    assert design.data.loc[0, "api00"] == apiclus1.loc[0, "api00"]


def test_with_weights_replaces_base_weights(apiclus1: pd.DataFrame) -> None:
    """It swaps in new base weights, drops the calibration history and checks the length."""
    raked = SurveyDesign(apiclus1, weights="pw", psu="dnum").rake(
        {"stype": {"E": 4421, "H": 755, "M": 1018}}
    )
    doubled = raked.with_weights(raked.weights * 2)
    assert not doubled.calibration
    assert np.allclose(doubled.weights, raked.weights * 2)
    with pytest.raises(DesignError, match="do not match"):
        raked.with_weights(raked.weights[:10])
    with pytest.raises(DesignError, match="positive and finite"):
        raked.with_weights(np.zeros(raked.n_rows))


def test_errors_are_perception_errors(apistrat: pd.DataFrame) -> None:
    """It renders expected, found and hint in every design error message."""
    with pytest.raises(PerceptionError) as info:
        SurveyDesign(apistrat.iloc[:0], weights="pw")
    text = str(info.value)
    assert "expected:" in text and "found:" in text and "hint:" in text
