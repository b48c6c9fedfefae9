"""OpenTelemetry tracing with the W3C trace context carried through the outbox.

The trace context of the request that changes state is stored with the outbox
row (`traceparent`), sent as the AMQP header `traceparent` and restored by the
consumer, so one trace spans HTTP request → outbox → broker → consumer.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None


def configure_tracing(
    service_name: str,
    service_version: str,
    otlp_endpoint: str | None = None,
    extra_processor: SpanProcessor | None = None,
) -> TracerProvider:
    """Install the process's tracer provider once; later calls add processors only.

    Without an OTLP endpoint spans are still created (trace ids reach the logs
    and the bus) but are not exported.
    """
    global _provider
    if _provider is None:
        resource = Resource.create(
            {"service.name": service_name, "service.version": service_version}
        )
        _provider = TracerProvider(resource=resource)
        trace.set_tracer_provider(_provider)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = otlp_endpoint.rstrip("/") + "/v1/traces"
        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if extra_processor is not None:
        _provider.add_span_processor(extra_processor)
    return _provider


def tracer(name: str = "sihha") -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, or None outside any span."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> Context | None:
    if not traceparent:
        return None
    return _propagator.extract({"traceparent": traceparent})


def current_trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x")
