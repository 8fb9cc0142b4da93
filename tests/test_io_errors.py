"""perception.io on bad input: one ReadError naming file, expected, found, hint; no file touched."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from perception.errors import ReadError
from perception.io import read_survey

FIXTURES = Path(__file__).parent / "fixtures"
PYREADSTAT = FIXTURES / "pyreadstat"
BINARY_SAMPLES = [
    "sample.sav",
    "sample.zsav",
    "sample.por",
    "sample.dta",
    "sample.sas7bdat",
    "sample.xpt",
]


def _read_error(path: Path, **options: str) -> ReadError:
    """Read a file that must fail; return the ReadError after checking its fields."""
    with pytest.raises(ReadError) as caught:
        read_survey(path, **options)  # type: ignore[arg-type]
    error = caught.value
    assert error.file == str(path)
    assert error.expected
    assert error.found
    assert error.hint
    assert "Traceback" not in str(error)
    return error


def _xlsx(tmp_path: Path) -> Path:
    """Write a small valid .xlsx export."""
    path = tmp_path / "export.xlsx"
    pd.DataFrame({"_uuid": ["u1", "u2"], "q1": [1, 2]}).to_excel(path, index=False)
    return path


@pytest.mark.parametrize("name", ["absent.sav", "absent.parquet"])
def test_missing_file(tmp_path: Path, name: str) -> None:
    """It reports a path that does not exist, whatever its extension."""
    error = _read_error(tmp_path / name)
    assert "does not exist" in error.message


def test_directory(tmp_path: Path) -> None:
    """It reports a directory given instead of a file."""
    folder = tmp_path / "wave.sav"
    folder.mkdir()
    assert _read_error(folder).found == "a directory"


@pytest.mark.parametrize("name", ["wave.parquet", "wave.txt", "wave"])
def test_unknown_extension(tmp_path: Path, name: str) -> None:
    """It lists the supported extensions for an unknown one."""
    path = tmp_path / name
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    error = _read_error(path)
    assert ".sav" in error.expected
    assert ".xlsx" in error.expected


@pytest.mark.parametrize(
    "suffix", [".sav", ".zsav", ".por", ".dta", ".sas7bdat", ".xpt", ".csv", ".xlsx", ".xls"]
)
def test_empty_file(tmp_path: Path, suffix: str) -> None:
    """It reports a 0-byte file of any format as empty."""
    path = tmp_path / f"wave{suffix}"
    path.write_bytes(b"")
    assert "empty" in _read_error(path).message


def test_header_only_csv(tmp_path: Path) -> None:
    """It reports a CSV with a header and no data rows."""
    path = tmp_path / "wave.csv"
    path.write_text("id;q1;q2\n", encoding="utf-8")
    assert "no data rows" in _read_error(path).message


def test_whitespace_only_csv(tmp_path: Path) -> None:
    """It reports a CSV holding only blank lines."""
    path = tmp_path / "wave.csv"
    path.write_text("\n\n  \n", encoding="utf-8")
    assert "empty" in _read_error(path).message


def test_header_only_xlsx(tmp_path: Path) -> None:
    """It reports a workbook with headers and no submissions."""
    path = tmp_path / "export.xlsx"
    pd.DataFrame({"_uuid": [], "q1": []}).to_excel(path, index=False)
    assert "no data rows" in _read_error(path).message


def test_spss_file_without_rows(tmp_path: Path) -> None:
    """It reports an SPSS file that has variables but no cases."""
    path = tmp_path / "dictionary_only.sav"
    pyreadstat.write_sav(pd.DataFrame({"q1": pd.Series([], dtype=float)}), path)
    assert "no data rows" in _read_error(path).message


@pytest.mark.parametrize("name", BINARY_SAMPLES)
def test_truncated_file(tmp_path: Path, name: str) -> None:
    """It reports a statistical file cut short as corrupt or truncated."""
    raw = (PYREADSTAT / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(raw[: len(raw) * 2 // 3])
    error = _read_error(path)
    assert "corrupt or truncated" in error.message


def test_truncated_xlsx(tmp_path: Path) -> None:
    """It reports a workbook cut short as corrupt or truncated."""
    raw = _xlsx(tmp_path).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(raw[: len(raw) // 2])
    assert "corrupt or truncated" in _read_error(path).message


def test_truncated_xls(tmp_path: Path) -> None:
    """It reports a legacy workbook cut short as corrupt or truncated."""
    raw = (FIXTURES / "io" / "kobo_export.xls").read_bytes()
    path = tmp_path / "cut.xls"
    path.write_bytes(raw[: len(raw) // 2])
    assert "corrupt or truncated" in _read_error(path).message


def test_corrupt_spss_body(tmp_path: Path) -> None:
    """It reports an SPSS file whose header is intact but whose body is garbage."""
    raw = (PYREADSTAT / "sample.sav").read_bytes()
    path = tmp_path / "damaged.sav"
    path.write_bytes(raw[:200] + bytes(range(256)) * 4)
    assert "corrupt or truncated" in _read_error(path).message


@pytest.mark.parametrize(
    ("source", "target", "rename_to"),
    [
        ("csv", "wave.sav", "wave.csv"),
        ("csv", "wave.dta", "wave.csv"),
        ("sample.sav", "wave.dta", "wave.sav"),
        ("sample.dta", "wave.sav", "wave.dta"),
        ("sample.por", "wave.sav", "wave.por"),
        ("xlsx", "wave.csv", "wave.xlsx"),
        ("xlsx", "wave.xls", "wave.xlsx"),
        ("sample.sav", "wave.xlsx", "wave.sav"),
    ],
)
def test_wrong_extension(tmp_path: Path, source: str, target: str, rename_to: str) -> None:
    """It names what the file really is and the extension to give it."""
    path = tmp_path / target
    if source == "csv":
        path.write_text("id,q1\n1,2\n", encoding="utf-8")
    elif source == "xlsx":
        shutil.copyfile(_xlsx(tmp_path), path)
    else:
        shutil.copyfile(PYREADSTAT / source, path)
    error = _read_error(path)
    assert "not what its extension says" in error.message
    assert rename_to in error.hint


def test_random_bytes(tmp_path: Path) -> None:
    """It reports unrecognisable binary content."""
    path = tmp_path / "wave.csv"
    path.write_bytes(bytes(range(256)) * 8)
    assert "binary" in _read_error(path).found


@pytest.mark.parametrize(
    "raw",
    [
        "id,nom\n1,Gabès\n".encode("cp1252") + b"2,\x81\x8d\n",  # neither UTF-8 nor Windows-1252
        "id,nom\n1,Gabès\n".encode("utf-16-le"),  # UTF-16 without its byte-order mark
    ],
)
def test_undecodable_csv(tmp_path: Path, raw: bytes) -> None:
    """It refuses text it cannot decode strictly instead of guessing."""
    path = tmp_path / "wave.csv"
    path.write_bytes(raw)
    error = _read_error(path)
    assert "decode" in error.message or "binary" in error.found


def test_unknown_encoding_name(tmp_path: Path) -> None:
    """It reports an encoding name Python does not know."""
    path = tmp_path / "wave.csv"
    path.write_text("id\n1\n", encoding="utf-8")
    assert "unknown text encoding" in _read_error(path, encoding="klingon-8").message


def test_wrong_forced_encoding_for_spss(tmp_path: Path) -> None:
    """It reports SPSS text that does not decode in the encoding the caller forces."""
    path = tmp_path / "tegulu.sav"
    shutil.copyfile(PYREADSTAT / "tegulu.sav", path)
    assert "decode" in _read_error(path, encoding="ascii").message


def test_ragged_csv(tmp_path: Path) -> None:
    """It reports a CSV whose lines do not have the same number of fields."""
    path = tmp_path / "wave.csv"
    path.write_text("id,q1\n1,2\n3,4\n5,6,7,8\n", encoding="utf-8")
    assert "consistent table" in _read_error(path).message


def _every_format(tmp_path: Path) -> list[Path]:
    """Return one real file of every readable format, copied into tmp_path."""
    paths = []
    for name in BINARY_SAMPLES:
        paths.append(tmp_path / name)
        shutil.copyfile(PYREADSTAT / name, paths[-1])
    paths.append(tmp_path / "kobo_export.xls")
    shutil.copyfile(FIXTURES / "io" / "kobo_export.xls", paths[-1])
    paths.append(_xlsx(tmp_path))
    paths.append(tmp_path / "wave.csv")
    paths[-1].write_bytes("id;région\n1;Gabès\n".encode("cp1252"))
    return paths


def test_raw_files_are_never_modified(tmp_path: Path) -> None:
    """It leaves the bytes and modification time of every file it reads unchanged."""
    for path in _every_format(tmp_path):
        old = 946_684_800  # 2000-01-01, so any write would show
        os.utime(path, (old, old))
        before = path.read_bytes()
        read_survey(path)
        assert path.read_bytes() == before, path.name
        assert path.stat().st_mtime == old, path.name


def test_read_only_files_can_be_read(tmp_path: Path) -> None:
    """It reads files whose permissions forbid writing."""
    for path in _every_format(tmp_path):
        path.chmod(0o444)
        frame, _ = read_survey(path)
        assert len(frame) > 0
