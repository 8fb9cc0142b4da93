"""Surveys delivered with replicate weights, end to end: `perception run` equals R svrepdesign.

Two deliveries of R's API data with the replicate weights R built (``as.svrepdesign``), read
from ``tests/reference/rep_strat_jkn.csv`` (stratified, 200 JKn replicates, named by a
pattern, ``rscales`` from the documentation) and ``rep_clus1_boot.csv`` (15 districts, 40
bootstrap replicates, named by a list, with ``scale`` and the district as PSU). Each is set up
as a survey of its own (codebook, catalogue, ``design.replicate_weights``, indicators), run
with ``perception run``, and every published value is compared with R
(``tests/reference/replicates_e2e.json``, from ``make_replicates_e2e.R``).
"""

from __future__ import annotations

import io
import json
import shutil
import warnings
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pytest
import yaml
from golden import COMPARED

from perception.config import load_weighting_config
from pipelines.cli import main
from pipelines.definitions import PROJECT_ROOT

REFERENCE = Path(__file__).resolve().parent / "reference"
GOLDEN = json.loads((REFERENCE / "replicates_e2e.json").read_text(encoding="utf-8"))
DOCUMENTED = json.loads((REFERENCE / "expected_replicates.json").read_text(encoding="utf-8"))
GOLDEN_RTOL = 1e-6  # replicates_e2e.json meta.tolerance (R 4.2.2, survey 4.1.1)
SCHOOL_TYPES = {"E": 1, "H": 2, "M": 3}
INDICATORS = {"sch_wide": "beta", "yr_rnd": "wald", "api_high": "beta"}

pytestmark = pytest.mark.slow

DELIVERIES: dict[str, dict[str, Any]] = {
    "strat_jkn": {"survey": "api_jkn", "type": "JKn", "psu": None, "by": "pattern"},
    "clus1_boot": {"survey": "api_boot", "type": "bootstrap", "psu": "district", "by": "columns"},
}


def _item(en: str) -> dict[str, Any]:
    """Return a yes/no item of the catalogue."""
    return {
        "role": "item",
        "kind": "categorical",
        "theme": "schools",
        "label": {"en": en, "fr": en},
        "codes": {1: {"en": "Yes", "fr": "Oui"}, 2: {"en": "No", "fr": "Non"}},
    }


def _write(path: Path, data: object) -> None:
    """Write one YAML file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _configure(root: Path, name: str) -> tuple[str, int]:
    """Write the survey of one delivery under ``root``; return its key and replicate count."""
    spec = DELIVERIES[name]
    design = DOCUMENTED["designs"][name]
    source = REFERENCE / design["file"]
    header = pd.read_csv(source, nrows=0).columns
    reps = [c for c in header if c.startswith("rw")]
    key = spec["survey"]
    folder = root / "config" / key
    raw = root / "data" / "raw" / key
    raw.mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, raw / source.name)
    shutil.copy(PROJECT_ROOT / "config" / "disclosure.yaml", folder / "disclosure.yaml")
    label = {"en": "Replicate weight", "fr": "Poids répliqué"}
    variables: dict[str, Any] = {
        "respondent_id": {"role": "id", "kind": "string", "label": {"en": "School", "fr": "École"}},
        "school_type": {
            "role": "demographic",
            "kind": "categorical",
            "label": {"en": "School type", "fr": "Type d'école"},
            "codes": {
                1: {"en": "Elementary", "fr": "Élémentaire"},
                2: {"en": "High", "fr": "Lycée"},
                3: {"en": "Middle", "fr": "Collège"},
            },
        },
        "base_weight": {"role": "design", "kind": "number", "label": {"en": "W", "fr": "P"}},
        "district": {"role": "design", "kind": "string", "label": {"en": "D", "fr": "D"}},
        **{
            f"repw_{k}": {"role": "replicate_weight", "kind": "number", "label": label}
            for k in range(1, len(reps) + 1)
        },
        "sch_wide": _item("Met school-wide growth target"),
        "yr_rnd": _item("Year-round school"),
        "api_high": _item("API 2000 of 700 or more"),
    }
    _write(
        folder / "variables.yaml",
        {
            "themes": {"schools": {"en": "Schools", "fr": "Écoles"}},
            "domains": ["school_type"],
            "variables": variables,
        },
    )
    yes_no = {"recode": {"Yes": 1, "No": 2}}
    _write(
        folder / "codebooks" / "w1.yaml",
        {
            "wave": "w1",
            "source_file": source.name,
            "variables": {
                "snum": {"target": "respondent_id"},
                "stype": {"target": "school_type", "recode": SCHOOL_TYPES},
                "dnum": {"target": "district"},
                "pw": {"target": "base_weight"},
                **{rep: {"target": f"repw_{rep[2:]}"} for rep in reps},
                "sch.wide": {"target": "sch_wide", **yes_no},
                "yr.rnd": {"target": "yr_rnd", **yes_no},
                "api00": {
                    "target": "api_high",
                    "bins": [{"min": 0, "max": 699, "code": 2}, {"min": 700, "code": 1}],
                },
            },
        },
    )
    delivered: dict[str, Any] = {"type": spec["type"]}
    if spec["by"] == "pattern":
        delivered["pattern"] = "^repw_[0-9]+$"
    else:
        delivered["columns"] = [f"repw_{k}" for k in range(1, len(reps) + 1)]
    if spec["type"] == "JKn":
        delivered["rscales"] = design["rscales"]
    else:
        delivered["scale"] = design["scale"]
    _write(
        folder / "weighting.yaml",
        {
            "design": {"psu": spec["psu"], "replicate_weights": delivered},
            "base_weight": {"column": "base_weight"},
            "calibration": {"method": "none"},
        },
    )
    _write(
        folder / "indicators.yaml",
        {
            "benchmarks": {
                "schools": {"term": "short", "label": {"en": "Schools", "fr": "Écoles"}}
            },
            "defaults": {"disaggregations": ["national", "school_type"], "baseline_wave": "w1"},
            "indicators": [
                {
                    "id": item,
                    "label": {"en": item, "fr": item},
                    "benchmark": "schools",
                    "type": "proportion",
                    "items": [item],
                    "success": [1],
                    "direction": "higher",
                    "ci_method": method,
                }
                for item, method in INDICATORS.items()
            ],
        },
    )
    _write(
        folder / "survey.yaml",
        {
            "survey": key,
            "title": {"en": f"API schools ({name})", "fr": f"Écoles API ({name})"},
            "country": {"en": "California", "fr": "Californie"},
            "raw_dir": f"data/raw/{key}",
            "processed_dir": "data/processed",
            "variables": f"config/{key}/variables.yaml",
            "weighting": f"config/{key}/weighting.yaml",
            "indicators": f"config/{key}/indicators.yaml",
            "disclosure": f"config/{key}/disclosure.yaml",
            "waves": [
                {
                    "id": "w1",
                    "label": {"en": "1999-2000", "fr": "1999-2000"},
                    "file": source.name,
                    "codebook": f"config/{key}/codebooks/w1.yaml",
                }
            ],
        },
    )
    return key, len(reps)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, str, int]]]:
    """Run `perception run` on each delivery; yield its root, survey key and replicate count."""
    root = tmp_path_factory.mktemp("replicates")
    out: dict[str, tuple[Path, str, int]] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DAGSTER_HOME", raising=False)  # the run history is <root>/.dagster
        for name in DELIVERIES:
            key, count = _configure(root, name)
            printed = io.StringIO()
            with warnings.catch_warnings(), redirect_stdout(printed):
                warnings.simplefilter("ignore")
                survey = f"config/{key}/survey.yaml"
                code = main(["run", "--root", str(root), "--survey", survey])
            assert code == 0, printed.getvalue()
            out[name] = (root, key, count)
    yield out


def _published(root: Path, key: str, name: str) -> pd.DataFrame:
    """Read one published table of a survey."""
    return pd.read_parquet(root / "data" / "processed" / key / "published" / f"{name}.parquet")


@pytest.mark.parametrize("delivery", list(DELIVERIES))
def test_published_estimates_equal_r_svrepdesign(
    runs: dict[str, tuple[Path, str, int]], delivery: str
) -> None:
    """Estimate, SE, CI, deff, weighted n (1e-6), df and n (exactly) equal R's, every cell."""
    root, key, _ = runs[delivery]
    estimates = _published(root, key, "estimates")
    compared = 0
    for case in (c for c in GOLDEN["cases"] if c["delivery"] == delivery):
        assert INDICATORS[case["indicator"]] == case["ci_method"]
        for variant in ("all", "excl_dk"):  # no don't know here: both variants are R's
            mask = (
                (estimates["indicator"] == case["indicator"])
                & (estimates["variant"] == variant)
                & (estimates["wave"] == "w1")
            )
            if case["domain_set"] == "national":
                mask &= estimates["domain_set"] == "national"
            else:
                mask &= (estimates["domain_set"] == "school_type") & (
                    estimates["school_type"] == SCHOOL_TYPES[case["stype"]]
                )
            (row,) = estimates[mask].to_dict("records")
            if row["suppressed"]:  # a small cell is not published: nothing to compare
                assert pd.isna(row["estimate"]) and pd.isna(row["se"]), case["call"]
                continue
            assert row["df"] == case["df"] and row["n"] == case["n"], case["call"]
            wrong = {
                f: (row[f], case[f])
                for f in COMPARED
                if row[f] != pytest.approx(case[f], rel=GOLDEN_RTOL)
            }
            assert not wrong, (case["call"], wrong)
            compared += 1
    assert compared >= {"strat_jkn": 24, "clus1_boot": 12}[delivery]


@pytest.mark.parametrize("delivery", list(DELIVERIES))
def test_methodology_names_the_replicate_method(
    runs: dict[str, tuple[Path, str, int]], delivery: str
) -> None:
    """The methodology table, the exports and the dashboard say which replicates gave the SEs."""
    root, key, count = runs[delivery]
    rep_type = DELIVERIES[delivery]["type"]
    config = load_weighting_config(root / "config" / key / "weighting.yaml")
    words = {lang: config.design.replicate_text(count, lang) for lang in ("en", "fr")}
    assert words["en"] in {
        "Jackknife (JKn), 200 replicate weights supplied with the data",
        "Bootstrap, 40 replicate weights supplied with the data",
    }
    (row,) = _published(root, key, "methodology").to_dict("records")
    assert row["variance_method"] == rep_type
    assert words["en"] in row["design_en"] and words["fr"] in row["design_fr"]
    assert "Taylor" not in row["design_en"]
    latest = root / "data" / "processed" / key / "exports" / "latest"
    with duckdb.connect(str(latest / "indicators.duckdb"), read_only=True) as con:
        exported = con.execute("SELECT variance_method, design_en FROM methodology").fetchall()
    assert exported == [(rep_type, row["design_en"])]
    page = (root / "dashboards" / key / "dashboard.html").read_text(encoding="utf-8")
    for lang in ("en", "fr"):
        assert words[lang] in page or words[lang].replace("'", "&#x27;") in page


def test_weighting_report_counts_the_replicates(runs: dict[str, tuple[Path, str, int]]) -> None:
    """The weighting report carries the replicate count and no no-PSU caveat."""
    for root, key, count in runs.values():
        report = pd.read_parquet(
            root / "data" / "processed" / key / "weighting_report" / "w1.parquet"
        )
        assert set(report["n_replicates"]) == {count} and set(report["design"]) == {""}


def test_the_weights_asset_records_the_variance_method(
    runs: dict[str, tuple[Path, str, int]],
) -> None:
    """The Dagster materialization of each wave's weights names its replicate method."""
    root, _, _ = runs["strat_jkn"]
    with dg.DagsterInstance.from_config(str(root / ".dagster")) as instance:
        records = instance.fetch_materializations(dg.AssetKey("weights"), limit=10).records
    variance = {
        r.partition_key: r.asset_materialization.metadata["variance"].value
        for r in records
        if r.asset_materialization is not None
    }
    assert variance == {
        "api_jkn|w1": "Jackknife (JKn), 200 replicate weights supplied with the data",
        "api_boot|w1": "Bootstrap, 40 replicate weights supplied with the data",
    }


def test_config_check_counts_the_replicate_weights(
    runs: dict[str, tuple[Path, str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    """`perception config check` accepts the delivery's configuration, counting its replicates."""
    root, key, _ = runs["strat_jkn"]
    capsys.readouterr()
    assert main(["config", "check", str(root / "config" / key / "survey.yaml")]) == 0
    assert "calibration none, 200 replicate weights (JKn): OK" in capsys.readouterr().out
