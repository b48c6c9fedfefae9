"""The waiting-room display board's live stream, and the terminals' heartbeat.

The board's stream is Server-Sent Events (`sihha_kit.sse`: a ``retry:`` first,
keep-alive pings, the end of the stream when the board's token expires or is revoked).
Every call or recall is an event whose `id` is its row in the visit history. The stream
subscribes to the process's feed *before* it reads the current state, so a call
committed while a board connects is either in the state or in the stream (possibly
both: the stream skips an id it has already sent). A board that reconnects sends
``Last-Event-ID`` (the browser's EventSource does it by itself; the page sends
``?last_event_id=`` when it opens a new one) and gets the current state and then the
calls after that id from the history, which covers whatever the feed dropped while it
was away.

A board authenticates with a ``display`` token — read-only, its one establishment —
from the ``Authorization`` header or the stream cookie (``POST /auth/stream-session``):
never from the URL, where proxies log it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request

from sihha_kit.auth.enrolment import TERMINAL_SUBJECT_PREFIX
from sihha_kit.errors import Forbidden
from sihha_kit.problems import problems
from sihha_kit.sse import Event, EventSourceResponse, ServerSentEvent, event_stream, last_event_id
from sihha_queue.context import QueueContext
from sihha_queue.entrypoints.deps import ContextDep, DisplayDep, FacilityPath, TerminalDep
from sihha_queue.entrypoints.schemas import HeartbeatRequest
from sihha_queue.service_layer import commands, handlers, views

router = APIRouter(tags=["terminals"])


@router.post(
    "/establishments/{facility_id}/terminals/{terminal_id}/heartbeat",
    status_code=204,
    summary="A terminal says it is alive (kiosk, counter, display); an enrolled terminal's "
    "token speaks for that terminal only",
    responses=problems(401, 403, 404, 422),
)
async def heartbeat(
    facility_id: FacilityPath,
    terminal_id: UUID,
    body: HeartbeatRequest,
    ctx: ContextDep,
    caller: TerminalDep,
) -> None:
    if caller.subject.startswith(TERMINAL_SUBJECT_PREFIX) and caller.subject != (
        f"{TERMINAL_SUBJECT_PREFIX}{terminal_id}"
    ):
        raise Forbidden("heartbeat-of-another-terminal")
    await handlers.heartbeat(
        commands.Heartbeat(facility_id, terminal_id, body.kind), ctx.uow(), clock=ctx.clock
    )


def _event_id(value: str | None) -> int | None:
    """The history id a reconnecting board names (``Last-Event-ID``); None if absent or
    not one of ours (the board then gets the state alone)."""
    if value is None or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


async def _calls(ctx: QueueContext, facility_id: str, after: int | None) -> AsyncIterator[Event]:
    """The board's events: the state, the calls after `after`, then every call live,
    each id once."""
    feed = ctx.board
    queue = feed.subscribe(facility_id)  # before the state: no call falls in between
    try:
        state = await views.board_state(ctx.uow(), facility_id, ctx.clock())
        missed = (
            await views.board_calls_after(ctx.uow(), facility_id, after)
            if after is not None
            else []
        )
        last = max([call["id"] for call in state] + [after or 0])
        yield Event(
            {"facility_id": facility_id, "called": state},
            event="state",
            id=str(last) if last else None,
        )
        sent: set[int] = {call["id"] for call in state}
        for call in missed:
            if call["id"] not in sent:
                sent.add(call["id"])
                yield _call(call["kind"], {"facility_id": facility_id, **call})
        while True:
            message = await queue.get()
            if message.get("id") in sent:
                continue
            sent.add(message["id"])
            yield _call(message["kind"], message)
    finally:
        feed.unsubscribe(facility_id, queue)


def _call(kind: str, data: dict[str, Any]) -> Event:
    return Event(data, event=kind, id=str(data["id"]))


@router.get(
    "/establishments/{facility_id}/board",
    summary="Live feed of called tickets for the waiting-room display (Server-Sent Events). "
    "The first event is the current state; each call has its history id as event id, and "
    "`Last-Event-ID` (or `?last_event_id=`) replays the calls after it. A `display` token "
    "in the Authorization header or the stream cookie (`POST /auth/stream-session`)",
    responses={200: {"content": {"text/event-stream": {}}}, **problems(401, 403, 422)},
    response_class=EventSourceResponse,
)
async def board(
    facility_id: FacilityPath, request: Request, ctx: ContextDep, caller: DisplayDep
) -> AsyncIterator[ServerSentEvent]:
    calls = _calls(ctx, facility_id, _event_id(last_event_id(request)))
    async for event in event_stream(request, caller, calls):
        yield event
