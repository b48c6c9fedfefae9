"""Pure building blocks for the `domain/` packages of the services (no I/O here).

An aggregate *records* the events of its changes; the unit of work collects
them on commit and writes them to the outbox in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sihha_contracts.envelope import EventPayload


@dataclass(frozen=True)
class RecordedEvent:
    payload: EventPayload
    facility_id: str
    aggregate_id: str
    #: per-aggregate, starts at 1 and grows by one with each event of the aggregate
    sequence: int
    occurred_at: datetime


@dataclass
class Aggregate:
    """Base for aggregates that record events; `version` is the last sequence used."""

    version: int = 0
    events: list[RecordedEvent] = field(default_factory=list, repr=False, compare=False)

    def record(
        self, payload: EventPayload, *, facility_id: str, aggregate_id: str, at: datetime
    ) -> RecordedEvent:
        self.version += 1
        event = RecordedEvent(payload, facility_id, aggregate_id, self.version, at)
        self.events.append(event)
        return event

    def pop_events(self) -> list[RecordedEvent]:
        events, self.events = self.events, []
        return events
