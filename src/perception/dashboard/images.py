"""Static PNG and SVG copies of the dashboard's figures for reports, through kaleido.

kaleido 1.x drives a local Chrome or Chromium (Debian: ``apt-get install -y chromium``) and
renders with the plotly.js bundled in the plotly package. Two of its defaults would reach the
internet, so both are switched off: MathJax (not loaded) and the world topojson of geo
subplots (registered empty, as in the page).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import plotly.io as pio

from perception.dashboard.geo import GEO_ASSETS_SCRIPT
from perception.errors import PerceptionError

__all__ = ["export_images"]

FORMATS = ("png", "svg", "pdf", "jpeg", "webp")


def export_images(
    figures: Mapping[str, Any],
    out_dir: str | Path,
    formats: Sequence[str] = ("png", "svg"),
    *,
    width: int = 1100,
    scale: float = 2.0,
) -> list[Path]:
    """Write every figure in every format to ``out_dir`` and return the files written.

    ``figures`` maps a name to a figure (a ``plotly.graph_objects.Figure`` or its dict, such as
    :func:`perception.dashboard.dashboard_figures` returns); the file of figure ``name`` in
    format ``fmt`` is ``<out_dir>/<name>.<fmt>``, with characters other than letters, digits,
    ``.``, ``_`` and ``-`` replaced by ``_`` (``trends|incl|gender`` → ``trends_incl_gender``).
    Each figure keeps its own layout height. Files appear only once all are rendered.
    """
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown or not formats:
        raise PerceptionError(
            "Unknown image format",
            expected=f"formats among {', '.join(FORMATS)}",
            found=", ".join(unknown) or "no format",
            hint='use formats=("png", "svg")',
        )
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    specs = {name: json.loads(pio.to_json(fig, validate=False)) for name, fig in figures.items()}
    with tempfile.TemporaryDirectory(dir=target, prefix=".export-") as scratch:
        folder = Path(scratch)
        assets = folder / "geo_assets.js"
        assets.write_text(GEO_ASSETS_SCRIPT, encoding="utf-8")
        jobs = [
            {
                "fig": spec,
                "path": folder / f"{_stem(name)}.{fmt}",
                "opts": {
                    "format": fmt,
                    "width": width,
                    "height": int(spec.get("layout", {}).get("height", 500)),
                    "scale": scale,
                },
            }
            for name, spec in specs.items()
            for fmt in formats
        ]
        _render(jobs, assets)
        written = []
        for job in jobs:
            final = target / job["path"].name
            os.replace(job["path"], final)
            written.append(final)
    return written


def _render(jobs: list[dict[str, Any]], assets: Path) -> None:
    """Render the jobs with kaleido, turning a missing kaleido or browser into a clear error."""
    hint = (
        "install kaleido (pip install kaleido) and Chromium (Debian: apt-get install -y "
        "chromium); kaleido finds chromium on PATH"
    )
    try:
        kaleido = importlib.import_module("kaleido")
        errors = importlib.import_module("kaleido.errors")
    except ImportError as exc:
        raise PerceptionError(
            "Image export needs the kaleido package",
            expected="kaleido 1.x importable",
            found=str(exc),
            hint=hint,
        ) from None
    page = kaleido.PageGenerator(mathjax=False, others=[str(assets)])
    try:
        kaleido.write_fig_from_object_sync(
            jobs, kopts={"page_generator": page}, cancel_on_error=True
        )
    except errors.ChromeNotFoundError as exc:
        raise PerceptionError(
            "Image export needs Chrome or Chromium",
            expected="a chromium or chrome executable on PATH",
            found=str(exc).splitlines()[0],
            hint=hint,
        ) from None


def _stem(name: str) -> str:
    """Turn a figure name into a safe file name (without extension)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "figure"
