"""Reception and kiosk routes: issuing tickets, appointment check-in, the waiting list,
a visit's history, and the ticket status page's data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from sihha_contracts.events.queue import Priority
from sihha_kit.auth import Caller
from sihha_kit.errors import BadRequest, Forbidden, NotFound
from sihha_kit.problems import problems
from sihha_kit.responses import JSONResponse
from sihha_queue.adapters.idempotency import request_digest
from sihha_queue.context import QueueContext
from sihha_queue.entrypoints.deps import (
    SERVICE_PATTERN,
    URGENT_ROLES,
    ContextDep,
    FacilityPath,
    IdempotencyKeyHeader,
    ReceptionDep,
    StaffDep,
)
from sihha_queue.entrypoints.schemas import (
    CheckInRequest,
    HistoryEntry,
    IssueTicketRequest,
    TicketResponse,
    TicketStatusResponse,
    VisitResponse,
)
from sihha_queue.service_layer import commands, handlers, views
from sihha_queue.service_layer.handlers import IdempotencyKey, RequestAlreadyDone

router = APIRouter(tags=["reception"])


async def _idempotent(
    ctx: QueueContext,
    caller: Caller,
    key: str | None,
    request: dict[str, Any],
    run: Callable[[IdempotencyKey | None], Awaitable[Any]],
) -> JSONResponse:
    """Run `run(idempotency)` once per (caller, key); a retry gets the stored first answer.
    `request` is what identifies the request (compared by its HMAC digest)."""
    if key is None:
        ticket = await run(None)
        return JSONResponse(views.ticket_summary(ticket), status_code=201)
    digest = request_digest(ctx.idempotency_secret, request)
    idempotency = IdempotencyKey(caller.subject, key, digest)

    async def stored() -> JSONResponse | None:
        async with ctx.uow() as uow:
            found = await uow.idempotency.find(caller.subject, key)
        if found is None:
            return None
        if found["request_hash"] != digest:
            raise BadRequest("idempotency-key-reused")
        return JSONResponse(
            found["response"],
            status_code=found["status_code"],
            headers={"Idempotent-Replayed": "true"},
        )

    if (previous := await stored()) is not None:
        return previous
    try:
        ticket = await run(idempotency)
    except RequestAlreadyDone:
        previous = await stored()
        assert previous is not None
        return previous
    return JSONResponse(views.ticket_summary(ticket), status_code=201)


@router.post(
    "/establishments/{facility_id}/tickets",
    status_code=201,
    response_model=TicketResponse,
    summary="Issue a ticket for a service (reception desk or kiosk)",
    responses=problems(401, 403, 404, 409, 422),
)
async def issue_ticket(
    facility_id: FacilityPath,
    body: IssueTicketRequest,
    ctx: ContextDep,
    caller: ReceptionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    if body.priority is Priority.URGENT and not caller.has_any(*URGENT_ROLES):
        raise Forbidden("urgent-by-staff-only")
    command = commands.IssueTicket(
        facility_id,
        body.service_code,
        body.priority,
        body.channel,
        body.nin,
        body.age_band,
        body.sex,
    )

    async def run(idempotency: IdempotencyKey | None) -> Any:
        return await handlers.issue_ticket(
            command,
            ctx.uow(),
            clock=ctx.clock,
            policy=ctx.policy,
            pseudonym_key=ctx.pseudonym_key,
            idempotency=idempotency,
        )

    request = {"path": facility_id, **body.model_dump()} if idempotency_key else {}
    return await _idempotent(ctx, caller, idempotency_key, request, run)


@router.post(
    "/establishments/{facility_id}/check-in",
    status_code=201,
    response_model=TicketResponse,
    summary="Check in with a booking code: an appointment-holder ticket, even with the "
    "appointments service down",
    responses=problems(401, 403, 404, 409, 422),
)
async def check_in(
    facility_id: FacilityPath,
    body: CheckInRequest,
    ctx: ContextDep,
    caller: ReceptionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    command = commands.CheckIn(facility_id, body.booking_code)

    async def run(idempotency: IdempotencyKey | None) -> Any:
        return await handlers.check_in(
            command, ctx.uow(), clock=ctx.clock, policy=ctx.policy, idempotency=idempotency
        )

    request = {"path": facility_id, **body.model_dump()}
    return await _idempotent(ctx, caller, idempotency_key, request, run)


@router.get(
    "/tickets/{ticket_id}/status",
    tags=["patients"],
    summary="Position and estimated wait of a ticket (the page its QR code opens). Public: "
    "the ticket id is unguessable and the answer carries nothing personal.",
    responses=problems(404, 422),
)
async def ticket_status(ticket_id: UUID, ctx: ContextDep) -> TicketStatusResponse:
    status = await views.ticket_status(ctx.uow(), ticket_id, ctx.clock(), ctx.policy)
    if status is None:
        raise NotFound("unknown-ticket")
    return TicketStatusResponse(**status)


@router.get(
    "/establishments/{facility_id}/tickets",
    summary="Today's waiting tickets of a clinic, in the order they will be called",
    responses=problems(401, 403, 422),
)
async def waiting_tickets(
    facility_id: FacilityPath,
    ctx: ContextDep,
    caller: StaffDep,
    service_code: Annotated[str | None, Query(pattern=SERVICE_PATTERN)] = None,
) -> list[TicketResponse]:
    waiting = await views.waiting_list(
        ctx.uow(), facility_id, service_code, ctx.clock(), ctx.policy
    )
    return [TicketResponse.model_validate(views.ticket_summary(t)) for t in waiting]


@router.get(
    "/establishments/{facility_id}/visits/{visit_id}",
    summary="A visit's history: every ticket, call, routing and completion",
    responses=problems(401, 403, 404, 422),
)
async def visit_history(
    facility_id: FacilityPath, visit_id: UUID, ctx: ContextDep, caller: StaffDep
) -> VisitResponse:
    async with ctx.uow() as uow:
        rows = await uow.tickets.visit_history(facility_id, visit_id)
    if not rows:
        raise NotFound("unknown-visit")
    return VisitResponse(
        visit_id=visit_id,
        history=[
            HistoryEntry(
                at=r["at"],
                action=r["action"],
                ticket_label=views.history_label(r),
                service_code=r["service_code"],
                counter_label=r["counter_label"],
                detail_fr=r["detail_fr"],
                detail_ar=r["detail_ar"],
            )
            for r in rows
        ],
    )
