"""The demo survey: determinism, design, nonresponse, planted effects, canaries and its config."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml

from perception.codebook import harmonize
from perception.config import Project, load_project, load_targets
from perception.demo import (
    FIELDWORK,
    FILES,
    PII_COLUMNS,
    PLANTED_EFFECTS,
    REGIONS,
    WAVE_IDS,
    admin1_geojson,
    census_region_urban,
    census_sex_age_region,
    generate,
    kobo_table,
    pii_canaries,
    simulate_wave,
    true_share,
)
from perception.demo.country import AGE_BANDS, composition
from perception.demo.items import ITEMS, item, item_parameters, positive_probability
from perception.demo.personal import FIRST_NAMES, SURNAMES
from perception.demo.sample import EA_EFFECT, INTERVIEWS_PER_EA
from perception.io import read_survey

ROOT = Path(__file__).resolve().parents[1]
THEMES = {
    "inclusion",
    "awareness",
    "participation",
    "voice",
    "dialogue",
    "safety",
    "violence",
    "trust",
    "state_presence",
    "representation",
    "discrimination",
    "mission",
}
KOBO_SELECT_MULTIPLE = ["sources_info"]
CANONICAL = ("gender", "age", "region", "urban_rural", "displacement", "disability")
INCLUSION = "incl_peace_process"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def raw_dir(demo_raw: Path) -> Path:
    """Return the three default raw wave files, generated once for the session."""
    return demo_raw


@pytest.fixture(scope="module")
def project() -> Project:
    """Load config/survey.yaml with the project's own loaders."""
    return load_project(ROOT / "config" / "survey.yaml", root=ROOT)


@pytest.fixture(scope="module")
def harmonized(raw_dir: Path, project: Project) -> dict[str, pd.DataFrame]:
    """Read each raw wave with perception.io and harmonize it with its codebook."""
    out = {}
    for wave in project.survey.waves:
        multiple = KOBO_SELECT_MULTIPLE if wave.file.endswith(".xlsx") else None
        df, meta = read_survey(raw_dir / wave.file, select_multiple=multiple)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fallback-salt warning for wave 2's personal id
            out[wave.id] = harmonize(
                df, meta, project.codebooks[wave.id], project.catalogue, source=wave.file
            )
    return out


@pytest.fixture(scope="module")
def canaries(raw_dir: Path) -> set[str]:
    """Collect the personal-data canaries of the default raw files."""
    return pii_canaries(raw_dir)


@pytest.fixture(scope="module")
def canonical() -> dict[str, pd.DataFrame]:
    """Simulate each wave in canonical codes (what the raw files should harmonize to)."""
    return {wave: simulate_wave(wave) for wave in WAVE_IDS}


def _census() -> pd.DataFrame:
    return pd.DataFrame(census_sex_age_region(), columns=["gender", "age_band", "region", "n"])


def _calibrated(df: pd.DataFrame) -> pd.Series:
    """Return weights post-stratified to the census sex x age band x region cells."""
    cells = ["gender", "age_band", "region"]
    key = df[cells].astype(int)
    census = _census().set_index(cells)["n"]
    base = df["base_weight"].astype(float)
    cell_total = base.groupby([key[c] for c in cells]).transform("sum")
    target = census.reindex(pd.MultiIndex.from_frame(key)).to_numpy()
    return pd.Series(base.to_numpy() * target / cell_total.to_numpy(), index=df.index)


def _share(df: pd.DataFrame, name: str, weights: pd.Series | None = None) -> float:
    """Return the (weighted) share of positive answers among substantive answers."""
    codes = pd.to_numeric(df[name].astype(object), errors="coerce")
    valid = codes.notna() & (codes < 98)
    w = (weights.reindex(df.index) if weights is not None else pd.Series(1.0, index=df.index))[
        valid
    ]
    positive = codes[valid].isin(item(name).scale.positive)
    return float((w * positive).sum() / w.sum())


def _codes(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series.astype(object), errors="coerce").to_numpy(dtype=float)


# --------------------------------------------------------------------------- determinism


def test_generate_is_byte_for_byte_deterministic(raw_dir: Path, tmp_path: Path) -> None:
    """It writes identical files on a second run, and different data with another seed."""
    again = generate(tmp_path / "again")
    for path in again:
        assert path.read_bytes() == (raw_dir / path.name).read_bytes(), path.name
    other = generate(tmp_path / "other", seed=7, waves=["w1"])[0]
    first, _ = pyreadstat.read_sav(raw_dir / FILES["w1"])
    second, _ = pyreadstat.read_sav(other)
    assert not first["Q1"].head(50).equals(second["Q1"].head(50))


def test_harmonized_raw_files_equal_the_simulated_waves(
    harmonized: dict[str, pd.DataFrame], canonical: dict[str, pd.DataFrame]
) -> None:
    """Each raw file, read and harmonized with its codebook, gives back the simulated answers."""
    items = [it.name for it in ITEMS]
    for wave, frame in harmonized.items():
        truth = canonical[wave]
        assert len(frame) == len(truth)
        for name in (*CANONICAL, *items):
            if name not in truth:
                assert frame[name].isna().all(), f"{wave}: {name} is not asked in this wave"
                continue
            assert np.array_equal(
                _codes(frame[name]), truth[name].to_numpy(dtype=float), equal_nan=True
            ), f"{wave}: {name}"
        np.testing.assert_allclose(frame["base_weight"], truth["base_weight"])
        assert frame["psu"].tolist() == truth["psu"].tolist()
        assert frame["stratum"].tolist() == truth["stratum"].tolist()
        dates = pd.to_datetime(frame["interview_date"]).dt.normalize()
        assert (dates.to_numpy() == truth["interview_date"].to_numpy()).all()
        assert frame["respondent_id"].is_unique


# --------------------------------------------------------------------------- design


def test_sample_design_has_16_strata_and_about_12_interviews_per_ea(
    canonical: dict[str, pd.DataFrame],
) -> None:
    """It draws about 3,000 respondents in 16 strata, about 12 per EA, with sane design weights."""
    census_total = sum(row[-1] for row in census_sex_age_region())
    for frame in canonical.values():
        assert 2_900 <= len(frame) <= 3_100
        assert frame["stratum"].nunique() == 16
        per_ea = frame.groupby("psu").size()
        assert per_ea.max() == INTERVIEWS_PER_EA
        assert per_ea.min() >= INTERVIEWS_PER_EA - 2
        assert 11.5 <= per_ea.mean() <= INTERVIEWS_PER_EA
        assert frame.groupby("stratum")["psu"].nunique().min() >= 4
        assert (frame["base_weight"] > 0).all()
        assert frame["base_weight"].sum() == pytest.approx(census_total, rel=0.1)
        assert frame.groupby("region").size().between(330, 420).all()


def test_young_people_and_women_are_under_represented(
    canonical: dict[str, pd.DataFrame],
) -> None:
    """It under-represents women and 18-24s against the census, as real fieldwork does."""
    census = _census()
    women = census.loc[census["gender"] == 2, "n"].sum() / census["n"].sum()
    young = census.loc[census["age_band"] == 1, "n"].sum() / census["n"].sum()
    for frame in canonical.values():
        assert (frame["gender"] == 2).mean() < women - 0.06
        assert (frame["age_band"] == 1).mean() < 0.6 * young


def test_weighting_moves_the_headline_inclusion_estimate(
    harmonized: dict[str, pd.DataFrame],
) -> None:
    """It makes the census-weighted inclusion share several points lower than the raw share."""
    for frame in harmonized.values():
        raw = _share(frame, INCLUSION)
        weighted = _share(frame, INCLUSION, _calibrated(frame))
        assert raw - weighted > 0.02


def test_interviews_fall_within_fieldwork_and_gps_within_the_region(
    canonical: dict[str, pd.DataFrame],
) -> None:
    """It dates interviews inside each wave's fieldwork and places GPS points in their region."""
    rings = {
        f["properties"]["code"]: np.array(f["geometry"]["coordinates"][0])
        for f in admin1_geojson()["features"]
    }
    for wave, frame in canonical.items():
        start, end = FIELDWORK[wave]
        dates = frame["interview_date"].dt.date
        assert dates.min() >= start
        assert dates.max() <= end
        sample = frame.sample(300, random_state=1)
        for lon, lat, code in sample[["longitude", "latitude", "region"]].itertuples(index=False):
            assert _inside((lon, lat), rings[code])


# --------------------------------------------------------------------------- planted effects


def test_true_shares_follow_the_planted_effects() -> None:
    """It generates census-population shares equal to the documented planted truth."""
    for w, wave in enumerate(WAVE_IDS):
        for name in PLANTED_EFFECTS.items:
            for reg in REGIONS:
                expected = PLANTED_EFFECTS.region_level[name][reg.code][w]
                assert true_share(name, wave, region=reg.code) == pytest.approx(expected)
                gap = true_share(name, wave, region=reg.code, gender=2) - true_share(
                    name, wave, region=reg.code, gender=1
                )
                assert gap == pytest.approx(PLANTED_EFFECTS.gender_gap[w], abs=1e-5)
            national = true_share(name, wave, gender=2) - true_share(name, wave, gender=1)
            assert national == pytest.approx(PLANTED_EFFECTS.gender_gap[w], abs=0.005)
    for code, change in PLANTED_EFFECTS.region_change.items():
        levels = PLANTED_EFFECTS.region_level[INCLUSION][code]
        assert levels[-1] - levels[0] == pytest.approx(change[-1])
    assert set(PLANTED_EFFECTS.rising_regions).isdisjoint(PLANTED_EFFECTS.flat_regions)


def test_unchanged_items_have_the_same_parameters_in_every_wave() -> None:
    """It keeps every non-planted item's generating parameters constant across waves."""
    for name in PLANTED_EFFECTS.unchanged_items:
        it = item(name)
        first = item_parameters(it, it.waves[0])
        for wave in it.waves[1:]:
            levels, woman = item_parameters(it, wave)
            assert np.array_equal(levels, first[0])
            assert woman == first[1]


def test_probabilities_stay_inside_zero_one_for_every_group() -> None:
    """It never needs clipping: every respondent type has 0 < p < 1, EA effect included."""
    comp = composition()
    grid = np.array(np.meshgrid(range(1, 9), [0, 1], [0, 1], [0, 1])).reshape(4, -1)
    region = grid[0].astype(np.int64)
    assert comp.adults[region].min() > 0
    for it in ITEMS:
        for wave in it.waves:
            p = positive_probability(
                it, wave, region, grid[1].astype(float), grid[2].astype(float), grid[3] * 1.0
            )
            extreme = EA_EFFECT * p * (1 - p) * 2.5
            assert (p - extreme).min() > 0, it.name
            assert (p + extreme).max() < 1, it.name


def test_planted_inclusion_trends_are_visible_in_the_raw_data(
    harmonized: dict[str, pd.DataFrame],
) -> None:
    """It shows inclusion rising in two regions, falling in one, flat elsewhere (weighted)."""
    shares = {
        (wave, code): _share(frame[frame["region"] == code], INCLUSION, _calibrated(frame))
        for wave, frame in harmonized.items()
        for code in range(1, 9)
    }
    for code in range(1, 9):
        change = shares["w3", code] - shares["w1", code]
        if code in PLANTED_EFFECTS.rising_regions:
            assert change > 0.12, code
        elif code in PLANTED_EFFECTS.falling_regions:
            assert change < -0.12, code
        else:
            assert abs(change) < 0.08, code
        for w, wave in enumerate(WAVE_IDS):
            truth = PLANTED_EFFECTS.region_level[INCLUSION][code][w]
            assert abs(shares[wave, code] - truth) < 0.1, (wave, code)


def test_gender_gap_on_inclusion_narrows(harmonized: dict[str, pd.DataFrame]) -> None:
    """It shows a large gap (women lower) in wave 1 that narrows by wave 3 (weighted)."""
    gaps = []
    for frame in harmonized.values():
        weights = _calibrated(frame)
        women = frame["gender"].astype(int) == 2
        gaps.append(
            _share(frame[women], INCLUSION, weights) - _share(frame[~women], INCLUSION, weights)
        )
    assert gaps[0] < -0.1
    assert gaps[-1] - gaps[0] > 0.07
    assert gaps[-1] > -0.08


def test_unchanged_items_stay_flat_nationally(harmonized: dict[str, pd.DataFrame]) -> None:
    """It shows no national change beyond sampling noise on any non-planted item."""
    for name in PLANTED_EFFECTS.unchanged_items:
        shares = [
            _share(frame, name, _calibrated(frame))
            for frame in harmonized.values()
            if frame[name].notna().any()
        ]
        assert max(shares) - min(shares) < 0.05, name


def test_dont_know_and_refused_occur_at_realistic_rates(
    canonical: dict[str, pd.DataFrame],
) -> None:
    """It has don't know / refused on items, more often on the knowledge question."""
    frame = canonical["w1"]
    rates = {
        it.name: frame[it.name].isin([98, 99]).sum() / frame[it.name].notna().sum()
        for it in ITEMS
        if it.dont_know + it.refused > 0 and it.name in frame
    }
    assert all(0.005 < r < 0.2 for r in rates.values()), rates
    assert rates["know_monitoring_body"] > 2 * rates[INCLUSION]
    assert "mission_protects" not in frame


# --------------------------------------------------------------------------- provider formats


def test_spss_wave_declares_some_missing_codes_and_not_others(raw_dir: Path) -> None:
    """It declares 8/9 as user-missing, leaves -1 and 98/99 undeclared, and reverses Q10."""
    df, meta = pyreadstat.read_sav(raw_dir / FILES["w1"], user_missing=True)
    assert {r["lo"] for r in meta.missing_ranges["Q10"]} == {8.0, 9.0}
    assert "Q18" not in meta.missing_ranges
    assert {98.0, 99.0} <= set(df["Q18"].unique())
    assert -1.0 in set(df["Q13"].unique())
    assert meta.variable_value_labels["Q10"][1.0] == "A lot"
    assert meta.variable_value_labels["Q10"][4.0] == "Not at all"


def test_stata_wave_uses_extended_missing_and_its_own_codes(raw_dir: Path) -> None:
    """It writes .d/.r/.a extended missing values and codes gender 0 = male, 1 = female."""
    df, meta = pyreadstat.read_dta(raw_dir / FILES["w2"], user_missing=True)
    assert set(meta.missing_user_values["know_pa"]) == {"a", "d", "r"}
    assert {"a", "d", "r"} <= set(df["know_pa"].dropna().unique())
    assert meta.variable_value_labels["gender"] == {0: "male", 1: "female"}
    assert {-8.0, -9.0} <= set(df["trust_gov"].unique())


def test_kobo_wave_variants(canonical: dict[str, pd.DataFrame]) -> None:
    """It exports KoBo XML or label headers, and select_multiple split or space-separated."""
    frame = canonical["w3"]
    xml_split = kobo_table(frame)
    assert {"start", "end", "_uuid", "_submission_time", "_index", "_gps_latitude"} <= set(
        xml_split.columns
    )
    assert "grp_demo/sexe" in xml_split.columns
    assert set(xml_split["grp_demo/sexe"]) == {"Homme", "Femme"}
    assert "Tout à fait d'accord" in set(xml_split["grp_repr/repr_femmes"])
    assert {"Ne sait pas", "Refus"} <= set(xml_split["grp_incl/q_inclusion"])
    split = [c for c in xml_split.columns if c.startswith("grp_conn/sources_info/")]
    assert len(split) == 8
    assert "grp_conn/sources_info" in xml_split.columns
    labels_space = kobo_table(frame, headers="label", multiple="space")
    assert "Sexe du répondant" in labels_space.columns
    assert not any("/" in c for c in labels_space.columns if not c.startswith("_"))
    question = "Par quelles sources avez-vous entendu parler de l'accord de paix ?"
    asked = labels_space[question].dropna()
    assert asked.str.contains(" ").any()
    assert len(asked) == frame["info_radio"].notna().sum()


# --------------------------------------------------------------------------- personal data


def test_canaries_are_present_in_every_raw_wave(
    canaries: set[str], canonical: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """It plants names, phones, GPS and comments in every wave, whatever the KoBo header style."""
    names = {f"{a} {b}" for a in FIRST_NAMES for b in SURNAMES}
    assert len(canaries & names) > 300
    assert any(c.startswith("+000 555 ") for c in canaries)  # wave 1
    assert any(c.startswith("000-555-") for c in canaries)  # wave 2
    assert any(c.startswith("+000555") for c in canaries)  # wave 3
    assert any(c.startswith("Rappeler le répondant au +000555") for c in canaries)
    assert any(len(c.split()) == 4 for c in canaries)  # KoBo geopoints
    for frame in canonical.values():
        assert set(frame["phone"]) <= canaries
        assert {str(v) for v in frame["latitude"]} <= canaries
    labelled = generate(tmp_path, waves=["w3"], kobo_headers="label", kobo_multiple="space")
    assert set(canonical["w3"]["name"]) <= pii_canaries(labelled[0].parent) <= canaries


def test_every_personal_column_is_marked_pii_in_its_codebook(project: Project) -> None:
    """It marks every column holding personal data pii: true, and hashes wave 2's personal id."""
    for wave, columns in PII_COLUMNS.items():
        codebook = project.codebooks[wave]
        for column in columns:
            name = column.rpartition("/")[2] if wave == "w3" else column
            assert codebook.variables[name].pii, (wave, name)
    assert project.codebooks["w2"].variables["resp_key"].target == "respondent_id"


def test_no_canary_survives_harmonization(
    canaries: set[str], harmonized: dict[str, pd.DataFrame]
) -> None:
    """It finds none of the personal-data canaries in any harmonized wave."""
    for wave, frame in harmonized.items():
        values = {str(v) for column in frame.columns for v in frame[column].dropna().unique()}
        assert not values & canaries, wave


# --------------------------------------------------------------------------- configuration


def test_catalogue_covers_every_theme_with_the_generator_codes(project: Project) -> None:
    """It catalogues at least 20 items over every theme, with the codes the generator writes."""
    items = {n: v for n, v in project.catalogue.variables.items() if v.role == "item"}
    assert len([n for n in items if not n.startswith("info_")]) >= 20
    assert {str(v.theme) for v in items.values()} == THEMES
    assert set(items) == {it.name for it in ITEMS}
    for it in ITEMS:
        codes = items[it.name].codes
        assert codes is not None
        assert {c: (lab.en, lab.fr) for c, lab in codes.items()} == dict(it.scale.labels)
    assert project.catalogue.special_codes.dont_know == 98
    bands = [(b.min, b.max) for b in project.catalogue.age_bands.bands]
    assert bands == list(AGE_BANDS)


def test_survey_config_lists_the_three_waves(project: Project) -> None:
    """It lists each wave's file, codebook and fieldwork as the generator writes them."""
    assert [w.id for w in project.survey.waves] == list(WAVE_IDS)
    for wave in project.survey.waves:
        assert wave.file == FILES[wave.id]
        assert project.codebooks[wave.id].source_file == wave.file
        assert wave.fieldwork is not None
        assert (wave.fieldwork.start, wave.fieldwork.end) == FIELDWORK[wave.id]
    assert not (ROOT / project.survey.weighting).is_dir()


def test_census_targets_file_matches_the_generator(project: Project) -> None:
    """It ships consistent census tables: same grand total, positive counts, generator's numbers."""
    path = ROOT / project.survey.targets
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    tables = {t["name"]: t for t in doc["tables"]}
    sar = [tuple(row) for row in tables["sex_age_region"]["rows"]]
    ru = [tuple(row) for row in tables["region_urban"]["rows"]]
    assert sar == census_sex_age_region()
    assert ru == census_region_urban()
    assert all(row[-1] > 0 for row in sar + ru)
    assert sum(r[-1] for r in sar) == sum(r[-1] for r in ru)
    by_region = pd.DataFrame(sar).groupby(2)[3].sum()
    assert by_region.to_dict() == pd.DataFrame(ru).groupby(0)[2].sum().to_dict()
    assert 3_000_000 < sum(r[-1] for r in sar) < 6_000_000
    targets = load_targets(path, catalogue=project.catalogue)
    assert targets.grand_total == sum(r[-1] for r in sar)


def test_geojson_has_one_valid_polygon_per_region(project: Project) -> None:
    """It tiles the country with 8 simple, non-overlapping, counter-clockwise polygons."""
    assert project.survey.geojson is not None
    geo = json.loads((ROOT / project.survey.geojson).read_text(encoding="utf-8"))
    assert geo == admin1_geojson()
    features = geo["features"]
    assert sorted(f["properties"]["code"] for f in features) == list(range(1, 9))
    names = {r.code: (r.name_en, r.name_fr) for r in REGIONS}
    rings = {}
    for f in features:
        props = f["properties"]
        assert (props["name_en"], props["name_fr"]) == names[props["code"]]
        assert f["geometry"]["type"] == "Polygon"
        ring = np.array(f["geometry"]["coordinates"][0])
        assert (ring[0] == ring[-1]).all()
        assert len(ring) >= 9
        assert ((ring[:, 0] > 10) & (ring[:, 0] < 35) & (ring[:, 1] > -5) & (ring[:, 1] < 15)).all()
        assert _signed_area(ring) > 0
        assert not _crossings(list(_segments(ring)), list(_segments(ring)))
        rings[props["code"]] = ring
    for a, ring_a in rings.items():
        for b, ring_b in rings.items():
            if a < b:
                assert not _crossings(list(_segments(ring_a)), list(_segments(ring_b)))
                assert not _inside(_interior_point(ring_a), ring_b)


# --------------------------------------------------------------------------- geometry helpers


def _segments(ring: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for k in range(len(ring) - 1):
        yield ring[k], ring[k + 1]


def _orientation(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    return float((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))


def _crossings(
    first: list[tuple[np.ndarray, np.ndarray]], second: list[tuple[np.ndarray, np.ndarray]]
) -> list[tuple[int, int]]:
    """Return pairs of segments that properly cross (shared vertices and edges do not count)."""
    found = []
    for i, (a, b) in enumerate(first):
        for j, (c, d) in enumerate(second):
            o1, o2 = _orientation(a, b, c), _orientation(a, b, d)
            o3, o4 = _orientation(c, d, a), _orientation(c, d, b)
            if o1 * o2 < 0 and o3 * o4 < 0:
                found.append((i, j))
    return found


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) / 2)


def _inside(point: tuple[float, float], ring: np.ndarray) -> bool:
    """Tell whether a point lies inside a closed ring (ray casting)."""
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in _segments(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _interior_point(ring: np.ndarray) -> tuple[float, float]:
    """Return the vertex centroid, inside these near-convex polygons."""
    centre = ring[:-1].mean(axis=0)
    assert _inside((centre[0], centre[1]), ring)
    return float(centre[0]), float(centre[1])
