"""The printed prescription: one A5 page (more if the lines need it), in French or
Arabic, with the usual fields of the national layout and the signed QR code.

The same libraries as the reporting service's PDFs: ReportLab draws, ``arabic_reshaper``
joins Arabic letters and ``python-bidi`` puts them in visual order, with IBM Plex Sans
Arabic (Arabic and Latin glyphs, from ``fontpkg-ibm-plex-sans-arabic``). The QR code is
``segno``'s matrix drawn as squares (no raster image).

Layout: the State's heading in both languages, the establishment, "ORDONNANCE /
وصفة طبية", date and prescriber; the patient's name and age left blank for the doctor's
hand (the service keeps no name, only a pseudonymous key); numbered lines with
posology, duration and quantity (in full for narcotics); the validity; the doctor's
stamp and signature box; the QR code with its text.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import arabic_reshaper
import segno
from bidi import get_display
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from sihha_kit.i18n import N_, Catalogue, format_date
from sihha_queue.domain.prescription import Prescription

FONT, BOLD = "SihhaRx", "SihhaRx-Bold"
#: texts chosen at run time (the pages use the same keys)
UNIT_TEXTS = {
    unit: N_(key)
    for unit, key in {
        "mg": "prescription.unit.mg",
        "g": "prescription.unit.g",
        "ug": "prescription.unit.ug",
        "ml": "prescription.unit.ml",
        "tablet": "prescription.unit.tablet",
        "capsule": "prescription.unit.capsule",
        "sachet": "prescription.unit.sachet",
        "suppository": "prescription.unit.suppository",
        "ampoule": "prescription.unit.ampoule",
        "drop": "prescription.unit.drop",
        "puff": "prescription.unit.puff",
        "application": "prescription.unit.application",
    }.items()
}
ROUTE_TEXTS = {
    "oral": N_("prescription.route.oral"),
    "sublingual": N_("prescription.route.sublingual"),
    "rectal": N_("prescription.route.rectal"),
    "cutaneous": N_("prescription.route.cutaneous"),
    "nasal": N_("prescription.route.nasal"),
    "inhaled": N_("prescription.route.inhaled"),
    "ophthalmic": N_("prescription.route.ophthalmic"),
    "auricular": N_("prescription.route.auricular"),
    "vaginal": N_("prescription.route.vaginal"),
    "intravenous": N_("prescription.route.intravenous"),
    "intramuscular": N_("prescription.route.intramuscular"),
    "subcutaneous": N_("prescription.route.subcutaneous"),
}
LIST_TEXTS = {
    "none": N_("prescription.list.none"),
    "list_i": N_("prescription.list.list_i"),
    "list_ii": N_("prescription.list.list_ii"),
    "narcotic": N_("prescription.list.narcotic"),
}
_MIRROR = str.maketrans("()[]{}«»", ")(][}{»«")


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    import fontpkg_ibm_plex_sans_arabic as plex

    files = Path(plex.ROOT) / "files"
    pdfmetrics.registerFont(TTFont(FONT, str(files / "IBMPlexSansArabic-Regular.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(files / "IBMPlexSansArabic-Bold.ttf")))


def shape(text: str) -> str:
    """Arabic letters joined and in visual order (other text unchanged)."""
    if any("\u0600" <= ch <= "\u06ff" for ch in text):
        return get_display(arabic_reshaper.reshape(text)).translate(_MIRROR)
    return text


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}".strip()
            if pdfmetrics.stringWidth(shape(candidate), font, size) <= width or not current:
                current = candidate
            else:
                lines.append(current)
                current = word
        lines.append(current)
    return lines


def render_prescription(
    prescription: Prescription,
    code: str,
    *,
    language: str,
    catalogue: Catalogue,
    establishment: dict[str, Any] | None,
) -> bytes:
    """The PDF bytes of the prescription in `language` (``fr`` or ``ar``)."""
    _register_fonts()
    rtl = language == "ar"

    def t(key: str, **params: Any) -> str:
        return catalogue.text(language, key, **params)

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A5, pageCompression=1)
    canvas.setTitle(f"{t('prescription.pdf.title')} {prescription.prescription_id}")
    width, height = A5
    margin = 12 * mm
    usable = width - 2 * margin

    def write(
        text: str, y: float, *, size: float = 9, bold: bool = False, center: bool = False
    ) -> float:
        font = BOLD if bold else FONT
        canvas.setFont(font, size)
        for part in _wrap(text, font, size, usable):
            shaped = shape(part)
            if center:
                canvas.drawCentredString(width / 2, y, shaped)
            elif rtl:
                canvas.drawRightString(width - margin, y, shaped)
            else:
                canvas.drawString(margin, y, shaped)
            y -= size * 1.35
        return y

    def ensure(y: float, needed: float, new_page: Callable[[], float]) -> float:
        return new_page() if y - needed < 45 * mm else y

    y = height - margin
    y = write("République Algérienne Démocratique et Populaire", y, size=8, center=True)
    y = write("الجمهورية الجزائرية الديمقراطية الشعبية", y, size=8, center=True)
    y = write(t("prescription.pdf.ministry"), y, size=8, center=True)
    if establishment:
        name = establishment["name_ar"] if rtl else establishment["name_fr"]
        y = write(f"{name} — {establishment.get('commune', '')}", y, size=9, bold=True, center=True)
    y -= 2 * mm
    y = write(t("prescription.pdf.title"), y, size=14, bold=True, center=True)
    y = write(
        t(
            "prescription.pdf.issued",
            date=format_date(prescription.issued_at, language),
            facility=prescription.facility_id,
        ),
        y,
    )
    y = write(t("prescription.pdf.prescriber", prescriber=prescription.prescriber), y)
    y = write(t("prescription.pdf.patient"), y)
    y -= 2 * mm
    canvas.line(margin, y + 6, width - margin, y + 6)

    def new_page() -> float:
        canvas.showPage()
        return height - margin

    for line in prescription.lines:
        y = ensure(y, 30 * mm, new_page)
        name = line.item.brand or line.item.dci
        title = f"{line.line_no}. {name} — {line.item.form} {line.item.dosage}"
        if line.item.brand:
            title += f" ({line.item.dci})"
        y = write(title, y, size=10, bold=True)
        y = write(
            t(
                "prescription.pdf.posology",
                dose=f"{line.dose.normalize():f}",
                unit=t(UNIT_TEXTS[line.dose_unit.value]),
                per_day=line.frequency_per_day,
                days=line.duration_days,
                route=t(ROUTE_TEXTS[line.route.value]),
            ),
            y,
        )
        quantity = t("prescription.pdf.quantity", quantity=line.quantity)
        if line.quantity_in_words:
            quantity += f" ({line.quantity_in_words})"
        if line.renewals:
            quantity += " — " + t("prescription.pdf.renewals", renewals=line.renewals)
        y = write(quantity, y)
        if line.item.list_class.value != "none":
            y = write(t(LIST_TEXTS[line.item.list_class.value]), y, size=8)
        if line.instructions:
            y = write(line.instructions, y, size=8)
        y -= 2 * mm

    y = ensure(y, 10 * mm, new_page)
    write(
        t("prescription.pdf.valid-until", date=format_date(prescription.valid_until, language)), y
    )

    # the QR code and the signature box at the foot of the last page
    qr = segno.make(code, error="m")
    module = 1.15
    size = len(qr.matrix) * module
    left = margin if not rtl else width - margin - size
    bottom = margin + 6
    canvas.setFillColorRGB(0, 0, 0)
    for row, values in enumerate(qr.matrix):
        for column, dark in enumerate(values):
            if dark:
                canvas.rect(
                    left + column * module,
                    bottom + size - (row + 1) * module,
                    module,
                    module,
                    stroke=0,
                    fill=1,
                )
    canvas.setFont(FONT, 5)
    canvas.drawString(margin, margin, code[:70])
    canvas.drawString(margin, margin - 6, code[70:])
    box_left = width - margin - 45 * mm if not rtl else margin
    canvas.rect(box_left, bottom, 45 * mm, 25 * mm, stroke=1, fill=0)
    canvas.setFont(FONT, 7)
    canvas.drawCentredString(
        box_left + 22.5 * mm, bottom + 26 * mm, shape(t("prescription.pdf.stamp"))
    )
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
