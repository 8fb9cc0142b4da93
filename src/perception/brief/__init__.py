"""The report writers' results brief: Word and PDF, English and French, worded by the statistics.

- :func:`build_briefs` turns the published tables into a :class:`Brief` per language
  (:mod:`perception.brief.content`), each sentence chosen by the rule table of
  :mod:`perception.brief.rules` and written from the templates of ``config/brief.yaml``
  (:mod:`perception.config.brief`);
- :func:`render_briefs` lays them out as ``brief_en.docx``, ``brief_fr.docx`` (python-docx)
  and ``brief_en.pdf``, ``brief_fr.pdf`` (HTML printed by the process's headless Chromium;
  skipped, with the reason, when no browser is available).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from perception.brief.content import Brief, build_briefs, paragraphs_by_indicator
from perception.brief.pdf import brief_html
from perception.brief.word import docx_bytes
from perception.browser import print_pdfs
from perception.errors import PerceptionError
from perception.status import STATUSES
from perception.words import Lang, status_label

__all__ = [
    "BRIEF_FILES",
    "Brief",
    "RenderedBriefs",
    "brief_html",
    "build_briefs",
    "paragraphs_by_indicator",
    "render_briefs",
]

BRIEF_FILES: tuple[str, ...] = ("brief_en.docx", "brief_fr.docx", "brief_en.pdf", "brief_fr.pdf")
"""The files of a brief, as they appear in ``exports/latest/``."""


@dataclass(frozen=True)
class RenderedBriefs:
    """The brief files by name, and why the PDFs are missing when they are."""

    files: dict[str, bytes]
    pdf_error: PerceptionError | None = None


def render_briefs(briefs: Mapping[Lang, Brief]) -> RenderedBriefs:
    """Lay out every brief as DOCX and, when a browser allows, as PDF."""
    pages = {
        f"brief_{lang}.pdf": brief_html(brief, {status_label(s, lang): s for s in STATUSES})
        for lang, brief in briefs.items()
    }
    with ThreadPoolExecutor(max_workers=1) as pool:  # Chromium prints while the DOCX are laid out
        printing = pool.submit(print_pdfs, list(pages.values()))
        files = {f"brief_{lang}.docx": docx_bytes(brief) for lang, brief in briefs.items()}
        try:
            files.update(zip(pages, printing.result(), strict=True))
        except PerceptionError as error:
            return RenderedBriefs(files, error)
    return RenderedBriefs(files)
