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
