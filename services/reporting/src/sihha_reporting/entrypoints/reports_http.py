"""HTTP routes of the reports: the wilaya's (any period) and the ministry's (monthly)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from sihha_kit.clock import local_day
from sihha_kit.errors import Conflict
from sihha_kit.problems import problems
from sihha_reporting.domain import periods
from sihha_reporting.entrypoints.deps import (
    ContextDep,
    FacilityQuery,
    LangQuery,
    MinistryDep,
    PublisherDep,
    WilayaDep,
    WilayaWideDep,
    check_format,
    check_scope,
    language,
    render,
)
from sihha_reporting.service_layer.publishing import IssuedReport

router = APIRouter(prefix="/reports", tags=["reports"])

WILAYA_FORMATS = ["json", "csv", "xlsx", "pdf"]
MINISTRY_FORMATS = ["json", "csv", "xlsx", "pdf", "dhis2"]
FormatQuery = Annotated[
    str, Query(max_length=16, description="json, csv, xlsx, pdf (ministry: also dhis2)")
]
MonthPath = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-11"])]


async def _wilaya(
    request: Request,
    ctx: ContextDep,
    period: periods.Period,
    facility_id: str | None,
    fmt: str,
    lang: str | None,
) -> Response:
    check_format(fmt, WILAYA_FORMATS)
    issued = await ctx.reports.wilaya(period, facility_id=facility_id)
    name = f"sihha-wilaya-{period.key}" + (f"-{facility_id}" if facility_id else "")
    return await render(ctx, issued.document(), fmt, language(request, lang), name)


@router.get(
    "/wilaya",
    summary="The wilaya report for any period (on demand)",
    responses=problems(404),
)
async def wilaya_on_demand(
    request: Request,
    ctx: ContextDep,
    caller: WilayaDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    facility_id: FacilityQuery = None,
    format: FormatQuery = "json",
    lang: LangQuery = None,
) -> Response:
    check_format(format, WILAYA_FORMATS)
    check_scope(ctx, caller, facility_id)
    period = periods.custom(start, end, local_day(ctx.clock()))
    return await _wilaya(request, ctx, period, facility_id, format, lang)


@router.get(
    "/wilaya/daily/{day}",
    summary="The wilaya's daily report (published once the day is over)",
    responses=problems(404),
)
async def wilaya_daily(
    request: Request,
    ctx: ContextDep,
    caller: WilayaDep,
    day: date,
    facility_id: FacilityQuery = None,
    format: FormatQuery = "json",
    lang: LangQuery = None,
) -> Response:
    check_format(format, WILAYA_FORMATS)
    check_scope(ctx, caller, facility_id)
    return await _wilaya(
        request, ctx, periods.daily(day, local_day(ctx.clock())), facility_id, format, lang
    )


@router.get(
    "/wilaya/weekly/{day}",
    summary="The wilaya's weekly report (Sunday to Saturday) of the week of `day`",
    responses=problems(404),
)
async def wilaya_weekly(
    request: Request,
    ctx: ContextDep,
    caller: WilayaDep,
    day: date,
    facility_id: FacilityQuery = None,
    format: FormatQuery = "json",
    lang: LangQuery = None,
) -> Response:
    check_format(format, WILAYA_FORMATS)
    check_scope(ctx, caller, facility_id)
    return await _wilaya(
        request, ctx, periods.weekly(day, local_day(ctx.clock())), facility_id, format, lang
    )


@router.get(
    "/wilaya/monthly/{month}",
    summary="The wilaya's monthly report (month as YYYY-MM)",
    responses=problems(404),
)
async def wilaya_monthly(
    request: Request,
    ctx: ContextDep,
    caller: WilayaDep,
    month: MonthPath,
    facility_id: FacilityQuery = None,
    format: FormatQuery = "json",
    lang: LangQuery = None,
) -> Response:
    check_format(format, WILAYA_FORMATS)
    check_scope(ctx, caller, facility_id)
    return await _wilaya(
        request, ctx, periods.monthly(month, local_day(ctx.clock())), facility_id, format, lang
    )


@router.get(
    "/ministry/monthly/{month}",
    summary="The monthly report for the Ministry of Health: aggregates per wilaya and establishment "
    "kind, small counts suppressed; also as a DHIS2 dataValueSet (format=dhis2)",
)
async def ministry_monthly(
    request: Request,
    ctx: ContextDep,
    caller: MinistryDep,
    month: MonthPath,
    format: FormatQuery = "json",
    lang: LangQuery = None,
) -> Response:
    check_format(format, MINISTRY_FORMATS)
    if format == "dhis2":
        ctx.reports.dhis2_mapping()  # a missing mapping is refused before any work
    period = periods.monthly(month, local_day(ctx.clock()))
    issued: IssuedReport = await ctx.reports.ministry(period)
    if format == "dhis2":
        return JSONResponse(ctx.reports.dhis2(issued))
    return await render(
        ctx, issued.document(), format, language(request, lang), f"sihha-ministry-{period.key}"
    )


# -- publishing: the one way (besides the scheduler and the `report` command) a revision is made


async def _publish(ctx: ContextDep, family: str, period: periods.Period) -> dict[str, Any]:
    if not period.closed(local_day(ctx.clock())):
        raise Conflict("period-not-closed", params={"end": period.end.isoformat()})
    if family == "ministry":
        issued = await ctx.reports.ministry(period, trigger="publish", publish=True)
    else:
        issued = await ctx.reports.wilaya(period, trigger="publish", publish=True)
    return {"report": issued.header()}


_PUBLISH = (
    "Publish the report of a closed period: a new revision if its content changed since the "
    "latest one (nothing otherwise); a GET never does. Answers the revision's header."
)


@router.post(
    "/wilaya/daily/{day}/publish",
    summary="Publish the wilaya's daily report",
    description=_PUBLISH,
    responses=problems(409),
)
async def publish_wilaya_daily(ctx: ContextDep, caller: PublisherDep, day: date) -> dict[str, Any]:
    return await _publish(ctx, "wilaya", periods.daily(day, local_day(ctx.clock())))


@router.post(
    "/wilaya/weekly/{day}/publish",
    summary="Publish the wilaya's weekly report of the week of `day`",
    description=_PUBLISH,
    responses=problems(409),
)
async def publish_wilaya_weekly(ctx: ContextDep, caller: PublisherDep, day: date) -> dict[str, Any]:
    return await _publish(ctx, "wilaya", periods.weekly(day, local_day(ctx.clock())))


@router.post(
    "/wilaya/monthly/{month}/publish",
    summary="Publish the wilaya's monthly report",
    description=_PUBLISH,
    responses=problems(409),
)
async def publish_wilaya_monthly(
    ctx: ContextDep, caller: PublisherDep, month: MonthPath
) -> dict[str, Any]:
    return await _publish(ctx, "wilaya", periods.monthly(month, local_day(ctx.clock())))


@router.post(
    "/ministry/monthly/{month}/publish",
    summary="Publish the ministry's monthly report (and queue its delivery, if one is set)",
    description=_PUBLISH,
    responses=problems(409),
)
async def publish_ministry_monthly(
    ctx: ContextDep, caller: PublisherDep, month: MonthPath
) -> dict[str, Any]:
    return await _publish(ctx, "ministry", periods.monthly(month, local_day(ctx.clock())))


@router.get("/revisions", summary="Published revisions of the reports (newest first)")
async def revisions(
    ctx: ContextDep, caller: WilayaWideDep, kind: Annotated[str | None, Query(max_length=32)] = None
) -> list[dict[str, Any]]:
    async with ctx.uow() as uow:
        rows = await uow.revisions.history(kind)
    return [_jsonable(row) for row in rows]


@router.get("/deliveries", summary="Pushes of the ministry report to its endpoint, and their state")
async def deliveries(ctx: ContextDep, caller: WilayaWideDep) -> list[dict[str, Any]]:
    async with ctx.uow() as uow:
        rows = await uow.deliveries.list()
    return [_jsonable(row) for row in rows]


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    from sihha_kit.clock import to_local

    out: dict[str, Any] = {}
    for key, value in row.items():
        if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
            out[key] = to_local(value).isoformat(timespec="seconds")
        elif hasattr(value, "isoformat"):
            out[key] = value.isoformat()
        elif value is not None and not isinstance(value, int | float | str | bool):
            out[key] = str(value)
        else:
            out[key] = value
    return out
