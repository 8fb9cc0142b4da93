"""Which words a sentence may use, decided by the statistics: the brief's rule table.

========================  ==========================================  =====================
What the tables say       Rule                                         Template
========================  ==========================================  =====================
cell suppressed           the group is too small to report; no number  ``level_suppressed``
cell not asked / no data  say so; no number                            ``level_not_asked``,
                                                                       ``level_no_data``
cell flagged              the value is quoted with "about"             ``level`` + ``about``
cell published            the value and its 95% CI                     ``level``
change suppressed         the change is too small a base to report     ``change_suppressed``
change significant, > 0   "rose" (BH-adjusted p < 0.05, CI excludes 0) ``rose``
change significant, < 0   "fell" (same test)                           ``fell``
change not significant    "no clear change", with the change and CI    ``no_change``
change flagged            its numbers are quoted with "about"          ``about``
gap significant           "above" / "below" (BH over the wave's gaps,  ``gap_above``,
                          p < 0.05 and CI excludes 0)                  ``gap_below``
gap not significant       "no clear gap"                               ``gap_none``
region vs national        listed only when its 95% CI and the          ``regions_above``,
                          national one do not overlap (conservative);  ``regions_below``
                          suppressed regions are never listed
========================  ==========================================  =====================

Significance of changes is Table 2's own verdict (``significant``: Benjamini-Hochberg adjusted
p-value below 0.05 and an interval that excludes zero), so the brief can never call a change a
rise that the trends table does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from perception.config import Templates
from perception.dashboard.data import Cell, Change
from perception.dashboard.data import Indicator as IndicatorView
from perception.words import NBSP, Lang, number, percent_sign, points, say

ALPHA = 0.05
"""False discovery rate at which a gap is called significant (as the trends use)."""


@dataclass(frozen=True)
class Gap:
    """A gap cell's verdict: its two groups' labels and whether it is significant."""

    a: str
    b: str
    significant: bool


def value_text(
    ind: IndicatorView, value: float, lang: Lang, *, change: bool = False, signed: bool = True
) -> str:
    """Write a level (or a change when ``change``) in the indicator's unit, for a sentence."""
    scaled = value * ind.scale
    text = number(scaled, ind.decimals, lang, signed=signed and (change or ind.signed))
    if ind.unit != "percent":
        return text
    if ind.type == "proportion" and not change:
        return text + percent_sign(lang)
    return f"{text}{NBSP}{points(lang)}"


def interval_text(
    ind: IndicatorView, low: float, high: float, lang: Lang, t: Templates, *, change: bool = False
) -> str:
    """Write a 95% interval: the level's ends with their unit, a change's ends signed.

    A non-probability poll's estimate without an interval says it has no margin of error.
    """
    if not math.isfinite(low + high):
        return say("no_margin", lang)
    if change or ind.signed:
        ends = [number(x * ind.scale, ind.decimals, lang, signed=True) for x in (low, high)]
    else:
        ends = [value_text(ind, x, lang) for x in (low, high)]
    return t.interval.format(low=ends[0], high=ends[1])


def level_clause(ind: IndicatorView, cell: Cell, wave: str, lang: Lang, t: Templates) -> str:
    """Describe a cell: its value, or why there is none (never a number when suppressed)."""
    label = ind.label.en if lang == "en" else ind.label.fr
    if cell.state == "suppressed":
        return t.level_suppressed.format(label=label, wave=wave)
    if cell.state == "not_asked":
        return t.level_not_asked.format(label=label, wave=wave)
    if cell.state != "value":
        return t.level_no_data.format(label=label, wave=wave)
    return t.level.format(
        label=label,
        about=t.about if cell.flagged else "",
        value=value_text(ind, cell.estimate, lang),
        wave=wave,
        ci=interval_text(ind, cell.ci_low, cell.ci_high, lang, t),
        n=cell.n if cell.n is not None else "",
    )


def change_key(change: Change) -> str:
    """Return the template a change takes under the rule table."""
    if change.suppressed or not math.isfinite(change.estimate):
        return "change_suppressed"
    if change.significant:
        return "rose" if change.estimate > 0 else "fell"
    return "no_change"


def change_clause(
    ind: IndicatorView, change: Change, reference: str, lang: Lang, t: Templates
) -> str:
    """Describe a change: rose, fell, no clear change, or too few respondents to report."""
    key = change_key(change)
    if key == "change_suppressed":
        return t.change_suppressed.format(reference_wave=reference)
    moved = key in ("rose", "fell")  # "rose by 4.6 pts": the verb carries the sign
    shown = abs(change.estimate) if moved else change.estimate
    text = value_text(ind, shown, lang, change=True, signed=not moved)
    template: str = getattr(t, key)
    return template.format(
        about=t.about if change.flagged else "",
        change=text,
        change_ci=interval_text(ind, change.ci_low, change.ci_high, lang, t, change=True),
        reference_wave=reference,
    )


def gap_clause(gap: Gap, cell: Cell, t: Templates) -> str:
    """Describe a published gap: significantly above, below, or no clear gap."""
    if gap.significant and cell.estimate > 0:
        return t.gap_above.format(a=gap.a, b=gap.b)
    if gap.significant and cell.estimate < 0:
        return t.gap_below.format(a=gap.a, b=gap.b)
    return t.gap_none.format(a=gap.a, b=gap.b)


def regional_side(region: Cell, national: Cell) -> str | None:
    """Return ``"above"`` or ``"below"`` when a region's CI clears the national CI, else None."""
    if region.state != "value" or national.state != "value":
        return None
    if region.ci_low > national.ci_high:
        return "above"
    if region.ci_high < national.ci_low:
        return "below"
    return None
