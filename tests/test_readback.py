"""The readback audit on a real demo run, then on tampered copies of its published files.

The demo runs once per session through Dagster (every wave, then the reporting job); each
tampering test copies the published outputs to its own folder, writes one hidden number into one
of them, and expects :func:`perception.readback.audit_outputs` to refuse it, naming the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest
from demo_project import DemoRun
from statsmodels.stats.multitest import multipletests

from perception.config import (
    DisclosureRules,
    IndicatorCatalogue,
    Project,
    load_disclosure_rules,
    load_indicators,
    load_project,
)
from perception.dashboard import build_dashboard, page_inputs
from perception.disclosure import recoverable
from perception.errors import ValidationError
from perception.exports import ExportLabels, PublishedTables, write_exports
from perception.readback import PUBLISHED_FILES, audit_outputs, read_published
from perception.storage import write_parquet
from perception.tables import DRIVERS, ESTIMATES, TABLES
from pipelines.definitions import build_definitions

SURVEY = "demo"
KEYS = ["survey", "wave", "indicator", "variant", "domain_set"]
BLOB = re.compile(r'(<script type="application/json" id="dashboard-data">)(.*?)(</script>)', re.S)


@dataclass(frozen=True)
class Run:
    """A demo project after one full run, and whether its readback check passed."""

    root: Path
    project: Project
    indicators: IndicatorCatalogue
    rules: DisclosureRules
    check_passed: bool

    @property
    def processed(self) -> Path:
        """Return the survey's processed-output folder."""
        return self.root / "data" / "processed" / SURVEY

    def copy_outputs(self, to: Path) -> Outputs:
        """Copy the published outputs (exports, published tables, dashboard) under ``to``."""
        shutil.copytree(self.processed / "exports" / "latest", to / "exports")
        shutil.copytree(self.processed / "published", to / "published")
        shutil.copy(self.root / "dashboards" / SURVEY / "dashboard.html", to / "dashboard.html")
        return Outputs(to / "exports", to / "published", to / "dashboard.html")

    def audit(self, outputs: Outputs) -> dict[str, pd.DataFrame]:
        """Run the readback audit on a set of outputs."""
        return audit_outputs(
            self.project,
            self.indicators,
            self.rules,
            exports=outputs.exports,
            published=outputs.published,
            dashboard=outputs.dashboard,
        )

    def exported_estimates(self, outputs: Outputs) -> pd.DataFrame:
        """Return Table 1 as a set of outputs exports it, read back."""
        exported = read_published(outputs.exports, self.project.catalogue.domain_columns)
        return exported["indicator_estimates"]

    def true_values(self) -> pd.DataFrame:
        """Return Table 1 as estimated, before disclosure control (the secrets to protect)."""
        files = sorted((self.processed / "estimates").glob("*.parquet"))
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


@dataclass(frozen=True)
class Outputs:
    """Where a copy of the published outputs is."""

    exports: Path
    published: Path
    dashboard: Path


@pytest.fixture(scope="module")
def run(demo: DemoRun) -> Run:
    """Return the demo run (every wave and the reporting job, through Dagster) with its rules."""
    project = load_project(demo.root / "config" / "survey.yaml", root=demo.root)
    indicators = load_indicators(demo.root / "config" / "indicators.yaml", project.catalogue)
    rules = load_disclosure_rules(demo.root / "config" / "disclosure.yaml")
    passed = demo.checks["dashboard_html:outputs_disclose_nothing"]
    return Run(demo.root, project, indicators, rules, passed)


def _hidden_row(run: Run, table: pd.DataFrame, **where: str) -> tuple[int, pd.Series]:
    """Return a suppressed proportion row of ``table`` matching ``where``, and its true row."""
    domains = list(run.project.catalogue.domain_columns)
    truth = table[KEYS + domains].merge(run.true_values(), on=KEYS + domains, how="left")
    mask = table["suppressed"] & (table["type"] == "proportion")
    for column, value in where.items():
        mask &= table[column] == value
    position = int(mask.to_numpy().nonzero()[0][0])
    assert pd.isna(table["estimate"].iloc[position])
    assert pd.notna(truth["estimate"].iloc[position])
    return position, truth.iloc[position]


def test_readback_passes_on_the_real_outputs(run: Run) -> None:
    """It passes the real run: the pipeline's check passed and the library audit agrees."""
    assert run.check_passed
    outputs = Outputs(
        run.processed / "exports" / "latest",
        run.processed / "published",
        run.root / "dashboards" / SURVEY / "dashboard.html",
    )
    tables = run.audit(outputs)
    estimates = tables["indicator_estimates"]
    # The audit had something to protect: hidden cells, primary and complementary.
    assert estimates["suppressed"].sum() > 50
    assert (estimates["disclosure"] == "suppressed: complementary").any()
    assert estimates.loc[estimates["suppressed"], "estimate"].isna().all()
    # Adjusted p-values are Benjamini-Hochberg over the published tests of a family only.
    trends = tables["indicator_trends"]
    gaps = estimates[(estimates["type"] == "gap") & (estimates["availability"] == "estimated")]
    for table, keys in ((trends, ["comparison", "wave"]), (gaps, ["wave", "variant"])):
        shown = table[~table["suppressed"] & table["p_value"].notna()]
        assert table.loc[table["suppressed"], "p_adjusted"].isna().all()
        for _, family in shown.groupby(keys):
            expected = multipletests(family["p_value"], method="fdr_bh")[1]
            np.testing.assert_allclose(family["p_adjusted"], expected, rtol=1e-12)


def test_every_output_holds_exactly_the_columns_of_its_schema(run: Run) -> None:
    """Every table the run wrote has the columns perception.tables declares, in order."""
    domains = run.project.catalogue.domain_columns
    found: dict[Path, tuple[list[str], list[str]]] = {}
    for kind, name in (("estimates", ESTIMATES), ("drivers", DRIVERS)):
        wanted = list(TABLES[name].columns(domains, published=False))
        for path in sorted((run.processed / kind).glob("*.parquet")):
            found[path] = (list(pd.read_parquet(path).columns), wanted)
    for name, file in PUBLISHED_FILES.items():
        path = run.processed / "published" / file
        found[path] = (list(pd.read_parquet(path).columns), list(TABLES[name].columns(domains)))
    exports = run.processed / "exports" / "latest"
    with duckdb.connect(str(exports / "indicators.duckdb"), read_only=True) as connection:
        for name, schema in TABLES.items():
            described = connection.execute(f'DESCRIBE "{name}"').fetchall()
            columns = {str(r[0]): str(r[1]) for r in described}
            found[exports / f"indicators.duckdb:{name}"] = (
                [f"{c} {t}" for c, t in columns.items()],
                [f"{c} {t}" for c, t in schema.export_columns(domains).items()],
            )
    for file, name in (
        ("indicators.csv", ESTIMATES),
        ("indicators.parquet", ESTIMATES),
        ("drivers.csv", DRIVERS),
        ("drivers.parquet", DRIVERS),
    ):
        path = exports / file
        table = (
            pd.read_csv(path, encoding="utf-8-sig", nrows=1)
            if path.suffix == ".csv"
            else pd.read_parquet(path)
        )
        found[path] = (list(table.columns), list(TABLES[name].export_columns(domains)))
    assert len(found) > 12
    assert {p: c for p, (c, w) in found.items() if c != w} == {}


def test_hidden_value_written_into_the_csv_is_caught(run: Run, tmp_path: Path) -> None:
    """It writes a suppressed cell's true estimate into indicators.csv."""
    outputs = run.copy_outputs(tmp_path)
    path = outputs.exports / "indicators.csv"
    estimates = run.exported_estimates(outputs)
    position, truth = _hidden_row(run, estimates)
    lines = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    column = lines[0].index("estimate")
    assert lines[position + 1][column] == ""
    lines[position + 1][column] = repr(float(truth["estimate"]))
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(lines)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    with pytest.raises(ValidationError) as caught:
        run.audit(outputs)
    assert caught.value.file == str(path)
    assert caught.value.column == "indicator_estimates: estimate"
    assert caught.value.rows == [position]
    assert "a suppressed cell shows a value" in str(caught.value)


def test_hidden_value_written_into_the_workbook_is_caught(run: Run, tmp_path: Path) -> None:
    """It writes a suppressed cell's true estimate (in percent) over its * in indicators.xlsx."""
    outputs = run.copy_outputs(tmp_path)
    path = outputs.exports / "indicators.xlsx"
    estimates = run.exported_estimates(outputs)
    latest = sorted(estimates["wave"].unique())[-1]
    position, truth = _hidden_row(run, estimates, variant="all", wave=latest)
    row = estimates.iloc[position]
    labels = ExportLabels.from_config(
        run.project.survey,
        run.project.catalogue,
        indicators={i.id: i.label.model_dump() for i in run.indicators.indicators},
        benchmarks={k: b.label.model_dump() for k, b in run.indicators.benchmarks.items()},
    )
    codes = {c: int(row[c]) for c in run.project.catalogue.domain_columns if pd.notna(row[c])}
    wanted = (
        labels.indicators[str(row["indicator"])]["en"],
        labels.domain_set(str(row["domain_set"]), "en"),
        labels.domain(str(row["domain_set"]), codes, "en"),
    )
    book = openpyxl.load_workbook(path)
    title = labels.benchmarks[str(row["benchmark"])]["en"]
    (sheet,) = [s for s in book.worksheets if s["A1"].value == title]
    matches = [
        r
        for r in range(1, sheet.max_row + 1)
        if tuple(sheet.cell(r, c).value for c in (1, 2, 3)) == wanted
    ]
    assert len(matches) == 1
    cell = sheet.cell(matches[0], 9)  # A-C: the row; D-H: previous wave; I: latest estimate
    assert cell.value == "*"
    cell.value = float(truth["estimate"]) * 100
    book.save(path)
    with pytest.raises(ValidationError) as caught:
        run.audit(outputs)
    assert caught.value.file == str(path)
    assert caught.value.column == f"{sheet.title}: cell {cell.coordinate}"
    assert "where the audited tables hide the cell" in str(caught.value)


def test_workbook_that_is_not_a_workbook_is_caught(run: Run, tmp_path: Path) -> None:
    """A workbook that differs from its rebuild and cannot be opened is a finding, not a crash."""
    outputs = run.copy_outputs(tmp_path)
    path = outputs.exports / "indicators_fr.xlsx"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValidationError) as caught:
        run.audit(outputs)
    assert caught.value.file == str(path)
    assert "cannot be read back" in str(caught.value)


def test_hidden_value_written_into_the_dashboard_data_is_caught(run: Run, tmp_path: Path) -> None:
    """It writes a suppressed heatmap cell's true estimate into the dashboard's embedded JSON."""
    outputs = run.copy_outputs(tmp_path)
    page = outputs.dashboard.read_text(encoding="utf-8")
    match = BLOB.search(page)
    assert match is not None
    data = json.loads(match.group(2))
    estimates = run.exported_estimates(outputs)
    key = next(k for k in data["figures"]["en"] if k.startswith("heatmap|"))
    indicator = key.split("|")[1]
    latest = sorted(estimates.loc[estimates["indicator"] == indicator, "wave"].unique())[-1]
    # The heatmap's rows nest gender then gender × age band; its columns are the regions.
    rows: list[dict[str, int]] = [{}]
    level: list[dict[str, int]] = [{}]
    for column in ("gender", "age_band"):
        codes = sorted(int(c) for c in estimates[column].dropna().unique())
        level = [{**r, column: c} for r in level for c in codes]
        rows += level
    regions = [None, *sorted(int(c) for c in estimates["region"].dropna().unique())]
    values = data["figures"]["en"][key]["data"][1]["z"]
    cells = estimates[
        (estimates["indicator"] == indicator)
        & (estimates["wave"] == latest)
        & (estimates["variant"] == "all")
        & (estimates["domain_set"] == "gender×age_band×region")
        & estimates["suppressed"]
    ]
    target = cells.iloc[0]
    i = rows.index({"gender": int(target["gender"]), "age_band": int(target["age_band"])})
    j = regions.index(int(target["region"]))
    assert values[i][j] is None
    domains = list(run.project.catalogue.domain_columns)
    truth = cells.iloc[[0]][KEYS + domains].merge(run.true_values(), on=KEYS + domains).iloc[0]
    values[i][j] = round(float(truth["estimate"]) * 100, 5)
    blob = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    page = page[: match.start(2)] + blob + page[match.end(2) :]
    outputs.dashboard.write_text(page, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        run.audit(outputs)
    assert caught.value.file == str(outputs.dashboard)
    assert caught.value.column == f"figures/en/{key}: data[1].z[{i}]"
    assert caught.value.rows == [j]
    assert "where the audited tables hide it" in str(caught.value)


def test_extra_table_in_the_duckdb_file_is_caught(run: Run, tmp_path: Path) -> None:
    """It adds a table of the true, unsuppressed estimates to indicators.duckdb."""
    outputs = run.copy_outputs(tmp_path)
    path = outputs.exports / "indicators.duckdb"
    secrets = run.true_values()[[*KEYS, "estimate"]]
    with duckdb.connect(str(path)) as connection:
        connection.register("secrets", secrets)
        connection.execute("CREATE TABLE true_estimates AS SELECT * FROM secrets")
    with pytest.raises(ValidationError) as caught:
        run.audit(outputs)
    assert caught.value.file == str(path)
    assert "true_estimates" in caught.value.found


def test_benchmark_view_that_shows_other_numbers_is_caught(run: Run, tmp_path: Path) -> None:
    """It redefines a benchmark's view to show a hidden cell's true estimate."""
    outputs = run.copy_outputs(tmp_path)
    path = outputs.exports / "indicators.duckdb"
    estimates = run.exported_estimates(outputs)
    _, truth = _hidden_row(run, estimates)
    view = f"benchmark_{truth['benchmark']}"
    with duckdb.connect(str(path)) as connection:
        select = connection.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = ?", [view]
        ).fetchone()
        assert select is not None
        columns = ", ".join(
            f"{float(truth['estimate']) * 100!r} AS estimate" if c == "estimate" else f'"{c}"'
            for c in connection.execute(f'SELECT * FROM "{view}" LIMIT 0').df().columns
        )
        connection.execute(
            f'CREATE OR REPLACE VIEW "{view}" AS SELECT {columns} FROM indicator_estimates '
            f"WHERE benchmark = '{truth['benchmark']}' AND variant = 'all'"
        )
    with pytest.raises(ValidationError) as caught:
        run.audit(outputs)
    assert caught.value.file == str(path)
    assert view in caught.value.message


def _republish(run: Run, tables: dict[str, pd.DataFrame], to: Path) -> Outputs:
    """Write ``tables`` through the real writers: published tables, exports and dashboard."""
    published = to / "published"
    for name, file in PUBLISHED_FILES.items():
        write_parquet(tables[name], published / file)
    labels = ExportLabels.from_config(
        run.project.survey,
        run.project.catalogue,
        indicators={i.id: i.label.model_dump() for i in run.indicators.indicators},
        benchmarks={k: b.label.model_dump() for k, b in run.indicators.benchmarks.items()},
    )
    result = write_exports(
        PublishedTables(
            estimates=tables["indicator_estimates"],
            trends=tables["indicator_trends"],
            status=tables["benchmark_status"],
            methodology=tables["methodology"],
            drivers=tables["indicator_drivers"],
        ),
        to / "exports",
        run_id="tampered",
        labels=labels,
    )
    dashboard = build_dashboard(
        {n: pd.read_parquet(published / f) for n, f in PUBLISHED_FILES.items()},
        out_path=to / "dashboard.html",
        generated_at=dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC),
        **page_inputs(run.project.survey, run.project.catalogue, run.indicators),
    )
    return Outputs(result.latest_dir, published, dashboard)


def test_unhidden_dk_share_that_recovers_a_hidden_cell_is_caught(run: Run, tmp_path: Path) -> None:
    """It shows a hidden cell's dk_share, from which its hidden "excl_dk" twin follows."""
    domains = list(run.project.catalogue.domain_columns)
    tables = {
        n: pd.read_parquet(run.processed / "published" / f) for n, f in PUBLISHED_FILES.items()
    }
    estimates, trends = tables["indicator_estimates"], tables["indicator_trends"]
    truth = estimates[KEYS + domains].merge(run.true_values(), on=KEYS + domains, how="left")
    gaps = run.indicators.gap_sides()
    shown = ["estimate", "se", "ci_low", "ci_high", "deff", "n_eff", "p_value", "p_adjusted"]
    candidates = (
        (estimates["disclosure"] == "suppressed: complementary")
        & (estimates["variant"] == "all")
        & (estimates["type"] == "proportion")
        & (estimates["n"] >= run.rules.suppress_below)
    )
    # A complementary cell may be shown without its weighted n and don't-know share: from
    # the published numbers alone that recovers nothing. Its dk_share then gives away its
    # hidden "excl_dk" twin (estimate_excl = estimate_all / (1 - dk_share)).
    for position in candidates.to_numpy().nonzero()[0].tolist():
        safe = estimates.copy()
        for column in shown:
            safe.loc[position, column] = truth[column].iloc[position]
        flagged = bool(estimates["n"].iloc[position] < run.rules.flag_below)
        reason = run.rules.flag_reason if flagged else ""
        safe.loc[position, ["suppressed", "flagged", "disclosure"]] = [False, flagged, reason]
        leaky = safe.copy()
        leaky.loc[position, "dk_share"] = truth["dk_share"].iloc[position]
        found = recoverable(leaky, trends, gaps=gaps)
        if recoverable(safe, trends, gaps=gaps).empty and not found.empty:
            break
    else:
        pytest.fail("no complementary cell whose dk_share alone recovers a hidden cell")
    twin = int(found["row"].iloc[0])
    assert estimates["variant"].iloc[twin] == "excl_dk"
    assert estimates["suppressed"].iloc[twin]

    control = _republish(run, {**tables, "indicator_estimates": safe}, tmp_path / "safe")
    run.audit(control)  # the cell shown without its dk_share passes

    outputs = _republish(run, {**tables, "indicator_estimates": leaky}, tmp_path / "leaky")
    with pytest.raises(ValidationError) as caught:
        run.audit(outputs)
    assert caught.value.file == str(outputs.exports / "indicators.duckdb")
    # Caught twice: the dk_share shown beside a hidden twin, and the twin solved jointly.
    assert caught.value.rows == [position]
    assert caught.value.column == "indicator_estimates + indicator_trends: dk_share"
    assert f"row {twin} (" in str(caught.value)
    assert "hidden estimate recoverable" in str(caught.value)


def _show_hidden_cell(run: Run, root: Path) -> Path:
    """Copy the run to ``root`` and show a hidden cell, unmarked, in published/estimates."""
    shutil.copytree(run.root, root)
    published = root / "data" / "processed" / SURVEY / "published" / "estimates.parquet"
    estimates = pd.read_parquet(published)
    position, truth = _hidden_row(run, estimates, variant="all", disclosure=run.rules.small_reason)
    estimates.loc[position, ["suppressed", "disclosure"]] = [False, ""]
    for column in ("estimate", "se", "ci_low", "ci_high"):
        estimates.loc[position, column] = truth[column]
    write_parquet(estimates, published)
    return published


def _materialize(root: Path, asset: str) -> dg.ExecuteInProcessResult:
    """Materialize one reporting asset of the demo survey on an ephemeral instance."""
    definitions = build_definitions(root)
    with warnings.catch_warnings(), dg.DagsterInstance.ephemeral() as instance:
        warnings.simplefilter("ignore")
        return dg.materialize(
            [definitions.get_assets_def(asset)],
            partition_key=SURVEY,
            resources=definitions.resources,
            instance=instance,
            raise_on_error=False,
        )


def test_failed_readback_keeps_the_last_dashboard(run: Run, tmp_path: Path) -> None:
    """It shows a hidden value in published/estimates: no page or chart image is published."""
    root = tmp_path / "project"
    published = _show_hidden_cell(run, root)
    estimates = pd.read_parquet(published)
    headline = (  # and moves the headline's national w3 value: its trend chart would change
        estimates["indicator"].eq("incl_feel_included")
        & estimates["domain_set"].eq("national")
        & estimates["wave"].eq("w3")
        & estimates["variant"].eq("all")
    )
    assert headline.sum() == 1
    estimates.loc[headline, ["estimate", "ci_low", "ci_high"]] += 0.05
    write_parquet(estimates, published)
    folder = root / "dashboards" / SURVEY
    before = (folder / "dashboard.html").read_bytes()
    pages = set((folder / "runs").iterdir())
    images = {p: p.read_bytes() for p in (folder / "images").rglob("*.png")}
    assert any("trends_incl_feel_included_national" in p.name for p in images)
    result = _materialize(root, "dashboard_html")
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "outputs_disclose_nothing"
    assert not check.passed
    error = str(check.metadata["error"].value)
    assert str(published) in error
    assert "a suppressed cell shows a value" in error
    assert not result.success  # a failed blocking check fails the run
    assert (folder / "dashboard.html").read_bytes() == before
    assert set((folder / "runs").iterdir()) == pages  # the refused page is not left behind
    assert {p: p.read_bytes() for p in (folder / "images").rglob("*.png")} == images


def test_failed_readback_keeps_the_last_exports(run: Run, tmp_path: Path) -> None:
    """It exports a hidden value shown in published/: the run fails, latest/ stays as it was."""
    root = tmp_path / "project"
    _show_hidden_cell(run, root)
    exports = root / "data" / "processed" / SURVEY / "exports"
    before = {p.name: p.read_bytes() for p in (exports / "latest").iterdir()}
    runs = set((exports / "runs").iterdir())
    result = _materialize(root, "exports")
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = str(failure.step_failure_data.error)
    assert "indicators.duckdb" in message
    assert "n < 25 with a value shown" in message
    assert {p.name: p.read_bytes() for p in (exports / "latest").iterdir()} == before
    assert set((exports / "runs").iterdir()) == runs
    assert not [p for p in (exports / "runs").iterdir() if p.name.startswith(".")]
