"""HTTP routes of the pharmacy: verify a prescription's code, dispense against it.

A ``pharmacist`` acts for the pharmacy (an establishment code among the token's
establishments, in the path) and may verify and dispense a prescription of **any
establishment of the same wilaya** (the first two digits of the codes), on
presenting its signed code: the code is the proof that the patient handed the
prescription over; a prescription id alone gives nothing. Everything else (reading by
id, PDF, cancelling) stays with the prescribing establishment.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from sihha_kit.auth import Caller, Role
from sihha_kit.problems import catalogue_of
from sihha_kit.responses import JSONResponse
from sihha_queue.entrypoints.deps import ContextDep, FacilityPath, require
from sihha_queue.entrypoints.prescription_schemas import DispenseRequest, VerifyRequest, problems
from sihha_queue.service_layer import prescriptions as service
from sihha_queue.service_layer.prescription_views import prescription_view

router = APIRouter(tags=["pharmacy"])

#: a pharmacist acting for the path's pharmacy
PharmacistDep = Annotated[Caller, Depends(require(Role.pharmacist, establishment="pharmacy_id"))]

CODE_PROBLEMS = problems(
    s403="Not a pharmacist of this pharmacy, or a prescription of another wilaya",
    s404="The code is genuine but names no stored prescription",
    s422="A malformed code, a signature that does not match (tampered or forged), an "
    "establishment without a key",
)


@router.post(
    "/pharmacies/{pharmacy_id}/prescriptions/verify",
    summary="Verify a prescription's QR code and show what remains to dispense",
    responses=CODE_PROBLEMS,
)
async def verify_prescription(
    pharmacy_id: FacilityPath,
    body: VerifyRequest,
    request: Request,
    ctx: ContextDep,
    caller: PharmacistDep,
) -> JSONResponse:
    """Changes nothing (a POST so that the code stays out of URLs and logs)."""
    prescription, _ = await service.verify(ctx.uow(), ctx.prescription_keys, body.code, pharmacy_id)
    return JSONResponse(prescription_view(prescription, ctx.clock(), catalogue_of(request)))


@router.post(
    "/pharmacies/{pharmacy_id}/dispenses",
    status_code=201,
    summary="Dispense some packs of some lines (partial or full), with substitutions",
    responses={
        **CODE_PROBLEMS,
        **problems(
            s403="Not a pharmacist of this pharmacy, or a prescription of another wilaya",
            s409="Expired, cancelled or fully dispensed prescription, or a quantity above what "
            "remains of the line",
            s422="A malformed or forged code, a quantity of zero, a product not in the current "
            "edition, a substitute of another DCI, form or dosage",
        ),
    },
)
async def dispense(
    pharmacy_id: FacilityPath,
    body: DispenseRequest,
    request: Request,
    ctx: ContextDep,
    caller: PharmacistDep,
) -> JSONResponse:
    prescription = await service.dispense_prescription(
        ctx.uow(),
        ctx.prescription_keys,
        service.DispensePrescription(
            pharmacy_id=pharmacy_id,
            code=body.code,
            items=[service.ItemDraft(i.line_no, i.quantity, i.registration) for i in body.items],
        ),
        caller,
        ctx.clock(),
    )
    return JSONResponse(
        prescription_view(prescription, ctx.clock(), catalogue_of(request)), status_code=201
    )
