"""The whole weighting run on a synthetic stratified cluster sample, and against R's survey."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from perception.config import PopulationTargets, WeightingConfig
from perception.design import SurveyDesign
from perception.errors import CalibrationError, ConfigError, DesignError
from perception.estimation import estimate
from perception.weighting import (
    MISSING_LABEL,
    REPORT_COLUMNS,
    WeightingWarning,
    effective_sample_size,
    kish_deff,
)
from perception.weighting.workflow import weight_wave

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
R_WEIGHTS_RTOL = 1e-6
"""Tolerance of the R golden weights (shared/reference/README.md, "Tolerance")."""

MARGINS = ("gender", "age_band", "region", "urban_rural")


def _census() -> PopulationTargets:
    """Return census targets: gender × age band × region, and region × urban/rural."""
    rng = np.random.default_rng(11)
    rows = [
        [g, a, r, int(rng.integers(20_000, 60_000))]
        for g in (1, 2)
        for a in range(1, 6)
        for r in range(1, 5)
    ]
    regions = {r: sum(x[3] for x in rows if x[2] == r) for r in range(1, 5)}
    urban = [
        [r, u, round(regions[r] * (0.35 if u == 1 else 0.65))] for r in regions for u in (1, 2)
    ]
    for row in urban[1::2]:  # rural = region total - urban, so the tables agree exactly
        row[2] = regions[row[0]] - round(regions[row[0]] * 0.35)
    return PopulationTargets.model_validate(
        {
            "survey": "test",
            "source": "synthetic census",
            "reference_date": "2025-07-01",
            "tables": [
                {"name": "sar", "dimensions": ["gender", "age_band", "region"], "rows": rows},
                {"name": "ru", "dimensions": ["region", "urban_rural"], "rows": urban},
            ],
        }
    )


def _sample(seed: int = 5, skew: float = 0.6, balanced: bool = False) -> pd.DataFrame:
    """Return a stratified (by region) two-stage sample with unequal, skewed base weights.

    Women, older people and urban PSUs are over-represented unless ``balanced``.
    """
    rng = np.random.default_rng(seed)
    p_gender = [0.5, 0.5] if balanced else [0.4, 0.6]
    p_age = [0.2] * 5 if balanced else [0.1, 0.15, 0.25, 0.25, 0.25]
    p_urban = 0.35 if balanced else 0.5
    frames = []
    for region in range(1, 5):
        for psu in range(1, 9):
            n = int(rng.integers(20, 40))
            frames.append(
                pd.DataFrame(
                    {
                        "stratum": f"R{region}",
                        "psu": psu,  # numbered within stratum: needs nest=True
                        "region": region,
                        "urban_rural": 1 if rng.random() < p_urban else 2,
                        "gender": rng.choice([1, 2], n, p=p_gender),
                        "age_band": rng.choice(range(1, 6), n, p=p_age),
                        "base_weight": rng.lognormal(7.3, skew) * rng.lognormal(0, skew, n),
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    out["gender"] = out["gender"].astype("Int64")
    return out


def _config(**changes: Any) -> WeightingConfig:
    """Return weighting settings like the demo's, with some keys changed."""
    content: dict[str, Any] = {
        "design": {"strata": "stratum", "psu": "psu", "nest": True},
        "base_weight": {"column": "base_weight"},
        "calibration": {"method": "rake", "margins": list(MARGINS), "tolerance": 1e-8},
        "trimming": {
            "cap": {"median_multiple": 5},
            "cap_tolerance": 1e-3,
            "margin_tolerance": 1e-7,
        },
        "domains": [*MARGINS, ["gender", "age_band"]],
    }
    content.update(changes)
    return WeightingConfig.model_validate(content)


def _totals(data: pd.DataFrame, weights: np.ndarray, column: str) -> dict[int, float]:
    """Return weighted totals of a column by code, computed with a plain groupby."""
    return pd.Series(weights).groupby(data[column].to_numpy()).sum().to_dict()


def test_raked_and_trimmed_weights_reproduce_every_margin_and_meet_the_cap() -> None:
    """It ends with census margins reproduced and max weight within the cap tolerance."""
    data, census = _sample(), _census()
    design, report = weight_wave(data, _config(), census)
    w = design.weights
    for margin in MARGINS:
        achieved = _totals(data, w, margin)
        for code, target in census.margin(margin).items():
            assert achieved[code] == pytest.approx(target, rel=1e-7)
    overall = report.iloc[0]
    assert overall["trim_rounds"] >= 1  # the skewed sample needed trimming
    assert w.max() <= overall["cap"] * (1 + 1e-3)
    assert overall["n_trimmed"] > 0
    assert design.calibration  # calibration-aware variance downstream


def test_trimmed_design_keeps_calibration_aware_variance() -> None:
    """It returns a design on which a raked margin's total is estimated exactly, with SE 0."""
    data, census = _sample(), _census()
    data["woman"] = (data["gender"] == 2).astype(float)
    design, _ = weight_wave(data, _config(), census)
    table = estimate(design, ["woman"], stat="total")
    assert table["estimate"].iloc[0] == pytest.approx(census.margin("gender")[2], rel=1e-7)
    assert table["se"].iloc[0] < 1e-6 * census.margin("gender")[2]


def test_cap_is_five_times_the_median_of_the_raked_weights() -> None:
    """It resolves the cap on the raked weights before trimming (checked by raking without it)."""
    data, census = _sample(), _census()
    untrimmed, _ = weight_wave(data, _config(trimming=None), census)
    _, report = weight_wave(data, _config(), census)
    assert report["cap"].iloc[0] == pytest.approx(5 * np.median(untrimmed.weights))


def test_report_agrees_with_the_final_weights() -> None:
    """It reports Kish deff, n_eff, sums and margin errors that recompute from the weights."""
    data, census = _sample(), _census()
    design, report = weight_wave(data, _config(), census)
    w = design.weights
    assert tuple(report.columns) == REPORT_COLUMNS
    overall = report.iloc[0]
    assert overall["n"] == len(data)
    assert overall["sum_weights"] == pytest.approx(census.grand_total)
    assert overall["deff_kish"] == pytest.approx(kish_deff(w))
    assert overall["max_min_ratio"] == pytest.approx(w.max() / w.min())
    assert overall["margin_error_rel"] <= 1e-7
    assert bool(overall["converged"])
    rows = report.set_index(["domain", "level"])
    for code in (1, 2):
        members = (data["gender"] == code).to_numpy()
        row = rows.loc[("gender", str(code))]
        assert row["n_eff"] == pytest.approx(effective_sample_size(w[members]))
        assert row["target"] == census.margin("gender")[code]
    crossed = rows.loc["gender:age_band"]
    assert len(crossed) == 10
    assert crossed["sum_weights"].sum() == pytest.approx(census.grand_total)


def test_workflow_rake_equals_the_design_api_on_the_original_columns() -> None:
    """It gives the same weights as SurveyDesign.rake called directly with census margins."""
    data, census = _sample(), _census()
    design, _ = weight_wave(data, _config(trimming=None), census)
    direct = SurveyDesign(data, "base_weight", "stratum", "psu", nest=True).rake(
        census.raking_margins(MARGINS), tol=1e-8
    )
    np.testing.assert_allclose(design.weights, direct.weights, rtol=1e-12)


def test_crossed_margin_is_raked_as_joint_cells() -> None:
    """It rakes a crossed margin gender:age_band so that every joint cell total is met."""
    data, census = _sample(), _census()
    config = _config(
        calibration={"margins": [["gender", "age_band"], "region"], "tolerance": 1e-8},
        trimming=None,
    )
    design, _ = weight_wave(data, config, census)
    achieved = pd.Series(design.weights).groupby([data["gender"], data["age_band"]]).sum()
    for cell, target in census.margin(["gender", "age_band"]).items():
        assert achieved[cell] == pytest.approx(target, rel=1e-7)


def test_poststratification_and_linear_calibration_meet_their_targets() -> None:
    """It post-stratifies on joint cells, and calibrates linearly to the four margins."""
    data, census = _sample(), _census()
    post = _config(calibration={"method": "poststratify", "margins": [["gender", "region"]]})
    design, _ = weight_wave(data, post, census)
    achieved = pd.Series(design.weights).groupby([data["gender"], data["region"]]).sum()
    for cell, target in census.margin(["gender", "region"]).items():
        assert achieved[cell] == pytest.approx(target, rel=1e-7)
    mild = _sample(skew=0.2, balanced=True)  # GREG weights turn negative on skewed samples
    linear = _config(calibration={"method": "linear", "margins": list(MARGINS)})
    design, _ = weight_wave(mild, linear, census)
    for margin in MARGINS:
        for code, target in census.margin(margin).items():
            assert _totals(mild, design.weights, margin)[code] == pytest.approx(target, rel=1e-7)


def test_nonresponse_then_rake_keeps_respondents_only() -> None:
    """It adjusts for nonresponse, drops nonrespondents, and rakes the respondents."""
    data, census = _sample(), _census()
    rng = np.random.default_rng(2)
    data["responded"] = (rng.random(len(data)) < 0.7).astype(int)
    config = _config(
        nonresponse={"classes": ["region", "urban_rural"], "response_column": "responded"},
        trimming=None,
    )
    design, report = weight_wave(data, config, census)
    respondents = data[data["responded"] == 1].reset_index(drop=True)
    assert design.n_rows == len(respondents)
    assert report.iloc[0]["n"] == len(respondents)
    for code, target in census.margin("region").items():
        assert _totals(respondents, design.weights, "region")[code] == pytest.approx(target)


def test_missing_weighting_variable_is_an_error_naming_column_and_rows() -> None:
    """It stops on a missing gender (default policy), naming the column and the file rows."""
    data = _sample()
    data.loc[[4, 17], "gender"] = pd.NA
    with pytest.raises(CalibrationError) as info:
        weight_wave(data, _config(), _census())
    assert info.value.column == "gender"
    assert info.value.rows == [4, 17]


def test_missing_row_positions_refer_to_the_input_file_after_nonresponse() -> None:
    """It reports rows of the input table, not of the respondent subset."""
    data = _sample()
    data["responded"] = 1
    data.loc[:9, "responded"] = 0
    data.loc[[3, 12], "gender"] = pd.NA  # row 3 is a nonrespondent: only row 12 matters
    config = _config(nonresponse={"classes": ["region"], "response_column": "responded"})
    with pytest.raises(CalibrationError) as info:
        weight_wave(data, config, _census())
    assert info.value.rows == [12]


def test_refused_code_counts_as_missing_when_listed() -> None:
    """It treats a listed special code (99 refused) as missing in a weighting variable."""
    data = _sample()
    data.loc[6, "gender"] = 99
    with pytest.raises(CalibrationError) as info:
        weight_wave(data, _config(missing_codes=[98, 99]), _census())
    assert info.value.rows == [6]


def test_code_without_target_is_an_error() -> None:
    """It stops on a respondent code that the census does not have."""
    data = _sample()
    data.loc[8, "age_band"] = 7
    with pytest.raises(CalibrationError) as info:
        weight_wave(data, _config(), _census())
    assert info.value.rows == [8]
    assert "7" in info.value.found


def test_separate_category_keeps_missing_share_and_scales_known_categories() -> None:
    """It calibrates <missing> to its pre-calibration share and the rest to the census mix."""
    data, census = _sample(), _census()
    missing = np.zeros(len(data), dtype=bool)
    missing[::25] = True
    data.loc[missing, "gender"] = pd.NA
    share = data["base_weight"][missing].sum() / data["base_weight"].sum()
    config = _config(missing_policy="separate_category", trimming=None)
    with pytest.warns(WeightingWarning, match="missing gender"):
        design, report = weight_wave(data, config, census)
    w = design.weights
    total = census.grand_total
    assert w[missing].sum() == pytest.approx(share * total, rel=1e-7)
    for code, target in census.margin("gender").items():
        known = (data["gender"] == code).fillna(False).to_numpy()
        assert w[known].sum() == pytest.approx(target * (1 - share), rel=1e-7)
    rows = report.set_index(["domain", "level"])
    assert rows.loc[("gender", MISSING_LABEL), "target"] == pytest.approx(share * total)


def test_separate_category_in_a_crossed_margin_with_trimming() -> None:
    """It puts a unit with any part of a crossed cell missing in one <missing> cell, and trims."""
    data, census = _sample(), _census()
    missing = np.zeros(len(data), dtype=bool)
    missing[3::40] = True
    data.loc[missing, "age_band"] = 98  # don't know, listed in missing_codes
    config = _config(
        calibration={"margins": [["gender", "age_band"], "region"], "tolerance": 1e-8},
        missing_policy="separate_category",
        missing_codes=[98, 99],
    )
    with pytest.warns(WeightingWarning, match="missing gender:age_band"):
        design, report = weight_wave(data, config, census)
    rows = report.set_index(["domain", "level"])
    assert rows.loc[("gender:age_band", MISSING_LABEL), "n"] == missing.sum()
    assert report.iloc[0]["margin_error_rel"] <= 1e-7
    assert design.weights.max() <= report.iloc[0]["cap"] * (1 + 1e-3)


def test_domain_absent_from_the_data_is_a_config_error() -> None:
    """It names a diagnostics domain that the data do not have."""
    with pytest.raises(ConfigError) as info:
        weight_wave(_sample(), _config(domains=["displacement"]), _census())
    assert info.value.column == "displacement"


def test_base_weights_from_stage_probabilities() -> None:
    """It builds base weights as 1 / (p1 · p2) and rakes them."""
    data, census = _sample(), _census()
    data["p1"] = 0.1
    data["p2"] = 1 / (10 * data["base_weight"])  # so that 1/(p1 p2) = 100 · base_weight
    config = _config(base_weight={"stage_probabilities": ["p1", "p2"]}, trimming=None)
    from_probabilities, _ = weight_wave(data, config, census)
    from_column, _ = weight_wave(data, _config(trimming=None), census)
    np.testing.assert_allclose(from_probabilities.weights, from_column.weights, rtol=1e-7)


def test_bad_base_weight_is_a_design_error() -> None:
    """It refuses a zero base weight before any calibration."""
    data = _sample()
    data.loc[2, "base_weight"] = 0.0
    with pytest.raises(DesignError) as info:
        weight_wave(data, _config(), _census())
    assert info.value.rows == [2]


def test_impossible_cap_reports_achieved_errors() -> None:
    """It raises a CalibrationError with the achieved cap excess when the cap cannot hold."""
    data, census = _sample(), _census()
    data = data[~((data["gender"] == 1) & (data["age_band"] == 1))].reset_index(drop=True)
    data.loc[0, ["gender", "age_band"]] = [1, 1]  # one young man must carry his whole cell
    config = _config(
        calibration={"margins": [["gender", "age_band"]], "tolerance": 1e-8},
        trimming={"cap": {"median_multiple": 5}, "max_rounds": 5},
    )
    with pytest.raises(CalibrationError) as info:
        weight_wave(data, config, census)
    assert "cap excess" in info.value.found


def _api(column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return apiclus1 with integer codes for stype and sch.wide, and R's weights."""
    if not SHARED.is_dir():
        pytest.skip("../shared/reference (R golden numbers) is not next to the repository")
    data = pd.read_csv(SHARED / "apiclus1.csv", dtype={"cds": str})
    data["stype_code"] = data["stype"].map({"E": 1, "H": 2, "M": 3})
    data["sch_wide"] = data["sch.wide"].map({"No": 1, "Yes": 2})
    expected = pd.read_csv(SHARED / "apiclus1_raked_weights.csv", dtype={"cds": str})
    return data, expected[[column]]


def _api_targets() -> PopulationTargets:
    """Return apipop's stype × sch.wide counts (E/H/M = 1/2/3, No/Yes = 1/2)."""
    pop = pd.read_csv(SHARED / "apipop.csv", usecols=["stype", "sch.wide"])
    counts = pop.groupby(["stype", "sch.wide"]).size()
    codes = {"E": 1, "H": 2, "M": 3, "No": 1, "Yes": 2}
    rows = [[codes[s], codes[w], int(n)] for (s, w), n in counts.items()]
    return PopulationTargets.model_validate(
        {
            "survey": "api",
            "source": "apipop (R survey package)",
            "reference_date": "2000-01-01",
            "tables": [
                {"name": "stype_schwide", "dimensions": ["stype_code", "sch_wide"], "rows": rows}
            ],
        }
    )


def _api_config(method: str, margins: list[Any]) -> WeightingConfig:
    """Return settings for R's dclus1 design: PSU dnum, fpc, no strata, no trimming."""
    return WeightingConfig.model_validate(
        {
            "design": {"strata": None, "psu": "dnum", "fpc": "fpc"},
            "base_weight": {"column": "pw"},
            "calibration": {"method": method, "margins": margins, "tolerance": 1e-12},
        }
    )


def test_rake_matches_r_calibrate_raking_on_apiclus1() -> None:
    """It reproduces R's calibrate(dclus1, ~stype + sch.wide, calfun="raking") weights."""
    data, expected = _api("weight_calibrate_raking")
    config = _api_config("rake", ["stype_code", "sch_wide"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        design, _ = weight_wave(data, config, _api_targets())
    np.testing.assert_allclose(
        design.weights, expected["weight_calibrate_raking"], rtol=R_WEIGHTS_RTOL
    )


def test_poststratify_matches_r_poststratify_on_apiclus1() -> None:
    """It reproduces R's postStratify(dclus1, ~stype, pop.types) weights."""
    data, expected = _api("weight_poststratify_stype")
    design, _ = weight_wave(data, _api_config("poststratify", ["stype_code"]), _api_targets())
    np.testing.assert_allclose(
        design.weights, expected["weight_poststratify_stype"], rtol=R_WEIGHTS_RTOL
    )
