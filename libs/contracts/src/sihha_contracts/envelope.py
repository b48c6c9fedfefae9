"""The one envelope every message on the bus carries.

The envelope is the contract between producers and consumers that do not
know each other: identity (`event_id`, also the AMQP `message_id`), type and
version, timing, provenance, ordering within an aggregate and tracing.
The business content is in `payload`, validated against the payload model
registered for (`event_type`, `schema_version`).

Everything on the bus is untrusted input: each identifier of the envelope is
checked against its real pattern (`sihha_contracts.types`), so that a code
that is not one (a formula, a sentence) is refused before any consumer files it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from sihha_contracts.types import AggregateId, ReportingUnit

EVENT_TYPE_PATTERN = r"^[a-z]+\.[a-z_]+\.[a-z_]+$"
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
PRODUCER_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
PRODUCER_VERSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}$"


class Producer(BaseModel):
    """Which service, in which version, produced the event."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(pattern=PRODUCER_NAME_PATTERN, description="Service name, e.g. `queue`")
    version: str = Field(
        pattern=PRODUCER_VERSION_PATTERN, description="Version of the service, e.g. `0.4.1`"
    )


class Envelope(BaseModel):
    """The wire form of every event.

    `payload` stays a plain mapping here so that a consumer can read the
    envelope of an event whose payload version it does not know (to archive it
    or dead-letter it) without failing.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: UUID = Field(description="Unique id of the event; also the AMQP `message_id`")
    event_type: str = Field(
        pattern=EVENT_TYPE_PATTERN,
        description="`<service>.<aggregate>.<verb in past tense>`; also the routing key",
    )
    schema_version: int = Field(ge=1, description="Version of the payload model")
    occurred_at: AwareDatetime = Field(description="When it happened (UTC)")
    recorded_at: AwareDatetime = Field(description="When the producer recorded the event (UTC)")
    producer: Producer
    facility_id: ReportingUnit = Field(
        description=(
            "Code of the establishment where it happened, e.g. `31-PC-001`, or of the wilaya"
            " (`31`) for what the health directorate itself does"
        ),
    )
    aggregate_id: AggregateId = Field(
        description="The aggregate whose change this event records (a UUID or a key of codes)"
    )
    sequence: int = Field(
        ge=1, description="Per-aggregate position, 1 then +1 for each event of the aggregate"
    )
    correlation_id: UUID = Field(description="Shared by every event of one business flow")
    causation_id: UUID | None = Field(
        default=None, description="The `event_id` of the event that caused this one, if any"
    )
    traceparent: str | None = Field(
        default=None, pattern=TRACEPARENT_PATTERN, description="W3C trace context"
    )
    payload: dict[str, Any] = Field(
        description="The payload, valid against the model of (`event_type`, `schema_version`)"
    )

    @field_validator("occurred_at", "recorded_at")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @property
    def routing_key(self) -> str:
        """The AMQP routing key is the event type itself."""
        return self.event_type

    @property
    def exchange(self) -> str:
        """Each producing service owns one topic exchange, `<service>.events`."""
        return f"{self.event_type.split('.', 1)[0]}.events"


class EventPayload(BaseModel):
    """Base of every versioned payload model.

    Subclasses set `event_type` and `schema_version` as class variables and are
    registered in `sihha_contracts.catalogue`. A version only ever gains
    optional fields; anything else is a new version (a new class).
    Unknown fields are ignored so that an older consumer reads a newer minor
    revision of the same version.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    schema_version: ClassVar[int]
    # one English sentence for the AsyncAPI document and the JSON Schemas;
    # `register` refuses a model without it
    summary: ClassVar[str] = ""

    @classmethod
    def service(cls) -> str:
        return cls.event_type.split(".", 1)[0]


def check_event_type(event_type: str) -> str:
    if not re.fullmatch(EVENT_TYPE_PATTERN, event_type):
        raise ValueError(f"event type {event_type!r} is not <service>.<aggregate>.<verb>")
    return event_type
