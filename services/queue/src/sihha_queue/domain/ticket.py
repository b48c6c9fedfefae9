"""Tickets: a patient's place in the queue of one service of a polyclinic.

Pure domain: no database, no web, no broker. A ticket records the events of
its changes; the unit of work writes them to the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sihha_contracts.events.queue import IssueChannel, Priority, TicketIssuedV1
from sihha_kit.domain import Aggregate


class TicketStatus(StrEnum):
    WAITING = "waiting"


def ticket_label(service_code: str, number: int) -> str:
    """`MG-042`: the service's prefix and the day's number, at least three digits."""
    return f"{service_code}-{number:03d}"


@dataclass(kw_only=True)
class Ticket(Aggregate):
    ticket_id: UUID
    visit_id: UUID
    facility_id: str
    service_code: str
    service_day: date
    number: int
    priority: Priority
    channel: IssueChannel
    issued_at: datetime
    status: TicketStatus = TicketStatus.WAITING

    @property
    def label(self) -> str:
        return ticket_label(self.service_code, self.number)

    @classmethod
    def issue(
        cls,
        *,
        facility_id: str,
        service_code: str,
        service_day: date,
        number: int,
        priority: Priority,
        channel: IssueChannel,
        at: datetime,
    ) -> Ticket:
        ticket = cls(
            ticket_id=uuid4(),
            visit_id=uuid4(),
            facility_id=facility_id,
            service_code=service_code,
            service_day=service_day,
            number=number,
            priority=priority,
            channel=channel,
            issued_at=at,
        )
        ticket.record(
            TicketIssuedV1(
                ticket_id=ticket.ticket_id,
                visit_id=ticket.visit_id,
                service_code=service_code,
                ticket_number=ticket.label,
                service_day=service_day,
                priority=priority,
                channel=channel,
                arrived_at=at,
            ),
            facility_id=facility_id,
            aggregate_id=str(ticket.ticket_id),
            at=at,
        )
        return ticket
