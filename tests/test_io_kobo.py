"""perception.io on KoBoToolbox Excel exports: both header styles, every select_multiple layout."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
import pandas.testing as pdt
import pytest

from perception.errors import ReadError
from perception.io import read_survey

FIXTURES = Path(__file__).parent / "fixtures" / "io"

Headers = Literal["xml", "labels"]
Layout = Literal["single", "split", "both"]

# One select_multiple question; options in the form's order, which is also their sorted order.
OPTIONS = ["journal", "radio", "tele", "whatsapp"]
OPTION_LABELS = ["Journal", "Radio", "Télévision", "WhatsApp"]
CHOICES = ["radio whatsapp", "tele", None, "journal radio tele whatsapp", "radio", "whatsapp tele"]
N = len(CHOICES)


def _sources(headers: Headers, layout: Layout) -> dict[str, list[object]]:
    """Return the select_multiple columns of the export in the requested layout."""
    question = "grp_media/sources_info" if headers == "xml" else "Médias/Sources d'information"
    names = OPTIONS if headers == "xml" else OPTION_LABELS
    columns: dict[str, list[object]] = {}
    if layout in ("single", "both"):
        columns[question] = list(CHOICES)
    if layout in ("split", "both"):
        for option, name in zip(OPTIONS, names, strict=True):
            columns[f"{question}/{name}"] = [
                None if choice is None else int(option in choice.split()) for choice in CHOICES
            ]
    return columns


def _kobo_frame(headers: Headers, layout: Layout) -> pd.DataFrame:
    """Build a KoBoToolbox-style export with groups, metadata columns and one select_multiple."""
    xml = headers == "xml"
    columns: dict[str, list[object]] = {
        "start": [f"2025-03-0{i + 3}T09:1{i}:00.000+01:00" for i in range(N)],
        "end": [f"2025-03-0{i + 3}T09:4{i}:30.000+01:00" for i in range(N)],
        "today": [f"2025-03-0{i + 3}" for i in range(N)],
        ("grp_demo/sexe" if xml else "Démographie/Sexe du répondant"): (
            ["homme", "femme"] * 3 if xml else ["Homme", "Femme"] * 3
        ),
        ("grp_demo/age" if xml else "Démographie/Âge"): [34, 19, 52, 41, 23, 67],
        **_sources(headers, layout),
        ("grp_opinion/confiance" if xml else "Opinion/Confiance dans la mission"): [
            1,
            4,
            2,
            None,
            3,
            98,
        ],
        ("grp_opinion/commentaire" if xml else "Opinion/Commentaire"): [
            "Très bien, merci",
            None,
            "Ça dépend des jours",
            "RAS",
            None,
            "La sécurité s'est améliorée",
        ],
        "_id": list(range(501, 501 + N)),
        "_uuid": [f"6c1f0d3e-aaaa-4bbb-8ccc-00000000000{i}" for i in range(N)],
        "_submission_time": [f"2025-03-0{i + 3}T10:00:0{i}" for i in range(N)],
        "_validation_status": [None] * N,
        "__version__": ["vAbCdEf"] * N,
        "_index": list(range(1, N + 1)),
    }
    return pd.DataFrame(columns)


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "export.xlsx") -> Path:
    """Write a frame as an .xlsx export with openpyxl."""
    path = tmp_path / name
    frame.to_excel(path, index=False, engine="openpyxl")
    return path


def _expected_options(option: str) -> list[object]:
    """Return the 0/1/<NA> values the option column must hold, from the submitted choices."""
    return [pd.NA if choice is None else int(option in choice.split()) for choice in CHOICES]


@pytest.mark.parametrize("layout", ["single", "split", "both"])
def test_xml_headers_every_layout(tmp_path: Path, layout: Layout) -> None:
    """It returns one 0/1 column per option, <NA> when not asked, whatever the layout."""
    frame, meta = read_survey(_write(tmp_path, _kobo_frame("xml", layout)))
    assert meta.format == "kobo-xlsx"
    assert meta.multiple_response == {"sources_info": OPTIONS}
    for option in OPTIONS:
        column = frame[f"sources_info/{option}"]
        assert str(column.dtype) == "Int64"
        assert column.tolist() == _expected_options(option)
    assert "sources_info" not in frame.columns
    assert meta.column_groups["sources_info/radio"] == "grp_media/sources_info/radio"


def test_xml_layouts_give_identical_frames(tmp_path: Path) -> None:
    """It reads the single-column, split and combined layouts into the same frame."""
    frames = {}
    for layout in ("single", "split", "both"):
        frames[layout], _ = read_survey(
            _write(tmp_path, _kobo_frame("xml", layout), f"{layout}.xlsx")
        )
    pdt.assert_frame_equal(frames["single"], frames["split"])
    pdt.assert_frame_equal(frames["both"], frames["split"])


def test_xml_headers_drop_the_group_path(tmp_path: Path) -> None:
    """It names columns without their group and keeps the full path in column_groups."""
    frame, meta = read_survey(_write(tmp_path, _kobo_frame("xml", "split")))
    assert frame.columns[:5].tolist() == ["start", "end", "today", "sexe", "age"]
    assert meta.column_groups["sexe"] == "grp_demo/sexe"
    assert meta.column_groups["commentaire"] == "grp_opinion/commentaire"
    assert "start" not in meta.column_groups
    assert frame["sexe"].tolist() == ["homme", "femme"] * 3
    assert meta.column_names == frame.columns.tolist()


def test_kobo_metadata_columns_are_kept(tmp_path: Path) -> None:
    """It keeps _id, _uuid, _submission_time, _index and __version__, with typed dates."""
    frame, meta = read_survey(_write(tmp_path, _kobo_frame("xml", "split")))
    for name in ("_id", "_uuid", "_submission_time", "_validation_status", "__version__", "_index"):
        assert name in frame.columns
    assert frame["_index"].tolist() == list(range(1, N + 1))
    assert frame["_uuid"].iloc[0] == "6c1f0d3e-aaaa-4bbb-8ccc-000000000000"
    assert frame["_submission_time"].iloc[1] == pd.Timestamp("2025-03-04 10:00:01")
    assert frame["start"].iloc[0] == pd.Timestamp("2025-03-03 08:10:00", tz="UTC")
    assert frame["today"].iloc[0] == pd.Timestamp("2025-03-03")
    assert meta.variable_types["start"] == "datetime"
    assert meta.variable_types["today"] == "date"
    assert meta.variable_types["_submission_time"] == "datetime"
    assert meta.variable_types["_uuid"] == "string"
    assert meta.variable_types["sources_info/radio"] == "numeric"


def test_text_answers_are_not_taken_for_choice_lists(tmp_path: Path) -> None:
    """It leaves free text, person names, label phrases, GPS strings and codes alone."""
    frame = _kobo_frame("xml", "split")
    frame["grp_fin/remarque"] = ["rien a signaler", "pas de probleme", None, "ras", "merci", "ok"]
    frame["grp_id/nom"] = ["Mirabeth Brindlemere", "Quorra Quill", "Amarisa Tumblewick"] * 2
    frame["grp_incl/inclusion"] = ["Pas du tout", "Un peu", "Ne sait pas", "Assez", "Un peu", None]
    frame["gps"] = ["5.354137 20.597073 601.6 11.0", "5.35754 20.597088 600.8 3.0"] * 3
    read, meta = read_survey(_write(tmp_path, frame))
    assert read["commentaire"].iloc[0] == "Très bien, merci"
    assert read["remarque"].iloc[0] == "rien a signaler"
    assert read["nom"].iloc[0] == "Mirabeth Brindlemere"
    assert read["inclusion"].iloc[2] == "Ne sait pas"
    assert read["gps"].iloc[1] == "5.35754 20.597088 600.8 3.0"
    assert read["confiance"].tolist()[:3] == [1, 4, 2]
    assert set(meta.multiple_response) == {"sources_info"}
    assert meta.warnings == []


@pytest.mark.parametrize("layout", ["split", "both"])
def test_label_headers_split_layout(tmp_path: Path, layout: Layout) -> None:
    """It keeps label headers as they appear and reads split option columns as 0/1."""
    frame, meta = read_survey(_write(tmp_path, _kobo_frame("labels", layout)))
    question = "Médias/Sources d'information"
    assert meta.multiple_response == {question: OPTION_LABELS}
    for option, label in zip(OPTIONS, OPTION_LABELS, strict=True):
        assert frame[f"{question}/{label}"].tolist() == _expected_options(option)
    assert question not in frame.columns
    assert "Démographie/Sexe du répondant" in frame.columns
    assert meta.column_groups == {}


def test_label_headers_single_column_of_codes(tmp_path: Path) -> None:
    """It splits a space-separated column of choice codes under a label header."""
    frame, meta = read_survey(_write(tmp_path, _kobo_frame("labels", "single")))
    question = "Médias/Sources d'information"
    assert meta.multiple_response == {question: OPTIONS}
    for option in OPTIONS:
        assert frame[f"{question}/{option}"].tolist() == _expected_options(option)
    assert any("select_multiple" in warning for warning in meta.warnings)


def test_label_valued_choice_list_stays_text(tmp_path: Path) -> None:
    """It leaves a choice list written with accented multi-word labels as text, unsplit."""
    frame = _kobo_frame("labels", "single")
    question = "Médias/Sources d'information"
    frame[question] = ["Radio Télévision", "Bouche à oreille", None, "Radio", "Télévision", "Radio"]
    read, meta = read_survey(_write(tmp_path, frame))
    assert read[question].tolist()[:2] == ["Radio Télévision", "Bouche à oreille"]
    assert meta.multiple_response == {}


def test_select_multiple_named_when_nobody_chose_two(tmp_path: Path) -> None:
    """It splits a question named in select_multiple even if no answer holds two choices."""
    frame = _kobo_frame("xml", "single")
    frame["grp_media/sources_info"] = ["radio", "tele", None, "radio", "journal", "tele"]
    path = _write(tmp_path, frame)
    guessed, guessed_meta = read_survey(path)
    assert guessed_meta.multiple_response == {}
    assert guessed["sources_info"].tolist()[:2] == ["radio", "tele"]
    named, named_meta = read_survey(path, select_multiple=["sources_info"])
    assert named_meta.multiple_response == {"sources_info": ["journal", "radio", "tele"]}
    assert named["sources_info/tele"].tolist() == [0, 1, pd.NA, 0, 0, 1]


def test_select_multiple_with_numeric_codes(tmp_path: Path) -> None:
    """It splits a named question whose single choices the workbook stored as numbers."""
    frame = _kobo_frame("xml", "single")
    frame["grp_media/sources_info"] = [1, 3, None, 3, 10, 1]
    named, meta = read_survey(_write(tmp_path, frame), select_multiple=["sources_info"])
    assert meta.multiple_response == {"sources_info": ["1", "3", "10"]}
    assert named["sources_info/1"].tolist() == [1, 0, pd.NA, 0, 0, 1]
    assert named["sources_info/10"].tolist() == [0, 0, pd.NA, 0, 1, 0]


def test_question_never_asked_keeps_its_layout(tmp_path: Path) -> None:
    """It recognises split columns that are all blank when the combined column is there too."""
    frame = _kobo_frame("xml", "both")
    for column in [c for c in frame.columns if c.startswith("grp_media/sources_info")]:
        frame[column] = None
    read, meta = read_survey(_write(tmp_path, frame))
    assert meta.multiple_response == {"sources_info": OPTIONS}
    assert read["sources_info/radio"].isna().all()


def test_select_multiple_can_exclude_a_group_of_zero_one_questions(tmp_path: Path) -> None:
    """It lets the caller say that a group of 0/1 questions is not a select_multiple."""
    frame = _kobo_frame("xml", "split")
    frame["grp_biens/radio"] = [1, 0, 1, 1, 0, 0]
    frame["grp_biens/telephone"] = [1, 1, 1, 0, 0, 1]
    path = _write(tmp_path, frame)
    _, guessed = read_survey(path)
    assert guessed.multiple_response["grp_biens"] == ["radio", "telephone"]
    named, named_meta = read_survey(path, select_multiple=["grp_media/sources_info"])
    assert set(named_meta.multiple_response) == {"sources_info"}
    assert named["telephone"].tolist() == [1, 1, 1, 0, 0, 1]
    assert named_meta.column_groups["telephone"] == "grp_biens/telephone"


def test_select_multiple_naming_an_unknown_question(tmp_path: Path) -> None:
    """It rejects a select_multiple name that is not a question of the file."""
    path = _write(tmp_path, _kobo_frame("xml", "split"))
    with pytest.raises(ReadError) as caught:
        read_survey(path, select_multiple=["sources_infos"])
    assert "sources_infos" in caught.value.found
    assert caught.value.file == str(path)


def test_select_multiple_naming_a_group(tmp_path: Path) -> None:
    """It rejects a select_multiple name that is a group of ordinary questions."""
    path = _write(tmp_path, _kobo_frame("xml", "split"))
    with pytest.raises(ReadError) as caught:
        read_survey(path, select_multiple=["grp_demo"])
    assert caught.value.column == "grp_demo"
    assert "grp_demo/sexe" in caught.value.found


def test_same_question_name_in_two_groups(tmp_path: Path) -> None:
    """It keeps the full path of question names that two groups share, and says so."""
    frame = _kobo_frame("xml", "split")
    frame["grp_menage/age"] = [40, 51, 33, 29, 70, 45]
    read, meta = read_survey(_write(tmp_path, frame))
    assert {"grp_demo/age", "grp_menage/age"} <= set(read.columns)
    assert "age" not in read.columns
    assert any("age" in warning for warning in meta.warnings)


def test_other_sheets_are_reported(tmp_path: Path) -> None:
    """It reads the first sheet and names the repeat-group sheets it left out."""
    path = tmp_path / "repeats.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _kobo_frame("xml", "split").to_excel(writer, sheet_name="enquete", index=False)
        pd.DataFrame({"membre": ["a"], "_parent_index": [1]}).to_excel(
            writer, sheet_name="menage", index=False
        )
    frame, meta = read_survey(path)
    assert len(frame) == N
    assert meta.warnings == ["only the first sheet 'enquete' was read; ignored sheets: menage"]


def test_numeric_header_cells_become_text(tmp_path: Path) -> None:
    """It names a column by the text of a header cell that holds a number."""
    path = tmp_path / "years.xlsx"
    pd.DataFrame({2024: [1, 2], "_uuid": ["u1", "u2"]}).to_excel(path, index=False)
    frame, meta = read_survey(path)
    assert frame.columns.tolist() == ["2024", "_uuid"]
    assert meta.variable_types["2024"] == "numeric"


def test_legacy_xls_export() -> None:
    """It reads a legacy .xls KoBoToolbox export (combined layout, groups, dates)."""
    frame, meta = read_survey(FIXTURES / "kobo_export.xls")
    assert meta.format == "xls"
    assert meta.multiple_response == {"sources_info": ["radio", "tele", "whatsapp"]}
    assert frame["sources_info/whatsapp"].tolist() == [1, 0, pd.NA, 1]
    assert frame["sexe"].tolist() == ["homme", "femme", "femme", "homme"]
    assert frame["commentaire"].tolist()[2] == "Ça dépend"
    assert meta.column_groups["age"] == "grp_demo/age"
    assert meta.variable_types["today"] == "date"
    assert frame["_index"].tolist() == [1, 2, 3, 4]
