"""PNG and SVG export of the dashboard's figures through kaleido and Debian's Chromium."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from demo_project import DASHBOARD_INPUTS, PROJECT, DemoRun

from perception import browser
from perception.dashboard import dashboard_figures, export_images
from perception.dashboard.images import MANIFEST
from perception.errors import PerceptionError

CHROMIUM = Path("/usr/bin/chromium")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)",
)


def test_exports_png_and_svg(demo: DemoRun, tmp_path: Path) -> None:
    """It writes a non-empty PNG and SVG for each figure, the map included, in French."""
    figures = dashboard_figures(
        demo.tables(),
        catalogue=PROJECT.catalogue,
        survey=PROJECT.survey,
        benchmark_labels=DASHBOARD_INPUTS["benchmark_labels"],
        lang="fr",
    )
    chosen = {
        key: figures[key]
        for key in ("gaps", "map|incl_feel_included|w3", "heatmap|incl_feel_included")
    }
    written = export_images({tmp_path / "images": chosen})
    names = sorted(path.name for path in written)
    assert names == [
        "gaps.png",
        "gaps.svg",
        "heatmap_incl_feel_included.png",
        "heatmap_incl_feel_included.svg",
        "map_incl_feel_included_w3.png",
        "map_incl_feel_included_w3.svg",
    ]
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == sorted([*names, MANIFEST])
    for path in written:
        data = path.read_bytes()
        assert len(data) > 5_000, path
        if path.suffix == ".png":
            assert data.startswith(PNG_MAGIC)
        else:
            text = data.decode("utf-8")
            assert "<svg" in text[:500]
            assert "choroplethlocation" in text or "path" in text
    heatmap = (tmp_path / "images" / "heatmap_incl_feel_included.svg").read_text("utf-8")
    assert "masqué" in heatmap
    region_paths = (tmp_path / "images" / "map_incl_feel_included_w3.svg").read_text("utf-8")
    assert region_paths.count('class="choroplethlocation"') == 8


def test_rejects_unknown_format(tmp_path: Path) -> None:
    """It names an image format it cannot write before starting a browser."""
    with pytest.raises(PerceptionError, match="Unknown image format"):
        export_images({tmp_path: {"x": {"data": [], "layout": {}}}}, formats=("png", "bmp"))


def test_draws_only_images_whose_input_changed(demo: DemoRun, tmp_path: Path) -> None:
    """Both languages in one call; a rerun redraws only a changed figure or a changed file."""
    figures = {
        lang: dashboard_figures(
            demo.tables(),
            catalogue=PROJECT.catalogue,
            survey=PROJECT.survey,
            benchmark_labels=DASHBOARD_INPUTS["benchmark_labels"],
            lang=lang,
        )
        for lang in ("en", "fr")
    }
    chosen = {tmp_path / lang: {"gaps": figures[lang]["gaps"]} for lang in ("en", "fr")}
    first = export_images(chosen, formats=("svg",))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in first) == [
        "en/gaps.svg",
        "fr/gaps.svg",
    ]
    assert export_images(chosen, formats=("svg",)) == []
    (tmp_path / "fr" / "gaps.svg").write_text("<svg/>", encoding="utf-8")  # a file edited by hand
    changed = dict(chosen)
    changed[tmp_path / "en"] = {"gaps": {**figures["en"]["gaps"], "layout": {"height": 321}}}
    redrawn = export_images(changed, formats=("svg",))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in redrawn) == [
        "en/gaps.svg",
        "fr/gaps.svg",
    ]
    assert "<svg/>" not in (tmp_path / "fr" / "gaps.svg").read_text("utf-8")
    assert 'height="321"' in (tmp_path / "en" / "gaps.svg").read_text("utf-8")


def test_a_browser_that_died_is_replaced(tmp_path: Path) -> None:
    """The process keeps one browser; killed, it is replaced on next use, which draws as usual."""
    bar = {"data": [{"type": "bar", "x": ["a", "b"], "y": [1, 2]}], "layout": {"height": 300}}
    export_images({tmp_path / "first": {"bar": bar}}, formats=("svg",))
    session = browser._SESSION
    assert session is not None
    wrapper = session.browser.result().subprocess  # choreographer's wrapper of the Chromium
    (chromium,) = Path(f"/proc/{wrapper.pid}/task/{wrapper.pid}/children").read_text().split()
    os.kill(int(chromium), signal.SIGKILL)  # dies at once (SIGTERM: its wrapper waits 5 s)
    wrapper.wait(30)
    assert export_images({tmp_path / "second": {"bar": bar}}, formats=("svg",))
    assert browser._SESSION is not session
    assert 'height="300"' in (tmp_path / "second" / "bar.svg").read_text("utf-8")
