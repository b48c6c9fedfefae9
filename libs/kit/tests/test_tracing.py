"""Tracing: spans are recorded only once something receives them, ids always flow."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import use_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from sihha_kit.tracing import RecordWhenExported


def test_without_a_receiver_spans_are_not_recorded_but_their_ids_still_propagate() -> None:
    sampler = RecordWhenExported()
    exported = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracer = provider.get_tracer("test")

    span = tracer.start_span("request")
    assert not span.is_recording()
    context = span.get_span_context()
    assert context.is_valid and context.trace_id != 0
    carrier: dict[str, str] = {}
    with use_span(span, end_on_exit=True):
        TraceContextTextMapPropagator().inject(carrier)
    assert carrier["traceparent"].split("-")[1] == format(context.trace_id, "032x")
    child = tracer.start_span("consumer", context=TraceContextTextMapPropagator().extract(carrier))
    assert child.get_span_context().trace_id == context.trace_id
    child.end()
    assert exported.get_finished_spans() == ()

    sampler.recording = True
    recorded = tracer.start_span("request")
    assert recorded.is_recording()
    recorded.end()
    assert [s.name for s in exported.get_finished_spans()] == ["request"]


def test_current_traceparent_is_what_the_w3c_propagator_writes() -> None:
    from sihha_kit.tracing import current_traceparent

    assert current_traceparent() is None  # outside any span
    for recording in (False, True):
        sampler = RecordWhenExported()
        sampler.recording = recording
        tracer = TracerProvider(sampler=sampler).get_tracer("test")
        span = tracer.start_span("request")
        carrier: dict[str, str] = {}
        with use_span(span, end_on_exit=True):
            TraceContextTextMapPropagator().inject(carrier)
            assert current_traceparent() == carrier["traceparent"]
        sampled = int(carrier["traceparent"].rsplit("-", 1)[1], 16) & 1
        assert sampled == recording


# -- the spans of a request, from the maintained instrumentations --------------------------

import uuid  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402
from sqlalchemy import text  # noqa: E402

from sihha_kit.app import TELEMETRY  # noqa: E402
from sihha_kit.db import create_engine  # noqa: E402
from sihha_kit.middleware import ServiceMiddleware  # noqa: E402
from sihha_kit.problems import install_problem_handlers  # noqa: E402
from sihha_kit.tracing import configure_tracing  # noqa: E402


@pytest.mark.integration
async def test_a_request_s_server_span_continues_the_caller_and_its_sql_is_a_child(
    make_database: Callable[[str], Awaitable[str]],
) -> None:
    exported = InMemorySpanExporter()
    configure_tracing("tracing-test", "0", extra_processor=SimpleSpanProcessor(exported))
    engine = create_engine(await make_database("tracing"), pool_size=1)
    app = FastAPI(telemetry=TELEMETRY)
    install_problem_handlers(app)
    app.add_middleware(ServiceMiddleware, service="tracing-test", max_body_bytes=1024)

    @app.post("/establishments/{facility_id}/items")
    async def add_item(facility_id: str, body: dict[str, str]) -> dict[str, int]:
        async with engine.connect() as connection:
            value = await connection.scalar(text("SELECT length(:note)"), {"note": body["note"]})
        return {"length": int(value or 0)}

    caller_trace = uuid.uuid4().hex
    caller_span = uuid.uuid4().hex[:16]
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
            response = await c.post(
                "/establishments/31-PC-001/items",
                json={"note": "secret-nin-109870123456789012"},
                headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"},
            )
            assert response.json() == {"length": 29}
            await c.get("/health/live")  # excluded: no span
        # a statement outside any request is not recorded
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 2"))
    finally:
        await engine.dispose()

    spans = exported.get_finished_spans()
    [server] = [s for s in spans if s.kind is SpanKind.SERVER and s.name.startswith("POST")]
    assert server.name == "POST /establishments/{facility_id}/items"
    assert format(server.context.trace_id, "032x") == caller_trace
    assert server.parent is not None and format(server.parent.span_id, "016x") == caller_span
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 200
    sql = [
        s
        for s in spans
        if s.kind is SpanKind.CLIENT and s.context.trace_id == int(caller_trace, 16)
    ]
    statements = [
        s
        for s in sql
        if s.attributes and "SELECT length" in str(s.attributes.get("db.statement", ""))
    ]
    assert statements, [s.name for s in sql]
    assert all(s.parent is not None for s in sql)
    everything = " ".join(str(s.attributes) for s in spans)
    assert "secret-nin" not in everything, "no parameter, no body in a span"
    assert not [
        s for s in spans if s.attributes and "SELECT 2" in str(s.attributes.get("db.statement", ""))
    ]
    assert not [s for s in spans if "/health" in s.name]


async def test_bodies_over_the_limit_get_a_problem_413_whether_declared_or_streamed() -> None:
    app = FastAPI(telemetry=TELEMETRY)
    install_problem_handlers(app)
    app.add_middleware(ServiceMiddleware, service="limit-test", max_body_bytes=1024)

    @app.post("/notes")
    async def add_note(body: dict[str, str]) -> dict[str, int]:
        return {"length": len(body["note"])}

    async def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 200

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        assert (await c.post("/notes", json={"note": "short"})).json() == {"length": 5}
        for response in (
            await c.post("/notes", json={"note": "x" * 2000}),  # Content-Length declared
            await c.post("/notes", content=chunks(), headers={"content-type": "application/json"}),
        ):
            assert response.status_code == 413
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert body["code"] == "body-too-large" and body["limit_bytes"] == 1024
            assert "1024" in body["detail_fr"] and "1024" in body["detail_ar"]
