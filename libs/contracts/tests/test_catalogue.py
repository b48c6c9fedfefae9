"""Round trips through the envelope, decoding failures, evolution rules, immutability."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from sihha_contracts.catalogue import (
    InvalidEvent,
    UnknownEvent,
    all_models,
    decode,
    decode_envelope,
    event_types,
    payload_model,
    register,
)
from sihha_contracts.envelope import Envelope, EventPayload
from sihha_contracts.events.queue import TicketIssuedV1

SampleOf = Callable[[type[EventPayload]], EventPayload]
EnvelopeOf = Callable[..., Envelope]


def test_every_model_has_a_sample(samples: dict[str, dict[str, Any]]) -> None:
    assert sorted(samples) == event_types()


def test_round_trip_through_the_envelope(
    model: type[EventPayload], sample_of: SampleOf, envelope_of: EnvelopeOf
) -> None:
    payload = sample_of(model)
    envelope = envelope_of(payload)

    decoded_envelope, decoded_payload = decode(envelope.model_dump_json().encode())

    assert decoded_envelope == envelope
    assert type(decoded_payload) is model
    assert decoded_payload == payload
    assert payload_model(model.event_type, model.schema_version) is model


def test_envelope_instants_are_utc(sample_of: SampleOf, envelope_of: EnvelopeOf) -> None:
    envelope = envelope_of(sample_of(TicketIssuedV1))
    assert envelope.occurred_at.utcoffset() is not None
    assert envelope.occurred_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert envelope.exchange == "queue.events"
    assert envelope.routing_key == "queue.ticket.issued"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe\x00", b"", b"[]", b'"queue.ticket.issued"', b"{"],
    ids=["text", "binary", "empty", "array", "string", "truncated"],
)
def test_decode_rejects_bodies_that_are_not_json_objects(body: bytes) -> None:
    with pytest.raises(InvalidEvent):
        decode(body)


def _body(envelope: Envelope, **changes: Any) -> bytes:
    data = json.loads(envelope.model_dump_json())
    for key, value in changes.items():
        if value is _DROP:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data).encode()


_DROP = object()


@pytest.mark.parametrize(
    "changes",
    [
        {"event_id": _DROP},
        {"event_id": "not-a-uuid"},
        {"event_type": "QueueTicketIssued"},
        {"schema_version": 0},
        {"occurred_at": "2026-06-15T08:30:00"},  # naive: no offset
        {"producer": {"name": "queue"}},
        {"sequence": 0},
        {"traceparent": "not-a-trace"},
        {"payload": _DROP},
        {"payload": [1, 2]},
    ],
    ids=[
        "no-id",
        "bad-id",
        "bad-type",
        "version-0",
        "naive-time",
        "producer-without-version",
        "sequence-0",
        "bad-traceparent",
        "no-payload",
        "payload-not-object",
    ],
)
def test_decode_rejects_a_broken_envelope(
    changes: dict[str, Any], sample_of: SampleOf, envelope_of: EnvelopeOf
) -> None:
    body = _body(envelope_of(sample_of(TicketIssuedV1)), **changes)
    with pytest.raises(InvalidEvent):
        decode(body)
    with pytest.raises(InvalidEvent):
        decode_envelope(body)


def test_decode_rejects_an_invalid_payload(
    model: type[EventPayload], sample_of: SampleOf, envelope_of: EnvelopeOf
) -> None:
    envelope = envelope_of(sample_of(model))
    required = model.model_json_schema()["required"]
    broken = dict(envelope.payload)
    del broken[required[0]]
    with pytest.raises(InvalidEvent, match=model.event_type):
        decode(_body(envelope, payload=broken))


def test_decode_rejects_personal_data_in_place_of_a_patient_key(
    sample_of: SampleOf, envelope_of: EnvelopeOf
) -> None:
    envelope = envelope_of(sample_of(TicketIssuedV1))
    payload = {**envelope.payload, "patient_key": "123456789012345678"}  # a NIN
    with pytest.raises(InvalidEvent):
        decode(_body(envelope, payload=payload))


def test_unknown_event_type(sample_of: SampleOf, envelope_of: EnvelopeOf) -> None:
    envelope = envelope_of(sample_of(TicketIssuedV1), event_type="queue.ticket.teleported")
    with pytest.raises(UnknownEvent) as raised:
        decode(envelope.model_dump_json())
    assert raised.value.envelope == envelope


def test_unknown_version_of_a_known_type(sample_of: SampleOf, envelope_of: EnvelopeOf) -> None:
    envelope = envelope_of(sample_of(TicketIssuedV1), schema_version=99)
    with pytest.raises(UnknownEvent) as raised:
        decode(envelope.model_dump_json())
    assert raised.value.envelope.schema_version == 99
    assert payload_model("queue.ticket.issued", 99) is None


def test_unknown_fields_are_ignored(
    model: type[EventPayload], sample_of: SampleOf, envelope_of: EnvelopeOf
) -> None:
    payload = sample_of(model)
    envelope = envelope_of(payload)
    body = _body(
        envelope,
        payload={**envelope.payload, "added_in_a_later_revision": {"x": 1}},
        delivery_hint="added to the envelope later",
    )

    decoded_envelope, decoded_payload = decode(body)

    assert decoded_envelope.model_dump(exclude={"payload"}) == envelope.model_dump(
        exclude={"payload"}
    )
    assert decoded_payload == payload
    assert "added_in_a_later_revision" not in decoded_payload.model_dump()


def test_models_are_frozen_and_hashable(model: type[EventPayload], sample_of: SampleOf) -> None:
    payload = sample_of(model)
    first_field = next(iter(model.model_fields))
    with pytest.raises(ValidationError):
        setattr(payload, first_field, getattr(payload, first_field))
    assert hash(payload) == hash(sample_of(model))


def test_envelope_is_frozen(sample_of: SampleOf, envelope_of: EnvelopeOf) -> None:
    envelope = envelope_of(sample_of(TicketIssuedV1))
    with pytest.raises(ValidationError):
        envelope.sequence = 4  # type: ignore[misc]


def test_all_models_are_sorted_and_unique() -> None:
    keys = [(model.event_type, model.schema_version) for model in all_models()]
    assert keys == sorted(set(keys))


def test_a_second_model_for_a_registered_version_is_refused() -> None:
    class Impostor(EventPayload):
        event_type = "queue.ticket.issued"
        schema_version = 1
        summary = "Not the real one."

    with pytest.raises(ValueError, match="registered twice"):
        register(Impostor)
    assert payload_model("queue.ticket.issued", 1) is TicketIssuedV1
    assert register(TicketIssuedV1) is TicketIssuedV1  # registering again is harmless


@pytest.mark.parametrize(
    ("event_type", "schema_version", "summary", "message"),
    [
        ("Queue.Ticket", 1, "A summary.", "is not"),
        ("queue.ticket.frozen", 0, "A summary.", "schema_version"),
        ("queue.ticket.frozen", 1, "  ", "summary"),
    ],
)
def test_register_checks_the_model(
    event_type: str, schema_version: int, summary: str, message: str
) -> None:
    class Bad(EventPayload):
        pass

    Bad.event_type = event_type
    Bad.schema_version = schema_version
    Bad.summary = summary
    with pytest.raises(ValueError, match=message):
        register(Bad)
    assert payload_model(event_type, schema_version) is None
