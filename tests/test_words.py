"""perception.words: the one source of every translation and of number and date formatting."""

from __future__ import annotations

import datetime as dt
import string

import pytest

from perception.status import STATUSES
from perception.words import (
    LANGS,
    MINUS,
    NNBSP,
    entries,
    format_change,
    format_date,
    format_interval,
    format_moment,
    format_value,
    margin,
    month_year,
    number,
    percent,
    say,
    status_label,
    status_word,
    typeset,
)


def test_values_are_written_in_their_own_unit() -> None:
    """It writes gaps in signed points, means with two decimals, and never "-0.0"."""
    assert format_value(0.079, "percent", "en", "gap") == "+7.9\u00a0points"
    assert format_value(-0.05, "percent", "en", "gap") == f"{MINUS}5.0\u00a0points"
    assert format_value(-0.015, "percent", "fr", "gap") == f"{MINUS}1,5\u00a0point"
    assert format_value(0.372, "percent", "fr") == f"37,2{NNBSP}%"
    assert format_value(2.414, "score", "en", "mean") == "2.41"
    assert format_change(-0.0004, "score", "en", "mean") == "0.00"
    assert format_change(-0.0004, "percent", "en") == "0.0\u00a0points"
    assert format_interval(-0.0004, 0.12, "score", "en", 0.95, "mean") == "95% CI 0.00 to +0.12"
    assert format_value(float("nan"), "percent", "fr") == "n.d."


@pytest.mark.parametrize(
    ("value", "decimals", "lang", "signed", "expected"),
    [
        (1234.56, 1, "en", False, "1,234.6"),
        (1234.56, 1, "fr", False, f"1{NNBSP}234,6"),
        (-1234567.0, 0, "fr", False, f"{MINUS}1{NNBSP}234{NNBSP}567"),
        (-0.04, 1, "en", False, "0.0"),
        (-0.04, 1, "fr", True, "0,0"),
        (-3.25, 1, "fr", True, f"{MINUS}3,2"),
        (3.0, 0, "en", True, "+3"),
    ],
)
def test_numbers_follow_each_language(
    value: float, decimals: int, lang: str, signed: bool, expected: str
) -> None:
    """It writes decimal marks, thousands, the minus sign and zero the language's way."""
    assert number(value, decimals, lang, signed=signed) == expected  # type: ignore[arg-type]


def test_percentages_margins_dates() -> None:
    """It writes %, ± margins and dates in each language's own conventions."""
    assert percent(45.25, 1, "en") == "45.2%"
    assert percent(45.25, 1, "fr") == f"45,2{NNBSP}%"
    assert margin(0.0234, "en") == "±2.3\u00a0pts"
    assert margin(0.0234, "fr") == f"±{NNBSP}2,3\u00a0pts"
    assert format_date(dt.date(2026, 1, 1), "fr") == "1er janvier 2026"
    assert format_date(dt.date(2027, 6, 30), "en") == "30 June 2027"
    assert month_year(dt.date(2026, 8, 3), "fr") == "août 2026"
    moment = dt.datetime(2026, 9, 2, 9, 5)
    assert format_moment(moment, "en") == "2 September 2026, 09:05"
    assert format_moment(moment, "fr") == "2 septembre 2026 à 9 h 05"
    with pytest.raises(ValueError, match="cannot format"):
        number(float("inf"), 1, "en")


def test_french_punctuation_is_spaced_with_narrow_no_break_spaces() -> None:
    """Every French entry spaces « » : ; ! ? % with U+202F; English is left as written."""
    assert typeset("« a » : b ; 5 %", "fr") == f"«{NNBSP}a{NNBSP}»{NNBSP}: b{NNBSP}; 5{NNBSP}%"
    assert typeset("a : b", "en") == "a : b"
    for key, text in entries().items():
        french = text["fr"]
        for mark in ":;!?%»":
            assert f" {mark}" not in french and f"\u00a0{mark}" not in french, key
        assert "« " not in french and "«\u00a0" not in french, key


def test_every_entry_has_both_languages_with_the_same_fields() -> None:
    """Each entry names the same {fields} in English and French, so either can be filled."""
    assert entries()
    for key, text in entries().items():
        fields = [
            {name for _, name, _, _ in string.Formatter().parse(text[lang]) if name}
            for lang in LANGS
        ]
        assert fields[0] == fields[1], key
        assert text["en"] and text["fr"], key


def test_statuses_have_one_word_each() -> None:
    """A status has one word per language; badges, tallies and sentences all use it."""
    assert status_label("insufficient evidence", "fr") == "Sans preuve suffisante"
    assert status_word("achieved", "fr", 2) == "atteints"
    for status in STATUSES:
        for lang in LANGS:
            assert say(f"status.{status}", lang) == status_word(status, lang)
            assert say(f"status.{status}.definition", lang)
