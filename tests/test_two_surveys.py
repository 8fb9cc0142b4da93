"""One deployment of two surveys run end to end, and what each of its runs must show.

The deployment (:func:`demo_project.build_two_surveys`) runs ``demo_b`` with ``perception run
--survey`` and then the demo with ``make demo``, once for this module: the surveys keep their
data apart, the demo's small-area estimates are published, and ``demo_b`` (no GeoJSON,
reordered domains, other benchmarks) is published too.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest
from demo_project import REORDERED_DOMAINS, TwoSurveys, build_two_surveys

from perception.config import load_catalogue, load_indicators, load_survey
from perception.small_area import audit_small_areas
from perception.tables import SMALL_AREAS, TABLES, to_export_scale
from pipelines.definitions import build_definitions

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_surveys(tmp_path_factory: pytest.TempPathFactory, demo_raw: Path) -> Iterator[TwoSurveys]:
    """Build and run the two-survey deployment once for the module."""
    with pytest.MonkeyPatch.context() as env:
        env.delenv("DAGSTER_HOME", raising=False)  # the runs' own instance, in root/.dagster
        yield build_two_surveys(tmp_path_factory.mktemp("two-surveys") / "project", demo_raw)


def test_two_surveys_in_one_deployment_keep_their_data_apart(two_surveys: TwoSurveys) -> None:
    """It runs two surveys' waves and reporting in one deployment into separate outputs.

    ``perception run --survey`` runs one of them, and ``make demo`` the demo alone.
    """
    root = two_surveys.root
    defs = build_definitions(root)
    wave_job = defs.resolve_job_def("wave_job")
    assert wave_job.partitions_def is not None
    assert wave_job.partitions_def.get_partition_keys() == [
        "demo|w1",
        "demo|w2",
        "demo|w3",
        "demo_b|w1",
        "demo_b|w2",
    ]
    schedule = defs.resolve_schedule_def("weekly_reporting")
    keys = []
    with dg.instance_for_test() as instance:
        for day in (2, 9):  # two Mondays: each week's tick must run again
            ticked = schedule.evaluate_tick(
                dg.build_schedule_context(
                    instance=instance,
                    repository_def=defs.get_repository_def(),
                    scheduled_execution_time=datetime.datetime(
                        2026, 11, day, 6, tzinfo=datetime.UTC
                    ),
                )
            )
            assert [r.partition_key for r in ticked.run_requests or []] == ["demo", "demo_b"]
            keys += [r.run_key for r in ticked.run_requests or []]
    assert len(set(keys)) == 4
    processed = root / "data" / "processed"
    survey_b, demo = two_surveys.survey_b, two_surveys.demo
    assert survey_b.code == 0, survey_b.stdout
    assert survey_b.processed == ["demo_b"]
    assert "  wave w2\n    harmonized_responses     ok" in survey_b.stdout
    assert demo.code == 0, demo.stdout
    assert "Running the demo survey only (`perception run` runs demo_b)" in demo.stdout
    assert demo.processed == ["demo", "demo_b"]
    shown: dict[str, pd.Series] = {}
    for survey, waves in (("demo", ["w1", "w2", "w3"]), ("demo_b", ["w1", "w2"])):
        estimates = sorted(p.stem for p in (processed / survey / "estimates").iterdir())
        assert estimates == waves
        published = pd.read_parquet(processed / survey / "published" / "estimates.parquet")
        assert set(published["survey"]) == {survey}
        assert sorted(set(published["wave"])) == waves
        shown[survey] = published.loc[~published["suppressed"] & published["n"].notna(), "n"]
        exported = pd.read_csv(processed / survey / "exports" / "latest" / "indicators.csv")
        assert set(exported["survey"]) == {survey}
        assert (root / "dashboards" / survey / "dashboard.html").is_file()
    assert sorted(p.name for p in (root / "dashboards").iterdir()) == ["demo", "demo_b"]
    assert shown["demo"].min() < 40 <= shown["demo_b"].min()


def test_pipeline_writes_model_based_area_table(two_surveys: TwoSurveys) -> None:
    """The wave job writes small_area/<wave>.parquet for indicators listing areas, checks pass."""
    assert two_surveys.demo.code == 0, two_surveys.demo.stdout
    processed = two_surveys.root / "data" / "processed" / "demo"
    table = pd.read_parquet(processed / "small_area" / "w1.parquet")
    assert set(table["indicator"]) == {"incl_feel_included", "state_services_score"}
    assert (table["kind"] == "eblup").all() and len(table) == 2 * 2 * 8
    assert table["estimate"].between(0, 5).all() and (table["mse"] > 0).all()
    estimates = pd.read_parquet(processed / "estimates" / "w1.parquet")
    direct = estimates[
        estimates["indicator"].eq("incl_feel_included")
        & estimates["variant"].eq("all")
        & estimates["domain_set"].eq("region")
    ].set_index("region")
    mine = table[table["indicator"].eq("incl_feel_included") & table["variant"].eq("all")]
    mine = mine.set_index("area")
    np.testing.assert_allclose(mine["direct"], direct.loc[mine.index, "estimate"], rtol=1e-12)
    # A shrinkage estimate lies between the direct and the synthetic estimate.
    low = np.minimum(mine["direct"], np.sin(mine["synthetic"].clip(0, np.pi / 2)) ** 2)
    high = np.maximum(mine["direct"], np.sin(mine["synthetic"].clip(0, np.pi / 2)) ** 2)
    assert ((mine["estimate"] >= low - 1e-12) & (mine["estimate"] <= high + 1e-12)).all()
    # The published table: refitted on the published estimates of every probability wave.
    published = pd.read_parquet(processed / "published" / "estimates.parquet")
    areas = pd.read_parquet(processed / "published" / "small_areas.parquet")
    assert set(areas["wave"]) == {"w1", "w2", "w3"}
    assert audit_small_areas(areas, published) == []
    first = areas[areas["wave"].eq("w1")].reset_index(drop=True)
    hidden = published["suppressed"] & published["domain_set"].eq("region")
    if not hidden[published["wave"].eq("w1")].any():
        pd.testing.assert_frame_equal(first, table.reset_index(drop=True))
    # Exported beside the other tables (and read back and audited before publication).
    latest = processed / "exports" / "latest"
    exported = pd.read_parquet(latest / "small_areas.parquet")
    pd.testing.assert_frame_equal(exported, to_export_scale(areas, TABLES[SMALL_AREAS]))
    percent = areas["unit"].eq("percent")
    np.testing.assert_allclose(
        exported.loc[percent, "estimate"], 100 * areas.loc[percent, "estimate"]
    )
    with duckdb.connect(str(latest / "indicators.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM small_area_estimates").fetchone()
    assert rows is not None and rows[0] == len(areas)
    csv_text = (latest / "small_areas.csv").read_text(encoding="utf-8-sig")
    assert csv_text.count("\n") == len(areas) + 1
    shown = areas[areas["variant"].eq("all")]
    for name, sheet, word in (
        ("indicators.xlsx", "Small areas (model)", "model-based"),
        ("indicators_fr.xlsx", "Zones (modèle)", "fondée sur un modèle"),
    ):
        book = openpyxl.load_workbook(latest / name, read_only=True)
        body = [
            r
            for r in book[sheet].iter_rows(values_only=True)
            if isinstance(r[3], str) and word in r[3]
        ]
        assert len(body) == len(shown)
        np.testing.assert_allclose(sorted(r[4] for r in body), sorted(shown["estimate"]))
    # The dashboard (read back and audited like the exports) offers the model-based map.
    page = (two_surveys.root / "dashboards" / "demo" / "dashboard.html").read_text(encoding="utf-8")
    assert 'id="map-basis"' in page and "map|incl_feel_included|w3|model" in page


def test_reporting_job_without_geojson_and_other_benchmark_ids(two_surveys: TwoSurveys) -> None:
    """The Dagster jobs publish a survey with no GeoJSON, reordered domains, other benchmarks.

    That survey is ``demo_b`` of the shared two-survey deployment (``perception run``).
    """
    root, run = two_surveys.root, two_surveys.survey_b
    assert run.code == 0, run.stdout
    config = load_survey(root / "config" / "demo_b" / "survey.yaml", root=root)
    assert config.geojson is None and config.map_variable is None
    benchmarks = load_indicators(
        config.resolve(config.indicators), load_catalogue(config.resolve(config.variables))
    ).benchmarks
    assert "peace_inclusion" in benchmarks and "inclusion" not in benchmarks
    published = pd.read_parquet(
        root / "data" / "processed" / "demo_b" / "published" / "trends.parquet"
    )
    start = list(published.columns).index("domain_set") + 1
    reordered = REORDERED_DOMAINS
    assert tuple(published.columns[start : start + len(reordered)]) == reordered
    assert "region×gender" in set(published["domain_set"])
    html = (root / "dashboards" / "demo_b" / "dashboard.html").read_text(encoding="utf-8")
    assert "No boundary file is configured" in html and "heatmap|incl_feel_included" in html
