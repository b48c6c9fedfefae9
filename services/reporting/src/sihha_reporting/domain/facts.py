"""What a projection sees of an event: the envelope's facts and the typed payload.

The same `Fact` comes from the live consumer (built from the envelope) and from
a replay of the archive (built from the archived columns), so a projection
cannot tell the two apart — which is what makes a rebuild equal the live state.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sihha_contracts.envelope import Envelope, EventPayload
from sihha_kit.clock import ALGIERS


class Fact:
    """An event as projections see it (a plain slotted class: one is built per event)."""

    __slots__ = (
        "aggregate_id",
        "day",
        "event_id",
        "event_type",
        "facility_id",
        "local",
        "occurred_at",
        "payload",
        "schema_version",
        "sequence",
    )

    def __init__(
        self,
        *,
        event_id: UUID,
        event_type: str,
        schema_version: int,
        facility_id: str,
        aggregate_id: str,
        sequence: int,
        occurred_at: datetime,
        payload: EventPayload | None,
    ) -> None:
        self.event_id = event_id
        self.event_type = event_type
        self.schema_version = schema_version
        self.facility_id = facility_id
        self.aggregate_id = aggregate_id
        self.sequence = sequence
        #: when it happened (UTC); every projection files the event by this instant
        self.occurred_at = occurred_at
        #: None: a type or version this build of the contracts does not know
        self.payload = payload
        #: the same instant in Algiers time, and its day (computed once)
        self.local: datetime = occurred_at.astimezone(ALGIERS)
        self.day: date = self.local.date()

    @classmethod
    def from_envelope(cls, envelope: Envelope, payload: EventPayload | None) -> Fact:
        return cls(
            event_id=envelope.event_id,
            event_type=envelope.event_type,
            schema_version=envelope.schema_version,
            facility_id=envelope.facility_id,
            aggregate_id=envelope.aggregate_id,
            sequence=envelope.sequence,
            occurred_at=envelope.occurred_at,
            payload=payload,
        )

    def __repr__(self) -> str:
        return f"Fact({self.event_type} v{self.schema_version} {self.facility_id} {self.occurred_at.isoformat()})"
