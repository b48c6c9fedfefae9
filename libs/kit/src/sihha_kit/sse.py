"""Server-Sent Events, on FastAPI's own implementation (`fastapi.sse`).

FastAPI streams an endpoint that is an async generator declared with
``response_class=EventSourceResponse``: it frames each `ServerSentEvent`, sends a
keep-alive comment (``: ping``) after 15 s without an event so that proxies keep the
connection, sets ``Cache-Control: no-cache`` and ``X-Accel-Buffering: no``, and ends
the generator when the client goes. The kit adds what every stream of the platform
needs on top, once:

- a ``retry:`` field first (`RETRY_MS`): how long the browser waits before it
  reconnects;
- event ids: an `Event` with an ``id`` lets the browser send ``Last-Event-ID`` when it
  reconnects, and `last_event_id(request)` gives it to the route, which replays what
  came after it (the queue's board, so that a board never misses a call);
- the caller's credential watched for the stream's whole life: once the token it was
  opened with expires or is revoked, the stream ends (the browser reconnects with its
  renewed stream cookie, `sihha_kit.auth.streams`, or fails if it has none).

A stream route::

    @router.get("/monitor/stream", response_class=EventSourceResponse)
    async def stream(request: Request, caller: StreamCaller) -> AsyncIterator[ServerSentEvent]:
        async for event in event_stream(request, caller, live_events()):
            yield event

Everything that can refuse the request (role, establishment, parameters) must be a
dependency or a parameter: once the generator runs, the 200 and its headers are sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any, Final

from fastapi import Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from sihha_kit.auth.callers import Caller
from sihha_kit.auth.dependencies import STATE_ATTRIBUTE
from sihha_kit.auth.verification import TokenVerifier

__all__ = [
    "RETRY_MS",
    "Event",
    "EventSourceResponse",
    "ServerSentEvent",
    "event_stream",
    "last_event_id",
]

#: what the browser waits before reconnecting (milliseconds)
RETRY_MS: Final = 3000
#: how often an idle stream checks that its caller's token is still good (seconds)
CREDENTIAL_CHECK_SECONDS: Final = 15.0
#: a ``Last-Event-ID`` longer than this is ignored
MAX_EVENT_ID_CHARS: Final = 128


@dataclass(frozen=True)
class Event:
    """One event of a stream: `data` is sent as JSON; `event` names it for
    ``addEventListener``; `id` is what ``Last-Event-ID`` returns on reconnection."""

    data: Any
    event: str | None = None
    id: str | None = None


def last_event_id(request: Request) -> str | None:
    """The id of the last event the client saw: the ``Last-Event-ID`` header a browser
    sends when it reconnects, else the ``last_event_id`` query parameter (a page that
    opens a new ``EventSource`` after an error); None if neither, or if too long."""
    value = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if not value or len(value) > MAX_EVENT_ID_CHARS or "\n" in value or "\r" in value:
        return None
    return value


_END = object()


async def event_stream(
    request: Request,
    caller: Caller,
    events: AsyncIterable[Event],
    *,
    retry_ms: int = RETRY_MS,
    check_seconds: float = CREDENTIAL_CHECK_SECONDS,
) -> AsyncIterator[ServerSentEvent]:
    """The `ServerSentEvent`s of `events` (see the module's docstring), ending when
    `events` ends or `caller`'s token expires or is revoked."""
    verifier = getattr(request.app.state, STATE_ATTRIBUTE, None)

    def still_valid() -> bool:
        if isinstance(verifier, TokenVerifier):
            return verifier.still_valid(caller)
        return time.time() < caller.expires_at

    yield ServerSentEvent(retry=retry_ms)
    pending: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)

    async def pump() -> None:
        try:
            async for item in events:
                await pending.put(item)
        finally:
            await pending.put(_END)

    task = asyncio.create_task(pump(), name="sse-pump")
    try:
        while True:
            try:
                async with asyncio.timeout(check_seconds):  # wait_for could swallow a cancel
                    item = await pending.get()
            except TimeoutError:
                item = None
            if not still_valid():
                return
            if item is None:
                continue
            if item is _END:
                await task  # the source's own error, if it failed, is raised here
                return
            yield ServerSentEvent(data=item.data, event=item.event, id=item.id)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
