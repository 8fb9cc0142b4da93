"""Indicator estimates on the weighted demo waves: schema, two routes, policies, planted truth."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from perception.codebook import harmonize_file
from perception.config import (
    Catalogue,
    IndicatorCatalogue,
    Project,
    load_indicators,
    load_project,
    load_targets,
    load_weighting_config,
)
from perception.contrasts import contrast
from perception.demo import PLANTED_EFFECTS, true_share
from perception.design import SurveyDesign
from perception.errors import ConfigError
from perception.estimation import estimate
from perception.indicators import (
    RELIABILITY_COLUMNS,
    compute_indicators,
    estimate_columns,
    index_reliability,
)
from perception.weighting.workflow import weight_wave

ROOT = Path(__file__).resolve().parents[1]
WAVES = ("w1", "w2", "w3")
DOMAINS = ("gender", "age_band", "youth", "region", "urban_rural")
# Table 1 as the contract (briefs/indicators_schema.md) writes it: column, dtype, in order.
CONTRACT = [
    ("survey", "str"),
    ("wave", "str"),
    ("indicator", "str"),
    ("variant", "str"),
    ("benchmark", "str"),
    ("type", "str"),
    ("unit", "str"),
    ("domain_set", "str"),
    *[(column, "Int64") for column in DOMAINS],
    ("estimate", "float64"),
    ("se", "float64"),
    ("ci_low", "float64"),
    ("ci_high", "float64"),
    ("df", "float64"),
    ("deff", "float64"),
    ("n", "Int64"),
    ("n_weighted", "float64"),
    ("n_eff", "float64"),
    ("dk_share", "float64"),
    ("n_refused", "Int64"),
    ("availability", "str"),
    ("n_a", "Int64"),
    ("n_b", "Int64"),
    ("p_value", "float64"),
    ("p_adjusted", "float64"),
]
VALUES = ["estimate", "se", "ci_low", "ci_high", "df", "deff", "n_weighted", "n_eff", "dk_share"]
# A small catalogue for the policies the default file does not exercise.
EXTRA_YAML = """
benchmarks:
  mission: {term: short, label: {en: Mission, fr: Mission}}
  inclusion: {term: medium, label: {en: Inclusion, fr: Inclusion}}
defaults:
  disaggregations: [national, gender, region]
  baseline_wave: w1
indicators:
  - id: protects
    label: {en: Mission protects, fr: La mission protège}
    benchmark: mission
    type: proportion
    items: [mission_protects]
    success: [3, 4]
    direction: higher
  - id: protects_gap
    label: {en: Gender gap, fr: Écart femmes-hommes}
    benchmark: mission
    type: gap
    of: protects
    by: gender
    a: 2
    b: 1
    direction: higher
  - id: mission_index
    label: {en: Mission index, fr: Indice mission}
    benchmark: mission
    type: index
    items: [trust_mission, mission_protects]
    direction: higher
  - id: included
    label: {en: Included, fr: Inclus}
    benchmark: inclusion
    type: proportion
    items: [incl_peace_process]
    success: [3, 4]
    direction: higher
  - id: youth_gap_by_age
    label: {en: Youth gap by age band, fr: Écart jeunes par âge}
    benchmark: inclusion
    type: gap
    of: included
    by: youth
    a: 1
    b: 2
    direction: higher
    disaggregations: [national, age_band]
"""


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def project() -> Project:
    """Load the demo survey with its catalogue and codebooks."""
    return load_project(ROOT / "config" / "survey.yaml", root=ROOT)


@pytest.fixture(scope="session")
def catalogue(project: Project) -> Catalogue:
    """Return the demo's variable catalogue."""
    return project.catalogue


@pytest.fixture(scope="session")
def designs(demo_raw: Path, project: Project) -> dict[str, SurveyDesign]:
    """Harmonize and weight (rake to the census, trim) the three demo waves."""
    raw = demo_raw
    config = load_weighting_config(ROOT / "config" / "weighting.yaml")
    targets = load_targets(ROOT / "config" / "targets" / "demo_census.yaml")
    out = {}
    for wave in project.survey.waves:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fallback-salt warning for a personal id
            df = harmonize_file(
                raw / wave.file, project.codebooks[wave.id], project.catalogue, survey="demo"
            )
        out[wave.id], _ = weight_wave(df, config, targets)
    return out


@pytest.fixture(scope="session")
def indicators(catalogue: Catalogue) -> IndicatorCatalogue:
    """Load the default indicator catalogue."""
    return load_indicators(ROOT / "config" / "indicators.yaml", catalogue, waves=WAVES)


@pytest.fixture(scope="session")
def extra(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> IndicatorCatalogue:
    """Load the small catalogue with a late item, its gap and index, and a degenerate gap."""
    path = tmp_path_factory.mktemp("config") / "indicators.yaml"
    path.write_text(EXTRA_YAML, encoding="utf-8")
    return load_indicators(path, catalogue)


@pytest.fixture(scope="session")
def tables(
    designs: dict[str, SurveyDesign], indicators: IndicatorCatalogue, catalogue: Catalogue
) -> dict[str, pd.DataFrame]:
    """Compute Table 1 for every demo wave."""
    return {
        wave: compute_indicators(design, indicators, catalogue, survey="demo", wave=wave)
        for wave, design in designs.items()
    }


def _codes(design: SurveyDesign, item: str) -> np.ndarray:
    """Return a harmonized item's codes as floats (NaN when missing)."""
    return design.data[item].astype("float64").to_numpy()


def _peace_success(design: SurveyDesign) -> np.ndarray:
    """Score incl_peace_process by hand: 1 for codes 3-4, 0 for 1-2, NaN otherwise."""
    code = _codes(design, "incl_peace_process")
    return np.where(np.isin(code, [3, 4]), 1.0, np.where(np.isin(code, [1, 2]), 0.0, np.nan))


def _row(table: pd.DataFrame, indicator: str, variant: str, **domain: int) -> pd.Series:
    """Return the one row of an indicator, variant and domain (national when none given)."""
    domain_set = "×".join(domain) if domain else "national"
    mask = (
        (table["indicator"] == indicator)
        & (table["variant"] == variant)
        & (table["domain_set"] == domain_set)
    )
    for column, code in domain.items():
        mask &= table[column] == code
    rows = table[mask]
    assert len(rows) == 1
    return rows.iloc[0]


# --------------------------------------------------------------------------- schema


def test_table_has_the_contract_schema(
    tables: dict[str, pd.DataFrame], indicators: IndicatorCatalogue, catalogue: Catalogue
) -> None:
    """It returns Table 1's columns, in order, with the contract's dtypes, for every wave."""
    assert list(estimate_columns(catalogue.domain_columns).items()) == CONTRACT
    for wave, table in tables.items():
        assert [(c, str(t)) for c, t in table.dtypes.items()] == CONTRACT
        assert set(table["wave"]) == {wave} and set(table["survey"]) == {"demo"}
        assert set(table["availability"]) <= {"estimated", "not_asked", "no_data"}
        assert set(table["variant"]) == {"all", "excl_dk"}
        assert table["indicator"].drop_duplicates().tolist() == [
            i.id for i in indicators.indicators
        ]
        for domain_set, rows in table.groupby("domain_set"):
            used = [] if domain_set == "national" else str(domain_set).split("×")
            for column in DOMAINS:
                assert rows[column].notna().all() == (column in used)
                assert rows[column].isna().all() == (column not in used)
        gaps = table["type"] == "gap"
        assert table.loc[~gaps, ["n_a", "n_b"]].isna().all().all()
        assert (table.loc[gaps, "unit"] == "percent").all()
        assert set(table.loc[table["type"] == "index", "unit"]) == {"score"}


def test_every_catalogue_domain_has_one_row(
    tables: dict[str, pd.DataFrame], indicators: IndicatorCatalogue, catalogue: Catalogue
) -> None:
    """It gives one row per catalogue code combination of each domain set, in each variant."""
    table = tables["w2"]
    sizes = {c: len(catalogue.codes(c)) for c in DOMAINS}
    for ind in indicators.indicators:
        rows = table[table["indicator"] == ind.id]
        for name in indicators.disaggregations(ind):
            columns = [] if name == "national" else name.split("×")
            if ind.type == "gap" and ind.by in columns:
                assert (rows["domain_set"] != name).all()
                continue
            want = int(np.prod([sizes[c] for c in columns])) * 2
            assert (rows["domain_set"] == name).sum() == want
        keys = rows[["variant", "domain_set", *DOMAINS]].astype(str)
        assert not keys.duplicated().any()


# --------------------------------------------------------------------------- two routes


def test_proportion_equals_estimate_on_a_hand_made_column(
    designs: dict[str, SurveyDesign], tables: dict[str, pd.DataFrame]
) -> None:
    """It gives estimate()'s numbers for a 0/1 column built by hand, in each variant."""
    design, table = designs["w1"], tables["w1"]
    code = _codes(design, "incl_peace_process")
    success = _peace_success(design)
    by_hand = {"all": np.where(code == 98, 0.0, success), "excl_dk": success}
    region = _codes(design, "region")
    hand = design.with_columns({**by_hand, "r": region})
    for variant in ("all", "excl_dk"):
        want = estimate(hand, [variant], "proportion", by=["r"], ci_method="logit")
        for _, expected in want.iterrows():
            got = _row(table, "incl_feel_included", variant, region=int(expected["r"]))
            for column in ["estimate", "se", "ci_low", "ci_high", "deff", "n_weighted", "n_eff"]:
                assert got[column] == pytest.approx(expected[column], rel=1e-10)
            assert got["df"] == expected["df"] and got["n"] == expected["n"]
    w = design.weights
    for r in (1, 5):
        inside = region == r
        dk = ((code == 98) & inside).astype(float)
        base = (np.isin(code, [1, 2, 3, 4, 98]) & inside).astype(float)
        got = _row(table, "incl_feel_included", "all", region=r)
        assert got["dk_share"] == pytest.approx((w * dk).sum() / (w * base).sum(), rel=1e-10)
        assert got["n_refused"] == int(((code == 99) & inside).sum())


def test_ci_method_of_an_indicator_sets_its_intervals(
    designs: dict[str, SurveyDesign],
    indicators: IndicatorCatalogue,
    catalogue: Catalogue,
    tables: dict[str, pd.DataFrame],
) -> None:
    """An indicator with ci_method: beta gets estimate()'s beta intervals; others keep logit."""
    entries = [
        i.model_copy(update={"ci_method": "beta"}) if i.id == "incl_feel_included" else i
        for i in indicators.indicators
    ]
    beta = indicators.model_copy(update={"indicators": entries})
    design = designs["w1"]
    table = compute_indicators(design, beta, catalogue, survey="demo", wave="w1")
    success = _peace_success(design)
    hand = design.with_columns({"excl_dk": success, "r": _codes(design, "region")})
    want = estimate(hand, ["excl_dk"], "proportion", by=["r"], ci_method="beta")
    for _, expected in want.iterrows():
        got = _row(table, "incl_feel_included", "excl_dk", region=int(expected["r"]))
        logit = _row(tables["w1"], "incl_feel_included", "excl_dk", region=int(expected["r"]))
        assert got["ci_low"] == pytest.approx(expected["ci_low"], rel=1e-10)
        assert got["ci_high"] == pytest.approx(expected["ci_high"], rel=1e-10)
        assert got["ci_low"] != pytest.approx(logit["ci_low"], rel=1e-6)
    other = ["indicator", "variant", "estimate", "ci_low", "ci_high"]
    kept = table["indicator"].ne("incl_feel_included")
    pd.testing.assert_frame_equal(
        table.loc[kept, other].reset_index(drop=True),
        tables["w1"].loc[kept, other].reset_index(drop=True),
    )


def test_two_item_proportion_counts_any_success(
    designs: dict[str, SurveyDesign], tables: dict[str, pd.DataFrame]
) -> None:
    """It counts a success on either item, and a failure only when both are answered no."""
    design, table = designs["w3"], tables["w3"]
    first, second = _codes(design, "consulted_12m"), _codes(design, "dialogue_attended_12m")
    yes = (first == 1) | (second == 1)
    no = np.isin(first, [0]) & np.isin(second, [0])
    dont_know = ~yes & ~no & ((first == 98) | (second == 98))
    excl = np.where(yes, 1.0, np.where(no, 0.0, np.nan))
    hand = design.with_columns({"all": np.where(dont_know, 0.0, excl), "excl": excl})
    for variant, column in (("all", "all"), ("excl_dk", "excl")):
        want = estimate(hand, [column], "proportion").iloc[0]
        got = _row(table, "participation_12m", variant)
        assert got["estimate"] == pytest.approx(want["estimate"], rel=1e-10)
        assert got["se"] == pytest.approx(want["se"], rel=1e-10)
        assert got["n"] == want["n"]
    refused = ~yes & ~no & ~dont_know & ((first == 99) | (second == 99))
    assert _row(table, "participation_12m", "all")["n_refused"] == int(refused.sum())


def test_gap_equals_the_difference_and_contrast(
    designs: dict[str, SurveyDesign], tables: dict[str, pd.DataFrame]
) -> None:
    """It gives women − men from the domain rows, with contrast()'s SE, nationally and by region."""
    design, table = designs["w2"], tables["w2"]
    success = _peace_success(design)
    hand = design.with_columns(
        {"y": success, "g": _codes(design, "gender"), "r": _codes(design, "region")}
    )
    gap = _row(table, "incl_gender_gap", "excl_dk")
    women = _row(table, "incl_feel_included", "excl_dk", gender=2)
    men = _row(table, "incl_feel_included", "excl_dk", gender=1)
    assert gap["estimate"] == pytest.approx(women["estimate"] - men["estimate"], rel=1e-12)
    assert (gap["n_a"], gap["n_b"], gap["n"]) == (women["n"], men["n"], min(women["n"], men["n"]))
    one = contrast(hand, "y", ["g"], 2.0, 1.0, stat="proportion")
    assert gap["se"] == pytest.approx(one.se, rel=1e-10)
    assert (gap["ci_low"], gap["ci_high"]) == pytest.approx((one.ci_low, one.ci_high), rel=1e-10)
    assert gap["df"] == one.df
    assert gap["p_value"] == pytest.approx(one.p_value, rel=1e-8)
    naive = np.hypot(women["se"], men["se"])
    assert gap["se"] != pytest.approx(naive, rel=1e-3)
    for r in (2, 7):
        within = _row(table, "incl_gender_gap", "excl_dk", region=r)
        women = _row(table, "incl_feel_included", "excl_dk", gender=2, region=r)
        men = _row(table, "incl_feel_included", "excl_dk", gender=1, region=r)
        assert within["estimate"] == pytest.approx(women["estimate"] - men["estimate"], rel=1e-12)
        one = contrast(hand, "y", ["r", "g"], (float(r), 2.0), (float(r), 1.0), "proportion")
        assert within["se"] == pytest.approx(one.se, rel=1e-10)


def test_gap_p_values_are_adjusted_together_and_only_on_gaps(
    tables: dict[str, pd.DataFrame],
) -> None:
    """It adjusts every gap p-value of a wave and variant together (BH), and leaves others NA."""
    table = tables["w2"]
    gaps = table["type"].eq("gap") & table["availability"].eq("estimated")
    assert table.loc[~gaps, ["p_value", "p_adjusted"]].isna().all(axis=None)
    for _, group in table[gaps].groupby("variant"):
        expected = multipletests(group["p_value"], method="fdr_bh")[1]
        np.testing.assert_allclose(group["p_adjusted"], expected, rtol=1e-12)
        assert (group["p_adjusted"] >= group["p_value"]).all() and len(group) > 10


# --------------------------------------------------------------------------- policies


def test_item_not_asked_gives_not_asked_never_zero(
    designs: dict[str, SurveyDesign],
    tables: dict[str, pd.DataFrame],
    extra: IndicatorCatalogue,
    catalogue: Catalogue,
) -> None:
    """It marks an item the wave lacks (and its gap and index) "not_asked" with NA values."""
    rows = tables["w1"][tables["w1"]["indicator"] == "mission_protects"]
    assert len(rows) > 0 and (rows["availability"] == "not_asked").all()
    assert rows[[*VALUES, "n", "n_refused"]].isna().all().all()
    later = tables["w2"][tables["w2"]["indicator"] == "mission_protects"]
    assert (later["availability"] == "estimated").all()
    first = compute_indicators(designs["w1"], extra, catalogue, survey="demo", wave="w1")
    second = compute_indicators(designs["w2"], extra, catalogue, survey="demo", wave="w2")
    for ind in ("protects", "protects_gap", "mission_index"):
        assert (first.loc[first["indicator"] == ind, "availability"] == "not_asked").all()
        assert first.loc[first["indicator"] == ind, ["estimate", "n", "n_a"]].isna().all().all()
        assert (second.loc[second["indicator"] == ind, "availability"] == "estimated").all()
    alpha = index_reliability(designs["w1"], extra, catalogue, survey="demo", wave="w1")
    assert alpha["n"].tolist() == [0] and alpha["alpha"].isna().all()


def test_dont_know_policy_and_base_sizes(
    designs: dict[str, SurveyDesign], tables: dict[str, pd.DataFrame]
) -> None:
    """It keeps DK as a non-success in "all", drops it in "excl_dk"; means and indices agree."""
    design, table = designs["w3"], tables["w3"]
    estimated = table[table["availability"] == "estimated"]
    both = estimated[estimated["variant"] == "all"].merge(
        estimated[estimated["variant"] == "excl_dk"],
        on=["indicator", "domain_set", *DOMAINS],
        suffixes=("", "_excl"),
    )
    counted = both[both["type"].isin(["proportion", "net"])]
    assert len(counted) > 500
    np.testing.assert_allclose(
        counted["estimate"], counted["estimate_excl"] * (1 - counted["dk_share"]), atol=1e-12
    )
    proportions = counted[counted["type"] == "proportion"]
    assert (proportions["estimate"] <= proportions["estimate_excl"] + 1e-15).all()
    assert (counted["n"] >= counted["n_excl"]).all()
    scored = both[both["type"].isin(["mean", "index"])]
    assert len(scored) > 50
    pd.testing.assert_series_equal(scored["estimate"], scored["estimate_excl"], check_names=False)
    pd.testing.assert_series_equal(scored["n"], scored["n_excl"], check_names=False)
    code = _codes(design, "repr_minorities")
    all_rows = _row(table, "repr_minorities", "all")
    excl_rows = _row(table, "repr_minorities", "excl_dk")
    assert all_rows["n"] - excl_rows["n"] == int((code == 98).sum())
    assert all_rows["n"] == int(np.isin(code, [1, 2, 3, 4, 98]).sum())
    assert all_rows["n_refused"] == excl_rows["n_refused"] == int((code == 99).sum())


def test_index_value_and_alpha_by_hand(
    designs: dict[str, SurveyDesign],
    tables: dict[str, pd.DataFrame],
    indicators: IndicatorCatalogue,
    catalogue: Catalogue,
) -> None:
    """It averages the answered items rescaled to 0..100, and reports alpha by the formula."""
    design = designs["w2"]
    items = list(indicators.indicator("inclusion_index").items or [])
    scaled = []
    for item in items:
        code = _codes(design, item)
        top = max(catalogue.codes(item))
        scaled.append(np.where(code < 98, 100 * (code - 1) / (top - 1), np.nan))
    matrix = np.column_stack(scaled)
    answered = (~np.isnan(matrix)).sum(axis=1)
    person = np.where(answered > 0, np.nansum(matrix, axis=1) / np.maximum(answered, 1), np.nan)
    w = design.weights
    has = ~np.isnan(person)
    got = _row(tables["w2"], "inclusion_index", "all")
    assert got["estimate"] == pytest.approx((w[has] * person[has]).sum() / w[has].sum(), rel=1e-12)
    assert got["n"] == int(has.sum())
    complete = ~np.isnan(matrix).any(axis=1)
    cov = np.cov(matrix[complete], rowvar=False, aweights=w[complete], ddof=0)
    k = len(items)
    alpha = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
    table = index_reliability(design, indicators, catalogue, survey="demo", wave="w2")
    assert [(c, str(t)) for c, t in table.dtypes.items()] == list(RELIABILITY_COLUMNS.items())
    row = table[table["indicator"] == "inclusion_index"].iloc[0]
    assert row["alpha"] == pytest.approx(alpha, rel=1e-10)
    assert (row["n_items"], row["n"]) == (k, int(complete.sum()))
    assert set(table["indicator"]) == {"inclusion_index", "trust_state_index"}


def test_domain_without_respondents_gives_no_data(
    designs: dict[str, SurveyDesign],
    tables: dict[str, pd.DataFrame],
    indicators: IndicatorCatalogue,
    extra: IndicatorCatalogue,
    catalogue: Catalogue,
) -> None:
    """It keeps a row with n 0 and NA values for a domain with nobody, and for a one-sided gap."""
    design = designs["w1"]
    region = _codes(design, "region")
    emptied = design.with_columns({"region": np.where(region == 8, np.nan, region)})
    table = compute_indicators(emptied, indicators, catalogue, survey="demo", wave="w1")
    rows = table[(table["domain_set"] == "region") & (table["region"] == 8)]
    rows = rows[rows["indicator"] != "mission_protects"]  # not asked in wave 1
    assert len(rows) > 0 and (rows["availability"] == "no_data").all()
    assert (rows["n"] == 0).all() and rows[VALUES].isna().all().all()
    plain = rows[rows["type"] != "gap"]
    assert (plain["n_refused"] == 0).all()
    national = _row(table, "incl_feel_included", "all")
    assert national["n"] == _row(tables["w1"], "incl_feel_included", "all")["n"]
    gaps = compute_indicators(design, extra, catalogue, survey="demo", wave="w1")
    by_age = gaps[(gaps["indicator"] == "youth_gap_by_age") & (gaps["domain_set"] == "age_band")]
    young_only = by_age[by_age["age_band"].isin([1, 2])]
    assert (young_only["availability"] == "no_data").all() and (young_only["n_b"] == 0).all()
    assert (by_age[by_age["age_band"] == 5]["availability"] == "no_data").all()
    assert (by_age[by_age["age_band"] == 3]["availability"] == "estimated").all()


def test_disaggregation_by_a_variable_the_wave_lacks(
    designs: dict[str, SurveyDesign], indicators: IndicatorCatalogue, catalogue: Catalogue
) -> None:
    """It stops with a ConfigError naming the indicator file, the variable and the wave."""
    design = designs["w2"]
    lacking = design.with_columns({"urban_rural": np.full(design.n_rows, np.nan)})
    with pytest.raises(ConfigError) as info:
        compute_indicators(lacking, indicators, catalogue, survey="demo", wave="w2")
    error = info.value
    assert error.column == "urban_rural"
    assert error.file == str(indicators.path)
    assert "wave w2 lacks" in str(error) and "'incl_feel_included'" in str(error)


# --------------------------------------------------------------------------- planted truth


def test_inclusion_estimates_cover_the_planted_truth(tables: dict[str, pd.DataFrame]) -> None:
    """Its weighted inclusion estimates hold the census truth in their 95% CI (~95% of checks)."""
    planted = {
        "incl_feel_included": "incl_peace_process",
        "incl_views_considered": "incl_views_considered",
        "voice_system_say": "voice_system_say",
    }
    domains = [{}, *({"gender": g} for g in (1, 2)), *({"youth": y} for y in (1, 2))]
    domains += [{"region": r} for r in range(1, 9)]
    covered, z = [], []
    for wave, table in tables.items():
        for indicator, item in planted.items():
            for domain in domains:
                row = _row(table, indicator, "excl_dk", **domain)
                truth = true_share(item, wave, **domain)
                covered.append(row["ci_low"] <= truth <= row["ci_high"])
                z.append((row["estimate"] - truth) / row["se"])
    assert len(covered) == 117
    assert np.mean(covered) >= 0.90
    assert np.max(np.abs(z)) < 4.0
    assert abs(np.mean(z)) < 0.5


def test_gender_gap_finds_the_planted_narrowing(tables: dict[str, pd.DataFrame]) -> None:
    """It recovers the planted women − men gap in each wave and its narrowing since wave 1."""
    gaps = {wave: _row(table, "incl_gender_gap", "excl_dk") for wave, table in tables.items()}
    for number, (wave, gap) in enumerate(gaps.items()):
        truth = true_share("incl_peace_process", wave, gender=2) - true_share(
            "incl_peace_process", wave, gender=1
        )
        assert truth == pytest.approx(PLANTED_EFFECTS.gender_gap[number], abs=0.005)
        assert abs(gap["estimate"] - truth) < 3 * gap["se"]
    assert gaps["w1"]["ci_high"] < 0 and gaps["w2"]["ci_high"] < 0
    change = gaps["w3"]["estimate"] - gaps["w1"]["estimate"]
    assert change / np.hypot(gaps["w3"]["se"], gaps["w1"]["se"]) > 3
    for wave, table in tables.items():
        youth = _row(table, "incl_youth_gap", "excl_dk")
        truth = true_share("incl_peace_process", wave, youth=1) - true_share(
            "incl_peace_process", wave, youth=2
        )
        assert abs(youth["estimate"] - truth) < 3 * youth["se"] and youth["ci_high"] < 0
