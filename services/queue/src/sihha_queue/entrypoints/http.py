"""HTTP routes of the queue service: thin, they build commands and map results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from sihha_kit.auth import Authorizer, Caller, Role, ensure_establishment
from sihha_queue.context import QueueContext
from sihha_queue.entrypoints.schemas import IssuedCount, IssueTicketRequest, TicketResponse
from sihha_queue.service_layer.commands import IssueTicket
from sihha_queue.service_layer.handlers import issue_ticket

router = APIRouter(tags=["tickets"])
require = Authorizer()

FacilityPath = Annotated[
    str, Path(pattern=r"^[0-9]{2}-[A-Z]{2,5}-[0-9]{2,4}$", examples=["31-PC-001"])
]


def context(request: Request) -> QueueContext:
    ctx: QueueContext = request.app.state.context
    return ctx


ContextDep = Annotated[QueueContext, Depends(context)]
ReceptionDep = Annotated[Caller, Depends(require(Role.receptionist, Role.kiosk, Role.admin))]
MonitorDep = Annotated[Caller, Depends(require(Role.it_unit, Role.wilaya_group, Role.admin))]


@router.post(
    "/establishments/{facility_id}/tickets",
    status_code=201,
    summary="Issue a ticket for a service (reception desk or kiosk)",
)
async def post_ticket(
    facility_id: FacilityPath, body: IssueTicketRequest, ctx: ContextDep, caller: ReceptionDep
) -> TicketResponse:
    ensure_establishment(caller, facility_id)
    ticket = await issue_ticket(
        IssueTicket(facility_id, body.service_code, body.priority, body.channel),
        ctx.uow(),
        clock=ctx.clock,
    )
    return TicketResponse(
        ticket_id=ticket.ticket_id,
        visit_id=ticket.visit_id,
        facility_id=ticket.facility_id,
        service_code=ticket.service_code,
        number=ticket.number,
        label=ticket.label,
        service_day=ticket.service_day,
        priority=ticket.priority,
        status=ticket.status.value,
        issued_at=ticket.issued_at,
    )


@router.get(
    "/counts/tickets-issued",
    summary="Tickets issued per establishment and day, as this service counts them "
    "(the reconciliation's source of truth)",
)
async def get_issued_counts(ctx: ContextDep, caller: MonitorDep) -> list[IssuedCount]:
    async with ctx.uow() as uow:
        rows = await uow.tickets.count_issued()
    return [IssuedCount(**row) for row in rows]
