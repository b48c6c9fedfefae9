"""Counts for the directorate: reconciliation's source of truth, from the service's own
history (the one place the queue counts its tickets per day)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from sihha_kit.clock import ALGIERS
from sihha_kit.errors import BadRequest
from sihha_kit.problems import problems
from sihha_queue.entrypoints.deps import ContextDep, MonitorDep
from sihha_queue.entrypoints.schemas import ActivityCount

router = APIRouter(tags=["counts"])


@router.get(
    "/counts/activity",
    summary="Per establishment and Algiers day, from this service's own history: tickets issued, "
    "called, no-shows, cancelled, expired at closing, routed, services completed",
    responses=problems(401, 403, 422),
)
async def activity_counts(
    ctx: ContextDep,
    caller: MonitorDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> list[ActivityCount]:
    if end < start or end - start > timedelta(days=366):
        raise BadRequest("impossible-period", start=str(start), end=str(end))
    begin = datetime.combine(start, time(0), ALGIERS)
    finish = datetime.combine(end + timedelta(days=1), time(0), ALGIERS)
    async with ctx.uow() as uow:
        rows = await uow.tickets.activity(begin, finish)
    return [ActivityCount(**row) for row in rows]
