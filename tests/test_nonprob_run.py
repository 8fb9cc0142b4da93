"""`perception run` with the demo's wave 3 polled by SMS, without and with a reference wave."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from demo_project import DemoRun
from openpyxl import load_workbook

from perception import flow
from perception.codebook import read_harmonized
from perception.config import (
    load_project,
    load_wave_targets,
    load_weighting_config,
    nonprobability_weighting,
)
from perception.indicators import score_indicator
from perception.nonprob import nonprob_means, pseudo_weights
from perception.weighting.workflow import weight_nonprobability
from pipelines.cli import main

NO_MARGIN = {"en": "non-probability — no margin of error", "fr": "non probabiliste — sans marge"}


@pytest.fixture(scope="module")
def run(demo: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copy the demo run, declare w3 `sample: nonprobability`, and run w3 and the reporting."""
    return _rerun_w3(demo, tmp_path_factory.mktemp("sms"), "    sample: nonprobability\n")


def _rerun_w3(demo: DemoRun, folder: Path, declared: str) -> Path:
    """Copy the demo run into ``folder``, add ``declared`` to wave w3's keys, run w3 again.

    As a data officer would after changing one wave's declaration: ``perception run --wave
    w3`` runs that wave and the reporting, which reads waves w1 and w2 as the demo run left
    them (their inputs are unchanged, so are they). Every test below reads w3 as declared.
    """
    root = demo.copy(folder / "project").root
    survey = root / "config" / "survey.yaml"
    anchor = "    codebook: config/codebooks/demo_w3.yaml\n"
    text = survey.read_text(encoding="utf-8")
    assert anchor in text
    survey.write_text(text.replace(anchor, anchor + declared), "utf-8")
    with pytest.MonkeyPatch.context() as env, warnings.catch_warnings():
        env.delenv("DAGSTER_HOME", raising=False)  # the copy's own instance, in root/.dagster
        warnings.simplefilter("ignore")
        assert main(["run", "--root", str(root), "--wave", "w3"]) == 0
    return root


def _published(root: Path, table: str) -> pd.DataFrame:
    """Read one published table of the run."""
    return pd.read_parquet(root / "data" / "processed" / "demo" / "published" / f"{table}.parquet")


def test_the_poll_is_unweighted_and_has_no_design_based_interval(run: Path) -> None:
    """w3's weights are all 1; its estimates have values, and no SE, CI, df or deff (blank)."""
    processed = run / "data" / "processed" / "demo"
    weights = pd.read_parquet(processed / "weighted" / "w3.parquet")["weight"]
    assert (weights == 1.0).all() and len(weights) > 100
    estimates = _published(run, "estimates")
    shown = estimates["availability"].eq("estimated") & ~estimates["suppressed"]
    poll = estimates[shown & estimates["wave"].eq("w3")]
    assert len(poll) > 100 and poll["estimate"].notna().all()
    assert poll[["se", "ci_low", "ci_high", "df", "deff"]].isna().all(axis=None)
    others = estimates[shown & estimates["wave"].ne("w3")]
    assert others[["se", "ci_low", "ci_high"]].notna().all(axis=None)
    with (processed / "exports" / "latest" / "indicators.csv").open(encoding="utf-8") as file:
        rows = [r for r in csv.DictReader(file) if r["wave"] == "w3" and r["estimate"]]
    assert rows and all(r["ci_low"] == "" and r["ci_high"] == "" for r in rows)
    # Nothing model- or design-based is computed from the poll.
    assert pd.read_parquet(processed / "drivers" / "w3.parquet").empty
    assert pd.read_parquet(processed / "small_area" / "w3.parquet").empty


def test_the_poll_never_drives_a_status_or_a_change(run: Path) -> None:
    """Every status judges w2, the latest probability wave; no change is tested to w3."""
    status = _published(run, "status")
    assert set(status["latest_wave"]) == {"w2"}
    trends = _published(run, "trends")
    assert not (trends["wave"].eq("w3") & trends["p_value"].notna()).any()


def test_every_output_says_non_probability(run: Path) -> None:
    """Methodology, workbooks and the dashboard say, in EN and FR, the poll has no margin."""
    method = _published(run, "methodology").set_index("wave")
    assert method.loc["w3", "design_en"].startswith("Non-probability sample")
    assert method.loc["w3", "weighting_en"].startswith(
        "Non-probability sample: equal weights for every respondent, unweighted"
    )
    assert method.loc["w3", "weighting_fr"].startswith("Échantillon non probabiliste")
    latest = run / "data" / "processed" / "demo" / "exports" / "latest"
    with duckdb.connect(str(latest / "indicators.duckdb"), read_only=True) as con:
        design = con.execute("select design_en from methodology where wave = 'w3'").fetchone()
    assert design is not None and design[0].startswith("Non-probability sample")
    for lang, name in (("en", "indicators.xlsx"), ("fr", "indicators_fr.xlsx")):
        book = load_workbook(latest / name, read_only=True)
        texts = {
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if isinstance(value, str)
        }
        assert any(NO_MARGIN[lang] in t for t in texts), (lang, name)
    page = (run / "dashboards" / "demo" / "dashboard.html").read_text(encoding="utf-8")
    assert NO_MARGIN["en"] in page and NO_MARGIN["fr"] in page


def test_rake_true_rakes_the_equal_weights_to_the_census_margins(run: Path) -> None:
    """With rake: true the poll's equal weights meet every census margin of weighting.yaml."""
    project = load_project(run / "config" / "survey.yaml", run)
    survey = project.survey
    df = read_harmonized(run / "data" / "processed" / "demo" / "harmonized" / "w3.parquet")
    config = nonprobability_weighting(
        load_weighting_config(survey.resolve(survey.weighting)), rake=True
    )
    targets = load_wave_targets(survey, "w3", config, project.catalogue)
    assert targets is not None
    design, _ = weight_nonprobability(df, config, targets)
    weights = pd.Series(design.weights, index=design.data.index)
    assert float(np.ptp(design.weights)) > 0
    for margin in ("gender", "age_band", "region", "urban_rural"):
        achieved = weights.groupby(design.data[margin]).sum()
        for code, target in targets.margin(margin).items():
            assert achieved[code] == pytest.approx(target, rel=1e-6), (margin, code)
    unweighted, _ = weight_nonprobability(df, nonprobability_weighting(config, rake=False), None)
    assert (unweighted.weights == 1.0).all()


@pytest.fixture(scope="module")
def raked_run(demo: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Declare w3 an SMS poll against w2 with `rake: true`, and run w3 and the reporting."""
    declared = (
        "    sample: nonprobability\n    reference_wave: w2\n"
        "    covariates: [gender, age_band, region]\n    rake: true\n"
    )
    return _rerun_w3(demo, tmp_path_factory.mktemp("sms_raked"), declared)


def test_raked_pseudo_weights_run_end_to_end(raked_run: Path) -> None:
    """w3's Table 1: raked pseudo-weighted means, raking-residual CLW SEs; EN/FR say so."""
    ws = flow.load_workspace(raked_run / "config" / "survey.yaml", raked_run)
    processed = raked_run / "data" / "processed" / "demo"
    sample = read_harmonized(processed / "harmonized" / "w3.parquet")
    reference = flow.checked_design(ws, "w2")
    config = load_weighting_config(ws.survey.resolve(ws.survey.weighting))
    targets = load_wave_targets(ws.survey, "w3", config, ws.project.catalogue)
    assert targets is not None
    margins = {m: targets.margin(m) for m in ("gender", "age_band", "region", "urban_rural")}
    fit = pseudo_weights(sample, reference, ["gender", "age_band", "region"], rake_to=margins)
    table = pd.read_parquet(processed / "estimates" / "w3.parquet")
    national = table[
        table["domain_set"].eq("national")
        & table["variant"].eq("all")
        & table["availability"].eq("estimated")
        & table["type"].ne("gap")
    ]
    assert len(national) > 5 and (national["se"] > 0).all()
    checked = 0
    for ind in ws.indicators.indicators:
        row = national[national["indicator"].eq(ind.id)]
        if row.empty or ind.type == "gap":
            continue
        answers = score_indicator(sample, ind, ws.project.catalogue)
        assert answers is not None
        frame = pd.DataFrame({"y": answers.variant("all")})
        want = nonprob_means(fit, frame, reference, ["y"]).iloc[0]
        assert row["estimate"].iloc[0] == pytest.approx(want["estimate"], rel=1e-6), ind.id
        assert row["se"].iloc[0] == pytest.approx(want["se"], rel=1e-5), ind.id
        checked += 1
    assert checked > 5
    method = _published(raked_run, "methodology").set_index("wave")
    assert method.loc["w3", "variance_method"] == "chen-li-wu"
    assert "pseudo-weights" in method.loc["w3", "weighting_en"]
    for column in ("weighting_en", "design_en"):
        assert "then adjusted by raking to population figures by Gender" in method.loc["w3", column]
    for column in ("weighting_fr", "design_fr"):
        assert "puis ramenés par calage sur marges" in method.loc["w3", column]
    assert "résidus de cet ajustement" in method.loc["w3", "design_fr"]
