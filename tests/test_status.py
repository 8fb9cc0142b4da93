"""Benchmark status: every rule on constructed estimates, the reasons and the summary line."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from perception.errors import ConfigError, ValidationError
from perception.status import (
    STATUS_COLUMNS,
    STATUSES,
    benchmark_summary,
    indicator_meta_frame,
    indicator_status,
    status_tally,
)
from perception.trends import indicator_trends
from perception.words import has, status_definition, status_word

WAVES = ("w1", "w2", "w3")
#: The demo survey's domain columns (config/variables.yaml `domains:`).
DOMAINS = ("gender", "age_band", "youth", "region", "urban_rural")
DATES = {"w1": dt.date(2025, 3, 15), "w2": dt.date(2025, 11, 15), "w3": dt.date(2026, 8, 15)}
LABELS = {
    "inclusion": {
        "en": "The population considers that it is being included in the process",
        "fr": "La population estime être incluse dans le processus",
    }
}


def _estimates(series: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Build national Table 1 rows from {indicator: {wave: (estimate, se) | availability}}."""
    rows = []
    for indicator, waves in series.items():
        for wave, value in waves.items():
            row: dict[str, Any] = {"indicator": indicator, "wave": wave}
            if isinstance(value, str):
                row |= {"availability": value, "estimate": np.nan, "se": np.nan, "n": 0}
            else:
                row |= {"availability": "estimated", "estimate": value[0], "se": value[1]}
                row |= {"n": 800}
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame = frame.assign(
        survey="demo",
        variant="all",
        benchmark="inclusion",
        type="proportion",
        unit="percent",
        domain_set="national",
        ci_low=frame["estimate"] - 1.96 * frame["se"],
        ci_high=frame["estimate"] + 1.96 * frame["se"],
        df=np.where(frame["availability"].eq("estimated"), 60.0, np.nan),
        **{c: pd.array([pd.NA] * len(frame), dtype="Int64") for c in DOMAINS},
    )
    strings = ["survey", "wave", "indicator", "variant", "benchmark", "type", "unit"]
    return frame.astype({c: "str" for c in [*strings, "domain_set", "availability"]}).astype(
        {"n": "Int64"}
    )


def _meta(**indicators: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Build indicator metadata: proportions of the inclusion benchmark, higher is better."""
    base = {
        "benchmark": "inclusion",
        "benchmark_term": "medium",
        "type": "proportion",
        "unit": "percent",
        "direction": "higher",
    }
    return {
        name: {**base, "label_en": f"{name} (en)", "label_fr": f"{name} (fr)", **extra}
        for name, extra in indicators.items()
    }


def _status(
    series: Mapping[str, Mapping[str, Any]],
    meta: Mapping[str, Mapping[str, Any]],
    latest: str = "w3",
    estimates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Run trends then status on constructed estimates, indexed by indicator."""
    table = _estimates(series) if estimates is None else estimates
    directions = {k: str(v["direction"]) for k, v in meta.items()}
    trends = indicator_trends(table, domains=DOMAINS, waves=WAVES, directions=directions)
    status = indicator_status(table, trends, meta, latest_wave=latest, wave_dates=DATES)
    return status.set_index("indicator")


def test_status_table_has_the_contract_columns_one_row_per_indicator() -> None:
    """It returns Table 3's columns, one row per indicator in metadata order, with dtypes."""
    meta = _meta(b={}, a={"target": 0.5, "target_date": "2027-06-30"})
    series = {"a": {"w1": (0.4, 0.01), "w3": (0.45, 0.01)}, "b": {"w1": (0.4, 0.01)}}
    table = _estimates(series)
    trends = indicator_trends(
        table, domains=DOMAINS, waves=WAVES, directions={"a": "higher", "b": "higher"}
    )
    status = indicator_status(table, trends, meta, latest_wave="w3", wave_dates=DATES)
    assert tuple(status.columns) == STATUS_COLUMNS
    assert status["indicator"].tolist() == ["b", "a"]
    assert status["target_date"].tolist() == [None, dt.date(2027, 6, 30)]
    assert status["target"].dtype == "float64"
    assert status["change_baseline"].dtype == "float64"
    assert status["status"].dtype == "str"
    row = status.iloc[1]
    assert row["change_baseline"] == pytest.approx(0.05)
    assert row["change_previous"] != row["change_previous"]  # no w2: NaN


def test_achieved_needs_the_whole_interval_past_the_target() -> None:
    """It calls a target achieved only when the latest interval lies entirely on its good side."""
    meta = _meta(
        clear={"target": 0.5},
        straddles={"target": 0.5},
        lower={"target": 0.3, "direction": "lower"},
    )
    series = {
        "clear": {"w1": (0.5, 0.01), "w3": (0.56, 0.01)},
        "straddles": {"w1": (0.5, 0.01), "w3": (0.51, 0.01)},
        "lower": {"w1": (0.3, 0.01), "w3": (0.25, 0.01)},
    }
    status = _status(series, meta)
    assert status.loc["clear", "status"] == "achieved"
    assert status.loc["lower", "status"] == "achieved"
    assert status.loc["straddles", "estimate"] > 0.5
    assert status.loc["straddles", "status"] == "insufficient evidence"
    assert "entirely above the target of 50.0%" in status.loc["clear", "reason_en"]
    assert "entirely below the target of 30.0%" in status.loc["lower", "reason_en"]
    assert "au-dessus de la cible de 50,0\u202f%" in status.loc["clear", "reason_fr"]


def test_significant_change_in_the_good_direction_is_on_track() -> None:
    """It calls a significant improvement on track, for higher- and lower-is-better indicators."""
    meta = _meta(
        up={"target": 0.9},
        down={"direction": "lower", "target": 0.1},
        target_no_date={"target": 0.9},
    )
    series = {
        "up": {"w1": (0.40, 0.01), "w2": (0.42, 0.01), "w3": (0.46, 0.01)},
        "down": {"w1": (0.40, 0.01), "w3": (0.33, 0.01)},
        "target_no_date": {"w1": (0.40, 0.01), "w3": (0.46, 0.01)},
    }
    status = _status(series, meta)
    assert status["status"].tolist() == ["on track"] * 3
    assert status.loc["up", "reason_en"].startswith("It improved significantly since w1, by +6.0")
    assert "Benjamini-Hochberg" in status.loc["down", "reason_en"]
    assert status.loc["up", "reason_fr"].startswith("Il s'est amélioré")


def test_projection_to_the_target_date_decides_on_or_off_track() -> None:
    """It is off track when the target lies outside the projected interval at its date."""
    meta = _meta(
        fast={"target": 0.48, "target_date": dt.date(2027, 6, 30)},
        slow={"target": 0.55, "target_date": dt.date(2027, 6, 30)},
    )
    series = {
        "fast": {"w1": (0.40, 0.01), "w3": (0.45, 0.01)},
        "slow": {"w1": (0.40, 0.01), "w3": (0.45, 0.01)},
    }
    status = _status(series, meta)
    r = (dt.date(2027, 6, 30) - DATES["w3"]).days / (DATES["w3"] - DATES["w1"]).days
    projected = 0.45 + 0.05 * r
    # (1 + r)·latest − r·baseline, two independent estimates with se 0.01 each.
    half = 1.959963984540054 * 0.01 * math.hypot(1 + r, r)
    assert 0.48 < projected < projected + half < 0.55
    assert status.loc["fast", "status"] == "on track"
    assert status.loc["slow", "status"] == "off track"
    reason = status.loc["slow", "reason_en"]
    assert (
        f"would be at {100 * projected:.1f}% (95% CI {100 * (projected - half):.1f}% to "
        f"{100 * (projected + half):.1f}%) by 30 June 2027" in reason
    )
    assert "the target of 55.0% lies outside that range" in reason
    assert "au 30 juin 2027" in status.loc["slow", "reason_fr"]


def test_a_flat_indicator_clearly_short_of_its_target_is_off_track() -> None:
    """It calls a flat indicator off track when its target lies beyond the projected interval.

    "Heard of the agreement": 70% [67.7, 72.1] and flat, against 85% by mid-2027; the same
    indicator against a target within reach of its sampling error is unclear.
    """
    date = dt.date(2027, 6, 30)
    meta = _meta(
        heard={"target": 0.85, "target_date": date},
        near={"target": 0.71, "target_date": date},
        dark={"target": 0.65, "target_date": dt.date(2026, 9, 15)},
        monitored={},
    )
    series = {
        "heard": {"w1": (0.695, 0.011), "w3": (0.70, 0.011)},
        "near": {"w1": (0.695, 0.011), "w3": (0.70, 0.011)},
        "dark": {"w1": (0.53, 0.012), "w3": (0.54, 0.012)},
        "monitored": {"w1": (0.40, 0.01), "w3": (0.46, 0.01)},
    }
    status = _status(series, meta)
    assert status.loc["heard", "change_baseline_p"] > 0.05  # flat
    assert status["status"].to_dict() == {
        "heard": "off track",
        "near": "insufficient evidence",
        "dark": "off track",
        "monitored": "no target",
    }
    assert "the target of 71.0% is within that range" in status.loc["near", "reason_en"]
    assert status.loc["monitored", "reason_en"].startswith("No target is set")
    assert status.loc["monitored", "reason_fr"].startswith("Aucune cible")


def test_an_improving_indicator_that_will_reach_its_target_is_on_track() -> None:
    """It calls a significant improvement on track when its projection reaches the target."""
    date = dt.date(2027, 6, 30)
    meta = _meta(
        reaches={"target": 0.50, "target_date": date},
        falls_short={"target": 0.60, "target_date": date},
    )
    series = {
        "reaches": {"w1": (0.40, 0.01), "w3": (0.47, 0.01)},
        "falls_short": {"w1": (0.40, 0.01), "w3": (0.47, 0.01)},
    }
    status = _status(series, meta)
    assert status["status"].to_dict() == {"reaches": "on track", "falls_short": "off track"}
    assert "meeting the target of 50.0%" in status.loc["reaches", "reason_en"]


def test_significant_change_in_the_bad_direction_is_off_track() -> None:
    """It calls a significant deterioration off track, whatever the target."""
    meta = _meta(falls={"target": 0.5}, rises_bad={"direction": "lower", "target": 0.1})
    series = {
        "falls": {"w1": (0.40, 0.01), "w3": (0.34, 0.01)},
        "rises_bad": {"w1": (0.20, 0.01), "w3": (0.26, 0.01)},
    }
    status = _status(series, meta)
    assert status["status"].tolist() == ["off track", "off track"]
    reason = status.loc["falls", "reason_en"]
    assert reason.startswith("It worsened significantly since w1, by \u22126.0")


def test_insufficient_evidence_cases() -> None:
    """It gives insufficient evidence: no significant change, one wave, not asked, suppressed."""
    target = {"target": 0.45}
    meta = _meta(flat=target, single=target, unasked=target, hidden=target, absent=target)
    series = {
        "flat": {"w1": (0.40, 0.02), "w3": (0.41, 0.02)},
        "single": {"w3": (0.40, 0.01)},
        "unasked": {"w1": (0.40, 0.01), "w3": "not_asked"},
        "hidden": {"w1": (0.40, 0.01), "w3": (0.60, 0.01)},
    }
    table = _estimates(series)
    table["suppressed"] = table["indicator"].eq("hidden") & table["wave"].eq("w3")
    table.loc[table["suppressed"], ["estimate", "se", "ci_low", "ci_high"]] = np.nan
    status = _status(series, meta, estimates=table)
    assert status["status"].eq("insufficient evidence").all()
    reasons = status["reason_en"]
    assert "is not significant after Benjamini-Hochberg" in reasons["flat"]
    assert "No change since the baseline can be assessed" in reasons["single"]
    assert reasons["unasked"] == "The question was not asked in w3."
    assert "suppressed" in reasons["hidden"]
    assert reasons["absent"] == "There is no estimate for w3."
    assert status.loc["flat", "change_baseline_p"] > 0.05
    assert status.loc["hidden", ["estimate", "change_baseline", "change_baseline_p"]].isna().all()


def test_a_passed_target_date_is_off_track_only_when_clearly_missed() -> None:
    """It is off track once the date passed with the interval short of target; no target, inert."""
    past = dt.date(2026, 1, 1)
    meta = _meta(
        missed={"target": 0.6, "target_date": past},
        close={"target": 0.46, "target_date": past},
        no_target={"target_date": past},
    )
    series = {
        "missed": {"w1": (0.40, 0.01), "w3": (0.45, 0.01)},
        "close": {"w1": (0.40, 0.01), "w3": (0.45, 0.01)},
        "no_target": {"w1": (0.40, 0.01), "w3": (0.45, 0.01)},
    }
    status = _status(series, meta)
    assert status.loc["missed", "status"] == "off track"
    assert status.loc["close", "status"] == "insufficient evidence"
    assert status.loc["no_target", "status"] == "no target"
    assert "The target date 1 January 2026 has passed" in status.loc["missed", "reason_en"]
    assert "La date cible du 1er janvier 2026 est passée" in status.loc["missed", "reason_fr"]


def test_latest_wave_equal_to_baseline_has_no_trend() -> None:
    """It judges the baseline wave itself as insufficient evidence, or achieved on the target."""
    meta = _meta(a={"target": 0.6}, b={"target": 0.3})
    series = {"a": {"w1": (0.40, 0.01), "w3": (0.5, 0.01)}, "b": {"w1": (0.40, 0.01)}}
    status = _status(series, meta, latest="w1")
    assert status["status"].to_dict() == {"a": "insufficient evidence", "b": "achieved"}


def test_bad_metadata_and_missing_dates_raise_config_errors() -> None:
    """It rejects unknown keys, bad directions and dates, and indicators without metadata."""
    with pytest.raises(ConfigError, match="unknown keys"):
        indicator_meta_frame(_meta(a={"colour": "red"}))
    with pytest.raises(ConfigError, match="direction"):
        indicator_meta_frame(_meta(a={"direction": "up"}))
    with pytest.raises(ConfigError, match="target_date"):
        indicator_meta_frame(_meta(a={"target_date": "next year"}))
    frame = indicator_meta_frame(pd.DataFrame([{"indicator": "a", **_meta(a={})["a"]}]))
    assert frame["target"].isna().all()
    table = _estimates({"a": {"w1": (0.4, 0.01), "w3": (0.5, 0.01)}})
    trends = indicator_trends(table, domains=DOMAINS, waves=WAVES, directions={"a": "higher"})
    with pytest.raises(ConfigError, match="no metadata"):
        indicator_status(table, trends, _meta(b={}), latest_wave="w3")
    with pytest.raises(ValidationError) as missing:
        indicator_status(table, trends.drop(columns="p_adjusted"), _meta(a={}), latest_wave="w3")
    assert missing.value.column == "p_adjusted"


def test_missing_wave_dates_fall_back_to_the_rules_without_dates() -> None:
    """Without fieldwork dates it reports (no projection, no deadline) and says why."""
    series = {
        "fast": {"w1": (0.40, 0.01), "w3": (0.50, 0.01)},
        "slow": {"w1": (0.40, 0.01), "w3": (0.45, 0.01)},
        "late": {"w1": (0.40, 0.01), "w3": (0.48, 0.01)},
    }
    meta = _meta(
        fast={"target": 0.9, "target_date": "2027-06-30"},
        slow={"target": 0.9, "target_date": "2027-06-30"},
        late={"target": 0.9, "target_date": "2026-01-01"},
    )
    dated = _status(series, meta)
    assert dated["status"].to_dict() == {
        "fast": "off track",  # 0.9 is far beyond the projected interval by mid-2027
        "slow": "off track",
        "late": "off track",  # deadline passed, interval entirely below
    }
    table = _estimates(series)
    trends = indicator_trends(
        table, domains=DOMAINS, waves=WAVES, directions=dict.fromkeys(meta, "higher")
    )
    for dates in (None, {"w3": DATES["w3"]}):
        status = indicator_status(table, trends, meta, latest_wave="w3", wave_dates=dates)
        status = status.set_index("indicator")
        assert status["status"].to_dict() == {
            "fast": "on track",  # improving significantly, as without a target date
            "slow": "on track",
            "late": "on track" if dates is None else "off track",
        }
        reason = status.loc["fast", "reason_en"]
        assert "improved significantly since w1" in reason
        assert "Fieldwork dates are missing for " in reason
        assert "target date 30 June 2027 is not assessed" in reason
        assert "Les dates de terrain manquent pour " in status.loc["fast", "reason_fr"]
    assert (
        "missing for w3, w1"
        in indicator_status(table, trends, meta, latest_wave="w3")
        .set_index("indicator")
        .loc["fast", "reason_en"]
    )


def _four_indicators() -> pd.DataFrame:
    """Return a status table with 2 on track, 1 achieved and 1 insufficient evidence."""
    meta = _meta(
        feel_included={"target": 0.5},
        views_considered={"target": 0.6},
        have_say={"target": 0.3},
        leaders_listen={"target": 0.5},
    )
    series = {
        "feel_included": {"w1": (0.37, 0.006), "w3": (0.391, 0.006)},
        "views_considered": {"w1": (0.40, 0.01), "w3": (0.46, 0.01)},
        "have_say": {"w1": (0.40, 0.01), "w3": (0.40, 0.01)},
        "leaders_listen": {"w1": (0.40, 0.02), "w3": (0.41, 0.02)},
    }
    table = _estimates(series)
    trends = indicator_trends(
        table, domains=DOMAINS, waves=WAVES, directions=dict.fromkeys(meta, "higher")
    )
    return indicator_status(table, trends, meta, latest_wave="w3", wave_dates=DATES)


def test_summary_counts_statuses_and_quotes_the_headline_in_english() -> None:
    """It writes the benchmark term and label, the status counts and the headline's change."""
    status = _four_indicators()
    assert status["status"].value_counts().to_dict() == {
        "on track": 2,
        "achieved": 1,
        "insufficient evidence": 1,
    }
    line = benchmark_summary(status, LABELS, "inclusion")
    label = LABELS["inclusion"]["en"]
    assert line.startswith(f"Medium-term benchmark '{label}': 2 of 4 indicators on track,")
    assert "1 achieved, 1 insufficient evidence;" in line
    assert "'feel_included (en)' rose from 37% at baseline to 39% in w3 (+2.1\u00a0pts" in line
    assert "95% CI +0." in line
    other = benchmark_summary(status, LABELS, "inclusion", headline="leaders_listen")
    assert "'leaders_listen (en)' went from 40% at baseline to 41% in w3" in other
    assert "not significant" in other


def test_summary_in_french() -> None:
    """It writes the same summary in French, with decimal commas and French quotes."""
    line = benchmark_summary(_four_indicators(), LABELS, "inclusion", lang="fr")
    label = LABELS["inclusion"]["fr"]
    assert line.startswith(f"Repère à moyen terme «\u202f{label}\u202f»\u202f: 2 indicateurs sur 4")
    assert "en bonne voie, 1 atteint, 1 sans preuve suffisante" in line
    assert "a progressé de 37\u202f% à la référence à 39\u202f% en w3 (+2,1\u00a0pts" in line
    assert "IC à 95\u202f%" in line


def test_summary_rejects_unknown_benchmark_language_and_several_surveys() -> None:
    """It raises on an unknown benchmark or language and on a table of two surveys."""
    status = _four_indicators()
    with pytest.raises(ConfigError, match="benchmark"):
        benchmark_summary(status, LABELS, benchmark="violence")
    with pytest.raises(ConfigError, match="language"):
        benchmark_summary(status, LABELS, "inclusion", lang="de")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="headline"):
        benchmark_summary(status, LABELS, "inclusion", headline="nope")
    two = pd.concat([status, status.assign(survey="other")], ignore_index=True)
    with pytest.raises(ValidationError, match="several surveys"):
        benchmark_summary(two, LABELS, "inclusion")


def test_changes_suppressed_by_disclosure_are_not_used() -> None:
    """It ignores trend rows marked suppressed: no change shown, insufficient evidence."""
    meta = _meta(a={"target": 0.6}, b={"target": 0.6})
    table = _estimates(
        {
            "a": {"w1": (0.40, 0.01), "w3": (0.46, 0.01)},
            "b": {"w1": (0.40, 0.01), "w3": (0.46, 0.01)},
        }
    )
    trends = indicator_trends(
        table, domains=DOMAINS, waves=WAVES, directions={"a": "higher", "b": "higher"}
    )
    trends["suppressed"] = trends["indicator"].eq("a")
    status = indicator_status(table, trends, meta, latest_wave="w3").set_index("indicator")
    assert status["status"].to_dict() == {"a": "insufficient evidence", "b": "on track"}
    assert np.isnan(status.loc["a", "change_baseline"])


def test_gap_target_and_wave_labels_in_the_sentences() -> None:
    """It quotes a gap's target in points and names waves by their labels, in both languages."""
    meta = _meta(gap={"type": "gap", "target": -0.05, "direction": "lower"})
    series = {"gap": {"w1": (0.10, 0.005), "w3": (0.079, 0.005)}}
    table = _estimates(series).assign(type="gap")
    trends = indicator_trends(table, domains=DOMAINS, waves=WAVES, directions={"gap": "lower"})
    labels = {"w1": {"en": "Wave 1", "fr": "Vague 1"}, "w3": {"en": "Wave 3", "fr": "Vague 3"}}
    status = indicator_status(
        table, trends, meta, latest_wave="w3", wave_dates=DATES, wave_labels=labels
    ).set_index("indicator")
    assert status.loc["gap", "status"] == "on track"
    assert "since Wave 1, by \u22122.1\u00a0pts" in status.loc["gap", "reason_en"]
    assert "depuis Vague 1, de \u22122,1\u00a0pts" in status.loc["gap", "reason_fr"]
    assert "%" not in status.loc["gap", "reason_en"].replace("95% CI", "")


def test_tally_lists_statuses_in_a_fixed_order() -> None:
    """It counts each status once, in STATUSES order, leaving out absent ones."""
    statuses = ["off track", "achieved", "no target", "achieved", "insufficient evidence"]
    assert status_tally(statuses, "en") == (
        "2 achieved, 1 off track, 1 insufficient evidence, 1 no target (monitoring)"
    )
    assert status_tally(statuses, "fr").startswith("2 atteints, 1 hors trajectoire")
    assert all(has(f"status.{s}") and has(f"status.{s}.definition") for s in STATUSES)


def test_architecture_states_the_status_rules_as_the_code_does() -> None:
    """ARCHITECTURE.md defines each status in the same words as words.yaml."""
    text = " ".join((Path(__file__).resolve().parents[1] / "ARCHITECTURE.md").read_text().split())
    for status in STATUSES:
        assert f"**{status_word(status, 'en')}**: {status_definition(status, 'en')}" in text
