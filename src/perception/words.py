"""Every word the outputs show, in English and French, and the rules for writing numbers and dates.

The words are in ``words.yaml`` beside this module, one entry per key with its ``en`` and
``fr`` text (a Python format string when it has ``{fields}``); :func:`say` reads them. Data
labels (indicators, benchmarks, groups, waves, the survey's title) come from the configuration,
not from here. French is typeset when the file is read: a plain space before ``: ; ! ? %`` and
``»`` and after ``«`` becomes a narrow no-break space (U+202F), so ``words.yaml`` stays
readable and every French output spaces its punctuation the same way.

Numbers: ``1,234.5``, ``45.2%``, ``−3.1`` in English; ``1 234,5``, ``45,2 %``, ``−3,1`` in
French (U+202F between thousands and before ``%``, U+2212 for minus in both); a value that
rounds to zero is never written ``-0.0``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Mapping
from importlib.resources import files
from typing import Any, Literal, Protocol

import yaml

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")

NBSP = "\u00a0"
"""No-break space: between a number and its unit word (``+2.1 pts``)."""
NNBSP = "\u202f"
"""Narrow no-break space: French thousands separator and the space before ``%``, ``:``, ``;``."""
MINUS = "\u2212"
FLAG_MARK = "†"
"""Appended to a flagged value (few respondents: interpret with caution)."""

_FRENCH_SPACES = re.compile(r"[ \u00a0]([:;!?%»])|(«)[ \u00a0]")
_BREAKABLE = re.compile(r"[ \t\r\n]+")
_MONTHS = "months"
_PLOTLY = "plotly_fr"


def typeset(text: str, lang: Lang) -> str:
    """Space French punctuation with narrow no-break spaces (``« a » : 5 %``); English as is."""
    if lang == "en":
        return text
    return _FRENCH_SPACES.sub(lambda m: f"{NNBSP}{m[1]}" if m[1] else f"{m[2]}{NNBSP}", text)


@functools.cache
def _document() -> dict[str, Any]:
    """Read ``words.yaml`` once."""
    loaded: dict[str, Any] = yaml.safe_load(
        files("perception").joinpath("words.yaml").read_text(encoding="utf-8")
    )
    return loaded


@functools.cache
def entries() -> dict[str, dict[Lang, str]]:
    """Return every text entry, key → ``{"en": …, "fr": …}``, French typeset."""
    return {
        str(key): {lang: typeset(str(value[lang]), lang) for lang in LANGS}
        for key, value in _document().items()
        if key not in (_MONTHS, _PLOTLY)
    }


def say(key: str, lang: Lang, /, **fields: object) -> str:
    """Return the text of ``key`` in ``lang``, its ``{fields}`` filled from ``fields``."""
    text = entries()[key][lang]
    return text.format(**fields) if fields else text


class Bilingual(Protocol):
    """A text in both languages, such as a configuration label."""

    @property
    def en(self) -> str: ...  # noqa: D102
    @property
    def fr(self) -> str: ...  # noqa: D102


def pick(text: Bilingual, lang: Lang) -> str:
    """Return the text of a bilingual label in ``lang``."""
    return text.en if lang == "en" else text.fr


def has(key: str) -> bool:
    """Tell whether ``words.yaml`` has an entry ``key``."""
    return key in entries()


def breakable_words(text: str) -> list[str]:
    """Split a text at its breakable spaces only: ``"45,2 %"`` (U+202F) stays one word."""
    return [word for word in _BREAKABLE.split(text) if word]


def capital(text: str) -> str:
    """Return a text with its first letter capitalised."""
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- statuses


def status_word(status: str, lang: Lang, count: int = 1) -> str:
    """Return a status's word as a sentence or tally uses it: ``"off track"``, ``"atteints"``."""
    return say(f"status.{status}" + ("" if count == 1 else ".plural"), lang)


def status_label(status: str, lang: Lang) -> str:
    """Return a status as a badge or column shows it: ``"Off track"``, ``"Sans cible (suivi)"``."""
    return capital(status_word(status, lang))


def status_definition(status: str, lang: Lang) -> str:
    """Return what a status means, in one sentence without its capital."""
    return say(f"status.{status}.definition", lang)


# --------------------------------------------------------------------------- numbers


def number(value: float, decimals: int, lang: Lang, *, signed: bool = False) -> str:
    """Write a number with the language's decimal mark, thousands separator and minus sign."""
    if not math.isfinite(value):
        raise ValueError(f"cannot format {value!r}")
    rounded = round(value, decimals) + 0.0  # "+ 0.0" turns -0.0 into 0.0
    text = f"{abs(rounded):,.{decimals}f}"
    if lang == "fr":
        text = text.replace(",", NNBSP).replace(".", ",")
    sign = MINUS if rounded < 0 else ("+" if signed and rounded > 0 else "")
    return sign + text


def percent_sign(lang: Lang) -> str:
    """Return the percent suffix: ``%`` in English, a narrow no-break space and ``%`` in French."""
    return "%" if lang == "en" else f"{NNBSP}%"


def percent(value: float, decimals: int, lang: Lang) -> str:
    """Write a percentage already on the 0-100 scale: ``45.2%`` / ``45,2 %``."""
    return number(value, decimals, lang) + percent_sign(lang)


def points(lang: Lang) -> str:
    """Return the unit written after a difference of percentages: ``pts`` (``words.yaml``)."""
    return say("pts", lang)


def margin(fraction: float, lang: Lang) -> str:
    """Write a margin of error (a fraction) in points: ``±2.3 pts`` / ``± 2,3 pts``."""
    space = "" if lang == "en" else NNBSP
    return f"±{space}{number(100 * fraction, 1, lang)}{NBSP}{points(lang)}"


def interval(low: str, high: str, lang: Lang) -> str:
    """Write a confidence interval from two formatted bounds: ``[1.0, 2.0]`` / ``[1,0 ; 2,0]``."""
    return say("interval_brackets", lang, low=low, high=high)


def value_decimals(unit: str, kind: str) -> int:
    """Return the decimals of an indicator: 2 for short scales (means and their gaps), else 1."""
    return 2 if unit != "percent" and kind in ("mean", "gap") else 1


def format_value(
    value: float, unit: str, lang: Lang, kind: str = "proportion", decimals: int | None = None
) -> str:
    """Format a level in its unit: ``"37.2%"``, ``"+7.9 pts"`` for gaps, ``"2.41"`` for means.

    ``kind`` is the indicator's type: percentages of a ``proportion`` carry ``%``; net scores
    and gaps in percent units are differences of percentages, in signed points.
    """
    if not math.isfinite(value):
        return say("not_available_short", lang)
    decimals = value_decimals(unit, kind) if decimals is None else decimals
    if unit != "percent":
        return number(value, decimals, lang, signed=kind == "gap")
    if kind in ("net", "gap"):
        return _with_points(100 * value, decimals, lang)
    return percent(100 * value, decimals, lang)


def format_change(value: float, unit: str, lang: Lang, kind: str = "proportion") -> str:
    """Format a change: ``"+2.1 pts"`` / ``"+2,1 pts"`` in percent units, else ``"+0.12"``."""
    if not math.isfinite(value):
        return say("not_available_short", lang)
    decimals = value_decimals(unit, kind)
    if unit == "percent":
        return _with_points(100 * value, decimals, lang)
    return number(value, decimals, lang, signed=True)


def _with_points(value: float, decimals: int, lang: Lang) -> str:
    """Write a signed difference of percentages with its unit: ``+2.1 pts``."""
    return f"{number(value, decimals, lang, signed=True)}{NBSP}{points(lang)}"


def format_interval(
    low: float, high: float, unit: str, lang: Lang, level: float, kind: str = "proportion"
) -> str:
    """Format an interval of a change: ``"95% CI +0.3 to +3.9"`` / ``"IC à 95 % +0,3 à +3,9"``."""
    scale = 100.0 if unit == "percent" else 1.0
    decimals = value_decimals(unit, kind)
    ends = [
        number(scale * x, decimals, lang, signed=True)
        if math.isfinite(x)
        else say("not_available_short", lang)
        for x in (low, high)
    ]
    return say("ci_range", lang, level=_level(level, lang), low=ends[0], high=ends[1])


def level_interval(
    low: float, high: float, unit: str, lang: Lang, level: float, kind: str = "proportion"
) -> str:
    """Format the interval of a level: ``"95% CI 35.1% to 39.0%"``."""
    ends = [format_value(x, unit, lang, kind) for x in (low, high)]
    return say("ci_range", lang, level=_level(level, lang), low=ends[0], high=ends[1])


def _level(level: float, lang: Lang) -> str:
    """Write a confidence level as a percentage: ``95%`` / ``95 %`` (``99.5%`` when needed)."""
    pct = 100 * level
    return percent(pct, 0 if pct.is_integer() else 1, lang)


# --------------------------------------------------------------------------- dates


MONTHS: Mapping[Lang, tuple[str, ...]] = {lang: tuple(_document()[_MONTHS][lang]) for lang in LANGS}
"""Month names by language, the one source for every date written for people."""


def format_date(value: dt.date, lang: Lang) -> str:
    """Write a date for people: ``"30 June 2027"`` / ``"30 juin 2027"`` (``"1er"`` in French)."""
    day = "1er" if lang == "fr" and value.day == 1 else str(value.day)
    return f"{day} {MONTHS[lang][value.month - 1]} {value.year}"


def month_year(value: dt.date, lang: Lang) -> str:
    """Write a month as a report dates it: ``August 2026``, ``août 2026``."""
    return f"{MONTHS[lang][value.month - 1]} {value.year}"


def format_moment(moment: dt.datetime, lang: Lang) -> str:
    """Write a date and time: ``2 September 2026, 14:30`` / ``2 septembre 2026 à 14 h 30``."""
    return say(
        "moment",
        lang,
        day=format_date(moment.date(), lang),
        hour=f"{moment.hour:02d}" if lang == "en" else str(moment.hour),
        minute=f"{moment.minute:02d}",
    )


def plotly_locale() -> dict[str, Any]:
    """Return Plotly's French locale (toolbar tooltips, dates and numbers)."""
    locale = dict(_document()[_PLOTLY])
    return {
        "moduleType": "locale",
        "name": "fr",
        "dictionary": dict(locale["dictionary"]),
        "format": {
            **locale["format"],
            "months": list(MONTHS["fr"]),
            "decimal": ",",
            "thousands": NNBSP,
        },
    }
