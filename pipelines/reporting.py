"""Cross-wave assets, one partition per survey: published indicators, trends, status, exports."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pandas as pd

from perception import disclosure, readback
from perception.config import load_disclosure_rules, load_indicators, load_weighting_config
from perception.dashboard import (
    build_dashboard,
    dashboard_figures,
    export_images,
    page_inputs,
)
from perception.errors import PerceptionError
from perception.exports import (
    EXPORT_FILES,
    ExportLabels,
    PublishedTables,
    methodology_table,
    write_exports,
)
from perception.indicators import DRIVER_COLUMNS, publish_drivers
from perception.reporting import gap_sides, publish_indicators, status_table, summary
from perception.status import STATUSES
from perception.storage import atomic_write, write_parquet
from pipelines.assets import as_failure, markdown_table
from pipelines.brief import build_brief_asset
from pipelines.resources import SurveyProject, split_partition

PUBLISHED = "published"
DASHBOARD_TABLES = {
    "indicator_estimates": "estimates",
    "indicator_trends": "trends",
    "benchmark_status": "status",
    "methodology": "methodology",
    "indicator_drivers": "drivers",
}
DRIVERS_ASSET = "indicator_drivers"
"""The per-wave drivers asset (pipelines.assets), upstream of the exports."""


def build_reporting_assets(
    upstream: dg.AssetsDefinition,
    waves: dg.StaticPartitionsDefinition,
    surveys: dg.StaticPartitionsDefinition,
) -> list[dg.AssetsDefinition]:
    """Build the cross-wave assets, one partition per survey, downstream of ``upstream``.

    ``upstream`` is the per-wave ``indicator_estimates`` over ``waves``: each of its
    ``"<survey>|<wave>"`` partitions feeds the partition of its survey.
    """
    by_survey = dg.StaticPartitionMapping(
        {key: split_partition(key)[0] for key in waves.get_partition_keys()}
    )

    @dg.asset(
        deps=[dg.AssetDep(upstream, partition_mapping=by_survey)],
        partitions_def=surveys,
        group_name="reporting",
        kinds={"pandas", "parquet"},
        check_specs=[
            dg.AssetCheckSpec(
                "no_disclosure_risk",
                asset="indicator_trends",
                description="No small cell shows a value and no hidden cell is recoverable "
                "from the published estimates, trends, gaps and status jointly.",
                blocking=True,
            )
        ],
    )
    def indicator_trends(
        context: dg.AssetExecutionContext, project: SurveyProject
    ) -> dg.MaterializeResult:
        """Published estimates of every wave and their changes, gaps and trends, suppressed."""
        loaded = project.load(context.partition_key)
        waves = [w.id for w in loaded.survey.waves]
        files = [project.output(loaded, "estimates", w) for w in waves]
        available = [f for f in files if f.exists()]
        context.log.info(f"Estimates of {len(available)} of {len(files)} waves are available")
        try:
            indicators = load_indicators(
                project.indicators_path(loaded), loaded.catalogue, waves=waves
            )
            rules = load_disclosure_rules(project.disclosure_path(loaded))
            estimates = pd.concat([pd.read_parquet(f) for f in available], ignore_index=True)
            published, trends = publish_indicators(
                estimates, indicators, rules, waves=waves, domains=loaded.catalogue.domain_columns
            )
        except PerceptionError as error:
            raise as_failure(error) from error
        folder = project.folder(loaded, PUBLISHED)
        write_parquet(published, folder / "estimates.parquet")
        write_parquet(trends, folder / "trends.parquet")
        problems = disclosure.audit_published(
            published,
            trends,
            rules,
            gaps=gap_sides(indicators),
            status=status_table(published, trends, indicators, loaded.survey),
        )
        significant = trends[trends["significant"]]
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(folder)),
                "estimate_rows": len(published),
                "suppressed_cells": int(published["suppressed"].sum()),
                "flagged_cells": int(published["flagged"].sum()),
                "significant_changes": len(significant),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="no_disclosure_risk",
                    passed=not problems,
                    metadata={"problems": "\n".join(problems[:20]) or "none"},
                )
            ],
        )

    @dg.asset(
        deps=[indicator_trends],
        partitions_def=surveys,
        group_name="reporting",
        kinds={"pandas", "parquet"},
        check_specs=[
            dg.AssetCheckSpec(
                "one_status_per_indicator",
                asset="benchmark_status",
                description="Every indicator has exactly one status from the allowed four.",
                blocking=True,
            )
        ],
    )
    def benchmark_status(
        context: dg.AssetExecutionContext, project: SurveyProject
    ) -> dg.MaterializeResult:
        """Each indicator's status: achieved, on track, off track or insufficient evidence."""
        loaded = project.load(context.partition_key)
        folder = project.folder(loaded, PUBLISHED)
        indicators = load_indicators(project.indicators_path(loaded), loaded.catalogue)
        estimates = pd.read_parquet(folder / "estimates.parquet")
        trends = pd.read_parquet(folder / "trends.parquet")
        status = status_table(estimates, trends, indicators, loaded.survey)
        write_parquet(status, folder / "status.parquet")
        expected = sorted(i.id for i in indicators.indicators)
        sound = sorted(status["indicator"]) == expected and status["status"].isin(STATUSES).all()
        return dg.MaterializeResult(
            check_results=[
                dg.AssetCheckResult(check_name="one_status_per_indicator", passed=bool(sound))
            ],
            metadata={
                "summary_en": summary(status, indicators, "en"),
                "summary_fr": summary(status, indicators, "fr"),
                "status": dg.MetadataValue.md(
                    markdown_table(status[["indicator", "latest_wave", "estimate", "status"]])
                ),
            },
        )

    @dg.asset(
        deps=[benchmark_status, dg.AssetDep(DRIVERS_ASSET, partition_mapping=by_survey)],
        partitions_def=surveys,
        group_name="reporting",
        kinds={"csv", "xlsx", "duckdb"},
        check_specs=[
            dg.AssetCheckSpec(
                "latest_is_this_run",
                asset="exports",
                description="latest/ holds every export file, identical to this run's.",
                blocking=True,
            )
        ],
    )
    def exports(context: dg.AssetExecutionContext, project: SurveyProject) -> dg.MaterializeResult:
        """Report-ready CSV, Excel, Parquet and DuckDB exports of the published tables."""
        loaded = project.load(context.partition_key)
        survey = loaded.survey
        folder = project.folder(loaded, PUBLISHED)
        indicators = load_indicators(project.indicators_path(loaded), loaded.catalogue)
        rules = load_disclosure_rules(project.disclosure_path(loaded))
        estimates = pd.read_parquet(folder / "estimates.parquet")
        reports = {
            w: pd.read_parquet(project.output(loaded, "weighting_report", w))
            for w in sorted(set(estimates["wave"]))
        }
        methodology = methodology_table(
            survey,
            reports,
            load_weighting_config(survey.resolve(survey.weighting)),
            suppress_below=rules.suppress_below,
            flag_below=rules.flag_below,
            generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        )
        write_parquet(methodology, folder / "methodology.parquet")
        files = [project.output(loaded, "drivers", w) for w in reports]
        frames = [pd.read_parquet(f) for f in files if f.exists()]
        try:
            published_drivers = publish_drivers(
                pd.concat(frames, ignore_index=True)
                if frames
                else pd.DataFrame(columns=list(DRIVER_COLUMNS)),
                rules,
            )
        except PerceptionError as error:
            raise as_failure(error) from error
        write_parquet(published_drivers, folder / "drivers.parquet")
        tables = PublishedTables(
            estimates=estimates,
            trends=pd.read_parquet(folder / "trends.parquet"),
            status=pd.read_parquet(folder / "status.parquet"),
            methodology=methodology,
            drivers=published_drivers,
        )
        labels = ExportLabels.from_config(
            survey,
            loaded.catalogue,
            indicators={i.id: i.label.model_dump() for i in indicators.indicators},
            benchmarks={k: b.label.model_dump() for k, b in indicators.benchmarks.items()},
        )

        def audit(files: Path) -> None:
            """Read the written files back and audit them before they are published."""
            readback.audit_outputs(loaded, indicators, rules, exports=files, published=folder)

        try:
            result = write_exports(
                tables,
                project.folder(loaded, "exports"),
                run_id=context.run_id,
                labels=labels,
                check=audit,
            )
        except PerceptionError as error:
            raise as_failure(error) from error
        same = all(
            (result.latest_dir / name).read_bytes() == (result.run_dir / name).read_bytes()
            for name in EXPORT_FILES
        )
        return dg.MaterializeResult(
            check_results=[dg.AssetCheckResult(check_name="latest_is_this_run", passed=same)],
            metadata={
                "latest": dg.MetadataValue.path(str(result.latest_dir)),
                "run_folder": dg.MetadataValue.path(str(result.run_dir)),
                "driver_rows": len(published_drivers),
                "suppressed_driver_rows": int(published_drivers["suppressed"].sum()),
            },
        )

    @dg.asset(
        deps=[exports],
        partitions_def=surveys,
        group_name="reporting",
        kinds={"plotly", "html"},
        check_specs=[
            dg.AssetCheckSpec(
                "outputs_disclose_nothing",
                asset="dashboard_html",
                description="Read back from disk, the exports (CSV, Parquet, DuckDB, every "
                "sheet of the workbook) and the dashboard's embedded data show no hidden cell "
                "and no number beyond the audited tables, and the joint audit recovers none; "
                "the dashboard is replaced only when they pass.",
                blocking=True,
            )
        ],
    )
    def dashboard_html(
        context: dg.AssetExecutionContext, project: SurveyProject
    ) -> dg.MaterializeResult:
        """The offline bilingual leadership dashboard, built from the published tables only."""
        loaded = project.load(context.partition_key)
        survey = loaded.survey
        folder = project.folder(loaded, PUBLISHED)
        indicators = load_indicators(project.indicators_path(loaded), loaded.catalogue)
        tables = {
            name: pd.read_parquet(folder / f"{stem}.parquet")
            for name, stem in DASHBOARD_TABLES.items()
        }
        out = project.dashboards(loaded) / "runs" / f"{context.run_id}.html"
        inputs = page_inputs(survey, loaded.catalogue, indicators)
        build_dashboard(
            tables,
            out_path=out,
            generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
            **inputs,
        )
        try:
            readback.audit_outputs(
                loaded,
                indicators,
                load_disclosure_rules(project.disclosure_path(loaded)),
                exports=project.folder(loaded, "exports") / "latest",
                published=folder,
                dashboard=out,
            )
        except PerceptionError as error:
            out.unlink()  # the run's page may show what the audit refused
            context.log.error(f"Dashboard not published (the last one stays):\n{error}")
            return dg.MaterializeResult(
                metadata={"path": dg.MetadataValue.path(str(project.dashboards(loaded)))},
                check_results=[
                    dg.AssetCheckResult(
                        check_name="outputs_disclose_nothing",
                        passed=False,
                        metadata={"error": str(error)},
                    )
                ],
            )
        # Charts are drawn from the same published tables, which the audit just compared.
        images = project.dashboards(loaded) / "images"
        try:
            for lang in ("en", "fr"):
                options = {k: v for k, v in inputs.items() if k != "questions"}
                figures = dashboard_figures(tables, lang=lang, **options)
                export_images(_report_views(figures), images / lang)
        except PerceptionError as error:  # e.g. no Chromium: the dashboard itself is still fine
            context.log.warning(f"Chart images were not exported:\n{error}")
        else:
            context.log.info(f"Chart images (PNG, SVG) written to {images}")
        latest = atomic_write(
            project.dashboards(loaded) / "dashboard.html",
            lambda stream: stream.write(out.read_bytes()),
        )
        context.log.info(f"Dashboard written to {latest}")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(latest)),
                "size_mb": round(latest.stat().st_size / 1e6, 2),
            },
            check_results=[dg.AssetCheckResult(check_name="outputs_disclose_nothing", passed=True)],
        )

    brief = build_brief_asset([benchmark_status, exports, dashboard_html], surveys)
    return [indicator_trends, benchmark_status, exports, dashboard_html, brief]


def _report_views(figures: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """Pick each chart's default view (headline indicator, national, latest wave) for reports.

    The drivers chart of the headline indicator's latest wave is added when it has drivers.
    """
    headline = next(key.split("|")[1] for key in figures if key.startswith("trends|"))
    maps = sorted(key for key in figures if key.startswith(f"map|{headline}|"))
    drivers = sorted(key for key in figures if key.startswith(f"drivers|{headline}|"))
    wanted = ["gaps", f"trends|{headline}|national", *maps[-1:], f"heatmap|{headline}"]
    wanted += drivers[-1:]
    return {key: figures[key] for key in wanted if key in figures}
