"""HTTP routes of the doctor's side of the electronic prescription and of the nomenclature.

Who may do what:

- search the nomenclature and read its editions: ``doctor``, ``pharmacist``, ``admin``,
  ``it_unit`` (no establishment involved: the nomenclature is national);
- check, sign (issue), read, print, export (FHIR) and cancel a prescription: a
  ``doctor`` of the prescription's establishment (``admin`` may read);
- the establishments' public keys that verify prescription codes: ``doctor``,
  ``pharmacist``, ``admin``, ``it_unit``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from sihha_kit.auth import Caller, Role
from sihha_kit.clock import ALGIERS
from sihha_kit.errors import BadRequest, NotFound
from sihha_kit.i18n import as_language
from sihha_kit.problems import catalogue_of, language_of
from sihha_kit.responses import JSONResponse
from sihha_queue.adapters.prescription_fhir import prescription_bundle
from sihha_queue.adapters.prescription_pdf import render_prescription
from sihha_queue.entrypoints.deps import ContextDep, FacilityPath, MonitorDep, require
from sihha_queue.entrypoints.prescription_schemas import (
    CancelPrescriptionRequest,
    NomenclatureCode,
    PrescriptionRequest,
    problems,
)
from sihha_queue.service_layer import prescriptions as service
from sihha_queue.service_layer.prescription_views import (
    prescription_view,
    product_view,
    warning_view,
)

router = APIRouter(tags=["prescriptions"])

#: a doctor of the path's establishment
DoctorDep = Annotated[Caller, Depends(require(Role.doctor, establishment="facility_id"))]
#: who reads the path's establishment's prescriptions
ReaderDep = Annotated[
    Caller, Depends(require(Role.doctor, Role.admin, establishment="facility_id"))
]
NomenclatureReaderDep = Annotated[
    Caller, Depends(require(Role.doctor, Role.pharmacist, Role.admin, Role.it_unit))
]

WRITE_PROBLEMS = problems(
    s403="Not a doctor of this establishment",
    s404="Unknown ticket",
    s409="Warnings not overridden (their keys and texts in `warnings`), or the ticket is not "
    "being served",
    s422="A product or DCI code not in the current edition, a withdrawn product, a rule of "
    "the product's list broken (duration, renewal, quantity in words), a quantity of zero, "
    "an unknown override",
    s503="No nomenclature imported yet, or no signing key for the establishment",
)
READ_PROBLEMS = problems(s403="Not of this establishment", s404="Unknown prescription")


def _command(facility_id: str, body: PrescriptionRequest) -> service.WritePrescription:
    return service.WritePrescription(
        facility_id=facility_id,
        ticket_id=body.ticket_id,
        validity_days=body.validity_days,
        overrides={o.key: o.reason for o in body.overrides},
        lines=[
            service.LineDraft(
                registration=line.registration,
                code=line.code,
                # 4 decimal places, as the line stores it
                dose=Decimal(str(round(line.dose, 4))).normalize(),
                dose_unit=line.dose_unit,
                route=line.route,
                frequency_per_day=line.frequency_per_day,
                duration_days=line.duration_days,
                quantity=line.quantity,
                quantity_in_words=line.quantity_in_words,
                renewals=line.renewals,
                instructions=line.instructions,
            )
            for line in body.lines
        ],
    )


@router.get(
    "/nomenclature/search",
    summary="Search the current edition by the start of a DCI or brand (accents, case ignored)",
    responses=problems(s503="No nomenclature imported yet"),
)
async def search_nomenclature(
    ctx: ContextDep,
    caller: NomenclatureReaderDep,
    q: Annotated[str, Query(min_length=1, max_length=60, examples=["parac"])],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> JSONResponse:
    async with ctx.uow() as uow:
        edition_id = await service.current_edition_id(uow)
        found = await uow.nomenclature.search(edition_id, q, limit)
    return JSONResponse({"edition_id": edition_id, "products": [product_view(p) for p in found]})


@router.get(
    "/nomenclature/codes/{code}/products",
    summary="The products of a nomenclature code (same DCI, form and dosage) in the current edition",
    responses=problems(s503="No nomenclature imported yet"),
)
async def products_of_code(
    ctx: ContextDep, caller: NomenclatureReaderDep, code: NomenclatureCode
) -> JSONResponse:
    async with ctx.uow() as uow:
        edition_id = await service.current_edition_id(uow)
        found = await uow.nomenclature.products_with_code(edition_id, code)
    return JSONResponse({"edition_id": edition_id, "products": [product_view(p) for p in found]})


@router.get("/nomenclature/editions", summary="The imported editions and what changed in each")
async def editions(ctx: ContextDep, caller: NomenclatureReaderDep) -> JSONResponse:
    async with ctx.uow() as uow:
        rows = await uow.nomenclature.editions()
    return JSONResponse(
        [
            {
                "edition_id": r["edition_id"],
                "published_on": r["published_on"].isoformat(),
                "title": r["title"],
                "imported_at": r["imported_at"].isoformat(),
                "product_count": r["product_count"],
                "changes": r["changes"],
            }
            for r in rows
        ]
    )


@router.get("/prescription-keys", summary="Every establishment's public key (PEM) for codes")
async def prescription_keys(ctx: ContextDep, caller: NomenclatureReaderDep) -> JSONResponse:
    keys = ctx.prescription_keys
    return JSONResponse({code: keys.public_pem(code) for code in keys.public_keys()})


@router.post(
    "/establishments/{facility_id}/prescriptions/check",
    summary="Check a prescription before signing: its lines resolved and its warnings",
    responses=WRITE_PROBLEMS,
)
async def check_prescription(
    facility_id: FacilityPath,
    body: PrescriptionRequest,
    request: Request,
    ctx: ContextDep,
    caller: DoctorDep,
) -> JSONResponse:
    """Changes nothing (a POST only because the draft is a body)."""
    checked = await service.check_prescription(
        ctx.uow(), _command(facility_id, body), caller, ctx.clock()
    )
    catalogue = catalogue_of(request)
    return JSONResponse(
        {
            "edition_id": checked.edition_id,
            "validity_days": checked.validity_days,
            "warnings": [warning_view(w, catalogue) for w in checked.warnings],
            "lines": [
                {
                    "line_no": line.line_no,
                    "code": line.item.code,
                    "registration": line.item.registration,
                    "dci": line.item.dci,
                    "brand": line.item.brand,
                    "list_class": line.item.list_class.value,
                    "substances": list(line.item.substances),
                }
                for line in checked.lines
            ],
        }
    )


@router.post(
    "/establishments/{facility_id}/prescriptions",
    status_code=201,
    summary="Sign (issue) a prescription; every warning must be overridden with a reason",
    responses=WRITE_PROBLEMS,
)
async def issue_prescription(
    facility_id: FacilityPath,
    body: PrescriptionRequest,
    request: Request,
    ctx: ContextDep,
    caller: DoctorDep,
) -> JSONResponse:
    prescription, code = await service.issue_prescription(
        ctx.uow(), _command(facility_id, body), caller, ctx.clock(), ctx.prescription_keys
    )
    return JSONResponse(
        prescription_view(prescription, ctx.clock(), catalogue_of(request), code=code),
        status_code=201,
    )


async def _readable(ctx: Any, facility_id: str, prescription_id: UUID) -> tuple[Any, str]:
    """The prescription and its code; the caller's establishment is checked by the route's
    dependency."""
    prescription = await service.prescription_for(ctx.uow(), facility_id, prescription_id)
    async with ctx.uow() as uow:
        stored = await uow.prescriptions.code_of(prescription_id)
    if stored is None:
        raise NotFound("prescription-not-found", prescription_id=str(prescription_id))
    return prescription, stored[0]


@router.get(
    "/establishments/{facility_id}/prescriptions/{prescription_id}",
    summary="A prescription, its warnings overridden and its dispenses",
    responses=READ_PROBLEMS,
)
async def get_prescription(
    facility_id: FacilityPath,
    prescription_id: UUID,
    request: Request,
    ctx: ContextDep,
    caller: ReaderDep,
) -> JSONResponse:
    prescription, code = await _readable(ctx, facility_id, prescription_id)
    return JSONResponse(
        prescription_view(prescription, ctx.clock(), catalogue_of(request), code=code)
    )


@router.get(
    "/establishments/{facility_id}/prescriptions/{prescription_id}/pdf",
    summary="The printable prescription (A5 PDF) in French or Arabic",
    responses={200: {"content": {"application/pdf": {}}}, **READ_PROBLEMS},
)
async def prescription_pdf(
    facility_id: FacilityPath,
    prescription_id: UUID,
    request: Request,
    ctx: ContextDep,
    caller: ReaderDep,
    lang: Annotated[str | None, Query(pattern="^(fr|ar)$")] = None,
) -> Response:
    prescription, code = await _readable(ctx, facility_id, prescription_id)
    found = ctx.directory.establishment(facility_id)
    establishment = dict(found) if found is not None else None
    pdf = render_prescription(
        prescription,
        code,
        language=as_language(lang or language_of(request)),
        catalogue=catalogue_of(request),
        establishment=establishment,
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="ordonnance-{prescription_id}.pdf"'},
    )


@router.get(
    "/establishments/{facility_id}/prescriptions/{prescription_id}/fhir",
    summary="The prescription as FHIR R4 MedicationRequest and MedicationDispense resources",
    responses={200: {"content": {"application/fhir+json": {}}}, **READ_PROBLEMS},
)
async def prescription_fhir(
    facility_id: FacilityPath,
    prescription_id: UUID,
    ctx: ContextDep,
    caller: ReaderDep,
) -> JSONResponse:
    prescription, _ = await _readable(ctx, facility_id, prescription_id)
    return JSONResponse(
        prescription_bundle(prescription, prescription.state_at(ctx.clock())),
        media_type="application/fhir+json",
    )


@router.post(
    "/establishments/{facility_id}/prescriptions/{prescription_id}/cancel",
    summary="Cancel a prescription nothing was dispensed of",
    responses=problems(
        s403="Not a doctor of this establishment",
        s404="Unknown prescription",
        s409="Already dispensed (in part) or cancelled",
    ),
)
async def cancel_prescription(
    facility_id: FacilityPath,
    prescription_id: UUID,
    body: CancelPrescriptionRequest,
    request: Request,
    ctx: ContextDep,
    caller: DoctorDep,
) -> JSONResponse:
    prescription = await service.cancel_prescription(
        ctx.uow(), facility_id, prescription_id, body.reason, ctx.clock()
    )
    return JSONResponse(prescription_view(prescription, ctx.clock(), catalogue_of(request)))


@router.get(
    "/establishments/{facility_id}/visits/{visit_id}/prescriptions",
    summary="The prescriptions written during a visit",
    responses=problems(s403="Not of this establishment"),
)
async def visit_prescriptions(
    facility_id: FacilityPath,
    visit_id: UUID,
    request: Request,
    ctx: ContextDep,
    caller: ReaderDep,
) -> JSONResponse:
    async with ctx.uow() as uow:
        ids = await uow.prescriptions.for_visit(visit_id)
        found = [await uow.prescriptions.get(i) for i in ids]
    catalogue = catalogue_of(request)
    return JSONResponse(
        [
            prescription_view(p, ctx.clock(), catalogue)
            for p in found
            if p is not None and p.facility_id == facility_id
        ]
    )


@router.get(
    "/counts/prescriptions",
    tags=["counts"],
    summary="Per establishment and Algiers day, from this service's own records: prescriptions "
    "issued and their lines, dispenses, cancellations (reporting's reconciliation)",
    responses=problems(s422="An impossible period"),
)
async def prescription_counts(
    ctx: ContextDep,
    caller: MonitorDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> JSONResponse:
    if end < start or end - start > timedelta(days=366):
        raise BadRequest("prescription-counts-period", start=start.isoformat(), end=end.isoformat())
    begin = datetime.combine(start, time(0), ALGIERS)
    finish = datetime.combine(end + timedelta(days=1), time(0), ALGIERS)
    async with ctx.uow() as uow:
        rows = await uow.prescriptions.daily_counts(begin, finish)
    return JSONResponse(rows)
