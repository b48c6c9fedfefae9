"""The IT units' monitor: live event stream (Server-Sent Events), queue depths,
dead letters, consumer lag, last event per establishment, and a page showing them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from sihha_kit.clock import to_local
from sihha_kit.consumer import recent_conflicts
from sihha_kit.errors import BadRequest, NotFound
from sihha_kit.problems import problems
from sihha_kit.sse import Event, EventSourceResponse, ServerSentEvent, event_stream
from sihha_reporting.adapters.broker_admin import queue_depths, replay_dead_letters
from sihha_reporting.entrypoints.deps import (
    ContextDep,
    FacilityQuery,
    MonitorDep,
    MonitorStreamDep,
)
from sihha_reporting.entrypoints.pages import LangQuery, page_language, render_page
from sihha_reporting.service_layer.replay import stale_projections

router = APIRouter(prefix="/monitor", tags=["monitor"])


def _iso(value: datetime | None) -> str | None:
    return None if value is None else to_local(value).isoformat(timespec="seconds")


@router.get("", include_in_schema=False)
async def page(request: Request, lang: LangQuery = None) -> HTMLResponse:
    """The monitor page (no data in it: it asks for a token and reads the API with it)."""
    return render_page("monitor.html", page_language(request, lang))


@router.get(
    "/status", summary="Queue depths, dead letters, consumer lag, last event per establishment"
)
async def status(ctx: ContextDep, caller: MonitorDep) -> dict[str, Any]:
    settings = ctx.settings
    now = ctx.clock()
    consumers: list[dict[str, Any]] = []
    broker_error = None
    try:
        async with asyncio.timeout(5.0):
            depths = await queue_depths(
                settings.amqp_url, ctx.runtime.broker.topology, settings.monitored_consumers
            )
    except Exception as error:  # the broker is away: say so, show the rest
        depths = []
        broker_error = f"{type(error).__name__}: {error}"[:200]
    own = ctx.consumer
    for depth in depths:
        lag = None
        last = None
        if depth.consumer == own.name and own.last_occurred_at is not None:
            last = own.last_occurred_at
            lag = round((now - last).total_seconds(), 1)
        consumers.append(
            {
                "consumer": depth.consumer,
                "queue_depth": depth.inbox,
                "dead_letters": depth.dead,
                "last_occurred_at": _iso(last),
                "lag_seconds": lag,
            }
        )
    async with ctx.uow() as uow:
        milestones = await uow.queries.milestones()
        data_as_of = await uow.archive.data_as_of()
        pending = await uow.deliveries.pending()
        stale = await stale_projections(uow.session, ctx.projector.projections)
        conflicts_total, conflicts = await recent_conflicts(uow.session, limit=20)
    names = {e.code: e for e in ctx.registry.establishments}
    return {
        "now": _iso(now),
        "broker": "up" if ctx.runtime.broker.is_connected else "down",
        "broker_error": broker_error,
        "consumers": consumers,
        "data_as_of": _iso(data_as_of),
        "deliveries_pending": pending,
        "stale_projections": stale,
        "live_subscribers": ctx.hub.subscribers,
        # copies of an applied event under another event id (same producer, aggregate and
        # sequence): not applied, kept for the IT unit to trace back to their producer
        "conflicts_total": conflicts_total,
        "conflicts": [
            {
                "consumer": row["consumer"],
                "event_id": str(row["event_id"]),
                "event_type": row["event_type"],
                "producer": row["producer"],
                "aggregate_id": row["aggregate_id"],
                "sequence": row["sequence"],
                "facility_id": row["facility_id"],
                "kept_event_id": None
                if row["kept_event_id"] is None
                else str(row["kept_event_id"]),
                "kept_event_type": row["kept_event_type"],
                "received_at": _iso(row["received_at"]),
            }
            for row in conflicts
        ],
        "establishments": [
            {
                "facility_id": row["facility_id"],
                "name_fr": names[row["facility_id"]].name_fr
                if row["facility_id"] in names
                else None,
                "name_ar": names[row["facility_id"]].name_ar
                if row["facility_id"] in names
                else None,
                "last_event_at": _iso(row["last_event_at"]),
                "last_event_type": row["last_event_type"],
                "seconds_since": None
                if row["last_event_at"] is None
                else round((now - row["last_event_at"]).total_seconds(), 1),
            }
            for row in milestones
        ],
    }


def event_types(
    event_type: Annotated[list[str] | None, Query(max_length=20)] = None,
) -> list[str]:
    """The event-type filters (``queue.ticket.issued``, ``queue.ticket.*``), checked before
    the stream starts (a refusal once the stream's 200 is sent cannot be a problem)."""
    types = [t for t in event_type or [] if t]
    for t in types:
        if len(t) > 128 or not all(c.isalnum() or c in "._*" for c in t):
            raise BadRequest("invalid-event-type-filter", params={"filter": t[:40]})
    return types


@router.get(
    "/stream",
    summary="Live events as Server-Sent Events (type, version, establishment, time; never a "
    "payload). The token comes in the Authorization header or the stream cookie "
    "(POST /auth/stream-session), never in the URL",
    response_class=EventSourceResponse,
)
async def stream(
    request: Request,
    ctx: ContextDep,
    caller: MonitorStreamDep,
    types: Annotated[list[str], Depends(event_types)],
    facility_id: FacilityQuery = None,
) -> AsyncIterator[ServerSentEvent]:
    async def events() -> AsyncIterator[Event]:
        subscription = ctx.hub.subscribe(facility_id, types)
        try:
            missed = 0
            while True:
                item = await subscription.queue.get()
                if subscription.missed != missed:
                    missed = subscription.missed
                    yield Event({"missed": missed}, event="missed")
                yield Event(item, event="event", id=item["event_id"])
        finally:
            ctx.hub.unsubscribe(subscription)

    async for event in event_stream(request, caller, events()):
        yield event


@router.post(
    "/dead-letters/replay",
    summary="Move a consumer's dead letters back into its inbox",
    responses=problems(404),
)
async def replay(
    ctx: ContextDep,
    caller: MonitorDep,
    consumer: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_-]{1,63}$")] = "reporting",
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> dict[str, Any]:
    if consumer not in ctx.settings.monitored_consumers:
        raise NotFound("unknown-consumer", consumer=consumer)
    moved = await replay_dead_letters(
        ctx.settings.amqp_url, ctx.runtime.broker.topology, consumer, limit=limit
    )
    return {"consumer": consumer, "replayed": moved}
