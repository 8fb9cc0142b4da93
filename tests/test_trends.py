"""Indicator trends: wave differences, Benjamini-Hochberg families, verdicts, the demo's effects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from demo_project import DemoRun
from statsmodels.stats.multitest import multipletests

from perception.config import IndicatorCatalogue, load_indicators, load_project
from perception.contrasts import wave_difference
from perception.demo import PLANTED_EFFECTS
from perception.errors import ConfigError, ValidationError
from perception.status import indicator_status
from perception.tables import ESTIMATES_TABLE
from perception.trends import KEY_COLUMNS, indicator_trends, trend_columns

ROOT = Path(__file__).resolve().parents[1]
WAVES = ("w1", "w2", "w3")
#: The demo survey's domain columns (config/variables.yaml `domains:`).
DOMAINS = ("gender", "age_band", "youth", "region", "urban_rural")
#: Table 1's columns and dtypes, without the p-values (perception.tables).
TABLE1 = {
    column: dtype
    for column, dtype in ESTIMATES_TABLE.dtypes(DOMAINS, published=False).items()
    if column not in ("p_value", "p_adjusted")
}
VALUES = [column for column, dtype in TABLE1.items() if dtype == "float64"]


def table1(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a Table 1 (contract columns and dtypes) from rows giving what differs from defaults."""
    defaults: dict[str, Any] = {
        "survey": "demo",
        "variant": "all",
        "benchmark": "inclusion",
        "type": "proportion",
        "unit": "percent",
        "domain_set": "national",
        "df": 40.0,
        "deff": 1.5,
        "n": 500,
        "n_weighted": 1e5,
        "n_eff": 330.0,
        "dk_share": 0.05,
        "n_refused": 3,
        "availability": "estimated",
    }
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    for column in TABLE1:
        if column not in frame:
            frame[column] = pd.NA
    if "ci_low" not in frame or frame["ci_low"].isna().all():
        frame["ci_low"] = frame["estimate"] - 1.96 * frame["se"]
        frame["ci_high"] = frame["estimate"] + 1.96 * frame["se"]
    frame = frame.astype(TABLE1)
    absent = frame["availability"].ne("estimated")
    frame.loc[absent, VALUES] = np.nan
    return frame[list(TABLE1)]


def _national(values: Mapping[tuple[str, str], tuple[float, float]], **extra: Any) -> pd.DataFrame:
    """Build national rows from {(indicator, wave): (estimate, se)}."""
    return table1(
        [
            {"indicator": i, "wave": w, "estimate": e, "se": s, **extra}
            for (i, w), (e, s) in values.items()
        ]
    )


def _by_hand_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg step-up adjustment written out: min over j ≥ i of p_(j)·m/j."""
    m = p.size
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1].clip(max=1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out


# --------------------------------------------------------------------------- constructed tables


def test_output_has_the_contract_columns_and_dtypes() -> None:
    """It returns Table 2's columns in order, with str, Int64, float64 and bool dtypes."""
    trends = indicator_trends(
        _national({("a", "w1"): (0.4, 0.02), ("a", "w2"): (0.5, 0.02)}),
        domains=DOMAINS,
        waves=WAVES[:2],
        directions={"a": "higher"},
    )
    assert tuple(trends.columns) == trend_columns(DOMAINS)
    assert len(trends) == 2
    for column in trend_columns(DOMAINS):
        dtype = str(trends[column].dtype)
        if column in DOMAINS or column in ("n", "n_a", "n_b"):
            assert dtype == "Int64", column
        elif column == "significant":
            assert dtype == "bool"
        elif column in ("estimate", "se", "ci_low", "ci_high", "df", "p_value", "p_adjusted"):
            assert dtype == "float64", column
        else:
            assert dtype == "str", column


def test_previous_and_baseline_pair_the_right_waves() -> None:
    """It compares each wave with the one before and every later wave with the baseline."""
    values = {("a", w): (0.40 + 0.03 * k, 0.02) for k, w in enumerate(WAVES)}
    table = _national(values).assign(n=pd.array([300, 500, 400], dtype="Int64"))
    trends = indicator_trends(table, domains=DOMAINS, waves=WAVES, directions={"a": "higher"})
    pairs = list(zip(trends["comparison"], trends["wave"], trends["reference_wave"], strict=True))
    assert pairs == [
        ("previous", "w2", "w1"),
        ("previous", "w3", "w2"),
        ("baseline", "w2", "w1"),
        ("baseline", "w3", "w1"),
    ]
    assert trends["n_a"].tolist() == [500, 400, 500, 400]
    assert trends["n_b"].tolist() == [300, 500, 300, 300]
    assert trends["n"].tolist() == [300, 400, 300, 300]
    later = indicator_trends(
        table, domains=DOMAINS, waves=WAVES, directions={"a": "higher"}, baseline={"a": "w2"}
    )
    baseline = later[later["comparison"].eq("baseline")]
    assert baseline[["wave", "reference_wave"]].values.tolist() == [["w3", "w2"]]


def test_vectorized_changes_equal_wave_difference_on_edge_cases() -> None:
    """It matches wave_difference row by row, including a side with df 0 (NaN df and p)."""
    rows = [
        {"indicator": "a", "wave": "w1", "estimate": 0.30, "se": 0.02, "df": 12.0},
        {"indicator": "a", "wave": "w2", "estimate": 0.36, "se": 0.05, "df": 80.0},
        {"indicator": "b", "wave": "w1", "estimate": 0.2, "se": 0.0, "df": 10.0},
        {"indicator": "b", "wave": "w2", "estimate": 0.3, "se": 0.01, "df": 20.0},
        {"indicator": "c", "wave": "w1", "estimate": 0.2, "se": 0.01, "df": 0.0},
        {"indicator": "c", "wave": "w2", "estimate": 0.3, "se": 0.01, "df": 20.0},
    ]
    table = table1(rows)
    trends = indicator_trends(
        table,
        domains=DOMAINS,
        waves=WAVES[:2],
        directions=dict.fromkeys("abc", "higher"),
        level=0.9,
    )
    assert trends.set_index("indicator")["df"].isna().to_dict() == {
        "a": False,
        "b": False,
        "c": True,
    }
    _assert_equal_to_wave_difference(table, trends, level=0.9)


def test_two_zero_standard_errors_give_a_degenerate_but_defined_change() -> None:
    """It gives NaN p for 0 → 0 with zero SEs and p = 0 for 0 → 1, df = df_a + df_b."""
    rows = [
        {"indicator": "same", "wave": "w1", "estimate": 1.0, "se": 0.0, "df": 10.0},
        {"indicator": "same", "wave": "w2", "estimate": 1.0, "se": 0.0, "df": 15.0},
        {"indicator": "flip", "wave": "w1", "estimate": 0.0, "se": 0.0, "df": 10.0},
        {"indicator": "flip", "wave": "w2", "estimate": 1.0, "se": 0.0, "df": 15.0},
    ]
    trends = indicator_trends(
        table1(rows),
        domains=DOMAINS,
        waves=WAVES[:2],
        directions={"same": "higher", "flip": "higher"},
    )
    trends = trends[trends["comparison"].eq("previous")].set_index("indicator")
    assert trends["df"].tolist() == [25.0, 25.0]
    assert np.isnan(trends.loc["same", "p_value"])
    assert trends.loc["same", "direction"] == "no change"
    assert trends.loc["flip", "p_value"] == 0.0
    assert trends.loc["flip", "direction"] == "improving"


def _assert_equal_to_wave_difference(
    table: pd.DataFrame, trends: pd.DataFrame, level: float = 0.95
) -> None:
    """Check every change against wave_difference of its two Table 1 rows."""
    keyed = table.set_index([*KEY_COLUMNS, *DOMAINS, "wave"])
    fields = ("estimate", "se", "ci_low", "ci_high", "df", "p_value")
    for row in trends.itertuples(index=False):
        key = tuple(getattr(row, c) for c in (*KEY_COLUMNS, *DOMAINS))
        later = keyed.loc[(*key, row.wave)]
        earlier = keyed.loc[(*key, row.reference_wave)]
        expected = wave_difference(later, earlier, level=level)
        got = np.array([getattr(row, f) for f in fields], dtype=float)
        want = np.array([getattr(expected, f) for f in fields], dtype=float)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, equal_nan=True)


def _many_domains() -> pd.DataFrame:
    """Build 3 waves × 2 indicators × 8 regions with varied changes and precisions."""
    rng = np.random.default_rng(7)
    rows = []
    for indicator in ("a", "b"):
        for region in range(1, 9):
            level = rng.uniform(0.2, 0.6)
            for k, wave in enumerate(WAVES):
                rows.append(
                    {
                        "indicator": indicator,
                        "wave": wave,
                        "domain_set": "region",
                        "region": region,
                        "estimate": level + k * rng.normal(0, 0.04),
                        "se": rng.uniform(0.01, 0.03),
                        "df": float(rng.integers(5, 60)),
                    }
                )
    return table1(rows)


def test_benjamini_hochberg_equals_statsmodels_within_each_family() -> None:
    """It adjusts p-values by BH within each comparison × wave family, as statsmodels does."""
    trends = indicator_trends(
        _many_domains(), domains=DOMAINS, waves=WAVES, directions={"a": "higher", "b": "lower"}
    )
    families = trends.groupby(["comparison", "wave"])
    assert families.ngroups == 4
    for _, family in families:
        p = family["p_value"].to_numpy()
        expected = multipletests(p, method="fdr_bh")[1]
        np.testing.assert_allclose(family["p_adjusted"], expected, rtol=1e-12)
        np.testing.assert_allclose(family["p_adjusted"], _by_hand_bh(p), rtol=1e-12)
    pooled = multipletests(trends["p_value"].to_numpy(), method="fdr_bh")[1]
    assert not np.allclose(trends["p_adjusted"], pooled)


def test_benjamini_hochberg_on_a_hand_example() -> None:
    """It gives BH-adjusted p-values equal to the step-up values worked by hand."""
    estimates = {"a": 0.0606, "b": 0.0740, "c": 0.0400, "d": 0.0100}
    rows = [{"indicator": i, "wave": "w1", "estimate": 0.3, "se": 0.0, "df": 1e6} for i in "abcd"]
    rows += [
        {"indicator": i, "wave": "w2", "estimate": 0.3 + d, "se": 0.025, "df": 1e6}
        for i, d in estimates.items()
    ]
    trends = indicator_trends(
        table1(rows), domains=DOMAINS, waves=WAVES[:2], directions=dict.fromkeys("abcd", "higher")
    )
    family = trends[trends["comparison"].eq("previous")].set_index("indicator")
    p = family["p_value"]
    # ranks by p: b (1), a (2), c (3), d (4); adjusted = min over larger ranks of p·4/rank
    by_hand = {
        "b": min(p["b"] * 4, p["a"] * 2, p["c"] * 4 / 3, p["d"]),
        "a": min(p["a"] * 2, p["c"] * 4 / 3, p["d"]),
        "c": min(p["c"] * 4 / 3, p["d"]),
        "d": p["d"],
    }
    for indicator, value in by_hand.items():
        assert family.loc[indicator, "p_adjusted"] == pytest.approx(value, rel=1e-12)
    assert family["significant"].to_dict() == {"a": True, "b": True, "c": False, "d": False}


def test_a_change_whose_interval_straddles_zero_is_never_improving_or_worsening() -> None:
    """It says 'no change' when p_adjusted < alpha but the (99.9%) interval includes 0."""
    table = _national({("a", "w1"): (0.40, 0.02), ("a", "w2"): (0.48, 0.02)})
    trends = indicator_trends(
        table, domains=DOMAINS, waves=WAVES[:2], directions={"a": "higher"}, level=0.999
    )
    row = trends.iloc[0]
    assert row["p_adjusted"] < 0.05
    assert row["ci_low"] < 0 < row["ci_high"]
    assert not row["significant"]
    assert row["direction"] == "no change"
    many = indicator_trends(
        _many_domains(), domains=DOMAINS, waves=WAVES, directions={"a": "higher", "b": "lower"}
    )
    straddles = (many["ci_low"] <= 0) & (many["ci_high"] >= 0)
    assert many.loc[straddles, "direction"].eq("no change").all()
    assert many["direction"].ne("no change").any()


def test_direction_lower_swaps_improving_and_worsening() -> None:
    """It calls a significant rise improving when higher is better and worsening when lower is."""
    table = _national(
        {
            ("a", "w1"): (0.40, 0.01),
            ("a", "w2"): (0.50, 0.01),
            ("b", "w1"): (0.40, 0.01),
            ("b", "w2"): (0.30, 0.01),
        }
    )
    higher = indicator_trends(
        table, domains=DOMAINS, waves=WAVES[:2], directions={"a": "higher", "b": "higher"}
    )
    lower = indicator_trends(
        table, domains=DOMAINS, waves=WAVES[:2], directions={"a": "lower", "b": "lower"}
    )
    assert higher.groupby("indicator")["direction"].first().to_dict() == {
        "a": "improving",
        "b": "worsening",
    }
    assert lower.groupby("indicator")["direction"].first().to_dict() == {
        "a": "worsening",
        "b": "improving",
    }
    pd.testing.assert_series_equal(higher["p_adjusted"], lower["p_adjusted"])


def test_not_asked_no_data_and_missing_values_give_no_change_row() -> None:
    """It makes no row when either side is not asked, has no respondent or has no estimate."""
    rows = [
        {"indicator": "late", "wave": "w1", "availability": "not_asked", "n": 0},
        {"indicator": "late", "wave": "w2", "estimate": 0.4, "se": 0.02},
        {"indicator": "late", "wave": "w3", "estimate": 0.5, "se": 0.02},
        {"indicator": "gone", "wave": "w1", "estimate": 0.4, "se": 0.02},
        {"indicator": "gone", "wave": "w2", "availability": "no_data", "n": 0},
        {"indicator": "gone", "wave": "w3", "estimate": 0.5, "se": float("nan")},
    ]
    trends = indicator_trends(
        table1(rows), domains=DOMAINS, waves=WAVES, directions={"late": "higher", "gone": "higher"}
    )
    assert trends[["indicator", "comparison", "wave", "reference_wave"]].values.tolist() == [
        ["late", "previous", "w3", "w2"]
    ]
    assert trends["estimate"].notna().all()


def test_rows_of_unlisted_waves_are_ignored_and_domains_are_kept_apart() -> None:
    """It compares only the listed waves and never pairs two different domains."""
    rows = [
        {
            "indicator": "a",
            "wave": w,
            "domain_set": "gender",
            "gender": g,
            "estimate": e,
            "se": 0.02,
        }
        for w, g, e in [
            ("w1", 1, 0.3),
            ("w1", 2, 0.5),
            ("w3", 1, 0.35),
            ("w3", 2, 0.45),
            ("pilot", 1, 0.9),
        ]
    ]
    trends = indicator_trends(
        table1(rows), domains=DOMAINS, waves=["w1", "w3"], directions={"a": "higher"}
    )
    assert set(trends["reference_wave"]) == {"w1"}
    change = trends[trends["comparison"].eq("previous")].set_index("gender")["estimate"]
    assert change.to_dict() == pytest.approx({1: 0.05, 2: -0.05})


def test_bad_inputs_raise_perception_errors() -> None:
    """It names a missing column, repeated rows, a missing direction and an unknown baseline."""
    table = _national({("a", "w1"): (0.4, 0.02), ("a", "w2"): (0.5, 0.02)})
    with pytest.raises(ValidationError) as missing:
        indicator_trends(
            table.drop(columns="se"), domains=DOMAINS, waves=WAVES, directions={"a": "higher"}
        )
    assert missing.value.column == "se"
    with pytest.raises(ValidationError) as repeated:
        indicator_trends(
            pd.concat([table, table.iloc[[1]]], ignore_index=True),
            domains=DOMAINS,
            waves=WAVES,
            directions={"a": "higher"},
        )
    assert repeated.value.rows == [1, 2]
    with pytest.raises(ConfigError, match="directions"):
        indicator_trends(table, domains=DOMAINS, waves=WAVES, directions={"b": "higher"})
    with pytest.raises(ConfigError, match="directions"):
        indicator_trends(table, domains=DOMAINS, waves=WAVES, directions={"a": "up"})
    with pytest.raises(ConfigError, match="baseline"):
        indicator_trends(
            table, domains=DOMAINS, waves=WAVES, directions={"a": "higher"}, baseline="w9"
        )
    with pytest.raises(ConfigError, match="wave order"):
        indicator_trends(table, domains=DOMAINS, waves=["w1", "w1"], directions={"a": "higher"})
    with pytest.raises(ConfigError, match="alpha"):
        indicator_trends(table, domains=DOMAINS, waves=WAVES, directions={"a": "higher"}, alpha=5.0)
    bad = table.assign(availability=["estimated", "asked"])
    with pytest.raises(ValidationError) as unknown:
        indicator_trends(bad, domains=DOMAINS, waves=WAVES, directions={"a": "higher"})
    assert unknown.value.rows == [1]


# --------------------------------------------------------------------------- the demo survey

PLANTED_INDICATORS = (
    "incl_feel_included",
    "incl_views_considered",
    "voice_system_say",
    "voice_leaders_listen_net",
    "inclusion_index",
    "incl_gender_gap",
)
"""Catalogue indicators whose truth changes (built on PLANTED_EFFECTS.items; the youth gap
of inclusion is constant, PLANTED_EFFECTS.youth_gap)."""


@pytest.fixture(scope="module")
def demo_estimates(
    demo: DemoRun,
) -> tuple[pd.DataFrame, IndicatorCatalogue, dict[str, dt.date]]:
    """Return the demo run's estimates of its three waves, its catalogue and its wave dates."""
    project = load_project(ROOT / "config" / "survey.yaml", root=ROOT)
    waves = project.survey.waves
    catalogue = load_indicators(
        ROOT / "config" / "indicators.yaml", project.catalogue, waves=[w.id for w in waves]
    )
    dates = {w.id: w.fieldwork.start + (w.fieldwork.end - w.fieldwork.start) / 2 for w in waves}
    return demo.estimates(), catalogue, dates


@pytest.fixture(scope="module")
def demo_trends(demo_estimates: tuple[pd.DataFrame, IndicatorCatalogue, Any]) -> pd.DataFrame:
    """Compute the demo's trends with the catalogue's directions and baselines."""
    estimates, catalogue, _ = demo_estimates
    return indicator_trends(
        estimates,
        domains=DOMAINS,
        waves=WAVES,
        directions={i.id: i.direction for i in catalogue.indicators},
        baseline={i.id: catalogue.baseline_wave(i) for i in catalogue.indicators},
    )


def _planted(trends: pd.DataFrame) -> pd.Series:
    """Flag comparisons where a change was planted (planted indicators, except flat regions)."""
    flat_region = trends["domain_set"].eq("region") & trends["region"].isin(
        PLANTED_EFFECTS.flat_regions
    ).fillna(False).astype(bool)
    return trends["indicator"].isin(PLANTED_INDICATORS) & ~flat_region


def test_demo_changes_equal_wave_difference_row_by_row(
    demo_estimates: tuple[pd.DataFrame, IndicatorCatalogue, Any], demo_trends: pd.DataFrame
) -> None:
    """It gives, on real demo comparisons of every type and domain, wave_difference's numbers."""
    assert len(demo_trends) > 5000
    assert set(demo_trends["type"]) == {"proportion", "net", "index", "mean", "gap"}
    _assert_equal_to_wave_difference(demo_estimates[0], demo_trends.iloc[::17])


def test_demo_inclusion_rises_in_two_regions_and_falls_in_one(demo_trends: pd.DataFrame) -> None:
    """It finds inclusion significantly up in regions 2 and 5 and down in 7 from w1 to w3."""
    rows = demo_trends[
        demo_trends["indicator"].eq("incl_feel_included")
        & demo_trends["variant"].eq("all")
        & demo_trends["domain_set"].eq("region")
        & demo_trends["comparison"].eq("baseline")
        & demo_trends["wave"].eq("w3")
    ].set_index("region")
    verdicts = rows["direction"].to_dict()
    assert {r: verdicts[r] for r in PLANTED_EFFECTS.rising_regions} == {
        2: "improving",
        5: "improving",
    }
    assert {r: verdicts[r] for r in PLANTED_EFFECTS.falling_regions} == {7: "worsening"}
    assert {verdicts[r] for r in PLANTED_EFFECTS.flat_regions} == {"no change"}


def test_demo_gender_gap_narrows(
    demo_estimates: tuple[pd.DataFrame, IndicatorCatalogue, Any], demo_trends: pd.DataFrame
) -> None:
    """It finds the women − men inclusion gap negative in w1 and significantly narrower by w3."""
    estimates = demo_estimates[0]
    gaps = estimates[
        estimates["indicator"].eq("incl_gender_gap")
        & estimates["variant"].eq("all")
        & estimates["domain_set"].eq("national")
    ].set_index("wave")
    assert gaps.loc["w1", "ci_high"] < 0
    assert gaps.loc["w1", "estimate"] < gaps.loc["w3", "estimate"]
    change = demo_trends[
        demo_trends["indicator"].eq("incl_gender_gap")
        & demo_trends["variant"].eq("all")
        & demo_trends["domain_set"].eq("national")
        & demo_trends["comparison"].eq("baseline")
        & demo_trends["wave"].eq("w3")
    ].iloc[0]
    assert change["significant"]
    assert change["direction"] == "improving"
    assert change["n"] == min(gaps.loc["w1", "n"], gaps.loc["w3", "n"])


def test_demo_has_no_false_change_nationally_or_by_region(demo_trends: pd.DataFrame) -> None:
    """It flags no unplanted change nationally or by region, and few false discoveries anywhere.

    In fine cells (age band, sex × age band, sex × region) a handful of unplanted changes pass
    BH at 5%, as false discovery rate control allows: at most 5% of the discoveries, on average.
    """
    unplanted = demo_trends[~_planted(demo_trends)]
    assert unplanted["p_value"].min() < 0.01  # raw p-values alone would flag many
    coarse = unplanted[unplanted["domain_set"].isin(["national", "region"])]
    flagged = coarse[coarse["significant"]]
    assert flagged.empty, flagged[["indicator", "variant", "domain_set", "region", "wave"]]
    discoveries = demo_trends[demo_trends["significant"]]
    false_share = (~_planted(discoveries)).mean()
    assert len(discoveries) > 50
    assert false_share <= 0.05
    late = demo_trends[demo_trends["indicator"].eq("mission_protects")]
    assert set(late["reference_wave"]) == {"w2"}


def test_demo_benchmark_status_finds_no_trend_in_unchanged_indicators(
    demo_estimates: tuple[pd.DataFrame, IndicatorCatalogue, dict[str, dt.date]],
    demo_trends: pd.DataFrame,
) -> None:
    """It sees no trend in unplanted indicators, and puts the planted gender gap on track."""
    estimates, catalogue, dates = demo_estimates
    units = estimates.groupby("indicator")["unit"].first()
    meta = {
        i.id: {
            "benchmark": i.benchmark,
            "benchmark_term": catalogue.benchmarks[i.benchmark].term,
            "label_en": i.label.en,
            "label_fr": i.label.fr,
            "type": i.type,
            "unit": units[i.id],
            "direction": i.direction,
            "target": i.target,
            "target_date": i.target_date,
        }
        for i in catalogue.indicators
    }
    status = indicator_status(
        estimates, demo_trends, meta, latest_wave="w3", wave_dates=dates
    ).set_index("indicator")
    unplanted = status.drop(index=list(PLANTED_INDICATORS))
    assert "on track" not in set(unplanted["status"])
    # Off track only because the target is out of reach of a flat indicator, never a trend.
    off = unplanted[unplanted["status"].eq("off track")]
    assert not off["reason_en"].str.contains("worsened").any(), off["reason_en"]
    assert status.loc["incl_gender_gap", "status"] == "on track"
