"""OpenTelemetry tracing with the W3C trace context carried through the outbox.

Spans come from maintained instrumentations: the HTTP server span from FastAPI's own
telemetry (`sihha_kit.app.TELEMETRY`), a span per SQL statement from
``opentelemetry-instrumentation-asyncpg`` (`instrument_database`), the publish and
receive spans from ``opentelemetry-instrumentation-aio-pika`` (`instrument_messaging`),
which also writes the context into the AMQP header `traceparent`. What no
instrumentation can know is done here and in the outbox: the trace context of the
request that changes state is stored with the outbox row (`traceparent`); the relay
publishes each row under that context, so its publish span continues the request, and
the consumer continues the header's context. One trace spans HTTP request → outbox →
broker → consumer.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

_propagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None


class RecordWhenExported(Sampler):
    """Record spans only once something receives them (an OTLP exporter, a test's
    processor). Before that every span is a non-recording one: it still has its trace and
    span ids, which reach the logs, the outbox's `traceparent` and the consumers, but no
    attributes, events or timing are collected only to be thrown away (that was ~10 % of
    a ticket's CPU)."""

    def __init__(self) -> None:
        self.recording = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        recording = self.recording
        if recording and kind is SpanKind.CLIENT:
            # a database call outside any request or delivery (the relay's polling, the
            # board's LISTEN): not worth a trace of its own every few seconds
            parent = trace.get_current_span(parent_context).get_span_context()
            recording = parent.is_valid
        decision = Decision.RECORD_AND_SAMPLE if recording else Decision.DROP
        return SamplingResult(decision, attributes if recording else None, trace_state)

    def get_description(self) -> str:
        return f"RecordWhenExported(recording={self.recording})"


_sampler = RecordWhenExported()


def configure_tracing(
    service_name: str,
    service_version: str,
    otlp_endpoint: str | None = None,
    extra_processor: SpanProcessor | None = None,
) -> TracerProvider:
    """Install the process's tracer provider once; later calls add processors only.

    Without an OTLP endpoint (or another processor) spans are not recorded, but
    their trace ids still reach the logs and the bus (`RecordWhenExported`), and
    statements are not instrumented at all (`instrument_database` runs once spans are
    recorded).
    """
    global _provider
    if _provider is None:
        resource = Resource.create(
            {"service.name": service_name, "service.version": service_version}
        )
        _provider = TracerProvider(resource=resource, sampler=_sampler)
        trace.set_tracer_provider(_provider)
    instrument_messaging()
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/") + "/v1/traces"
        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        _sampler.recording = True
    if extra_processor is not None:
        _provider.add_span_processor(extra_processor)
        _sampler.recording = True
    if _sampler.recording:
        # statement spans only when something receives them: unrecorded, a statement's
        # span carries nothing anyone reads (the request's ids come from its server span)
        # and still cost the instrumentation's wrapper, attributes and context switches,
        # four to five times per issued ticket (bench/README.md, "Tracing's cost")
        instrument_database()
    return _provider


_database_instrumented = False


def instrument_database() -> None:
    """Trace every statement sent to PostgreSQL, once per process: OpenTelemetry's asyncpg
    instrumentation wraps asyncpg's connection and prepared-statement methods, so the
    statements of SQLAlchemy's sessions (asyncpg is their driver) and of raw asyncpg
    connections alike get a span. (Its SQLAlchemy instrumentation refuses SQLAlchemy 2.1.)
    A statement's span is a child of the request's or the delivery's; outside any, it is
    not recorded (`RecordWhenExported`). The query text is in the span
    (``db.statement``); its parameters never are. `configure_tracing` calls it once spans
    are recorded: before, a statement's span would be a non-recording one that only costs
    CPU."""
    global _database_instrumented
    if _database_instrumented:
        return
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    AsyncPGInstrumentor(capture_parameters=False).instrument()  # type: ignore[no-untyped-call]
    _database_instrumented = True


def instrument_messaging() -> None:
    """aio-pika's publish and consume spans, and the trace context in the message headers
    (once per process; the instrumentor ignores a second call)."""
    from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor

    instrumentor = AioPikaInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def tracer(name: str = "sihha") -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, or None outside any span: what the
    propagator's `inject` writes (version 00), formatted here without its carrier and
    context look-ups (a tenth of the time; it runs for every event)."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}"
        f"-{span_context.trace_flags:02x}"
    )


def context_from_traceparent(traceparent: str | None) -> Context | None:
    if not traceparent:
        return None
    return _propagator.extract({"traceparent": traceparent})


def current_trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x")
