"""One ASGI middleware for what every HTTP request needs, in one pass:

- a server span continuing the caller's W3C trace context (`traceparent`);
- request count and latency metrics labelled by route template;
- the body size limit: a declared or streamed body over the limit gets 413
  (problem+json) before the application sees more of it.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import trace
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bound_contextvars

from sihha_kit import metrics
from sihha_kit.errors import DomainProblem
from sihha_kit.tracing import context_from_headers, tracer


class BodyTooLarge(DomainProblem, StarletteHTTPException):
    """Also an HTTPException so that FastAPI's body parsing lets it through unchanged;
    the DomainProblem handler (first in the MRO) renders it."""

    def __init__(self, limit: int) -> None:
        DomainProblem.__init__(
            self,
            413,
            "body-too-large",
            f"Le corps de la requête dépasse la limite de {limit} octets.",
            f"حجم محتوى الطلب يتجاوز الحد المسموح به ({limit} بايت).",
            title="Body too large",
            limit_bytes=limit,
        )
        self.status_code = 413
        self.detail = self.detail_fr
        self.headers = None


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, *, service: str, max_body_bytes: int) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        method = scope["method"]
        limit = self.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            receive = _refuse(limit)
        else:
            receive = _counting(receive, limit)

        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        span_name = f"{method} {scope.get('path', '')}"
        with tracer("sihha.http").start_as_current_span(
            span_name,
            context=context_from_headers(headers),
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope.get("path", "")},
        ) as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            with bound_contextvars(trace_id=trace_id):
                try:
                    await self.app(scope, receive, send_wrapper)
                finally:
                    route = _route_template(scope)
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status["code"])
                    elapsed = time.perf_counter() - started
                    metrics.http_requests.labels(
                        self.service, method, route, str(status["code"])
                    ).inc()
                    metrics.http_latency.labels(self.service, method, route).observe(elapsed)


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _refuse(limit: int) -> Receive:
    async def receive() -> Message:
        raise BodyTooLarge(limit)

    return receive


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return wrapped
