"""Sihha event contracts: the envelope, every versioned payload and decoding.

Pydantic v2 models only, so that any consumer, inside the platform or not,
can depend on this package alone. Payload models live in
`sihha_contracts.events.<producing service>`; the JSON Schemas and the
AsyncAPI document beside the package are generated from them
(`python -m sihha_contracts.export`).
"""

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
from sihha_contracts.envelope import Envelope, EventPayload, Producer

__all__ = [
    "Envelope",
    "EventPayload",
    "InvalidEvent",
    "Producer",
    "UnknownEvent",
    "all_models",
    "decode",
    "decode_envelope",
    "event_types",
    "payload_model",
    "register",
]
