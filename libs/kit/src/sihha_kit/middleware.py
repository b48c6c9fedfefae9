"""One ASGI middleware for what every HTTP request needs, in one pass:

- the server span, continuing the caller's W3C `traceparent`, named after the
  route template (`POST /establishments/{facility_id}/tickets`); its trace id is
  on every log line written under it (`sihha_kit.logs`) and stored with the
  request's events. FastAPI's native
  telemetry is off (see `sihha_kit.app`): it cost about 60 µs a request even for
  spans nobody records, this one about a tenth of that;
- request count and latency metrics labelled by route template;
- the body size limit: a declared or streamed body over the limit gets 413
  (problem+json) before the application sees more of it.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode, set_span_in_context
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sihha_kit import metrics
from sihha_kit.errors import DomainProblem
from sihha_kit.tracing import context_from_traceparent

_tracer = trace.get_tracer("sihha.http")


class BodyTooLarge(DomainProblem, StarletteHTTPException):
    """Also an HTTPException so that FastAPI's body parsing lets it through unchanged;
    the DomainProblem handler (first in the MRO) renders it."""

    def __init__(self, limit: int) -> None:
        DomainProblem.__init__(
            self,
            413,
            "body-too-large",
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
        #: the metrics' children by their labels: `labels()` costs a lock and a
        #: validation per call, a dict lookup here does the same job
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        limit = self.max_body_bytes
        declared = _header(scope, b"content-length")
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
        span = _tracer.start_span(
            f"{method} {scope['path']}",
            context=context_from_traceparent(_header(scope, b"traceparent")),
            kind=SpanKind.SERVER,
        )
        # what `use_span(span, end_on_exit=True)` does, without its generator-based
        # context manager (about 1.5 % of a ticket's instructions)
        token = otel_context.attach(set_span_in_context(span))
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as error:
            if span.is_recording():
                span.record_exception(error)
                span.set_status(StatusCode.ERROR, f"{type(error).__name__}: {error}")
            raise
        finally:
            route = _route_template(scope)
            elapsed = time.perf_counter() - started
            self._count(method, route, status["code"]).inc()
            self._timer(method, route).observe(elapsed)
            if span.is_recording():
                span.update_name(f"{method} {route}")
                span.set_attributes(
                    {
                        "http.request.method": method,
                        "http.route": route,
                        "url.path": scope["path"],
                        "http.response.status_code": status["code"],
                    }
                )
                if status["code"] >= 500:
                    span.set_status(StatusCode.ERROR)
            otel_context.detach(token)
            span.end()

    def _count(self, method: str, route: str, status: int) -> Any:
        key = (method, route, status)
        child = self._counted.get(key)
        if child is None:
            child = self._counted[key] = metrics.http_requests.labels(
                self.service, method, route, str(status)
            )
        return child

    def _timer(self, method: str, route: str) -> Any:
        key = (method, route)
        child = self._timed.get(key)
        if child is None:
            child = self._timed[key] = metrics.http_latency.labels(self.service, method, route)
        return child


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


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
