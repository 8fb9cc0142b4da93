"""Assets: raw wave files → harmonized responses → weights, one partition per survey × wave."""

from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd

from perception.codebook import (
    FILTER_ATTR,
    check_harmonized,
    harmonize_file,
    read_harmonized,
    write_harmonized,
)
from perception.config import (
    IndicatorCatalogue,
    Project,
    WaveConfig,
    WeightingConfig,
    load_disclosure_rules,
    load_indicators,
    load_wave_targets,
    load_weighting_config,
    nonprobability_weighting,
)
from perception.design import SurveyDesign
from perception.errors import PerceptionError
from perception.indicators import (
    DRIVER_COLUMNS,
    compute_indicators,
    estimate_columns,
    index_reliability,
    indicator_drivers,
)
from perception.nonprob import estimate_nonprobability_wave, without_design_uncertainty
from perception.small_area import indicator_small_areas, load_area_covariates
from perception.storage import file_sha256, write_parquet
from perception.weighting import weight_nonprobability, weight_wave, weighted_table
from pipelines.resources import SurveyProject, split_partition
from pipelines.sensors import SOURCE_SHA256

HARMONIZED_CHECKS: dict[str, str] = {
    "unique_ids": "Every respondent id is present and unique.",
    "conformance": "Every value is a code or value the variable catalogue allows.",
    "design": "Mapped design columns (base weight, stratum, PSU) are complete and valid.",
    "no_pii": "No column outside the catalogue, and none that looks like personal data.",
}


WEIGHT_CHECKS: dict[str, tuple[str, bool]] = {
    "calibration_converged": ("Calibration converged (trivially without calibration).", True),
    "margins_met": (
        "Weighted totals meet every calibration margin within tolerance (none without "
        "calibration).",
        True,
    ),
    "design_effect": ("Kish design effect from weighting is below the warning threshold.", False),
}


ESTIMATE_CHECKS: dict[str, str] = {
    "fixed_schema": "The table has exactly the published columns, in order.",
    "not_asked_is_not_zero": "An item a wave lacks is 'not asked' with no value, never zero.",
    "estimates_in_range": "Proportions and net scores lie in their range.",
}


DRIVER_CHECKS: dict[str, str] = {
    "no_small_driver_level": "No driver level or reference rests on fewer respondents than "
    "the disclosure threshold (small levels are pooled or left out).",
}


SMALL_AREA_CHECKS: dict[str, tuple[str, bool]] = {
    "model_based_labelled": (
        "Every small-area number says it is model-based (EBLUP or synthetic), in EN and FR.",
        True,
    ),
    "no_small_direct_value": (
        "No direct estimate of an area under the disclosure threshold is in the table.",
        True,
    ),
    "area_variance_positive": (
        "The area random-effect variance is positive (at 0 every area gets its synthetic "
        "estimate).",
        False,
    ),
}


def _weigh(
    loaded: Project, wave_id: str, df: pd.DataFrame
) -> tuple[WeightingConfig, SurveyDesign, pd.DataFrame]:
    """Weight a wave by its weighting config and targets (a poll without reference: equal)."""
    survey = loaded.survey
    config = load_weighting_config(survey.resolve(survey.weighting))
    wave = next(w for w in survey.waves if w.id == wave_id)
    if wave.is_probability or wave.reference_wave is not None:
        targets = load_wave_targets(survey, wave_id, config, loaded.catalogue)
        design, report = weight_wave(df, config, targets)
        return config, design, report
    config = nonprobability_weighting(config, rake=wave.rake)
    targets = load_wave_targets(survey, wave_id, config, loaded.catalogue)
    design, report = weight_nonprobability(df, config, targets)
    return config, design, report


def _nonprobability_table(
    project: SurveyProject,
    loaded: Project,
    wave: WaveConfig,
    df: pd.DataFrame,
    table: pd.DataFrame,
    indicators: IndicatorCatalogue,
) -> pd.DataFrame:
    """Table 1 of a `sample: nonprobability` wave: no design-based CI, CLW's where it applies."""
    if wave.reference_wave is None:
        return without_design_uncertainty(table)
    reference = project.output(loaded, "harmonized", wave.reference_wave)
    if not reference.exists():
        raise dg.Failure(
            description=f"Wave {wave.id} needs its reference wave {wave.reference_wave} "
            f"harmonized first (no {reference})",
        )
    _, design, _ = _weigh(loaded, wave.reference_wave, read_harmonized(reference))
    nonprob, _ = estimate_nonprobability_wave(
        df,
        indicators,
        loaded.catalogue,
        survey=loaded.survey.survey,
        wave=wave.id,
        reference=design,
        covariates=wave.covariates or [],
        method=wave.propensity or "clw",
    )
    return nonprob


def as_failure(error: PerceptionError) -> dg.Failure:
    """Turn a library error into a Dagster failure that shows the whole message in the UI."""
    return dg.Failure(
        description=str(error),
        metadata={"expected": error.expected, "found": error.found, "hint": error.hint},
    )


def build_assets(waves: dg.StaticPartitionsDefinition) -> Sequence[Any]:
    """Build the per-wave assets over the given ``"<survey>|<wave>"`` partitions."""
    raw_survey_file = dg.AssetSpec(
        "raw_survey_file",
        description="A wave's survey export as delivered (SPSS, Stata, KoBoToolbox…); read-only.",
        group_name="ingest",
        kinds={"file"},
        partitions_def=waves,
    )

    @dg.asset(
        deps=[raw_survey_file],
        partitions_def=waves,
        group_name="ingest",
        kinds={"pandas", "parquet"},
        check_specs=[
            dg.AssetCheckSpec(name, asset="harmonized_responses", description=text, blocking=True)
            for name, text in HARMONIZED_CHECKS.items()
        ],
    )
    def harmonized_responses(
        context: dg.AssetExecutionContext, project: SurveyProject
    ) -> dg.MaterializeResult:
        """A wave on the harmonized catalogue through its codebook, personal data dropped."""
        survey_key, wave_id = split_partition(context.partition_key)
        loaded = project.load(survey_key)
        wave = project.wave(loaded, wave_id)
        raw = loaded.survey.raw_path(wave)
        context.log.info(f"Reading {raw}")
        source_sha256 = file_sha256(raw) if raw.is_file() else "missing"
        try:
            df = harmonize_file(
                raw,
                loaded.codebooks[wave.id],
                loaded.catalogue,
                survey=loaded.survey.survey,
                root=loaded.survey.root,
            )
        except PerceptionError as error:
            raise as_failure(error) from error
        context.log.info(f"Harmonized {len(df)} rows into {len(df.columns)} catalogue columns")
        if FILTER_ATTR in df.attrs:
            context.log.info(f"Codebook {df.attrs[FILTER_ATTR]}")
        path = write_harmonized(df, project.output(loaded, "harmonized", wave.id), loaded.catalogue)
        findings = check_harmonized(df, loaded.catalogue)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "source": dg.MetadataValue.path(str(raw)),
                SOURCE_SHA256: source_sha256,
                "rows": len(df),
                "filter": str(df.attrs.get(FILTER_ATTR, "none")),
                "columns": len(df.columns),
                "preview": dg.MetadataValue.md(markdown_table(df.head(5))),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=name,
                    passed=not (found := [f for f in findings if f.check == name]),
                    metadata={"findings": "\n".join(f.message for f in found[:20]) or "none"},
                )
                for name in HARMONIZED_CHECKS
            ],
        )

    @dg.asset(
        deps=[harmonized_responses],
        partitions_def=waves,
        group_name="weighting",
        kinds={"pandas", "parquet"},
        check_specs=[
            dg.AssetCheckSpec(name, asset="weights", description=text, blocking=blocking)
            for name, (text, blocking) in WEIGHT_CHECKS.items()
        ],
    )
    def weights(context: dg.AssetExecutionContext, project: SurveyProject) -> dg.MaterializeResult:
        """A wave's final weights: calibrated to its targets if any, trimmed, with diagnostics."""
        survey_key, wave_id = split_partition(context.partition_key)
        loaded = project.load(survey_key)
        df = read_harmonized(project.output(loaded, "harmonized", wave_id))
        try:
            config, design, report = _weigh(loaded, wave_id, df)
        except PerceptionError as error:
            raise as_failure(error) from error
        overall = report.iloc[0]
        context.log.info(
            f"Weighted {len(df)} rows ({config.calibration.method} calibration): "
            f"{int(overall['iterations'])} iterations, {int(overall['trim_rounds'])} trimming "
            f"rounds, Kish deff {overall['deff_kish']:.3f}"
        )
        if overall["design"]:
            context.log.warning(f"Design: {overall['design']}")
        replicates = int(overall["n_replicates"])
        variance = config.design.replicate_text(replicates) or "Taylor linearisation"
        context.log.info(f"Variance: {variance}")
        path = write_parquet(weighted_table(design), project.output(loaded, "weighted", wave_id))
        write_parquet(report, project.output(loaded, "weighting_report", wave_id))
        tolerance = (
            config.trimming.margin_tolerance if config.trimming else config.calibration.tolerance
        )
        # NaN without calibration margins (method none): then no margin can be missed.
        worst = float(report["margin_error_rel"].max(skipna=True))
        deff = float(overall["deff_kish"])
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "rows": len(df),
                "kish_deff": deff,
                "effective_n": float(overall["n_eff"]),
                "max_min_ratio": float(overall["max_min_ratio"]),
                "iterations": int(overall["iterations"]),
                "largest_margin_error": worst,
                "design": str(overall["design"]) or "PSU ids given",
                "variance": variance,
                "report": dg.MetadataValue.md(markdown_table(report)),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="calibration_converged",
                    passed=bool(report["converged"].all()),
                    metadata={"iterations": int(overall["iterations"])},
                ),
                dg.AssetCheckResult(
                    check_name="margins_met",
                    passed=not worst > tolerance,
                    metadata={
                        "largest_relative_error": worst,
                        "tolerance": tolerance,
                        "calibration": config.calibration.method,
                    },
                ),
                dg.AssetCheckResult(
                    check_name="design_effect",
                    passed=deff <= config.deff_warning,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"kish_deff": deff, "threshold": config.deff_warning},
                ),
            ],
        )

    @dg.asset(
        deps=[weights],
        partitions_def=waves,
        group_name="estimation",
        kinds={"pandas", "parquet"},
        check_specs=[
            dg.AssetCheckSpec(name, asset="indicator_estimates", description=text, blocking=True)
            for name, text in ESTIMATE_CHECKS.items()
        ],
    )
    def indicator_estimates(
        context: dg.AssetExecutionContext, project: SurveyProject
    ) -> dg.MaterializeResult:
        """Every indicator of a wave in every domain, with SE, CI, deff and effective n."""
        survey_key, wave_id = split_partition(context.partition_key)
        loaded = project.load(survey_key)
        survey = loaded.survey
        df = read_harmonized(project.output(loaded, "harmonized", wave_id))
        try:
            indicators = load_indicators(
                project.indicators_path(loaded),
                loaded.catalogue,
                waves=[w.id for w in survey.waves],
            )
            # The calibrated design is rebuilt from the same inputs as the weights asset (it is
            # deterministic): the estimates need its calibration model for their variance.
            _, design, _ = _weigh(loaded, wave_id, df)
            table = compute_indicators(
                design, indicators, loaded.catalogue, survey=survey.survey, wave=wave_id
            )
            wave = project.wave(loaded, wave_id)
            if not wave.is_probability:
                table = _nonprobability_table(project, loaded, wave, df, table, indicators)
            alpha = index_reliability(
                design, indicators, loaded.catalogue, survey=survey.survey, wave=wave_id
            )
        except PerceptionError as error:
            raise as_failure(error) from error
        path = write_parquet(table, project.output(loaded, "estimates", wave_id))
        write_parquet(alpha, project.output(loaded, "reliability", wave_id))
        asked = table["availability"] != "not_asked"
        values = table[["estimate", "se", "n"]]
        percent = (table["unit"] == "percent") & (table["type"] != "gap")
        outside = percent & ((table["estimate"] < -1) | (table["estimate"] > 1))
        return dg.MaterializeResult(
            check_results=[
                dg.AssetCheckResult(
                    check_name="fixed_schema",
                    passed=list(table.columns)
                    == list(estimate_columns(loaded.catalogue.domain_columns)),
                ),
                dg.AssetCheckResult(
                    check_name="not_asked_is_not_zero",
                    passed=bool(values[~asked].isna().all(axis=None)),
                    metadata={"not_asked_rows": int((~asked).sum())},
                ),
                dg.AssetCheckResult(
                    check_name="estimates_in_range",
                    passed=not outside.any(),
                    metadata={"rows_out_of_range": int(outside.sum())},
                ),
            ],
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "rows": len(table),
                "indicators": int(table["indicator"].nunique()),
                "not_asked": sorted(set(table.loc[~asked, "indicator"])),
                "cronbach_alpha": dg.MetadataValue.md(markdown_table(alpha)),
            },
        )

    @dg.asset(
        name="indicator_drivers",
        deps=[weights],
        partitions_def=waves,
        group_name="estimation",
        kinds={"pandas", "parquet"},
        check_specs=[
            dg.AssetCheckSpec(name, asset="indicator_drivers", description=text, blocking=True)
            for name, text in DRIVER_CHECKS.items()
        ],
    )
    def indicator_drivers_table(
        context: dg.AssetExecutionContext, project: SurveyProject
    ) -> dg.MaterializeResult:
        """What goes with each indicator naming drivers: AMEs in a wave (associations)."""
        survey_key, wave_id = split_partition(context.partition_key)
        loaded = project.load(survey_key)
        df = read_harmonized(project.output(loaded, "harmonized", wave_id))
        try:
            indicators = load_indicators(project.indicators_path(loaded), loaded.catalogue)
            rules = load_disclosure_rules(project.disclosure_path(loaded))
            _, design, _ = _weigh(loaded, wave_id, df)
            if project.wave(loaded, wave_id).is_probability:
                table = indicator_drivers(
                    design,
                    indicators,
                    loaded.catalogue,
                    survey=loaded.survey.survey,
                    wave=wave_id,
                    min_n=rules.suppress_below,
                )
            else:  # their intervals and p-values would be design-based
                context.log.info("No drivers from a non-probability wave")
                table = pd.DataFrame(columns=list(DRIVER_COLUMNS)).astype(DRIVER_COLUMNS)
        except PerceptionError as error:
            raise as_failure(error) from error
        path = write_parquet(table, project.output(loaded, "drivers", wave_id))
        counts = table[["n_level", "n_reference"]]
        small = (counts.notna() & (counts < rules.suppress_below)).any(axis=1)
        return dg.MaterializeResult(
            check_results=[
                dg.AssetCheckResult(
                    check_name="no_small_driver_level",
                    passed=bool(not small.any() and list(table.columns) == list(DRIVER_COLUMNS)),
                    metadata={"small_levels": int(small.sum())},
                )
            ],
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "rows": len(table),
                "notes": sorted(set(table["note_en"]) - {""}),
            },
        )

    @dg.asset(
        deps=[indicator_estimates],
        partitions_def=waves,
        group_name="estimation",
        kinds={"pandas", "parquet"},
        check_specs=[
            dg.AssetCheckSpec(name, asset="small_area_estimates", description=text, blocking=b)
            for name, (text, b) in SMALL_AREA_CHECKS.items()
        ],
    )
    def small_area_estimates(
        context: dg.AssetExecutionContext, project: SurveyProject
    ) -> dg.MaterializeResult:
        """Model-based (Fay-Herriot) estimates by area for indicators that list `areas:`."""
        survey_key, wave_id = split_partition(context.partition_key)
        loaded = project.load(survey_key)
        survey = loaded.survey
        try:
            indicators = load_indicators(project.indicators_path(loaded), loaded.catalogue)
            rules = load_disclosure_rules(project.disclosure_path(loaded))
            levels = indicators.areas or {}
            files = {level: survey.resolve(s.covariates) for level, s in levels.items()}
            covariates = {
                level: load_area_covariates(files[level], level, loaded.catalogue, s.columns)
                for level, s in levels.items()
            }
            estimates = pd.read_parquet(project.output(loaded, "estimates", wave_id))
            if not project.wave(loaded, wave_id).is_probability:
                # Fay-Herriot needs design-based sampling variances, which such a wave lacks.
                context.log.info("No small-area estimates from a non-probability wave")
                estimates = estimates.iloc[:0]
            table = indicator_small_areas(
                estimates, indicators, covariates, suppress_below=rules.suppress_below, files=files
            )
        except PerceptionError as error:
            raise as_failure(error) from error
        path = write_parquet(table, project.output(loaded, "small_area", wave_id))
        small = table["n"].fillna(0).lt(rules.suppress_below) & table["direct"].notna()
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "rows": len(table),
                "indicators": sorted(set(table["indicator"])),
                "synthetic_areas": int(table["kind"].eq("synthetic").sum()),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="model_based_labelled",
                    passed=bool(
                        table["kind"].isin(["eblup", "synthetic"]).all()
                        and table["basis_en"].str.contains("Model-based").all()
                        and table["basis_fr"].str.contains("modèle").all()
                    ),
                ),
                dg.AssetCheckResult(
                    check_name="no_small_direct_value",
                    passed=not small.any(),
                    metadata={"rows": int(small.sum())},
                ),
                dg.AssetCheckResult(
                    check_name="area_variance_positive",
                    passed=not table["sigma2_u"].eq(0).any(),
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "indicators_at_zero": sorted(
                            set(table.loc[table["sigma2_u"].eq(0), "indicator"])
                        )
                    },
                ),
            ],
        )

    # indicator_estimates stays last: the cross-wave assets are built downstream of it.
    return [
        raw_survey_file,
        harmonized_responses,
        weights,
        indicator_drivers_table,
        small_area_estimates,
        indicator_estimates,
    ]


def markdown_table(table: pd.DataFrame, rows: int = 30) -> str:
    """Render the first rows of a table as Markdown for the Dagster UI."""

    def cell(value: object) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    head = table.head(rows)
    lines = ["| " + " | ".join(map(str, head.columns)) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.itertuples(False)]
    return "\n".join(lines)
