"""Harmonization, Parquet storage, harmonized-table checks and codebook scaffolding."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml
from config_samples import AFROBAROMETER, CATALOGUE_YAML, CODEBOOK_YAML, PYREADSTAT

from perception.codebook import (
    PseudonymisationWarning,
    check_harmonized,
    codebook_stub,
    harmonize,
    harmonize_file,
    harmonized_labels,
    read_harmonized,
    read_harmonized_labels,
    suggest_codebook,
    write_harmonized,
)
from perception.config import Catalogue, Codebook, load_catalogue, load_codebook
from perception.errors import CodebookError, ReadError, ValidationError
from perception.io import SurveyMetadata, read_survey

N = 60
SALT_ENV = "PERCEPTION_TEST_SALT"
CANARIES = ("Amina Canary", "+216 20 555 0199")


def _source_frame(seed: int = 7) -> pd.DataFrame:
    """Build a small polling-firm wave with user-missing codes, personal data and free text."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, N).astype(float)
    age[[3, 11]] = [998, 999]
    age[5] = 98  # a real 98-year-old
    gender = rng.choice([1.0, 2.0], N)
    gender[[2, 9, 14]] = [-1, 8, 9]
    item = rng.choice([1.0, 2.0, 3.0, 4.0], N)
    item[[4, 6, 8]] = [8, 9, -1]
    return pd.DataFrame(
        {
            "RESPNO": [f"R{i:04d}" for i in range(N)],
            "RESPNAME": [CANARIES[0] if i == 0 else f"Person {i}" for i in range(N)],
            "PHONE": [CANARIES[1] if i == 0 else f"+216 20 555 {i:04d}" for i in range(N)],
            "DATEINTR": [
                dt.date(2025, 3, 3) + dt.timedelta(days=int(d)) for d in rng.integers(0, 20, N)
            ],
            "Q1": age,
            "Q101": gender,
            "Q23": item,
            "REGION": rng.choice(np.arange(1580.0, 1587.0), N),
            "URBRUR": rng.choice([1.0, 2.0], N),
            "WT": rng.uniform(0.5, 2.0, N),
            "STRAT": rng.choice([1.0, 2.0, 3.0], N),
            "EA": rng.choice(np.arange(101.0, 113.0), N),
            "NOTES": [f"Free remark number {i} about the visit" for i in range(N)],
        }
    )


def _write_sav(df: pd.DataFrame, path: Path) -> Path:
    """Write a wave as SPSS with variable labels, value labels and a declared missing code."""
    pyreadstat.write_sav(
        df,
        str(path),
        column_labels={
            "RESPNO": "Respondent number",
            "RESPNAME": "Name of respondent",
            "PHONE": "Phone number",
            "DATEINTR": "Date of interview",
            "Q1": "Q1. Age",
            "Q101": "Q101. Gender of respondent",
            "Q23": "Q23. Included in the peace process",
            "REGION": "Province or region",
            "URBRUR": "Urban or Rural",
            "WT": "Weighting factor",
            "STRAT": "Stratum",
            "EA": "Enumeration area",
            "NOTES": "Interviewer remarks (verbatim)",
        },
        variable_value_labels={
            "Q1": {998: "Refused", 999: "Don't know"},
            "Q101": {-1: "Missing", 1: "Male", 2: "Female", 8: "Refused", 9: "Don't know"},
            "Q23": {
                -1: "Missing",
                1: "A lot",
                2: "Somewhat",
                3: "A little",
                4: "Not at all",
                8: "Refused",
                9: "Don't know",
            },
            "REGION": {1580.0 + i: f"Region {i}" for i in range(7)},
            "URBRUR": {1: "Urban", 2: "Rural"},
        },
        missing_ranges={"Q101": [8, 9]},
    )
    return path


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    """Load the sample catalogue."""
    path = tmp_path_factory.mktemp("cfg") / "variables.yaml"
    path.write_text(CATALOGUE_YAML, encoding="utf-8")
    return load_catalogue(path)


@pytest.fixture(scope="module")
def codebook(tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue) -> Codebook:
    """Load the sample codebook of wave 1."""
    path = tmp_path_factory.mktemp("cfg") / "w1.yaml"
    path.write_text(CODEBOOK_YAML, encoding="utf-8")
    return load_codebook(path, catalogue)


@pytest.fixture(scope="module")
def wave_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the sample wave as a real SPSS file."""
    return _write_sav(_source_frame(), tmp_path_factory.mktemp("raw") / "w1.sav")


@pytest.fixture(scope="module")
def harmonized(wave_file: Path, codebook: Codebook, catalogue: Catalogue) -> pd.DataFrame:
    """Harmonize the sample wave."""
    return harmonize_file(wave_file, codebook, catalogue, survey="demo")


def _expected_codes(source: pd.Series, table: dict[float, float | None]) -> list[float | None]:
    """Map source values through a test-side table; NaN for missing."""
    return [table.get(v, v) for v in source]


def test_harmonized_table_has_catalogue_schema(
    harmonized: pd.DataFrame, catalogue: Catalogue
) -> None:
    """It returns every catalogue variable in order, then wave, with the contracted dtypes."""
    assert list(harmonized.columns) == [*catalogue.variables, "wave"]
    assert len(harmonized) == N
    assert list(harmonized["gender"].cat.categories) == [1, 2, 98, 99]
    assert harmonized["incl_peace_process"].cat.ordered
    assert str(harmonized["age"].dtype) == "Int64"
    assert str(harmonized["interview_date"].dtype) == "datetime64[ns]"
    assert str(harmonized["respondent_id"].dtype) == "string"
    assert str(harmonized["stratum"].dtype) == "string"
    assert harmonized["base_weight"].dtype == np.float64
    assert set(harmonized["wave"]) == {"w1"}


def test_codes_follow_recode_and_missing(harmonized: pd.DataFrame) -> None:
    """It reverses the scale, maps 8/9/-1 to 99/98/NA, and keeps valid codes as they are."""
    source = _source_frame()
    gender = harmonized["gender"].astype("float64").tolist()
    want = _expected_codes(source["Q101"], {-1.0: np.nan, 8.0: 99, 9.0: 98})
    np.testing.assert_array_equal(gender, np.array(want, dtype=float))
    item = harmonized["incl_peace_process"].astype("float64").to_numpy()
    reverse = {1.0: 4, 2.0: 3, 3.0: 2, 4.0: 1, 8.0: 99, 9.0: 98, -1.0: np.nan}
    np.testing.assert_array_equal(
        item, np.array(_expected_codes(source["Q23"], reverse), dtype=float)
    )
    assert harmonized["region"].astype(int).tolist() == source["REGION"].astype(int).tolist()


def test_age_band_and_youth_are_derived(harmonized: pd.DataFrame) -> None:
    """It derives age bands and youth from age; refused/don't-know ages get no band."""
    source_age = _source_frame()["Q1"]
    assert harmonized["age"].iloc[3] == 99 and harmonized["age"].iloc[11] == 98
    assert pd.isna(harmonized["age_band"].iloc[3]) and pd.isna(harmonized["youth"].iloc[11])
    assert harmonized["age_band"].iloc[5] == 5  # the real 98-year-old keeps a band
    for row, years in enumerate(source_age):
        if years in (998, 999):
            continue
        band = 1 + sum(years >= edge for edge in (25, 35, 45, 55))
        assert harmonized["age_band"].iloc[row] == band
        assert harmonized["youth"].iloc[row] == (1 if years <= 35 else 2)


def test_types_of_design_and_date_columns(harmonized: pd.DataFrame) -> None:
    """It keeps weights, turns numeric strata/PSU codes into text and dates into datetimes."""
    source = _source_frame()
    np.testing.assert_allclose(harmonized["base_weight"], source["WT"])
    assert harmonized["psu"].tolist() == [str(int(v)) for v in source["EA"]]
    assert harmonized["interview_date"].dt.date.tolist() == source["DATEINTR"].tolist()


def test_personal_data_never_reaches_the_table(harmonized: pd.DataFrame) -> None:
    """It drops pii and unlisted columns, so no canary value survives."""
    text = harmonized.astype(str).to_string()
    for canary in CANARIES:
        assert canary not in text
    assert not {"RESPNAME", "PHONE", "NOTES"} & set(harmonized.columns)


def test_personal_id_is_replaced_by_salted_hash(
    wave_file: Path,
    codebook: Codebook,
    catalogue: Catalogue,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """It replaces a personal id by HMAC-SHA256 keyed from the secret and the survey key."""
    personal = codebook.model_copy(
        update={
            "variables": {
                **codebook.variables,
                "RESPNO": codebook.variables["RESPNO"].model_copy(update={"pii": True}),
            }
        }
    )
    secret = "s3cret-" + "x" * 32
    monkeypatch.setenv(SALT_ENV, secret)
    out = harmonize_file(wave_file, personal, catalogue, survey="pilot", root=tmp_path)
    key = hmac.new(secret.encode(), b"perception respondent id|pilot", hashlib.sha256).digest()
    want = hmac.new(key, b"R0007", hashlib.sha256).hexdigest()[:16]
    assert out["respondent_id"].iloc[7] == want
    assert out["respondent_id"].is_unique
    assert not (tmp_path / ".perception").exists()
    other = harmonize_file(wave_file, personal, catalogue, survey="other", root=tmp_path)
    assert not set(other["respondent_id"]) & set(out["respondent_id"])
    monkeypatch.setenv(SALT_ENV, "s3cret")
    with pytest.warns(PseudonymisationWarning, match="6 characters"):
        harmonize_file(wave_file, personal, catalogue, root=tmp_path)
    monkeypatch.delenv(SALT_ENV)
    with pytest.warns(PseudonymisationWarning, match="Back it up"):
        fallback = harmonize_file(wave_file, personal, catalogue, survey="pilot", root=tmp_path)
    assert fallback["respondent_id"].iloc[7] != want
    assert not fallback["respondent_id"].str.startswith("R").any()


def test_non_personal_id_needs_no_salt(
    wave_file: Path, codebook: Codebook, catalogue: Catalogue
) -> None:
    """It keeps a non-personal id as text and asks for no salt."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = harmonize_file(wave_file, codebook, catalogue)
    assert out["respondent_id"].iloc[0] == "R0000"


def test_bins_map_a_numeric_source(catalogue: Catalogue) -> None:
    """It bins a numeric source into a categorical target and leaves derived youth empty."""
    df = pd.DataFrame({"id": ["a", "b", "c"], "agegrp": [19.0, 40.0, 99.0]})
    codebook = Codebook.model_validate(
        {
            "wave": "w2",
            "source_file": "w2.csv",
            "variables": {
                "id": {"target": "respondent_id"},
                "agegrp": {
                    "target": "age_band",
                    "bins": [{"min": 18, "max": 34, "code": 1}, {"min": 35, "max": 60, "code": 3}],
                    "missing": {99: "missing"},
                },
            },
        }
    )
    out = harmonize(df, _meta(), codebook, catalogue, source="w2.csv")
    assert out["age_band"].astype("float64").tolist()[:2] == [1.0, 3.0]
    assert pd.isna(out["age_band"].iloc[2])
    assert out["youth"].isna().all()


def test_text_sources_and_stata_missing(catalogue: Catalogue) -> None:
    """It recodes label-valued text and maps Stata ".a" codes through `missing`."""
    df = pd.DataFrame(
        {
            "uuid": ["u1", "u2", "u3", "u4"],
            "sexe": ["Homme", " Femme ", ".a", ""],
            "milieu": ["1", "2", "2", None],
        }
    )
    codebook = Codebook.model_validate(
        {
            "wave": "k1",
            "source_file": "kobo.xlsx",
            "variables": {
                "uuid": {"target": "respondent_id"},
                "sexe": {
                    "target": "gender",
                    "recode": {"Homme": 1, "Femme": 2},
                    "missing": {".a": "refused"},
                },
                "milieu": {"target": "urban_rural"},
            },
        }
    )
    out = harmonize(df, _meta(), codebook, catalogue, source="kobo.xlsx")
    assert out["gender"].astype("float64").tolist()[:3] == [1.0, 2.0, 99.0]
    assert pd.isna(out["gender"].iloc[3])
    assert out["urban_rural"].astype("float64").tolist()[:3] == [1.0, 2.0, 2.0]


def test_source_column_missing_from_file(
    wave_file: Path, codebook: Codebook, catalogue: Catalogue
) -> None:
    """It names a codebook column the file lacks, with the closest file column as a hint."""
    df, meta = read_survey(wave_file)
    with pytest.raises(CodebookError) as info:
        harmonize(df.rename(columns={"Q101": "Q1O1"}), meta, codebook, catalogue, source="w1.sav")
    assert info.value.column == "Q101"
    assert info.value.file == "w1.sav"
    assert "Q1O1" in info.value.hint


def test_value_outside_codebook_names_rows_and_label(
    wave_file: Path, codebook: Codebook, catalogue: Catalogue
) -> None:
    """It rejects an unlisted code, naming the column, the first rows and the value label."""
    df, meta = read_survey(wave_file)
    df.loc[[10, 20], "Q23"] = 7.0
    labels = {**meta.value_labels, "Q23": {**meta.value_labels["Q23"], 7: "Not asked"}}
    meta = type(meta)(**{**meta.__dict__, "value_labels": labels})
    with pytest.raises(ValidationError) as info:
        harmonize(df, meta, codebook, catalogue, source=str(wave_file))
    err = info.value
    assert err.column == "Q23" and err.rows == [10, 20]
    assert "7 ('Not asked')" in err.found
    assert "variables.Q23 in w1.yaml" in err.hint
    assert err.file == str(wave_file)


def test_age_out_of_range_is_rejected(
    wave_file: Path, codebook: Codebook, catalogue: Catalogue
) -> None:
    """It rejects an age outside the catalogue range when `missing` does not list it."""
    df, meta = read_survey(wave_file)
    df.loc[30, "Q1"] = 997.0
    with pytest.raises(ValidationError) as info:
        harmonize(df, meta, codebook, catalogue, source="w1.sav")
    assert info.value.rows == [30]
    assert "18 to 110" in info.value.expected


def test_duplicate_ids_name_ids_and_rows(
    wave_file: Path, codebook: Codebook, catalogue: Catalogue
) -> None:
    """It rejects duplicated respondent ids, listing each id with its count and the rows."""
    df, meta = read_survey(wave_file)
    df.loc[40, "RESPNO"] = "R0004"
    with pytest.raises(ValidationError) as info:
        harmonize(df, meta, codebook, catalogue, source="w1.sav")
    assert "'R0004' 2 times" in info.value.found
    assert info.value.rows == [4, 40]


def test_many_duplicate_ids_show_the_first_ten_rows_and_a_count(
    wave_file: Path, codebook: Codebook, catalogue: Catalogue
) -> None:
    """It shows the first 10 duplicated rows and their count, not every row number."""
    df, meta = read_survey(wave_file)
    df["RESPNO"] = [f"R{i // 2}" for i in range(len(df))]  # every id twice
    with pytest.raises(ValidationError) as info:
        harmonize(df, meta, codebook, catalogue, source="w1.sav")
    err = info.value
    assert err.rows == list(range(len(df)))
    assert f"rows:     0, 1, 2, 3, 4, 5, 6, 7, 8, 9 (first 10 of {len(df):,} rows)" in str(err)
    assert f"in {len(df):,} rows" in err.message
    assert err.found.count(" times") == 10
    assert f"and {len(df) // 2 - 10:,} more id(s)" in err.found
    assert len(str(err)) < 1000


def test_missing_id_is_rejected(wave_file: Path, codebook: Codebook, catalogue: Catalogue) -> None:
    """It rejects a blank respondent id."""
    df, meta = read_survey(wave_file)
    df.loc[12, "RESPNO"] = " "
    with pytest.raises(ValidationError, match="Respondent id missing") as info:
        harmonize(df, meta, codebook, catalogue, source="w1.sav")
    assert info.value.rows == [12]


def test_codebook_for_another_file(
    wave_file: Path, codebook: Codebook, catalogue: Catalogue
) -> None:
    """It refuses to apply a codebook to a file it was not written for."""
    other = codebook.model_copy(update={"source_file": "w2.dta"})
    with pytest.raises(CodebookError, match="another file"):
        harmonize_file(wave_file, other, catalogue)


def test_parquet_round_trip_restores_dtypes_and_labels(
    harmonized: pd.DataFrame, catalogue: Catalogue, tmp_path: Path
) -> None:
    """It reads back exactly the harmonized table, with the labels in the Parquet metadata."""
    path = write_harmonized(harmonized, tmp_path / "processed" / "w1.parquet", catalogue)
    back = read_harmonized(path)
    pd.testing.assert_frame_equal(back, harmonized)
    labels = read_harmonized_labels(path)
    assert labels == harmonized_labels(catalogue)
    assert labels["variables"]["gender"]["codes"]["98"] == {"en": "Don't know", "fr": "Ne sait pas"}
    assert list(labels["variables"]["age_band"]["codes"]) == ["1", "2", "3", "4", "5"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["w1.parquet"]


def test_output_is_byte_identical_on_rerun(
    wave_file: Path, codebook: Codebook, catalogue: Catalogue, tmp_path: Path
) -> None:
    """It writes the same bytes when the same file is harmonized twice."""
    first = write_harmonized(
        harmonize_file(wave_file, codebook, catalogue), tmp_path / "a.parquet", catalogue
    )
    second = write_harmonized(
        harmonize_file(wave_file, codebook, catalogue), tmp_path / "b.parquet", catalogue
    )
    assert first.read_bytes() == second.read_bytes()


def test_read_rejects_foreign_parquet(tmp_path: Path) -> None:
    """It refuses a Parquet file without harmonization labels, and a file that is not Parquet."""
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(plain)
    with pytest.raises(ReadError, match="Not a harmonized table"):
        read_harmonized(plain)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(ReadError):
        read_harmonized(broken)


def test_checks_pass_on_a_sound_table(harmonized: pd.DataFrame, catalogue: Catalogue) -> None:
    """It finds nothing wrong in a freshly harmonized table."""
    assert check_harmonized(harmonized, catalogue) == []


def test_checks_report_each_broken_rule(harmonized: pd.DataFrame, catalogue: Catalogue) -> None:
    """It reports duplicate ids, bad weights, missing PSUs, wrong codes and personal data."""
    broken = harmonized.copy()
    broken.loc[3, "respondent_id"] = broken.loc[2, "respondent_id"]
    broken.loc[5, "base_weight"] = 0.0
    broken.loc[6, "base_weight"] = np.inf
    broken.loc[7, "psu"] = pd.NA
    broken["gender"] = broken["gender"].astype("float64")
    broken["phone_number"] = "x"
    broken.loc[1, "stratum"] = "someone@example.org"
    findings = check_harmonized(broken, catalogue)
    by_check = {(f.check, f.column): f for f in findings}
    assert by_check[("unique_ids", "respondent_id")].rows == (2, 3)
    assert by_check[("design", "base_weight")].rows == (5, 6)
    assert by_check[("design", "psu")].rows == (7,)
    assert ("conformance", "gender") in by_check
    assert ("no_pii", "phone_number") in by_check
    assert by_check[("no_pii", "stratum")].rows == (1,)


def test_checks_accept_an_unmapped_design_column(
    harmonized: pd.DataFrame, catalogue: Catalogue
) -> None:
    """It accepts a design column the codebook did not map (no PSU released), not a gap in one."""
    unmapped = harmonized.assign(psu=pd.Series([None] * N, dtype="string"))
    assert check_harmonized(unmapped, catalogue) == []
    gap = harmonized.assign(psu=harmonized["psu"].where(harmonized.index != 4))
    assert [(f.check, f.column, f.rows) for f in check_harmonized(gap, catalogue)] == [
        ("design", "psu", (4,))
    ]


# ------------------------------------------------------------------ scaffolding


def _meta() -> SurveyMetadata:
    """Describe a frame built in the test (no labels)."""
    return SurveyMetadata(
        path=Path("x"), format="csv", n_rows=0, column_names=[], variable_types={}
    )


def _stub_codebook(path: Path, text: str) -> Codebook:
    """Write a stub and load it as a codebook."""
    path.write_text(text, encoding="utf-8")
    return load_codebook(path)


def test_stub_flags_personal_data_and_suggests_targets(wave_file: Path, tmp_path: Path) -> None:
    """It flags names, phones and free text as pii and suggests every standard target."""
    text = codebook_stub(wave_file, wave="w1")
    book = _stub_codebook(tmp_path / "stub.yaml", text)
    pii = {src for src, m in book.variables.items() if m.pii}
    assert pii == {"RESPNO", "RESPNAME", "PHONE", "NOTES"}  # RESPNO: hashed respondent id
    assert book.targets() == {
        "respondent_id": "RESPNO",
        "interview_date": "DATEINTR",
        "age": "Q1",
        "gender": "Q101",
        "region": "REGION",
        "urban_rural": "URBRUR",
        "base_weight": "WT",
        "stratum": "STRAT",
        "psu": "EA",
    }
    assert book.variables["Q1"].missing == {998: "refused", 999: "dont_know"}
    assert book.variables["Q23"].skip
    assert book.variables["Q23"].missing == {-1: "missing", 8: "refused", 9: "dont_know"}
    for canary in CANARIES:
        assert canary not in text


def test_stub_heuristics_in_french(tmp_path: Path) -> None:
    """It recognizes French names and labels, and French personal-data columns."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "identifiant": [f"Q{i}" for i in range(30)],
            "nom": [f"Nom {i}" for i in range(30)],
            "prenom": [f"Prénom {i}" for i in range(30)],
            "telephone": [f"0612{i:06d}" for i in range(30)],
            "adresse": [f"{i} rue de la Paix" for i in range(30)],
            "v1": rng.choice([1.0, 2.0], 30),
            "v2": rng.integers(18, 80, 30).astype(float),
            "gouvernorat": rng.choice([1.0, 2.0, 3.0], 30),
            "v4": rng.choice([1.0, 2.0], 30),
            "poids": rng.uniform(0.5, 2, 30),
            "strate": rng.choice([1.0, 2.0], 30),
            "grappe": rng.choice(np.arange(10.0), 30),
            "coordonnees": rng.uniform(30, 37, 30),
        }
    )
    path = tmp_path / "fr.sav"
    pyreadstat.write_sav(
        df,
        str(path),
        column_labels={
            "v1": "Sexe de l'enquêté",
            "v2": "Âge du répondant",
            "v4": "Milieu de résidence",
            "coordonnees": "Coordonnées GPS (latitude)",
        },
        variable_value_labels={"v1": {1: "Homme", 2: "Femme"}, "v4": {1: "Urbain", 2: "Rural"}},
    )
    book = _stub_codebook(tmp_path / "stub.yaml", codebook_stub(path))
    assert book.targets() == {
        "respondent_id": "identifiant",
        "gender": "v1",
        "age": "v2",
        "region": "gouvernorat",
        "urban_rural": "v4",
        "base_weight": "poids",
        "stratum": "strate",
        "psu": "grappe",
    }
    pii = {src for src, m in book.variables.items() if m.pii}
    assert pii == {"identifiant", "nom", "prenom", "telephone", "adresse", "coordonnees"}


def test_stub_recodes_text_answers_and_spares_option_columns(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    """It suggests a recode for text answers, flags free text, and leaves 0/1 options alone."""
    path = tmp_path / "kobo.csv"
    pd.DataFrame(
        {
            "_uuid": [f"uuid-{i}" for i in range(8)],
            "sexe": ["Homme", "Femme"] * 4,
            "milieu": ["Urbain", "Rural", "Rural", "Urbain"] * 2,
            "sources_info": ["radio whatsapp", "tele", "radio tele", "whatsapp"] * 2,
            "commentaire": ["rien", "ok", "", "bien", "", "", "non", ""],
        }
    ).to_csv(path, index=False)
    text = codebook_stub(path)
    book = load_codebook(_write(tmp_path / "kobo.yaml", text), catalogue)
    assert book.variables["sexe"].recode == {"Femme": 2, "Homme": 1}
    assert book.variables["milieu"].recode == {"Rural": 2, "Urbain": 1}
    assert book.variables["sources_info/whatsapp"].skip
    assert book.variables["commentaire"].pii
    out = harmonize_file(path, book, catalogue)
    assert out["gender"].astype("float64").tolist() == [1.0, 2.0] * 4
    assert out["urban_rural"].astype("float64").tolist() == [1.0, 2.0, 2.0, 1.0] * 2


def test_stub_keeps_a_personal_id_as_hashed_id(tmp_path: Path) -> None:
    """It suggests a personal, unique id as the respondent id with pii: true (to be hashed)."""
    path = tmp_path / "w2.sav"
    df = pd.DataFrame(
        {
            "resp_key": [f"0612 55 {i:04d} AB" for i in range(20)],
            "notes": ["x"] * 20,
            "gender": [1.0, 2.0] * 10,
        }
    )
    labels = {"resp_key": "Respondent key (phone and initials)", "notes": "Enumerator notes"}
    pyreadstat.write_sav(df, str(path), column_labels=labels)
    book = _stub_codebook(tmp_path / "w2.yaml", codebook_stub(path))
    assert book.variables["resp_key"].target == "respondent_id"
    assert book.variables["resp_key"].pii
    assert book.variables["notes"].pii and book.variables["notes"].target is None


def test_stub_flags_options_of_a_personal_question() -> None:
    """It flags 0/1 option columns of a question named like personal data, not other options."""
    df = pd.DataFrame({"nom/Amarisa": [0, 1, 0], "sources_info/radio": [1, 0, 1]})
    flagged = {s.name: bool(s.pii_reasons) for s in suggest_codebook(df, _meta())}
    assert flagged == {"nom/Amarisa": True, "sources_info/radio": False}


def test_stub_of_synthetic_wave_harmonizes_after_adding_the_item(
    wave_file: Path, catalogue: Catalogue, tmp_path: Path
) -> None:
    """It drafts a stub that harmonizes once the officer maps the perception item."""
    text = codebook_stub(wave_file, wave="w1").replace(
        "Q23: {skip: true,", "Q23: {target: incl_peace_process, recode: {1: 4, 2: 3, 3: 2, 4: 1},"
    )
    book = load_codebook(_write(tmp_path / "w1.yaml", text), catalogue)
    out = harmonize_file(wave_file, book, catalogue)
    assert check_harmonized(out, catalogue) == []


def _write(path: Path, text: str) -> Path:
    """Write a text file and return its path."""
    path.write_text(text, encoding="utf-8")
    return path


AFRO_FILES = sorted(AFROBAROMETER.glob("*.sav")) if AFROBAROMETER.is_dir() else []


@pytest.mark.skipif(not AFRO_FILES, reason=f"Afrobarometer fixtures absent ({AFROBAROMETER})")
@pytest.mark.parametrize("path", AFRO_FILES, ids=lambda p: p.name)
def test_stub_on_afrobarometer_finds_standard_targets(
    path: Path, catalogue: Catalogue, tmp_path: Path
) -> None:
    """It maps Q101, Q1, REGION, URBRUR and the weight on real English and French files, as-is."""
    text = codebook_stub(path, wave="r")
    book = load_codebook(_write(tmp_path / "afro.yaml", text), catalogue)
    targets = book.targets()
    assert targets["gender"] == "Q101"
    assert targets["age"] == "Q1"
    assert targets["region"] == "REGION"
    assert targets["urban_rural"] == "URBRUR"
    assert targets["base_weight"].startswith("withinwt")
    assert targets["respondent_id"] == "RESPNO"
    assert targets["interview_date"] == "DATEINTR"
    assert book.variables["Q1"].missing[999] == "dont_know"
    assert book.variables["THISINT"].skip  # "This interview, gender" is not the respondent's
    assert any(m.pii for m in book.variables.values())
    out = harmonize_file(path, book, catalogue)
    df, _ = read_survey(path)
    assert (out["gender"].astype("float64") == df["Q101"]).all()
    findings = {(f.check, f.column) for f in check_harmonized(out, catalogue)}
    # Stratum and PSU are not mapped (Afrobarometer releases no PSU ids): not a finding.
    assert findings == set()


def _fixture_files() -> list[Path]:
    """List the pyreadstat fixtures, from the repository copy or the shared folder."""
    local = Path(__file__).resolve().parent / "fixtures" / "pyreadstat"
    for folder in (local, PYREADSTAT):
        files = (
            sorted(
                p
                for p in folder.glob("*")
                if p.suffix in {".sav", ".zsav", ".por", ".dta", ".sas7bdat", ".xpt"}
            )
            if folder.is_dir()
            else []
        )
        if files:
            return files
    return []


@pytest.mark.skipif(not _fixture_files(), reason="pyreadstat fixtures absent")
def test_stub_loads_for_every_pyreadstat_fixture(tmp_path: Path) -> None:
    """It drafts a stub that loads as a codebook for each real pyreadstat fixture."""
    for path in _fixture_files():
        text = codebook_stub(path)
        assert yaml.safe_load(text)["source_file"] == path.name
        book = _stub_codebook(tmp_path / f"{path.name}.yaml", text)
        assert len(book.variables) == len(read_survey(path)[0].columns), path.name
