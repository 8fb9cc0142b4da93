"""Lay a brief out as one HTML page, for Chromium to print to PDF.

The HTML is self-contained (charts inlined as data URIs, no script, no remote resource), so
the process's browser (:func:`perception.browser.print_pdfs`) prints it offline.
"""

from __future__ import annotations

import base64
import html

from perception.brief.content import Brief, Table

_CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 9.5pt;
       line-height: 1.35; color: #222; font-variant-ligatures: none; }
h1 { font-size: 17pt; margin: 0 0 6pt; color: #0b3d66; }
h2 { font-size: 12.5pt; margin: 14pt 0 4pt; color: #0b3d66; page-break-after: avoid; }
p { margin: 0 0 5pt; }
.badge { font-weight: bold; }
.achieved, .on-track { color: #2e7d32; } .off-track { color: #b71c1c; }
.insufficient-evidence { color: #616161; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0; page-break-inside: auto; }
th, td { border: 0.5pt solid #9db3c8; padding: 2pt 4pt; text-align: left; vertical-align: top; }
th { background: #e3ecf5; }
tr { page-break-inside: avoid; }
.caption { font-style: italic; margin-top: 6pt; }
.note { font-size: 7.5pt; color: #444; margin: 1pt 0; }
figure { margin: 6pt 0; page-break-inside: avoid; text-align: center; }
figure img { width: 100%; }
figcaption { font-style: italic; font-size: 8.5pt; }
"""


def brief_html(brief: Brief, statuses: dict[str, str]) -> str:
    """Return the brief as one self-contained HTML page.

    ``statuses`` maps a badge's text to its status (for its colour class).
    """
    parts = [
        f'<!DOCTYPE html><html lang="{brief.lang}"><head><meta charset="utf-8">',
        f"<title>{_e(brief.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(brief.title)}</h1><p>{_e(brief.intro)}</p>",
        f"<h2>{_e(brief.scorecard_heading)}</h2>",
        _table(brief.scorecard),
    ]
    for section in brief.sections:
        parts.append(f"<h2>{_e(section.heading)}</h2>")
        for paragraph in section.paragraphs:
            css = statuses.get(paragraph.badge, "").replace(" ", "-")
            parts.append(
                f'<p><span class="badge {css}">[{_e(paragraph.badge)}]</span> '
                f"{_e(paragraph.text)}</p>"
            )
    parts += [f"<h2>{_e(brief.headline.caption)}</h2>", _table(brief.headline, caption=False)]
    if brief.images:
        parts.append(f"<h2>{_e(brief.images_heading)}</h2>")
        for image in brief.images:
            data = base64.b64encode(image.path.read_bytes()).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{_e(image.caption)}">'
                f"<figcaption>{_e(image.caption)}</figcaption></figure>"
            )
    parts += [f"<h2>{_e(brief.methodology_heading)}</h2>", _table(brief.methodology)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _e(text: str) -> str:
    """Escape text for HTML."""
    return html.escape(text, quote=True)


def _table(table: Table, *, caption: bool = True) -> str:
    """Render a table with its caption and notes."""
    head = "".join(f"<th>{_e(h)}</th>" for h in table.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    notes = "".join(f'<p class="note">{_e(n)}</p>' for n in table.notes)
    top = f'<p class="caption">{_e(table.caption)}</p>' if caption else ""
    return f"{top}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}"
