"""Codebook-stub suggestions and `perception survey init` (multi-round scaffolding)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from config_samples import AFROBAROMETER

from perception.io import read_survey
from perception.scaffold import suggest_codebook

R8 = AFROBAROMETER / "tun_r8_data.sav"
R9 = AFROBAROMETER / "tun_r9_data.sav"
needs_afro = pytest.mark.skipif(
    not (R8.is_file() and R9.is_file()), reason=f"Afrobarometer fixtures absent ({AFROBAROMETER})"
)


def _suggest(path: Path) -> dict[str, object]:
    """Return the suggestions of a file by column."""
    df, meta = read_survey(path)
    return {s.name: s for s in suggest_codebook(df, meta)}


def test_spanish_and_portuguese_missing_labels(tmp_path: Path) -> None:
    """It suggests missing codes from Spanish and Portuguese labels."""
    path = tmp_path / "lapop.sav"
    df = pd.DataFrame({"q1": [1.0, 2.0, 88.0, 98.0, 99.0, 77.0, 66.0, 55.0] * 3})
    labels = {
        1: "Sí",
        2: "No",
        88: "No sabe",
        98: "No responde",
        99: "No se le preguntó",
        77: "Não sabe",
        66: "Não respondeu",
        55: "Inaplicable",
    }
    pyreadstat.write_sav(df, str(path), variable_value_labels={"q1": labels})
    missing = _suggest(path)["q1"].missing  # type: ignore[attr-defined]
    assert missing == {
        55: "missing",
        66: "refused",
        77: "dont_know",
        88: "dont_know",
        98: "refused",
        99: "missing",
    }


def test_dont_know_followed_by_more_words_is_an_answer(tmp_path: Path) -> None:
    """It keeps "Dont know how to report" as an answer but "Don't know/haven't heard" as DK."""
    path = tmp_path / "dk.sav"
    df = pd.DataFrame({"q": [1.0, 2.0, 3.0, 9.0] * 5})
    labels = {
        1: "Reported it",
        2: "Dont know how to report",
        3: "Je ne sais pas comment obtenir le vaccin",
        9: "Don't know/ Haven't heard enough",
    }
    pyreadstat.write_sav(df, str(path), variable_value_labels={"q": labels})
    assert _suggest(path)["q"].missing == {9: "dont_know"}  # type: ignore[attr-defined]


def test_upm_is_the_psu_and_interviewer_number_is_personal(tmp_path: Path) -> None:
    """It suggests `upm` as the PSU and flags interviewer numbers as personal data."""
    rng = np.random.default_rng(3)
    n = 40
    df = pd.DataFrame(
        {
            "idnum": [f"ID{i:03d}" for i in range(n)],
            "upm": np.repeat(np.arange(8.0), 5),
            "entrev": rng.choice([11.0, 12.0, 13.0], n),
            "q112": [f"INT{i % 4}" for i in range(n)],
        }
    )
    path = tmp_path / "es.sav"
    pyreadstat.write_sav(
        df,
        str(path),
        column_labels={
            "idnum": "Respondent number",
            "upm": "Unidad primaria de muestreo",
            "entrev": "Número del entrevistador",
            "q112": "Q112. Interviewer Number",
        },
    )
    got = _suggest(path)
    assert got["upm"].target == "psu"  # type: ignore[attr-defined]
    assert got["entrev"].pii_reasons and got["q112"].pii_reasons  # type: ignore[attr-defined]
    assert got["entrev"].target is None  # type: ignore[attr-defined]


def test_respondent_number_is_flagged_for_hashing(tmp_path: Path) -> None:
    """It maps a clear respondent number (TUN0001) to respondent_id with pii: true."""
    path = tmp_path / "ids.sav"
    df = pd.DataFrame({"RESPNO": [f"TUN{i:04d}" for i in range(1, 31)], "Q1": [30.0] * 30})
    pyreadstat.write_sav(df, str(path), column_labels={"RESPNO": "Respondent number"})
    got = _suggest(path)["RESPNO"]
    assert got.target == "respondent_id" and got.pii_reasons  # type: ignore[attr-defined]


def test_factor_positions_labelled_with_numbers_are_warned(tmp_path: Path) -> None:
    """It warns when Stata codes are factor positions whose labels are numbers (6 = "3")."""
    path = tmp_path / "lapop.dta"
    df = pd.DataFrame({"it1": [4.0, 5.0, 6.0, 7.0] * 5, "ok": [1.0, 2.0, 3.0, 4.0] * 5})
    labels = {
        "it1": {4: "1", 5: "2", 6: "3", 7: "4"},
        "ok": {1: "1", 2: "2", 3: "3", 4: "4"},
    }
    pyreadstat.write_dta(df, str(path), variable_value_labels=labels)
    got = _suggest(path)
    notes = " ".join(got["it1"].notes)  # type: ignore[attr-defined]
    assert "WARNING" in notes and '6 = "3"' in notes and "factor positions" in notes
    assert not any("WARNING" in n for n in got["ok"].notes)  # type: ignore[attr-defined]


def test_withinwt_is_preferred_over_withinwt_ea(tmp_path: Path) -> None:
    """It suggests Afrobarometer's analysis weight withinwt, not withinwt_ea or withinwt_hh."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame(
        {
            "withinwt_ea": rng.uniform(0.5, 2, 30),
            "withinwt": rng.uniform(0.5, 2, 30),
            "withinwt_hh": rng.uniform(0.5, 2, 30),
        }
    )
    path = tmp_path / "w.sav"
    labels = {
        "withinwt_ea": 'within country weighting factor, weights to EA level ("old AB withinwt")',
        "withinwt": "Within-country weighting factor",
        "withinwt_hh": 'within country weighting factor, weights to HH level ("new AB withinwt")',
    }
    pyreadstat.write_sav(df, str(path), column_labels=labels)
    got = _suggest(path)
    assert got["withinwt"].target == "base_weight"  # type: ignore[attr-defined]


@needs_afro
@pytest.mark.parametrize("path", [R8, R9], ids=["r8", "r9"])
def test_afrobarometer_suggestions(path: Path) -> None:
    """On R8/R9: the new weight (not withinwt_ea), hashed RESPNO, Q112 personal, DK tightened."""
    got = _suggest(path)
    assert got["withinwt_hh"].target == "base_weight"  # type: ignore[attr-defined]
    assert got["withinwt_ea"].target is None  # type: ignore[attr-defined]
    assert got["RESPNO"].target == "respondent_id" and got["RESPNO"].pii_reasons  # type: ignore[attr-defined]
    assert got["Q112"].pii_reasons  # type: ignore[attr-defined]
    for name, s in got.items():
        for code, label in s.value_labels.items():  # type: ignore[attr-defined]
            if "comment" in label or "how to" in label:
                assert code not in s.missing, (name, code, label)  # type: ignore[attr-defined]
