"""Plotly figure specifications of the dashboard's views, one language at a time.

Every function returns a plain figure dict (``{"data": [...], "layout": {...}}``) that
``plotly.graph_objects.Figure`` accepts; plain dicts keep generation fast (the page holds
hundreds of figures) and the tests validate every one through ``go.Figure``. A cell without
a value (suppressed, not asked, no respondents, not estimated) never becomes a number: it is
left out of the value traces and shown by its word, in grey.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perception.config import Label
from perception.config.indicators import domain_set_columns
from perception.dashboard.data import (
    NATIONAL,
    AreaCell,
    Cell,
    DashboardData,
    DomainKey,
    Effect,
    Indicator,
    domain_key,
    state_word,
)
from perception.dashboard.geo import CODE_PROPERTY, GeoJson, centroid
from perception.status import wave_dates
from perception.words import (
    FLAG_MARK,
    NBSP,
    Lang,
    breakable_words,
    interval,
    number,
    percent_sign,
    pick,
    points,
    say,
)

__all__ = [
    "Spec",
    "all_figures",
    "drivers_figure",
    "gaps_figure",
    "heatmap_figure",
    "make_key",
    "map_figure",
    "model_map_figure",
    "trends_figure",
]

Spec = dict[str, Any]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
#: Okabe-Ito colours (colour-blind safe), yellow swapped for two darker tones.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C6D31", "#7F3C8D")
NATIONAL_COLOR = "#333333"
GREY_TEXT = "#555555"
#: Red (worse) to blue (better); reversed for indicators where lower is better.
GOOD_BAD = ("#d73027", "#fc8d59", "#fee090", "#91bfdb", "#4575b4")
NO_VALUE_COLORS = [[0.0, "#f2f2f2"], [0.5, "#e0e0e0"], [1.0, "#b5b5b5"]]
_NO_VALUE_LEVEL = {"not_estimated": 0.0, "not_asked": 0.5, "no_data": 0.5, "suppressed": 1.0}


@dataclass(frozen=True)
class _Series:
    """One line of a trend chart: a domain of one indicator."""

    name: str
    key: DomainKey
    color: str
    band: bool
    dash: str = "solid"


def make_key(**codes: int) -> DomainKey:
    """Return the domain key with the given domain columns set (national when none)."""
    return domain_key(codes)


def all_figures(data: DashboardData, lang: Lang, geo: GeoJson | None) -> dict[str, Spec]:
    """Return every figure of the page in ``lang``, keyed ``view|indicator|choice``.

    Maps only with boundaries (``geo``), their model-based twins (``map|<indicator>|<wave>|
    model``) only with small-area estimates at the map's level; heatmaps only when an indicator
    is published in a crossed domain set (:meth:`DashboardData.heatmap_columns`); drivers
    (``drivers|<indicator>|<wave>``) for the indicators of the published drivers table.
    """
    specs: dict[str, Spec] = {"gaps": gaps_figure(data, lang)}
    for gap in data.ordered_indicators(gaps=True):
        specs[f"gaps|{gap.id}"] = gaps_figure(data, lang, gap.id)
    heatmap = data.heatmap_columns()
    for ind in data.ordered_indicators(gaps=False):
        for breakdown in data.breakdowns:
            specs[f"trends|{ind.id}|{breakdown}"] = trends_figure(data, ind.id, breakdown, lang)
        if geo is not None:
            for wave in data.waves:
                specs[f"map|{ind.id}|{wave}"] = map_figure(data, ind.id, wave, lang, geo)
                if data.areas:
                    spec = model_map_figure(data, ind.id, wave, lang, geo)
                    specs[f"map|{ind.id}|{wave}|model"] = spec
        if heatmap is not None:
            specs[f"heatmap|{ind.id}"] = heatmap_figure(data, ind.id, lang, heatmap[1])
    for indicator in data.driver_indicators():
        for wave in data.waves:
            specs[f"drivers|{indicator}|{wave}"] = drivers_figure(data, indicator, wave, lang)
    return specs


# --------------------------------------------------------------------------- common parts


def _layout(lang: Lang, title: str, subtitle: str, height: int) -> dict[str, Any]:
    """Return the layout every figure shares."""
    return {
        "title": {
            "text": f"<b>{title}</b>",
            "subtitle": {"text": subtitle, "font": {"size": 12, "color": GREY_TEXT}},
            "x": 0.01,
            "xanchor": "left",
            "font": {"size": 15},
        },
        "font": {"family": FONT, "size": 12, "color": "#222222"},
        "separators": ".," if lang == "en" else ", ",
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "height": height,
        "margin": {"l": 70, "r": 30, "t": 80, "b": 100},
        "hoverlabel": {"font": {"family": FONT, "size": 12}, "align": "left"},
    }


#: Characters per line of a figure's notes: they fit an 800 px screen.
NOTE_WIDTH = 90


def _footnote_height(notes: Sequence[str]) -> int:
    """Return the height in pixels of the notes under a figure."""
    return 15 * sum(_wrap(note, NOTE_WIDTH).count("<br>") + 1 for note in notes) + 10


def _set_bottom(layout: dict[str, Any], bottom: int) -> None:
    """Set the bottom margin, growing the figure by as much so that the plot keeps its size."""
    layout["height"] += bottom - layout["margin"]["b"]
    layout["margin"]["b"] = bottom


def _footnote(notes: Sequence[str]) -> dict[str, Any]:
    """Return the small notes under the plot area, each wrapped to NOTE_WIDTH characters."""
    return {
        "text": "<br>".join(_wrap(note, NOTE_WIDTH) for note in notes),
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": 0,
        "yshift": -62,
        "xanchor": "left",
        "yanchor": "top",
        "align": "left",
        "showarrow": False,
        "font": {"size": 11, "color": GREY_TEXT},
    }


def _message(text: str) -> dict[str, Any]:
    """Return a centred message for a figure with nothing to draw."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": 0.5,
        "showarrow": False,
        "font": {"size": 14, "color": GREY_TEXT},
    }


def _hover(ind: Indicator, cell: Cell, title: str, where: str, lang: Lang, flag_below: int) -> str:
    """Return the hover text of a cell that has a value."""
    lines = [
        f"<b>{title}</b>",
        f"{where}: {ind.value(cell.estimate, lang)}",
        f"{say('ci95', lang)} {ind.ci(cell.ci_low, cell.ci_high, lang)}"
        if cell.has_interval
        else ind.ci(cell.ci_low, cell.ci_high, lang),
    ]
    if cell.n is not None:
        lines.append(f"n = {cell.n}")
    if cell.flagged:
        lines.append(say("flagged_note", lang, mark=FLAG_MARK, flag=flag_below))
    return "<br>".join(lines)


def _no_value_hover(cell: Cell, title: str, where: str, lang: Lang, suppress: int) -> str:
    """Return the hover text of a cell without a value: why there is none."""
    text = f"<b>{title}</b><br>{where}: {state_word(cell.state, lang)}"
    if cell.state == "suppressed":
        text += "<br>" + say("suppressed_note", lang, suppress=suppress)
    return text


def _colorscale(ind: Indicator) -> list[list[Any]]:
    """Return a red-to-blue scale whose blue end is the indicator's better end."""
    colors = GOOD_BAD if ind.direction == "higher" else tuple(reversed(GOOD_BAD))
    return [[i / (len(colors) - 1), c] for i, c in enumerate(colors)]


def _range(values: Sequence[float]) -> tuple[float, float]:
    """Return a colour range covering ``values`` (a unit range when there are none)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    return (low, high) if high > low else (low - 1.0, high + 1.0)


def _wrap(text: str, width: int) -> str:
    """Break a label into lines of about ``width`` characters with ``<br>``."""
    lines: list[str] = []
    for word in breakable_words(text):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _difference_axis(title: str) -> dict[str, Any]:
    """Return the x axis of a chart of differences, with a marked zero line."""
    return {
        "title": {"text": title},
        "zeroline": True,
        "zerolinecolor": "#444444",
        "zerolinewidth": 1.5,
        "gridcolor": "#e6e6e6",
    }


def _row_axis(positions: list[Any], labels: list[str], span: list[float]) -> dict[str, Any]:
    """Return the y axis of a chart with one labelled row per item."""
    return {
        "tickvals": positions,
        "ticktext": labels,
        "range": span,
        "showgrid": False,
        "zeroline": False,
        "automargin": True,
    }


def _colour_bar(ind: Indicator, lang: Lang) -> dict[str, Any]:
    """Return the colour bar of a map or heatmap: the indicator's unit."""
    return {
        "title": {"text": ind.axis_title(lang)},
        "ticksuffix": percent_sign(lang) if ind.type == "proportion" else "",
    }


def _colours(ind: Indicator, lang: Lang, zmin: float, zmax: float) -> dict[str, Any]:
    """Return the colour range, scale and bar of a map or heatmap of an indicator."""
    return {
        "zmin": zmin,
        "zmax": zmax,
        "colorscale": _colorscale(ind),
        "colorbar": _colour_bar(ind, lang),
    }


def _rgba(color: str, alpha: float) -> str:
    """Turn ``#rrggbb`` into an ``rgba()`` colour."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


# --------------------------------------------------------------------------- trends


def trends_figure(data: DashboardData, indicator: str, breakdown: str, lang: Lang) -> Spec:
    """Return an indicator's trend across waves, nationally or by one breakdown, with CIs."""
    ind = data.indicators[indicator]
    series = [
        _Series(say("national", lang), NATIONAL, NATIONAL_COLOR, band=breakdown == "national")
    ]
    if breakdown != "national":
        series[0] = _Series(say("national", lang), NATIONAL, "#888888", band=False, dash="dash")
        for i, code in enumerate(data.codes(breakdown)):
            key = make_key(**{breakdown: code})
            if any(data.cell(ind.id, w, key).state != "not_estimated" for w in data.waves):
                label = data.code_label(breakdown, code, lang)
                series.append(_Series(label, key, PALETTE[i % len(PALETTE)], band=True))
    subtitle = data.column_label(breakdown, lang)
    layout = _layout(lang, pick(ind.label, lang), subtitle, 470)
    layout["legend"] = {"x": 1.02, "xanchor": "left", "y": 1, "font": {"size": 12}}
    layout["margin"]["r"] = 190
    traces, suppressed = _series_traces(data, ind, series, lang, bars=False)
    _wave_axis(layout, data, lang)
    layout["yaxis"] = {
        "title": {"text": ind.axis_title(lang)},
        "gridcolor": "#e6e6e6",
        "zeroline": ind.signed,
        "ticksuffix": percent_sign(lang) if ind.type == "proportion" else "",
        "domain": [0.16 if suppressed else 0.0, 1.0],
    }
    notes = [say("band_note", lang, flag=data.flag_below), dk_note([ind], lang)]
    if suppressed:
        traces.append(_strip_trace(suppressed, lang))
        layout["yaxis2"] = {
            "domain": [0.0, 0.08],
            "range": [-1, 1],
            "tickvals": [0],
            "ticktext": [say("strip_suppressed", lang)],
            "fixedrange": True,
            "showgrid": False,
            "zeroline": False,
        }
        layout["xaxis"]["anchor"] = "y2"
        notes.append("✕ " + say("suppressed_note", lang, suppress=data.suppress_below))
    shapes, annotations = _not_asked_marks(data, ind, lang)
    if len(series) == 1 and breakdown != "national":
        annotations.append(_message(say("no_estimates", lang)))
    annotations.append(_footnote(notes))
    _set_bottom(layout, 62 + _footnote_height(notes))
    layout["shapes"] = shapes
    layout["annotations"] = annotations
    return {"data": traces, "layout": layout}


def dk_note(indicators: Sequence[Indicator], lang: Lang) -> str:
    """Say how "don't know" enters the base of these indicators' published ("all") values.

    Percentages (proportions, net scores and their gaps) keep "don't know" in the base;
    scores (means, indices and their gaps) cannot score it and exclude it.
    """
    kept = {ind.unit == "percent" for ind in indicators}
    if kept == {True, False}:
        return say("dk_mixed", lang)
    return say("dk_kept" if kept == {True} else "dk_excluded", lang)


def wave_positions(data: DashboardData) -> list[float]:
    """Return each wave's x position: spaced by fieldwork midpoints, from 0 to n − 1.

    Waves are evenly spaced (0, 1, 2...) when any lacks fieldwork dates or all share one date.
    """
    waves = data.waves
    dates = wave_dates(data.survey)
    if len(waves) < 2 or any(w not in dates for w in waves):
        return [float(i) for i in range(len(waves))]
    first = dates[waves[0]]
    span = (dates[waves[-1]] - first).days
    if span <= 0:
        return [float(i) for i in range(len(waves))]
    return [(len(waves) - 1) * (dates[w] - first).days / span for w in waves]


def _wave_axis(layout: dict[str, Any], data: DashboardData, lang: Lang) -> None:
    """Set the x axis to the waves at their positions (see :func:`wave_positions`)."""
    layout["xaxis"] = {
        "tickvals": wave_positions(data),
        "ticktext": [data.wave_label(w, lang) for w in data.waves],
        "range": [-0.5, len(data.waves) - 0.5],
        "showgrid": False,
        "zeroline": False,
    }


def _series_traces(
    data: DashboardData, ind: Indicator, series: Sequence[_Series], lang: Lang, *, bars: bool
) -> tuple[list[Spec], list[tuple[float, str, str]]]:
    """Return line (and band) traces, and the (x, colour, hover) of suppressed points."""
    traces: list[Spec] = []
    suppressed: list[tuple[float, str, str]] = []
    x = wave_positions(data)
    for index, line in enumerate(series):
        cells = [data.cell(ind.id, wave, line.key) for wave in data.waves]
        valued = [c.state == "value" for c in cells]
        y = [c.estimate * ind.scale if v else None for c, v in zip(cells, valued, strict=True)]
        hover = [
            _hover(ind, c, line.name, data.wave_label(w, lang), lang, data.flag_below) if v else ""
            for c, v, w in zip(cells, valued, data.waves, strict=True)
        ]
        group = f"s{index}"
        if line.band:
            alpha = 0.16 if len(series) <= 3 else 0.07
            band = _band(cells, x, ind, line.color, group, alpha)
            if band is not None:
                traces.append(band)
        isolated = [
            v and not (i > 0 and valued[i - 1]) and not (i + 1 < len(valued) and valued[i + 1])
            for i, v in enumerate(valued)
        ]
        with_bars = [
            c.has_interval and (bars or (line.band and iso))
            for c, iso in zip(cells, isolated, strict=True)
        ]
        trace: Spec = {
            "type": "scatter",
            "mode": "lines+markers",
            "name": line.name,
            "legendgroup": group,
            "x": x,
            "y": y,
            "customdata": hover,
            "hovertemplate": "%{customdata}<extra></extra>",
            "line": {"color": line.color, "width": 2.5, "dash": line.dash},
            "marker": {
                "color": line.color,
                "size": 9,
                "symbol": ["circle-open" if c.flagged else "circle" for c in cells],
                "line": {"width": 2, "color": line.color},
            },
        }
        if any(with_bars):
            trace["error_y"] = {
                "type": "data",
                "symmetric": False,
                "array": [
                    (c.ci_high - c.estimate) * ind.scale if b else None
                    for c, b in zip(cells, with_bars, strict=True)
                ],
                "arrayminus": [
                    (c.estimate - c.ci_low) * ind.scale if b else None
                    for c, b in zip(cells, with_bars, strict=True)
                ],
                "color": line.color,
                "thickness": 1.5,
                "width": 5,
            }
        traces.append(trace)
        for i, (cell, wave) in enumerate(zip(cells, data.waves, strict=True)):
            if cell.state == "suppressed":
                where = data.wave_label(wave, lang)
                text = _no_value_hover(cell, line.name, where, lang, data.suppress_below)
                shift = 0.06 * (index - (len(series) - 1) / 2)
                suppressed.append((x[i] + shift, line.color, text))
    return traces, suppressed


def _band(
    cells: Sequence[Cell],
    positions: Sequence[float],
    ind: Indicator,
    color: str,
    group: str,
    alpha: float,
) -> Spec | None:
    """Return a filled CI band over each run of two or more consecutive values."""
    runs: list[list[int]] = []
    for i, cell in enumerate(cells):
        if not cell.has_interval:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    xs: list[float | None] = []
    ys: list[float | None] = []
    for run in (r for r in runs if len(r) > 1):
        if xs:
            xs.append(None)
            ys.append(None)
        xs += [positions[i] for i in (*run, *reversed(run))]
        ys += [cells[i].ci_high * ind.scale for i in run]
        ys += [cells[i].ci_low * ind.scale for i in reversed(run)]
    if not xs:
        return None
    return {
        "type": "scatter",
        "mode": "lines",
        "x": xs,
        "y": ys,
        "fill": "toself",
        "fillcolor": _rgba(color, alpha),
        "line": {"width": 0, "color": color},
        "hoverinfo": "skip",
        "showlegend": False,
        "legendgroup": group,
    }


def _strip_trace(points: Sequence[tuple[float, str, str]], lang: Lang) -> Spec:
    """Return the ✕ markers of suppressed points, on the strip under the chart."""
    return {
        "type": "scatter",
        "mode": "markers",
        "name": say("suppressed", lang),
        "x": [p[0] for p in points],
        "y": [0] * len(points),
        "yaxis": "y2",
        "marker": {
            "symbol": "x-thin",
            "size": 11,
            "line": {"width": 2, "color": [p[1] for p in points]},
        },
        "customdata": [p[2] for p in points],
        "hovertemplate": "%{customdata}<extra></extra>",
        "showlegend": False,
    }


def _not_asked_marks(
    data: DashboardData, ind: Indicator, lang: Lang
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return grey columns and "not asked" labels for waves that lacked the question."""
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    x = wave_positions(data)
    gaps = [b - a for a, b in itertools.pairwise(x)]
    half = min([0.4, *(0.45 * g for g in gaps)])
    for i, wave in enumerate(data.waves):
        if data.cell(ind.id, wave).state != "not_asked":
            continue
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": x[i] - half,
                "x1": x[i] + half,
                "y0": 0,
                "y1": 1,
                "fillcolor": "#f0f0f0",
                "line": {"width": 0},
                "layer": "below",
            }
        )
        annotations.append(
            {
                "text": say("not_asked_wave", lang),
                "xref": "x",
                "yref": "paper",
                "x": x[i],
                "y": 0.55,
                "showarrow": False,
                "font": {"size": 12, "color": GREY_TEXT},
            }
        )
    return shapes, annotations


# --------------------------------------------------------------------------- gaps


def gaps_figure(data: DashboardData, lang: Lang, indicator: str | None = None) -> Spec:
    """Return gaps per wave with CIs (a forest plot): every gap nationally, or one by group.

    Without ``indicator``, one row per gap indicator of the catalogue (national); with it,
    that gap nationally and in each group of the single-variable breakdowns it is published
    in (such as each region).
    """
    rows: list[tuple[Indicator, DomainKey, str]]
    if indicator is None:
        rows = [(g, NATIONAL, pick(g.label, lang)) for g in data.ordered_indicators(gaps=True)]
        title, subtitle = say("gaps_title", lang), ""
    else:
        gap = data.indicators[indicator]
        rows = [(gap, NATIONAL, say("national", lang))]
        for domain_set in data.domain_sets[indicator]:
            columns = domain_set_columns(domain_set, data.domains)
            if len(columns) == 1:
                rows += [
                    (gap, make_key(**{columns[0]: code}), data.code_label(columns[0], code, lang))
                    for code in data.codes(columns[0])
                ]
        title, subtitle = pick(gap.label, lang), say("gap_by_group", lang)
    return _forest(data, rows, title, subtitle, lang)


def _forest(
    data: DashboardData,
    rows: Sequence[tuple[Indicator, DomainKey, str]],
    title: str,
    subtitle: str,
    lang: Lang,
) -> Spec:
    """Return a forest plot of gap estimates per wave, one row per (indicator, domain)."""
    gaps = [ind for ind, _, _ in rows]
    layout = _layout(lang, title, subtitle, 140 + 90 * max(len(rows), 1))
    waves = data.waves
    shades = PALETTE[: len(waves)] if len(waves) > 1 else (NATIONAL_COLOR,)
    traces: list[Spec] = []
    annotations: list[dict[str, Any]] = []
    for k, wave in enumerate(waves):
        offset = ((len(waves) - 1) / 2 - k) * 0.22
        x: list[float | None] = []
        y: list[float] = []
        plus: list[float | None] = []
        minus: list[float | None] = []
        hover: list[str] = []
        symbols: list[str] = []
        for j, (ind, key, label) in enumerate(rows):
            cell = data.cell(ind.id, wave, key)
            where = data.wave_label(wave, lang)
            if cell.state != "value":
                annotations.append(_gap_note(cell, where, -j + offset, lang))
                continue
            x.append(cell.estimate * ind.scale)
            y.append(-j + offset)
            plus.append((cell.ci_high - cell.estimate) * ind.scale if cell.has_interval else None)
            minus.append((cell.estimate - cell.ci_low) * ind.scale if cell.has_interval else None)
            hover.append(_hover(ind, cell, label, where, lang, data.flag_below))
            symbols.append("circle-open" if cell.flagged else "circle")
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": data.wave_label(wave, lang),
                "x": x,
                "y": y,
                "customdata": hover,
                "hovertemplate": "%{customdata}<extra></extra>",
                "marker": {
                    "color": shades[k],
                    "size": 10,
                    "symbol": symbols,
                    "line": {"width": 2, "color": shades[k]},
                },
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": plus,
                    "arrayminus": minus,
                    "color": shades[k],
                    "thickness": 1.5,
                    "width": 4,
                },
            }
        )
    percent = all(ind.unit == "percent" for ind in gaps)
    unit = say("percent_points", lang) if percent else say("difference", lang)
    layout["xaxis"] = _difference_axis(f"{say('gaps', lang)} ({unit})")
    layout["yaxis"] = _row_axis(
        [-j for j in range(len(gaps))],
        [_wrap(label, 38) for _, _, label in rows],
        [-len(gaps) + 0.5, 0.5],
    )
    layout["legend"] = {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"}
    layout["margin"]["t"] = 110
    if not gaps:
        annotations.append(_message(say("no_gaps", lang)))
    notes = [say("band_note", lang, flag=data.flag_below)]
    if gaps:
        notes.append(dk_note(gaps, lang))
    annotations.append(_footnote(notes))
    _set_bottom(layout, 62 + _footnote_height(notes))
    layout["annotations"] = annotations
    return {"data": traces, "layout": layout}


def _gap_note(cell: Cell, where: str, y: float, lang: Lang) -> dict[str, Any]:
    """Return the right-aligned note for a gap without a value in one wave."""
    return {
        "text": f"{where}: {state_word(cell.state, lang)}",
        "xref": "paper",
        "yref": "y",
        "x": 1,
        "y": y,
        "xanchor": "right",
        "showarrow": False,
        "font": {"size": 11, "color": GREY_TEXT},
    }


# --------------------------------------------------------------------------- map


def map_figure(data: DashboardData, indicator: str, wave: str, lang: Lang, geo: GeoJson) -> Spec:
    """Return a choropleth of an indicator's direct estimates by the map's areas.

    The areas are those of ``survey.map_variable``; the hover gives each area's interval, CV
    (standard error / estimate) and respondents.
    """
    ind = data.indicators[indicator]
    area, regions = _map_regions(data, geo)
    cells = {code: data.cell(ind.id, wave, make_key(**{area: code})) for code in regions}
    where = data.wave_label(wave, lang)
    name = {code: data.code_label(area, code, lang) for code in regions}
    valued = [code for code in regions if cells[code].state == "value"]
    values = {c: cells[c].estimate for c in valued}
    hovers = {c: _hover(ind, cells[c], name[c], where, lang, data.flag_below) for c in valued}
    for c in valued:
        cv = _cv(cells[c].se, cells[c].estimate)
        if math.isfinite(cv):
            hovers[c] += f"<br>{say('area_cv', lang)} {_cv_text(cv, lang)}"
    greys = {
        c: (
            _NO_VALUE_LEVEL[cells[c].state],
            _no_value_hover(cells[c], name[c], where, lang, data.suppress_below),
        )
        for c in regions
        if c not in values
    }
    labels = {c: ind.cell_text(cells[c], lang) for c in regions}
    notes = [say("flagged_note", lang, mark=FLAG_MARK, flag=data.flag_below)]
    notes.append(say("suppressed_note", lang, suppress=data.suppress_below))
    notes.append(say("map_cv_note", lang))
    notes.append(dk_note([ind], lang))
    parts = _MapParts(regions, name, values, hovers, greys, labels)
    return _map_spec(data, ind, geo, lang, parts, where, notes, say("suppressed", lang))


def model_map_figure(
    data: DashboardData, indicator: str, wave: str, lang: Lang, geo: GeoJson
) -> Spec:
    """Return a choropleth of an indicator's model-based (small-area) estimates by area.

    The values are the published small-area table's (:attr:`DashboardData.areas`), each
    labelled model-based; a synthetic estimate is in italics. The hover gives the area's
    direct estimate beside it only where Table 1 publishes one: a hidden direct value stays
    hidden. Areas without a model-based estimate are grey, "not estimated".
    """
    ind = data.indicators[indicator]
    area, regions = _map_regions(data, geo)
    where = data.wave_label(wave, lang)
    name = {code: data.code_label(area, code, lang) for code in regions}
    models = {code: data.area_cell(ind.id, wave, code) for code in regions}
    found = {c: m for c, m in models.items() if m is not None and math.isfinite(m.estimate)}
    values = {c: m.estimate for c, m in found.items()}
    hovers = {}
    for c, model in found.items():
        cell = data.cell(ind.id, wave, make_key(**{area: c}))
        hovers[c] = _model_hover(ind, model, cell, name[c], where, lang)
    nothing = Cell("not_estimated")
    greys = {
        c: (_NO_VALUE_LEVEL["not_estimated"], _no_value_hover(nothing, name[c], where, lang, 0))
        for c in regions
        if c not in found
    }
    labels = {
        c: (
            ind.cell_text(nothing, lang)
            if c not in found
            else _italic(ind.value(found[c].estimate, lang), found[c].kind == "synthetic")
        )
        for c in regions
    }
    notes = [say("map_model_note", lang), dk_note([ind], lang)]
    subtitle = say("map_model_subtitle", lang, wave=where)
    parts = _MapParts(regions, name, values, hovers, greys, labels)
    grey = state_word("not_estimated", lang)
    spec = _map_spec(data, ind, geo, lang, parts, subtitle, notes, grey)
    if not found:
        spec["layout"]["annotations"].append(_message(say("map_model_none", lang)))
    return spec


@dataclass(frozen=True)
class _MapParts:
    """What a map shows per area: values and hovers, grey levels and hovers, labels."""

    regions: list[int]
    name: dict[int, str]
    values: dict[int, float]
    hovers: dict[int, str]
    greys: dict[int, tuple[float, str]]
    labels: dict[int, str]


def _map_regions(data: DashboardData, geo: GeoJson) -> tuple[str, list[int]]:
    """Return the map's area column and the codes of its drawn areas, in the file's order."""
    area = data.survey.map_variable or ""
    known = set(data.codes(area))
    regions = [f["properties"][CODE_PROPERTY] for f in geo["features"]]
    return area, [code for code in regions if code in known]


def _map_spec(
    data: DashboardData,
    ind: Indicator,
    geo: GeoJson,
    lang: Lang,
    parts: _MapParts,
    subtitle: str,
    notes: list[str],
    grey_name: str,
) -> Spec:
    """Return a map: the valued areas in colour, the others in grey, a label on each."""
    zmin, zmax = indicator_range(data, ind)
    common = {"geojson": geo, "featureidkey": f"properties.{CODE_PROPERTY}"}
    valued = [c for c in parts.regions if c in parts.values]
    others = [c for c in parts.regions if c in parts.greys]
    traces: list[Spec] = [
        {
            "type": "choropleth",
            **common,
            "locations": valued,
            "z": [parts.values[c] * ind.scale for c in valued],
            **_colours(ind, lang, zmin, zmax),
            "colorbar": {**_colour_bar(ind, lang), "len": 0.8},
            "marker": {"line": {"color": "white", "width": 1.5}},
            "customdata": [parts.hovers[c] for c in valued],
            "hovertemplate": "%{customdata}<extra></extra>",
            "name": pick(ind.label, lang),
        }
    ]
    if others:
        traces.append(
            {
                "type": "choropleth",
                **common,
                "locations": others,
                "z": [parts.greys[c][0] for c in others],
                "zmin": 0,
                "zmax": 1,
                "colorscale": NO_VALUE_COLORS,
                "showscale": False,
                "marker": {"line": {"color": "white", "width": 1.5}},
                "customdata": [parts.greys[c][1] for c in others],
                "hovertemplate": "%{customdata}<extra></extra>",
                "name": grey_name,
            }
        )
    points = [centroid(geo, code) for code in parts.regions]
    traces.append(
        {
            "type": "scattergeo",
            "mode": "text",
            "lon": [p[0] for p in points],
            "lat": [p[1] for p in points],
            "text": [
                f"{_wrap(parts.name[c], 14)}<br><b>{parts.labels[c]}</b>" for c in parts.regions
            ],
            "textfont": {"size": 11, "color": "#111111", "shadow": "1px 1px 2px white"},
            "hoverinfo": "skip",
            "showlegend": False,
        }
    )
    layout = _layout(lang, pick(ind.label, lang), subtitle, 560)
    layout["geo"] = {
        "fitbounds": "locations",
        "visible": False,
        "scope": "world",
        "resolution": 110,
        "projection": {"type": "mercator"},
        "bgcolor": "rgba(0,0,0,0)",
    }
    layout["margin"] = {"l": 10, "r": 10, "t": 80, "b": 80}
    layout["annotations"] = [{**_footnote(notes), "yshift": -10}]
    _set_bottom(layout, 20 + _footnote_height(notes))
    return {"data": traces, "layout": layout}


def _model_hover(
    ind: Indicator, model: AreaCell, cell: Cell, title: str, where: str, lang: Lang
) -> str:
    """Return the hover of a model-based estimate: its basis, interval, CV and direct value."""
    lines = [
        f"<b>{title}</b>",
        f"{where}: {ind.value(model.estimate, lang)} ({say(f'area_kind.{model.kind}', lang)})",
        f"{say('ci95', lang)} {ind.ci(model.ci_low, model.ci_high, lang)}",
    ]
    if math.isfinite(model.cv):
        lines.append(f"{say('area_cv', lang)} {_cv_text(model.cv, lang)}")
    direct = say("area_direct", lang)
    if cell.state == "value":
        text = ind.value(cell.estimate, lang)
        cv = _cv(cell.se, cell.estimate)
        if math.isfinite(cv):
            text += f" ({say('area_cv', lang)} {_cv_text(cv, lang)})"
        lines.append(f"{direct}: {text}")
        if cell.n is not None:
            lines.append(f"n = {cell.n}")
    else:
        lines.append(f"{direct}: {state_word(cell.state, lang)}")
    return "<br>".join(lines)


def _cv(se: float, estimate: float) -> float:
    """Return a direct estimate's coefficient of variation, NaN when it has none."""
    if not (math.isfinite(se) and math.isfinite(estimate)) or estimate == 0:
        return math.nan
    return abs(se / estimate)


def _cv_text(cv: float, lang: Lang) -> str:
    """Write a coefficient of variation as a percentage: ``CV 8.1%``."""
    return number(100 * cv, 1, lang) + percent_sign(lang)


def _italic(text: str, italic: bool) -> str:
    """Return the text in italics (a synthetic estimate on the map) or as it is."""
    return f"<i>{text}</i>" if italic else text


# --------------------------------------------------------------------------- heatmap


def heatmap_figure(
    data: DashboardData, indicator: str, lang: Lang, dimensions: Sequence[str]
) -> Spec:
    """Return the latest estimate by a crossed domain set (``dimensions``).

    Its last column goes across; the others nest down the rows: everyone, then each code of the
    first, then each code of the first two, and so on.
    """
    ind = data.indicators[indicator]
    wave = data.latest_wave(ind.id)
    *nested, across = dimensions
    rows: list[dict[str, int]] = [{}]
    for size in range(1, len(nested) + 1):
        for subset in itertools.combinations(nested, size):
            level: list[dict[str, int]] = [{}]
            for column in subset:
                level = [{**r, column: code} for r in level for code in data.codes(column)]
            rows += level
    columns: list[int | None] = [None, *data.codes(across)]
    row_names = [_row_name(data, r, lang) for r in rows]
    upright = len(columns) > 5  # many columns: labels upright, on one line each
    column_names = [
        _wrap(say("national", lang) if c is None else data.code_label(across, c, lang), 12)
        for c in columns
    ]
    if upright:
        column_names = [name.replace("<br>", " ") for name in column_names]
    grid = [[data.cell(ind.id, wave, domain_key({**r, across: c})) for c in columns] for r in rows]
    where = data.wave_label(wave, lang)

    def name(i: int, j: int) -> str:
        return f"{row_names[i]} · {column_names[j].replace('<br>', ' ')}"

    values = [[c.estimate * ind.scale if c.state == "value" else None for c in row] for row in grid]
    zmin, zmax = indicator_range(data, ind)
    wide = IMPRECISE_SHARE * (zmax - zmin) if ind.unit != "percent" else IMPRECISE_POINTS
    axes = {"x": column_names, "y": row_names, "xgap": 2, "ygap": 2}
    blank = [
        [_NO_VALUE_LEVEL[c.state] if c.state != "value" else None for c in row] for row in grid
    ]
    traces: list[Spec] = [
        {
            "type": "heatmap",
            **axes,
            "z": blank,
            "zmin": 0,
            "zmax": 1,
            "colorscale": NO_VALUE_COLORS,
            "showscale": False,
            "text": [[_blank_word(c, lang) for c in row] for row in grid],
            "texttemplate": "%{text}",
            "textfont": {"size": 10, "color": "#333333"},
            "customdata": [
                [
                    _no_value_hover(c, name(i, j), where, lang, data.suppress_below)
                    if c.state != "value"
                    else ""
                    for j, c in enumerate(row)
                ]
                for i, row in enumerate(grid)
            ],
            "hovertemplate": "%{customdata}<extra></extra>",
            "name": say("suppressed", lang),
        },
        {
            "type": "heatmap",
            **axes,
            "z": values,
            **_colours(ind, lang, zmin, zmax),
            "text": [
                [
                    _imprecise(c, ind, wide) + ind.cell_text(c, lang, decimals=ind.decimals - 1)
                    if c.state == "value"
                    else ""
                    for c in row
                ]
                for row in grid
            ],
            "texttemplate": "%{text}",
            "textfont": {"size": 11},
            "customdata": [
                [
                    _hover(ind, c, name(i, j), where, lang, data.flag_below)
                    if c.state == "value"
                    else ""
                    for j, c in enumerate(row)
                ]
                for i, row in enumerate(grid)
            ],
            "hovertemplate": "%{customdata}<extra></extra>",
            "name": pick(ind.label, lang),
        },
    ]
    by = ", ".join(data.column_label(c, lang).lower() for c in dimensions)
    subtitle = f"{where} · {say('by_groups', lang)} {by}"
    layout = _layout(lang, pick(ind.label, lang), subtitle, 130 + 34 * len(rows) + 60)
    layout["xaxis"] = {
        "side": "top",
        "showgrid": False,
        "tickangle": -90 if upright else 0,
        "automargin": True,
    }
    layout["yaxis"] = {"autorange": "reversed", "showgrid": False, "automargin": True}
    # Room above the grid for the title and the column labels (upright: about 7 px a letter).
    top = 90 + 7 * max(len(name) for name in column_names) if upright else 150
    layout["margin"] = {"l": 10, "r": 30, "t": top, "b": 80}
    layout["height"] += top - 150
    layout["title"].update({"yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 12}})
    notes = [say("flagged_note", lang, mark=FLAG_MARK, flag=data.flag_below)]
    notes.append(say("suppressed_note", lang, suppress=data.suppress_below))
    notes.append(dk_note([ind], lang))
    if any(_imprecise(c, ind, wide) for row in grid for c in row):
        width = number(wide, ind.decimals - 1, lang)
        width += f" {points(lang)}" if ind.unit == "percent" else ""
        notes.append(say("imprecise_note", lang, width=width))
    if any(c.state == "not_estimated" for row in grid for c in row):
        notes.append(say("not_estimated_note", lang))
    layout["annotations"] = [{**_footnote(notes), "yshift": -10}]
    _set_bottom(layout, 20 + _footnote_height(notes))
    return {"data": traces, "layout": layout}


def _blank_word(cell: Cell, lang: Lang) -> str:
    """Return the word of a heatmap cell without a value ("–" when not estimated)."""
    if cell.state == "value":
        return ""
    return "–" if cell.state == "not_estimated" else state_word(cell.state, lang)


def _row_name(data: DashboardData, codes: dict[str, int], lang: Lang) -> str:
    """Return the label of a heatmap row: everyone, or its codes' labels joined by " · "."""
    if not codes:
        return say("everyone", lang)
    return ", ".join(data.code_label(column, code, lang) for column, code in codes.items())


#: A heatmap cell whose 95% interval is wider than this (points, or share of the colour range
#: for scores) carries IMPRECISE_MARK.
IMPRECISE_POINTS = 20.0
IMPRECISE_SHARE = 0.2
IMPRECISE_MARK = "~"


def _imprecise(cell: Cell, ind: Indicator, wide: float) -> str:
    """Return the imprecision mark of a cell with a wide interval, else ""."""
    if cell.state != "value":
        return ""
    return IMPRECISE_MARK if (cell.ci_high - cell.ci_low) * ind.scale > wide else ""


def indicator_range(data: DashboardData, ind: Indicator) -> tuple[float, float]:
    """Return the indicator's colour range, the same in every view and wave.

    Percentages and indices span 0-100, net scores -100 to +100, gaps a range symmetric about
    0; other scores (means) the span of every published value of the indicator (all waves and
    groups).
    """
    if ind.type in ("proportion", "index"):
        return 0.0, 100.0
    if ind.type == "net":
        return -100.0, 100.0
    values = [
        cell.estimate * ind.scale
        for (ident, _, _), cell in data.cells.items()
        if ident == ind.id and cell.state == "value"
    ]
    if ind.type == "gap":
        edge = max((abs(v) for v in values), default=1.0) or 1.0
        return -edge, edge
    return _range(values)


# --------------------------------------------------------------------------- drivers

SIGNIFICANT_COLOR = "#0072B2"
NOT_SIGNIFICANT_COLOR = "#8c8c8c"


def drivers_figure(data: DashboardData, indicator: str, wave: str, lang: Lang) -> Spec:
    """Return the marginal effects of an indicator's drivers in a wave (dot and whisker).

    One row per driver level, under its driver's heading, with the effect against the
    driver's reference level and its 95% CI; a suppressed level shows its word, no dot.
    Dots whose interval excludes zero are blue, the others grey; flagged ones are hollow.
    """
    ind = data.indicators[indicator]
    effects = data.driver_effects(indicator, wave)
    where = data.wave_label(wave, lang)
    title = say("drivers_title", lang, label=pick(ind.label, lang))
    models = {e.n for e in effects if e.n is not None}
    subtitle = where + (f" · n = {max(models)}" if models else "")
    ticks: list[str] = []
    positions: list[float] = []
    x: list[float] = []
    y: list[float] = []
    plus: list[float] = []
    minus: list[float] = []
    hover: list[str] = []
    colors: list[str] = []
    symbols: list[str] = []
    annotations: list[dict[str, Any]] = []
    drivers: list[str] = []
    row = 0
    for effect in effects:
        if effect.driver not in drivers:
            drivers.append(effect.driver)
            reference = say("drivers_reference", lang, level=pick(effect.reference_label, lang))
            ticks.append(f"<b>{pick(effect.driver_label, lang)}</b> ({reference})")
            positions.append(row)
            row += 1
        ticks.append(_wrap(pick(effect.level_label, lang), 40))
        positions.append(row)
        name = f"{pick(effect.driver_label, lang)}: {pick(effect.level_label, lang)}"
        if effect.suppressed:
            annotations.append(_effect_note(say("suppressed", lang), row))
        else:
            x.append(effect.estimate)
            y.append(row)
            plus.append(effect.ci_high - effect.estimate)
            minus.append(effect.estimate - effect.ci_low)
            clear = effect.ci_low > 0 or effect.ci_high < 0
            colors.append(SIGNIFICANT_COLOR if clear else NOT_SIGNIFICANT_COLOR)
            symbols.append("circle-open" if effect.flagged else "circle")
            hover.append(_effect_hover(effect, name, lang, data.flag_below))
        row += 1
    traces: list[Spec] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": title,
            "x": x,
            "y": y,
            "customdata": hover,
            "hovertemplate": "%{customdata}<extra></extra>",
            "marker": {
                "color": colors,
                "size": 10,
                "symbol": symbols,
                "line": {"width": 2, "color": colors},
            },
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": plus,
                "arrayminus": minus,
                "color": "#666666",
                "thickness": 1.5,
                "width": 4,
            },
            "showlegend": False,
        }
    ]
    layout = _layout(lang, _wrap(title, 90), subtitle, 190 + 30 * max(row, 3))
    unit = effects[0].unit if effects else "percentage points"
    axis_unit = say("percent_points", lang) if unit == "percentage points" else say("score", lang)
    layout["xaxis"] = _difference_axis(f"{say('drivers_axis', lang)} ({axis_unit})")
    layout["yaxis"] = _row_axis(positions, ticks, [row - 0.5, -0.5])
    layout["margin"]["t"] = 100 if "<br>" in layout["title"]["text"] else 80
    if not effects:
        annotations.append(_message(say("drivers_no_model", lang)))
    factors = ", ".join(pick(label, lang) for label in _driver_labels(effects))
    notes = [
        say("drivers_caveat", lang, factors=factors) if factors else say("drivers_causes", lang),
        say("drivers_small", lang, suppress=data.suppress_below),
        say("flagged_note", lang, mark="○", flag=data.flag_below),
    ]
    annotations.append({**_footnote(notes), "yshift": -58})
    _set_bottom(layout, 58 + _footnote_height(notes))
    layout["annotations"] = annotations
    return {"data": traces, "layout": layout}


def _driver_labels(effects: Sequence[Effect]) -> list[Label]:
    """Return the labels of the drivers in a model, once each, in table order."""
    seen: dict[str, Label] = {}
    for effect in effects:
        seen.setdefault(effect.driver, effect.driver_label)
    return list(seen.values())


def _effect_hover(effect: Effect, name: str, lang: Lang, flag_below: int) -> str:
    """Return the hover text of a published effect."""
    suffix = NBSP + points(lang)
    low = number(effect.ci_low, 1, lang, signed=True)
    high = number(effect.ci_high, 1, lang, signed=True)
    reference = say("drivers_reference", lang, level=pick(effect.reference_label, lang))
    lines = [
        f"<b>{name}</b>",
        f"{reference}: {number(effect.estimate, 1, lang, signed=True)}{suffix}",
        f"{say('ci95', lang)} {interval(low, high, lang)}",
        f"n = {effect.n_level} ({reference}: {effect.n_reference})",
    ]
    if effect.flagged:
        lines.append(say("flagged_note", lang, mark="○", flag=flag_below))
    return "<br>".join(lines)


def _effect_note(text: str, y: float) -> dict[str, Any]:
    """Return the word shown on the row of a level without a published effect."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "y",
        "x": 0.5,
        "y": y,
        "showarrow": False,
        "font": {"size": 11, "color": GREY_TEXT},
    }
