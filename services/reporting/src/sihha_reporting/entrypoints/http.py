"""HTTP routes of the reporting service."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from sihha_kit.auth import Authorizer, Caller, Role, ensure_establishment
from sihha_kit.clock import local_day, utc_now
from sihha_kit.errors import BadRequest
from sihha_reporting.adapters.repository import ActivityRepository
from sihha_reporting.context import ReportingContext

router = APIRouter(tags=["activity"])
require = Authorizer()

MAX_PERIOD = timedelta(days=366)


class TicketsPerDay(BaseModel):
    facility_id: str
    day: date
    tickets_issued: int


def context(request: Request) -> ReportingContext:
    ctx: ReportingContext = request.app.state.context
    return ctx


ContextDep = Annotated[ReportingContext, Depends(context)]
WilayaDep = Annotated[Caller, Depends(require(Role.wilaya_group, Role.it_unit, Role.admin))]


@router.get(
    "/activity/tickets-per-day",
    summary="Tickets issued per establishment and day (Algiers days, by when they happened)",
)
async def tickets_per_day(
    ctx: ContextDep,
    caller: WilayaDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    facility_id: Annotated[str | None, Query(pattern=r"^[0-9]{2}-[A-Z]{2,5}-[0-9]{2,4}$")] = None,
) -> list[TicketsPerDay]:
    today = local_day(utc_now())
    end = end or today
    start = start or end - timedelta(days=30)
    if start > end:
        raise BadRequest(
            "impossible-period",
            f"Période impossible : le début ({start}) est après la fin ({end}).",
            f"فترة غير ممكنة: البداية ({start}) بعد النهاية ({end}).",
        )
    if end - start > MAX_PERIOD:
        raise BadRequest(
            "period-too-long",
            "La période demandée dépasse un an.",
            "الفترة المطلوبة تتجاوز سنة واحدة.",
        )
    if facility_id:
        ensure_establishment(caller, facility_id)
    async with ctx.runtime.sessions() as session:
        rows = await ActivityRepository(session).tickets_per_day(start, end, facility_id)
    return [TicketsPerDay(**row) for row in rows]
