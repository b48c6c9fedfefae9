"""HTTP routes of the reporting service: activity, rollout, inspections, reconciliation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from sihha_kit.clock import local_day
from sihha_kit.problems import problems
from sihha_reporting.domain import periods
from sihha_reporting.domain.problems import InvalidInspection
from sihha_reporting.entrypoints.deps import (
    FACILITY_PATTERN,
    ContextDep,
    FacilityQuery,
    GroupDep,
    WilayaDep,
    WilayaWideDep,
    check_scope,
)
from sihha_reporting.service_layer import reports as report_rules
from sihha_reporting.service_layer.reconciliation import reconcile
from sihha_reporting.service_layer.sources import queue_source

router = APIRouter()


class TicketsPerDay(BaseModel):
    facility_id: str
    day: date
    tickets_issued: int


FromQuery = Annotated[date | None, Query(alias="from")]
ToQuery = Annotated[date | None, Query(alias="to")]


def _period(
    ctx: ContextDep, start: date | None, end: date | None, default_days: int = 30
) -> periods.Period:
    today = local_day(ctx.clock())
    end = end or today
    start = start or end - timedelta(days=default_days)
    return periods.custom(start, end, today)


@router.get(
    "/activity/tickets-per-day",
    tags=["activity"],
    summary="Tickets issued per establishment and day (Algiers days, by when they happened)",
    responses=problems(404),
)
async def tickets_per_day(
    ctx: ContextDep,
    caller: WilayaDep,
    start: FromQuery = None,
    end: ToQuery = None,
    facility_id: FacilityQuery = None,
) -> list[TicketsPerDay]:
    period = _period(ctx, start, end)
    check_scope(ctx, caller, facility_id)
    async with ctx.uow() as uow:
        rows = await uow.activity.tickets_per_day(period.start, period.end, facility_id)
    return [TicketsPerDay(**row) for row in rows]


@router.get(
    "/rollout",
    tags=["rollout"],
    summary="Rollout per establishment (registered → equipped → operating), inspection/telemetry "
    "disagreements, and the number equipped and operating per day",
    responses=problems(404),
)
async def rollout(
    ctx: ContextDep,
    caller: WilayaDep,
    start: FromQuery = None,
    end: ToQuery = None,
    facility_id: FacilityQuery = None,
) -> dict[str, Any]:
    period = _period(ctx, start, end)
    check_scope(ctx, caller, facility_id)
    settings = ctx.settings
    async with ctx.uow() as uow:
        section = await report_rules.rollout_section(
            uow.queries,
            ctx.registry,
            period,
            now=ctx.clock(),
            rules_=report_rules.RolloutRules(
                settings.silent_after_hours, settings.operating_min_heartbeats
            ),
            only={facility_id} if facility_id else None,
        )
    return {"from": period.start.isoformat(), "to": period.end.isoformat(), **section}


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facility_id: str = Field(pattern=FACILITY_PATTERN, examples=["31-PC-007"])
    visited_on: date
    inspector: str = Field(
        min_length=2, max_length=120, description="Name or staff code of the inspector"
    )
    equipped: bool
    system_in_use: bool
    remarks: str | None = Field(default=None, max_length=2000)


class InspectionOut(InspectionIn):
    inspection_id: UUID


@router.post(
    "/inspections",
    status_code=201,
    tags=["rollout"],
    summary="Record an inspection visit",
    responses=problems(404),
)
async def record_inspection(body: InspectionIn, ctx: ContextDep, caller: GroupDep) -> InspectionOut:
    check_scope(ctx, caller, body.facility_id)
    today = local_day(ctx.clock())
    if body.visited_on > today:
        raise InvalidInspection(body.visited_on, today)
    inspection_id = uuid4()
    async with ctx.uow() as uow:
        await uow.inspections.add(
            {
                **body.model_dump(),
                "inspection_id": inspection_id,
                "recorded_by": caller.subject[:200],
            }
        )
        await uow.commit()
    return InspectionOut(inspection_id=inspection_id, **body.model_dump())


@router.get(
    "/inspections",
    tags=["rollout"],
    summary="Inspection visits recorded by the wilaya group",
    responses=problems(404),
)
async def list_inspections(
    ctx: ContextDep, caller: WilayaDep, facility_id: FacilityQuery = None
) -> list[InspectionOut]:
    check_scope(ctx, caller, facility_id)
    async with ctx.uow() as uow:
        rows = await uow.inspections.list(facility_id)
    fields = set(InspectionOut.model_fields)
    return [InspectionOut(**{k: v for k, v in row.items() if k in fields}) for row in rows]


@router.get(
    "/reconciliation",
    tags=["reconciliation"],
    summary="Report counts against the producing services' own counts (differences expected: none)",
    responses=problems(503),
)
async def reconciliation(
    ctx: ContextDep, caller: WilayaWideDep, start: FromQuery = None, end: ToQuery = None
) -> dict[str, Any]:
    period = _period(ctx, start, end, default_days=7)
    result = await reconcile(ctx.uow, queue_source(ctx.settings), period.start, period.end)
    return result.as_dict()
