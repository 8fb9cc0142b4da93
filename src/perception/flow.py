"""The order of a survey's pipeline: :func:`process_wave` per wave, :func:`publish` across waves.

A notebook, ``perception run`` (through Dagster) and every Dagster asset take this one path:
each asset calls one step function below and attaches what it returns as metadata and check
results. A step writes its outputs atomically and returns a :class:`Step`; its checks say
which are blocking, and :func:`process_wave` and :func:`publish` stop at a failed blocking
check as Dagster does.

The estimates, drivers and small areas consume the design the weights step produced and
checked (``weighted/<wave>.parquet``, its record and its design file), never a re-weighting:
:func:`checked_design` refuses weights whose inputs have changed since, or whose blocking
checks failed. Each step runs with one BLAS thread (:func:`~perception.forking.one_blas_thread`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from perception import browser, readback
from perception.brief import BRIEF_FILES, build_briefs, render_briefs
from perception.codebook import (
    FILTER_ATTR,
    check_harmonized,
    harmonize_file,
    read_harmonized,
    write_harmonized,
)
from perception.config import (
    BRIEF_FILE,
    DisclosureRules,
    IndicatorCatalogue,
    Project,
    SurveyConfig,
    WaveConfig,
    WeightingConfig,
    load_brief_config,
    load_disclosure_rules,
    load_indicators,
    load_project,
    load_survey,
    load_wave_targets,
    load_weighting_config,
    nonprobability_weighting,
)
from perception.dashboard import build_dashboard, dashboard_figures, export_images, page_inputs
from perception.design import SurveyDesign
from perception.disclosure import audit_published, publish_tables
from perception.errors import PerceptionError
from perception.exports import (
    EXPORT_FILES,
    ExportLabels,
    PublishedTables,
    add_to_latest,
    methodology_table,
    write_exports,
)
from perception.forking import one_blas_thread
from perception.indicators import (
    DRIVER_COLUMNS,
    compute_indicators,
    estimate_columns,
    index_reliability,
    indicator_drivers,
    publish_drivers,
)
from perception.nonprob import (
    balance_table,
    estimate_nonprobability_wave,
    weight_diagnostics,
    without_design_uncertainty,
)
from perception.small_area import (
    audit_small_areas,
    indicator_small_areas,
    load_area_covariates,
    publish_small_areas,
)
from perception.status import STATUSES, headline_summary, survey_status
from perception.storage import atomic_write, file_sha256, write_parquet
from perception.tables import DRIVERS, SMALL_AREAS
from perception.trends import adjust_published, bh_within, indicator_trends
from perception.weighting.workflow import weight_nonprobability, weight_wave, weighted_table
from perception.words import LANGS

#: Every step's checks: name -> (description, blocking). Dagster declares them from here.
CHECKS: dict[str, dict[str, tuple[str, bool]]] = {
    "harmonize": {
        "unique_ids": ("Every respondent id is present and unique.", True),
        "conformance": ("Every value is a code or value the variable catalogue allows.", True),
        "design": (
            "Mapped design columns (base weight, stratum, PSU) are complete and valid.",
            True,
        ),
        "no_pii": (
            "No column outside the catalogue, and none that looks like personal data.",
            True,
        ),
    },
    "weigh": {
        "calibration_converged": ("Calibration converged (trivially without calibration).", True),
        "margins_met": (
            "Weighted totals meet every calibration margin within tolerance (none without "
            "calibration).",
            True,
        ),
        "design_effect": (
            "Kish design effect from weighting is below the warning threshold.",
            False,
        ),
    },
    "estimate": {
        "fixed_schema": ("The table has exactly the published columns, in order.", True),
        "not_asked_is_not_zero": (
            "An item a wave lacks is 'not asked' with no value, never zero.",
            True,
        ),
        "estimates_in_range": ("Proportions and net scores lie in their range.", True),
    },
    "drivers": {
        "no_small_driver_level": (
            "No driver level or reference rests on fewer respondents than the disclosure "
            "threshold (small levels are pooled or left out).",
            True,
        ),
    },
    "small_areas": {
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
    },
    "trends": {
        "no_disclosure_risk": (
            "No small cell shows a value and no hidden cell is recoverable from the published "
            "estimates, trends, gaps and status jointly; the small-area table shows no hidden "
            "area's direct value (such areas are synthetic).",
            True,
        ),
    },
    "status": {
        "one_status_per_indicator": (
            "Every indicator has exactly one status from the allowed ones.",
            True,
        ),
    },
    "exports": {
        "latest_is_this_run": ("latest/ holds every export file, identical to this run's.", True),
    },
    "dashboard": {
        "outputs_disclose_nothing": (
            "Read back from disk, the exports (CSV, Parquet, DuckDB, every sheet of the workbook) "
            "and the dashboard's embedded data show no hidden cell and no number beyond the "
            "audited tables, and the joint audit recovers none; the dashboard is replaced only "
            "when they pass.",
            True,
        ),
    },
    "brief": {},
}

PUBLISHED = "published"
#: Parquet schema metadata key of ``weighted/<wave>.parquet``: the weights' record (JSON).
WEIGHTS_RECORD = "perception.weights"


# --------------------------------------------------------------------------- the workspace


@dataclass(frozen=True)
class Workspace:
    """One survey, validated once: its configuration, catalogues, rules and output folders."""

    project: Project
    indicators: IndicatorCatalogue
    rules: DisclosureRules
    weighting: WeightingConfig
    root: Path

    @property
    def survey(self) -> SurveyConfig:
        """Return the survey file's configuration."""
        return self.project.survey

    def wave(self, wave_id: str) -> WaveConfig:
        """Return the configuration of one wave."""
        return next(w for w in self.survey.waves if w.id == wave_id)

    def folder(self, kind: str) -> Path:
        """Return the processed folder of one kind of output (estimates, published, exports…)."""
        survey = self.survey
        return survey.resolve(survey.processed_dir) / survey.survey / kind

    def output(self, kind: str, wave_id: str) -> Path:
        """Return the processed path of one wave's output of a kind (harmonized, weighted…)."""
        return self.folder(kind) / f"{wave_id}.parquet"

    @property
    def dashboards(self) -> Path:
        """Return the folder the survey's dashboard and chart images are written to."""
        return self.root / "dashboards" / self.survey.survey


#: The last workspace of each (root, survey file), with the digests it was loaded from.
_WORKSPACES: dict[tuple[str, str], tuple[tuple[str, ...], Workspace]] = {}


def _config_files(survey: SurveyConfig) -> list[Path]:
    """Return every configuration file a survey's workspace is loaded from."""
    named = [
        survey.variables,
        survey.weighting,
        survey.indicators,
        survey.disclosure,
        survey.targets,
        *(w.codebook for w in survey.waves),
        *(w.targets for w in survey.waves),
    ]
    return [survey.path, *(survey.resolve(n) for n in named if n is not None)]


def _digest(path: Path) -> str:
    """Return a file's SHA-256, or ``missing``."""
    return file_sha256(path) if path.is_file() else "missing"


def load_workspace(survey_file: str | Path, root: str | Path) -> Workspace:
    """Load and validate one survey's workspace, once per content of its configuration files.

    The last load of each survey is kept with the SHA-256 of every configuration file it read,
    so the steps of one run share one load and an edited file is read again.
    """
    survey = load_survey(survey_file, root=root)
    where = (str(Path(root).resolve()), str(survey.path))
    digests = tuple(f"{f}={_digest(f)}" for f in _config_files(survey))
    cached = _WORKSPACES.get(where)
    if cached is None or cached[0] != digests:
        project = load_project(survey_file, root=root)
        waves = [w.id for w in project.survey.waves]
        workspace = Workspace(
            project=project,
            indicators=load_indicators(
                survey.resolve(survey.indicators), project.catalogue, waves=waves
            ),
            rules=load_disclosure_rules(survey.resolve(survey.disclosure)),
            weighting=load_weighting_config(survey.resolve(survey.weighting)),
            root=Path(root),
        )
        cached = _WORKSPACES[where] = (digests, workspace)
    return cached[1]


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class Check:
    """The outcome of one check of a step; a failed blocking check stops what follows."""

    passed: bool
    blocking: bool
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """What a step wrote: its main output, metadata, checks, and lines for the log."""

    name: str
    path: Path
    metadata: Mapping[str, Any]
    checks: Mapping[str, Check] = field(default_factory=dict)
    notes: Sequence[str] = ()
    warnings: Sequence[str] = ()


def _checks(step: str, outcomes: Mapping[str, tuple[bool, Mapping[str, Any]]]) -> dict[str, Check]:
    """Attach each outcome to its declared check (its blocking flag comes from CHECKS)."""
    return {
        name: Check(bool(outcomes[name][0]), blocking, outcomes[name][1])
        for name, (_, blocking) in CHECKS[step].items()
    }


def failed_blocking(step: Step) -> list[str]:
    """Return the names of a step's failed blocking checks."""
    return [name for name, check in step.checks.items() if check.blocking and not check.passed]


def require(step: Step) -> Step:
    """Return ``step``, or raise when one of its blocking checks failed."""
    failed = failed_blocking(step)
    if failed:
        raise PerceptionError(
            f"Step {step.name} failed its blocking check(s): {', '.join(failed)}",
            expected="every blocking check passing",
            found="; ".join(f"{n}: {dict(step.checks[n].metadata)}" for n in failed),
            hint="fix the input the check names, then run the step again",
            file=step.path,
        )
    return step


@one_blas_thread
def harmonize(ws: Workspace, wave_id: str) -> tuple[Step, pd.DataFrame]:
    """Harmonize a wave's raw file through its codebook; write ``harmonized/<wave>.parquet``."""
    wave = ws.wave(wave_id)
    raw = ws.survey.raw_path(wave)
    source_sha256 = _digest(raw)
    df = harmonize_file(
        raw,
        ws.project.codebooks[wave.id],
        ws.project.catalogue,
        survey=ws.survey.survey,
        root=ws.survey.root,
    )
    path = write_harmonized(df, ws.output("harmonized", wave.id), ws.project.catalogue)
    findings = check_harmonized(df, ws.project.catalogue)
    outcomes = {
        name: (
            not (found := [f for f in findings if f.check == name]),
            {"findings": "\n".join(f.message for f in found[:20]) or "none"},
        )
        for name in CHECKS["harmonize"]
    }
    notes = [f"Read {raw}", f"Harmonized {len(df)} rows into {len(df.columns)} catalogue columns"]
    if FILTER_ATTR in df.attrs:
        notes.append(f"Codebook {df.attrs[FILTER_ATTR]}")
    step = Step(
        "harmonize",
        path,
        {
            "source": raw,
            "source_sha256": source_sha256,
            "rows": len(df),
            "filter": str(df.attrs.get(FILTER_ATTR, "none")),
            "columns": len(df.columns),
            "preview": df.head(5),
        },
        _checks("harmonize", outcomes),
        notes,
    )
    return step, df


def weighting_inputs(ws: Workspace, wave_id: str) -> dict[str, str]:
    """Return the SHA-256 of every file a wave's weights are computed from, by path."""
    survey = ws.survey
    _, targets = survey.targets_key(ws.wave(wave_id))
    files = [ws.output("harmonized", wave_id), survey.resolve(survey.weighting)]
    files += [survey.resolve(survey.variables)]
    files += [] if targets is None else [survey.resolve(targets)]
    # Paths relative to the project root, so that a copied or moved project keeps its record.
    return {_relative(f, survey.root): _digest(f) for f in files}


def _relative(path: Path, root: Path) -> str:
    """Return ``path`` relative to ``root`` when it lies inside it, else as it is."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _design_path(ws: Workspace, wave_id: str) -> Path:
    """Return the file holding a wave's weighted design (weights and calibration history)."""
    return ws.folder("weighted") / f"{wave_id}.design.pickle"


@one_blas_thread
def weigh(ws: Workspace, wave_id: str) -> tuple[Step, SurveyDesign]:
    """Weight a harmonized wave; write its weights, their record, design and report.

    ``weighted/<wave>.parquet`` holds the respondents and their final weight; its schema
    metadata (``perception.weights``) records the SHA-256 of every input, the checks and the
    design file, which :func:`checked_design` verifies before any estimate uses it.
    """
    wave = ws.wave(wave_id)
    inputs = weighting_inputs(ws, wave_id)
    df = read_harmonized(ws.output("harmonized", wave_id))
    if wave.is_probability or wave.reference_wave is not None:
        config = ws.weighting
        targets = load_wave_targets(ws.survey, wave_id, config, ws.project.catalogue)
        design, report = weight_wave(df, config, targets)
    else:  # a poll without a reference wave: equal weights, raked to the census if `rake:`
        config = nonprobability_weighting(ws.weighting, rake=wave.rake)
        targets = load_wave_targets(ws.survey, wave_id, config, ws.project.catalogue)
        design, report = weight_nonprobability(df, config, targets)
    overall = report.iloc[0]
    tolerance = (
        config.trimming.margin_tolerance if config.trimming else config.calibration.tolerance
    )
    # NaN without calibration margins (method none): then no margin can be missed.
    worst = float(report["margin_error_rel"].max(skipna=True))
    deff = float(overall["deff_kish"])
    checks = _checks(
        "weigh",
        {
            "calibration_converged": (
                bool(report["converged"].all()),
                {"iterations": int(overall["iterations"])},
            ),
            "margins_met": (
                not worst > tolerance,
                {
                    "largest_relative_error": worst,
                    "tolerance": tolerance,
                    "calibration": config.calibration.method,
                },
            ),
            "design_effect": (
                deff <= config.deff_warning,
                {"kish_deff": deff, "threshold": config.deff_warning},
            ),
        },
    )
    blob = pickle.dumps(design, protocol=pickle.HIGHEST_PROTOCOL)
    design_path = atomic_write(_design_path(ws, wave_id), lambda stream: stream.write(blob))
    record = {
        "inputs": inputs,
        "design_file": design_path.name,
        "design_sha256": hashlib.sha256(blob).hexdigest(),
        "calibration": config.calibration.method,
        "failed_checks": [n for n, c in checks.items() if c.blocking and not c.passed],
    }
    path = write_parquet(
        weighted_table(design),
        ws.output("weighted", wave_id),
        metadata={WEIGHTS_RECORD: json.dumps(record, sort_keys=True)},
    )
    write_parquet(report, ws.output("weighting_report", wave_id))
    variance = config.design.replicate_text(int(overall["n_replicates"])) or "Taylor linearisation"
    notes = [
        f"Weighted {len(df)} rows ({config.calibration.method} calibration): "
        f"{int(overall['iterations'])} iterations, {int(overall['trim_rounds'])} trimming "
        f"rounds, Kish deff {deff:.3f}",
        f"Variance: {variance}",
    ]
    step = Step(
        "weigh",
        path,
        {
            "rows": len(df),
            "kish_deff": deff,
            "effective_n": float(overall["n_eff"]),
            "max_min_ratio": float(overall["max_min_ratio"]),
            "iterations": int(overall["iterations"]),
            "largest_margin_error": worst,
            "design": str(overall["design"]) or "PSU ids given",
            "variance": variance,
            "report": report,
        },
        checks,
        notes,
        [f"Design: {overall['design']}"] if overall["design"] else [],
    )
    return step, design


def checked_design(ws: Workspace, wave_id: str) -> SurveyDesign:
    """Return the design the weights step wrote and checked for a wave.

    Raises
    ------
    PerceptionError
        When the wave has not been weighted, when a file its weights were computed from has
        changed since (the weights would not be the ones checked), when a blocking check of
        the weights failed, or when the design file is not the one the weights step wrote.

    """
    path = ws.output("weighted", wave_id)
    rerun = f"run the weights step of wave {wave_id} again (perception run --wave {wave_id})"
    if not path.is_file():
        raise PerceptionError(
            f"Wave {wave_id} has no weights to estimate from",
            expected=f"the weights step's output at {path}",
            found="no such file",
            hint=rerun,
            file=path,
        )
    metadata = pq.read_schema(path).metadata or {}
    if WEIGHTS_RECORD.encode() not in metadata:
        raise PerceptionError(
            f"The weights of wave {wave_id} carry no record of their inputs and checks",
            expected=f"schema metadata {WEIGHTS_RECORD!r} written by the weights step",
            found="none (written by an older version, or by hand)",
            hint=rerun,
            file=path,
        )
    record = json.loads(metadata[WEIGHTS_RECORD.encode()])
    now = weighting_inputs(ws, wave_id)
    changed = sorted(
        f for f in set(now) | set(record["inputs"]) if now.get(f) != record["inputs"].get(f)
    )
    if changed:
        raise PerceptionError(
            f"The inputs of wave {wave_id}'s weights changed after they were computed and checked",
            expected="the files the checked weights were computed from, unchanged",
            found="changed: " + ", ".join(changed),
            hint=rerun + ", so that the estimates use weights that were checked",
            file=path,
        )
    if record["failed_checks"]:
        raise PerceptionError(
            f"The weights of wave {wave_id} failed blocking checks",
            expected="weights that passed every blocking check",
            found="failed: " + ", ".join(record["failed_checks"]),
            hint="fix the weighting settings or targets (config/weighting.yaml), then " + rerun,
            file=path,
        )
    design_file = path.parent / record["design_file"]
    blob = design_file.read_bytes() if design_file.is_file() else b""
    if hashlib.sha256(blob).hexdigest() != record["design_sha256"]:
        raise PerceptionError(
            f"The design file of wave {wave_id} is not the one its weights step wrote",
            expected=f"{design_file} with SHA-256 {record['design_sha256']}",
            found="no such file" if not blob else "other content",
            hint=rerun,
            file=design_file,
        )
    design: SurveyDesign = pickle.loads(blob)  # written by weigh(), its SHA-256 checked above
    return design


def _nonprobability_table(
    ws: Workspace, wave: WaveConfig, table: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Table 1 of a `sample: nonprobability` wave (no design-based CI, CLW's where it applies).

    With a reference wave and ``rake: true`` the pseudo-weights are raked to the census margins.
    Also returns the pseudo-weights' diagnostics (none without a reference wave): their Kish
    design effect and propensity range, and the covariates' balance before and after.
    """
    if wave.reference_wave is None:
        return without_design_uncertainty(table), {}
    weighting = ws.weighting if wave.rake else None
    targets = (
        None
        if weighting is None
        else load_wave_targets(ws.survey, wave.id, weighting, ws.project.catalogue)
    )
    sample = read_harmonized(ws.output("harmonized", wave.id))
    reference = checked_design(ws, wave.reference_wave)
    covariates = wave.covariates or []
    nonprob, fit = estimate_nonprobability_wave(
        sample,
        ws.indicators,
        ws.project.catalogue,
        survey=ws.survey.survey,
        wave=wave.id,
        reference=reference,
        covariates=covariates,
        method=wave.propensity or "clw",
        weighting=weighting,
        targets=targets,
    )
    assert fit is not None  # a reference wave always gives a fit
    return nonprob, {
        "pseudo_weights": weight_diagnostics(fit, reference),
        "covariate_balance": balance_table(sample, reference, covariates, fit.weights),
    }


@one_blas_thread
def estimate(ws: Workspace, wave_id: str, design: SurveyDesign | None = None) -> Step:
    """Estimate every indicator of a wave in every domain from its checked design.

    ``design`` is the one :func:`weigh` just returned (in the same process); by default the
    checked one on disk (:func:`checked_design`).
    """
    design = checked_design(ws, wave_id) if design is None else design
    survey, catalogue = ws.survey.survey, ws.project.catalogue
    table = compute_indicators(design, ws.indicators, catalogue, survey=survey, wave=wave_id)
    wave = ws.wave(wave_id)
    diagnostics: dict[str, pd.DataFrame] = {}
    if not wave.is_probability:
        table, diagnostics = _nonprobability_table(ws, wave, table)
    alpha = index_reliability(design, ws.indicators, catalogue, survey=survey, wave=wave_id)
    path = write_parquet(table, ws.output("estimates", wave_id))
    write_parquet(alpha, ws.output("reliability", wave_id))
    asked = table["availability"] != "not_asked"
    values = table[["estimate", "se", "n"]]
    percent = (table["unit"] == "percent") & (table["type"] != "gap")
    outside = percent & ((table["estimate"] < -1) | (table["estimate"] > 1))
    checks = _checks(
        "estimate",
        {
            "fixed_schema": (
                list(table.columns) == list(estimate_columns(catalogue.domain_columns)),
                {},
            ),
            "not_asked_is_not_zero": (
                bool(values[~asked].isna().all(axis=None)),
                {"not_asked_rows": int((~asked).sum())},
            ),
            "estimates_in_range": (
                not outside.any(),
                {"rows_out_of_range": int(outside.sum())},
            ),
        },
    )
    return Step(
        "estimate",
        path,
        {
            "rows": len(table),
            "indicators": int(table["indicator"].nunique()),
            "not_asked": sorted(set(table.loc[~asked, "indicator"])),
            "cronbach_alpha": alpha,
            **diagnostics,
        },
        checks,
    )


@one_blas_thread
def drivers(ws: Workspace, wave_id: str, design: SurveyDesign | None = None) -> Step:
    """Average marginal effects of each indicator's drivers in a wave, from its checked design.

    A non-probability wave has none: their intervals and p-values would be design-based.
    """
    design = checked_design(ws, wave_id) if design is None else design
    min_n = ws.rules.suppress_below
    notes = []
    if ws.wave(wave_id).is_probability:
        table = indicator_drivers(
            design,
            ws.indicators,
            ws.project.catalogue,
            survey=ws.survey.survey,
            wave=wave_id,
            min_n=min_n,
        )
    else:
        notes.append("No drivers from a non-probability wave")
        table = pd.DataFrame(columns=list(DRIVER_COLUMNS)).astype(DRIVER_COLUMNS)
    path = write_parquet(table, ws.output("drivers", wave_id))
    counts = table[["n_level", "n_reference"]]
    small = (counts.notna() & (counts < min_n)).any(axis=1)
    sound = not small.any() and list(table.columns) == list(DRIVER_COLUMNS)
    return Step(
        "drivers",
        path,
        {"rows": len(table), "notes": sorted(set(table["note_en"]) - {""})},
        _checks("drivers", {"no_small_driver_level": (sound, {"small_levels": int(small.sum())})}),
        notes,
    )


def _area_covariates(ws: Workspace) -> tuple[dict[str, pd.DataFrame], dict[str, Path]]:
    """Load the covariates of every area level of `areas:`, and name their files."""
    levels = ws.indicators.areas or {}
    files = {level: ws.survey.resolve(s.covariates) for level, s in levels.items()}
    covariates = {
        level: load_area_covariates(files[level], level, ws.project.catalogue, s.columns)
        for level, s in levels.items()
    }
    return covariates, files


@one_blas_thread
def small_areas(ws: Workspace, wave_id: str) -> Step:
    """Model-based (Fay-Herriot) estimates by area from the wave's estimates.

    A non-probability wave has none: Fay-Herriot needs design-based sampling variances.
    """
    covariates, files = _area_covariates(ws)
    estimates = pd.read_parquet(ws.output("estimates", wave_id))
    notes = []
    if not ws.wave(wave_id).is_probability:
        notes.append("No small-area estimates from a non-probability wave")
        estimates = estimates.iloc[:0]
    table = indicator_small_areas(
        estimates, ws.indicators, covariates, suppress_below=ws.rules.suppress_below, files=files
    )
    path = write_parquet(table, ws.output("small_area", wave_id))
    small = table["n"].fillna(0).lt(ws.rules.suppress_below) & table["direct"].notna()
    at_zero = table["sigma2_u"].eq(0)
    labelled = (
        table["kind"].isin(["eblup", "synthetic"]).all()
        and table["basis_en"].str.contains("Model-based").all()
        and table["basis_fr"].str.contains("modèle").all()
    )
    checks = _checks(
        "small_areas",
        {
            "model_based_labelled": (bool(labelled), {}),
            "no_small_direct_value": (not small.any(), {"rows": int(small.sum())}),
            "area_variance_positive": (
                not at_zero.any(),
                {"indicators_at_zero": sorted(set(table.loc[at_zero, "indicator"]))},
            ),
        },
    )
    return Step(
        "small_areas",
        path,
        {
            "rows": len(table),
            "indicators": sorted(set(table["indicator"])),
            "synthetic_areas": int(table["kind"].eq("synthetic").sum()),
        },
        checks,
        notes,
    )


def process_wave(ws: Workspace, wave_id: str) -> list[Step]:
    """Run one wave: harmonize, weigh, estimate, drivers, small areas; weighting runs once.

    Stops with a :class:`~perception.errors.PerceptionError` at the first failed blocking
    check, as Dagster does; returns every step's result.
    """
    harmonized, _ = harmonize(ws, wave_id)
    weights, _ = weigh(ws, wave_id)
    steps = [require(harmonized), require(weights)]
    design = checked_design(ws, wave_id)
    steps.append(require(estimate(ws, wave_id, design)))
    steps.append(require(drivers(ws, wave_id, design)))
    steps.append(require(small_areas(ws, wave_id)))
    return steps


# --------------------------------------------------------------------------- across waves


def publish_indicators(
    estimates: pd.DataFrame,
    indicators: IndicatorCatalogue,
    rules: DisclosureRules,
    *,
    waves: Sequence[str],
    domains: Sequence[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the published (disclosure-controlled) estimates and trends.

    ``estimates`` holds Table 1 for every available wave; ``waves`` lists the survey's waves in
    time order; ``domains`` its domain columns (``Catalogue.domain_columns``). Trends are
    computed before suppression (a change needs both sides' values);
    :func:`perception.disclosure.publish_tables` then suppresses both tables jointly (every
    wave, variant, margin, change and gap) and proves that no hidden cell is recoverable.
    """
    present = [w for w in waves if w in set(estimates["wave"])]
    trends = indicator_trends(
        estimates,
        waves=present,
        directions=indicators.directions(),
        domains=domains,
        baseline=indicators.baselines(),
    )
    published, changes = publish_tables(estimates, trends, rules, gaps=indicators.gap_sides())
    # Gaps' p-values are adjusted over the published gaps of each wave and variant only, as
    # adjust_published does for changes: a family holding a hidden gap would give it away.
    tested = (
        published["type"].eq("gap")
        & published["availability"].eq("estimated")
        & ~published["suppressed"].astype(bool)
        & published["p_value"].notna()
    )
    published = published.assign(
        p_adjusted=bh_within(published, tested, ("survey", "wave", "variant"))
    )
    return published, adjust_published(changes, indicators.directions())


@one_blas_thread
def trends(ws: Workspace) -> Step:
    """Publish every available wave's estimates and their trends, jointly suppressed."""
    waves = [w.id for w in ws.survey.waves]
    files = [ws.output("estimates", w) for w in waves]
    available = [f for f in files if f.exists()]
    estimates = pd.concat([pd.read_parquet(f) for f in available], ignore_index=True)
    published, changes = publish_indicators(
        estimates,
        ws.indicators,
        ws.rules,
        waves=waves,
        domains=ws.project.catalogue.domain_columns,
    )
    covariates, area_files = _area_covariates(ws)
    present = set(published["wave"])
    areas = publish_small_areas(
        published,
        ws.indicators,
        covariates,
        waves=[w.id for w in ws.survey.waves if w.is_probability and w.id in present],
        suppress_below=ws.rules.suppress_below,
        files=area_files,
    )
    folder = ws.folder(PUBLISHED)
    write_parquet(published, folder / "estimates.parquet")
    write_parquet(changes, folder / "trends.parquet")
    write_parquet(areas, folder / "small_areas.parquet")
    problems = audit_published(
        published,
        changes,
        ws.rules,
        gaps=ws.indicators.gap_sides(),
        status=survey_status(published, changes, ws.indicators, ws.survey),
    ) + audit_small_areas(areas, published)
    return Step(
        "trends",
        folder,
        {
            "estimate_rows": len(published),
            "suppressed_cells": int(published["suppressed"].sum()),
            "flagged_cells": int(published["flagged"].sum()),
            "significant_changes": int(changes["significant"].sum()),
            "small_area_rows": len(areas),
        },
        _checks(
            "trends",
            {
                "no_disclosure_risk": (
                    not problems,
                    {"problems": "\n".join(problems[:20]) or "none"},
                )
            },
        ),
        [f"Estimates of {len(available)} of {len(files)} waves are available"],
    )


@one_blas_thread
def status(ws: Workspace) -> Step:
    """Each indicator's status against its benchmark, from the published tables."""
    folder = ws.folder(PUBLISHED)
    table = survey_status(
        pd.read_parquet(folder / "estimates.parquet"),
        pd.read_parquet(folder / "trends.parquet"),
        ws.indicators,
        ws.survey,
    )
    path = write_parquet(table, folder / "status.parquet")
    expected = sorted(i.id for i in ws.indicators.indicators)
    sound = sorted(table["indicator"]) == expected and table["status"].isin(STATUSES).all()
    return Step(
        "status",
        path,
        {
            "summary_en": headline_summary(table, ws.indicators, "en"),
            "summary_fr": headline_summary(table, ws.indicators, "fr"),
            "status": table[["indicator", "latest_wave", "estimate", "status"]],
        },
        _checks("status", {"one_status_per_indicator": (bool(sound), {})}),
    )


@one_blas_thread
def exports(ws: Workspace, run_id: str) -> Step:
    """Write the methodology and drivers tables and the report-ready exports of a run.

    Every export file is read back and audited before ``exports/latest`` is replaced.
    """
    survey, folder = ws.survey, ws.folder(PUBLISHED)
    estimates = pd.read_parquet(folder / "estimates.parquet")
    waves = sorted(set(estimates["wave"]))
    reports = {w: pd.read_parquet(ws.output("weighting_report", w)) for w in waves}
    methodology = methodology_table(
        survey,
        reports,
        ws.weighting,
        catalogue=ws.project.catalogue,
        suppress_below=ws.rules.suppress_below,
        flag_below=ws.rules.flag_below,
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    # Read back, so the exports are built from the table as every reader of published/ gets it
    # (Parquet stores its dates in ms): the readback's rebuild of the workbooks is then equal.
    methodology = pd.read_parquet(write_parquet(methodology, folder / "methodology.parquet"))
    files = [ws.output("drivers", w) for w in waves]
    frames = [pd.read_parquet(f) for f in files if f.exists()]
    published_drivers = publish_drivers(
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=list(DRIVER_COLUMNS)),
        ws.rules,
    )
    write_parquet(published_drivers, folder / "drivers.parquet")
    tables = PublishedTables(
        estimates=estimates,
        trends=pd.read_parquet(folder / "trends.parquet"),
        status=pd.read_parquet(folder / "status.parquet"),
        methodology=methodology,
        drivers=published_drivers,
        small_areas=pd.read_parquet(folder / "small_areas.parquet"),
    )
    labels = ExportLabels.from_config(
        survey,
        ws.project.catalogue,
        indicators={i.id: i.label.model_dump() for i in ws.indicators.indicators},
        benchmarks={k: b.label.model_dump() for k, b in ws.indicators.benchmarks.items()},
    )

    def audit(files: Path) -> None:
        """Read the written files back and audit them before they are published."""
        readback.audit_outputs(ws.project, ws.indicators, ws.rules, exports=files, published=folder)

    result = write_exports(tables, ws.folder("exports"), run_id=run_id, labels=labels, check=audit)
    same = all(
        (result.latest_dir / name).read_bytes() == (result.run_dir / name).read_bytes()
        for name in EXPORT_FILES
    )
    return Step(
        "exports",
        result.latest_dir,
        {
            "latest": result.latest_dir,
            "run_folder": result.run_dir,
            "driver_rows": len(published_drivers),
            "suppressed_driver_rows": int(published_drivers["suppressed"].sum()),
        },
        _checks("exports", {"latest_is_this_run": (same, {})}),
    )


@one_blas_thread
def dashboard(ws: Workspace, run_id: str) -> Step:
    """Build the dashboard from the published tables; replace it only when the audit passes.

    The run's page and every export are read back and audited first; a refused page is
    deleted and the last dashboard stays. Chart images follow a published page.
    """
    browser.start()  # it starts (~2 s) while the figures are built
    folder = ws.folder(PUBLISHED)
    tables = {n: pd.read_parquet(folder / f) for n, f in readback.PUBLISHED_FILES.items()}
    out = ws.dashboards / "runs" / f"{run_id}.html"
    inputs = page_inputs(ws.survey, ws.project.catalogue, ws.indicators)
    # Chromium draws the charts (from the same published tables, which the audit compares)
    # while the page is written and audited; they are written only if the audit passes.
    images = ws.dashboards / "images"
    options = {k: v for k, v in inputs.items() if k != "questions"}
    audited: Future[bool] = Future()

    def draw(views: Mapping[str | Path, Mapping[str, Any]]) -> list[Path]:
        return export_images(views, publish_when=audited.result)

    with ThreadPoolExecutor(max_workers=1) as pool:
        try:  # the figures first: the page is drawn from them
            views: dict[str | Path, Mapping[str, Any]] = {
                images / lang: report_views(dashboard_figures(tables, lang=lang, **options))
                for lang in LANGS
            }
        except PerceptionError as error:
            drawing: Future[list[Path]] = Future()
            drawing.set_exception(error)
        else:
            drawing = pool.submit(draw, views)
        try:
            build_dashboard(
                tables,
                out_path=out,
                generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
                **inputs,
            )
            try:
                readback.audit_outputs(
                    ws.project,
                    ws.indicators,
                    ws.rules,
                    exports=ws.folder("exports") / "latest",
                    published=folder,
                    dashboard=out,
                )
            except PerceptionError as error:
                out.unlink()  # the run's page may show what the audit refused
                return Step(
                    "dashboard",
                    ws.dashboards,
                    {},
                    _checks(
                        "dashboard", {"outputs_disclose_nothing": (False, {"error": str(error)})}
                    ),
                    warnings=[f"Dashboard not published (the last one stays):\n{error}"],
                )
            audited.set_result(True)
        finally:  # a page that failed to build or was refused: its images are not written
            if not audited.done():
                audited.set_result(False)
    notes, warnings = [], []
    try:
        drawing.result()
    except PerceptionError as error:  # e.g. no Chromium: the dashboard itself is still fine
        warnings.append(f"Chart images were not exported:\n{error}")
    else:
        notes.append(f"Chart images (PNG, SVG) written to {images}")
    latest = atomic_write(
        ws.dashboards / "dashboard.html", lambda stream: stream.write(out.read_bytes())
    )
    notes.append(f"Dashboard written to {latest}")
    return Step(
        "dashboard",
        latest,
        {"size_mb": round(latest.stat().st_size / 1e6, 2)},
        _checks("dashboard", {"outputs_disclose_nothing": (True, {})}),
        notes,
        warnings,
    )


def report_views(figures: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """Pick each chart's default view (headline indicator, national, latest wave) for reports.

    The drivers chart of the headline indicator's latest wave is added when it has drivers.
    """
    headline = next(key.split("|")[1] for key in figures if key.startswith("trends|"))
    maps = sorted(  # the direct maps (map|<indicator>|<wave>), not their model-based twins
        key for key in figures if key.startswith(f"map|{headline}|") and key.count("|") == 2
    )
    drivers = sorted(key for key in figures if key.startswith(f"drivers|{headline}|"))
    wanted = ["gaps", f"trends|{headline}|national", *maps[-1:], f"heatmap|{headline}"]
    wanted += drivers[-1:]
    return {key: figures[key] for key in wanted if key in figures}


@one_blas_thread
def brief(ws: Workspace, run_id: str, wave: str | None = None) -> Step:
    """Write the results briefs (Word, PDF; EN, FR) of ``wave`` (default the latest)."""
    survey, folder = ws.survey, ws.folder(PUBLISHED)
    names = {n: f for n, f in readback.PUBLISHED_FILES.items() if n not in (DRIVERS, SMALL_AREAS)}
    missing = [f for f in names.values() if not (folder / f).exists()]
    if missing:
        raise PerceptionError(
            f"No published tables of survey {survey.survey!r} to write a brief from",
            expected=f"{', '.join(missing)} in {folder}",
            found="no such file(s)",
            hint=f"run the survey first: perception run --survey {survey.path}",
        )
    briefs = build_briefs(
        {n: pd.read_parquet(folder / f) for n, f in names.items()},
        catalogue=ws.project.catalogue,
        survey=survey,
        indicators=ws.indicators,
        config=load_brief_config(survey.root / BRIEF_FILE),
        wave=wave,
        images=ws.dashboards / "images",
    )
    rendered = render_briefs(briefs)
    latest = add_to_latest(
        ws.folder("exports"), rendered.files, run_id=run_id, replaces=BRIEF_FILES
    )
    warnings = (
        []
        if rendered.pdf_error is None
        else [f"The PDF briefs were not written:\n{rendered.pdf_error}"]
    )
    return Step(
        "brief",
        latest,
        {"latest": latest, "files": sorted(rendered.files), "wave": wave or "latest"},
        warnings=warnings,
    )


def publish(ws: Workspace, run_id: str) -> list[Step]:
    """Run the cross-wave steps: trends, status, exports, dashboard, brief.

    Stops with a :class:`~perception.errors.PerceptionError` at the first failed blocking
    check; returns every step's result.
    """
    steps = [require(trends(ws)), require(status(ws))]
    steps.append(require(exports(ws, run_id)))
    steps.append(require(dashboard(ws, run_id)))
    steps.append(brief(ws, run_id))
    return steps
