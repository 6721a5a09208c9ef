"""An office report (dashboard/screens/document.Document) as Word (.docx, python-docx) and
PDF (reportlab). Laid out as a government office files it: the issuing office and the title
centred at the top, the date line under them, numbered sections, ruled tables.

The PDF's Chinese is reportlab's built-in CID font STSong-Light (Adobe's Song, which every
PDF reader carries): no font file ships with the product and none is embedded."""

from __future__ import annotations

import io
from typing import Any

from dashboard.screens.document import Document

CJK_FONT = "STSong-Light"
# Word's usual Chinese faces for official documents: 方正小标宋 for the title (falls back
# to 宋体), 仿宋 for the text; Latin text in Times New Roman.
WORD_TITLE_FONT, WORD_BODY_FONT = "宋体", "仿宋"


def _east_asian(run: Any, face: str) -> None:
    """Set a run's East Asian font (python-docx sets only the Latin one)."""
    from docx.oxml.ns import qn

    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), face)


def to_docx(doc: Document) -> bytes:
    """The report as a .docx file."""
    from docx import Document as Word
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    word = Word()
    sec = word.sections[0]
    sec.page_height, sec.page_width = Cm(29.7), Cm(21.0)  # A4, as offices file
    sec.top_margin, sec.bottom_margin = Cm(3.7), Cm(3.5)
    sec.left_margin, sec.right_margin = Cm(2.8), Cm(2.6)
    word.core_properties.title = doc.title
    word.core_properties.author = doc.office

    def para(text: str, size: float, bold: bool = False, centre: bool = False,
             face: str = WORD_BODY_FONT, style: str | None = None) -> None:
        p = word.add_paragraph(style=style)
        if centre:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.font.size, run.bold, run.font.name = Pt(size), bold, "Times New Roman"
        _east_asian(run, face)

    if doc.office:
        para(doc.office, 16, centre=True, face=WORD_TITLE_FONT)
    para(doc.title, 22, bold=True, centre=True, face=WORD_TITLE_FONT, style="Title")
    para(doc.date_line, 12, centre=True)
    for section in doc.sections:
        h = word.add_heading(level=1)
        run = h.add_run(section.heading)
        run.font.size, run.font.name = Pt(16), "Times New Roman"
        _east_asian(run, "黑体")
        for text in section.paragraphs:
            para(text, 12)
        for tab in section.tables:
            table = word.add_table(rows=1, cols=len(tab.head))
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            for cell, text in zip(table.rows[0].cells, tab.head, strict=True):
                cell.text = ""
                run = cell.paragraphs[0].add_run(text)
                run.bold, run.font.size = True, Pt(10.5)
                _east_asian(run, "黑体")
            for row in tab.rows:
                cells = table.add_row().cells
                for cell, text in zip(cells, row, strict=True):
                    cell.text = ""
                    run = cell.paragraphs[0].add_run(str(text))
                    run.font.size = Pt(10.5)
                    _east_asian(run, WORD_BODY_FONT)
            word.add_paragraph()
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def to_pdf(doc: Document) -> bytes:
    """The report as an A4 PDF (landscape when a table is too wide for portrait)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    widest = max((len(t.head) for s in doc.sections for t in s.tables), default=0)
    size = landscape(A4) if widest > 7 else A4
    style = {
        "office": ParagraphStyle("office", fontName=CJK_FONT, fontSize=14, leading=20,
                                 alignment=TA_CENTER),
        "title": ParagraphStyle("title", fontName=CJK_FONT, fontSize=20, leading=28,
                                alignment=TA_CENTER, spaceAfter=4),
        "date": ParagraphStyle("date", fontName=CJK_FONT, fontSize=11, leading=16,
                               alignment=TA_CENTER, spaceAfter=10),
        "h": ParagraphStyle("h", fontName=CJK_FONT, fontSize=14, leading=20, spaceBefore=10,
                            spaceAfter=4),
        "p": ParagraphStyle("p", fontName=CJK_FONT, fontSize=10.5, leading=16,
                            wordWrap="CJK"),
        "cell": ParagraphStyle("cell", fontName=CJK_FONT, fontSize=9, leading=12,
                               wordWrap="CJK"),
    }

    def text(s: str, st: str) -> Any:
        return Paragraph(s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
                         style[st])

    flow: list[Any] = []
    if doc.office:
        flow.append(text(doc.office, "office"))
    flow += [text(doc.title, "title"), text(doc.date_line, "date")]
    usable = size[0] - 36 * mm
    for section in doc.sections:
        flow.append(text(section.heading, "h"))
        flow += [text(p, "p") for p in section.paragraphs]
        for tab in section.tables:
            data = [[text(h, "cell") for h in tab.head]]
            data += [[text(str(c), "cell") for c in row] for row in tab.rows]
            table = PdfTable(data, colWidths=[usable / len(tab.head)] * len(tab.head),
                             repeatRows=1)
            table.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]))
            flow += [table, Spacer(1, 6)]
    out = io.BytesIO()

    def page_number(canvas: Any, pdf: Any) -> None:
        canvas.saveState()
        canvas.setFont(CJK_FONT, 9)
        canvas.drawCentredString(size[0] / 2, 10 * mm, f"— {pdf.page} —")
        canvas.restoreState()

    SimpleDocTemplate(out, pagesize=size, title=doc.title, author=doc.office,
                      leftMargin=18 * mm, rightMargin=18 * mm, topMargin=20 * mm,
                      bottomMargin=18 * mm).build(flow, onFirstPage=page_number,
                                                  onLaterPages=page_number)
    return out.getvalue()


MEDIA = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "pdf": "application/pdf"}


def render(doc: Document, kind: str) -> bytes:
    """The report as `kind` ('docx' or 'pdf')."""
    return to_docx(doc) if kind == "docx" else to_pdf(doc)
