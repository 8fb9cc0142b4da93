"""The leadership dashboard without a browser: inputs, boundaries, figures, page and languages."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pytest
from demo_project import (
    AREA_INDICATORS,
    GENERATED_AT,
    HIDDEN,
    PROJECT,
    DemoRun,
    build_page,
    hide_region,
    with_small_areas,
)
from demo_project import DASHBOARD_INPUTS as INPUTS

from perception.config import load_indicators
from perception.dashboard import (
    build_dashboard,
    dashboard_figures,
    load_geojson,
    question_wording,
)
from perception.dashboard.data import prepare
from perception.dashboard.findings import domain_minus_total_variance, group_findings
from perception.demo import PLANTED_EFFECTS
from perception.errors import ConfigError, ValidationError
from perception.flow import report_views
from perception.status import STATUSES
from perception.tables import ESTIMATES_TABLE, SMALL_AREAS
from perception.words import LANGS, capital, number, status_definition

REPO = Path(__file__).resolve().parents[1]
CAT, SURVEY = PROJECT.catalogue, PROJECT.survey
BENCHMARKS = INPUTS["benchmark_labels"]
GEOJSON = INPUTS["geojson_path"]
REGIONS = list(CAT.codes("region"))
#: The domain sets whose cells the heatmap shows (rows: everyone, sex, age, sex × age group).
HEATMAP_SETS = [
    "national",
    "gender",
    "age_band",
    "age_band×region",
    "gender×age_band",
    "region",
    "gender×region",
    "gender×age_band×region",
]


def payload(page: str) -> dict[str, Any]:
    """Return the JSON data block of a dashboard page."""
    match = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page)
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def row_html(page: str, indicator: str) -> str:
    """Return the scorecard row of an indicator."""
    match = re.search(rf'<tr data-indicator="{indicator}">(.*?)</tr>', page)
    assert match is not None
    return match.group(1)


@pytest.fixture(scope="module")
def tables(demo: DemoRun) -> dict[str, pd.DataFrame]:
    """Return the demo run's published tables."""
    return demo.tables()


@pytest.fixture(scope="module")
def hidden_region(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Return the tables with one region's cell of an indicator suppressed in every wave."""
    return hide_region(tables, *HIDDEN)


@pytest.fixture(scope="module")
def page(tables: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return the demo dashboard's HTML."""
    out = build_page(tables, tmp_path_factory.mktemp("dash") / "dashboards" / "demo.html")
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def figures(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Return every English figure of the demo dashboard."""
    return dashboard_figures(tables, catalogue=CAT, survey=SURVEY, benchmark_labels=BENCHMARKS)


@pytest.fixture(scope="module")
def hidden_figures(hidden_region: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Return every English figure of the dashboard with a hidden region."""
    return dashboard_figures(
        hidden_region, catalogue=CAT, survey=SURVEY, benchmark_labels=BENCHMARKS
    )


def estimates(tables: dict[str, pd.DataFrame], indicator: str, wave: str) -> pd.DataFrame:
    """Return Table 1's rows of an indicator and wave, variant "all"."""
    t1 = tables["indicator_estimates"]
    return t1[(t1["indicator"] == indicator) & (t1["wave"] == wave) & (t1["variant"] == "all")]


# --------------------------------------------------------------------------- inputs


def test_refuses_tables_without_disclosure_columns(tables: dict[str, pd.DataFrame]) -> None:
    """It refuses an estimates table that has not been through disclosure control."""
    raw = dict(tables)
    raw["indicator_estimates"] = tables["indicator_estimates"].drop(
        columns=["suppressed", "flagged", "disclosure"]
    )
    with pytest.raises(ValidationError, match="disclosure control") as info:
        build_page(raw, Path("unused.html"))
    assert "suppressed, flagged, disclosure" in info.value.found


def test_refuses_a_table_that_is_not_its_published_schema(tables: dict[str, pd.DataFrame]) -> None:
    """It reads each table through the export gate: no extra column, none missing."""
    extra = tables["methodology"].assign(respondent_id="r1")
    with pytest.raises(ValidationError, match="outside its published contract") as info:
        build_page({**tables, "methodology": extra}, Path("unused.html"))
    assert info.value.column == "respondent_id"
    short = tables["indicator_trends"].drop(columns="p_adjusted")
    with pytest.raises(ValidationError, match="lacks required columns") as info:
        build_page({**tables, "indicator_trends": short}, Path("unused.html"))
    assert info.value.column == "p_adjusted"


def test_refuses_a_suppressed_row_that_holds_a_value(tables: dict[str, pd.DataFrame]) -> None:
    """It refuses a suppressed row whose estimate was not hidden, naming the row."""
    t1 = tables["indicator_estimates"].copy()
    position = int(t1.index[t1["suppressed"]][0])
    t1.loc[position, "estimate"] = 0.42
    with pytest.raises(ValidationError, match="shows values on suppressed rows") as info:
        build_page({**tables, "indicator_estimates": t1}, Path("unused.html"))
    assert info.value.rows == [position]


def test_refuses_missing_table_and_unknown_survey(tables: dict[str, pd.DataFrame]) -> None:
    """It names a missing table, and a survey with no rows in the tables."""
    partial = {k: v for k, v in tables.items() if k != "indicator_trends"}
    with pytest.raises(ValidationError, match="indicator_trends"):
        build_page(partial, Path("unused.html"))
    other = SURVEY.model_copy(update={"survey": "other"})
    with pytest.raises(ValidationError, match="no rows for survey 'other'"):
        build_dashboard(
            tables,
            catalogue=CAT,
            survey=other,
            benchmark_labels=BENCHMARKS,
            out_path=Path("unused.html"),
            generated_at=GENERATED_AT,
        )


def test_refuses_unlabelled_codes_and_benchmarks(tables: dict[str, pd.DataFrame]) -> None:
    """It rejects a region code the catalogue lacks, and a benchmark without a label."""
    t1 = tables["indicator_estimates"].copy()
    t1.loc[t1["region"] == 8, "region"] = 9
    with pytest.raises(ValidationError, match="region codes") as info:
        build_page({**tables, "indicator_estimates": t1}, Path("unused.html"))
    assert info.value.column == "region"
    assert "9" in info.value.found
    labels = {k: v for k, v in BENCHMARKS.items() if k != "mission"}
    with pytest.raises(ConfigError, match="no label") as err:
        build_dashboard(
            tables,
            catalogue=CAT,
            survey=SURVEY,
            benchmark_labels=labels,
            out_path=Path("unused.html"),
            generated_at=GENERATED_AT,
        )
    assert "mission" in err.value.found


# --------------------------------------------------------------------------- boundaries


def test_load_geojson_turns_rings_clockwise_for_plotly() -> None:
    """It returns every demo region with its exterior ring clockwise (D3's orientation)."""
    geo = load_geojson(GEOJSON, REGIONS)
    codes = [f["properties"]["code"] for f in geo["features"]]
    assert sorted(codes) == REGIONS
    for feature in geo["features"]:
        ring = feature["geometry"]["coordinates"][0]
        area = sum(
            x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)
        )
        assert area < 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "not valid JSON"),
        ('{"type": "Feature"}', "not a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "features": []}', "no features"),
    ],
)
def test_load_geojson_rejects_bad_files(tmp_path: Path, content: str | None, message: str) -> None:
    """It names the file when the boundaries are missing, not JSON or not GeoJSON."""
    path = tmp_path / "admin1.geojson"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        load_geojson(path, REGIONS)
    assert info.value.file == str(path)


def test_load_geojson_lists_unmatched_regions(tmp_path: Path) -> None:
    """It lists the regions of the data that have no feature in the GeoJSON."""
    data = json.loads(GEOJSON.read_text(encoding="utf-8"))
    data["features"] = [f for f in data["features"] if f["properties"]["code"] not in (3, 7)]
    path = tmp_path / "partial.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="no boundary") as info:
        load_geojson(path, REGIONS)
    assert info.value.found == "no feature for region code(s) 3, 7"
    assert info.value.file == str(path)


def test_load_geojson_rejects_a_feature_without_code(tmp_path: Path) -> None:
    """It points at the feature that lacks properties.code."""
    data = json.loads(GEOJSON.read_text(encoding="utf-8"))
    del data["features"][2]["properties"]["code"]
    path = tmp_path / "nocode.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"features\[2\]"):
        load_geojson(path, REGIONS)


def test_dashboard_without_map_says_why(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    """It still writes the dashboard when the boundaries lack regions, and explains why."""
    data = json.loads(GEOJSON.read_text(encoding="utf-8"))
    data["features"] = data["features"][:5]
    broken = tmp_path / "five.geojson"
    broken.write_text(json.dumps(data), encoding="utf-8")
    html = build_page(tables, tmp_path / "nomap.html", geojson_path=broken).read_text(
        encoding="utf-8"
    )
    content = payload(html)
    assert [v["view"] for v in content["views"]] == ["trends", "gaps", "heatmap", "drivers"]
    assert not any(key.startswith("map|") for key in content["figures"]["en"])
    notice = re.search(r'<p data-i18n="(t\d+)" class="notice" id="map-unavailable">', html)
    assert notice is not None
    for lang in ("en", "fr"):
        text = content["text"][lang][notice.group(1)]
        assert str(broken) in text
        assert "6, 7, 8" in text
    assert content["text"]["fr"][notice.group(1)].startswith("La carte n'est pas affichée")


# --------------------------------------------------------------------------- page


def test_page_is_self_contained_and_deterministic(
    tables: dict[str, pd.DataFrame], page: str, tmp_path: Path
) -> None:
    """It inlines plotly.js, loads nothing, and writes the same bytes twice."""
    assert "<script src" not in page
    assert "<link" not in page
    markup = re.sub(r"<script.*?</script>", "", page, flags=re.DOTALL)
    assert not re.search(r"https?:|//", markup)
    assert "Plotly.react" in page
    assert "default-src 'none'" in page
    again = build_page(tables, tmp_path / "again.html").read_text(encoding="utf-8")
    assert again == page


def test_every_text_has_both_languages(page: str) -> None:
    """It gives every translated element an English and a French text."""
    content = payload(page)
    keys = set(re.findall(r'data-i18n="(t\d+)"', page))
    assert keys
    for lang in ("en", "fr"):
        assert keys <= set(content["text"][lang])
        assert all(content["text"][lang][k] for k in keys)
    differ = sum(content["text"]["en"][k] != content["text"]["fr"][k] for k in keys)
    assert differ > 0.8 * len(keys)


def test_french_numbers() -> None:
    """It writes numbers with the French decimal comma, thin spaces and a true minus sign."""
    assert number(1234.56, 1, "en") == "1,234.6"
    assert number(1234.56, 1, "fr") == "1\u202f234,6"
    assert number(-0.04, 1, "en") == "0.0"
    assert number(-3.25, 1, "fr", signed=True) == "\u22123,2"
    assert number(3.0, 0, "en", signed=True) == "+3"


def test_figures_are_valid_plotly(tables: dict[str, pd.DataFrame]) -> None:
    """It produces figures that plotly validates, in both languages."""
    for lang in ("en", "fr"):
        figs = dashboard_figures(
            tables, catalogue=CAT, survey=SURVEY, benchmark_labels=BENCHMARKS, lang=lang
        )
        views = {key.split("|")[0] for key in figs}
        assert views == {"gaps", "trends", "map", "heatmap", "drivers"}
        for spec in figs.values():
            go.Figure(spec)


def test_scorecard_shows_a_suppressed_national_value_as_suppressed(
    tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """It shows the word, never the number, when the latest national value is suppressed."""
    t1 = tables["indicator_estimates"].copy()
    hit = (
        (t1["indicator"] == "trust_police")
        & (t1["wave"] == "w3")
        & (t1["domain_set"] == "national")
        & (t1["variant"] == "all")
    )
    hidden = t1.loc[hit, "estimate"].iloc[0]
    t1 = ESTIMATES_TABLE.blank(t1, hit)
    t1.loc[hit, "suppressed"] = True
    t1.loc[hit, "disclosure"] = "suppressed: n<25"
    html = build_page({**tables, "indicator_estimates": t1}, tmp_path / "s.html").read_text("utf-8")
    row = row_html(html, "trust_police")
    assert 'class="value suppressed"' in row
    assert ">suppressed<" in row
    shown = f"{hidden * 100:.1f}%"
    assert shown not in row
    key = re.search(r'class="value suppressed"><span data-i18n="(t\d+)"', row)
    assert key is not None
    assert payload(html)["text"]["fr"][key.group(1)] == "masqué"


def test_not_asked_wave_reads_not_asked(figures: dict[str, dict[str, Any]]) -> None:
    """It writes "not asked" for a wave without the question, never a zero."""
    spec = figures["trends|mission_protects|national"]
    texts = [a["text"] for a in spec["layout"]["annotations"]]
    assert "Not asked in this wave" in texts
    line = next(t for t in spec["data"] if t.get("mode") == "lines+markers")
    assert line["y"][0] is None
    assert all(v is not None for v in line["y"][1:])


# --------------------------------------------------------------------------- suppression


def shown_values(cells: pd.DataFrame, scale: float = 100.0) -> list[float]:
    """Return the displayed values of the unsuppressed estimated cells, sorted."""
    ok = cells[~cells["suppressed"] & (cells["availability"] == "estimated")]
    return sorted(round(v * scale, 6) for v in ok["estimate"])


def test_heatmap_hides_every_suppressed_cell(
    tables: dict[str, pd.DataFrame], figures: dict[str, dict[str, Any]]
) -> None:
    """It shows exactly the unsuppressed values and writes "suppressed" for each hidden cell."""
    spec = figures["heatmap|incl_feel_included"]
    blank, values = spec["data"]
    cells = estimates(tables, "incl_feel_included", "w3")
    cells = cells[cells["domain_set"].isin(HEATMAP_SETS)]
    grid = [v for row in values["z"] for v in row if v is not None]
    assert sorted(round(v, 6) for v in grid) == shown_values(cells)
    words = [w for row in blank["text"] for w in row]
    assert words.count("suppressed") == int(cells["suppressed"].sum()) > 0
    flagged = sum(w.endswith("†") for row in values["text"] for w in row)
    assert flagged == int(cells["flagged"].sum()) > 0


def test_map_colours_only_unsuppressed_regions(
    hidden_region: dict[str, pd.DataFrame], hidden_figures: dict[str, dict[str, Any]]
) -> None:
    """It colours the regions with a value, greys the suppressed ones, and covers all regions."""
    indicator, _ = HIDDEN
    for wave in ("w1", "w2", "w3"):
        spec = hidden_figures[f"map|{indicator}|{wave}"]
        choropleths = [t for t in spec["data"] if t["type"] == "choropleth"]
        located = [code for t in choropleths for code in t["locations"]]
        assert sorted(located) == REGIONS
        cells = estimates(hidden_region, indicator, wave)
        cells = cells[cells["domain_set"] == "region"]
        valued = cells[~cells["suppressed"]]
        assert choropleths[0]["locations"] == sorted(int(r) for r in valued["region"])
        assert sorted(round(v, 6) for v in choropleths[0]["z"]) == shown_values(cells)
        labels = spec["data"][-1]["text"]
        assert sum("suppressed" in text for text in labels) == int(cells["suppressed"].sum()) > 0


def test_trends_leave_suppressed_points_out(
    hidden_region: dict[str, pd.DataFrame], hidden_figures: dict[str, dict[str, Any]]
) -> None:
    """It draws no point for a suppressed region and marks it on the suppressed strip."""
    indicator, _ = HIDDEN
    spec = hidden_figures[f"trends|{indicator}|region"]
    lines = [t for t in spec["data"] if t.get("mode") == "lines+markers"][1:]
    t1 = hidden_region["indicator_estimates"]
    cells = t1[
        (t1["indicator"] == indicator) & (t1["domain_set"] == "region") & (t1["variant"] == "all")
    ]
    drawn = [v for line in lines for v in line["y"] if v is not None]
    assert sorted(round(v, 6) for v in drawn) == shown_values(cells)
    strip = next(t for t in spec["data"] if t.get("yaxis") == "y2")
    assert len(strip["x"]) == int(cells["suppressed"].sum()) > 0


def test_gaps_chart_every_gap_indicator(
    tables: dict[str, pd.DataFrame], figures: dict[str, dict[str, Any]]
) -> None:
    """It shows each national gap per wave with its confidence interval."""
    spec = figures["gaps"]
    t3 = tables["benchmark_status"]
    gaps = int((t3["type"] == "gap").sum())
    assert len(spec["layout"]["yaxis"]["ticktext"]) == gaps > 1
    assert [t["name"] for t in spec["data"]] == [
        "Wave 1 (March 2025)",
        "Wave 2 (November 2025)",
        "Wave 3 (August 2026)",
    ]
    for trace in spec["data"]:
        assert len(trace["x"]) == gaps
        assert all(v > 0 for v in trace["error_x"]["array"])


def test_a_first_wave_alone_builds_a_dashboard(
    tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """It builds the dashboard of a survey with one wave, which has no changes yet."""
    first = {
        "indicator_estimates": tables["indicator_estimates"].query("wave == 'w1'"),
        "indicator_trends": tables["indicator_trends"].iloc[0:0],
        "benchmark_status": tables["benchmark_status"],
        "methodology": tables["methodology"].query("wave == 'w1'"),
    }
    html = build_page(first, tmp_path / "first.html").read_text(encoding="utf-8")
    content = payload(html)
    assert any(key.startswith("trends|") for key in content["figures"]["en"])


def test_trend_waves_are_spaced_by_fieldwork_dates(tables: dict[str, pd.DataFrame]) -> None:
    """It places each wave at its fieldwork midpoint (day) on the x axis; evenly without dates."""
    spec = dashboard_figures(tables, catalogue=CAT, survey=SURVEY, benchmark_labels=BENCHMARKS)[
        "trends|incl_feel_included|national"
    ]
    days = [
        w.fieldwork.start.toordinal() + (w.fieldwork.end - w.fieldwork.start).days // 2
        for w in SURVEY.waves
        if w.fieldwork is not None
    ]
    assert len(days) == 3
    ticks = spec["layout"]["xaxis"]["tickvals"]
    assert ticks[0] == 0 and ticks[-1] == 2
    # 8 months then 9 months: the second gap is wider, in proportion to the days elapsed.
    assert (ticks[2] - ticks[1]) / (ticks[1] - ticks[0]) == pytest.approx(
        (days[2] - days[1]) / (days[1] - days[0]), rel=1e-9
    )
    assert ticks[1] != pytest.approx(1.0, abs=0.01)
    line = next(t for t in spec["data"] if t.get("mode") == "lines+markers")
    assert line["x"] == ticks
    undated = SURVEY.model_copy(
        update={"waves": [w.model_copy(update={"fieldwork": None}) for w in SURVEY.waves]}
    )
    even = dashboard_figures(tables, catalogue=CAT, survey=undated, benchmark_labels=BENCHMARKS)
    assert even["trends|incl_feel_included|national"]["layout"]["xaxis"]["tickvals"] == [0, 1, 2]


def test_every_figure_says_its_dont_know_policy(tables: dict[str, pd.DataFrame]) -> None:
    """Each figure's note says whether "don't know" is kept in the base or excluded."""
    t1 = tables["indicator_estimates"]
    types = dict(zip(t1["indicator"], t1["type"], strict=True))
    for lang, kept, excluded in (
        ("en", "kept in the base", "are excluded from the base"),
        ("fr", "est inclus dans la base", "sont exclus de la base"),
    ):
        specs = dashboard_figures(
            tables, catalogue=CAT, survey=SURVEY, benchmark_labels=BENCHMARKS, lang=lang
        )
        for key, spec in specs.items():
            if key.startswith("drivers|"):
                continue  # a model of associations, not an estimate with a base
            notes = " ".join(a.get("text", "") for a in spec["layout"].get("annotations", []))
            if key == "gaps":
                assert kept in notes or excluded in notes or "scores" in notes, key
            elif types[key.split("|")[1]] in ("mean", "index"):
                assert excluded in notes and kept not in notes, key
            else:
                assert kept in notes, key
    assert {"mean", "index"} & set(types.values()) and "proportion" in types.values()


# --------------------------------------------------------------------------- statuses


def test_summary_tallies_each_benchmark_from_the_status_table(
    tables: dict[str, pd.DataFrame], page: str
) -> None:
    """It counts each benchmark's statuses at the top, as Table 3 has them, in both languages."""
    content = payload(page)
    status = tables["benchmark_status"]
    assert page.index('id="summary"') < page.index('id="scorecard"')
    for bench, group in status.groupby("benchmark"):
        row = re.search(rf'<tr data-benchmark="{bench}">(.*?)</tr>', page)
        assert row is not None
        chips = re.findall(
            r'<span data-i18n="(t\d+)" class="badge [^"]+" data-status="([^"]+)"', row.group(1)
        )
        counts = group["status"].value_counts().to_dict()
        assert {s for _, s in chips} == set(counts)
        for key, name in chips:
            assert content["text"]["en"][key].split(" ", 1)[0] == str(counts[name])
    assert set(status["status"]) == {"on track", "off track", "insufficient evidence", "no target"}
    english = set(content["text"]["en"].values())
    french = set(content["text"]["fr"].values())
    assert "1 on track" in english and "1 en bonne voie" in french
    assert "No target (monitoring)" in english and "Sans cible (suivi)" in french


def test_statuses_are_defined_on_the_page_in_both_languages(page: str) -> None:
    """It defines every status in the scorecard and the methodology, from perception.status."""
    content = payload(page)
    for status in STATUSES:
        for lang in LANGS:
            text = capital(status_definition(status, lang))
            key = next(k for k, v in content["text"][lang].items() if v == text)
            assert page.count(f'<dd data-i18n="{key}">') == 2, status


def test_a_change_that_excludes_zero_but_is_not_significant_says_why(
    tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """It says next to "no clear change" that the word accounts for many comparisons."""
    t2 = tables["indicator_trends"].copy()
    hit = (
        (t2["indicator"] == "safe_walk_night")
        & (t2["wave"] == "w3")
        & (t2["comparison"] == "previous")
        & (t2["domain_set"] == "national")
        & (t2["variant"] == "all")
    )
    # A change whose unadjusted interval excludes 0 but whose BH-adjusted p is above 0.05.
    t2.loc[hit, ["estimate", "ci_low", "ci_high", "direction"]] = [0.033, 0.004, 0.062, "no change"]
    html = build_page({**tables, "indicator_trends": t2}, tmp_path / "adj.html").read_text("utf-8")
    row = row_html(html, "safe_walk_night")
    assert "+3.3\u00a0pts" in row and "[+0.4, +6.2]" in row
    assert "65.0% by 31 December 2026" in row
    assert "no clear change once adjusted for the many comparisons made" in row
    assert "account for the many comparisons made" in html


# --------------------------------------------------------------------------- key findings


#: The demo's inclusion indicators built on the items with planted effects, where women and
#: youth are made worse off (``PLANTED_EFFECTS.gender_gap`` and ``youth_gap`` are negative).
PLANTED_INCLUSION = ("incl_feel_included", "incl_views_considered", "voice_system_say")


def test_key_findings_name_the_groups_the_demo_made_worse_off(
    tables: dict[str, pd.DataFrame],
) -> None:
    """It finds women and youth, planted worse off; few findings (FDR 5%) are of men or adults."""
    assert max(PLANTED_EFFECTS.gender_gap) < 0 and PLANTED_EFFECTS.youth_gap < 0
    data = prepare(tables, catalogue=CAT, survey=SURVEY, benchmark_labels=BENCHMARKS)
    findings = group_findings(data)
    found = [(f.column, f.code) for f in findings]
    planted = [(f.column, f.code) for f in findings if f.indicator in PLANTED_INCLUSION]
    false = [f for f in planted if f in {("gender", 1), ("youth", 2)}]
    assert len(false) <= 0.05 * len(planted)
    assert {("gender", 2), ("youth", 1)} <= set(planted)
    assert len(set(found)) > len(set(planted))
    assert all(f.p_adjusted < 0.05 and (f.ci_low > 0 or f.ci_high < 0) for f in findings)


def test_key_findings_are_at_the_top_in_both_languages(
    tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """It lists the groups worse off and a widening gap in the summary panel, EN and FR."""
    t2 = tables["indicator_trends"].copy()
    gap = "incl_gender_gap"
    hit = (
        (t2["indicator"] == gap)
        & (t2["wave"] == "w3")
        & (t2["comparison"] == "baseline")
        & (t2["domain_set"] == "national")
        & (t2["variant"] == "all")
    )
    t1 = tables["indicator_estimates"]
    latest = t1[
        (t1["indicator"] == gap)
        & (t1["wave"] == "w3")
        & (t1["domain_set"] == "national")
        & (t1["variant"] == "all")
    ]["estimate"].iloc[0]
    # The gap doubled since w1 (moved half its size further from zero), significantly.
    assert abs(latest) > 0.01
    change = latest / 2
    margin = abs(change) / 4
    t2.loc[hit, ["estimate", "ci_low", "ci_high"]] = [change, change - margin, change + margin]
    t2.loc[hit, "direction"] = "worsening" if change < 0 else "improving"
    html = build_page({**tables, "indicator_trends": t2}, tmp_path / "gap.html").read_text("utf-8")
    summary = html[html.index('id="summary"') : html.index('id="scorecard"')]
    content = payload(html)
    keys = re.findall(r'<li data-i18n="(t\d+)" class="finding', summary)
    english = [content["text"]["en"][k] for k in keys]
    french = [content["text"]["fr"][k] for k in keys]
    assert any("(Region): worse off than nationally on" in text for text in english)
    assert any("(Région)\u202f: en retrait" in text for text in french)
    label = tables["benchmark_status"].set_index("indicator").loc[gap]
    assert english[-1].startswith(f"“{label['label_en']}” widened since")
    assert french[-1].startswith(f"«\u202f{label['label_fr']}\u202f» s'est creusé")


def test_heatmap_rows_title_scale_and_imprecision_marks(
    tables: dict[str, pd.DataFrame], figures: dict[str, dict[str, Any]]
) -> None:
    """It has plural, sex-only and age-only rows, its indicator's title, a 0-100 scale, ~ marks."""
    indicator = "state_presence"
    spec = figures[f"heatmap|{indicator}"]
    values = spec["data"][1]
    rows = values["y"]
    assert rows[:3] == ["Everyone", "Men", "Women"]
    assert "18-24" in rows and "Women, 18-24" in rows
    label = tables["benchmark_status"].set_index("indicator").loc[indicator, "label_en"]
    assert spec["layout"]["title"]["text"] == f"<b>{label}</b>"
    assert (values["zmin"], values["zmax"]) == (0.0, 100.0)
    cells = estimates(tables, indicator, "w3")
    cells = cells[cells["domain_set"].isin(HEATMAP_SETS) & ~cells["suppressed"]]
    wide = int(((cells["ci_high"] - cells["ci_low"]) * 100 > 20).sum())
    marked = sum(text.startswith("~") for row in values["text"] for text in row)
    assert marked == wide > 0
    notes = spec["layout"]["annotations"][-1]["text"]
    assert "~ 95% confidence interval wider than 20 pts: imprecise" in notes


def test_gaps_view_picks_any_gap_by_group(
    tables: dict[str, pd.DataFrame], figures: dict[str, dict[str, Any]], page: str
) -> None:
    """It offers every catalogue gap in the Gaps view, each nationally and by every group."""
    t3 = tables["benchmark_status"]
    gaps = list(t3.loc[t3["type"] == "gap", "indicator"])
    options = re.findall(
        r'<option data-i18n="t\d+" value="([^"]*)"',
        page.split('id="gaps-indicator"')[1].split("</select>")[0],
    )
    assert options == ["", *gaps]
    spec = figures["gaps|incl_gender_gap"]
    t1 = tables["indicator_estimates"]
    cells = t1[
        (t1["indicator"] == "incl_gender_gap")
        & ~t1["domain_set"].str.contains("×")
        & (t1["variant"] == "all")
    ]
    groups = cells[(cells["wave"] == "w3")]
    assert spec["layout"]["yaxis"]["ticktext"][0] == "National"
    assert len(spec["layout"]["yaxis"]["ticktext"]) == len(groups) > 1 + len(REGIONS)
    drawn = [v for trace in spec["data"] for v in trace["x"]]
    assert sorted(round(v, 6) for v in drawn) == shown_values(cells)


def test_methodology_quotes_the_questions_in_both_languages(page: str) -> None:
    """It quotes each indicator's question as the catalogue words it, in English and French."""
    content = payload(page)
    quoted = re.findall(r'<dd data-i18n="(t\d+)" class="question">', page)
    wording = [q for qs in INPUTS["questions"].values() for q in qs]
    assert len(quoted) == len(wording) > 0
    shown = [(content["text"]["en"][k], content["text"]["fr"][k]) for k in quoted]
    assert sorted(shown) == sorted((q.en, q.fr) for q in wording)  # in the scorecard's order


def test_question_wording_comes_from_the_items_of_each_indicator() -> None:
    """It maps each indicator of config/indicators.yaml to its items' catalogue questions."""
    indicators = load_indicators(REPO / "config" / "indicators.yaml", CAT)
    wording = question_wording(indicators, CAT)
    for ind in indicators.indicators:
        expected = [CAT.variables[i].question for i in ind.items or []]
        assert wording.get(ind.id, []) == [q for q in expected if q is not None]
    assert wording


def test_domain_minus_total_variance_matches_r_on_strata() -> None:
    """The group-vs-national variance equals R's svycontrast on svyby means by stratum."""
    golden = json.loads((REPO / "tests" / "reference" / "group_vs_national.json").read_text())
    assert golden["meta"]["survey"] == "4.1.1"
    for case in golden["cases"]:
        variance = domain_minus_total_variance(case["se_group"], case["se_national"], case["share"])
        assert math.sqrt(variance) == pytest.approx(case["se_difference"], rel=1e-6), case


# --------------------------------------------------------------------------- model-based map


@pytest.fixture(scope="module")
def with_areas(
    hidden_region: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pd.DataFrame]:
    """Return the tables with a region hidden and the small-area table published from them."""
    return with_small_areas(hidden_region, tmp_path_factory.mktemp("areas"))


def _area_rows(tables: dict[str, pd.DataFrame], indicator: str, wave: str) -> pd.DataFrame:
    """Return the published small-area rows of an indicator and wave by region, variant all."""
    areas = tables[SMALL_AREAS]
    mine = areas[
        areas["indicator"].eq(indicator)
        & areas["wave"].eq(wave)
        & areas["variant"].eq("all")
        & areas["domain_set"].eq("region")
    ]
    return mine.set_index("area").sort_index()


def test_model_based_map_shows_the_published_small_area_table(
    with_areas: dict[str, pd.DataFrame],
) -> None:
    """Its values are the small-area table's, each labelled model-based; hidden stays hidden."""
    data = prepare(with_areas, catalogue=CAT, survey=SURVEY, benchmark_labels=BENCHMARKS)
    original, region = HIDDEN
    for lang, word in (("en", "model-based"), ("fr", "fondée sur un modèle")):
        specs = dashboard_figures(
            with_areas, catalogue=CAT, survey=SURVEY, benchmark_labels=BENCHMARKS, lang=lang
        )
        for indicator in AREA_INDICATORS:
            ind = data.indicators[indicator]
            for wave in data.waves:
                rows = _area_rows(with_areas, indicator, wave)
                assert len(rows) == len(REGIONS)
                values, *_ = specs[f"map|{indicator}|{wave}|model"]["data"]
                assert values["locations"] == [int(a) for a in rows.index]
                want = rows["estimate"].to_numpy() * ind.scale
                assert values["z"] == pytest.approx(list(want), rel=1e-12)
                assert all(word in hover for hover in values["customdata"])
                cvs = [f"CV {number(100 * cv, 1, lang)}" for cv in rows["cv"]]
                assert all(cv in h for cv, h in zip(cvs, values["customdata"], strict=True))
                if indicator == original:  # the hidden region: synthetic, its direct value hidden
                    assert rows.loc[region, "kind"] == "synthetic"
                    hover = values["customdata"][values["locations"].index(region)]
                    direct = "Direct estimate" if lang == "en" else "Estimation directe"
                    hidden = "suppressed" if lang == "en" else "masqué"
                    assert f"{direct}: {hidden}" in hover
        subtitle = specs[f"map|{original}|w3|model"]["layout"]["title"]["subtitle"]["text"]
        assert ("model-based" if lang == "en" else "fondées sur un modèle") in subtitle
        direct = specs[f"map|{original}|w3"]["data"]
        assert region not in direct[0]["locations"] and region in direct[1]["locations"]


def test_model_based_map_without_estimates_for_an_indicator_says_so(
    with_areas: dict[str, pd.DataFrame],
) -> None:
    """An indicator without small-area estimates has a grey model-based map that says why."""
    specs = dashboard_figures(with_areas, catalogue=CAT, survey=SURVEY, benchmark_labels=BENCHMARKS)
    others = {key.split("|")[1] for key in specs if key.startswith("map|")} - set(AREA_INDICATORS)
    assert others
    for indicator in others:
        spec = specs[f"map|{indicator}|w3|model"]
        values, grey, _ = spec["data"]
        assert values["locations"] == [] and sorted(grey["locations"]) == REGIONS
        notes = " ".join(a["text"] for a in spec["layout"]["annotations"])
        assert "No model-based estimates for this indicator" in notes


def test_refuses_a_small_area_table_that_shows_a_hidden_area(
    with_areas: dict[str, pd.DataFrame],
) -> None:
    """A small-area table with an EBLUP or a direct value for a hidden region is refused."""
    indicator, region = HIDDEN
    areas = with_areas[SMALL_AREAS]
    hit = areas["indicator"].eq(indicator) & areas["area"].eq(region)
    for column, value in (("kind", "eblup"), ("direct", 0.5)):
        leaked = areas.copy()
        leaked.loc[hit, column] = value
        with pytest.raises(ValidationError, match="shows what the published indicator table"):
            prepare(
                {**with_areas, SMALL_AREAS: leaked},
                catalogue=CAT,
                survey=SURVEY,
                benchmark_labels=BENCHMARKS,
            )


def test_map_selector_and_method_only_with_small_areas(
    with_areas: dict[str, pd.DataFrame], page: str, tmp_path: Path
) -> None:
    """The direct/model selector and the method's description appear only with small areas."""
    assert 'id="map-basis"' not in page
    assert not [key for key in payload(page)["figures"]["en"] if key.count("|") == 3]
    modelled = build_page(with_areas, tmp_path / "areas.html").read_text(encoding="utf-8")
    assert 'id="map-basis"' in modelled
    data = payload(modelled)
    assert ["map-indicator", "map-wave", "map-basis"] in [v["selects"] for v in data["views"]]
    method = {
        "en": ("Fay-Herriot", "(REML)", "Prasad-Rao", "arcsine", "synthetic", "model-based"),
        "fr": ("Fay-Herriot", "(REML)", "Prasad-Rao", "arc sinus", "synthétique", "fondées sur"),
    }
    for lang, words in method.items():
        text = " ".join(data["text"][lang].values())
        assert all(word in text for word in words), lang
    # The report images keep the direct map.
    views = report_views(
        dashboard_figures(with_areas, catalogue=CAT, survey=SURVEY, benchmark_labels=BENCHMARKS)
    )
    assert [key for key in views if key.startswith("map|")] == ["map|incl_feel_included|w3"]


def test_direct_map_hover_gives_the_cv(
    tables: dict[str, pd.DataFrame], figures: dict[str, dict[str, Any]]
) -> None:
    """Each region's hover on the direct map gives its CV, standard error / estimate."""
    cells = estimates(tables, "incl_feel_included", "w3")
    cells = cells[cells["domain_set"].eq("region")].set_index("region").sort_index()
    values = figures["map|incl_feel_included|w3"]["data"][0]
    for code, hover in zip(values["locations"], values["customdata"], strict=True):
        cv = cells.loc[code, "se"] / cells.loc[code, "estimate"]
        assert f"CV {number(100 * cv, 1, 'en')}%" in hover
