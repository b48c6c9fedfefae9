"""HTTP routes of the queue service: thin, they build commands and map results."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from sihha_contracts.events.queue import StaffRole
from sihha_kit.auth import Caller, Role, bearer_security, ensure_establishment
from sihha_kit.clock import ALGIERS
from sihha_kit.errors import BadRequest, NotFound
from sihha_kit.problems import problems
from sihha_kit.responses import JSONResponse
from sihha_queue.entrypoints.deps import (
    ContextDep,
    CounterDep,
    FacilityPath,
    MonitorDep,
    ReceptionDep,
    RoutingDep,
    StaffDep,
    context_of,
    reception,
    require,
)
from sihha_queue.entrypoints.schemas import (
    ActivityCount,
    CallResponse,
    CallTicketRequest,
    CancelRequest,
    CheckInRequest,
    HeartbeatRequest,
    HistoryEntry,
    IssuedCount,
    IssueTicketRequest,
    RouteRequest,
    RouteResponse,
    TicketResponse,
    TicketStatusResponse,
    VisitResponse,
)
from sihha_queue.service_layer import commands, handlers, views
from sihha_queue.service_layer.handlers import IdempotencyKey, RequestAlreadyDone

router = APIRouter()

#: the Idempotency-Key header of the reception routes, read by `idempotency_key` (a
#: `Header` parameter cost FastAPI ~4 % of a ticket's instructions to resolve) and
#: declared in the OpenAPI document here
IDEMPOTENCY_KEY_MAX = 128
IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retrying with the same key returns the first result",
    "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
}
#: what the busiest route declares itself (see `issue_ticket`)
ISSUE_OPENAPI = {"parameters": [IDEMPOTENCY_KEY_PARAMETER], "security": bearer_security(reception)}


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
        raise BadRequest(
            "idempotency-key-too-long",
            f"La clé d'idempotence dépasse {IDEMPOTENCY_KEY_MAX} caractères.",
            f"مفتاح عدم التكرار يتجاوز {IDEMPOTENCY_KEY_MAX} حرفًا.",
        )
    return key


def _staff_role(caller: Caller) -> StaffRole | None:
    return next((role for role in StaffRole if Role(role.value) in caller.roles), None)


def _ticket(ticket: Any) -> TicketResponse:
    return TicketResponse.model_validate(views.ticket_summary(ticket))


async def _idempotent(
    ctx: ContextDep, caller: Caller, key: str | None, body: Callable[[], dict[str, Any]], run: Any
) -> JSONResponse:
    """Run `run(idempotency)` once per (caller, key); a retry gets the stored first answer.
    `body()` gives what identifies the request (only needed with a key)."""
    if key is None:
        ticket = await run(None)
        return JSONResponse(views.ticket_summary(ticket), status_code=201)
    digest = hashlib.sha256(json.dumps(body(), sort_keys=True, default=str).encode()).hexdigest()
    idempotency = IdempotencyKey(caller.subject, key, digest)

    async def stored() -> JSONResponse | None:
        async with ctx.uow() as uow:
            found = await uow.idempotency.find(caller.subject, key)
        if found is None:
            return None
        if found["request_hash"] != digest:
            raise BadRequest(
                "idempotency-key-reused",
                "Cette clé d'idempotence a déjà servi pour une autre requête.",
                "مفتاح عدم التكرار هذا استُعمل لطلب آخر.",
            )
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


# -- reception and kiosk -------------------------------------------------------------


@router.post(
    "/establishments/{facility_id}/tickets",
    status_code=201,
    response_model=TicketResponse,
    tags=["reception"],
    summary="Issue a ticket for a service (reception desk or kiosk)",
    openapi_extra=ISSUE_OPENAPI,
    responses=problems(409),
)
async def issue_ticket(
    facility_id: FacilityPath, body: IssueTicketRequest, request: Request
) -> JSONResponse:
    # The busiest route of the platform resolves its context, caller and idempotency
    # key itself instead of through FastAPI parameters: each dependency or header
    # parameter costs FastAPI 0.165 about 4 % of a ticket's instructions per request
    # (bench/README.md). Same checks as `ReceptionDep`; the one difference is the order:
    # a malformed body is answered 422 before a missing token is answered 401.
    ctx = context_of(request)
    caller = await reception(request)
    ensure_establishment(caller, facility_id)
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

    return await _idempotent(
        ctx,
        caller,
        idempotency_key(request),
        lambda: {"path": facility_id, **body.model_dump()},
        run,
    )


@router.post(
    "/establishments/{facility_id}/check-in",
    status_code=201,
    response_model=TicketResponse,
    tags=["reception"],
    summary="Check in with a booking code: an appointment-holder ticket, even with the "
    "appointments service down",
    openapi_extra={"parameters": [IDEMPOTENCY_KEY_PARAMETER]},
    responses=problems(409),
)
async def check_in(
    facility_id: FacilityPath,
    body: CheckInRequest,
    ctx: ContextDep,
    caller: ReceptionDep,
    request: Request,
) -> JSONResponse:
    ensure_establishment(caller, facility_id)
    command = commands.CheckIn(facility_id, body.booking_code)

    async def run(idempotency: IdempotencyKey | None) -> Any:
        return await handlers.check_in(
            command, ctx.uow(), clock=ctx.clock, policy=ctx.policy, idempotency=idempotency
        )

    return await _idempotent(
        ctx,
        caller,
        idempotency_key(request),
        lambda: {"path": facility_id, **body.model_dump()},
        run,
    )


@router.get(
    "/tickets/{ticket_id}/status",
    tags=["patients"],
    summary="Position and estimated wait of a ticket (the page its QR code opens). Public: "
    "the ticket id is unguessable and the answer carries nothing personal.",
)
async def ticket_status(ticket_id: UUID, ctx: ContextDep) -> TicketStatusResponse:
    status = await views.ticket_status(ctx.uow(), ticket_id, ctx.clock(), ctx.policy)
    if status is None:
        raise NotFound("unknown-ticket", "Ticket introuvable.", "التذكرة غير موجودة.")
    return TicketStatusResponse(**status)


@router.get(
    "/establishments/{facility_id}/tickets",
    tags=["reception"],
    summary="The waiting tickets of a clinic, in the order they will be called",
)
async def waiting_tickets(
    facility_id: FacilityPath,
    ctx: ContextDep,
    caller: StaffDep,
    service_code: Annotated[str | None, Query(pattern=r"^[A-Z]{2,8}$")] = None,
) -> list[TicketResponse]:
    ensure_establishment(caller, facility_id)
    now = ctx.clock()
    async with ctx.uow() as uow:
        waiting = await uow.tickets.waiting(facility_id, service_code)
    waiting.sort(key=lambda t: (t.service_code, *ctx.policy.sort_key(t, now)))
    return [_ticket(t) for t in waiting]


@router.get(
    "/establishments/{facility_id}/visits/{visit_id}",
    tags=["reception"],
    summary="A visit's history: every ticket, call, routing and completion",
)
async def visit_history(
    facility_id: FacilityPath, visit_id: UUID, ctx: ContextDep, caller: StaffDep
) -> VisitResponse:
    ensure_establishment(caller, facility_id)
    async with ctx.uow() as uow:
        rows = await uow.tickets.visit_history(visit_id)
    rows = [row for row in rows if row["facility_id"] == facility_id]
    if not rows:
        raise NotFound("unknown-visit", "Visite introuvable.", "الزيارة غير موجودة.")
    return VisitResponse(
        visit_id=visit_id,
        history=[
            HistoryEntry(
                at=r["at"],
                action=r["action"],
                ticket_label=f"{r['service_code']}-{r['number']:03d}",
                service_code=r["service_code"],
                counter_label=r["counter_label"],
                detail_fr=r["detail_fr"],
                detail_ar=r["detail_ar"],
            )
            for r in rows
        ],
    )


# -- counters and consultation rooms ---------------------------------------------------


@router.get(
    "/establishments/{facility_id}/counters/{counter_id}/current",
    tags=["counter"],
    summary="The ticket this counter has open (called or in service), if any: what its page "
    "shows after a reload or when the answer to a call was lost",
)
async def counter_current(
    facility_id: FacilityPath, counter_id: UUID, ctx: ContextDep, caller: CounterDep
) -> CallResponse:
    ensure_establishment(caller, facility_id)
    ticket = await views.counter_ticket(ctx.uow(), facility_id, counter_id)
    return CallResponse(ticket=_ticket(ticket) if ticket is not None else None)


@router.post(
    "/establishments/{facility_id}/counters/{counter_id}/call-next",
    tags=["counter"],
    summary="Call the next ticket by the fair rule (priority weights plus ageing, capped wait)",
    responses=problems(409),
)
async def call_next(
    facility_id: FacilityPath, counter_id: UUID, ctx: ContextDep, caller: CounterDep
) -> CallResponse:
    ensure_establishment(caller, facility_id)
    ticket = await handlers.call_next(
        commands.CallNext(facility_id, counter_id, _staff_role(caller)),
        ctx.uow(),
        clock=ctx.clock,
        policy=ctx.policy,
    )
    if ticket is None:
        return CallResponse(ticket=None)
    choice = ctx.policy.explain(ticket, ticket.called_at or ctx.clock())
    return CallResponse(
        ticket=_ticket(ticket),
        explanation_fr=choice.explanation_fr,
        explanation_ar=choice.explanation_ar,
    )


@router.post(
    "/establishments/{facility_id}/counters/{counter_id}/call",
    tags=["counter"],
    summary="Call a specific ticket, with a reason",
    responses=problems(409),
)
async def call_ticket(
    facility_id: FacilityPath,
    counter_id: UUID,
    body: CallTicketRequest,
    ctx: ContextDep,
    caller: CounterDep,
) -> TicketResponse:
    ensure_establishment(caller, facility_id)
    ticket = await handlers.call_ticket(
        commands.CallTicket(
            facility_id, counter_id, body.ticket_id, body.reason, _staff_role(caller)
        ),
        ctx.uow(),
        clock=ctx.clock,
    )
    return _ticket(ticket)


@router.post(
    "/establishments/{facility_id}/tickets/{ticket_id}/recall",
    tags=["counter"],
    summary="Announce a called ticket again",
    responses=problems(409),
)
async def recall(
    facility_id: FacilityPath, ticket_id: UUID, ctx: ContextDep, caller: CounterDep
) -> TicketResponse:
    ensure_establishment(caller, facility_id)
    return _ticket(
        await handlers.recall(commands.Recall(facility_id, ticket_id), ctx.uow(), clock=ctx.clock)
    )


@router.post(
    "/establishments/{facility_id}/tickets/{ticket_id}/no-show",
    tags=["counter"],
    summary="The patient did not come after the recall window (requeued once if the clinic says so)",
    responses=problems(409),
)
async def no_show(
    facility_id: FacilityPath, ticket_id: UUID, ctx: ContextDep, caller: CounterDep
) -> TicketResponse:
    ensure_establishment(caller, facility_id)
    return _ticket(
        await handlers.mark_no_show(
            commands.MarkNoShow(facility_id, ticket_id), ctx.uow(), clock=ctx.clock
        )
    )


@router.post(
    "/establishments/{facility_id}/tickets/{ticket_id}/start",
    tags=["counter"],
    summary="The patient is at the counter: service starts",
    responses=problems(409),
)
async def start(
    facility_id: FacilityPath, ticket_id: UUID, ctx: ContextDep, caller: CounterDep
) -> TicketResponse:
    ensure_establishment(caller, facility_id)
    return _ticket(
        await handlers.start_service(
            commands.StartService(facility_id, ticket_id), ctx.uow(), clock=ctx.clock
        )
    )


@router.post(
    "/establishments/{facility_id}/tickets/{ticket_id}/complete",
    tags=["counter"],
    summary="Service done; the visit ends with its last open ticket",
    responses=problems(409),
)
async def complete(
    facility_id: FacilityPath, ticket_id: UUID, ctx: ContextDep, caller: CounterDep
) -> TicketResponse:
    ensure_establishment(caller, facility_id)
    return _ticket(
        await handlers.complete_service(
            commands.CompleteService(facility_id, ticket_id), ctx.uow(), clock=ctx.clock
        )
    )


@router.post(
    "/establishments/{facility_id}/tickets/{ticket_id}/cancel",
    tags=["counter"],
    summary="Cancel a waiting or called ticket, with a reason",
    responses=problems(409),
)
async def cancel(
    facility_id: FacilityPath,
    ticket_id: UUID,
    body: CancelRequest,
    ctx: ContextDep,
    caller: StaffDep,
) -> TicketResponse:
    ensure_establishment(caller, facility_id)
    return _ticket(
        await handlers.cancel_ticket(
            commands.CancelTicket(facility_id, ticket_id, body.reason), ctx.uow(), clock=ctx.clock
        )
    )


@router.post(
    "/establishments/{facility_id}/tickets/{ticket_id}/route",
    tags=["counter"],
    summary="From a consultation, send the patient on to another service in the same visit",
    responses=problems(409),
)
async def route(
    facility_id: FacilityPath,
    ticket_id: UUID,
    body: RouteRequest,
    ctx: ContextDep,
    caller: RoutingDep,
) -> RouteResponse:
    ensure_establishment(caller, facility_id)
    finished, routed = await handlers.route_patient(
        commands.RoutePatient(facility_id, ticket_id, body.to_service_code),
        ctx.uow(),
        clock=ctx.clock,
        policy=ctx.policy,
    )
    return RouteResponse(finished=_ticket(finished), routed=_ticket(routed))


# -- terminals and display boards ------------------------------------------------------


@router.post(
    "/establishments/{facility_id}/terminals/{terminal_id}/heartbeat",
    status_code=204,
    tags=["terminals"],
    summary="A terminal says it is alive (kiosk, counter, display)",
)
async def heartbeat(
    facility_id: FacilityPath,
    terminal_id: UUID,
    body: HeartbeatRequest,
    ctx: ContextDep,
    caller: StaffDep,
) -> None:
    ensure_establishment(caller, facility_id)
    await handlers.heartbeat(
        commands.Heartbeat(facility_id, terminal_id, body.kind), ctx.uow(), clock=ctx.clock
    )


@router.get(
    "/establishments/{facility_id}/board",
    tags=["terminals"],
    summary="Live feed of called tickets for the waiting-room display (Server-Sent Events). "
    "The first event is the current state. Token in `access_token` (EventSource sends no headers).",
    responses=problems(401, 403),
)
async def board(
    facility_id: FacilityPath,
    request: Request,
    ctx: ContextDep,
    access_token: Annotated[str, Query(min_length=10, max_length=8192)],
) -> StreamingResponse:
    caller = await require.authenticate(request, access_token)
    if not caller.has_any(
        Role.kiosk,
        Role.receptionist,
        Role.counter_agent,
        Role.doctor,
        Role.nurse,
        Role.pharmacist,
        Role.admin,
        Role.it_unit,
    ):
        from sihha_kit.auth import AuthError

        raise AuthError(
            403,
            "role-forbidden",
            "Votre rôle ne permet pas d'afficher ce tableau.",
            "دورك لا يسمح بعرض هذه اللوحة.",
        )
    ensure_establishment(caller, facility_id)
    feed = ctx.board
    state = await views.board_state(ctx.uow(), facility_id, ctx.clock())

    async def stream() -> AsyncIterator[bytes]:
        queue = feed.subscribe(facility_id)
        try:
            yield _sse("state", {"facility_id": facility_id, "called": state})
            while not await request.is_disconnected():
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                yield _sse(message["kind"], message)
        finally:
            feed.unsubscribe(facility_id, queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


# -- counts for the directorate (reconciliation's source of truth) --------------------


@router.get(
    "/counts/tickets-issued", tags=["counts"], summary="Tickets issued per establishment and day"
)
async def issued_counts(ctx: ContextDep, caller: MonitorDep) -> list[IssuedCount]:
    async with ctx.uow() as uow:
        rows = await uow.tickets.count_issued()
    return [IssuedCount(**row) for row in rows]


@router.get(
    "/counts/activity",
    tags=["counts"],
    summary="Per establishment and Algiers day, from this service's own history: tickets issued, "
    "called, no-shows, cancelled, routed, services completed",
)
async def activity_counts(
    ctx: ContextDep,
    caller: MonitorDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> list[ActivityCount]:
    if end < start or end - start > timedelta(days=366):
        raise BadRequest(
            "impossible-period",
            f"Période impossible : {start} → {end}.",
            f"فترة غير ممكنة: {start} → {end}.",
        )
    begin = datetime.combine(start, time(0), ALGIERS)
    finish = datetime.combine(end + timedelta(days=1), time(0), ALGIERS)
    async with ctx.uow() as uow:
        rows = await uow.tickets.activity(begin, finish)
    return [ActivityCount(**row) for row in rows]
