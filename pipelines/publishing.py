"""Cross-wave assets, one partition per survey: each calls one publishing step of perception.flow.

Trends and published estimates → status → exports → dashboard → results brief.
"""

import dagster as dg

from perception import flow
from pipelines.assets import Materialized, check_specs, materialize
from pipelines.resources import SurveyProject, split_partition


class BriefSettings(dg.Config):
    """Which wave the brief reports (``perception brief --wave``); default the latest."""

    wave: str | None = None


def build_publishing_assets(
    waves: dg.StaticPartitionsDefinition, surveys: dg.StaticPartitionsDefinition
) -> list[dg.AssetsDefinition]:
    """Build the cross-wave assets, one partition per survey, after the per-wave assets.

    Each ``"<survey>|<wave>"`` partition of a per-wave asset feeds the partition of its survey.
    """
    by_survey = dg.StaticPartitionMapping(
        {key: split_partition(key)[0] for key in waves.get_partition_keys()}
    )

    def every_wave(asset: str) -> dg.AssetDep:
        """Depend on every wave of the survey of a per-wave asset."""
        return dg.AssetDep(asset, partition_mapping=by_survey)

    @dg.asset(
        deps=[every_wave("indicator_estimates")],
        partitions_def=surveys,
        group_name="reporting",
        kinds={"pandas", "parquet"},
        check_specs=check_specs("trends"),
    )
    def indicator_trends(context: dg.AssetExecutionContext, project: SurveyProject) -> Materialized:
        """Published estimates of every wave and their changes, gaps and trends, suppressed."""
        return materialize(context, lambda: flow.trends(project.load(context.partition_key)))

    @dg.asset(
        deps=[indicator_trends],
        partitions_def=surveys,
        group_name="reporting",
        kinds={"pandas", "parquet"},
        check_specs=check_specs("status"),
    )
    def indicator_status(context: dg.AssetExecutionContext, project: SurveyProject) -> Materialized:
        """Each indicator's status against its benchmark (achieved, on track, off track...)."""
        return materialize(context, lambda: flow.status(project.load(context.partition_key)))

    @dg.asset(
        deps=[
            indicator_trends,
            indicator_status,
            every_wave("indicator_drivers"),
            every_wave("weights"),  # the weighting reports, for the methodology table
        ],
        partitions_def=surveys,
        group_name="reporting",
        kinds={"csv", "xlsx", "duckdb"},
        check_specs=check_specs("exports"),
    )
    def exports(context: dg.AssetExecutionContext, project: SurveyProject) -> Materialized:
        """Report-ready CSV, Excel, Parquet and DuckDB exports of the published tables."""
        return materialize(
            context, lambda: flow.exports(project.load(context.partition_key), context.run.run_id)
        )

    @dg.asset(
        deps=[indicator_trends, indicator_status, exports],
        partitions_def=surveys,
        group_name="reporting",
        kinds={"plotly", "html"},
        check_specs=check_specs("dashboard"),
    )
    def dashboard_html(context: dg.AssetExecutionContext, project: SurveyProject) -> Materialized:
        """The offline bilingual leadership dashboard, built from the published tables only."""
        return materialize(
            context, lambda: flow.dashboard(project.load(context.partition_key), context.run.run_id)
        )

    @dg.asset(
        deps=[indicator_trends, indicator_status, exports, dashboard_html],
        partitions_def=surveys,
        group_name="reporting",
        kinds={"docx", "pdf"},
    )
    def results_brief(
        context: dg.AssetExecutionContext, config: BriefSettings, project: SurveyProject
    ) -> Materialized:
        """Results briefs (Word, PDF; EN, FR) whose wording follows the statistics."""
        return materialize(
            context,
            lambda: flow.brief(
                project.load(context.partition_key), context.run.run_id, config.wave
            ),
        )

    return [indicator_trends, indicator_status, exports, dashboard_html, results_brief]
