"""The pages of the electronic prescription, in Arabic (right-to-left) and French:

- ``/terminals/prescription?ticket=<id>``: the consultation room writes the prescription
  of the patient being served (opened from the counter page's "prescribe" button, with
  the counter terminal's enrolment and its doctor token): search the nomenclature as
  one types, warnings inline with a reason to override each, sign, print the A5 PDF;
- ``/terminals/pharmacy``: a pharmacy (enrolled once with a pharmacist token,
  ``#token=…&facility=31-OFF-0001&terminal=<uuid>``) scans or types a prescription's
  code, sees it verified, and dispenses line by line (partially, with substitutions).

They share the terminals' layout, script and style (`pages.py`); their texts come from
the service's message catalogue (``prescription.page.*``, ``pharmacy.page.*``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from sihha_kit.i18n import Catalogue
from sihha_queue.entrypoints.pages import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    SECURITY_HEADERS,
    LangQuery,
    Language,
    _templates,
    strings,
)

router = APIRouter(tags=["terminal pages"])


def _texts() -> dict[str, dict[str, str]]:
    catalogue = Catalogue.of("sihha_queue")
    legacy = strings()
    return {lang: {**legacy[lang], **catalogue.as_json(lang)} for lang in ("fr", "ar")}


def _page(template: str, lang: str | None, **values: Any) -> HTMLResponse:
    language: Language = "fr" if lang == "fr" else DEFAULT_LANGUAGE
    texts = _texts()
    html = (
        _templates()
        .get_template(template)
        .render(
            lang=language,
            dir="rtl" if language == "ar" else "ltr",
            explicit_lang=lang in LANGUAGES,
            t=texts[language],
            strings=texts,
            **values,
        )
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get(
    "/terminals/prescription",
    response_class=HTMLResponse,
    summary="Consultation room: write, check, sign and print a prescription",
)
async def prescription_page(lang: LangQuery = None) -> HTMLResponse:
    return _page(
        "prescription.html",
        lang,
        kind="prescription",
        script="prescription.js",
        page_title="prescription.page.title",
        units=(
            "tablet",
            "capsule",
            "sachet",
            "suppository",
            "ampoule",
            "ml",
            "mg",
            "g",
            "ug",
            "drop",
            "puff",
            "application",
        ),
        routes=(
            "oral",
            "sublingual",
            "rectal",
            "cutaneous",
            "nasal",
            "inhaled",
            "ophthalmic",
            "auricular",
            "vaginal",
            "intravenous",
            "intramuscular",
            "subcutaneous",
        ),
    )


@router.get(
    "/terminals/pharmacy",
    response_class=HTMLResponse,
    summary="Pharmacy: verify a prescription's code and dispense it",
)
async def pharmacy_page(lang: LangQuery = None) -> HTMLResponse:
    return _page(
        "pharmacy.html",
        lang,
        kind="pharmacy",
        script="pharmacy.js",
        page_title="pharmacy.page.title",
    )
