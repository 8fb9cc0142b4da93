"""The results brief on the demo run: sentences follow the statistics, DOCX and PDF, EN and FR."""

from __future__ import annotations

import re
import shutil
import string
from pathlib import Path

import docx
import numpy as np
import pandas as pd
import pypdfium2 as pdfium
import pytest
from demo_project import DemoRun
from pypdf import PdfReader

from perception.brief import BRIEF_FILES, build_briefs, paragraphs_by_indicator, render_briefs
from perception.brief.rules import interval_text, value_text
from perception.config import BriefConfig, load_brief_config, load_indicators, load_project
from perception.config.brief import EN
from perception.dashboard.data import Indicator as IndicatorView
from perception.dashboard.data import prepare
from perception.errors import ConfigError
from perception.exports import EXPORT_FILES
from perception.tables import ESTIMATES_TABLE, TRENDS_TABLE
from perception.words import LANGS, Lang
from pipelines.cli import main as cli_main
from pipelines.definitions import PROJECT_ROOT

OUTPUT = PROJECT_ROOT / "test-output"
TABLES = ("indicator_estimates", "indicator_trends", "benchmark_status", "methodology")
"""The published tables a brief is written from."""
KEY = ["indicator", "variant", "domain_set", "gender", "age_band", "youth", "region", "urban_rural"]
ENGLISH = re.compile(
    r"\b(the|was|since|and|with|rose|fell|about|respondents|significantly|group|change)\b"
)
needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium): no PDF brief",
)


def _docx_text(path: Path) -> tuple[list[str], str]:
    """Return a DOCX's paragraphs and all its text (paragraphs and table cells)."""
    document = docx.Document(str(path))
    paragraphs = [p.text for p in document.paragraphs]
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return paragraphs, "\n".join(paragraphs + cells)


def _pdf_text(path: Path) -> str:
    """Return a PDF's text with all whitespace removed (lines break anywhere)."""
    text = "".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    return _squeeze(text)


def _published(demo: DemoRun) -> dict[str, pd.DataFrame]:
    """Return the demo's published tables that a brief is written from."""
    return {name: table for name, table in demo.tables().items() if name in TABLES}


def _squeeze(text: str) -> str:
    """Drop every kind of whitespace, so texts laid out differently compare."""
    return re.sub(r"\s+", "", text)


def _briefs(
    demo: DemoRun, config: BriefConfig | None = None, tables: dict[str, pd.DataFrame] | None = None
):  # type: ignore[no-untyped-def]
    """Build both briefs of the demo from its published tables."""
    project = load_project(demo.root / "config" / "survey.yaml", demo.root)
    indicators = load_indicators(demo.root / "config" / "indicators.yaml", project.catalogue)
    return build_briefs(
        tables or _published(demo),
        catalogue=project.catalogue,
        survey=project.survey,
        indicators=indicators,
        config=config or BriefConfig(),
        images=demo.root / "dashboards" / "demo" / "images",
    )


def _views(
    demo: DemoRun, tables: dict[str, pd.DataFrame] | None = None
) -> dict[str, IndicatorView]:
    """Return the dashboard's view of every indicator (units and formatting)."""
    project = load_project(demo.root / "config" / "survey.yaml", demo.root)
    indicators = load_indicators(demo.root / "config" / "indicators.yaml", project.catalogue)
    data = prepare(
        tables or _published(demo),
        catalogue=project.catalogue,
        survey=project.survey,
        benchmark_labels={k: b.label for k, b in indicators.benchmarks.items()},
    )
    return data.indicators


def test_brief_files_are_published_with_the_exports(demo: DemoRun) -> None:
    """The reporting job puts the brief files in latest/ beside the exports and in its run."""
    names = {p.name for p in demo.latest.iterdir()}
    assert set(EXPORT_FILES) <= names
    expected = set(BRIEF_FILES) if shutil.which("chromium") else {"brief_en.docx", "brief_fr.docx"}
    assert expected <= names
    runs = [p for p in (demo.latest.parent / "runs").iterdir() if (p / "brief_en.docx").exists()]
    assert runs and (runs[0] / "indicators.csv").exists()
    assert (runs[0] / "brief_en.docx").read_bytes() == (demo.latest / "brief_en.docx").read_bytes()


def test_chart_images_are_in_the_docx_at_print_resolution(demo: DemoRun) -> None:
    """Every exported chart of the language is in its Word brief, at 300 dpi or more."""
    for lang in LANGS:
        charts = sorted((demo.root / "dashboards" / "demo" / "images" / lang).glob("*.png"))
        assert charts
        document = docx.Document(str(demo.latest / f"brief_{lang}.docx"))
        shapes = document.inline_shapes
        assert len(shapes) == len(charts)
        for shape in shapes:
            blob = shape._inline.graphic.graphicData.pic.blipFill.blip.embed
            part = document.part.related_parts[blob]
            pixels = int.from_bytes(part.blob[16:20], "big")  # PNG IHDR width
            assert pixels / shape.width.inches >= 300


def test_every_indicator_has_its_sentence_in_docx_and_pdf(demo: DemoRun) -> None:
    """Each indicator's generated paragraph is in the Word and the PDF brief, in both languages."""
    status = _published(demo)["benchmark_status"]
    for lang, brief in _briefs(demo).items():
        paragraphs = paragraphs_by_indicator(brief)
        assert set(paragraphs) == set(status["indicator"])
        word, _ = _docx_text(demo.latest / f"brief_{lang}.docx")
        pdf = _pdf_text(demo.latest / f"brief_{lang}.pdf") if shutil.which("chromium") else None
        for row in status.itertuples():
            text = paragraphs[str(row.indicator)]
            label = str(getattr(row, f"label_{lang}"))
            assert label in text
            assert any(text in p for p in word), (lang, row.indicator)
            if pdf is not None:
                assert _squeeze(text) in pdf, (lang, row.indicator)


def _changes(demo: DemoRun, comparison: str, wave: str = "w3") -> pd.DataFrame:
    """Return the national changes of the 'all' variant for ``wave`` from the trends table."""
    trends = _published(demo)["indicator_trends"]
    return trends[
        (trends["domain_set"] == "national")
        & (trends["variant"] == "all")
        & (trends["comparison"] == comparison)
        & (trends["wave"] == wave)
    ].set_index("indicator")


RISE = {"en": re.compile(r"\b(rose|fell)\b"), "fr": re.compile(r"\ben (hausse|baisse)\b")}


@pytest.mark.parametrize("comparison", ["previous", "baseline"])
def test_rise_or_fall_only_for_significant_changes(demo: DemoRun, comparison: str) -> None:
    """Every sentence says rose/fell exactly when the trends table calls the change significant."""
    changes = _changes(demo, comparison)
    briefs = _briefs(demo, BriefConfig(comparison=comparison))  # type: ignore[arg-type]
    gaps = set(_published(demo)["benchmark_status"].query("type == 'gap'")["indicator"])
    significant = 0
    for lang, brief in briefs.items():
        for indicator, text in paragraphs_by_indicator(brief).items():
            said = RISE[lang].findall(text)
            if indicator in gaps or indicator not in changes.index:
                assert not said, (lang, text)
                continue
            row = changes.loc[indicator]
            if bool(row["significant"]) and not bool(row["suppressed"]):
                significant += 1
                word = ("rose", "hausse") if row["estimate"] > 0 else ("fell", "baisse")
                assert said == [word[0] if lang == "en" else word[1]], (lang, text)
            else:
                assert not said, (lang, text)
                assert ("no clear change" if lang == "en" else "sans évolution nette") in text or (
                    bool(row["suppressed"])
                )
    if comparison == "baseline":
        assert significant > 0, "the demo should have significant changes since the baseline"


def test_saved_brief_words_match_the_trends_table(demo: DemoRun) -> None:
    """The published DOCX and PDF say rose/fell only for changes Table 2 calls significant."""
    changes = _changes(demo, "previous")
    status = _published(demo)["benchmark_status"].set_index("indicator")
    for lang in LANGS:
        paragraphs, _ = _docx_text(demo.latest / f"brief_{lang}.docx")
        for indicator, row in status.iterrows():
            label = str(row[f"label_{lang}"])
            mine = [p for p in paragraphs if label in p and p.startswith("[")]
            assert mine, (lang, indicator)
            said = bool(RISE[lang].search(mine[0]))
            called = indicator in changes.index and bool(changes.loc[indicator, "significant"])
            assert said == (called and row["type"] != "gap"), (lang, mine[0])


def test_first_wave_brief_claims_no_change(demo: DemoRun) -> None:
    """A brief of the first wave quotes no change and says none can be assessed yet."""
    project = load_project(demo.root / "config" / "survey.yaml", demo.root)
    indicators = load_indicators(demo.root / "config" / "indicators.yaml", project.catalogue)
    briefs = build_briefs(
        _published(demo),
        catalogue=project.catalogue,
        survey=project.survey,
        indicators=indicators,
        config=BriefConfig(),
        wave="w1",
    )
    assert "no change can be assessed yet" in briefs["en"].intro
    for lang, brief in briefs.items():
        for text in paragraphs_by_indicator(brief).values():
            assert not RISE[lang].search(text)
            assert "since" not in text and "depuis" not in text
        assert ("March 2025" if lang == "en" else "mars 2025") in brief.title


def test_french_brief_has_no_english_sentence(demo: DemoRun) -> None:
    """The French brief holds no English word or fragment of an English template."""
    _, french = _docx_text(demo.latest / "brief_fr.docx")
    texts = [french]
    if shutil.which("chromium"):
        reader = PdfReader(str(demo.latest / "brief_fr.pdf"))
        texts.append(" ".join(page.extract_text() or "" for page in reader.pages))
    fragments = {
        chunk.strip()
        for template in EN.model_dump().values()
        for chunk, *_ in string.Formatter().parse(template)
        if len(chunk.strip()) >= 8
    }
    for text in texts:
        assert not ENGLISH.findall(text), ENGLISH.findall(text)[:10]
        assert not [f for f in fragments if f in text]
    _, english = _docx_text(demo.latest / "brief_en.docx")
    assert ENGLISH.search(english)  # the check can fail: the English brief trips it


def _format_all(view: IndicatorView, estimate: float, low: float, high: float) -> set[str]:
    """Every way the brief could write a level and its CI ends, in both languages."""
    out = set()
    for lang in LANGS:
        for value in (estimate, low, high):
            if np.isfinite(value):
                out.add(value_text(view, value, lang))
        if np.isfinite(low) and np.isfinite(high):
            out.add(interval_text(view, low, high, lang, EN if lang == "en" else BriefConfig().fr))
    return out


def _hide(
    tables: dict[str, pd.DataFrame], demo: DemoRun
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Suppress, as disclosure control would, the headline's national and first-region cells of w3.

    Returns the tables and the hidden rows with their true values.
    """
    estimates = tables["indicator_estimates"].copy()
    headline = "incl_feel_included"
    national = (estimates["domain_set"] == "national") & (estimates["indicator"] == headline)
    region = (estimates["domain_set"] == "region") & (estimates["indicator"] == headline)
    region &= estimates["region"] == estimates.loc[region, "region"].min()
    hide = (national | region) & (estimates["wave"] == "w3")
    truth = estimates[hide].copy()
    estimates = ESTIMATES_TABLE.blank(estimates, hide)
    estimates.loc[hide, "suppressed"] = True
    trends = tables["indicator_trends"].copy()
    gone = (trends["indicator"] == headline) & (trends["domain_set"] == "national")
    gone &= trends["wave"] == "w3"
    trends = TRENDS_TABLE.blank(trends, gone)
    trends.loc[gone, "suppressed"] = True
    return {**tables, "indicator_estimates": estimates, "indicator_trends": trends}, truth


def test_suppressed_values_never_appear(demo: DemoRun, tmp_path: Path) -> None:
    """No suppressed cell's true value is written, in either format or language."""
    tables, truth = _hide(_published(demo), demo)
    views = _views(demo, tables)
    leaks = set()
    for row in truth.itertuples():
        leaks |= _format_all(views[str(row.indicator)], row.estimate, row.ci_low, row.ci_high)
    # Every hidden cell of the real run too, with its true value from the unpublished table.
    published = _published(demo)["indicator_estimates"]
    hidden = published[published["suppressed"] & (published["wave"] == "w3")]
    real = hidden[[*KEY, "wave"]].merge(demo.estimates(), on=[*KEY, "wave"], how="left")
    for row in real.itertuples():
        leaks |= _format_all(views[str(row.indicator)], row.estimate, row.ci_low, row.ci_high)
    briefs = _briefs(demo, tables=tables)
    # A hidden value may equal a published one of the same wave by chance: such strings prove
    # nothing and are left out; every other true value must be absent.
    allowed = leaks & _published_strings(views, tables)
    rendered = render_briefs(briefs)
    texts = [
        _docx_text_bytes(rendered.files[f"brief_{lang}.docx"], tmp_path, lang) for lang in LANGS
    ]
    texts += [_squeeze(t) for t in texts]
    if rendered.pdf_error is None:
        for lang in LANGS:
            (tmp_path / f"{lang}.pdf").write_bytes(rendered.files[f"brief_{lang}.pdf"])
            texts.append(_pdf_text(tmp_path / f"{lang}.pdf"))
    for leak in sorted(leaks - allowed):
        for text in texts:
            assert leak not in text and _squeeze(leak) not in text, leak
    headline = paragraphs_by_indicator(briefs["en"])["incl_feel_included"]
    assert "too small to report" in headline and not re.search(r"\d%", headline)
    assert "trop petit" in paragraphs_by_indicator(briefs["fr"])["incl_feel_included"]
    assert len(leaks - allowed) > 0


def _published_strings(
    views: dict[str, IndicatorView], tables: dict[str, pd.DataFrame]
) -> set[str]:
    """Return every way the brief could write a published value of w3 or a published change."""
    out: set[str] = set()
    for name in ("indicator_estimates", "indicator_trends"):
        table = tables[name]
        shown = table[~table["suppressed"] & table["estimate"].notna() & (table["wave"] == "w3")]
        for row in shown.itertuples():
            view = views.get(str(row.indicator))
            if view is not None:
                out |= _format_all(view, row.estimate, row.ci_low, row.ci_high)
                for lang in LANGS:
                    for value in (row.estimate, abs(row.estimate), row.ci_low, row.ci_high):
                        out.add(value_text(view, value, lang, change=True))
                        out.add(value_text(view, value, lang, change=True, signed=False))
    return out


def _docx_text_bytes(content: bytes, folder: Path, lang: Lang) -> str:
    """Return all text of a DOCX given as bytes."""
    path = folder / f"{lang}.docx"
    path.write_bytes(content)
    return _docx_text(path)[1]


def test_headline_table_marks_flagged_and_suppressed_cells(demo: DemoRun) -> None:
    """The headline table shows * for a hidden group (no n) and parentheses for a flagged one."""
    tables, truth = _hide(_published(demo), demo)
    estimates = tables["indicator_estimates"]
    flag = (
        (estimates["indicator"] == "incl_feel_included")
        & (estimates["domain_set"] == "gender")
        & (estimates["wave"] == "w3")
        & (estimates["gender"] == 2)
    )
    estimates.loc[flag, "flagged"] = True
    brief = _briefs(demo, tables=tables)["en"]
    rows = {r[0]: r for r in brief.headline.rows}
    hidden_region = next(k for k in rows if k.startswith("Region: "))
    assert rows[hidden_region][1:] == ("*", "", "")
    assert rows["National"][1:] == ("*", "", "")
    woman = rows["Gender: Women"]
    assert woman[1].startswith("(") and woman[1].endswith(")") and woman[2].startswith("(")
    assert rows["Gender: Men"][1][0].isdigit()
    assert len(truth) == 4  # the two hidden cells, in both variants (all, excl_dk)


def test_unknown_template_field_is_a_config_error(tmp_path: Path) -> None:
    """A template naming a field the brief does not fill is a ConfigError naming file and key."""
    path = tmp_path / "brief.yaml"
    path.write_text("en:\n  rose: it rose by {about}{chnage}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_brief_config(path)
    message = str(caught.value)
    assert str(path) in message and "en.rose" in message and "{chnage}" in message


def test_shipped_config_equals_the_defaults() -> None:
    """config/brief.yaml keeps the default templates, and a missing file means the defaults."""
    assert load_brief_config(PROJECT_ROOT / "config" / "brief.yaml") == BriefConfig()
    assert load_brief_config(PROJECT_ROOT / "config" / "no-such-brief.yaml") == BriefConfig()


def test_pdf_is_skipped_without_a_browser(
    demo: DemoRun, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without Chromium on PATH the Word briefs are still written and the PDF error says why."""
    monkeypatch.setenv("PATH", str(tmp_path))
    rendered = render_briefs(_briefs(demo))
    assert set(rendered.files) == {"brief_en.docx", "brief_fr.docx"}
    assert rendered.pdf_error is not None and "Chromium" in str(rendered.pdf_error)


@needs_chromium
def test_pdf_page_rendered_to_png(demo: DemoRun) -> None:
    """The first page of each PDF brief is rendered to test-output/ for a person to look at."""
    OUTPUT.mkdir(exist_ok=True)
    for lang in LANGS:
        pdf = pdfium.PdfDocument(str(demo.latest / f"brief_{lang}.pdf"))
        assert len(pdf) >= 3
        image = pdf[0].render(scale=1.5).to_pil()
        target = OUTPUT / f"brief_{lang}_page1.png"
        image.save(target)
        pixels = np.asarray(image.convert("L"))
        assert (pixels < 128).mean() > 0.01  # text on the page, not a blank sheet


def test_cli_writes_the_brief_of_a_chosen_wave(demo_copy: DemoRun) -> None:
    """`perception brief --wave w2` materializes results_brief: a brief of November 2025."""
    before = (demo_copy.latest / "indicators.csv").read_bytes()
    code = cli_main(
        ["brief", "--root", str(demo_copy.root), "--survey", "config/survey.yaml", "--wave", "w2"]
    )
    assert code == 0
    paragraphs, _ = _docx_text(demo_copy.latest / "brief_en.docx")
    assert "November 2025" in paragraphs[0] and "August 2026" not in paragraphs[0]
    assert (demo_copy.latest / "indicators.csv").read_bytes() == before
    assert cli_main(["brief", "--root", str(demo_copy.root), "--wave", "w9"]) == 2


def test_config_check_reports_a_broken_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`perception config check` validates config/brief.yaml and names its broken key."""
    from perception.cli import main as library_cli

    shutil.copytree(PROJECT_ROOT / "config", tmp_path / "config")
    survey = tmp_path / "config" / "survey.yaml"
    assert library_cli(["config", "check", str(survey)]) == 0
    capsys.readouterr()
    brief = tmp_path / "config" / "brief.yaml"
    text = brief.read_text(encoding="utf-8")
    brief.write_text(text + "fr:\n  no_change: sans {évolution}\n", "utf-8")
    assert library_cli(["config", "check", str(survey)]) == 2
    err = capsys.readouterr().err
    assert "brief.yaml" in err and "fr.no_change" in err and "Traceback" not in err


def test_cli_before_any_run_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`perception brief` on a survey never run exits 2 and says to run it first."""
    shutil.copytree(PROJECT_ROOT / "config", tmp_path / "config")
    assert cli_main(["brief", "--root", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "No published tables" in out and "perception run --survey" in out


def test_add_to_latest_swaps_in_new_briefs_and_drops_stale_ones(tmp_path: Path) -> None:
    """A brief run keeps latest/'s exports, replaces every old brief file, and leaves no temp."""
    from perception.exports import add_to_latest

    latest = tmp_path / "latest"
    latest.mkdir()
    (latest / "indicators.csv").write_bytes(b"a,b\r\n")
    (latest / "brief_en.pdf").write_bytes(b"stale")
    out = add_to_latest(tmp_path, {"brief_en.docx": b"new"}, run_id="r2", replaces=BRIEF_FILES)
    assert out == latest
    assert sorted(p.name for p in latest.iterdir()) == ["brief_en.docx", "indicators.csv"]
    assert (latest / "indicators.csv").read_bytes() == b"a,b\r\n"
    assert (tmp_path / "runs" / "r2" / "brief_en.docx").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "runs"]
