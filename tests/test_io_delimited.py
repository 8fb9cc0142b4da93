"""perception.io on CSV exports: encodings, delimiters, KoBoToolbox CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from perception.io import read_survey
from perception.io.delimited import sniff_delimiter

ROWS = [
    ["id", "region", "commentaire", "q1", "date_entretien"],
    ["1", "Île-de-France", "Très satisfait; « bien »", "4", "2025-03-03"],
    ["2", "Provence-Alpes-Côte d'Azur", "Pas d'opinion", "98", "2025-03-04"],
    ["3", "Hauts-de-France", "", "NA", "2025-03-05"],
]


def _csv_text(delimiter: str) -> str:
    """Render ROWS as CSV text, quoting fields that contain the delimiter."""
    lines = []
    for row in ROWS:
        fields = [f'"{field}"' if delimiter in field else field for field in row]
        lines.append(delimiter.join(fields))
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize(
    ("encoding", "reported"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252")]
)
def test_encodings_and_delimiters(
    tmp_path: Path, delimiter: str, encoding: str, reported: str
) -> None:
    """It detects UTF-8 with or without BOM and Windows-1252, and the , ; or tab delimiter."""
    path = tmp_path / "wave.csv"
    path.write_bytes(_csv_text(delimiter).encode(encoding))
    frame, meta = read_survey(path)
    assert meta.format == "csv"
    assert meta.encoding == reported
    assert frame.columns.tolist() == ROWS[0]
    assert frame["region"].tolist() == [row[1] for row in ROWS[1:]]
    assert frame["commentaire"].iloc[0] == "Très satisfait; « bien »"
    assert frame["id"].tolist() == [1, 2, 3]
    assert meta.n_rows == 3


def test_only_empty_cells_are_missing(tmp_path: Path) -> None:
    """It keeps "NA" as text and reads empty cells as missing."""
    path = tmp_path / "wave.csv"
    path.write_text(_csv_text(","), encoding="utf-8")
    frame, _ = read_survey(path)
    assert frame["q1"].tolist() == ["4", "98", "NA"]
    assert pd.isna(frame["commentaire"].iloc[2])


def test_iso_dates_become_datetime64(tmp_path: Path) -> None:
    """It turns a column of ISO dates into datetime64 and types it as a date."""
    path = tmp_path / "wave.csv"
    path.write_text(_csv_text(";"), encoding="utf-8")
    frame, meta = read_survey(path)
    assert pd.api.types.is_datetime64_dtype(frame["date_entretien"])
    assert frame["date_entretien"].iloc[1] == pd.Timestamp("2025-03-04")
    assert meta.variable_types["date_entretien"] == "date"
    assert meta.variable_types["id"] == "numeric"
    assert meta.variable_types["region"] == "string"


def test_impossible_dates_stay_text(tmp_path: Path) -> None:
    """It leaves a column that only looks like dates as text when a date does not exist."""
    path = tmp_path / "wave.csv"
    path.write_text("id,visite\n1,2025-02-28\n2,2025-02-30\n", encoding="utf-8")
    frame, meta = read_survey(path)
    assert frame["visite"].tolist() == ["2025-02-28", "2025-02-30"]
    assert meta.variable_types["visite"] == "string"


def test_encoding_can_be_forced(tmp_path: Path) -> None:
    """It decodes with the encoding the caller names instead of the detected one."""
    path = tmp_path / "wave.csv"
    path.write_bytes("id,nom\n1,Сергей\n".encode("cp1251"))
    frame, meta = read_survey(path, encoding="cp1251")
    assert frame["nom"].tolist() == ["Сергей"]
    assert meta.encoding == "cp1251"


def test_delimiter_ignores_quoted_commas() -> None:
    """It picks ; when commas only occur inside quoted fields or decimal numbers."""
    text = 'a;b;c\n"x, y";1,5;2\n"z";3,25;4\n'
    assert sniff_delimiter(text) == ";"
    assert sniff_delimiter("a\tb\n1\t2\n") == "\t"
    assert sniff_delimiter("seule_colonne\n1\n2\n") == ","


def test_kobo_csv_export_is_normalised(tmp_path: Path) -> None:
    """It applies the KoBoToolbox layout rules to a ;-separated KoBoToolbox CSV export."""
    path = tmp_path / "kobo.csv"
    path.write_text(
        "start;grp_demo/sexe;grp_media/sources;grp_media/sources/radio;grp_media/sources/tele;"
        "_uuid;_submission_time;_index\n"
        "2025-03-03T09:00:00+01:00;femme;radio tele;1;1;u1;2025-03-03T10:00:00;1\n"
        "2025-03-03T09:30:00+01:00;homme;;;;u2;2025-03-03T10:30:00;2\n",
        encoding="utf-8",
    )
    frame, meta = read_survey(path)
    assert meta.format == "csv"
    assert frame.columns.tolist() == [
        "start",
        "sexe",
        "sources/radio",
        "sources/tele",
        "_uuid",
        "_submission_time",
        "_index",
    ]
    assert meta.multiple_response == {"sources": ["radio", "tele"]}
    assert frame["sources/tele"].tolist() == [1, pd.NA]
    assert meta.column_groups["sexe"] == "grp_demo/sexe"


def test_plain_csv_keeps_slashes_in_names(tmp_path: Path) -> None:
    """It leaves the headers of a CSV that is not a KoBoToolbox export untouched."""
    path = tmp_path / "plain.csv"
    path.write_text("revenu/mois,dépenses/mois\n100,80\n", encoding="utf-8")
    frame, meta = read_survey(path)
    assert frame.columns.tolist() == ["revenu/mois", "dépenses/mois"]
    assert meta.column_groups == {}
