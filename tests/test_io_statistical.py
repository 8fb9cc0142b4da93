"""perception.io on real SPSS, Stata and SAS files: pyreadstat's fixtures and Afrobarometer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pyreadstat
import pytest

from perception.io import MissingRange, read_survey
from perception.io.sniff import read_head, stata_release

FIXTURES = Path(__file__).parent / "fixtures" / "pyreadstat"
AFROBAROMETER = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "afrobarometer"
SAMPLE_FILES = {
    "sample.sav": "spss",
    "sample.zsav": "spss",
    "sample.por": "spss-por",
    "sample.dta": "stata",
    "sample.sas7bdat": "sas7bdat",
    "sample.xpt": "xport",
}
# The table every sample.* file holds (pyreadstat's test data, see ATTRIBUTION.md).
SAMPLE_MYNUM = [1.1, 1.2, -1000.3, -1.4, 1000.3]
SAMPLE_MYDATE = ["2018-05-06", "1880-05-06", "1960-01-01", "1583-01-01", None]
SAMPLE_DTIME = [
    "2018-05-06 10:10:10",
    "1880-05-06 10:10:10",
    "1960-01-01 00:00:00",
    "1583-01-01 00:00:00",
    None,
]


def _lower(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the frame with lower-case column names (.por and .xpt store upper case)."""
    return frame.rename(columns=str.lower)


@pytest.mark.parametrize(("name", "fmt"), SAMPLE_FILES.items())
def test_every_format_reads_the_same_table(name: str, fmt: str) -> None:
    """It reads the same five-row table from .sav, .zsav, .por, .dta, .sas7bdat and .xpt."""
    frame, meta = read_survey(FIXTURES / name)
    frame = _lower(frame)
    assert meta.format == fmt
    assert meta.n_rows == 5
    assert [name.lower() for name in meta.column_names] == list(frame.columns)
    assert list(frame.columns) == [
        "mychar",
        "mynum",
        "mydate",
        "dtime",
        "mylabl",
        "myord",
        "mytime",
    ]
    assert frame["mychar"].tolist() == ["a", "b", "c", "d", "e"]
    np.testing.assert_allclose(frame["mynum"].to_numpy(dtype=float), SAMPLE_MYNUM)
    assert frame["mylabl"].tolist() == [1, 2, 1, 2, 1]


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_dates_are_datetime64(name: str) -> None:
    """It returns date and datetime columns as datetime64 and tells date from datetime."""
    frame, meta = read_survey(FIXTURES / name)
    frame = _lower(frame)
    assert pd.api.types.is_datetime64_dtype(frame["mydate"])
    assert pd.api.types.is_datetime64_dtype(frame["dtime"])
    pdt.assert_series_equal(
        frame["mydate"], pd.Series(pd.to_datetime(SAMPLE_MYDATE), name="mydate"), check_dtype=False
    )
    pdt.assert_series_equal(
        frame["dtime"], pd.Series(pd.to_datetime(SAMPLE_DTIME), name="dtime"), check_dtype=False
    )
    types = {key.lower(): value for key, value in meta.variable_types.items()}
    assert types == {
        "mychar": "string",
        "mynum": "numeric",
        "mydate": "date",
        "dtime": "datetime",
        "mylabl": "numeric",
        "myord": "numeric",
        "mytime": "time",
    }
    assert frame["mytime"].iloc[0] == dt.time(10, 10, 10)


def test_compressed_spss_equals_uncompressed() -> None:
    """It reads a compressed .zsav exactly like the same uncompressed .sav."""
    plain, plain_meta = read_survey(FIXTURES / "sample.sav")
    packed, packed_meta = read_survey(FIXTURES / "sample.zsav")
    pdt.assert_frame_equal(plain, packed)
    assert plain_meta.value_labels == packed_meta.value_labels
    assert plain_meta.column_labels == packed_meta.column_labels


@pytest.mark.parametrize("name", ["sample.sav", "sample.por", "sample.dta"])
def test_labels_are_kept(name: str) -> None:
    """It keeps variable labels and value labels with integer codes as keys."""
    _, meta = read_survey(FIXTURES / name)
    labels = {key.lower(): value for key, value in meta.column_labels.items()}
    values = {key.lower(): value for key, value in meta.value_labels.items()}
    assert labels["mynum"] == "numeric"
    assert labels["mylabl"] == "labeled"
    assert values["mylabl"] == {1: "Male", 2: "Female"}
    assert values["myord"] == {1: "low", 2: "medium", 3: "high"}
    assert all(type(key) is int for key in values["myord"])


def test_spss_notes_are_kept() -> None:
    """It keeps the notes (documents) stored in an SPSS file."""
    _, meta = read_survey(FIXTURES / "sample.sav")
    assert "some test text as notes" in meta.notes


def test_spss_user_missing_values_stay_values() -> None:
    """It keeps declared user-missing codes as values, where a plain read would blank them."""
    frame, meta = read_survey(FIXTURES / "sample_missing.sav")
    plain, _ = pyreadstat.read_sav(FIXTURES / "sample_missing.sav")
    declared = frame["mylabl"] == -1
    assert declared.sum() >= 1
    assert plain.loc[declared, "mylabl"].isna().all()
    assert meta.missing_ranges["mylabl"] == [MissingRange(-1, -1)]
    assert meta.missing_ranges["mynum"] == [MissingRange(2000, 3000), MissingRange(-1, -1)]
    assert meta.missing_ranges["myord"] == [MissingRange(lo, lo) for lo in (-1, -2, -3)]
    assert meta.value_labels["mylabl"][-1] == "undetermined"


def test_spss_discrete_missing_value_and_string_missing() -> None:
    """It keeps a declared numeric missing value and a declared string missing value."""
    numeric, numeric_meta = read_survey(FIXTURES / "missing_test.sav")
    assert numeric["var1"].tolist() == [1.0, 2.0]
    assert numeric_meta.missing_ranges == {"var1": [MissingRange(1, 1)]}
    text, text_meta = read_survey(FIXTURES / "missing_char.sav")
    assert text["mychar"].tolist() == ["Z", "a"]
    assert text_meta.missing_ranges == {"mychar": [MissingRange("Z", "Z")]}


def test_spss_missing_ranges_and_multiple_response_sets() -> None:
    """It records declared missing ranges and the SPSS multiple-response sets of a file."""
    frame, meta = read_survey(FIXTURES / "simple_alltypes.sav")
    assert meta.missing_ranges["z"] == [MissingRange(-999, 0), MissingRange(999, 999)]
    assert 999 in frame["z"].tolist()
    dichotomy = meta.response_sets["mymrset"]
    assert dichotomy.kind == "dichotomy"
    assert dichotomy.counted_value == 1
    assert dichotomy.columns == ["bool1", "bool2", "bool3"]
    assert dichotomy.label == "My multiple response set"
    assert meta.response_sets["categorical_array"].kind == "category"
    assert set(dichotomy.columns) <= set(frame.columns)


def test_ordered_categories() -> None:
    """It keeps the ordinal measurement level and the value labels of an ordered variable."""
    frame, meta = read_survey(FIXTURES / "ordered_category.sav")
    assert meta.measures == {"Col1": "ordinal"}
    assert meta.value_labels["Col1"] == {1: "high", 2: "low", 3: "medium"}
    assert frame["Col1"].tolist() == [1, 2, 3, 2]


def test_non_latin_encodings() -> None:
    """It reads Hebrew variable names and Telugu text declared as UTF-8."""
    hebrew, hebrew_meta = read_survey(FIXTURES / "hebrews.sav")
    assert hebrew_meta.column_names == ["ותק_ב"]
    assert hebrew_meta.encoding == "utf-8"
    assert hebrew.shape == (99, 1)
    telugu, telugu_meta = read_survey(FIXTURES / "tegulu.sav")
    assert telugu["Q16br9oe_Q24br9oe"].iloc[0].startswith("నేను")
    assert telugu_meta.column_labels["record"] == "record : Record number"


def test_stata_extended_missing_values() -> None:
    """It keeps Stata .a-.z as distinct ".a"-style strings and plain "." as NaN."""
    frame, meta = read_survey(FIXTURES / "missing_test.dta")
    row = frame.iloc[0]
    assert [row[f"var{i}"] for i in range(1, 7)] == [".a", ".b", ".c", ".x", ".y", ".z"]
    assert np.isnan(row["var7"])
    assert row["var9"] == 1
    assert meta.extended_missing == {f"var{i}": [f".{c}"] for i, c in enumerate("abcxyz", 1)}
    assert meta.value_labels["var1"] == {".a": "missing"}
    assert frame["var1"].dtype == object


# pyreadstat's version argument -> the .dta release it writes (113-115 binary, 117+ XML-tagged).
STATA_RELEASES = {8: 113, 9: 113, 10: 114, 11: 114, 12: 115, 13: 117, 14: 118, 15: 119}


def _stata_frame() -> pd.DataFrame:
    """Return a small survey-like frame with a label, an extended missing and a French string."""
    return pd.DataFrame(
        {
            "q1": pd.Series([1.0, 2.0, "a", np.nan, 2.0], dtype=object),
            "region": [1580.0, 1581.0, 1582.0, 1580.0, 1587.0],
            "commune": ["Sfax", "Gabès", "Béja", "Tunis", "Médenine"],
            "date": [dt.date(2024, 3, day) for day in (1, 2, 3, 4, 5)],
            "stamp": pd.to_datetime(["2024-03-01 09:30", None, "2024-03-03 18:05", None, None]),
        }
    )


@pytest.mark.parametrize(("version", "release"), STATA_RELEASES.items())
def test_stata_versions(tmp_path: Path, version: int, release: int) -> None:
    """It reads Stata files of every version pyreadstat writes (8-15) with labels and codes."""
    path = tmp_path / f"wave_v{version}.dta"
    pyreadstat.write_dta(
        _stata_frame(),
        path,
        version=version,
        column_labels={"q1": "Confiance dans la mission", "region": "Région"},
        variable_value_labels={"q1": {1: "Oui", 2: "Non"}},
        missing_user_values={"q1": ["a"]},
    )
    assert stata_release(read_head(path)) == release
    frame, meta = read_survey(path)
    assert meta.format == "stata"
    assert meta.encoding == "utf-8"
    assert frame["q1"].tolist()[:3] == [1, 2, ".a"]
    assert np.isnan(frame["q1"].iloc[3])
    assert meta.extended_missing == {"q1": [".a"]}
    assert frame["commune"].tolist() == ["Sfax", "Gabès", "Béja", "Tunis", "Médenine"]
    assert meta.column_labels == {"q1": "Confiance dans la mission", "region": "Région"}
    assert meta.value_labels["q1"] == {1: "Oui", 2: "Non"}
    assert pd.api.types.is_datetime64_dtype(frame["date"])
    assert pd.api.types.is_datetime64_dtype(frame["stamp"])
    assert frame["stamp"].iloc[2] == pd.Timestamp("2024-03-03 18:05")
    assert meta.variable_types["date"] == "date"
    assert meta.variable_types["stamp"] == "datetime"


def test_legacy_stata_in_windows_1252(tmp_path: Path) -> None:
    """It decodes a pre-Stata-14 file holding Windows-1252 text, as Stata itself wrote them."""
    utf8_path = tmp_path / "utf8.dta"
    pyreadstat.write_dta(pd.DataFrame({"commune": ["GabQQ", "Tunis"]}), utf8_path, version=12)
    raw = utf8_path.read_bytes()
    assert raw.count(b"QQ") == 1
    legacy = tmp_path / "legacy.dta"
    legacy.write_bytes(raw.replace(b"QQ", "ès".encode("cp1252")))
    frame, meta = read_survey(legacy)
    assert frame["commune"].tolist() == ["Gabès", "Tunis"]
    assert meta.encoding == "cp1252"
    utf8_frame, utf8_meta = read_survey(utf8_path)
    assert utf8_frame["commune"].tolist() == ["GabQQ", "Tunis"]
    assert utf8_meta.encoding == "utf-8"


def test_por_keeps_user_missing_values(tmp_path: Path) -> None:
    """It keeps a declared user-missing value in a .por file, which pyreadstat.read_por blanks."""
    lines = (FIXTURES / "sample.por").read_bytes().split(b"\r\n")
    flat = b"".join(lines)
    variable = b"70/6/MYLABL5/8/2/5/8/2/C7/labeled"
    assert flat.count(variable) == 1
    flat = flat.replace(variable, b"70/6/MYLABL5/8/2/5/8/2/82/C7/labeled")  # 8 = missing value 2
    path = tmp_path / "declared.por"
    path.write_bytes(b"\r\n".join(flat[i : i + 80] for i in range(0, len(flat), 80)))
    frame, meta = read_survey(path)
    plain, _ = pyreadstat.read_por(path)
    assert frame["MYLABL"].tolist() == [1, 2, 1, 2, 1]
    assert plain["MYLABL"].isna().sum() == 2
    assert meta.missing_ranges == {"MYLABL": [MissingRange(2, 2)]}


def _afrobarometer(name: str) -> Path:
    """Return an Afrobarometer file from ../shared, or skip when it is not there."""
    path = AFROBAROMETER / name
    if not path.is_file():
        pytest.skip(f"Afrobarometer fixture {path} is absent (kept outside the repository)")
    return path


@pytest.mark.parametrize(
    ("name", "shape"), [("tun_r8_data.sav", (1200, 377)), ("tun_r9_data.sav", (1200, 388))]
)
def test_afrobarometer_shape_and_regions(name: str, shape: tuple[int, int]) -> None:
    """It reads both Afrobarometer rounds whole, with labelled region codes 1580-1587."""
    frame, meta = read_survey(_afrobarometer(name))
    assert frame.shape == shape
    assert meta.n_rows == shape[0]
    assert len(meta.column_names) == shape[1]
    regions = set(frame["REGION"].unique())
    assert regions <= set(range(1580, 1588))
    assert regions <= set(meta.value_labels["REGION"])
    assert pd.api.types.is_datetime64_dtype(frame["DATEINTR"])


@pytest.mark.parametrize("name", ["tun_r8_data.sav", "tun_r9_data.sav"])
def test_afrobarometer_undeclared_codes_are_values(name: str) -> None:
    """It leaves Afrobarometer's undeclared -1/8/9/94/999 codes in the data as plain values."""
    frame, meta = read_survey(_afrobarometer(name))
    assert meta.missing_ranges == {}
    numeric = frame.select_dtypes("number")
    for code in (-1, 8, 9, 94):
        assert bool((numeric == code).any().any()), code
    assert 999 in set(frame["Q1"])
    assert 999 in meta.value_labels["Q1"]


def test_afrobarometer_round_9_has_french_labels() -> None:
    """It keeps the French variable and value labels of Afrobarometer round 9."""
    _, meta = read_survey(_afrobarometer("tun_r9_data.sav"))
    assert "Sexe du répondant" in meta.column_labels["Q101"]
    assert meta.column_labels["REGION"] == "Région"
    assert meta.value_labels["Q101"] == {1: "Homme", 2: "Femme"}
    assert meta.value_labels["Q1"][999] == "Ne sait pas"
    assert meta.encoding == "utf-8"
