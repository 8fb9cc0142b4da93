"""The dashboard page: one self-contained HTML document with plotly.js, data and both languages.

Text in the HTML carries ``data-i18n="<key>"``; the page holds every key's English and French
text, and every figure pre-rendered in both languages, as one JSON block. A small inline
script fills the texts and draws the figures with ``Plotly.react`` for the chosen language,
and redraws a figure when its selectors change; the chosen language is kept in the URL
fragment (``#lang=fr``), so a reload or a shared link opens in it. The page loads nothing:
plotly.js is inline, fonts are the system's, the map has no tiles, and a
Content-Security-Policy forbids any request, so a mistake shows up as a console error rather
than a silent download.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from plotly.offline import get_plotlyjs

from perception.config import Label
from perception.dashboard.data import Change, DashboardData, Indicator, WaveFacts, state_word
from perception.dashboard.figures import Spec
from perception.dashboard.findings import GroupFinding, group_findings, widening_gaps
from perception.dashboard.geo import GEO_ASSETS_SCRIPT, GeoJson
from perception.status import STATUSES, status_tally
from perception.words import (
    FLAG_MARK,
    LANGS,
    Lang,
    breakable_words,
    capital,
    format_date,
    format_moment,
    has,
    margin,
    number,
    pick,
    plotly_locale,
    say,
    status_definition,
    status_label,
)

__all__ = ["render_page"]

PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "sendDataToCloud", "editInChartStudio"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
"""Plotly's options: no button or link that could send a figure (and its data) off the laptop."""
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)
BiText = Callable[[Lang], str]
#: Decimals kept in the page's JSON: 1e-5 of a percentage point, or about a metre on the map.
DECIMALS = 5

SCRIPT = """
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("dashboard-data").textContent);
  var fragment = /(?:^#|&)lang=(en|fr)(?:&|$)/.exec(window.location.hash);
  var current = fragment ? fragment[1] : DATA.lang;
  Plotly.register(DATA.locale);
  function draw(view) {
    var key = [view.view].concat(view.selects.map(function (id) {
      return document.getElementById(id).value;
    })).filter(function (part) { return part !== ""; }).join("|");
    var spec = DATA.figures[current][key];
    var traces = JSON.parse(JSON.stringify(spec.data)).map(function (trace) {
      return trace.type === "choropleth"
        ? Object.assign(trace, {geojson: DATA.geojson}) : trace;
    });
    var config = Object.assign({}, DATA.config, {locale: current});
    // Plotly keeps and changes the objects it is given: hand it copies of the stored figure.
    var layout = JSON.parse(JSON.stringify(spec.layout));
    var div = document.getElementById(view.div);
    div.setAttribute("role", "img");
    div.setAttribute("aria-label", DATA.alt[current][key]);
    return Plotly.react(div, traces, layout, config);
  }
  function setLanguage(lang) {
    current = lang;
    document.documentElement.lang = lang;
    var texts = DATA.text[lang];
    document.querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = texts[el.getAttribute("data-i18n")];
    });
    document.querySelectorAll("button[data-lang]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-lang") === lang));
    });
    if (window.location.hash !== "#lang=" + lang) {
      window.history.replaceState(null, "", "#lang=" + lang);
    }
    return Promise.all(DATA.views.map(draw)).then(function () {
      document.body.setAttribute("data-rendered", lang);
    });
  }
  DATA.views.forEach(function (view) {
    view.selects.forEach(function (id) {
      document.getElementById(id).addEventListener("change", function () { draw(view); });
    });
  });
  document.querySelectorAll("button[data-lang]").forEach(function (button) {
    button.addEventListener("click", function () {
      setLanguage(button.getAttribute("data-lang"));
    });
  });
  function resizeAll() {
    DATA.views.forEach(function (view) { Plotly.Plots.resize(view.div); });
  }
  document.querySelectorAll("nav a").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();  // the fragment keeps the language, not the section
      document.querySelector(link.getAttribute("href")).scrollIntoView();
    });
  });
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
  setLanguage(current);
})();
"""

STYLE = """
:root { --ink: #1d2733; --muted: #5b6570; --line: #dde2e7; --head: #1f3b5c; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
  Arial, sans-serif; color: var(--ink); background: #f4f6f8; font-size: 15px; line-height: 1.45; }
header { background: var(--head); color: #fff; padding: 18px 28px; display: flex;
  justify-content: space-between; align-items: flex-start; gap: 24px; flex-wrap: wrap; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header .sub { opacity: .85; font-size: 14px; }
.lang button { font: inherit; border: 1px solid #fff; background: transparent; color: #fff;
  padding: 5px 12px; cursor: pointer; }
.lang button[aria-pressed="true"] { background: #fff; color: var(--head); font-weight: 600; }
nav { background: #fff; border-bottom: 1px solid var(--line); padding: 8px 28px; }
nav a { display: inline-block; margin-right: 18px; color: var(--head); text-decoration: none;
  font-weight: 600; }
main { max-width: 1240px; margin: 0 auto; padding: 8px 20px 40px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px;
  margin: 18px 0; padding: 16px 20px; }
section h2 { margin: 0 0 4px; font-size: 20px; color: var(--head); }
.intro { color: var(--muted); margin: 0 0 12px; }
.controls { display: flex; gap: 18px; flex-wrap: wrap; margin-bottom: 8px; }
.controls label { font-weight: 600; font-size: 14px; }
.controls select { font: inherit; margin-left: 6px; max-width: 560px; }
h3.benchmark { font-size: 15px; margin: 18px 0 6px; padding: 6px 10px; background: #eef2f6;
  border-left: 4px solid var(--head); }
table { border-collapse: collapse; width: 100%; }
table.scorecard { table-layout: fixed; }
table.scorecard col.c-ind { width: 27%; } table.scorecard col.c-val { width: 13%; }
table.scorecard col.c-chg { width: 14%; } table.scorecard col.c-tgt { width: 11%; }
table.scorecard col.c-sta { width: 21%; }
.nowrap { white-space: nowrap; }
th, td { text-align: left; vertical-align: top; padding: 7px 8px; border-bottom: 1px solid
  var(--line); }
th { font-size: 13px; color: var(--muted); font-weight: 600; }
.small { display: block; font-size: 12px; color: var(--muted); }
.big { font-size: 17px; font-weight: 600; white-space: nowrap; }
td.suppressed, td.missing { background: repeating-linear-gradient(45deg, #f3f3f3 0 6px,
  #e4e4e4 6px 12px); color: #555; font-style: italic; }
.improving .delta { color: #1a7f37; } .worsening .delta { color: #b42318; }
.no-change .delta { color: var(--muted); }
.badge { display: inline-block; padding: 2px 9px; border-radius: 11px; font-size: 13px;
  font-weight: 600; color: #fff; white-space: nowrap; }
.badge.achieved { background: #14532d; } .badge.on-track { background: #1a7f37; }
.badge.off-track { background: #b42318; } .badge.insufficient-evidence { background: #6b7280; }
.badge.no-target { background: #fff; color: #374151; border: 1px solid #6b7280; }
.tally { display: flex; flex-wrap: wrap; gap: 6px; margin: 4px 0 0; }
table.summary td { vertical-align: middle; }
ul.findings li { margin: 3px 0; }
dl.questions dt { font-weight: 600; margin-top: 6px; }
dl.questions dd { margin: 2px 0 0 16px; font-style: italic; }
dl.weighting dt { margin-top: 6px; }
dl.weighting dd { margin: 2px 0 0 16px; }
dl.statuses { display: grid; grid-template-columns: max-content 1fr; gap: 6px 12px; margin: 8px 0; }
dl.statuses dt { margin: 0; } dl.statuses dd { margin: 0; font-size: 14px; }
.flag { color: #9a6700; font-weight: 700; }
.legend { font-size: 13px; color: var(--muted); margin-top: 10px; }
.notice { padding: 12px 14px; background: #fff4e5; border: 1px solid #f0c27b; }
.plot { min-height: 300px; }
.wide { overflow-x: auto; }
ul { margin: 6px 0; }
@media (max-width: 900px) {
  header, nav { padding-left: 14px; padding-right: 14px; }
  main { padding: 4px 8px 24px; }
  section { padding: 12px 10px; }
  th, td { padding: 6px 4px; }
  .big { font-size: 15px; white-space: normal; }
  .badge { white-space: normal; }
  table.summary td { display: block; border-bottom: none; }
  table.summary tr { display: block; border-bottom: 1px solid var(--line); }
  dl.statuses { grid-template-columns: 1fr; }
}
@page { size: A4 landscape; margin: 12mm; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { background: #fff; font-size: 11pt; }
  header { padding: 10px 14px; }
  .lang, nav, .controls, .modebar-container { display: none !important; }
  main { max-width: none; padding: 0; }
  section { border: none; border-radius: 0; margin: 0 0 10px; padding: 6px 0; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  tr, li, dl.statuses, .plot, .js-plotly-plot, .notice { break-inside: avoid;
    page-break-inside: avoid; }
  .plot { min-height: 0; }
}
"""


class Texts:
    """Every text of the page in both languages, each under a short key."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self.table: dict[Lang, dict[str, str]] = {code: {} for code in LANGS}
        self._keys: dict[tuple[str, ...], str] = {}

    def key(self, text: BiText | Label) -> str:
        """Register a text (a label, or a function of the language) and return its key."""
        values = tuple(
            pick(text, code) if isinstance(text, Label) else text(code) for code in LANGS
        )
        if values not in self._keys:
            key = f"t{len(self._keys)}"
            self._keys[values] = key
            for code, value in zip(LANGS, values, strict=True):
                self.table[code][key] = value
        return self._keys[values]

    def tag(self, name: str, text: BiText | Label, attrs: str = "") -> str:
        """Return an element holding a translated text, in the page's first language."""
        key = self.key(text)
        extra = f" {attrs}" if attrs else ""
        content = html.escape(self.table[self.lang][key])
        return f'<{name} data-i18n="{key}"{extra}>{content}</{name}>'

    def ui(self, name: str, key: str, attrs: str = "", **values: object) -> str:
        """Return an element holding an interface text."""
        return self.tag(name, lambda lang: say(key, lang, **values), attrs)


def render_page(
    data: DashboardData,
    figures: Mapping[Lang, Mapping[str, Spec]],
    *,
    geo: GeoJson | None,
    map_problem: BiText | None,
    generated_at: datetime,
    lang: Lang,
    heatmap_indicator: str | None,
    questions: Mapping[str, Sequence[Label]],
) -> str:
    """Return the dashboard's HTML document."""
    t = Texts(lang)
    views = [
        {
            "view": "trends",
            "div": "fig-trends",
            "selects": ["trends-indicator", "trends-breakdown"],
        },
        {"view": "gaps", "div": "fig-gaps", "selects": ["gaps-indicator"]},
    ]
    if heatmap_indicator is not None:
        views.append({"view": "heatmap", "div": "fig-heatmap", "selects": ["heatmap-indicator"]})
    if geo is not None:
        selects = ["map-indicator", "map-wave", *(["map-basis"] if data.areas else [])]
        views.append({"view": "map", "div": "fig-map", "selects": selects})
    if data.driver_indicators():
        views.append(
            {
                "view": "drivers",
                "div": "fig-drivers",
                "selects": ["drivers-indicator", "drivers-wave"],
            }
        )
    title = t.tag("h1", lambda code: pick(data.survey.title, code))
    body = "\n".join(
        [
            _header(t, data, title, generated_at),
            _nav(t, geo is not None or map_problem is not None),
            "<main>",
            _summary(t, data),
            _scorecard(t, data),
            _trends(t, data),
            _gaps(t, data),
            _map(t, data, geo, map_problem),
            _heatmap(t, data, heatmap_indicator),
            _drivers(t, data),
            _methodology(t, data, generated_at, questions),
            "</main>",
        ]
    )
    page_title = t.tag(
        "title", lambda code: f"{say('dashboard', code)} – {pick(data.survey.title, code)}"
    )
    payload = {
        "lang": lang,
        "config": PLOTLY_CONFIG,
        "locale": plotly_locale(),
        "views": views,
        "geojson": geo,
        "text": t.table,
        "figures": {code: _strip_geojson(figures[code]) for code in LANGS},
        "alt": {
            code: {key: _alt(spec, code) for key, spec in figures[code].items()} for code in LANGS
        },
    }
    blob = json.dumps(_rounded(payload), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    blob = blob.replace("<", "\\u003c")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{lang}">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta name="generated" content="{generated_at.isoformat()}">',
            page_title,
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            body,
            f'<script type="application/json" id="dashboard-data">{blob}</script>',
            f"<script>{GEO_ASSETS_SCRIPT}</script>",
            f"<script>{get_plotlyjs()}</script>",
            f"<script>{SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _rounded(value: Any) -> Any:
    """Round every float to DECIMALS places (display values and degrees: ample precision)."""
    if isinstance(value, float):
        return round(value, DECIMALS)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _alt(spec: Spec, lang: Lang) -> str:
    """Return a figure's text alternative: what it shows, from its title, subtitle and notes."""
    title = spec["layout"].get("title", {})
    parts = [title.get("text", ""), title.get("subtitle", {}).get("text", "")]
    parts += [a.get("text", "") for a in spec["layout"].get("annotations", [])[-1:]]
    text = ". ".join(p for p in (re.sub(r"<[^>]+>", " ", part).strip() for part in parts) if p)
    return say("labelled", lang, label=say("chart", lang), text=" ".join(breakable_words(text)))


def _strip_geojson(figures: Mapping[str, Spec]) -> dict[str, Spec]:
    """Drop the GeoJSON from choropleth traces: the page holds it once and the script adds it."""
    out: dict[str, Spec] = {}
    for key, spec in figures.items():
        traces = [
            {k: v for k, v in trace.items() if k != "geojson"}
            if trace.get("type") == "choropleth"
            else trace
            for trace in spec["data"]
        ]
        out[key] = {"data": traces, "layout": spec["layout"]}
    return out


# --------------------------------------------------------------------------- page parts


def _header(t: Texts, data: DashboardData, title: str, generated_at: datetime) -> str:
    """Return the banner: title, country, generation time and the language switch."""
    sub = t.tag(
        "div",
        lambda code: (
            f"{say('dashboard', code)} · {pick(data.survey.country, code)} · "
            f"{say('generated', code)} {format_moment(generated_at, code)}"
        ),
        'class="sub"',
    )
    names = " / ".join(say("language", code) for code in LANGS)
    switch = (
        f'<div class="lang" role="group" aria-label="{names}">'
        + "".join(
            f'<button type="button" id="lang-{c}" data-lang="{c}" aria-pressed="{_pressed(c, t)}">'
            f"{say(f'language_name.{c}', c)}</button>"
            for c in LANGS
        )
        + "</div>"
    )
    return f"<header><div>{title}{sub}</div>{switch}</header>"


def _pressed(code: Lang, t: Texts) -> str:
    """Return the initial aria-pressed value of a language button."""
    return "true" if code == t.lang else "false"


def _nav(t: Texts, with_map: bool) -> str:
    """Return the links to the sections."""
    sections = [
        "summary",
        "scorecard",
        "trends",
        "gaps",
        *(["map"] if with_map else []),
        "heatmap",
        "drivers",
    ]
    links = [t.ui("a", name, f'href="#{name}"') for name in [*sections, "methodology"]]
    return f"<nav>{''.join(links)}</nav>"


def _section(t: Texts, name: str, content: str) -> str:
    """Return a titled section with its introduction."""
    intro = t.ui("p", f"{name}_intro", 'class="intro"') if has(f"{name}_intro") else ""
    return f'<section id="{name}">{t.ui("h2", name)}{intro}{content}</section>'


def _select(
    t: Texts, ident: str, label: str, options: Sequence[tuple[str, BiText | Label]], selected: str
) -> str:
    """Return a labelled selector whose option texts follow the language."""
    items = "".join(
        t.tag(
            "option",
            text,
            f'value="{html.escape(value)}"' + (" selected" if value == selected else ""),
        )
        for value, text in options
    )
    return f'<label>{t.ui("span", label)}<select id="{ident}">{items}</select></label>'


def _indicator_options(data: DashboardData) -> list[tuple[str, BiText | Label]]:
    """Return the indicators (gaps excluded) as selector options."""
    return [(ind.id, ind.label) for ind in data.ordered_indicators(gaps=False)]


def _wave_text(data: DashboardData, wave: str) -> BiText:
    """Return a wave's label as a text of the language."""
    return lambda code: data.wave_label(wave, code)


def _column_text(data: DashboardData, column: str) -> BiText:
    """Return a breakdown's label as a text of the language."""
    return lambda code: data.column_label(column, code)


def _plot(ident: str) -> str:
    """Return the container of a figure."""
    return f'<div id="{ident}" class="plot"></div>'


# --------------------------------------------------------------------------- scorecard


def _scorecard(t: Texts, data: DashboardData) -> str:
    """Return the benchmark scorecard: one table per benchmark."""
    head = "".join(
        t.ui("th", key)
        for key in ("indicator", "latest", "change_previous", "change_baseline", "target", "status")
    )
    groups: list[str] = []
    for bench, label in data.benchmarks.items():
        members = [ind for ind in data.indicators.values() if ind.benchmark == bench]
        if not members:
            continue
        rows = "".join(_scorecard_row(t, data, ind) for ind in members)
        heading = t.tag("h3", label, 'class="benchmark"')
        groups.append(
            f'{heading}<table class="scorecard">{_COLUMNS}<thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )
    legend = t.tag(
        "p",
        lambda code: (
            f"{say('flagged_note', code, mark=FLAG_MARK, flag=data.flag_below)}. "
            f"{say('suppressed_note', code, suppress=data.suppress_below).capitalize()}. "
            f"{say('adjusted_note', code)}"
        ),
        'class="legend"',
    )
    definitions = t.ui("h3", "status_rules") + _status_definitions(t)
    return _section(t, "scorecard", "".join(groups) + legend + definitions)


def _summary(t: Texts, data: DashboardData) -> str:
    """Return the top panel: per benchmark, a tally of its indicators' statuses."""
    rows: list[str] = []
    for bench, label in data.benchmarks.items():
        statuses = [ind.status for ind in data.indicators.values() if ind.benchmark == bench]
        if not statuses:
            continue
        chips = "".join(
            t.tag(
                "span",
                _tally_text([status] * statuses.count(status)),
                f'class="badge {status.replace(" ", "-")}" data-status="{status}"',
            )
            for status in STATUSES
            if status in statuses
        )
        rows.append(
            f'<tr data-benchmark="{html.escape(bench)}"><td>{t.tag("span", label)}</td>'
            f'<td><div class="tally">{chips}</div></td></tr>'
        )
    table = f'<table class="summary"><tbody>{"".join(rows)}</tbody></table>'
    return _section(t, "summary", table + _findings(t, data))


#: Groups listed by name in the key findings; the others are counted.
MAX_GROUPS = 6


def _findings(t: Texts, data: DashboardData) -> str:
    """Return the key findings: groups worse off than the country, and widening gaps."""
    by_group: dict[tuple[str, int], list[GroupFinding]] = {}
    for finding in group_findings(data):
        by_group.setdefault((finding.column, finding.code), []).append(finding)
    ranked = sorted(by_group.items(), key=lambda item: -len(item[1]))
    asked = len(data.ordered_indicators(gaps=False))
    items = [
        t.tag("li", _group_text(data, column, code, found, asked), 'class="finding"')
        for (column, code), found in ranked[:MAX_GROUPS]
    ]
    if len(ranked) > MAX_GROUPS:
        items.append(t.ui("li", "findings_more", count=len(ranked) - MAX_GROUPS))
    if not ranked:
        items.append(t.ui("li", "findings_none"))
    gaps = widening_gaps(data)
    for ident in gaps:
        items.append(t.tag("li", _gap_text(data, ident), 'class="finding gap"'))
    if not gaps:
        items.append(t.ui("li", "gaps_none"))
    return (
        t.ui("h3", "findings")
        + t.ui("p", "findings_rule", 'class="legend"')
        + f'<ul class="findings">{"".join(items)}</ul>'
    )


def _group_text(
    data: DashboardData, column: str, code: int, found: list[GroupFinding], asked: int
) -> BiText:
    """Describe one group's findings: on how many indicators it is worse off, and the largest."""
    first = found[0]
    ind = data.indicators[first.indicator]

    def text(code_lang: Lang) -> str:
        group = (
            f"{data.code_label(column, code, code_lang)} ({data.column_label(column, code_lang)})"
        )
        return say(
            "finding_group",
            code_lang,
            group=group,
            count=len(found),
            total=asked,
            indicator=pick(ind.label, code_lang),
            value=ind.value(first.estimate, code_lang),
            national=ind.value(first.national, code_lang),
            difference=ind.value(first.difference, code_lang, change=True),
        )

    return text


def _gap_text(data: DashboardData, ident: str) -> BiText:
    """Describe a gap that widened since the baseline."""
    ind = data.indicators[ident]
    wave = data.latest_wave(ident)
    cell = data.cell(ident, wave)
    change = data.changes[(ident, "baseline", wave)]

    def text(lang: Lang) -> str:
        return say(
            "finding_gap",
            lang,
            indicator=pick(ind.label, lang),
            before=ind.value(cell.estimate - change.estimate, lang),
            latest=ind.value(cell.estimate, lang),
            baseline=data.wave_label(data.waves[0], lang),
        )

    return text


def _status_definitions(t: Texts) -> str:
    """Return the list defining each status, with its badge."""
    items = "".join(
        "<dt>" + _badge(t, status) + "</dt>" + t.tag("dd", _definition_text(status))
        for status in STATUSES
    )
    return f'<dl class="statuses">{items}</dl>'


def _tally_text(statuses: list[str]) -> BiText:
    """Return the tally of some statuses as a text of the language ("2 off track")."""
    return lambda code: status_tally(statuses, code)


def _definition_text(status: str) -> BiText:
    """Return a status's definition as a text of the language."""
    return lambda code: capital(status_definition(status, code))


def _badge(t: Texts, status: str) -> str:
    """Return a status badge."""
    label = lambda code: status_label(status, code)  # noqa: E731
    return t.tag("span", label, f'class="badge {status.replace(" ", "-")}"')


def _date(iso: str, lang: Lang) -> str:
    """Write an ISO date (or timestamp) as a date for people, in the language."""
    return format_date(date.fromisoformat(iso[:10]), lang)


_COLUMNS = (
    '<colgroup><col class="c-ind"><col class="c-val"><col class="c-chg"><col class="c-chg">'
    '<col class="c-tgt"><col class="c-sta"></colgroup>'
)


def _scorecard_row(t: Texts, data: DashboardData, ind: Indicator) -> str:
    """Return one indicator's row of the scorecard."""
    wave = ind.latest_wave if ind.latest_wave in data.waves else data.latest_wave(ind.id)
    cell = data.cell(ind.id, wave)
    name = t.tag("span", ind.label)
    where = t.tag("span", _wave_text(data, wave), 'class="small"')
    if cell.state == "value":
        value_class = "value"
        value = t.tag("span", lambda code: ind.value(cell.estimate, code), 'class="big"')
        if cell.flagged:
            value += f'<span class="flag" title="n = {cell.n}">{FLAG_MARK}</span>'
        value += t.tag(
            "span", lambda code: ind.ci(cell.ci_low, cell.ci_high, code), 'class="small"'
        )
    else:
        value_class = "value missing" if cell.state != "suppressed" else "value suppressed"
        value = t.tag("span", lambda code: state_word(cell.state, code), 'class="big"')
        if cell.state == "suppressed":
            value += t.tag(
                "span",
                lambda code: say("suppressed_note", code, suppress=data.suppress_below),
                'class="small"',
            )
    cells = [
        f'<td class="ind">{name}{where}</td>',
        f'<td class="{value_class}">{value}</td>',
        _change_cell(t, data, ind, "previous", wave),
        _change_cell(t, data, ind, "baseline", wave),
        f"<td>{_target(t, ind)}</td>",
        f"<td>{_status(t, ind)}</td>",
    ]
    return f'<tr data-indicator="{html.escape(ind.id)}">{"".join(cells)}</tr>'


def _change_cell(t: Texts, data: DashboardData, ind: Indicator, comparison: str, wave: str) -> str:
    """Return a change since the previous wave or the baseline, with its CI and direction."""
    change = data.changes.get((ind.id, comparison, wave))
    if change is None:
        reason = t.tag("span", _no_change_reason(data, ind, comparison, wave))
        return f'<td class="missing">{reason}</td>'
    if change.suppressed:
        word = t.ui("span", "suppressed", 'class="big"')
        return f'<td class="suppressed">{word}</td>'
    return _change_value(t, ind, change)


def _change_value(t: Texts, ind: Indicator, change: Change) -> str:
    """Return a published change: arrow, value, CI, direction word."""
    shown = round(change.estimate * ind.scale, ind.decimals)
    arrow = "▲" if shown > 0 else "▼" if shown < 0 else "■"
    direction = change.direction if change.direction in ("improving", "worsening") else "no change"
    delta = t.tag(
        "span",
        lambda code: f"{arrow} {ind.value(change.estimate, code, change=True)}",
        'class="big delta"',
    )
    if change.flagged:
        delta += f'<span class="flag">{FLAG_MARK}</span>'
    ci = t.tag(
        "span",
        lambda code: ind.ci(change.ci_low, change.ci_high, code, change=True),
        'class="small"',
    )
    excludes_zero = change.ci_low > 0 or change.ci_high < 0
    key = "no change adjusted" if direction == "no change" and excludes_zero else direction
    word = t.ui("span", key, 'class="small"')
    return f'<td class="{direction.replace(" ", "-")}">{delta}{ci}{word}</td>'


def _no_change_reason(data: DashboardData, ind: Indicator, comparison: str, wave: str) -> BiText:
    """Explain a missing change: the reference wave lacked the question, or no estimate."""
    position = data.waves.index(wave)
    if position == 0:
        return lambda code: "—"
    reference = data.waves[position - 1] if comparison == "previous" else data.waves[0]
    if data.cell(ind.id, reference).state == "not_asked":
        return lambda code: f"{say('not_asked_in', code)} {data.wave_label(reference, code)}"
    return lambda code: say("not_available", code)


def _target(t: Texts, ind: Indicator) -> str:
    """Return an indicator's target and date, or a dash."""
    if math.isnan(ind.target):
        return "—"
    return t.tag(
        "span",
        lambda code: (
            ind.value(ind.target, code)
            + (f" {say('by', code)} {_date(ind.target_date, code)}" if ind.target_date else "")
        ),
    )


def _status(t: Texts, ind: Indicator) -> str:
    """Return the status badge and its one-sentence reason."""
    badge = _badge(t, ind.status)
    reason = t.tag("span", ind.reason, 'class="small"')
    return badge + reason


# --------------------------------------------------------------------------- figure sections


def _trends(t: Texts, data: DashboardData) -> str:
    """Return the trends section: indicator and breakdown selectors, one figure."""
    indicators = _indicator_options(data)
    breakdowns: list[tuple[str, BiText | Label]] = [
        (b, _column_text(data, b)) for b in data.breakdowns
    ]
    controls = _select(t, "trends-indicator", "indicator", indicators, indicators[0][0])
    controls += _select(
        t,
        "trends-breakdown",
        "breakdown",
        breakdowns,
        data.breakdowns[min(1, len(data.breakdowns) - 1)],
    )
    return _section(t, "trends", f'<div class="controls">{controls}</div>{_plot("fig-trends")}')


def _gaps(t: Texts, data: DashboardData) -> str:
    """Return the gaps section: every gap nationally, or one gap by group."""
    options: list[tuple[str, BiText | Label]] = [("", lambda code: say("all_gaps", code))]
    options += [(g.id, g.label) for g in data.ordered_indicators(gaps=True)]
    controls = _select(t, "gaps-indicator", "gap", options, "")
    return _section(t, "gaps", f'<div class="controls">{controls}</div>{_plot("fig-gaps")}')


def _map(t: Texts, data: DashboardData, geo: GeoJson | None, problem: BiText | None) -> str:
    """Return the map section, or the reason the map is missing."""
    if geo is None:
        if problem is None:
            return ""
        notice = t.tag("p", problem, 'class="notice" id="map-unavailable"')
        return _section(t, "map", notice)
    indicators = _indicator_options(data)
    waves: list[tuple[str, BiText | Label]] = [(w, _wave_text(data, w)) for w in data.waves]
    controls = _select(t, "map-indicator", "indicator", indicators, indicators[0][0])
    controls += _select(t, "map-wave", "wave", waves, data.waves[-1])
    note = ""
    if data.areas:  # the model-based view: its figures are keyed map|<indicator>|<wave>|model
        bases: list[tuple[str, BiText | Label]] = [
            ("", lambda code: say("map_basis.direct", code)),
            ("model", lambda code: say("map_basis.model", code)),
        ]
        controls += _select(t, "map-basis", "map_basis", bases, "")
        note = t.ui("p", "map_basis_note", 'class="legend"')
    return _section(t, "map", f'<div class="controls">{controls}</div>{_plot("fig-map")}{note}')


def _heatmap(t: Texts, data: DashboardData, selected: str | None) -> str:
    """Return the "who feels excluded" section, or why there is no heatmap."""
    if selected is None:
        notice = t.ui("p", "heatmap_unavailable", 'class="notice" id="heatmap-unavailable"')
        return _section(t, "heatmap", notice)
    controls = _select(t, "heatmap-indicator", "indicator", _indicator_options(data), selected)
    return _section(t, "heatmap", f'<div class="controls">{controls}</div>{_plot("fig-heatmap")}')


def _drivers(t: Texts, data: DashboardData) -> str:
    """Return the "what goes with" section (marginal effects), or why there is none."""
    indicators = data.driver_indicators()
    if not indicators:
        notice = t.ui("p", "drivers_unavailable", 'class="notice" id="drivers-unavailable"')
        return _section(t, "drivers", notice)
    options: list[tuple[str, BiText | Label]] = [(i, data.indicators[i].label) for i in indicators]
    waves: list[tuple[str, BiText | Label]] = [(w, _wave_text(data, w)) for w in data.waves]
    controls = _select(t, "drivers-indicator", "indicator", options, indicators[0])
    controls += _select(t, "drivers-wave", "wave", waves, data.waves[-1])
    return _section(t, "drivers", f'<div class="controls">{controls}</div>{_plot("fig-drivers")}')


# --------------------------------------------------------------------------- methodology


def _methodology(
    t: Texts,
    data: DashboardData,
    generated_at: datetime,
    questions: Mapping[str, Sequence[Label]],
) -> str:
    """Return the methodology panel, for people: waves, design, precision, rules, dates.

    No variable or file names and no technical diagnostics: those are in the exported
    methodology table, for analysts.
    """
    keys: tuple[str, ...] = ("wave", "fieldwork", "provider", "n_respondents")
    keys += ("deff_kish", "n_eff", "moe", "design")
    head = "".join(t.ui("th", key) for key in keys)
    rows = []
    for fact in data.facts:
        cells: list[str] = [
            t.tag("td", _wave_text(data, fact.wave)),
            t.tag("td", _fieldwork(fact.fieldwork)),
            t.tag("td", _collection(fact)),
            _number_cell(t, fact.n_respondents, 0),
            _number_cell(t, fact.deff_kish, 2),
            _number_cell(t, fact.n_eff, 0),
            t.tag("td", _margin(fact.moe_95)),
            t.tag(
                "td",
                Label(en=fact.design["en"] or "–", fr=fact.design["fr"] or "–"),
                'class="small"',
            ),
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    table = (
        f'<div class="wide"><table class="methods"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    rules = [
        t.tag(
            "li",
            lambda code: say(
                "rule_suppress", code, suppress=data.suppress_below, word=say("suppressed", code)
            ),
        ),
        t.tag(
            "li",
            lambda code: say(
                "rule_flag",
                code,
                suppress=data.suppress_below,
                flag_last=data.flag_below - 1,
                mark=FLAG_MARK,
            ),
        ),
    ]
    if data.complementary:
        rules.append(t.ui("li", "rule_complementary"))
    rules.append(
        t.tag(
            "li",
            lambda code: say(
                "rule_counts",
                code,
                suppressed=number(data.n_suppressed, 0, code),
                flagged=number(data.n_flagged, 0, code),
            ),
        )
    )
    rules.append(t.ui("li", "microdata_note"))
    computed = _moment(data.tables_generated)
    provenance = [
        t.tag(
            "li",
            lambda code: say(
                "labelled", code, label=say("tables_generated", code), text=computed(code)
            ),
        ),
        t.tag(
            "li",
            lambda code: say(
                "labelled",
                code,
                label=say("dashboard_generated", code),
                text=format_moment(generated_at, code),
            ),
        ),
    ]
    content = [
        table,
        t.ui("p", "weighting_note", 'class="legend"'),
        _weighting(t, data),
        t.ui("p", "moe_note", 'class="legend"'),
        t.ui("p", "units_note", 'class="legend"'),
        _small_area_method(t, data),
        _questions(t, data, questions),
        t.ui("h3", "status_rules"),
        _status_definitions(t),
        t.ui("p", "projection_note", 'class="legend"'),
        t.ui("h3", "rules"),
        f"<ul>{''.join(rules)}</ul>",
        t.ui("h3", "provenance"),
        f"<ul>{''.join(provenance)}</ul>",
    ]
    return _section(t, "methodology", "".join(content))


def _collection(fact: WaveFacts) -> BiText:
    """Write who collected a wave's data and how (``Horizon Ltd. (face-to-face interviews)``)."""

    def text(code: Lang) -> str:
        provider = fact.provider[code]
        mode = say(f"mode.{fact.mode}", code) if fact.mode else ""
        if provider and mode:
            return say("collection", code, provider=provider, mode=mode)
        return provider or capital(mode) or "—"

    return text


def _weighting(t: Texts, data: DashboardData) -> str:
    """Return how each wave's weights were made, in words ("" when no wave says)."""
    items = [
        t.tag("dt", _wave_text(data, fact.wave))
        + t.tag("dd", Label(en=fact.weighting["en"], fr=fact.weighting["fr"]), 'class="small"')
        for fact in data.facts
        if fact.weighting["en"] and fact.weighting["fr"]
    ]
    if not items:
        return ""
    return t.ui("h3", "weighting") + f'<dl class="weighting">{"".join(items)}</dl>'


def _small_area_method(t: Texts, data: DashboardData) -> str:
    """Return how the map's model-based estimates are made, in plain words ("" if none).

    The variance estimators and the arcsine transform named are those of the published
    small-area table's ``method`` column (``fay_herriot_<reml|ml|fh>[_arcsin]``).
    """
    if not data.areas:
        return ""
    methods = [m.removeprefix("fay_herriot_") for m in data.area_methods]
    estimators = list(dict.fromkeys(m.removesuffix("_arcsin") for m in methods))
    arcsine = any(m.endswith("_arcsin") for m in methods)

    def text(code: Lang) -> str:
        named = [say(f"small_area_estimator.{e}", code) for e in estimators]
        joined = named[-1]
        if len(named) > 1:
            joined = f"{', '.join(named[:-1])} {say('small_area_estimators_and', code)} {joined}"
        return say(
            "small_area_method_note",
            code,
            estimator=joined,
            arcsine=say("small_area_arcsine", code) if arcsine else "",
        )

    return t.ui("h3", "small_area_method") + t.tag("p", text, 'class="legend"')


def _questions(t: Texts, data: DashboardData, questions: Mapping[str, Sequence[Label]]) -> str:
    """Return the questions behind each indicator, in the catalogue's wording ("" if none)."""
    items = []
    for ind in data.ordered_indicators(gaps=False):
        for wording in questions.get(ind.id, ()):
            items.append(
                t.tag("dt", ind.label, 'class="question-of"')
                + t.tag("dd", wording, 'class="question"')
            )
    if not items:
        return ""
    return t.ui("h3", "questions") + f'<dl class="questions">{"".join(items)}</dl>'


def _moment(text: str) -> BiText:
    """Write a stored date or timestamp for people (as given when it is not one)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return lambda code: text
    if len(text) <= 10:
        return lambda code: format_date(moment.date(), code)
    return lambda code: format_moment(moment, code)


def _fieldwork(dates: tuple[str, ...]) -> BiText:
    """Write fieldwork dates without times: ``3 March 2025 – 28 March 2025``."""
    days = [date.fromisoformat(d[:10]) for d in dates]
    return lambda code: " – ".join(format_date(d, code) for d in days) or "—"


def _number_cell(t: Texts, value: float | None, decimals: int) -> str:
    """Return a table cell with a number written in the page's language."""
    if value is None or math.isnan(value):
        return "<td>—</td>"
    return t.tag("td", lambda code: number(float(value), decimals, code))


def _margin(value: float) -> BiText:
    """Write a margin of error (a fraction) as ± percentage points."""
    if math.isnan(value):
        return lambda code: "—"
    return lambda code: margin(value, code)
