"""The offline, bilingual (English/French) leadership dashboard.

One self-contained HTML file, built from the published, disclosure-controlled indicator
tables only: a status tally per benchmark with the key findings, a benchmark scorecard, trends
with confidence bands by breakdown, gaps between groups, a regional choropleth from the admin1
GeoJSON, a "who is worse off" heatmap and a methodology panel. plotly.js is inline and the
page makes no request, so it opens from ``file://`` on a laptop without a connection. Every
figure also exports to PNG and SVG.

- :func:`build_dashboard` writes the file;
- :func:`dashboard_figures` returns the figures of one language (for reports);
- :func:`export_images` writes figures as PNG/SVG through kaleido and Chromium;
- :func:`load_geojson` loads and checks the boundaries (a :class:`ConfigError` naming the
  file and the unmatched regions);
- :func:`question_wording` gives each indicator's questions, for the methodology panel.
"""

from __future__ import annotations

from perception.dashboard.build import (
    build_dashboard,
    dashboard_figures,
    page_inputs,
    question_wording,
)
from perception.dashboard.geo import load_geojson
from perception.dashboard.images import export_images

__all__ = [
    "build_dashboard",
    "dashboard_figures",
    "export_images",
    "load_geojson",
    "page_inputs",
    "question_wording",
]
