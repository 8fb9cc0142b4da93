"""Small-area estimates from the indicator catalogue: `areas:` config, Table 1 route, pipeline."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from demo_project import AREAS_CSV, area_indicators

from perception.config import Catalogue, load_catalogue, load_indicators
from perception.errors import ConfigError
from perception.small_area import (
    AREA_TABLE_COLUMNS,
    audit_small_areas,
    indicator_small_areas,
    load_area_covariates,
    publish_small_areas,
    small_area,
)

ROOT = Path(__file__).resolve().parents[1]
WAVES = ["w1", "w2", "w3"]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    """Load the demo's variable catalogue."""
    return load_catalogue(ROOT / "config" / "variables.yaml")


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    """Write indicator-catalogue data to a YAML file and return it."""
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_areas_config_loads(tmp_path: Path, catalogue: Catalogue) -> None:
    """A catalogue with `areas:` loads, with the documented defaults."""
    indicators = load_indicators(_write(tmp_path, area_indicators()), catalogue, waves=WAVES)
    level = (indicators.areas or {})["region"]
    assert (level.variance_method, level.transform, level.gvf, level.gvf_min_n) == (
        "reml",
        "auto",
        "unstable",
        30,
    )
    assert indicators.indicator("incl_feel_included").areas == "region"


def _mutate(data: dict[str, Any], indicator: str, **keys: Any) -> dict[str, Any]:
    """Return a copy with keys of one indicator set."""
    out = copy.deepcopy(data)
    entry = next(e for e in out["indicators"] if e["id"] == indicator)
    entry.update(keys)
    return out


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda d: d["areas"].update(district=d["areas"].pop("region")), ["areas.district"]),
        (lambda d: d["areas"]["region"].update(method="eb"), ["areas.region", "method"]),
        (lambda d: d["areas"]["region"].update(gvf="log"), ["areas.region.gvf"]),
        (
            lambda d: d.update(_mutate(d, "incl_gender_gap", areas="region")),
            ["a gap has no small-area", "incl_gender_gap"],
        ),
        (
            lambda d: d.update(_mutate(d, "trust_police", areas="gender")),
            ["undeclared area level", "trust_police"],
        ),
        (
            lambda d: d.update(_mutate(d, "incl_feel_included", disaggregations=["national"])),
            ["need the direct estimates by 'region'"],
        ),
    ],
    ids=["level_not_a_domain", "unknown_key", "bad_gvf", "gap", "undeclared", "not_disaggregated"],
)
def test_areas_config_errors(
    tmp_path: Path, catalogue: Catalogue, change: Any, fragments: list[str]
) -> None:
    """Each bad `areas:` setting is a ConfigError naming the file and the key."""
    data = area_indicators()
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as error:
        load_indicators(path, catalogue, waves=WAVES)
    assert error.value.file == str(path)
    for fragment in fragments:
        assert fragment in str(error.value), str(error.value)


def test_covariate_file_is_checked(tmp_path: Path, catalogue: Catalogue) -> None:
    """Unknown codes, text covariates, a missing file: ConfigErrors naming file and column."""
    good = tmp_path / "good.csv"
    good.write_text(AREAS_CSV + "\n")
    frame = load_area_covariates(good, "region", catalogue)
    assert list(frame.columns) == ["region", "urban_share", "literacy"]
    assert str(frame["region"].dtype) == "Int64"
    bad = tmp_path / "bad.csv"
    bad.write_text(AREAS_CSV + "\n12,0.3,0.5\nNorth,0.2,0.4\n")
    with pytest.raises(ConfigError) as error:
        load_area_covariates(bad, "region", catalogue)
    assert error.value.column == "region" and error.value.rows == [8, 9]
    assert error.value.file == str(bad)
    text = tmp_path / "text.csv"
    text.write_text(AREAS_CSV.replace("0.21", "high") + "\n")
    with pytest.raises(ConfigError) as error:
        load_area_covariates(text, "region", catalogue)
    assert error.value.column == "urban_share"
    with pytest.raises(ConfigError):
        load_area_covariates(tmp_path / "none.csv", "region", catalogue)
    with pytest.raises(ConfigError) as error:
        load_area_covariates(good, "region", catalogue, ["urban_share", "density"])
    assert error.value.column == "density"


def _table_one(n: list[int]) -> pd.DataFrame:
    """Build a Table 1 slice: a proportion and a mean by region, two variants, national rows."""
    rng = np.random.default_rng(5)
    rows = []
    for indicator, kind, unit in (
        ("incl_feel_included", "proportion", "percent"),
        ("state_services_score", "mean", "score"),
    ):
        for variant in ("all", "excl_dk"):
            for code, size in zip(range(1, 9), n, strict=True):
                p = rng.uniform(0.2, 0.8)
                se = np.sqrt(p * (1 - p) / size) * 1.3 if kind == "proportion" else 0.4 / size**0.5
                rows.append(
                    {
                        "survey": "demo",
                        "wave": "w1",
                        "indicator": indicator,
                        "variant": variant,
                        "type": kind,
                        "unit": unit,
                        "domain_set": "region",
                        "region": code,
                        "estimate": p if kind == "proportion" else 2 + p,
                        "se": se,
                        "n": size,
                        "n_eff": p * (1 - p) / se**2 if kind == "proportion" else np.nan,
                        "availability": "estimated",
                    }
                )
            rows.append({**rows[-1], "domain_set": "national", "region": None, "n": 3000})
    table = pd.DataFrame(rows)
    table["region"] = table["region"].astype("Int64")
    table["n"] = table["n"].astype("Int64")
    return table


def test_table_one_route_equals_direct_call(tmp_path: Path, catalogue: Catalogue) -> None:
    """indicator_small_areas gives small_area's numbers per indicator and variant, labelled."""
    indicators = load_indicators(_write(tmp_path, area_indicators()), catalogue, waves=WAVES)
    (tmp_path / "region.csv").write_text(AREAS_CSV + "\n")
    covariates = {"region": load_area_covariates(tmp_path / "region.csv", "region", catalogue)}
    table_one = _table_one([400, 380, 20, 350, 300, 410, 390, 360])
    out = indicator_small_areas(table_one, indicators, covariates, suppress_below=25)
    assert list(out.columns) == list(AREA_TABLE_COLUMNS)
    assert len(out) == 2 * 2 * 8
    for (indicator, variant), got in out.groupby(["indicator", "variant"]):
        rows = table_one[
            table_one["indicator"].eq(indicator)
            & table_one["variant"].eq(variant)
            & table_one["domain_set"].eq("region")
        ]
        transform = "arcsin" if indicator == "incl_feel_included" else "none"
        want = small_area(
            rows[rows["n"].ge(25)],
            covariates["region"],
            area="region",
            transform=transform,
            gvf="unstable",
        )
        np.testing.assert_allclose(got["estimate"], want["estimate"], rtol=1e-12)
        np.testing.assert_allclose(got["mse"], want["mse"], rtol=1e-12)
        assert got["method"].iloc[0] == want["method"].iloc[0]
    small = out[out["area"].eq(3)]  # n = 20 < 25: treated as unsampled
    assert small["kind"].eq("synthetic").all() and small["direct"].isna().all()
    assert small["gamma"].isna().all()
    assert out.loc[out["area"].ne(3), "direct"].notna().all()
    assert out["basis_en"].str.startswith("Model-based").all()
    assert out["basis_fr"].str.contains("fondée sur un modèle").all()


def test_a_small_areas_direct_value_cannot_be_recovered(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    """An area under the threshold leaves no trace: changing its direct value changes nothing.

    With an EBLUP, gamma and the synthetic value published, the hidden direct value would be
    (EBLUP - (1 - gamma) x synthetic) / gamma.
    """
    indicators = load_indicators(_write(tmp_path, area_indicators()), catalogue, waves=WAVES)
    (tmp_path / "region.csv").write_text(AREAS_CSV + "\n")
    covariates = {"region": load_area_covariates(tmp_path / "region.csv", "region", catalogue)}
    table_one = _table_one([400, 380, 20, 350, 300, 410, 390, 360])
    before = indicator_small_areas(table_one, indicators, covariates, suppress_below=25)
    changed = table_one.copy()
    hidden = changed["region"].eq(3).fillna(False)
    changed.loc[hidden, "estimate"] = changed.loc[hidden, "estimate"] * 0.5
    after = indicator_small_areas(changed, indicators, covariates, suppress_below=25)
    pd.testing.assert_frame_equal(before, after)


def test_published_refit_treats_a_hidden_area_as_unsampled(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    """An area hidden by complementary suppression is synthetic and its value enters nothing.

    Region 4 has 350 respondents but is suppressed (to protect another cell): the published
    refit equals a fit without region 4, whatever its hidden value was, and the audit passes;
    a table showing its direct value, or an EBLUP for it, is refused.
    """
    indicators = load_indicators(_write(tmp_path, area_indicators()), catalogue, waves=WAVES)
    (tmp_path / "region.csv").write_text(AREAS_CSV + "\n")
    covariates = {"region": load_area_covariates(tmp_path / "region.csv", "region", catalogue)}
    table_one = _table_one([400, 380, 20, 350, 300, 410, 390, 360])
    hidden = table_one["region"].eq(3).fillna(False) | table_one["region"].eq(4).fillna(False)
    published = table_one.assign(suppressed=hidden)
    published.loc[hidden, ["estimate", "se", "n_eff"]] = np.nan
    out = publish_small_areas(published, indicators, covariates, waves=["w1"], suppress_below=25)
    without = indicator_small_areas(
        table_one.assign(n=table_one["n"].where(~table_one["region"].eq(4).fillna(False), 0)),
        indicators,
        covariates,
        suppress_below=25,
    )
    pd.testing.assert_frame_equal(out, without)
    region4 = out[out["area"].eq(4)]
    assert region4["kind"].eq("synthetic").all() and region4["direct"].isna().all()
    assert audit_small_areas(out, published) == []
    leaked = out.copy()
    leaked.loc[leaked["area"].eq(4), "direct"] = 0.5
    assert len(audit_small_areas(leaked, published)) == 4
    eblup = out.copy()
    eblup.loc[eblup["area"].eq(3), "kind"] = "eblup"
    assert len(audit_small_areas(eblup, published)) == 4
    shifted = out.copy()
    shifted.loc[shifted["area"].eq(5), "direct"] += 0.01
    assert len(audit_small_areas(shifted, published)) == 4


def test_no_areas_gives_an_empty_table(catalogue: Catalogue) -> None:
    """A catalogue without `areas:` gives an empty table with the fixed columns."""
    indicators = load_indicators(ROOT / "config" / "indicators.yaml", catalogue, waves=WAVES)
    out = indicator_small_areas(_table_one([50] * 8), indicators, {}, suppress_below=25)
    assert out.empty and list(out.columns) == list(AREA_TABLE_COLUMNS)


def test_preflight_checks_the_covariate_file(tmp_path: Path) -> None:
    """Preflight stops a deployment whose area covariate file is missing, naming the file."""
    from perception.config import load_survey
    from pipelines.definitions import PROJECT_ROOT
    from pipelines.preflight import check_reporting_config

    shutil.copytree(PROJECT_ROOT / "config", tmp_path / "config")
    _write(tmp_path / "config", area_indicators())
    survey = load_survey(tmp_path / "config" / "survey.yaml", root=tmp_path)
    with pytest.raises(ConfigError) as error:
        check_reporting_config(survey)
    assert error.value.file == str(tmp_path / "config" / "areas" / "region.csv")
    (tmp_path / "config" / "areas").mkdir()
    (tmp_path / "config" / "areas" / "region.csv").write_text(AREAS_CSV + "\n")
    check_reporting_config(survey)
