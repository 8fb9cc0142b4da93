"""A survey whose reporting domains are not the demo's works end to end.

The synthetic survey has domains [gender, governorate, urban_rural] (no age, no youth, no
region), benchmarks that are not the demo's, and no GeoJSON: estimates, trends, disclosure,
status, the four exports and the dashboard are built from it with those columns only.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from perception.config import (
    Catalogue,
    DisclosureRules,
    IndicatorCatalogue,
    SurveyConfig,
    load_catalogue,
    load_indicators,
    load_survey,
)
from perception.dashboard import build_dashboard
from perception.design import SurveyDesign
from perception.disclosure import check_published
from perception.errors import ConfigError
from perception.exports import ExportLabels, PublishedTables, write_exports
from perception.flow import publish_indicators
from perception.indicators import compute_indicators, estimate_columns
from perception.status import headline_summary, survey_status
from perception.tables import TABLES
from perception.trends import trend_columns
from pipelines.definitions import PROJECT_ROOT
from pipelines.preflight import preflight

DOMAINS = ("gender", "governorate", "urban_rural")
WAVES = ("r1", "r2")
GOVERNORATES = {1: "Tunis", 2: "Sfax", 3: "Sousse", 4: "Gafsa"}


def _codes(labels: dict[int, str]) -> dict[int, dict[str, str]]:
    """Return catalogue codes with the same English and French label."""
    return {code: {"en": text, "fr": text} for code, text in labels.items()}


def _catalogue_data(domains: list[str] | None = None) -> dict[str, Any]:
    """Return a variable catalogue without age: three domains and two items."""
    label = {"en": "x", "fr": "x"}
    data: dict[str, Any] = {
        "themes": {"trust": label, "state_presence": label},
        "variables": {
            "respondent_id": {"role": "id", "kind": "string", "label": label},
            "gender": {
                "role": "demographic",
                "kind": "categorical",
                "label": {"en": "Gender", "fr": "Genre"},
                "codes": _codes({1: "Man", 2: "Woman"}),
            },
            "governorate": {
                "role": "demographic",
                "kind": "categorical",
                "label": {"en": "Governorate", "fr": "Gouvernorat"},
                "codes": _codes(GOVERNORATES),
            },
            "urban_rural": {
                "role": "demographic",
                "kind": "categorical",
                "label": {"en": "Area", "fr": "Milieu"},
                "codes": _codes({1: "Urban", 2: "Rural"}),
            },
            "ethnicity": {
                "role": "demographic",
                "kind": "categorical",
                "label": {"en": "Ethnicity", "fr": "Ethnie"},
                "codes": _codes({1: "A", 2: "B"}),
            },
            "weight": {"role": "design", "kind": "number", "label": label},
            "stratum": {"role": "design", "kind": "string", "label": label},
            "psu": {"role": "design", "kind": "string", "label": label},
            "trust_gov": {
                "role": "item",
                "kind": "categorical",
                "theme": "trust",
                "ordered": True,
                "label": {"en": "Trusts the government", "fr": "Fait confiance au gouvernement"},
                "codes": _codes({1: "Not at all", 2: "A little", 3: "Somewhat", 4: "A lot"}),
            },
            "water_access": {
                "role": "item",
                "kind": "categorical",
                "theme": "state_presence",
                "label": {"en": "Has water", "fr": "A de l'eau"},
                "codes": _codes({1: "No", 2: "Yes"}),
            },
        },
    }
    if domains is not None:
        data["domains"] = domains
    return data


INDICATORS = {
    "benchmarks": {
        "governance": {"term": "long", "label": {"en": "Governance", "fr": "Gouvernance"}},
        "services": {"term": "short", "label": {"en": "Services", "fr": "Services"}},
    },
    "defaults": {
        "disaggregations": [
            "national",
            "gender",
            "governorate",
            "urban_rural",
            "governorate×gender",
        ],
        "baseline_wave": "r1",
    },
    "indicators": [
        {
            "id": "trusts_government",
            "label": {"en": "Trusts the government", "fr": "Fait confiance au gouvernement"},
            "benchmark": "governance",
            "type": "proportion",
            "items": ["trust_gov"],
            "success": [3, 4],
            "direction": "higher",
        },
        {
            "id": "trust_gender_gap",
            "label": {"en": "Women − men", "fr": "Femmes − hommes"},
            "benchmark": "governance",
            "type": "gap",
            "of": "trusts_government",
            "by": "gender",
            "a": 2,
            "b": 1,
            "direction": "higher",
        },
        {
            "id": "has_water",
            "label": {"en": "Has water", "fr": "A de l'eau"},
            "benchmark": "services",
            "type": "proportion",
            "items": ["water_access"],
            "success": [2],
            "direction": "higher",
            "disaggregations": ["national", "urban_rural"],
        },
    ],
}


def _write(path: Path, data: object) -> Path:
    """Write YAML data to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[SurveyConfig, Catalogue, Any]:
    """Write the synthetic survey's configuration and load it."""
    root = tmp_path_factory.mktemp("governorates")
    config = root / "config"
    _write(config / "variables.yaml", _catalogue_data(list(DOMAINS)))
    survey_file = _write(
        config / "survey.yaml",
        {
            "survey": "gov",
            "title": {"en": "Governorate survey", "fr": "Enquête par gouvernorat"},
            "country": {"en": "Tunisia", "fr": "Tunisie"},
            "raw_dir": "data/raw",
            "processed_dir": "data/processed",
            "variables": "config/variables.yaml",
            "targets": "config/targets.yaml",
            "weighting": "config/weighting.yaml",
            "indicators": "config/indicators.yaml",
            "waves": [
                {
                    "id": wave,
                    "label": {"en": f"Round {k + 1}", "fr": f"Vague {k + 1}"},
                    "file": f"{wave}.csv",
                    "codebook": f"config/codebooks/{wave}.yaml",
                    "fieldwork": {"start": f"202{4 + k}-03-01", "end": f"202{4 + k}-03-20"},
                }
                for k, wave in enumerate(WAVES)
            ],
        },
    )
    survey = load_survey(survey_file)
    catalogue = load_catalogue(config / "variables.yaml")
    indicators = load_indicators(
        _write(config / "indicators.yaml", INDICATORS), catalogue, waves=WAVES
    )
    return survey, catalogue, indicators


def _wave(seed: int, shift: float) -> pd.DataFrame:
    """Return a harmonized wave: 8 strata × 10 PSUs × 15 respondents, with a weight."""
    rng = np.random.default_rng(seed)
    n = 8 * 10 * 15
    stratum = np.repeat(np.arange(8), 150)
    governorate = stratum % 4 + 1
    urban = stratum // 4 + 1
    gender = rng.integers(1, 3, n)
    trust = np.clip(rng.integers(1, 5, n) + (rng.random(n) < shift), 1, 4)
    trust[rng.random(n) < 0.03] = 98
    return pd.DataFrame(
        {
            "respondent_id": [f"{seed}-{i}" for i in range(n)],
            "gender": gender,
            "governorate": governorate,
            "urban_rural": urban,
            "weight": rng.uniform(0.5, 2.0, n),
            "stratum": stratum.astype(str),
            "psu": (np.arange(n) // 15).astype(str),
            "trust_gov": trust,
            "water_access": rng.integers(1, 3, n),
        }
    )


@pytest.fixture(scope="module")
def published(
    project: tuple[SurveyConfig, Catalogue, IndicatorCatalogue],
) -> dict[str, pd.DataFrame]:
    """Estimate both waves, then publish estimates, trends and status."""
    survey, catalogue, indicators = project
    frames = []
    for k, wave in enumerate(WAVES):
        design = SurveyDesign(_wave(k, 0.3 * k), weights="weight", strata="stratum", psu="psu")
        frames.append(
            compute_indicators(design, indicators, catalogue, survey=survey.survey, wave=wave)
        )
    estimates = pd.concat(frames, ignore_index=True)
    rules = DisclosureRules()
    table1, table2 = publish_indicators(
        estimates, indicators, rules, waves=WAVES, domains=catalogue.domain_columns
    )
    status = survey_status(table1, table2, indicators, survey)
    return {"raw": estimates, "estimates": table1, "trends": table2, "status": status}


def test_catalogue_declares_the_domains(
    project: tuple[SurveyConfig, Catalogue, IndicatorCatalogue],
) -> None:
    """The catalogue's `domains:` order is the tables' domain columns; no age is needed."""
    _, catalogue, indicators = project
    assert catalogue.domain_columns == DOMAINS
    assert catalogue.age_bands is None
    assert indicators.headline == "governance"


def test_default_domains_are_the_categorical_demographics() -> None:
    """Without `domains:`, every categorical demographic is a domain, in catalogue order."""
    catalogue = Catalogue.model_validate(_catalogue_data())
    assert catalogue.domain_columns == ("gender", "governorate", "urban_rural", "ethnicity")


@pytest.mark.parametrize(
    ("domains", "found"),
    [
        (["gender", "region"], "'region'"),
        (["gender", "trust_gov"], "item"),
        (["gender"] * 2, "twice"),
    ],
)
def test_bad_domains_are_config_errors(tmp_path: Path, domains: list[str], found: str) -> None:
    """A domain that is not a categorical demographic, or listed twice, names `domains`."""
    path = _write(tmp_path / "variables.yaml", _catalogue_data(domains))
    with pytest.raises(ConfigError) as info:
        load_catalogue(path)
    assert "domains" in str(info.value) and found in str(info.value)


def test_disaggregation_outside_the_domains_is_a_config_error(
    tmp_path: Path, project: tuple[SurveyConfig, Catalogue, IndicatorCatalogue]
) -> None:
    """An indicator broken down by a catalogue variable that is not a domain is refused."""
    _, catalogue, _ = project
    data = {**INDICATORS, "defaults": {"disaggregations": ["ethnicity"], "baseline_wave": "r1"}}
    with pytest.raises(ConfigError) as info:
        load_indicators(_write(tmp_path / "indicators.yaml", data), catalogue, waves=WAVES)
    assert "'ethnicity'" in str(info.value) and "domains" in info.value.hint


def test_tables_have_the_survey_domain_columns(published: dict[str, pd.DataFrame]) -> None:
    """Estimates and trends carry exactly the fixed columns plus gender, governorate, area."""
    raw, estimates, trends = published["raw"], published["estimates"], published["trends"]
    assert list(raw.columns) == list(estimate_columns(DOMAINS))
    assert {c: str(t) for c, t in raw.dtypes.items() if c in DOMAINS} == dict.fromkeys(
        DOMAINS, "Int64"
    )
    assert list(trends.columns)[: len(trend_columns(DOMAINS))] == list(trend_columns(DOMAINS))
    crossed = estimates[estimates["domain_set"] == "gender×governorate"]
    assert len(crossed) == 2 * 2 * 2 * 4  # waves × variants × genders × governorates
    assert crossed[["gender", "governorate"]].notna().all(axis=None)
    assert crossed["urban_rural"].isna().all()
    assert not trends.empty and set(trends["wave"]) == {"r2"}


def test_disclosure_and_status_work_on_other_domains(
    published: dict[str, pd.DataFrame],
    project: tuple[SurveyConfig, Catalogue, IndicatorCatalogue],
) -> None:
    """The published tables pass the disclosure audit; every indicator has a status."""
    _, _, indicators = project
    estimates, trends, status = published["estimates"], published["trends"], published["status"]
    assert check_published(estimates, gaps=indicators.gap_sides()) == []
    assert check_published(trends, estimates=estimates) == []
    assert sorted(status["indicator"]) == sorted(i.id for i in indicators.indicators)
    assert "Governance" in headline_summary(status, indicators)


def _methodology(survey: SurveyConfig) -> pd.DataFrame:
    """Return a methodology table of the survey's waves."""
    return pd.DataFrame(
        [
            {
                "survey": survey.survey,
                "wave": w.id,
                "label_en": w.label.en,
                "label_fr": w.label.fr,
                "fieldwork_start": w.fieldwork.start if w.fieldwork else None,
                "fieldwork_end": w.fieldwork.end if w.fieldwork else None,
                "provider_en": "test",
                "provider_fr": "test",
                "interview_mode": "telephone",
                "source_file": w.file,
                "n_respondents": 1200,
                "deff_kish": 1.2,
                "n_eff": 1000.0,
                "moe_95": 0.03,
                "weighting_en": "design weights",
                "weighting_fr": "poids de sondage",
                "design_en": "stratified, one stage",
                "design_fr": "stratifié, un degré",
                "variance_method": "taylor",
                "suppress_below": 25,
                "flag_below": 50,
                "generated_at": "2026-01-01T00:00:00Z",
            }
            for w in survey.waves
        ]
    )


def _page(
    project: tuple[SurveyConfig, Catalogue, IndicatorCatalogue],
    estimates: pd.DataFrame,
    trends: pd.DataFrame,
    status: pd.DataFrame,
    folder: Path,
) -> str:
    """Build the survey's dashboard from its tables in ``folder``; return the page."""
    survey, catalogue, indicators = project
    tables = {
        "indicator_estimates": estimates,
        "indicator_trends": trends,
        "benchmark_status": status,
        "methodology": _methodology(survey),
    }
    page = build_dashboard(
        tables,
        catalogue=catalogue,
        survey=survey,
        benchmark_labels={k: b.label for k, b in indicators.benchmarks.items()},
        out_path=folder / "dashboard.html",
        generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    return page.read_text(encoding="utf-8")


def test_exports_and_dashboard_without_geojson(
    tmp_path: Path,
    published: dict[str, pd.DataFrame],
    project: tuple[SurveyConfig, Catalogue, IndicatorCatalogue],
) -> None:
    """CSV, XLSX, Parquet, DuckDB and the dashboard are written; the page says why no map."""
    survey, catalogue, indicators = project
    methodology = _methodology(survey)
    tables = PublishedTables(
        estimates=published["estimates"],
        trends=published["trends"],
        status=published["status"],
        methodology=methodology,
    )
    labels = ExportLabels.from_config(
        survey,
        catalogue,
        indicators={i.id: i.label.model_dump() for i in indicators.indicators},
        benchmarks={k: b.label.model_dump() for k, b in indicators.benchmarks.items()},
    )
    result = write_exports(tables, tmp_path / "exports", run_id="run1", labels=labels)
    csv = pd.read_csv(result.latest_dir / "indicators.csv", encoding="utf-8-sig")
    assert list(csv.columns) == list(TABLES["indicator_estimates"].export_columns(DOMAINS))
    parquet = pd.read_parquet(result.latest_dir / "indicators.parquet")
    assert [c for c in parquet.columns if c in (*DOMAINS, "region", "youth")] == list(DOMAINS)
    with duckdb.connect(str(result.latest_dir / "indicators.duckdb"), read_only=True) as con:
        names = [r[0] for r in con.execute("DESCRIBE indicator_trends").fetchall()]
    assert "governorate" in names and "region" not in names
    assert (result.latest_dir / "indicators.xlsx").stat().st_size > 0

    html = _page(
        project, published["estimates"], published["trends"], published["status"], tmp_path
    )
    assert "No boundary file is configured" in html
    assert "Aucun fichier de limites" in html
    assert "heatmap|trusts_government" in html
    assert "Gouvernorat" in html and "Tunis" in html


def test_dashboard_without_a_crossing_says_why(
    tmp_path: Path,
    published: dict[str, pd.DataFrame],
    project: tuple[SurveyConfig, Catalogue, IndicatorCatalogue],
) -> None:
    """Without any crossed domain set the page has no heatmap and says why, in EN and FR."""
    single = {
        name: table[table["domain_set"] != "gender×governorate"].reset_index(drop=True)
        for name, table in (("estimates", published["estimates"]), ("trends", published["trends"]))
    }
    html = _page(project, single["estimates"], single["trends"], published["status"], tmp_path)
    assert 'id="heatmap-unavailable"' in html and "heatmap|" not in html
    assert "Pas de carte de chaleur" in html


def test_domain_named_like_a_table_column_is_refused(tmp_path: Path) -> None:
    """A domain called like a fixed column of the published tables fails at config time."""
    data = _catalogue_data(["gender", "type"])
    data["variables"]["type"] = data["variables"].pop("governorate")
    catalogue = Catalogue.model_validate(data)
    indicators = {**INDICATORS, "defaults": {"disaggregations": ["gender"], "baseline_wave": "r1"}}
    indicators["indicators"] = [INDICATORS["indicators"][0]]  # type: ignore[index]
    with pytest.raises(ConfigError) as info:
        load_indicators(_write(tmp_path / "indicators.yaml", indicators), catalogue)
    assert "'type'" in info.value.found


def test_youth_codes_come_from_the_catalogue(tmp_path: Path) -> None:
    """Youth is the lower of the two codes of `youth`; deriving it needs youth_max_age."""
    data = _catalogue_data()
    data["variables"]["age"] = {
        "role": "demographic",
        "kind": "integer",
        "label": {"en": "Age", "fr": "Âge"},
    }
    data["variables"]["youth"] = {
        "role": "derived",
        "kind": "categorical",
        "derived_from": "age",
        "label": {"en": "Youth", "fr": "Jeunes"},
        "codes": _codes({3: "Youth", 7: "Adults"}),
    }
    band = {"code": 1, "min": 18, "max": None, "label": {"en": "18+", "fr": "18+"}}
    path = _write(tmp_path / "variables.yaml", {**data, "age_bands": {"bands": [band]}})
    with pytest.raises(ConfigError) as info:
        load_catalogue(path)
    assert "youth_max_age" in str(info.value) and "variables.youth.derived_from" in str(info.value)
    catalogue = Catalogue.model_validate(
        {**data, "age_bands": {"bands": [band], "youth_max_age": 30}}
    )
    assert catalogue.youth_codes() == (3, 7)
    assert "youth" in catalogue.domain_columns


def test_preflight_refuses_a_map_variable_that_is_not_a_domain(tmp_path: Path) -> None:
    """A map variable outside the catalogue's domains stops the deployment before any run."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    survey = root / "config" / "survey.yaml"
    text = survey.read_text(encoding="utf-8")
    survey.write_text(text.replace("map_variable: region", "map_variable: disability"), "utf-8")
    with pytest.raises(ConfigError) as info:
        preflight(root, require_raw_files=False)
    assert "'disability'" in info.value.found and "map_variable" in info.value.expected
