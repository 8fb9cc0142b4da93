"""Static PNG and SVG copies of the dashboard's figures for reports, drawn by kaleido.

The process's one browser (:mod:`perception.browser`) draws them, offline.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import plotly.io as pio

from perception.browser import render_images
from perception.errors import PerceptionError
from perception.storage import atomic_write, file_sha256

__all__ = ["export_images"]

FORMATS = ("png", "svg", "pdf", "jpeg", "webp")
MANIFEST = "images.json"
"""The file in each image folder recording the hashes of its images' inputs and files."""


def export_images(
    figures: Mapping[str | Path, Mapping[str, Any]],
    formats: Sequence[str] = ("png", "svg"),
    *,
    width: int = 1100,
    scale: float = 2.0,
    publish_when: Callable[[], bool] | None = None,
) -> list[Path]:
    """Write every figure in every format to its folder; return the files written.

    ``figures`` maps an output folder to its figures by name (a
    ``plotly.graph_objects.Figure`` or its dict, such as
    :func:`perception.dashboard.dashboard_figures` returns); every folder is drawn in one
    browser session. The file of figure ``name`` in format ``fmt`` is ``<folder>/<name>.<fmt>``,
    with characters other than letters, digits, ``.``, ``_`` and ``-`` replaced by ``_``
    (``trends|incl|gender`` → ``trends_incl_gender``). Each figure keeps its own layout
    height. A folder's ``images.json`` records the hash of each file's input (figure, format,
    size, plotly and kaleido versions) and of the file: an image whose input and file are
    unchanged is not drawn again. Files appear only once all are rendered, and only when
    ``publish_when``, if given, then returns True (else nothing is written and none returned):
    the pipeline draws the images while it audits the page they go with.
    """
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown or not formats:
        raise PerceptionError(
            "Unknown image format",
            expected=f"formats among {', '.join(FORMATS)}",
            found=", ".join(unknown) or "no format",
            hint='use formats=("png", "svg")',
        )
    versions = [_version("plotly"), _version("kaleido")]
    jobs: list[dict[str, Any]] = []
    manifests: dict[Path, dict[str, dict[str, str]]] = {}
    for out_dir, named in figures.items():
        target = Path(out_dir)
        target.mkdir(parents=True, exist_ok=True)
        recorded = _read_manifest(target)
        manifest = manifests[target] = {}
        for name, fig in named.items():
            text = pio.to_json(fig, validate=False)
            spec = json.loads(text)
            height = int(spec.get("layout", {}).get("height", 500))
            for fmt in formats:
                opts = {"format": fmt, "width": width, "height": height, "scale": scale}
                key = _sha256(json.dumps([text, opts, versions]).encode("utf-8"))
                final = target / f"{_stem(name)}.{fmt}"
                done = recorded.get(final.name, {})
                if done.get("input") == key and _file_sha256(final) == done.get("file"):
                    manifest[final.name] = done
                    continue
                jobs.append({"fig": spec, "final": final, "key": key, "opts": opts})
    if jobs:
        with contextlib.ExitStack() as stack:
            scratch = {  # beside the images, so that moving them in place is atomic
                target: Path(
                    stack.enter_context(tempfile.TemporaryDirectory(prefix=".export-", dir=target))
                )
                for target in {job["final"].parent for job in jobs}
            }
            for number, job in enumerate(jobs):
                job["path"] = scratch[job["final"].parent] / f"{number}.{job['opts']['format']}"
            render_images([{k: job[k] for k in ("fig", "path", "opts")} for job in jobs])
            if publish_when is not None and not publish_when():
                return []
            for job in jobs:
                final = job["final"]
                os.replace(job["path"], final)
                manifests[final.parent][final.name] = {
                    "input": job["key"],
                    "file": file_sha256(final),
                }
    elif publish_when is not None and not publish_when():
        return []
    for target, manifest in manifests.items():
        atomic_write(target / MANIFEST, functools.partial(_write_json, manifest))
    return [job["final"] for job in jobs]


def _write_json(data: object, stream: BinaryIO) -> None:
    """Write data as indented JSON with sorted keys."""
    stream.write(json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))


def _read_manifest(folder: Path) -> dict[str, dict[str, str]]:
    """Return a folder's record of image inputs, empty when absent or unreadable."""
    try:
        found = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _file_sha256(path: Path) -> str | None:
    """Return a file's SHA-256, or None when it does not exist."""
    return file_sha256(path) if path.is_file() else None


def _sha256(data: bytes) -> str:
    """Return the hex SHA-256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def _version(package: str) -> str:
    """Return an installed package's version, or "none"."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _stem(name: str) -> str:
    """Turn a figure name into a safe file name (without extension)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "figure"
