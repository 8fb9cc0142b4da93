"""The leadership dashboard in a real browser: Debian's headless Chromium driven by Playwright.

One browser per module. Each page records every request and every console error; the page
must load from ``file://`` with no request leaving it. The tests that only look at the demo
page or act on it share one page (fixture ``opened``), handed over as loaded and put back so
after each test; the tests about loading open their own. Full-page screenshots go to
``test-output/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from demo_project import (
    DASHBOARD_INPUTS,
    HIDDEN,
    PROJECT,
    DemoRun,
    build_page,
    heatmap_suppressed,
    hide_region,
    with_small_areas,
)
from drivers_data import published_drivers
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pypdf import PdfReader

from perception.dashboard.data import prepare
from perception.status import STATUSES
from perception.tables import SMALL_AREAS
from perception.words import entries, say, status_definition, status_word

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
TIMEOUT_MS = 30_000
PLOTS = {"fig-trends", "fig-gaps", "fig-map", "fig-heatmap", "fig-drivers"}
HEADLINE = "incl_feel_included"
TITLES = "els => els.map(e => e.getAttribute('data-title'))"
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
#: Quality of the screenshots, JPEG: Chromium takes half the CPU of a PNG (~0.45 s a page).
JPEG = 85

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)",
)


@dataclass
class Opened:
    """A loaded dashboard page with everything it requested and every error it logged."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def listen(page: Page, opened: Opened) -> Callable[[], None]:
    """Record the page's requests and errors in ``opened``; return what stops recording."""
    handlers: dict[str, Callable[[Any], None]] = {
        "request": lambda request: opened.requests.append(request.url),
        "console": lambda message: (
            opened.errors.append(message.text) if message.type == "error" else None
        ),
        "pageerror": lambda error: opened.errors.append(str(error)),
    }
    for event, handler in handlers.items():
        page.on(event, handler)  # type: ignore[call-overload]

    def stop() -> None:
        for event, handler in handlers.items():
            page.remove_listener(event, handler)

    return stop


def open_dashboard(browser: Browser, path: Path) -> Opened:
    """Open a dashboard file and wait until every figure is drawn."""
    page = browser.new_page(viewport=VIEWPORT)
    opened = Opened(page)
    listen(page, opened)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-rendered='en']", timeout=TIMEOUT_MS)
    return opened


#: What a page shows and how it is shown: language, selections, every figure, texts, scroll,
#: window size and print emulation. Equal to the state after loading = put back as loaded.
STATE = """() => JSON.stringify({
  lang: document.documentElement.lang, rendered: document.body.dataset.rendered,
  hash: location.hash, scroll: [scrollX, scrollY], size: [innerWidth, innerHeight],
  print: matchMedia('print').matches,
  selects: Array.from(document.querySelectorAll('select')).map(s => [s.id, s.value]),
  plots: Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => [el.id,
    el.getAttribute('aria-label'), JSON.stringify(el.data), JSON.stringify(el.layout),
    el.textContent]),
  body: document.body.innerText,
})"""


@dataclass(frozen=True)
class Shared:
    """A page opened once for several tests: what it recorded while loading, and its state."""

    path: Path
    loaded: Opened
    state: str

    @classmethod
    def open(cls, browser: Browser, path: Path) -> Shared:
        """Open a dashboard file and note its state."""
        loaded = open_dashboard(browser, path)
        record = Opened(loaded.page, list(loaded.requests), list(loaded.errors))
        return cls(path, record, loaded.page.evaluate(STATE))

    @contextmanager
    def handed(self) -> Iterator[Opened]:
        """Hand the page over as loaded, recording the test's requests and errors after the load's.

        Afterwards put it back as loaded (print emulation, size, language, selections, scroll)
        and check that it is.
        """
        page = self.loaded.page
        assert page.evaluate(STATE) == self.state, "the shared page is not as loaded"
        opened = Opened(page, list(self.loaded.requests), list(self.loaded.errors))
        stop = listen(page, opened)
        try:
            yield opened
        finally:
            stop()
        page.emulate_media(media="null")
        page.set_viewport_size(VIEWPORT)
        page.evaluate("() => window.scrollTo(0, 0)")
        for ident, value in json.loads(self.state)["selects"]:
            if page.eval_on_selector(f"#{ident}", "s => s.value") != value:
                page.select_option(f"#{ident}", value)
        if page.evaluate(STATE) != self.state:  # French, or resized for print: draw anew
            page.click("#lang-en")
        with suppress(PlaywrightTimeout):  # the assertion below shows what differs
            page.wait_for_function(
                f"state => ({STATE})() === state", arg=self.state, polling=100, timeout=TIMEOUT_MS
            )
        assert page.evaluate(STATE) == self.state, "the test left the shared page changed"


def texts(page: Page, selector: str) -> list[str]:
    """Return the text of every SVG text element under ``selector``."""
    result: list[str] = page.eval_on_selector_all(
        f"{selector} text", "nodes => nodes.map(n => n.textContent)"
    )
    return result


def switch(page: Page, lang: str) -> None:
    """Click a language button and wait until every figure is redrawn."""
    page.click(f"#lang-{lang}")
    page.wait_for_selector(f"body[data-rendered='{lang}']", timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Launch Debian's Chromium once for the module."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def tables(demo: DemoRun) -> dict[str, pd.DataFrame]:
    """Return the demo run's tables, a region cell hidden, and drivers with a suppressed level."""
    hidden = hide_region(demo.tables(), *HIDDEN)
    return hidden | {"indicator_drivers": published_drivers()}


@pytest.fixture(scope="module")
def dashboard(tables: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the demo dashboard."""
    return build_page(tables, tmp_path_factory.mktemp("browser") / "demo.html")


@pytest.fixture(scope="module")
def demo_page(browser: Browser, dashboard: Path) -> Iterator[Shared]:
    """Open the demo dashboard once for the module."""
    shared = Shared.open(browser, dashboard)
    yield shared
    shared.loaded.page.close()


@pytest.fixture
def opened(demo_page: Shared) -> Iterator[Opened]:
    """Hand a test the demo page as loaded (English, default selections, 1280x900, at the top)."""
    with demo_page.handed() as opened:
        yield opened


@pytest.fixture(scope="module")
def areas(
    tables: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pd.DataFrame]:
    """Return the tables with small-area estimates by region, and without a drivers table."""
    others = {k: v for k, v in tables.items() if k != "indicator_drivers"}
    return with_small_areas(others, tmp_path_factory.mktemp("areas"))


@pytest.fixture(scope="module")
def areas_page(
    browser: Browser, areas: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shared]:
    """Open, once for the module, the dashboard of the tables with small areas and no drivers."""
    shared = Shared.open(browser, build_page(areas, tmp_path_factory.mktemp("areas") / "a.html"))
    yield shared
    shared.loaded.page.close()


@pytest.fixture
def areas_opened(areas_page: Shared) -> Iterator[Opened]:
    """Hand a test the page with small areas and no drivers as loaded (as ``opened`` does)."""
    with areas_page.handed() as opened:
        yield opened


def test_loads_offline_without_errors(opened: Opened, dashboard: Path) -> None:
    """It loads with no console error and no request other than the file itself."""
    assert opened.errors == []
    assert opened.requests == [dashboard.as_uri()]


def test_every_chart_has_rendered_data(opened: Opened) -> None:
    """It draws every figure with data: traces with points, and their SVG marks."""
    plots = opened.page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => ({
            id: el.id,
            traces: el.data.length,
            points: el.data.map(t => (t.y || t.z || t.locations || []).length),
            marks: el.querySelectorAll('.point, .choroplethlocation, .hm, .js-line').length,
        }))"""
    )
    assert {p["id"] for p in plots} == PLOTS
    for plot in plots:
        assert plot["traces"] > 0, plot
        assert max(plot["points"]) > 0, plot
        assert plot["marks"] > 0, plot


def test_map_shows_every_region(opened: Opened) -> None:
    """It colours a shape for each of the 8 regions, from the GeoJSON."""
    located = opened.page.evaluate(
        """() => document.getElementById('fig-map').data
            .filter(t => t.type === 'choropleth')
            .reduce((n, t) => n + t.locations.length, 0)"""
    )
    regions = json.loads(Path(DASHBOARD_INPUTS["geojson_path"]).read_text(encoding="utf-8"))[
        "features"
    ]
    assert located == len(regions) == 8
    drawn = opened.page.locator("#fig-map .choroplethlocation").count()
    assert drawn == 8


def test_suppressed_cell_renders_as_suppressed(
    opened: Opened, tables: dict[str, pd.DataFrame]
) -> None:
    """It writes "suppressed" in each suppressed heatmap cell, with no number drawn there."""
    hidden = heatmap_suppressed(tables["indicator_estimates"])
    words = texts(opened.page, "#fig-heatmap")
    assert words.count("suppressed") == len(hidden) > 0
    z = opened.page.evaluate("() => document.getElementById('fig-heatmap').data[1].z")
    blank = opened.page.evaluate("() => document.getElementById('fig-heatmap').data[0].text")
    for row_values, row_words in zip(z, blank, strict=True):
        for value, word in zip(row_values, row_words, strict=True):
            assert (word == "suppressed") <= (value is None)


def headline(tables: dict[str, pd.DataFrame], lang: str) -> str:
    """Return the label of the headline indicator (the one each view opens on) in Table 3."""
    return str(tables["benchmark_status"].set_index("indicator").loc[HEADLINE, f"label_{lang}"])


def test_language_switch_changes_every_label(
    opened: Opened, dashboard: Path, tables: dict[str, pd.DataFrame]
) -> None:
    """It turns headings, selectors, figure titles and notes into French, and back."""
    page = opened.page
    english = page.inner_text("body")
    assert page.inner_text("#trends h2") == "Trends"
    assert "suppressed" in texts(page, "#fig-heatmap")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "dashboard_en.jpg"), full_page=True, quality=JPEG)
    switch(page, "fr")
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.inner_text("#trends h2") == "Tendances"
    assert page.inner_text("#methodology h2") == "Méthodologie"
    assert page.inner_text("h1") == PROJECT.survey.title.fr
    option = page.eval_on_selector("#trends-breakdown option[value='gender']", "o => o.text")
    assert option == "Sexe"
    title = page.eval_on_selector("#fig-trends text.gtitle", "n => n.textContent")
    assert title == headline(tables, "fr")
    assert page.eval_on_selector("#fig-trends text.gtitle-subtitle", "n => n.textContent") == "Sexe"
    assert "masqué" in texts(page, "#fig-heatmap")
    assert "suppressed" not in texts(page, "#fig-heatmap")
    assert "Vague 3 (août 2026)" in texts(page, "#fig-map")
    assert "Vague 3 (août 2026)" in texts(page, "#fig-gaps")
    french = page.inner_text("body")
    assert french != english
    for word in ("Benchmark scorecard", "Since baseline", "On track", "Regional map"):
        assert word in english
        assert word not in french
    page.screenshot(path=str(OUTPUT / "dashboard_fr.jpg"), full_page=True, quality=JPEG)
    switch(page, "en")
    assert page.inner_text("body") == english
    assert opened.errors == []
    assert opened.requests == [dashboard.as_uri()]


def test_selectors_redraw_and_show_not_asked(opened: Opened, dashboard: Path) -> None:
    """It redraws on a new selection: "not asked" for a missing wave, grey suppressed regions."""
    page = opened.page
    page.select_option("#trends-indicator", "mission_protects")
    page.select_option("#trends-breakdown", "national")
    page.wait_for_function(
        "() => document.getElementById('fig-trends').textContent.includes('Not asked')",
        timeout=TIMEOUT_MS,
    )
    assert "Not asked in this wave" in texts(page, "#fig-trends")
    first = page.evaluate(
        "() => document.getElementById('fig-trends').data.find(t => t.mode === 'lines+markers').y"
    )
    assert first[0] is None
    assert all(value is not None for value in first[1:])
    page.select_option("#map-indicator", HIDDEN[0])
    page.wait_for_function(
        "() => document.getElementById('fig-map').textContent.includes('suppressed')",
        timeout=TIMEOUT_MS,
    )
    grey = page.evaluate("() => document.getElementById('fig-map').data[1].locations.length")
    assert grey > 0
    assert page.locator("#fig-map .choroplethlocation").count() == 8
    assert opened.errors == []
    assert opened.requests == [dashboard.as_uri()]


def _model_view(page: Page, indicator: str, word: str) -> dict[str, list[object]]:
    """Show an indicator's model-based map of the last wave; return its drawn values and hovers."""
    page.select_option("#map-indicator", indicator)
    page.select_option("#map-basis", "model")
    page.wait_for_function(
        f"() => document.getElementById('fig-map').textContent.includes({json.dumps(word)})",
        timeout=TIMEOUT_MS,
    )
    shown: dict[str, list[object]] = page.evaluate(
        """() => { const t = document.getElementById('fig-map').data[0];
                   return {locations: t.locations, z: t.z, hovers: t.customdata}; }"""
    )
    return shown


def test_map_switches_to_model_based_estimates_in_english_and_french(
    areas_opened: Opened, areas_page: Shared, areas: dict[str, pd.DataFrame]
) -> None:
    """The map's model-based view shows the published small-area table, labelled as such.

    In English and in French: every drawn value equals the table's estimate, every hover says
    model-based and gives the CV; the region hidden in Table 1 shows its synthetic estimate
    while its direct value stays hidden; switching back shows the direct estimates.
    """
    data = prepare(
        areas,
        catalogue=PROJECT.catalogue,
        survey=PROJECT.survey,
        benchmark_labels=DASHBOARD_INPUTS["benchmark_labels"],
    )
    estimates = areas[SMALL_AREAS]
    opened = areas_opened
    page = opened.page
    indicator, region = HIDDEN
    for lang, word, each, kind in (
        ("en", "model-based", "model-based", "model-based, synthetic"),
        ("fr", "fondées sur un modèle", "fondée sur un modèle", "modèle, synthétique"),
    ):
        if lang == "fr":
            switch(page, "fr")
        for ident in (HEADLINE, indicator):
            shown = _model_view(page, ident, word)
            rows = estimates[
                estimates["indicator"].eq(ident)
                & estimates["wave"].eq(data.waves[-1])
                & estimates["variant"].eq("all")
                & estimates["domain_set"].eq("region")
            ].set_index("area")
            assert sorted(shown["locations"]) == sorted(int(a) for a in rows.index)
            scale = data.indicators[ident].scale
            want = [rows.loc[code, "estimate"] * scale for code in shown["locations"]]
            assert shown["z"] == pytest.approx(want, abs=1e-5)  # the page keeps 5 decimals
            hovers = [str(h) for h in shown["hovers"]]
            assert all(each in h for h in hovers)
            assert all("CV" in h for h in hovers)
            labels = texts(page, "#fig-map")
            for code in shown["locations"]:
                value = data.indicators[ident].value(float(rows.loc[code, "estimate"]), lang)
                assert any(label.endswith(value) for label in labels), (lang, ident, value)
        hover = hovers[shown["locations"].index(region)]
        assert kind in hover
        assert ("Direct estimate: suppressed" if lang == "en" else "masqué") in hover
        assert word in " ".join(texts(page, "#fig-map"))
    page.select_option("#map-basis", "")
    page.wait_for_function(
        "() => document.getElementById('fig-map').data[0].locations.length === 7",
        timeout=TIMEOUT_MS,
    )
    assert region not in page.evaluate("() => document.getElementById('fig-map').data[0].locations")
    assert opened.errors == []
    assert opened.requests == [areas_page.path.as_uri()]
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "dashboard_model_map_fr.jpg"), full_page=True, quality=JPEG)


def test_without_boundaries_the_page_says_why(
    browser: Browser, tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """It renders every other view, without errors, and explains the missing map."""
    missing = tmp_path / "nowhere.geojson"
    path = build_page(tables, tmp_path / "nomap.html", geojson_path=missing)
    opened = open_dashboard(browser, path)
    notice = opened.page.inner_text("#map-unavailable")
    assert notice.startswith("The map is not shown")
    assert str(missing) in notice
    plots = opened.page.eval_on_selector_all(".js-plotly-plot", "els => els.map(e => e.id)")
    assert set(plots) == PLOTS - {"fig-map"}
    switch(opened.page, "fr")
    assert opened.page.inner_text("#map-unavailable").startswith("La carte n'est pas affichée")
    assert opened.errors == []
    assert opened.requests == [path.as_uri()]
    opened.page.close()


def _effects(tables: dict[str, pd.DataFrame], wave: str) -> pd.DataFrame:
    """Return the published effects of the headline indicator's drivers in a wave."""
    d = tables["indicator_drivers"]
    return d[(d["indicator"] == "incl_feel_included") & (d["wave"] == wave)]


def _squeezed(text: str) -> str:
    """Return a text without whitespace (Plotly breaks long notes into lines)."""
    return "".join(text.split())


def _drawn_points(page: Page) -> tuple[int, int]:
    """Return the drivers chart's points: in its data, and drawn as SVG markers."""
    data: int = page.evaluate(
        "() => document.getElementById('fig-drivers').data.reduce((n, t) => n + t.x.length, 0)"
    )
    return data, page.locator("#fig-drivers .point").count()


def test_drivers_view_renders_in_english_and_french(
    opened: Opened, dashboard: Path, tables: dict[str, pd.DataFrame]
) -> None:
    """It draws one dot per published effect, "suppressed" for hidden levels, caveat in EN/FR."""
    page = opened.page
    latest = _effects(tables, "w3")
    shown, hidden = int((~latest["suppressed"]).sum()), int(latest["suppressed"].sum())
    assert (shown, hidden) == (17, 3)
    assert _drawn_points(page) == (shown, shown)
    assert page.inner_text("#drivers h2") == "What goes with each indicator"
    assert "These are associations, not causes" in page.inner_text("#drivers .intro")
    title = page.eval_on_selector("#fig-drivers text.gtitle", "n => n.textContent")
    # a long title wraps: the SVG's lines join without the space where they break
    assert _squeezed(title) == _squeezed(f"What goes with: {headline(tables, 'en')}")
    words = texts(page, "#fig-drivers")
    assert words.count("suppressed") == hidden
    assert "Trusts the UN mission (vs Not at all)" in words
    notes = _squeezed(" ".join(words))
    assert _squeezed("Associations, not causes: each dot compares a group with its") in notes
    assert _squeezed("controlling for the other factors listed (Gender, Age group,") in notes
    page.select_option("#drivers-wave", "w1")
    page.wait_for_function(
        "() => document.getElementById('fig-drivers').textContent.includes('Pooled')",
        timeout=TIMEOUT_MS,
    )
    first = _effects(tables, "w1")
    assert not first["suppressed"].any()
    assert _drawn_points(page) == (len(first), len(first))
    assert "Pooled: Coastal Region, Southern" in " ".join(texts(page, "#fig-drivers"))
    switch(page, "fr")
    assert page.inner_text("#drivers h2") == "Ce qui va de pair avec chaque indicateur"
    assert "Ce sont des associations, pas des causes" in page.inner_text("#drivers .intro")
    title = page.eval_on_selector("#fig-drivers text.gtitle", "n => n.textContent")
    label = headline(tables, "fr")
    assert _squeezed(title) == _squeezed(f"Ce qui va de pair avec : {label}")
    assert _drawn_points(page) == (len(first), len(first))
    words = texts(page, "#fig-drivers")
    assert "Fait confiance à la mission de l'ONU (par rapport à Pas du tout)" in words
    assert _squeezed("Des associations, pas des causes") in _squeezed(" ".join(words))
    assert "suppressed" not in words and "What goes with" not in " ".join(words)
    page.select_option("#drivers-wave", "w3")
    page.wait_for_function(
        "() => document.getElementById('fig-drivers').textContent.includes('masqué')",
        timeout=TIMEOUT_MS,
    )
    assert texts(page, "#fig-drivers").count("masqué") == hidden
    assert _drawn_points(page) == (shown, shown)
    OUTPUT.mkdir(exist_ok=True)
    page.locator("#drivers").screenshot(path=str(OUTPUT / "dashboard_drivers_fr.jpg"), quality=JPEG)
    assert opened.errors == []
    assert opened.requests == [dashboard.as_uri()]


def test_without_drivers_the_view_says_why(areas_opened: Opened) -> None:
    """Without a drivers table it renders the other views and says no indicator names drivers."""
    opened = areas_opened
    notice = opened.page.inner_text("#drivers-unavailable")
    assert notice.startswith("No indicator names drivers")
    plots = opened.page.eval_on_selector_all(".js-plotly-plot", "els => els.map(e => e.id)")
    assert set(plots) == PLOTS - {"fig-drivers"}
    assert opened.errors == []


def test_status_tally_is_at_the_top(opened: Opened, tables: dict[str, pd.DataFrame]) -> None:
    """It shows each benchmark's status counts first on the page, as Table 3 has them."""
    page = opened.page
    summary = page.locator("#summary")
    assert summary.bounding_box()["y"] < page.locator("#scorecard").bounding_box()["y"]
    status = tables["benchmark_status"]
    for bench, group in status.groupby("benchmark"):
        chips = page.eval_on_selector_all(
            f"#summary tr[data-benchmark='{bench}'] .badge", "els => els.map(e => e.textContent)"
        )
        counts = group["status"].value_counts()
        expected = {f"{k} {status_word(s, 'en', k)}" for s, k in counts.items()}
        assert set(chips) == expected


def test_no_toolbar_control_leaves_the_file(opened: Opened, dashboard: Path) -> None:
    """No link or toolbar button points outside the file; the toolbar speaks French in French."""
    page = opened.page
    links = page.eval_on_selector_all(
        "[href], [action], [formaction]",
        "els => els.map(e => e.getAttribute('href') || e.getAttribute('action')"
        " || e.getAttribute('formaction'))",
    )
    assert links and all(link.startswith("#") for link in links), links
    assert page.locator(".modebar-btn--logo").count() == 0
    english = set(page.eval_on_selector_all(".modebar-btn", TITLES))
    assert "Download plot as a PNG" in english
    for title in english:
        assert not any(word in title.lower() for word in ("share", "cloud", "edit", "studio"))
    switch(page, "fr")
    french = set(page.eval_on_selector_all(".modebar-btn", TITLES))
    assert "Télécharger le graphique en PNG" in french
    assert "Réinitialiser les axes" in french
    assert not french & (english - {"Zoom"})
    page.click("#fig-trends .modebar-btn[data-title='Télécharger le graphique en PNG']")
    page.wait_for_timeout(500)
    assert opened.errors == []
    # The PNG download is made in the page (a blob: URL), never fetched from anywhere.
    assert [r for r in opened.requests if not r.startswith("blob:null/")] == [dashboard.as_uri()]


def test_prints_to_pdf_with_header_and_badges_on_page_one(
    opened: Opened, tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """It prints the header and every status badge of the tally on page 1, without controls."""
    page = opened.page
    page.emulate_media(media="print")
    hidden = page.evaluate(
        """() => ['.lang', 'nav', '.controls'].map(s =>
            getComputedStyle(document.querySelector(s)).display)"""
    )
    assert hidden == ["none", "none", "none"]
    unsplit = page.evaluate(
        "() => getComputedStyle(document.querySelector('#fig-trends')).breakInside"
    )
    assert unsplit == "avoid"
    badge = page.evaluate(
        """() => { const b = getComputedStyle(document.querySelector('.badge.off-track'));
            return [b.backgroundColor, b.printColorAdjust || b.webkitPrintColorAdjust]; }"""
    )
    assert badge == ["rgb(180, 35, 24)", "exact"]
    pdf = tmp_path / "dashboard.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    reader = PdfReader(str(pdf))
    first = unicodedata.normalize("NFKC", reader.pages[0].extract_text())
    first = " ".join(first.split())
    assert PROJECT.survey.title.en in first
    assert "Generated 2026-09-02" in first or "Generated 2 September 2026" in first
    assert "English" not in first and "Français" not in first
    for _, group in tables["benchmark_status"].groupby("benchmark"):
        for status, k in group["status"].value_counts().items():
            chip = f"{k} {status_word(status, 'en', k)}"
            assert chip in first, chip
    assert len(reader.pages) > 1
    OUTPUT.mkdir(exist_ok=True)
    pdf.replace(OUTPUT / "dashboard_print.pdf")


def english_strings(tables: dict[str, pd.DataFrame]) -> set[str]:
    """Return every English text of the catalogue, the statuses and the methodology."""
    cat = PROJECT.catalogue
    config = PROJECT.survey
    pairs = [(v.label.en, v.label.fr) for v in cat.variables.values()]
    pairs += [(q.en, q.fr) for wording in DASHBOARD_INPUTS["questions"].values() for q in wording]
    pairs += [
        (label.en, label.fr) for name in cat.domain_columns for label in cat.codes(name).values()
    ]
    pairs += [(label.en, label.fr) for label in DASHBOARD_INPUTS["benchmark_labels"].values()]
    pairs += [(w.label.en, w.label.fr) for w in config.waves]
    status = tables["benchmark_status"]
    pairs += list(zip(status["label_en"], status["label_fr"], strict=True))
    pairs += list(zip(status["reason_en"], status["reason_fr"], strict=True))
    pairs += [(status_definition(s, "en"), status_definition(s, "fr")) for s in STATUSES]
    pairs += [(text["en"].split("{")[0], text["fr"]) for text in entries().values()]
    method = tables["methodology"]
    for column in ("design", "weighting", "provider"):
        pairs += list(zip(method[f"{column}_en"], method[f"{column}_fr"], strict=True))
    return {en.strip() for en, fr in pairs if en.strip() != fr.strip() and len(en.strip()) >= 6}


def test_french_page_has_no_english_text(opened: Opened, tables: dict[str, pd.DataFrame]) -> None:
    """In French, no English label, reason, definition or interface text is left on the page."""
    page = opened.page
    switch(page, "fr")
    shown = page.inner_text("body") + "\n" + "\n".join(texts(page, ".js-plotly-plot"))
    shown += "\n" + "\n".join(page.eval_on_selector_all("option", "els => els.map(e => e.text)"))
    left = sorted(text for text in english_strings(tables) if text in shown)
    assert left == []
    assert "Généré le 2 septembre 2026 à 14 h 30" in shown
    assert "Tableau de bord généré\u202f: 2 septembre 2026" in shown
    assert "3 mars 2025 – " in shown  # fieldwork dates, no time
    assert " 00:00" not in shown
    assert ".sav" not in shown and "e-1" not in shown
    method = tables["methodology"]
    for text in (*method["weighting_fr"], *method["design_fr"], *method["provider_fr"]):
        assert text in shown  # the methodology panel's notes, in French
    assert say("mode.face_to_face", "fr") in shown
    ids = {w.id for w in PROJECT.survey.waves}
    assert not [word for word in re.findall(r"[\w-]+", shown) if word in ids]  # waves by label


def test_language_is_kept_in_the_url_fragment(browser: Browser, dashboard: Path) -> None:
    """It opens in the language of the fragment, and writes the chosen language there."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(dashboard.as_uri() + "#lang=fr")
    page.wait_for_selector("body[data-rendered='fr']", timeout=TIMEOUT_MS)
    assert page.inner_text("#trends h2") == "Tendances"
    page.click("#lang-en")
    page.wait_for_selector("body[data-rendered='en']", timeout=TIMEOUT_MS)
    assert page.evaluate("window.location.hash") == "#lang=en"
    page.click("nav a[href='#methodology']")
    assert page.evaluate("window.location.hash") == "#lang=en"
    page.reload()
    page.wait_for_selector("body[data-rendered='en']", timeout=TIMEOUT_MS)
    page.click("#lang-fr")
    page.wait_for_selector("body[data-rendered='fr']", timeout=TIMEOUT_MS)
    page.reload()
    page.wait_for_selector("body[data-rendered='fr']", timeout=TIMEOUT_MS)
    assert page.inner_text("#trends h2") == "Tendances"
    page.close()


#: Pairs of visible texts whose boxes overlap by more than 2 px each way (the page's own texts
#: and each chart's titles, ticks, legends and notes; heatmap cells and map labels aside).
OVERLAPS = """() => {
  const boxes = [];
  const seen = (r) => r.width > 0 && r.height > 0;
  document.querySelectorAll("body *").forEach(el => {
    if (el.closest("svg") || el.closest(".modebar-container") || el.children.length) return;
    const r = el.getBoundingClientRect();
    if (el.textContent.trim() && seen(r)) boxes.push({el, r, text: el.textContent.trim()});
  });
  document.querySelectorAll(".js-plotly-plot text").forEach(el => {
    if (el.closest(".hm") || el.closest(".scattergeo")) return;
    const r = el.getBoundingClientRect();
    if (el.textContent.trim() && seen(r)) boxes.push({el, r, text: el.textContent.trim()});
  });
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
    const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
    const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
    if (w > 2 && h > 2) out.push([a.text.slice(0, 40), b.text.slice(0, 40)]);
  }
  return out;
}"""


def test_at_800_px_no_sideways_scroll_no_overlap_and_alt_text(
    browser: Browser, dashboard: Path
) -> None:
    """At 800 px, in both languages: no sideways scroll, no overlapping text, charts described."""
    page = browser.new_page(viewport={"width": 800, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(dashboard.as_uri())
    page.wait_for_selector("body[data-rendered='en']", timeout=TIMEOUT_MS)
    OUTPUT.mkdir(exist_ok=True)
    for lang, word in (("en", "Chart: "), ("fr", "Graphique\u202f: ")):
        if lang == "fr":
            switch(page, "fr")
        wide = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert wide[0] <= wide[1], wide
        assert page.evaluate(OVERLAPS) == []
        labels = page.eval_on_selector_all(
            ".js-plotly-plot",
            "els => els.map(e => [e.getAttribute('role'), e.getAttribute('aria-label')])",
        )
        assert len(labels) == len(PLOTS)
        for role, label in labels:
            assert role == "img" and label.startswith(word) and len(label) > 40, label
        page.screenshot(
            path=str(OUTPUT / f"dashboard_800_{lang}.jpg"), full_page=True, quality=JPEG
        )
    assert errors == []
    page.close()


def test_gaps_view_switches_to_one_gap_by_group(
    opened: Opened, tables: dict[str, pd.DataFrame]
) -> None:
    """Picking a gap redraws the Gaps view with that gap nationally and in each group."""
    page = opened.page
    page.select_option("#gaps-indicator", "incl_gender_gap")
    page.wait_for_function(
        "() => document.getElementById('fig-gaps').layout.yaxis.ticktext[0] === 'National'",
        timeout=TIMEOUT_MS,
    )
    rows = page.evaluate("() => document.getElementById('fig-gaps').layout.yaxis.ticktext")
    assert len(rows) > 1 + len(PROJECT.catalogue.codes("region"))
    assert {label.en for label in PROJECT.catalogue.codes("region").values()} <= set(rows)
    label = page.evaluate("() => document.getElementById('fig-gaps').getAttribute('aria-label')")
    status = tables["benchmark_status"].set_index("indicator")
    assert status.loc["incl_gender_gap", "label_en"] in label
    page.select_option("#gaps-indicator", "")
    page.wait_for_function(
        "() => document.getElementById('fig-gaps').layout.yaxis.ticktext[0] !== 'National'",
        timeout=TIMEOUT_MS,
    )
    assert opened.errors == []
