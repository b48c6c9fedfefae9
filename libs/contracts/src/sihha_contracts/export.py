"""Generate the published documents of the contracts from the code.

    python -m sihha_contracts.export            # (re)write the documents
    python -m sihha_contracts.export --check    # exit 1 and name the stale ones

Two kinds of documents, both beside the package (``libs/contracts/``):

- ``schemas/<event_type>.v<version>.json``: a JSON Schema (2020-12) of the
  whole message body, the envelope with that event's payload schema in place;
- ``asyncapi.yaml``: an AsyncAPI 3.0 description of the bus: one channel per
  producing service's durable topic exchange ``<service>.events``, one `send`
  operation per event type (routing key = event type), one message per
  event type and version whose payload is the JSON Schema above.

The output is deterministic, byte for byte, so that the committed documents
can be compared with what the code generates. The YAML is written by the
small emitter below (block style, strings quoted unless plainly safe), which
keeps this package free of any dependency but pydantic.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import re
import sys
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sihha_contracts.catalogue import all_models
from sihha_contracts.envelope import TRACEPARENT_PATTERN, Envelope, EventPayload

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_FILE = "asyncapi.yaml"
SCHEMAS_DIR = "schemas"
CONTENT_TYPE = "application/json"
AMQP_BINDING_VERSION = "0.3.0"

JsonObject = dict[str, Any]


# -- names -----------------------------------------------------------------


def message_name(model: type[EventPayload]) -> str:
    """``queue.ticket.issued.v1``: the id of one event type and version."""
    return f"{model.event_type}.v{model.schema_version}"


def schema_path(model: type[EventPayload]) -> str:
    """Path of the model's JSON Schema, relative to the contracts directory."""
    return f"{SCHEMAS_DIR}/{message_name(model)}.json"


def exchange_name(service: str) -> str:
    return f"{service}.events"


# -- JSON Schemas ----------------------------------------------------------


def event_schema(model: type[EventPayload]) -> JsonObject:
    """The JSON Schema of a message body of this event: the envelope, payload in place."""
    envelope = Envelope.model_json_schema()
    payload = model.model_json_schema()
    definitions: JsonObject = dict(envelope.pop("$defs", {}))
    for name, definition in payload.pop("$defs", {}).items():
        _add_definition(definitions, name, definition, model)
    payload.pop("description", None)  # the docstring; payload_description() includes it
    payload = {
        "title": payload.pop("title", model.__name__),
        "description": payload_description(model),
        **payload,
    }
    _add_definition(definitions, model.__name__, payload, model)

    properties: JsonObject = dict(envelope.pop("properties"))
    properties["event_type"] = {
        "const": model.event_type,
        "description": properties["event_type"].get("description", ""),
        "title": properties["event_type"].get("title", "Event Type"),
        "type": "string",
    }
    properties["schema_version"] = {
        "const": model.schema_version,
        "description": properties["schema_version"].get("description", ""),
        "title": properties["schema_version"].get("title", "Schema Version"),
        "type": "integer",
    }
    properties["payload"] = {"$ref": f"#/$defs/{model.__name__}"}
    envelope.pop("title", None)
    envelope.pop("description", None)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": f"{model.event_type} v{model.schema_version}",
        "description": model.summary,
        "type": envelope.pop("type"),
        "properties": properties,
        "required": envelope.pop("required"),
        **envelope,
        "$defs": {name: definitions[name] for name in sorted(definitions)},
    }


def _add_definition(
    definitions: JsonObject, name: str, definition: JsonObject, model: type[EventPayload]
) -> None:
    if name in definitions and definitions[name] != definition:
        raise ValueError(f"{model.__name__}: two different definitions named {name!r}")
    definitions[name] = definition


# -- AsyncAPI --------------------------------------------------------------


def contracts_version() -> str:
    try:
        return version("sihha-contracts")
    except PackageNotFoundError:  # pragma: no cover - only outside an installation
        return "0+unknown"


def asyncapi_document(models: Sequence[type[EventPayload]] | None = None) -> JsonObject:
    """The AsyncAPI 3.0 document of the whole catalogue, as plain data."""
    models = list(all_models()) if models is None else sorted(models, key=_model_key)
    services = sorted({model.service() for model in models})
    event_types = sorted({model.event_type for model in models})

    channels: JsonObject = {}
    for service in services:
        exchange = exchange_name(service)
        channels[exchange] = {
            "address": exchange,
            "title": f"Events of the {service} service",
            "description": (
                f"The durable topic exchange `{exchange}` of the {service} service. "
                "Every message is routed by its event type; consumers bind their "
                "own durable quorum queue `<consumer>.inbox` to the types they need."
            ),
            "messages": {
                message_name(model): {"$ref": f"#/components/messages/{message_name(model)}"}
                for model in models
                if model.service() == service
            },
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {
                        "name": exchange,
                        "type": "topic",
                        "durable": True,
                        "autoDelete": False,
                    },
                    "bindingVersion": AMQP_BINDING_VERSION,
                }
            },
        }

    operations: JsonObject = {}
    for event_type in event_types:
        versions = [model for model in models if model.event_type == event_type]
        latest = versions[-1]
        exchange = exchange_name(latest.service())
        operations[f"send.{event_type}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{exchange}"},
            "title": f"Publish {event_type}",
            "summary": latest.summary,
            "description": (
                f"The {latest.service()} service publishes `{event_type}` to `{exchange}` "
                f"with the routing key `{event_type}`, from its transactional outbox "
                "(persistent, mandatory, with publisher confirms)."
            ),
            "messages": [
                {"$ref": f"#/channels/{exchange}/messages/{message_name(model)}"}
                for model in versions
            ],
            "bindings": {
                "amqp": {
                    "cc": [event_type],
                    "deliveryMode": 2,
                    "mandatory": True,
                    "bindingVersion": AMQP_BINDING_VERSION,
                }
            },
        }

    messages: JsonObject = {}
    for model in models:
        name = message_name(model)
        messages[name] = {
            "name": model.event_type,
            "title": f"{model.event_type} v{model.schema_version}",
            "summary": model.summary,
            "description": _message_description(model),
            "contentType": CONTENT_TYPE,
            "correlationId": {"$ref": "#/components/correlationIds/correlation_id"},
            "traits": [{"$ref": "#/components/messageTraits/envelope"}],
            "payload": {"$ref": schema_path(model)},
            "bindings": {
                "amqp": {"messageType": model.event_type, "bindingVersion": AMQP_BINDING_VERSION}
            },
            "x-schema-version": model.schema_version,
            "x-payload-model": f"{model.__module__}.{model.__qualname__}",
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Sihha events",
            "version": contracts_version(),
            "description": (
                "Events of the Sihha health-digitisation platform of the wilaya health "
                "directorates. Generated from the `sihha_contracts` package "
                "(`python -m sihha_contracts.export`); do not edit by hand.\n\n"
                "Every message body is one JSON envelope (`event_id`, `event_type`, "
                "`schema_version`, `occurred_at`, `recorded_at`, `producer`, "
                "`facility_id`, `aggregate_id`, `sequence`, `correlation_id`, "
                "`causation_id`, `traceparent`) carrying the event's `payload`. "
                "A version only ever gains optional fields; anything else is a new "
                "version. Consumers ignore unknown fields and dead-letter unknown "
                "versions. No personal data travels: patients appear only as a "
                "pseudonymous key."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "broker": {
                "host": "{host}:{port}",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The platform's RabbitMQ broker (3.10+ or 4.x).",
                "variables": {
                    "host": {"default": "rabbitmq"},
                    "port": {"default": "5672"},
                },
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "correlationIds": {
                "correlation_id": {
                    "description": (
                        "Shared by every event of one business flow; the first event of "
                        "a flow uses its own event_id."
                    ),
                    "location": "$message.payload#/correlation_id",
                }
            },
            "messageTraits": {
                "envelope": {
                    "contentType": CONTENT_TYPE,
                    "headers": {
                        "type": "object",
                        "properties": {
                            "traceparent": {
                                "type": "string",
                                "pattern": TRACEPARENT_PATTERN,
                                "description": (
                                    "W3C trace context, as in the envelope's `traceparent`"
                                ),
                            }
                        },
                    },
                    "x-amqp-properties": {
                        "message_id": "$message.payload#/event_id",
                        "type": "$message.payload#/event_type",
                        "app_id": "$message.payload#/producer/name",
                        "content_type": CONTENT_TYPE,
                        "delivery_mode": 2,
                    },
                }
            },
            "messages": messages,
        },
    }


def _model_key(model: type[EventPayload]) -> tuple[str, int]:
    return model.event_type, model.schema_version


def payload_description(model: type[EventPayload]) -> str:
    """The summary, then the model's own docstring if it has one."""
    own_doc = model.__dict__.get("__doc__")
    if isinstance(own_doc, str) and own_doc.strip():
        return f"{model.summary}\n\n{inspect.cleandoc(own_doc)}"
    return model.summary


def _message_description(model: type[EventPayload]) -> str:
    return (
        f"{payload_description(model)}\n\n"
        f"The body is the envelope with `event_type` = `{model.event_type}` and "
        f"`schema_version` = {model.schema_version}; the AMQP `message_id` is its "
        "`event_id`, the AMQP `type` its event type, `app_id` the producing service."
    )


# -- the documents ---------------------------------------------------------


def generate_documents() -> dict[str, str]:
    """Every document, by path relative to the contracts directory, as text."""
    models = list(all_models())
    documents = {schema_path(model): to_json(event_schema(model)) for model in models}
    documents[ASYNCAPI_FILE] = to_yaml(asyncapi_document(models))
    return dict(sorted(documents.items()))


def stale_documents(root: Path, documents: dict[str, str] | None = None) -> list[str]:
    """Paths (relative to `root`) that are missing, differ, or are no longer generated."""
    documents = generate_documents() if documents is None else documents
    stale = [
        path
        for path, text in documents.items()
        if not (root / path).is_file() or (root / path).read_bytes() != text.encode()
    ]
    stale.extend(_leftovers(root, documents))
    return sorted(stale)


def write_documents(root: Path, documents: dict[str, str] | None = None) -> list[str]:
    """Write what changed and remove schemas no longer generated; returns the paths touched."""
    documents = generate_documents() if documents is None else documents
    touched = stale_documents(root, documents)
    for path in touched:
        target = root / path
        if path in documents:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(documents[path].encode())
        else:
            target.unlink()
    return touched


def _leftovers(root: Path, documents: Iterable[str]) -> list[str]:
    directory = root / SCHEMAS_DIR
    if not directory.is_dir():
        return []
    generated = set(documents)
    return [
        f"{SCHEMAS_DIR}/{file.name}"
        for file in sorted(directory.glob("*.json"))
        if f"{SCHEMAS_DIR}/{file.name}" not in generated
    ]


def default_root() -> Path:
    """The contracts directory of a source checkout (``libs/contracts``)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "src" / "sihha_contracts").is_dir():
        raise SystemExit(
            "cannot find the contracts directory from an installed package; pass --out DIR"
        )
    return root


# -- serialisation ---------------------------------------------------------


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


_PLAIN = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$./\-]*$")
_RESERVED = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})


def to_yaml(data: Any) -> str:
    """Block-style YAML of JSON-like data, deterministic (mapping order is kept)."""
    lines: list[str] = []
    _emit(data, 0, lines)
    return "\n".join(lines) + "\n"


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict) and value:
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"YAML keys must be strings, not {key!r}")
            if _is_collection(item):
                lines.append(f"{pad}{_scalar(key)}:")
                _emit(item, indent + 2, lines)
            else:
                lines.append(f"{pad}{_scalar(key)}: {_scalar(item)}")
    elif isinstance(value, list) and value:
        for item in value:
            if _is_collection(item):
                nested: list[str] = []
                _emit(item, indent + 2, nested)
                lines.append(f"{pad}- {nested[0][indent + 2 :]}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(value)}")


def _is_collection(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _RESERVED:
            return value
        return _double_quoted(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if exponent and "." not in mantissa:  # YAML 1.1 readers want `1.0e-09`, not `1e-09`
        text = f"{mantissa}.0e{exponent}"
    return text


def _double_quoted(text: str) -> str:
    escaped = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            escaped.append("\\" + char)
        elif char == "\n":
            escaped.append("\\n")
        elif char == "\t":
            escaped.append("\\t")
        elif code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029, 0xFEFF):
            escaped.append(f"\\u{code:04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


# -- command line ----------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sihha_contracts.export",
        description="Write the JSON Schemas and the AsyncAPI document of the event contracts.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and name the documents that differ from the code",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the contracts directory (default: libs/contracts of this checkout)",
    )
    args = parser.parse_args(argv)
    root: Path = args.out if args.out is not None else default_root()
    if args.check:
        stale = stale_documents(root)
        if stale:
            print(
                "stale contract documents (regenerate with `python -m sihha_contracts.export`):",
                file=sys.stderr,
            )
            for path in stale:
                print(f"  {root / path}", file=sys.stderr)
            return 1
        print(f"contract documents in {root} are up to date")
        return 0
    touched = write_documents(root)
    for path in touched:
        print(f"updated {root / path}")
    print(f"{len(touched)} document(s) updated in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
