"""Read side: what terminals, boards and patients are shown (no changes here)."""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sihha_kit.clock import to_local
from sihha_kit.errors import Forbidden, NotFound
from sihha_queue.domain.policy import CallPolicy
from sihha_queue.domain.ticket import Counter, Ticket, TicketStatus
from sihha_queue.service_layer.unit_of_work import QueueUnitOfWork

#: assumed service time of a service with no completed ticket yet today
DEFAULT_SERVICE_SECONDS = 7 * 60


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
    """Position and estimated wait of a ticket: what the QR code on the ticket opens.

    The estimate divides the patients ahead (plus this one) among the service's
    active counters, at the median service time of its last 20 completed tickets.
    """
    async with uow:
        ticket = await uow.tickets.get(ticket_id)
        if ticket is None:
            return None
        service = await uow.clinics.service(ticket.facility_id, ticket.service_code)
        status: dict[str, Any] = {
            "label": ticket.label,
            "service_code": ticket.service_code,
            "service_name_fr": service["name_fr"] if service else ticket.service_code,
            "service_name_ar": service["name_ar"] if service else ticket.service_code,
            "status": ticket.status.value,
            "counter_label": ticket.counter_label,
            "waited_minutes": max(0, int((now - ticket.arrived_at).total_seconds() // 60)),
            "position": None,
            "estimated_wait_minutes": None,
            "estimated_call_at": None,
        }
        if ticket.status is TicketStatus.WAITING:
            ahead = await uow.tickets.position(ticket, now, policy)
            counters = max(
                1, await uow.clinics.active_counters(ticket.facility_id, ticket.service_code)
            )
            recent = await uow.tickets.recent_service_seconds(
                ticket.facility_id, ticket.service_code
            )
            per_patient = statistics.median(recent) if recent else DEFAULT_SERVICE_SECONDS
            minutes = math.ceil((ahead + 1) / counters * per_patient / 60)
            status.update(
                position=ahead + 1,
                estimated_wait_minutes=minutes,
                estimated_call_at=to_local(now + timedelta(minutes=minutes)).strftime("%H:%M"),
            )
        return status


async def board_state(
    uow: QueueUnitOfWork, facility_id: str, now: datetime
) -> list[dict[str, Any]]:
    """The tickets currently called in a clinic, newest first (what a board shows at once)."""
    async with uow:
        rows = await uow.tickets.recent_calls(facility_id, now - timedelta(hours=12))
    return [
        {
            "kind": "called",
            "ticket_id": str(row["ticket_id"]),
            "label": f"{row['service_code']}-{row['number']:03d}",
            "service_code": row["service_code"],
            "counter_label": row["counter_label"],
            "at": row["last_called_at"].isoformat(),
        }
        for row in rows
    ]


async def counter_of(uow: QueueUnitOfWork, facility_id: str, counter_id: Any) -> Counter:
    """An active counter of this clinic: 404 if unknown or inactive, 403 if another's."""
    counter = await uow.clinics.counter(counter_id)
    if counter is None:
        raise NotFound(
            "unknown-counter", "Guichet inconnu ou inactif.", "الشباك غير معروف أو غير نشط."
        )
    if counter.facility_id != facility_id:
        raise Forbidden(
            "counter-of-another-establishment",
            "Ce guichet appartient à un autre établissement.",
            "هذا الشباك تابع لمؤسسة أخرى.",
        )
    return counter


async def counter_ticket(uow: QueueUnitOfWork, facility_id: str, counter_id: UUID) -> Ticket | None:
    """The ticket a counter has open (called or in service), if any: what the counter page
    shows after a reload, or when the answer to its call was lost on the way."""
    async with uow:
        counter = await counter_of(uow, facility_id, counter_id)
        return await uow.tickets.open_at_counter(counter.counter_id)
