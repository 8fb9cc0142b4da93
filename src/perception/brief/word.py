"""Lay a brief out as a Word document (python-docx)."""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Inches, Pt, RGBColor

from perception.brief.content import Brief, Table
from perception.words import LANGS, status_label

IMAGE_WIDTH = Inches(6.3)
"""Print width of a chart: the dashboard's 2,200-pixel PNGs come out at about 350 dpi."""
_BADGE_COLOURS = {
    "achieved": RGBColor(0x1B, 0x5E, 0x20),
    "on track": RGBColor(0x2E, 0x7D, 0x32),
    "off track": RGBColor(0xB7, 0x1C, 0x1C),
    "insufficient evidence": RGBColor(0x61, 0x61, 0x61),
    "no target": RGBColor(0x45, 0x5A, 0x64),
}


def docx_bytes(brief: Brief) -> bytes:
    """Return the brief as the bytes of a .docx file."""
    doc = Document()
    doc.core_properties.title = brief.title
    doc.core_properties.language = brief.lang
    doc.styles["Normal"].font.size = Pt(10)
    doc.add_heading(brief.title, level=0)
    doc.add_paragraph(brief.intro)
    doc.add_heading(brief.scorecard_heading, level=1)
    _table(doc, brief.scorecard)
    for section in brief.sections:
        doc.add_heading(section.heading, level=1)
        for paragraph in section.paragraphs:
            block = doc.add_paragraph()
            badge = block.add_run(f"[{paragraph.badge}] ")
            badge.bold = True
            colour = _colour(paragraph.badge)
            if colour is not None:
                badge.font.color.rgb = colour
            block.add_run(paragraph.text)
    doc.add_heading(brief.headline.caption, level=1)
    _table(doc, brief.headline, caption=False)
    if brief.images:
        doc.add_heading(brief.images_heading, level=1)
        for image in brief.images:
            doc.add_picture(str(image.path), width=IMAGE_WIDTH)
            caption = doc.add_paragraph(image.caption)
            caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
            caption.runs[0].italic = True
    doc.add_heading(brief.methodology_heading, level=1)
    _table(doc, brief.methodology)
    stream = io.BytesIO()
    doc.save(stream)
    return stream.getvalue()


def _colour(badge: str) -> RGBColor | None:
    """Return a badge's colour by the status it names (English or French words)."""
    for status, colour in _BADGE_COLOURS.items():
        if badge in {status_label(status, lang) for lang in LANGS}:
            return colour
    return None


def _table(doc: DocxDocument, table: Table, *, caption: bool = True) -> None:
    """Add a table with a bold header row, its caption above and its notes below."""
    if caption:
        doc.add_paragraph(table.caption)
    out = doc.add_table(rows=1, cols=len(table.header))
    out.style = "Light Grid Accent 1"
    for cell, text in zip(out.rows[0].cells, table.header, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in table.rows:
        cells = out.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.text = text
    for note in table.notes:
        paragraph = doc.add_paragraph(note)
        paragraph.runs[0].font.size = Pt(8)
