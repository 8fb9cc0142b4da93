"""The Dagster layer end to end on a copy of the demo project: outputs, checks, isolation, PII."""

from __future__ import annotations

import hashlib
import pickle
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import docx
import duckdb
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
from demo_project import DemoRun, distinctive, grep, heatmap_suppressed
from pypdf import PdfReader

from perception.config import SURVEY_FILE, load_survey
from perception.demo import generate, pii_canaries
from perception.flow import CHECKS
from perception.io import read_survey
from perception.status import STATUSES
from pipelines.definitions import PROJECT_ROOT, build_definitions
from pipelines.run import open_instance


def _digest(path: Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _outputs(root: Path) -> dict[Path, str]:
    """Return every processed file of a project with its digest."""
    return {p: _digest(p) for p in sorted((root / "data" / "processed").rglob("*")) if p.is_file()}


@dataclass(frozen=True)
class Rerun:
    """A copy of the demo run whose wave w3 was run again, with its files before and after."""

    result: dg.ExecuteInProcessResult
    raw_before: dict[Path, tuple[str, int]]
    raw_after: dict[Path, tuple[str, int]]
    outputs_before: dict[Path, str]
    outputs_after: dict[Path, str]


def _raw_files(root: Path) -> dict[Path, tuple[str, int]]:
    """Return every raw file with its digest and modification time."""
    return {
        p: (_digest(p), p.stat().st_mtime_ns) for p in sorted((root / "data" / "raw").iterdir())
    }


@pytest.fixture(scope="module")
def rerun(demo: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Rerun:
    """Run wave w3 again on a copy of the demo run, unchanged inputs."""
    root = demo.copy(tmp_path_factory.mktemp("rerun") / "project").root
    raw, outputs = _raw_files(root), _outputs(root)
    result = _run_wave(root, "demo|w3")
    return Rerun(result, raw, _raw_files(root), outputs, _outputs(root))


def _run_wave(root: Path, wave: str) -> dg.ExecuteInProcessResult:
    """Run the wave job for one partition on an ephemeral instance."""
    job = build_definitions(root).resolve_job_def("wave_job")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return job.execute_in_process(
            partition_key=wave, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )


def test_definitions_load_with_described_grouped_assets() -> None:
    """It loads the code location with a description, group and kind on every asset."""
    defs = build_definitions(PROJECT_ROOT)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {
        "raw_survey_file",
        "harmonized_responses",
        "weights",
        "indicator_estimates",
        "indicator_drivers",
        "small_area_estimates",
        "indicator_trends",
        "indicator_status",
        "exports",
        "dashboard_html",
        "results_brief",
    }
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, key
        assert node.group_name in {"ingest", "weighting", "estimation", "reporting"}, key
        assert node.kinds, key
    checks = {key.name for key in graph.asset_check_keys}
    assert checks == {name for step in CHECKS.values() for name in step}
    assert len(checks) == sum(len(step) for step in CHECKS.values())
    assert defs.resolve_schedule_def("weekly_reporting").job_name == "reporting_job"
    waves = [f"demo|{w.id}" for w in load_survey(PROJECT_ROOT / SURVEY_FILE).waves]
    job = defs.resolve_job_def("wave_job")
    assert job.partitions_def is not None
    assert job.partitions_def.get_partition_keys() == waves
    reporting = defs.resolve_job_def("reporting_job")
    assert reporting.partitions_def is not None
    assert reporting.partitions_def.get_partition_keys() == ["demo"]


def test_exports_depend_on_every_table_they_read() -> None:
    """It builds the exports after the trends, the status, and every wave's drivers and weights."""
    graph = build_definitions(PROJECT_ROOT).resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey("exports")).parent_keys}
    assert parents == {"indicator_trends", "indicator_status", "indicator_drivers", "weights"}


def test_demo_publishes_and_exports_the_drivers_table(demo: DemoRun) -> None:
    """It exports every wave's drivers (CSV, Parquet, DuckDB, a sheet), no level under 25."""
    processed = demo.root / "data" / "processed" / "demo"
    published = pd.read_parquet(processed / "published" / "drivers.parquet")
    latest = processed / "exports" / "latest"
    assert set(published["wave"]) == {"w1", "w2", "w3"}
    assert set(published["indicator"]) == {"incl_feel_included"}
    assert set(published["driver"]) == {
        "gender",
        "age_band",
        "region",
        "urban_rural",
        "displacement",
        "disability",
        "aware_agreement",
        "trust_mission",
    }
    assert (published[["n_level", "n_reference"]] >= 25).all(axis=None)
    assert not published["suppressed"].any()
    exported = pd.read_parquet(latest / "drivers.parquet")
    pd.testing.assert_frame_equal(exported[list(published.columns)], published)
    assert exported["indicator_label_en"].notna().all()
    assert len(pd.read_csv(latest / "drivers.csv", encoding="utf-8-sig")) == len(published)
    with duckdb.connect(str(latest / "indicators.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM indicator_drivers").fetchone()
    assert rows == (len(published),)
    book = openpyxl.load_workbook(latest / "indicators.xlsx", read_only=True)
    assert "Drivers" in book.sheetnames


def test_demo_writes_every_wave_output(demo: DemoRun) -> None:
    """It writes harmonized, weighted, report and estimate Parquet files for every wave."""
    processed = demo.root / "data" / "processed" / "demo"
    for kind in (
        "harmonized",
        "weighted",
        "weighting_report",
        "estimates",
        "reliability",
        "drivers",
    ):
        assert sorted(p.name for p in (processed / kind).glob("*.parquet")) == [
            "w1.parquet",
            "w2.parquet",
            "w3.parquet",
        ]
    weighted = pd.read_parquet(processed / "weighted" / "w1.parquet")
    assert (weighted["weight"] > 0).all()
    assert weighted["weight"].sum() == pytest.approx(4_623_899, rel=1e-6)


def test_asset_checks_pass_on_the_demo(rerun: Rerun) -> None:
    """It runs the harmonization and weighting checks on a wave and they all pass."""
    result = rerun.result
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    per_wave = ("harmonize", "weigh", "estimate", "drivers", "small_areas")
    assert {e.check_name for e in evaluations} == {n for s in per_wave for n in CHECKS[s]}
    assert all(e.passed for e in evaluations)
    metadata = result.asset_materializations_for_node("weights")[0].metadata
    assert 1.0 < metadata["kish_deff"].value < 2.5  # type: ignore[operator]


@pytest.fixture(scope="module")
def canaries(demo: DemoRun) -> set[str]:
    """Return the personal-data canaries of the demo's raw files, read once for the module."""
    return pii_canaries(demo.raw)


def test_no_personal_data_canary_in_any_processed_file(demo: DemoRun, canaries: set[str]) -> None:
    """It finds no name, phone, GPS point or comment from the raw files in any processed output."""
    assert len(canaries) > 1000
    files = [p for p in (demo.root / "data" / "processed").rglob("*") if p.is_file()]
    briefs = {".docx", ".pdf"} if shutil.which("chromium") else {".docx"}
    assert {p.suffix for p in files} == {".parquet", ".pickle", ".csv", ".xlsx", ".duckdb", *briefs}
    texts, read = {}, {}
    for path in files:
        digest = _digest(path)
        if digest not in read:  # a file read once per content: exports/latest copies runs/<id>
            frames, text = _contents(path)
            values = {str(v) for f in frames for c in f.columns for v in f[c].dropna().unique()}
            values |= {str(c) for f in frames for c in f.columns}
            read[digest] = (values & canaries, text.encode("utf-8"))
        found, texts[path] = read[digest]
        assert not found, path
    # Inside free text only distinctive canaries are searched: a short number such as a
    # GPS coordinate can occur inside an unrelated number.
    textual = distinctive(canaries)
    assert grep(textual, texts) == []
    # Control: the search finds a canary planted in a copy of one file's text.
    assert grep(textual, {files[0]: texts[files[0]] + textual[0].encode("utf-8")}) == [files[0]]


def _contents(path: Path) -> tuple[list[pd.DataFrame], str]:
    """Return the tables in an output file and its other text (Parquet metadata, CSV text)."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        text = b" ".join((table.schema.metadata or {}).values()).decode("utf-8", "replace")
        return [table.to_pandas()], text
    if path.suffix == ".pickle":  # a wave's weighted design (perception.flow.weigh)
        design = pickle.loads(path.read_bytes())
        return [design.data], ""
    if path.suffix == ".csv":
        return [pd.read_csv(path)], path.read_text(encoding="utf-8-sig")
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
            return [con.execute(f'SELECT * FROM "{n}"').df() for n in names], ""
    if path.suffix == ".docx":
        document = docx.Document(str(path))
        cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
        return [], " ".join([p.text for p in document.paragraphs] + cells)
    if path.suffix == ".pdf":
        return [], " ".join(page.extract_text() or "" for page in PdfReader(path).pages)
    book = openpyxl.load_workbook(path, read_only=True)
    cells = [v for ws in book.worksheets for r in ws.iter_rows(values_only=True) for v in r]
    return [pd.DataFrame({"cell": cells})], " ".join(map(str, cells))


def test_published_outputs_hide_small_cells(demo: DemoRun) -> None:
    """It publishes no value for a cell under 25 respondents, in the tables and the exports."""
    processed = demo.root / "data" / "processed" / "demo"
    latest = pd.read_parquet(processed / "exports" / "latest" / "indicators.parquet")
    published = pd.read_parquet(processed / "published" / "estimates.parquet")
    for table in (latest, published):
        small = table["n"].notna() & (table["n"] < 25) & (table["availability"] == "estimated")
        assert small.sum() > 20
        assert table.loc[small, "suppressed"].all()
        assert (
            table.loc[table["suppressed"], ["estimate", "se", "ci_low", "ci_high"]]
            .isna()
            .all(axis=None)
        )
    status = pd.read_parquet(processed / "published" / "status.parquet")
    assert set(status["status"]) <= set(STATUSES)


def test_raw_files_are_left_untouched(rerun: Rerun) -> None:
    """It reads raw files without changing their bytes or modification times."""
    assert rerun.result.success
    assert rerun.raw_after == rerun.raw_before


def test_rerun_reproduces_byte_identical_outputs(rerun: Rerun) -> None:
    """It writes the same bytes when a wave is run again on unchanged inputs."""
    assert rerun.result.success
    assert rerun.outputs_after == rerun.outputs_before


def test_a_fresh_sensor_starts_from_the_last_good_runs(demo_copy: DemoRun) -> None:
    """A fresh sensor re-runs no wave already run on the same bytes, only a changed one."""
    copy = demo_copy.root
    defs = build_definitions(copy)
    sensor = defs.resolve_sensor_def("raw_files_sensor")

    def requested() -> list[str]:
        with open_instance(copy) as instance:
            context = dg.build_sensor_context(instance=instance, cursor=None, definitions=defs)
            result = sensor.evaluate_tick(context)
        return [r.partition_key for r in result.run_requests or [] if r.partition_key]

    assert requested() == []
    w2 = copy / "data" / "raw" / "demo_w2_university.dta"
    w2.write_bytes(w2.read_bytes() + b" ")
    assert requested() == ["demo|w2"]


def test_a_bad_wave_fails_alone_and_keeps_every_published_output(demo_copy: DemoRun) -> None:
    """It fails a corrupt wave's run with the reader's message and leaves all outputs intact."""
    root = demo_copy.root
    w3 = [p for p in (root / "data" / "processed" / "demo").glob("*/w3.*") if p.is_file()]
    assert len(w3) == 8
    for path in w3:  # as if w3 had not run yet: its run must still write them
        path.unlink()
    published = _outputs(root)
    bad = root / "data" / "raw" / "demo_w2_university.dta"
    bad.write_bytes(bad.read_bytes()[:4000])
    result = _run_wave(root, "demo|w2")
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.error.message)  # type: ignore[union-attr]
    assert "demo_w2_university.dta" in message and "hint:" in message
    assert _outputs(root) == published
    assert _run_wave(root, "demo|w3").success
    assert set(published) < set(_outputs(root))


@pytest.mark.parametrize("headers", ["xml", "label"])
def test_demo_kobo_layouts_read_alike(headers: str, tmp_path: Path) -> None:
    """It reads the demo KoBo export alike with split 0/1 or space-separated select_multiple."""
    frames, questions = {}, {}
    for layout in ("split", "space"):
        path = generate(
            tmp_path / layout, waves=["w3"], kobo_headers=headers, kobo_multiple=layout
        )[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frames[layout], metadata = read_survey(path)
        assert len(metadata.multiple_response) == 1
        ((question, options),) = metadata.multiple_response.items()
        assert len(options) == 8
        questions[layout] = [f"{question}/{option}" for option in options]
    split, space = frames["split"], frames["space"]
    others = [c for c in split.columns if c not in questions["split"]]
    pd.testing.assert_frame_equal(split[others], space[others])
    picked = [frame[questions[layout]].sum(axis=1) for layout, frame in frames.items()]
    pd.testing.assert_series_equal(*picked)
    if headers == "xml":
        pd.testing.assert_frame_equal(split, space[split.columns])
        assert "sexe" in split.columns and "sources_info/radio" in split.columns
    else:
        assert "Sexe du répondant" in split.columns


def test_demo_dashboard_renders_offline_with_suppressed_cells(
    demo: DemoRun, canaries: set[str]
) -> None:
    """It renders the real demo dashboard in Chromium offline, every region mapped, cells hidden."""
    from playwright.sync_api import sync_playwright
    from test_dashboard_browser import ARGS, CHROMIUM, open_dashboard, texts

    path = demo.root / "dashboards" / "demo" / "dashboard.html"
    assert path.stat().st_size < 10_000_000
    images = sorted((demo.root / "dashboards" / "demo" / "images").rglob("*"))
    pngs = [p for p in images if p.suffix == ".png"]
    charts = [p for p in images if p.suffix in {".png", ".svg"}]
    assert len(pngs) == 10 and len(charts) == 20  # en/ and fr/, each 5 charts × PNG, SVG
    manifests = [p for p in images if p.name == "images.json"]
    assert [p.parent.name for p in manifests] == ["en", "fr"]  # what each image was drawn from
    assert len(images) == 2 + 20 + 2  # the folders, the charts and the manifests, nothing else
    assert {p.name for p in pngs} >= {"drivers_incl_feel_included_w3.png"}
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    published = pd.read_parquet(
        demo.root / "data" / "processed" / "demo" / "published" / "estimates.parquet"
    )
    html = path.read_text(encoding="utf-8")
    assert grep(distinctive(canaries), {path: html.encode("utf-8")}) == []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            opened = open_dashboard(browser, path)
            assert opened.errors == []
            assert {url for url in opened.requests} == {path.as_uri()}
            located = opened.page.evaluate(
                """() => document.getElementById('fig-map').data
                    .filter(t => t.type === 'choropleth')
                    .reduce((n, t) => n + t.locations.length, 0)"""
            )
            assert located == 8
            hidden = heatmap_suppressed(published)
            assert texts(opened.page, "#fig-heatmap").count("suppressed") == len(hidden) > 0
            drivers = pd.read_parquet(
                demo.root / "data" / "processed" / "demo" / "published" / "drivers.parquet"
            )
            points = opened.page.evaluate(
                "() => document.getElementById('fig-drivers').data[0].x.length"
            )
            assert points == int((drivers["wave"] == "w3").sum()) > 0
        finally:
            browser.close()
