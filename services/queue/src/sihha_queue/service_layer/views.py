"""Read side: what terminals, boards and patients are shown (no changes here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sihha_kit.clock import to_local
from sihha_kit.errors import Forbidden, NotFound
from sihha_queue.domain.estimate import wait_minutes
from sihha_queue.domain.policy import CallPolicy
from sihha_queue.domain.ticket import Counter, Ticket, TicketStatus, ticket_label
from sihha_queue.service_layer.unit_of_work import QueueUnitOfWork


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": str(ticket.ticket_id),
        "visit_id": str(ticket.visit_id),
        "facility_id": ticket.facility_id,
        "service_code": ticket.service_code,
        "number": ticket.number,
        "label": ticket.label,
        "service_day": ticket.service_day.isoformat(),
        "priority": ticket.priority.value,
        "status": ticket.status.value,
        "issued_at": ticket.issued_at.isoformat(),
        "arrived_at": ticket.arrived_at.isoformat(),
        "counter_label": ticket.counter_label,
        "appointment_ref": ticket.appointment_ref,
        "call_reason": ticket.call_reason,
    }


async def ticket_status(
    uow: QueueUnitOfWork, ticket_id: UUID, now: datetime, policy: CallPolicy
) -> dict[str, Any] | None:
    """Position and estimated wait of a ticket: what the QR code on the ticket opens,
    with the names of its polyclinic and service. A waiting ticket of a service day that
    is over is shown as expired (the day's closing expires it)."""
    async with uow:
        ticket = await uow.tickets.get(ticket_id)
        if ticket is None:
            return None
        clinic = uow.clinics.establishment(ticket.facility_id)
        service = uow.clinics.service(ticket.facility_id, ticket.service_code)
        status = ticket.status
        today = uow.directory.queue_day(ticket.facility_id, ticket.service_code, now)
        if status.is_open and ticket.service_day < today:
            status = TicketStatus.EXPIRED
        view: dict[str, Any] = {
            "label": ticket.label,
            "facility_id": ticket.facility_id,
            "establishment_name_fr": clinic["name_fr"] if clinic else ticket.facility_id,
            "establishment_name_ar": clinic["name_ar"] if clinic else ticket.facility_id,
            "service_code": ticket.service_code,
            "service_name_fr": service["name_fr"] if service else ticket.service_code,
            "service_name_ar": service["name_ar"] if service else ticket.service_code,
            "status": status.value,
            "counter_label": ticket.counter_label,
            "waited_minutes": max(0, int((now - ticket.arrived_at).total_seconds() // 60)),
            "position": None,
            "ahead": None,
            "estimated_wait_minutes": None,
            "estimated_call_at": None,
        }
        if status is TicketStatus.WAITING:
            ahead = await uow.tickets.position(ticket, now, policy)
            counters = await uow.clinics.active_counters(ticket.facility_id, ticket.service_code)
            recent = await uow.tickets.recent_service_seconds(
                ticket.facility_id, ticket.service_code
            )
            minutes = wait_minutes(ahead, counters, recent)
            view.update(position=ahead + 1, ahead=ahead, estimated_wait_minutes=minutes)
            if minutes is not None:
                view["estimated_call_at"] = to_local(now + timedelta(minutes=minutes)).strftime(
                    "%H:%M"
                )
        return view


async def waiting_list(
    uow: QueueUnitOfWork,
    facility_id: str,
    service_code: str | None,
    now: datetime,
    policy: CallPolicy,
) -> list[Ticket]:
    """Today's waiting tickets of a clinic (or of one service), in calling order."""
    days = uow.directory.queue_days(facility_id, now)
    if service_code is not None:
        days = {code: day for code, day in days.items() if code == service_code}
    async with uow:
        waiting = await uow.tickets.waiting(facility_id, days)
    waiting.sort(key=lambda t: (t.service_code, *policy.sort_key(t, now)))
    return waiting


def _board_call(row: dict[str, Any], kind: str, at: datetime) -> dict[str, Any]:
    return {
        "id": row["event_id"],
        "kind": kind,
        "ticket_id": str(row["ticket_id"]),
        "label": ticket_label(row["service_code"], row["number"]),
        "service_code": row["service_code"],
        "counter_label": row["counter_label"],
        "at": at.isoformat(),
    }


async def board_state(
    uow: QueueUnitOfWork, facility_id: str, now: datetime
) -> list[dict[str, Any]]:
    """The tickets currently called in a clinic, newest first (what a board shows at
    once), each with the id of its last call."""
    async with uow:
        rows = await uow.tickets.calls_on_board(facility_id, now - timedelta(hours=12))
    return [_board_call(row, "called", row["last_called_at"]) for row in rows]


async def board_calls_after(
    uow: QueueUnitOfWork, facility_id: str, event_id: int
) -> list[dict[str, Any]]:
    """The calls and recalls after `event_id`, oldest first (a reconnecting board's)."""
    async with uow:
        rows = await uow.tickets.calls_after(facility_id, event_id)
    return [_board_call(row, row["action"], row["at"]) for row in rows]


async def counter_of(uow: QueueUnitOfWork, facility_id: str, counter_id: Any) -> Counter:
    """An active counter of this clinic: 404 if unknown or inactive, 403 if another's."""
    counter = await uow.clinics.counter(counter_id)
    if counter is None:
        raise NotFound("unknown-counter")
    if counter.facility_id != facility_id:
        raise Forbidden("counter-of-another-establishment")
    return counter


async def counter_ticket(uow: QueueUnitOfWork, facility_id: str, counter_id: UUID) -> Ticket | None:
    """The ticket a counter has open (called or in service), if any: what the counter page
    shows after a reload, or when the answer to its call was lost on the way."""
    async with uow:
        counter = await counter_of(uow, facility_id, counter_id)
        return await uow.tickets.open_at_counter(counter.counter_id)


def history_label(row: dict[str, Any]) -> str:
    return ticket_label(row["service_code"], row["number"])
