"""Build the dashboard from the published tables: check them, draw every figure, write one file."""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from perception.config import Catalogue, IndicatorCatalogue, Label, SurveyConfig
from perception.dashboard.data import DashboardData, prepare
from perception.dashboard.figures import Spec, all_figures
from perception.dashboard.geo import GeoJson, load_geojson
from perception.dashboard.page import BiText, render_page
from perception.errors import ConfigError, ValidationError
from perception.storage import Recent, atomic_write, content_sha256, file_sha256
from perception.words import LANGS, Lang, say

__all__ = ["build_dashboard", "dashboard_figures", "question_wording"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Drawing:
    """The dashboard's data, boundaries (or why there are none) and figures in every language."""

    data: DashboardData
    geo: GeoJson | None
    map_problem: BiText | None
    figures: Mapping[Lang, Mapping[str, Spec]]


#: Drawings and pages made in this process, by the digest of their inputs: the pipeline builds
#: the page, the readback rebuilds it from equal tables, the chart images take its figures.
_DRAWN: Recent[_Drawing] = Recent(2)
_PAGES: Recent[str] = Recent(2)


def _draw(
    tables: Mapping[str, pd.DataFrame],
    catalogue: Catalogue,
    survey: SurveyConfig,
    benchmark_labels: Mapping[str, Label],
    geojson_path: str | Path | None,
) -> tuple[str, _Drawing]:
    """Return the drawing of the tables and its key, drawn once per content of its inputs."""
    boundaries = Path(geojson_path) if geojson_path is not None else None
    key = content_sha256(
        *(part for name in sorted(tables) for part in (name, tables[name])),
        catalogue,
        survey,
        dict(benchmark_labels),
        None if boundaries is None else str(boundaries),
        file_sha256(boundaries) if boundaries is not None and boundaries.is_file() else None,
    )

    def make() -> _Drawing:
        data = prepare(
            tables, catalogue=catalogue, survey=survey, benchmark_labels=benchmark_labels
        )
        geo, problem = _geography(data, geojson_path)
        return _Drawing(data, geo, problem, {code: all_figures(data, code, geo) for code in LANGS})

    return key, _DRAWN.get(key, make)


def build_dashboard(
    tables: Mapping[str, pd.DataFrame],
    *,
    catalogue: Catalogue,
    survey: SurveyConfig,
    benchmark_labels: Mapping[str, Label],
    out_path: str | Path,
    generated_at: datetime,
    geojson_path: str | Path | None = None,
    lang: Lang = "en",
    heatmap_indicator: str | None = None,
    questions: Mapping[str, Sequence[Label]] | None = None,
) -> Path:
    """Write the offline, bilingual leadership dashboard as one self-contained HTML file.

    ``tables`` are the published, disclosure-controlled tables, keyed by their export names:
    ``indicator_estimates``, ``indicator_trends``, ``benchmark_status`` and ``methodology``
    (the exports' DuckDB tables), optionally ``indicator_drivers`` and
    ``small_area_estimates`` (the map's model-based view). Tables 1 and 2 without the
    disclosure columns, or with a value in a suppressed row, are refused with a
    :class:`~perception.errors.ValidationError`, as is a small-area table that gives an area
    hidden in Table 1 more than a synthetic estimate.
    Indicator labels, directions, targets and statuses come from ``benchmark_status``;
    benchmark labels from ``benchmark_labels`` (config/indicators.yaml); region, sex and age
    labels from ``catalogue``; the title and wave labels from ``survey``.

    The map uses ``geojson_path`` (default: ``survey.geojson``), whose features carry the codes
    of ``survey.map_variable``. Without boundaries, or when the file is missing or invalid, or
    lacks an area of the data, the dashboard is still written, without the map, and its map
    panel says why (a :class:`~perception.errors.ConfigError`'s reason is also logged as a
    warning). Call :func:`~perception.dashboard.load_geojson` first to fail instead.

    The heatmap crosses the domain set with the most columns of the first indicator published
    in a crossed set (:meth:`~perception.dashboard.data.DashboardData.heatmap_columns`);
    without any crossed set the page has no heatmap and its panel says why.

    ``generated_at`` is printed in the page; with the same inputs the file is byte-identical.
    ``lang`` is the language the page opens in; ``heatmap_indicator`` the indicator the
    heatmap opens on (default: the one its dimensions come from). ``questions`` gives, per
    indicator, the wording of the questions behind it (:func:`question_wording`); the
    methodology panel quotes them.
    Returns ``out_path``, written atomically. A page already built in this process from
    inputs of equal content is written as it was built (the readback audit's rebuild).
    """
    drawn, drawing = _draw(tables, catalogue, survey, benchmark_labels, geojson_path)
    questions = dict(questions or {})
    key = content_sha256(drawn, generated_at, lang, heatmap_indicator, questions)
    page = _PAGES.get(
        key,
        lambda: render_page(
            drawing.data,
            drawing.figures,
            geo=drawing.geo,
            map_problem=drawing.map_problem,
            generated_at=generated_at,
            lang=lang,
            heatmap_indicator=_heatmap_indicator(drawing.data, heatmap_indicator),
            questions=questions,
        ),
    )
    encoded = page.encode("utf-8")

    def write(stream: BinaryIO) -> None:
        stream.write(encoded)

    return atomic_write(out_path, write)


def question_wording(
    indicators: IndicatorCatalogue, catalogue: Catalogue
) -> dict[str, list[Label]]:
    """Return, per indicator, the catalogue's wording of the questions it is computed from."""
    out: dict[str, list[Label]] = {}
    for ind in indicators.indicators:
        items = [catalogue.variables[name] for name in ind.items or []]
        wording = [var.question for var in items if var.question is not None]
        if wording:
            out[ind.id] = wording
    return out


def page_inputs(
    survey: SurveyConfig, catalogue: Catalogue, indicators: IndicatorCatalogue
) -> dict[str, Any]:
    """Return the keyword arguments of :func:`build_dashboard` beside the tables and times.

    The pipeline builds the page with them and the readback audit rebuilds it with them;
    :func:`dashboard_figures` takes the same without ``questions``.
    """
    return {
        "catalogue": catalogue,
        "survey": survey,
        "benchmark_labels": {k: b.label for k, b in indicators.benchmarks.items()},
        "geojson_path": survey.resolve(survey.geojson) if survey.geojson else None,
        "questions": question_wording(indicators, catalogue),
    }


def dashboard_figures(
    tables: Mapping[str, pd.DataFrame],
    *,
    catalogue: Catalogue,
    survey: SurveyConfig,
    benchmark_labels: Mapping[str, Label],
    geojson_path: str | Path | None = None,
    lang: Lang = "en",
) -> dict[str, Spec]:
    """Return every figure of the dashboard in one language, keyed ``view|indicator|choice``.

    The keys are ``gaps`` (every gap, national), ``gaps|<gap>`` (one gap by group),
    ``trends|<indicator>|<breakdown>``, ``map|<indicator>|<wave>`` (only when the boundaries
    load; ``map|<indicator>|<wave>|model`` too with small-area estimates at the map's level)
    and ``heatmap|<indicator>``; each value is a Plotly figure
    dict, ready for :func:`~perception.dashboard.export_images` or ``go.Figure``. The figures
    of a page built in this process from equal tables are returned (as copies), not redrawn.
    """
    _, drawing = _draw(tables, catalogue, survey, benchmark_labels, geojson_path)
    return copy.deepcopy(dict(drawing.figures[lang]))


def _geography(
    data: DashboardData, geojson_path: str | Path | None
) -> tuple[GeoJson | None, BiText | None]:
    """Load the boundaries, or return why the map cannot be drawn."""
    survey = data.survey
    if geojson_path is None and survey.geojson is None:
        return None, lambda code: say("map_not_configured", code)
    area = survey.map_variable
    if area not in data.domains:
        _log.warning("dashboard without its map: map_variable %r is not a domain", area)
        return None, lambda code: f"{say('map_variable_unusable', code)} {area!r}."
    path = Path(geojson_path) if geojson_path is not None else survey.resolve(survey.geojson or "")
    try:
        return load_geojson(path, data.present_codes(area)), None
    except ConfigError as exc:
        _log.warning("dashboard without its map: %s", exc)
        reason = f"{exc.message} ({exc.file}): {exc.found}."
        return None, lambda code: f"{say('map_unavailable', code)} {reason}"


def _heatmap_indicator(data: DashboardData, chosen: str | None) -> str | None:
    """Return the indicator the heatmap opens on (None when there is no heatmap)."""
    candidates = data.ordered_indicators(gaps=False)
    if not candidates:
        raise ValidationError(
            "The published tables have no indicator to chart",
            expected="at least one indicator that is not a gap",
            found=f"only gap indicators: {', '.join(sorted(data.indicators))}",
            hint="pass the full published tables",
            column="indicator",
        )
    ids = [ind.id for ind in candidates]
    heatmap = data.heatmap_columns()
    if heatmap is None:
        return None
    if chosen is not None:
        if chosen not in ids:
            raise ConfigError(
                "The heatmap's indicator is not among the published indicators",
                expected=f"one of {', '.join(ids)}",
                found=repr(chosen),
                hint="pass heatmap_indicator=None to use the default",
            )
        return chosen
    return heatmap[0]
