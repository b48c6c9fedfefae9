"""PDF with charts, in French (left to right) or Arabic (right to left).

ReportLab draws the pages. It does not shape Arabic: `arabic_reshaper` joins
the letters (presentation forms) and `python-bidi` puts them in visual order;
the font (IBM Plex Sans Arabic, shipped on PyPI by `fontpkg-ibm-plex-sans-arabic`,
or REPORTING_PDF_FONT_PATH) has Arabic and Latin glyphs. In Arabic, tables run
right to left and text is right-aligned.

Arabic text is cut into lines *before* it is put in visual order (Unicode's
bidirectional algorithm reorders each line on its own, UAX #9 §3.4): a wrapped cell
reads from its first line down. Numbers, dates and times are isolated (LRI … PDI)
so that ``01/12/2026 10:00`` stays one left-to-right unit inside Arabic; the
isolate marks are dropped once the line is ordered (they have no glyph).
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import arabic_reshaper
from bidi import get_display
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from sihha_reporting.rendering.sections import Section, cover, sections, tr

FONT, BOLD = "SihhaSans", "SihhaSans-Bold"
_registered: set[str] = set()


def _default_fonts() -> tuple[Path, Path]:
    import fontpkg_ibm_plex_sans_arabic as plex

    files = Path(plex.ROOT) / "files"
    return files / "IBMPlexSansArabic-Regular.ttf", files / "IBMPlexSansArabic-Bold.ttf"


def register_fonts(regular: Path | None = None, bold: Path | None = None) -> None:
    if FONT in _registered:
        return
    default_regular, default_bold = _default_fonts()
    pdfmetrics.registerFont(TTFont(FONT, str(regular or default_regular)))
    pdfmetrics.registerFont(TTFont(BOLD, str(bold or regular or default_bold)))
    _registered.add(FONT)


_ISO_INSTANT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?"
)
#: python-bidi orders the characters but does not mirror brackets: done here (in a right-to-left
#: line, brackets take the line's direction)
_MIRROR = str.maketrans("()[]{}«»", ")(][}{»«")


_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
#: a number, a date or a time, and a date followed by its time: one left-to-right unit
_NUMERIC = re.compile(r"\d+(?:[/:.,]\d+)*(?: \d+(?:[/:.,]\d+)*)*")
LRI, PDI = "\u2066", "\u2069"
#: the directional marks and isolates, dropped from a line once it is in visual order
_MARKS = str.maketrans("", "", "\u200e\u200f\u2066\u2067\u2068\u2069")


def readable(value: str) -> str:
    """Instants (already in Algiers time) as dd/mm/yyyy hh:mm, for people."""
    return _ISO_INSTANT.sub(lambda m: f"{m[3]}/{m[2]}/{m[1]} {m[4]}:{m[5]}", value)


def visual(line: str) -> str:
    """One line of right-to-left text (its letters already joined) in visual order,
    its numbers, dates and times isolated left to right."""
    isolated = _NUMERIC.sub(lambda m: f"{LRI}{m[0]}{PDI}", line)
    return get_display(isolated, base_dir="R").translate(_MARKS).translate(_MIRROR)


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shape(text: Any, lang: str) -> str:
    """One line ready to draw as a chart's `String` (not markup): Arabic letters joined
    and in visual order."""
    value = readable("" if text is None else str(text))
    if _ARABIC.search(value):
        value = visual(arabic_reshaper.reshape(value))
    return value


def paragraph(text: Any, style: ParagraphStyle, width: float) -> Paragraph:
    """A paragraph `width` points wide. Arabic text is wrapped first, in logical order,
    with the font's own widths (`simpleSplit`), then each line is put in visual order:
    ReportLab, wrapping text that is already reordered, would print the last words of a
    wrapped cell on its first line."""
    value = readable("" if text is None else str(text))
    if not _ARABIC.search(value):
        return Paragraph(_escaped(value), style)
    joined = arabic_reshaper.reshape(value)
    lines = simpleSplit(joined, style.fontName, style.fontSize, width)
    return Paragraph("<br/>".join(_escaped(visual(line)) for line in lines), style)


def _styles(lang: str) -> dict[str, ParagraphStyle]:
    align = TA_RIGHT if lang == "ar" else TA_LEFT
    return {
        "title": ParagraphStyle("title", fontName=BOLD, fontSize=16, leading=22, alignment=align),
        "h2": ParagraphStyle(
            "h2",
            fontName=BOLD,
            fontSize=12,
            leading=16,
            alignment=align,
            spaceBefore=8,
            spaceAfter=4,
        ),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, alignment=align),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=7, leading=9, alignment=align),
        "head": ParagraphStyle("head", fontName=BOLD, fontSize=7, leading=9, alignment=align),
    }


#: a table cell's left and right padding (ReportLab's default), in points
CELL_PADDING = 6


def _table(section: Section, lang: str, styles: dict[str, ParagraphStyle], width: float) -> Table:
    count = max(1, len(section.columns))
    inner = width / count - 2 * CELL_PADDING
    header = [paragraph(c.label, styles["head"], inner) for c in section.columns]
    body = [
        [paragraph("" if v is None else v, styles["cell"], inner) for v in row]
        for row in section.rows
    ]
    data = [header, *body]
    if lang == "ar":
        data = [list(reversed(row)) for row in data]
    table = Table(data, colWidths=[width / count] * count, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE7F0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _line_chart(series: list[dict[str, Any]], lang: str) -> Drawing:
    drawing = Drawing(250 * mm, 60 * mm)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 15 * mm, 10 * mm, 225 * mm, 42 * mm
    chart.data = [[p["equipped"] for p in series], [p["operating"] for p in series]]
    labels = [p["day"][5:] for p in series]
    step = max(1, len(labels) // 15)
    chart.categoryAxis.categoryNames = [
        label if i % step == 0 else "" for i, label in enumerate(labels)
    ]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.valueMin = 0
    chart.lines[0].strokeColor = ROLLOUT_COLOURS["equipped"]
    chart.lines[1].strokeColor = ROLLOUT_COLOURS["operating"]
    chart.lines[1].strokeWidth = 2
    drawing.add(chart)
    drawing.add(
        String(
            20 * mm,
            55 * mm,
            shape(f"— {tr('equipped', lang)}", lang),
            fontName=FONT,
            fontSize=8,
            fillColor=ROLLOUT_COLOURS["equipped"],
        )
    )
    drawing.add(
        String(
            60 * mm,
            55 * mm,
            shape(f"— {tr('operating', lang)}", lang),
            fontName=FONT,
            fontSize=8,
            fillColor=ROLLOUT_COLOURS["operating"],
        )
    )
    return drawing


def charts(document: dict[str, Any], lang: str) -> list[tuple[str, Drawing]]:
    """The charts of a wilaya report, each with its title; only those that can show
    something, in a form that fits the period:

    - the rollout: over one day, equipped, operating and silent establishments as three
      bars (a line through a single point draws nothing); over several days, equipped
      and operating per day as two lines; none when every figure is zero;
    - the tickets issued per establishment (the 30 busiest), when any was issued.

    A ministry report has none (its tables are the figures it sends)."""
    if document["kind"] == "ministry_monthly":
        return []
    drawn: list[tuple[str, Drawing]] = []
    series = document["rollout"]["series"]
    if len(series) == 1:
        [day] = series
        figures = {
            "equipped": int(day["equipped"]),
            "operating": int(day["operating"]),
            "silent_establishments": len(document["silent"]["establishments"]),
        }
        if any(figures.values()):
            drawn.append((tr("rollout_day", lang), _rollout_bars(figures, lang)))
    elif any(point["equipped"] or point["operating"] for point in series):
        drawn.append((tr("series", lang), _line_chart(series, lang)))
    busy = [r for r in document["activity"]["establishments"] if int(r.get("tickets_issued") or 0)]
    if busy:
        drawn.append((tr("activity", lang), _bar_chart(busy, "tickets_issued", lang)))
    return drawn


#: the colours of the rollout's figures, in the charts as in the legend
ROLLOUT_COLOURS = {
    "equipped": colors.HexColor("#8FA9C4"),
    "operating": colors.HexColor("#1B6B3A"),
    "silent_establishments": colors.HexColor("#A4161A"),
}


def _rollout_bars(figures: dict[str, int], lang: str) -> Drawing:
    """One day's rollout: a bar per figure, labelled with its name and its value; in
    Arabic the bars run from the right."""
    keys = list(figures) if lang != "ar" else list(reversed(figures))
    drawing = Drawing(120 * mm, 60 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 15 * mm, 12 * mm, 100 * mm, 42 * mm
    chart.data = [[figures[key] for key in keys]]
    chart.categoryAxis.categoryNames = [shape(tr(key, lang), lang) for key in keys]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueStep = max(1, -(-max(figures.values()) // 5))
    for index, key in enumerate(keys):
        chart.bars[(0, index)].fillColor = ROLLOUT_COLOURS[key]
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 6
    drawing.add(chart)
    return drawing


def _bar_chart(rows: list[dict[str, Any]], key: str, lang: str) -> Drawing:
    drawing = Drawing(250 * mm, 60 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 15 * mm, 12 * mm, 225 * mm, 42 * mm
    top = sorted(rows, key=lambda r: -int(r.get(key) or 0))[:30]
    chart.data = [[int(r.get(key) or 0) for r in top]] or [[0]]
    chart.categoryAxis.categoryNames = [r["facility_id"][-3:] for r in top] or [""]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#2E6DA4")
    drawing.add(chart)
    drawing.add(String(15 * mm, 56 * mm, shape(tr(key, lang), lang), fontName=FONT, fontSize=8))
    return drawing


def to_pdf(
    document: dict[str, Any], lang: str, *, font: Path | None = None, bold: Path | None = None
) -> bytes:
    register_fonts(font, bold)
    styles = _styles(lang)
    out = io.BytesIO()
    page = landscape(A4)
    doc = SimpleDocTemplate(
        out,
        pagesize=page,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title="Sihha",
        author="Sihha — DSP Oran",
    )
    width = page[0] - 24 * mm
    story: list[Any] = []
    lines = cover(document, lang)
    story.append(paragraph(lines[0][1], styles["title"], width))
    for key, value in lines[1:]:
        text = f"{key} : {value}" if lang != "ar" else f"{key}: {value}"
        story.append(paragraph(text, styles["body"], width))
    story.append(Spacer(1, 6 * mm))
    drawn = charts(document, lang)
    for title, drawing in drawn:
        story.append(paragraph(title, styles["h2"], width))
        story.append(drawing)
    if drawn:
        story.append(PageBreak())
    for section in sections(document, lang):
        if section.key == "series":
            continue  # drawn as a chart
        story.append(paragraph(section.title, styles["h2"], width))
        if section.note:
            story.append(paragraph(section.note, styles["body"], width))
        if section.rows:
            story.append(_table(section, lang, styles, width))
        else:
            story.append(Paragraph("—", styles["body"]))
        story.append(Spacer(1, 3 * mm))
    stamp = _pdf_date(document["report"]["generated_at"])

    def dated(canvas: Canvas, _doc: Any) -> None:
        # the file's creation date is the report's "generated at" (the platform's clock,
        # which a demo simulates), not the machine's
        canvas.setDateFormatter(lambda *_: stamp)

    doc.build(story, onFirstPage=dated)
    return out.getvalue()


def _pdf_date(instant: str) -> str:
    """An ISO instant (``2026-12-01T10:00:00+01:00``) as a PDF date
    (``D:20261201100000+01'00'``, ISO 32000-1 §7.9.4)."""
    moment = datetime.fromisoformat(instant)
    offset = moment.strftime("%z") or "+0000"
    return f"D:{moment:%Y%m%d%H%M%S}{offset[:3]}'{offset[3:]}'"
