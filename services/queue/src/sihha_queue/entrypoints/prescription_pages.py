"""The pages of the electronic prescription, in Arabic (right-to-left) and French:

- ``/terminals/prescription?ticket=<id>``: the consultation room writes the prescription
  of the patient being served (opened from the counter page's "prescribe" button; it
  signs in with the counter terminal's device credential, the terminal enrolled with
  the ``doctor`` role): search the nomenclature as one types, warnings inline with a
  reason to override each, sign, print the A5 PDF;
- ``/terminals/pharmacy``: a pharmacy's terminal (enrolled once with the
  ``pharmacist`` role, ``#enrol=<one-time code>``) scans or types a prescription's
  code, sees it verified, and dispenses line by line (partially, with substitutions).

They share the terminals' layout, script and style (`pages.py`); their texts come from
the service's message catalogue (``prescription.page.*``, ``pharmacy.page.*``).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from sihha_kit.i18n import N_
from sihha_queue.entrypoints.pages import LangQuery, render_page

#: the units a line's dose is written in → the key of its name
UNITS = {
    "tablet": N_("prescription.unit.tablet"),
    "capsule": N_("prescription.unit.capsule"),
    "sachet": N_("prescription.unit.sachet"),
    "suppository": N_("prescription.unit.suppository"),
    "ampoule": N_("prescription.unit.ampoule"),
    "ml": N_("prescription.unit.ml"),
    "mg": N_("prescription.unit.mg"),
    "g": N_("prescription.unit.g"),
    "ug": N_("prescription.unit.ug"),
    "drop": N_("prescription.unit.drop"),
    "puff": N_("prescription.unit.puff"),
    "application": N_("prescription.unit.application"),
}
#: routes of administration → the key of its name
ROUTES = {
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

#: keys the prescription and pharmacy scripts pass to their notices at run time
SCRIPT_KEYS = (
    N_("pharmacy.page.dispensed"),
    N_("pharmacy.page.nothing"),
    N_("prescription.page.no-ticket"),
    N_("prescription.page.no-warnings"),
    N_("prescription.page.printed"),
    N_("prescription.page.warnings-found"),
)

router = APIRouter(tags=["terminal pages"])


@router.get(
    "/terminals/prescription",
    response_class=HTMLResponse,
    summary="Consultation room: write, check, sign and print a prescription",
)
async def prescription_page(lang: LangQuery = None) -> HTMLResponse:
    return render_page(
        "prescription.html",
        lang,
        kind="prescription",
        script="prescription.js",
        page_title=N_("prescription.page.title"),
        units=UNITS,
        routes=ROUTES,
    )


@router.get(
    "/terminals/pharmacy",
    response_class=HTMLResponse,
    summary="Pharmacy: verify a prescription's code and dispense it",
)
async def pharmacy_page(lang: LangQuery = None) -> HTMLResponse:
    return render_page(
        "pharmacy.html",
        lang,
        kind="pharmacy",
        script="pharmacy.js",
        page_title=N_("pharmacy.page.title"),
    )
