"""The waiting-room display board's live stream, and the terminals' heartbeat.

The board's stream is Server-Sent Events. Every call or recall is an event whose `id`
is its row in the visit history. The stream subscribes to the process's feed *before*
it reads the current state, so a call committed while a board connects is either in
the state or in the stream (possibly both: the page skips an id it has seen). A board
that reconnects sends `Last-Event-ID` (the browser's EventSource does it by itself) and
gets the current state and then the calls after that id from the history, which
covers whatever the feed dropped while it was away.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from sihha_kit.auth import ensure_establishment
from sihha_kit.errors import Forbidden
from sihha_kit.problems import problems
from sihha_queue.entrypoints.deps import (
    BOARD_ROLES,
    ContextDep,
    FacilityPath,
    TerminalDep,
    require,
)
from sihha_queue.entrypoints.schemas import HeartbeatRequest
from sihha_queue.service_layer import commands, handlers, views

router = APIRouter(tags=["terminals"])
KEEP_ALIVE_SECONDS = 15


@router.post(
    "/establishments/{facility_id}/terminals/{terminal_id}/heartbeat",
    status_code=204,
    summary="A terminal says it is alive (kiosk, counter, display)",
    responses=problems(401, 403, 404, 422),
)
async def heartbeat(
    facility_id: FacilityPath,
    terminal_id: UUID,
    body: HeartbeatRequest,
    ctx: ContextDep,
    caller: TerminalDep,
) -> None:
    ensure_establishment(caller, facility_id)
    await handlers.heartbeat(
        commands.Heartbeat(facility_id, terminal_id, body.kind), ctx.uow(), clock=ctx.clock
    )


@router.get(
    "/establishments/{facility_id}/board",
    summary="Live feed of called tickets for the waiting-room display (Server-Sent Events). "
    "The first event is the current state; each call has its history id as event id, and "
    "`Last-Event-ID` replays the calls after it. Token in `access_token` (EventSource sends "
    "no headers).",
    responses={
        200: {"content": {"text/event-stream": {}}},
        **problems(401, 403, 422),
    },
    response_class=StreamingResponse,
)
async def board(
    facility_id: FacilityPath,
    request: Request,
    ctx: ContextDep,
    access_token: Annotated[str, Query(min_length=10, max_length=8192)],
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
) -> StreamingResponse:
    caller = await require.authenticate(request, access_token)
    if not caller.has_any(*BOARD_ROLES):
        raise Forbidden("role-forbidden", required_roles=sorted(role.value for role in BOARD_ROLES))
    ensure_establishment(caller, facility_id)
    feed = ctx.board
    queue = feed.subscribe(facility_id)  # before the state: no call falls in between
    try:
        state = await views.board_state(ctx.uow(), facility_id, ctx.clock())
        missed = (
            await views.board_calls_after(ctx.uow(), facility_id, last_event_id)
            if last_event_id is not None
            else []
        )
    except BaseException:
        feed.unsubscribe(facility_id, queue)
        raise

    async def stream() -> AsyncIterator[bytes]:
        sent: set[int] = set()
        try:
            last = max([call["id"] for call in state] + [last_event_id or 0])
            yield _sse("state", {"facility_id": facility_id, "called": state}, last)
            sent.update(call["id"] for call in state)
            for call in missed:
                if call["id"] not in sent:
                    sent.add(call["id"])
                    yield _sse(call["kind"], {"facility_id": facility_id, **call}, call["id"])
            while not await request.is_disconnected():
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=KEEP_ALIVE_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if message.get("id") in sent:
                    continue
                sent.add(message["id"])
                yield _sse(message["kind"], message, message["id"])
        finally:
            feed.unsubscribe(facility_id, queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sse(event: str, data: dict[str, Any], event_id: int | None) -> bytes:
    lines = f"event: {event}\n"
    if event_id:
        lines += f"id: {event_id}\n"
    body = json.dumps(data, ensure_ascii=False, default=str)
    return f"{lines}data: {body}\n\n".encode()
