"""The summary for the doctor as a one-page A4 PDF, to show on a phone or print.

fpdf2 writes it, with the DejaVu fonts matplotlib (a dependency) ships, so every Indonesian
and clinical character prints and we ship no font. One page is guaranteed: the text shrinks
from 10 to 7 pt, and if it still does not fit, the evidence behind red flags and causes is
cut shorter, ending in "…", at last to one line each; then, at the very last, 6 pt.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from bot.core.summary import EVIDENCE_CUTS, ClinicalSummary, Row, cut_evidence

FONT = "DejaVu"
FONT_SIZES = (10, 9, 8, 7)
# the last resort, when even 7 pt with one-line evidence does not fit: every red flag fired
# and a check-in after the result (still legible on paper and on a zoomed phone)
LAST_SIZE = 6
LABEL_WIDTH = 45  # mm
MARGIN = 15  # mm


def font_files() -> dict[str, Path]:
    """DejaVu Sans, regular and bold, as matplotlib installs them (in its package's mpl-data;
    found without importing matplotlib, which would cost every bot process about 40 MB)."""
    spec = find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib is not installed: reinstall Kebas (pip install kebas)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"
    return {"": folder / "DejaVuSans.ttf", "B": folder / "DejaVuSans-Bold.ttf"}


def summary_pdf(summary: ClinicalSummary) -> bytes:
    """One A4 page: smaller type first, then shorter evidence, until it fits."""
    for limit in EVIDENCE_CUTS:
        if _render(summary, FONT_SIZES[-1], limit).pages_count > 1:
            continue  # not even the smallest type fits: cut the evidence shorter first
        for size in FONT_SIZES:
            pdf = _render(summary, size, limit)
            if pdf.pages_count == 1:
                return bytes(pdf.output())
    pdf = _render(summary, LAST_SIZE, EVIDENCE_CUTS[-1])
    if pdf.pages_count == 1:
        return bytes(pdf.output())
    raise ValueError("the summary does not fit on one page even at its shortest")


def _render(summary: ClinicalSummary, size: int, limit: int | None) -> FPDF:
    summary = cut_evidence(summary, limit)
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    for style, path in font_files().items():
        pdf.add_font(FONT, style, str(path))
    pdf.set_title(summary.heading)
    pdf.set_creator("Kebas")
    pdf.add_page()
    line = size * 0.45  # mm per line of text at this size
    pdf.set_font(FONT, "B", size + 4)
    _paragraph(pdf, summary.heading, line * 1.5)
    pdf.set_font(FONT, "", size - 1)
    _paragraph(pdf, summary.date, line)
    if summary.incomplete:
        pdf.set_font(FONT, "B", size)
        _paragraph(pdf, summary.incomplete, line)
    for section in summary.sections:
        pdf.ln(line * 0.6)
        pdf.set_font(FONT, "B", size + 1)
        _paragraph(pdf, section.title, line * 1.2)
        pdf.set_font(FONT, "", size)
        _table(pdf, list(section.rows), line)
    pdf.ln(line)
    pdf.set_font(FONT, "", size - 2)
    for text in summary.footer:
        _paragraph(pdf, text, line * 0.9)
    return pdf


def _paragraph(pdf: FPDF, text: str, height: float) -> None:
    pdf.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(pdf: FPDF, rows: list[Row], line: float) -> None:
    """Bold labels in a narrow column, values beside them; a value alone spans both."""
    value_width = pdf.epw - LABEL_WIDTH
    with pdf.table(col_widths=(LABEL_WIDTH, value_width), width=pdf.epw,
                   first_row_as_headings=False, borders_layout=TableBordersLayout.NONE,
                   line_height=line, padding=(0.4, 1, 0.4, 0), text_align="LEFT") as table:
        for row in rows:
            cells = table.row()
            if row.label is None:
                cells.cell(row.value, colspan=2)
            else:
                cells.cell(row.label, style=FontFace(emphasis="BOLD"))
                cells.cell(row.value)
