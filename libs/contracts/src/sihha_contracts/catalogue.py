"""The registry of payload models by (event type, schema version), and decoding.

A consumer calls `decode(body)`: it gets the envelope and the typed payload,
`InvalidEvent` for a body that is not a valid event (not JSON, a broken
envelope, a payload that fails its model) and `UnknownEvent` for a well-formed
envelope whose type or version this build of the contracts does not know.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from pydantic import ValidationError

from sihha_contracts.envelope import Envelope, EventPayload, check_event_type

P = TypeVar("P", bound=type[EventPayload])

_CATALOGUE: dict[tuple[str, int], type[EventPayload]] = {}


class InvalidEvent(ValueError):
    """The body is not an event: undecodable, or it breaks its contract."""


class UnknownEvent(LookupError):
    """A well-formed envelope whose type or version is not in this catalogue."""

    def __init__(self, envelope: Envelope) -> None:
        super().__init__(f"unknown event {envelope.event_type} v{envelope.schema_version}")
        self.envelope = envelope


def register(model: P) -> P:
    """Class decorator: add a payload model to the catalogue (once per type/version)."""
    version = model.schema_version
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{model.__name__}: schema_version must be an integer >= 1")
    if not model.summary.strip():
        raise ValueError(f"{model.__name__}: a registered payload needs a summary")
    key = (check_event_type(model.event_type), version)
    if key in _CATALOGUE and _CATALOGUE[key] is not model:
        raise ValueError(f"{key} is registered twice")
    _CATALOGUE[key] = model
    return model


def payload_model(event_type: str, schema_version: int) -> type[EventPayload] | None:
    """The model of (event type, version), or None if this build does not know it."""
    _load_all()
    return _CATALOGUE.get((event_type, schema_version))


def all_models() -> Iterator[type[EventPayload]]:
    """Every registered payload model, sorted by type then version."""
    _load_all()
    for key in sorted(_CATALOGUE):
        yield _CATALOGUE[key]


def event_types() -> list[str]:
    """Every known event type, sorted (each once, whatever its versions)."""
    _load_all()
    return sorted({event_type for event_type, _ in _CATALOGUE})


def decode_envelope(body: bytes | str) -> Envelope:
    """The envelope of a message body, payload left as a mapping; `InvalidEvent` if broken."""
    try:
        return Envelope.model_validate_json(body)
    except ValidationError as error:
        raise InvalidEvent(f"not a valid envelope: {error.error_count()} error(s)") from error


def decode(body: bytes | str) -> tuple[Envelope, EventPayload]:
    """The envelope and the typed payload of a message body (see the module docstring)."""
    envelope = decode_envelope(body)
    model = payload_model(envelope.event_type, envelope.schema_version)
    if model is None:
        raise UnknownEvent(envelope)
    try:
        payload = model.model_validate(envelope.payload)
    except ValidationError as error:
        raise InvalidEvent(
            f"payload of {envelope.event_type} v{envelope.schema_version} is invalid: "
            f"{error.error_count()} error(s)"
        ) from error
    return envelope, payload


_loaded = False


def _load_all() -> None:
    """Import the payload modules so that their @register decorators run."""
    global _loaded
    if not _loaded:
        from sihha_contracts import events  # noqa: F401  (imports every module)

        _loaded = True
