"""The ticket aggregate, without any I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sihha_contracts.events.queue import IssueChannel, Priority, TicketIssuedV1
from sihha_queue.domain.ticket import Ticket, ticket_label


def test_labels_carry_the_prefix_and_at_least_three_digits() -> None:
    assert ticket_label("MG", 42) == "MG-042"
    assert ticket_label("DENT", 1234) == "DENT-1234"


def test_issuing_records_one_issued_event_with_the_first_sequence() -> None:
    at = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
    ticket = Ticket.issue(
        facility_id="31-PC-001",
        service_code="MG",
        service_day=date(2026, 11, 25),
        number=7,
        priority=Priority.PREGNANT,
        channel=IssueChannel.KIOSK,
        at=at,
    )
    [event] = ticket.pop_events()
    assert isinstance(event.payload, TicketIssuedV1)
    assert event.payload.ticket_number == "MG-007"
    assert event.payload.priority is Priority.PREGNANT
    assert event.payload.arrived_at == at
    assert (event.sequence, event.aggregate_id, event.facility_id) == (
        1,
        str(ticket.ticket_id),
        "31-PC-001",
    )
    assert ticket.pop_events() == []
