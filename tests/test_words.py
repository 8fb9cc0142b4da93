"""perception.words: the one source of every translation and of number and date formatting."""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
import string
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
import yaml
from demo_project import HIDDEN, DemoRun, build_page, hide_region, with_small_areas

from perception.exports.writer import WORKBOOKS
from perception.status import STATUSES
from perception.words import (
    LANGS,
    MINUS,
    MONTHS,
    NNBSP,
    capital,
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
    """It writes gaps in signed pts, means with two decimals, and never "-0.0"."""
    assert format_value(0.079, "percent", "en", "gap") == "+7.9\u00a0pts"
    assert format_value(-0.05, "percent", "en", "gap") == f"{MINUS}5.0\u00a0pts"
    assert format_value(-0.015, "percent", "fr", "gap") == f"{MINUS}1,5\u00a0pts"
    assert format_value(0.372, "percent", "fr") == f"37,2{NNBSP}%"
    assert format_value(2.414, "score", "en", "mean") == "2.41"
    assert format_change(-0.0004, "score", "en", "mean") == "0.00"
    assert format_change(-0.0004, "percent", "en") == "0.0\u00a0pts"
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
    same = {key for key, text in entries().items() if text["en"] == text["fr"]}
    assert same == {  # the words French shares with English
        *("nav", "pts", "score", "provenance", "long", "n_symbol", "collection"),
        *("brief.sentence_alone", "language_name.en", "language_name.fr", "not_asked_mark"),
        *("draft.rural", "draft.theme.corruption", "area_cv"),
        *("replicate.JK1", "replicate.JKn", "replicate.bootstrap"),
        *("weighting.method.poststratify", "weighting.cross"),
    }


def test_statuses_have_one_word_each() -> None:
    """A status has one word per language; badges, tallies and sentences all use it."""
    assert status_label("insufficient evidence", "fr") == "Sans preuve suffisante"
    assert status_word("achieved", "fr", 2) == "atteints"
    for status in STATUSES:
        for lang in LANGS:
            assert say(f"status.{status}", lang) == status_word(status, lang)
            assert say(f"status.{status}.definition", lang)


# --------------------------------------------------------------------------- the demo's outputs

Texts = dict[str, list[str]]
"""French texts by where they were read: ``"dashboard"``, ``"workbook"``, ``"brief"``."""

#: Keys of a Plotly figure whose strings are shown to people (the others are styles and ids).
_SHOWN = {"text", "name", "customdata", "ticktext", "hovertext", "x", "y"}
#: A French number as perception.words writes it, optionally signed and with its unit.
_NUMBER = re.compile(rf"[+{MINUS}]?\d{{1,3}}(?:{NNBSP}\d{{3}})*(?:,\d+)?(?:{NNBSP}%)?|1er")
#: What a French number must never look like: a decimal point, a hyphen for minus, "- 0,0".
_ENGLISH_NUMBER = re.compile(r"\d\.\d|(?<![\w\d])-\s?\d|\d %|\d\u00a0%")
#: French punctuation spaced as words.typeset never leaves it: a breaking or wide space.
_LOOSE_PUNCTUATION = re.compile(r"[ \u00a0][:;!?%»]|«[ \u00a0]")
_NOT_WORDS = re.compile(r"[^\W\d_]+")


def _strings(tree: Any, key: str = "") -> Iterator[str]:
    """Yield the shown strings of a figure spec (the values of the keys in ``_SHOWN``)."""
    if isinstance(tree, dict):
        for name, value in tree.items():
            yield from _strings(value, name)
    elif isinstance(tree, list):
        for value in tree:
            yield from _strings(value, key)
    elif isinstance(tree, str) and key in _SHOWN:
        yield tree


def _pieces(markup: str) -> list[str]:
    """Split a text at its HTML tags, keeping the text between them; a wrapped line is joined."""
    joined = html.unescape(markup).replace("<br>", " ")
    return [p for p in re.split(r"<[^>]+>", joined) if p.strip()]


def _dashboard(page: Path) -> list[str]:
    """Return every French text of the dashboard: interface texts, figures and their alt texts."""
    found = re.search(
        r'<script type="application/json" id="dashboard-data">(.*?)</script>',
        page.read_text(encoding="utf-8"),
    )
    assert found is not None
    data = json.loads(found.group(1))
    texts = [*data["text"]["fr"].values(), *data["alt"]["fr"].values()]
    texts += [s for spec in data["figures"]["fr"].values() for s in _strings(spec)]
    return [p for text in texts for p in _pieces(text)]


def _workbook(path: Path) -> list[str]:
    """Return every text cell and sheet name of a workbook (the weighting notes included)."""
    book = openpyxl.load_workbook(path)
    texts = list(book.sheetnames)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            texts += [cell.value for cell in row if isinstance(cell.value, str)]
    return texts


def _brief(path: Path) -> list[str]:
    """Return the paragraphs and table cells of a Word brief."""
    document = docx.Document(str(path))
    texts = [p.text for p in document.paragraphs]
    texts += [c.text for t in document.tables for row in t.rows for c in row.cells]
    return [t for t in texts if t.strip()]


def _configured(tree: Any) -> Iterator[str]:
    """Yield every string of a YAML document, keys and values (labels, questions, columns)."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield str(key)
            yield from _configured(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _configured(value)
    elif isinstance(tree, str):
        yield tree


def _configured_texts(root: Path) -> set[str]:
    """Return every string of a project's configuration files."""
    return {
        text
        for path in (root / "config").rglob("*.yaml")
        for text in _configured(yaml.safe_load(path.read_text(encoding="utf-8")))
    }


def _uncut(text: str, configured: set[str]) -> str:
    """Give a title cut to fit (``Critère 1 – Les violences…``) back its configured end."""
    head, _, stem = text.removesuffix("…").rpartition(" – ")
    if not text.endswith("…") or not stem:
        return text
    whole = [c for c in configured if c.startswith(stem)]
    return f"{head} – {whole[0]}" if whole else text


@pytest.fixture(scope="module")
def french(demo: DemoRun) -> Texts:
    """Read every French text of the demo's dashboard, French workbook and French brief."""
    configured = _configured_texts(demo.root)
    return {
        "dashboard": _dashboard(demo.dashboard),
        "workbook": [_uncut(t, configured) for t in _workbook(demo.latest / WORKBOOKS["fr"])],
        "brief": _brief(demo.latest / "brief_fr.docx"),
    }


@pytest.fixture(scope="module")
def explain(demo: DemoRun) -> re.Pattern[str]:
    """Match what words.yaml and the configuration account for, longest first."""
    configured = _configured_texts(demo.root)
    known = configured | {text.lower() for text in configured}  # "par sexe, région"
    for text in entries().values():
        pieces = [literal for literal, _, _, _ in string.Formatter().parse(text["fr"])]
        known |= {p.strip() for p in pieces} | {capital(p.strip()) for p in pieces}
    known |= set(MONTHS["fr"])
    # a fragment without a letter or digit explains nothing and would hide loose punctuation
    return re.compile(_longest_first(k for k in known if re.search(r"\w", k)))


def _longest_first(fragments: Iterable[str]) -> str:
    """Return a pattern matching, at each place, the longest fragment found there.

    A fragment starting (ending) with a letter or digit matches only where a word starts (ends).
    The fragments share one tree, one character per branch: matching is what an alternation
    of them sorted longest first matches, but that tries each of thousands of fragments at
    every character of every text (about 20 s of CPU for the dashboard's texts).
    """
    tree: dict[str, Any] = {}
    for fragment in fragments:
        node = tree
        for char in fragment:
            node = node.setdefault(char, {})
        node[""] = {}  # a fragment ends here

    def rest(node: dict[str, Any], last: str) -> str:
        """Return the pattern of what may follow ``last``: longer fragments first."""
        chain = ""  # the characters up to the next branch, without a group (or recursion) each
        while len(node) == 1 and "" not in node:
            ((last, node),) = node.items()
            chain += re.escape(last)
        options = [re.escape(c) + rest(child, c) for c, child in node.items() if c]
        if "" in node:
            options.append("(?!\\w)" if last.isalnum() else "")
        return chain + (options[0] if len(options) == 1 else f"(?:{'|'.join(options)})")

    return "|".join(
        ("(?<!\\w)" if c.isalnum() else "") + re.escape(c) + rest(child, c)
        for c, child in tree.items()
    )


def _unexplained(texts: list[str], explain: re.Pattern[str]) -> dict[str, str]:
    """Return each text with words that neither words.yaml nor the configuration account for."""
    out = {}
    for text in texts:
        rest = _NUMBER.sub(" ", explain.sub(" ", text))
        letters = " ".join(_NOT_WORDS.findall(rest))
        if letters:
            out[text] = letters
    return out


@pytest.mark.parametrize("output", ["dashboard", "workbook", "brief"])
def test_every_french_text_comes_from_words(
    output: str, french: Texts, explain: re.Pattern[str]
) -> None:
    """Every French word the output shows is a words.yaml entry, configuration or a number."""
    assert len(french[output]) > 50  # the output was read
    _assert_from_words(french[output], explain)


def _assert_from_words(texts: list[str], explain: re.Pattern[str]) -> None:
    """Assert that words.yaml explains every text, its numbers and its punctuation."""
    distinct = list(dict.fromkeys(texts))  # each distinct text once (the checks are per text)
    assert not _unexplained(distinct, explain)
    masked = {t: explain.sub("|", t) for t in distinct}
    assert not {t for t, m in masked.items() if _ENGLISH_NUMBER.search(m)}  # English numbers
    assert not {t for t, m in masked.items() if _LOOSE_PUNCTUATION.search(m)}  # loose punctuation


def test_model_based_map_french_comes_from_words(
    demo: DemoRun, explain: re.Pattern[str], tmp_path: Path
) -> None:
    """The model-based map, its selector and the method's description speak words.yaml French."""
    tables = with_small_areas(hide_region(demo.tables(), *HIDDEN), tmp_path)
    page = build_page(tables, tmp_path / "areas.html", lang="fr")
    texts = _dashboard(page)
    assert any("fondées sur un modèle" in t for t in texts)
    _assert_from_words(texts, explain)


def test_the_check_finds_a_stray_french_text(explain: re.Pattern[str]) -> None:
    """A French word written outside words.yaml is reported, with what is left of it."""
    shown = say("findings", "fr")
    assert not _unexplained([shown, "45,2\u202f%", f"{MINUS}3,1"], explain)
    assert _unexplained([shown + " (données provisoires)"], explain) == {
        shown + " (données provisoires)": "données provisoires"
    }
    assert _ENGLISH_NUMBER.search("45.2 %")
    assert _LOOSE_PUNCTUATION.search(explain.sub("|", "Graphique : Sexe"))
    assert not _LOOSE_PUNCTUATION.search(
        explain.sub("|", say("labelled", "fr", label="a", text="b"))
    )


def test_numbers_agree_across_dashboard_workbook_and_brief(demo: DemoRun, french: Texts) -> None:
    """The latest national value of each indicator is written the same way in every output."""
    status = demo.tables()["benchmark_status"]
    book = openpyxl.load_workbook(demo.latest / WORKBOOKS["fr"])
    reasons = {row[-1].value for row in book[say("status", "fr")].iter_rows() if row[-1].value}
    brief = "\n".join(french["brief"])
    dashboard = "\n".join(french["dashboard"])
    quoted = 0
    for row in status.itertuples():
        assert row.reason_fr in reasons  # the workbook and the status table say the same
        if not math.isfinite(row.estimate):
            continue
        # the number as every output writes it, with its one unit word (pts, %)
        value = format_value(row.estimate, row.unit, "fr", row.type)
        assert value in dashboard, (row.indicator, value)
        assert value in brief, (row.indicator, value)
        quoted += value in row.reason_fr
    assert quoted  # some reasons quote the latest value, in the same words


_OTHER_UNIT = re.compile(
    r"\d[\u00a0\u202f ]?(?:pp|points?|percentage points?|points? de pourcentage)(?!\w)"
)


def test_one_unit_word_for_differences_of_percentages(demo: DemoRun, french: Texts) -> None:
    """Every output writes a difference of percentages with pts, never pp or points."""
    for output, texts in french.items():
        assert not [t for t in texts if _OTHER_UNIT.search(t)], output
    for name in WORKBOOKS.values():
        book = openpyxl.load_workbook(demo.latest / name)
        formats = {c.number_format for s in book.worksheets for r in s.iter_rows() for c in r}
        assert {f for f in formats if "pp" in f or "point" in f} == set()
        assert f'"±"0.0" {say("pts", "fr")}"' in formats  # the margin of error: ±2.3 pts
    assert margin(0.0232, "en") == "±2.3\u00a0pts"
