"""Per-wave assets, one partition per survey × wave: each calls one step of perception.flow."""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import dagster as dg
import pandas as pd

from perception import flow
from perception.errors import PerceptionError
from pipelines.resources import SurveyProject, split_partition

if TYPE_CHECKING:
    Materialized: TypeAlias = dg.MaterializeResult[Any]
else:
    # Dagster tells an asset with checks by its return annotation, compared with the bare class
    # (op_definition._is_result_object_type): a subscripted generic would be refused at runtime.
    Materialized = dg.MaterializeResult

#: The asset each step of perception.flow materializes.
ASSETS = {
    "harmonize": "harmonized_responses",
    "weigh": "weights",
    "estimate": "indicator_estimates",
    "drivers": "indicator_drivers",
    "small_areas": "small_area_estimates",
    "trends": "indicator_trends",
    "status": "indicator_status",
    "exports": "exports",
    "dashboard": "dashboard_html",
    "brief": "results_brief",
}


def as_failure(error: PerceptionError) -> dg.Failure:
    """Turn a library error into a Dagster failure that shows the whole message in the UI."""
    return dg.Failure(
        description=str(error),
        metadata={"expected": error.expected, "found": error.found, "hint": error.hint},
    )


def check_specs(step: str) -> list[dg.AssetCheckSpec]:
    """Declare a step's checks (perception.flow.CHECKS) on its asset."""
    return [
        dg.AssetCheckSpec(name, asset=ASSETS[step], description=text, blocking=blocking)
        for name, (text, blocking) in flow.CHECKS[step].items()
    ]


def _metadata_value(value: object) -> dg.MetadataValue[Any]:
    """Show a path as a path, a table as Markdown, a list as JSON in the Dagster UI."""
    if isinstance(value, Path):
        return dg.MetadataValue.path(str(value))
    if isinstance(value, pd.DataFrame):
        return dg.MetadataValue.md(markdown_table(value))
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    if isinstance(value, list):
        return dg.MetadataValue.json(value)
    return dg.MetadataValue.text(str(value))


def materialize(context: dg.AssetExecutionContext, run: Callable[[], flow.Step]) -> Materialized:
    """Run one flow step; log its notes, attach its metadata and check results."""
    try:
        step = run()
    except PerceptionError as error:
        raise as_failure(error) from error
    for note in step.notes:
        context.log.info(note)
    for warning in step.warnings:
        context.log.warning(warning)
    metadata = {"path": step.path, **step.metadata}
    return dg.MaterializeResult(
        metadata={key: _metadata_value(value) for key, value in metadata.items()},
        check_results=[
            dg.AssetCheckResult(
                check_name=name,
                passed=check.passed,
                severity=dg.AssetCheckSeverity.ERROR
                if check.blocking
                else dg.AssetCheckSeverity.WARN,
                metadata={k: _metadata_value(v) for k, v in check.metadata.items()},
            )
            for name, check in step.checks.items()
        ],
    )


def build_assets(
    waves: dg.StaticPartitionsDefinition, references: Mapping[str, str]
) -> list[dg.AssetsDefinition | dg.AssetSpec]:
    """Build the per-wave assets over the given ``"<survey>|<wave>"`` partitions.

    ``references`` maps a non-probability wave's partition to its reference wave's partition:
    its estimates read that wave's checked weights too.
    """
    raw_survey_file = dg.AssetSpec(
        "raw_survey_file",
        description="A wave's survey export as delivered (SPSS, Stata, KoBoToolbox…); read-only.",
        group_name="ingest",
        kinds={"file"},
        partitions_def=waves,
    )
    readers: dict[str, set[str]] = {key: {key} for key in waves.get_partition_keys()}
    for wave, reference in references.items():
        readers[reference].add(wave)
    weights_and_references = dg.StaticPartitionMapping(readers)

    @dg.asset(
        deps=[raw_survey_file],
        partitions_def=waves,
        group_name="ingest",
        kinds={"pandas", "parquet"},
        check_specs=check_specs("harmonize"),
    )
    def harmonized_responses(
        context: dg.AssetExecutionContext, project: SurveyProject
    ) -> Materialized:
        """A wave on the harmonized catalogue through its codebook, personal data dropped."""
        survey, wave = split_partition(context.partition_key)
        return materialize(context, lambda: flow.harmonize(project.load(survey), wave)[0])

    @dg.asset(
        deps=[harmonized_responses],
        partitions_def=waves,
        group_name="weighting",
        kinds={"pandas", "parquet"},
        check_specs=check_specs("weigh"),
    )
    def weights(context: dg.AssetExecutionContext, project: SurveyProject) -> Materialized:
        """A wave's final weights: calibrated to its targets if any, trimmed, with diagnostics."""
        survey, wave = split_partition(context.partition_key)
        return materialize(context, lambda: flow.weigh(project.load(survey), wave)[0])

    @dg.asset(
        deps=[
            harmonized_responses,
            dg.AssetDep(weights, partition_mapping=weights_and_references),
        ],
        partitions_def=waves,
        group_name="estimation",
        kinds={"pandas", "parquet"},
        check_specs=check_specs("estimate"),
    )
    def indicator_estimates(
        context: dg.AssetExecutionContext, project: SurveyProject
    ) -> Materialized:
        """Every indicator of a wave in every domain, with SE, CI, deff and effective n."""
        survey, wave = split_partition(context.partition_key)
        return materialize(context, lambda: flow.estimate(project.load(survey), wave))

    @dg.asset(
        deps=[weights],
        partitions_def=waves,
        group_name="estimation",
        kinds={"pandas", "parquet"},
        check_specs=check_specs("drivers"),
    )
    def indicator_drivers(
        context: dg.AssetExecutionContext, project: SurveyProject
    ) -> Materialized:
        """What goes with each indicator naming drivers: AMEs in a wave (associations)."""
        survey, wave = split_partition(context.partition_key)
        return materialize(context, lambda: flow.drivers(project.load(survey), wave))

    @dg.asset(
        deps=[indicator_estimates],
        partitions_def=waves,
        group_name="estimation",
        kinds={"pandas", "parquet"},
        check_specs=check_specs("small_areas"),
    )
    def small_area_estimates(
        context: dg.AssetExecutionContext, project: SurveyProject
    ) -> Materialized:
        """Model-based (Fay-Herriot) estimates by area for indicators that list `areas:`."""
        survey, wave = split_partition(context.partition_key)
        return materialize(context, lambda: flow.small_areas(project.load(survey), wave))

    return [
        raw_survey_file,
        harmonized_responses,
        weights,
        indicator_estimates,
        indicator_drivers,
        small_area_estimates,
    ]


def markdown_table(table: pd.DataFrame, rows: int = 30) -> str:
    """Render the first rows of a table as Markdown for the Dagster UI."""

    def cell(value: object) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    head = table.head(rows)
    lines = ["| " + " | ".join(map(str, head.columns)) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.itertuples(False)]
    return "\n".join(lines)
