"""Whether establishments really use the system: presence per day, milestones, terminals.

- `facility_daily_presence` (establishment, Algiers day): every event, and
  how many fell within the establishment's opening hours; terminal heartbeats
  likewise; the first and last event of the day. The rollout's "operating"
  status and the silent-establishment alarm are computed from it.
- `facility_milestones` (establishment): first event, first *use* (an event
  that only real care produces: a ticket issued or called, a visit, an
  emergency arrival, an encounter opened, a prescription), first ticket, and
  the last event with its type.
- `terminals` (terminal): kind, first and last heartbeat, heartbeat count.

Opening hours come from the registry (`registry/oran-establishments.yaml`);
a heartbeat that says whether the clinic was open is believed first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sihha_contracts.events.queue import TerminalHeartbeatV1
from sihha_reporting.domain.facts import Fact
from sihha_reporting.domain.writes import FIRST, MAX, MIN, SUM, Upsert, latest

if TYPE_CHECKING:
    from sihha_reporting.projections import ProjectionContext

NAME = "presence"
VERSION = 1
HANDLES = None  # every event is a sign of life, even one of a type we do not know yet
TABLES = ("facility_daily_presence", "facility_milestones", "terminals")

#: events that only real use of the system produces (not a terminal merely switched on)
USE_TYPES = frozenset(
    {
        "queue.ticket.issued",
        "queue.ticket.called",
        "queue.visit.started",
        "queue.visit.completed",
        "queue.prescription.issued",
        "appointments.appointment.arrived",
        "emergency.visit.arrived",
        "emergency.visit.triaged",
        "records.encounter.opened",
    }
)
HEARTBEAT = "queue.terminal.heartbeat"
OWN_PREFIX = "reporting."


def project(facts: Sequence[Fact], context: ProjectionContext) -> list[Upsert]:
    presence = Upsert(
        "facility_daily_presence",
        ("facility_id", "day"),
        {
            "events": SUM,
            "events_open": SUM,
            "heartbeats": SUM,
            "heartbeats_open": SUM,
            "first_event_at": MIN,
            "last_event_at": MAX,
            "last_open_event_at": MAX,
        },
    )
    milestones = Upsert(
        "facility_milestones",
        ("facility_id",),
        {
            "first_event_at": MIN,
            "first_use_at": MIN,
            "first_ticket_at": MIN,
            "last_event_at": MAX,
            "last_event_id": latest("last_event_at", "last_event_id"),
            "last_event_type": latest("last_event_at", "last_event_id"),
        },
    )
    terminals = Upsert(
        "terminals",
        ("terminal_id",),
        {
            "facility_id": FIRST,
            "terminal_kind": FIRST,
            "first_seen_at": MIN,
            "last_seen_at": MAX,
            "heartbeats": SUM,
        },
    )
    for fact in facts:
        if fact.event_type.startswith(OWN_PREFIX):
            continue  # the reporting service's own events say nothing of an establishment
        facility, at = fact.facility_id, fact.occurred_at
        payload = fact.payload
        heartbeat = isinstance(payload, TerminalHeartbeatV1)
        if heartbeat and payload.within_opening_hours is not None:  # type: ignore[union-attr]
            is_open = bool(payload.within_opening_hours)  # type: ignore[union-attr]
        else:
            is_open = context.hours.is_open(facility, fact.local)
        presence.add(
            facility_id=facility,
            day=fact.day,
            events=1,
            events_open=1 if is_open else 0,
            heartbeats=1 if heartbeat else 0,
            heartbeats_open=1 if heartbeat and is_open else 0,
            first_event_at=at,
            last_event_at=at,
            last_open_event_at=at if is_open else None,
        )
        used = fact.event_type in USE_TYPES and payload is not None
        milestones.add(
            facility_id=facility,
            first_event_at=at,
            first_use_at=at if used else None,
            first_ticket_at=at if fact.event_type == "queue.ticket.issued" else None,
            last_event_at=at,
            last_event_id=fact.event_id,
            last_event_type=fact.event_type,
        )
        if heartbeat:
            terminals.add(
                terminal_id=payload.terminal_id,  # type: ignore[union-attr]
                facility_id=facility,
                terminal_kind=payload.terminal_kind.value,  # type: ignore[union-attr]
                first_seen_at=at,
                last_seen_at=at,
                heartbeats=1,
            )
    return [presence, milestones, terminals]
