"""Counter and consultation-room routes: call, recall, no-show, start, complete,
cancel, route."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from sihha_contracts.events.queue import StaffRole
from sihha_kit.auth import Caller, Role
from sihha_kit.problems import problems
from sihha_queue.domain.ticket import Ticket
from sihha_queue.entrypoints.deps import ContextDep, CounterDep, FacilityPath, RoutingDep, StaffDep
from sihha_queue.entrypoints.schemas import (
    CallResponse,
    CallTicketRequest,
    CancelRequest,
    RouteRequest,
    RouteResponse,
    TicketResponse,
)
from sihha_queue.service_layer import commands, handlers, views

router = APIRouter(tags=["counter"])
TICKET_PROBLEMS = problems(401, 403, 404, 409, 422)


def _staff_role(caller: Caller) -> StaffRole | None:
    return next((role for role in StaffRole if Role(role.value) in caller.roles), None)


def _ticket(ticket: Ticket) -> TicketResponse:
    return TicketResponse.model_validate(views.ticket_summary(ticket))


@router.get(
    "/establishments/{facility_id}/counters/{counter_id}/current",
    summary="The ticket this counter has open (called or in service), if any: what its page "
    "shows after a reload or when the answer to a call was lost",
    responses=problems(401, 403, 404, 422),
)
async def counter_current(
    facility_id: FacilityPath, counter_id: UUID, ctx: ContextDep, caller: CounterDep
) -> CallResponse:
    ticket = await views.counter_ticket(ctx.uow(), facility_id, counter_id)
    return CallResponse(ticket=_ticket(ticket) if ticket is not None else None)


@router.post(
    "/establishments/{facility_id}/counters/{counter_id}/call-next",
    summary="Call the next ticket of today's queue by the fair rule (priority weights plus "
    "ageing, capped wait); `counter-busy` (409) while the counter has a ticket open",
    responses=TICKET_PROBLEMS,
)
async def call_next(
    facility_id: FacilityPath, counter_id: UUID, ctx: ContextDep, caller: CounterDep
) -> CallResponse:
    ticket = await handlers.call_next(
        commands.CallNext(facility_id, counter_id, _staff_role(caller)),
        ctx.uow(),
        clock=ctx.clock,
        policy=ctx.policy,
    )
    if ticket is None:
        return CallResponse(ticket=None)
    why = ctx.policy.explain(ticket, ticket.called_at or ctx.clock()).explanation
    texts = handlers.texts().both(why.key, **why.params)
    return CallResponse(
        ticket=_ticket(ticket), explanation_fr=texts["fr"], explanation_ar=texts["ar"]
    )


@router.post(
    "/establishments/{facility_id}/counters/{counter_id}/call",
    summary="Call a specific ticket, with a reason",
    responses=TICKET_PROBLEMS,
)
async def call_ticket(
    facility_id: FacilityPath,
    counter_id: UUID,
    body: CallTicketRequest,
    ctx: ContextDep,
    caller: CounterDep,
) -> TicketResponse:
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
    summary="Announce a called ticket again",
    responses=TICKET_PROBLEMS,
)
async def recall(
    facility_id: FacilityPath, ticket_id: UUID, ctx: ContextDep, caller: CounterDep
) -> TicketResponse:
    return _ticket(
        await handlers.recall(commands.Recall(facility_id, ticket_id), ctx.uow(), clock=ctx.clock)
    )


@router.post(
    "/establishments/{facility_id}/tickets/{ticket_id}/no-show",
    summary="The patient did not come after the recall window (requeued once if the clinic says so)",
    responses=TICKET_PROBLEMS,
)
async def no_show(
    facility_id: FacilityPath, ticket_id: UUID, ctx: ContextDep, caller: CounterDep
) -> TicketResponse:
    return _ticket(
        await handlers.mark_no_show(
            commands.MarkNoShow(facility_id, ticket_id), ctx.uow(), clock=ctx.clock
        )
    )


@router.post(
    "/establishments/{facility_id}/tickets/{ticket_id}/start",
    summary="The patient is at the counter: service starts",
    responses=TICKET_PROBLEMS,
)
async def start(
    facility_id: FacilityPath, ticket_id: UUID, ctx: ContextDep, caller: CounterDep
) -> TicketResponse:
    return _ticket(
        await handlers.start_service(
            commands.StartService(facility_id, ticket_id), ctx.uow(), clock=ctx.clock
        )
    )


@router.post(
    "/establishments/{facility_id}/tickets/{ticket_id}/complete",
    summary="Service done; the visit ends with its last open ticket",
    responses=TICKET_PROBLEMS,
)
async def complete(
    facility_id: FacilityPath, ticket_id: UUID, ctx: ContextDep, caller: CounterDep
) -> TicketResponse:
    return _ticket(
        await handlers.complete_service(
            commands.CompleteService(facility_id, ticket_id), ctx.uow(), clock=ctx.clock
        )
    )


@router.post(
    "/establishments/{facility_id}/tickets/{ticket_id}/cancel",
    summary="Cancel a waiting or called ticket, with a reason (staff only, never a kiosk)",
    responses=TICKET_PROBLEMS,
)
async def cancel(
    facility_id: FacilityPath,
    ticket_id: UUID,
    body: CancelRequest,
    ctx: ContextDep,
    caller: StaffDep,
) -> TicketResponse:
    return _ticket(
        await handlers.cancel_ticket(
            commands.CancelTicket(facility_id, ticket_id, body.reason), ctx.uow(), clock=ctx.clock
        )
    )


@router.post(
    "/establishments/{facility_id}/tickets/{ticket_id}/route",
    summary="From a consultation, send the patient on to another service in the same visit",
    responses=TICKET_PROBLEMS,
)
async def route(
    facility_id: FacilityPath,
    ticket_id: UUID,
    body: RouteRequest,
    ctx: ContextDep,
    caller: RoutingDep,
) -> RouteResponse:
    finished, routed = await handlers.route_patient(
        commands.RoutePatient(facility_id, ticket_id, body.to_service_code),
        ctx.uow(),
        clock=ctx.clock,
        policy=ctx.policy,
    )
    return RouteResponse(finished=_ticket(finished), routed=_ticket(routed))
