"""The committed JSON Schemas and AsyncAPI document are what the code generates."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from sihha_contracts.catalogue import all_models
from sihha_contracts.envelope import Envelope, EventPayload
from sihha_contracts.export import (
    asyncapi_document,
    default_root,
    event_schema,
    generate_documents,
    main,
    schema_path,
    stale_documents,
    to_yaml,
    write_documents,
)

SampleOf = Callable[[type[EventPayload]], EventPayload]
EnvelopeOf = Callable[..., Envelope]
ROOT = default_root()


def test_committed_documents_are_up_to_date() -> None:
    stale = stale_documents(ROOT)
    assert not stale, (
        f"stale contract documents: {stale}; "
        "run `uv run python -m sihha_contracts.export` and commit the result"
    )


def test_generation_is_deterministic() -> None:
    assert generate_documents() == generate_documents()


def test_check_names_stale_missing_and_leftover_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--check", "--out", str(tmp_path)]) == 0

    (tmp_path / "asyncapi.yaml").write_text("asyncapi: 3.0.0\n")
    (tmp_path / "schemas" / "queue.ticket.called.v1.json").unlink()
    (tmp_path / "schemas" / "queue.ticket.teleported.v1.json").write_text("{}")
    capsys.readouterr()

    assert main(["--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    for name in ("asyncapi.yaml", "queue.ticket.called.v1.json", "queue.ticket.teleported.v1.json"):
        assert name in err

    assert write_documents(tmp_path) == [
        "asyncapi.yaml",
        "schemas/queue.ticket.called.v1.json",
        "schemas/queue.ticket.teleported.v1.json",
    ]
    assert not (tmp_path / "schemas" / "queue.ticket.teleported.v1.json").exists()
    assert stale_documents(tmp_path) == []


def test_one_schema_per_event_type_and_version() -> None:
    expected = {f"schemas/{m.event_type}.v{m.schema_version}.json" for m in all_models()}
    assert {path for path in generate_documents() if path.startswith("schemas/")} == expected


def test_schema_describes_the_whole_message(model: type[EventPayload]) -> None:
    schema = event_schema(model)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["description"] == model.summary
    assert schema["properties"]["event_type"]["const"] == model.event_type
    assert schema["properties"]["schema_version"]["const"] == model.schema_version
    assert schema["properties"]["payload"] == {"$ref": f"#/$defs/{model.__name__}"}
    assert set(schema["required"]) >= {"event_id", "event_type", "payload", "occurred_at"}


def test_schema_accepts_real_messages_and_refuses_broken_ones(
    model: type[EventPayload], sample_of: SampleOf, envelope_of: EnvelopeOf
) -> None:
    schema = json.loads((ROOT / schema_path(model)).read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    message = json.loads(envelope_of(sample_of(model)).model_dump_json())
    validator.validate(message)

    assert not validator.is_valid({**message, "event_type": "queue.ticket.teleported"})
    payload = dict(message["payload"])
    del payload[schema["$defs"][model.__name__]["required"][0]]
    assert not validator.is_valid({**message, "payload": payload})


def test_asyncapi_yaml_reads_back_as_the_generated_document() -> None:
    committed = yaml.safe_load((ROOT / "asyncapi.yaml").read_text())
    assert committed == asyncapi_document()


def test_asyncapi_describes_the_topology() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    services = {model.service() for model in all_models()}
    assert set(document["channels"]) == {f"{service}.events" for service in services}
    for name, channel in document["channels"].items():
        exchange = channel["bindings"]["amqp"]["exchange"]
        assert (channel["address"], exchange["name"]) == (name, name)
        assert (exchange["type"], exchange["durable"]) == ("topic", True)

    for model in all_models():
        operation = document["operations"][f"send.{model.event_type}"]
        assert operation["action"] == "send"
        assert operation["bindings"]["amqp"]["cc"] == [model.event_type]
        assert operation["channel"] == {"$ref": f"#/channels/{model.service()}.events"}
        message = document["components"]["messages"][f"{model.event_type}.v1"]
        assert message["payload"] == {"$ref": schema_path(model)}
        assert message["contentType"] == "application/json"
        assert message["summary"] == model.summary
    trait = document["components"]["messageTraits"]["envelope"]
    assert trait["x-amqp-properties"]["message_id"] == "$message.payload#/event_id"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_reference_of_the_asyncapi_document_resolves() -> None:
    document = asyncapi_document()
    for ref in _refs(document):
        if ref.startswith("#/"):
            node: Any = document
            for part in ref[2:].split("/"):
                node = node[part]
        else:
            assert (ROOT / ref).is_file(), ref


@pytest.mark.parametrize(
    "data",
    [
        {"plain": "queue.events", "quoted": ["yes", "No", "null", "3.0.0", "#/x", "a: b", ""]},
        {"unicode": '≤20 min, ‘quoted’ "double" back\\slash', "lines": "one\ntwo\tthree"},
        {
            "numbers": [0, -1, 2.5, 1e-9, 3e20, float("inf")],
            "flags": [True, False, None],
            "empty": [{}, []],
        },
        {"nested": [[1, [2]], [{"a": {"b": [{"c": 1}]}}]], "$ref": "#/components/x"},
    ],
)
def test_yaml_emitter_round_trips(data: dict[str, Any]) -> None:
    assert yaml.safe_load(to_yaml(data)) == data
