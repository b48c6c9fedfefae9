"""The ASGI middleware for what no maintained library does the way the platform needs:

- request count and latency metrics (Prometheus, `sihha_kit.metrics`) labelled by
  service and route template. FastAPI's own metrics go through the OpenTelemetry
  metrics SDK: serving them on ``/metrics`` would take an SDK meter provider and the
  OpenTelemetry Prometheus exporter (still a beta) beside the registry every other
  metric of the platform is in; prometheus-fastapi-instrumentator would be a second
  middleware doing these two lines' work;
- the body size limit: a declared or streamed body over the limit gets 413
  (problem+json) before the application sees more of it. Starlette's limiter (FastAPI's
  ``max_body_size``) answers ``text/plain`` "Content Too Large" whenever the declared
  length is over the limit, in place of whatever the application answered —
  problem+json included.

The server span is FastAPI's own telemetry (`sihha_kit.app.TELEMETRY`), database
spans SQLAlchemy's OpenTelemetry instrumentation (`sihha_kit.tracing`).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sihha_kit import metrics
from sihha_kit.errors import DomainProblem


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
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_template(scope)
            self._count(method, route, status["code"]).inc()
            self._timer(method, route).observe(time.perf_counter() - started)

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
