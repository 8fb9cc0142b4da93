"""The ``results_brief`` asset: Word and PDF briefs in English and French, beside the exports."""

from collections.abc import Sequence

import dagster as dg
import pandas as pd

from perception.brief import BRIEF_FILES, build_briefs, render_briefs
from perception.config import BRIEF_FILE, load_brief_config, load_indicators
from perception.errors import PerceptionError
from perception.exports import add_to_latest
from pipelines.assets import as_failure
from pipelines.resources import SurveyProject

#: The published tables the brief reads, by their DuckDB names, and their Parquet stems.
BRIEF_TABLES = {
    "indicator_estimates": "estimates",
    "indicator_trends": "trends",
    "benchmark_status": "status",
    "methodology": "methodology",
}


class BriefSettings(dg.Config):
    """Which wave the brief reports (``perception brief --wave``); default the latest."""

    wave: str | None = None


def build_brief_asset(
    upstream: Sequence[dg.AssetsDefinition], surveys: dg.StaticPartitionsDefinition
) -> dg.AssetsDefinition:
    """Build ``results_brief``, one partition per survey, after ``upstream``."""

    @dg.asset(
        deps=list(upstream),
        partitions_def=surveys,
        group_name="reporting",
        kinds={"docx", "pdf"},
    )
    def results_brief(
        context: dg.AssetExecutionContext, config: BriefSettings, project: SurveyProject
    ) -> dg.MaterializeResult:
        """Results briefs (Word, PDF; EN, FR) whose wording follows the statistics."""
        loaded = project.load(context.partition_key)
        survey = loaded.survey
        folder = project.folder(loaded, "published")
        missing = [
            f"{s}.parquet" for s in BRIEF_TABLES.values() if not (folder / f"{s}.parquet").exists()
        ]
        if missing:
            raise as_failure(
                PerceptionError(
                    f"No published tables of survey {survey.survey!r} to write a brief from",
                    expected=f"{', '.join(missing)} in {folder}",
                    found="no such file(s)",
                    hint=f"run the survey first: perception run --survey {survey.path}",
                )
            )
        try:
            tables = {n: pd.read_parquet(folder / f"{s}.parquet") for n, s in BRIEF_TABLES.items()}
            briefs = build_briefs(
                tables,
                catalogue=loaded.catalogue,
                survey=survey,
                indicators=load_indicators(project.indicators_path(loaded), loaded.catalogue),
                config=load_brief_config(survey.root / BRIEF_FILE),
                wave=config.wave,
                images=project.dashboards(loaded) / "images",
            )
        except PerceptionError as error:
            raise as_failure(error) from error
        rendered = render_briefs(briefs)
        if rendered.pdf_error is not None:
            context.log.warning(f"The PDF briefs were not written:\n{rendered.pdf_error}")
        latest = add_to_latest(
            project.folder(loaded, "exports"),
            rendered.files,
            run_id=context.run.run_id,
            replaces=BRIEF_FILES,
        )
        return dg.MaterializeResult(
            metadata={
                "latest": dg.MetadataValue.path(str(latest)),
                "files": sorted(rendered.files),
                "wave": config.wave or "latest",
            }
        )

    return results_brief
