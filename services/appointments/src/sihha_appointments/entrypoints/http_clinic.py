"""The clinic's API: schedules, the day's bookings, absences, referrals, booking codes,
no-show rates; and the counts reconciliation reads. Every route checks the caller's
role and that they act for the establishment in the path."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query

from sihha_appointments.domain.errors import (
    BookingAtAnotherEstablishment,
    BookingNotFound,
    InvalidDateRange,
)
from sihha_appointments.domain.schedule import Schedule, WeeklyPeriod
from sihha_appointments.entrypoints.deps import (
    ContextDep,
    DeskDep,
    DoctorDep,
    FacilityPath,
    MonitorDep,
    SchedulerDep,
)
from sihha_appointments.entrypoints.schemas import (
    AbsenceRequest,
    BookingResponse,
    ChangeResult,
    ChangeScheduleRequest,
    ClinicCancelRequest,
    CloseDayRequest,
    CountsRow,
    DayViewResponse,
    NoShowRate,
    PublishScheduleRequest,
    ReferralRequest,
    ReferralResponse,
    RescheduleRequest,
    ScheduleResponse,
)
from sihha_appointments.entrypoints.views import booking_view
from sihha_appointments.service_layer import commands, handlers
from sihha_contracts.events.appointments import Actor
from sihha_kit.auth import ensure_establishment
from sihha_kit.problems import problems

router = APIRouter(tags=["clinic"])

_PROBLEMS = problems(404, 409, 422)


def _schedule_view(schedule: Schedule, slot_count: int | None = None) -> dict[str, Any]:
    return {
        "schedule_id": schedule.schedule_id,
        "facility_id": schedule.facility_id,
        "specialty_code": schedule.specialty_code,
        "practitioner_ref": schedule.practitioner_ref,
        "room": schedule.room,
        "periods": [
            {"weekday": p.weekday, "starts": f"{p.starts:%H:%M}", "ends": f"{p.ends:%H:%M}"}
            for p in schedule.periods
        ],
        "slot_minutes": schedule.slot_minutes,
        "places_per_slot": schedule.places_per_slot,
        "effective_from": schedule.effective_from,
        "effective_to": schedule.effective_to,
        "exceptions": {d.isoformat(): k.value for d, k in sorted(schedule.exceptions.items())},
        "slot_count": slot_count,
    }


@router.post(
    "/establishments/{facility_id}/schedules",
    status_code=201,
    response_model=ScheduleResponse,
    summary="Publish a specialist's weekly schedule: its slots open for booking",
    responses=_PROBLEMS,
)
async def publish(
    facility_id: FacilityPath, body: PublishScheduleRequest, ctx: ContextDep, caller: SchedulerDep
) -> dict[str, Any]:
    ensure_establishment(caller, facility_id)
    schedule, count = await handlers.publish_schedule(
        commands.PublishSchedule(
            facility_id=facility_id,
            specialty_code=body.specialty_code,
            practitioner_ref=body.practitioner_ref,
            room=body.room,
            periods=tuple(WeeklyPeriod(p.weekday, p.starts, p.ends) for p in body.periods),
            slot_minutes=body.slot_minutes,
            places_per_slot=body.places_per_slot,
            effective_from=body.effective_from,
            effective_to=body.effective_to,
            exceptions={e.day: e.kind for e in body.exceptions},
        ),
        ctx.uow(),
        deps=ctx.deps,
    )
    return _schedule_view(schedule, count)


@router.get(
    "/establishments/{facility_id}/schedules",
    response_model=list[ScheduleResponse],
    summary="The establishment's schedules",
    responses=_PROBLEMS,
)
async def list_schedules(
    facility_id: FacilityPath, ctx: ContextDep, caller: SchedulerDep
) -> list[dict[str, Any]]:
    ensure_establishment(caller, facility_id)
    async with ctx.uow() as uow:
        found = await uow.schedules.of_facility(facility_id)
    return [_schedule_view(s) for s in found]


@router.post(
    "/establishments/{facility_id}/schedules/{schedule_id}/closed-days",
    response_model=ChangeResult,
    summary="Close a day of a schedule (leave, closed clinic); its bookings moved or "
    "cancelled as asked, or the change refused listing them",
    responses=_PROBLEMS,
)
async def close_day(
    facility_id: FacilityPath,
    schedule_id: UUID,
    body: CloseDayRequest,
    ctx: ContextDep,
    caller: SchedulerDep,
) -> dict[str, Any]:
    ensure_establishment(caller, facility_id)
    return await handlers.close_day(
        commands.CloseDay(
            facility_id, schedule_id, body.day, body.kind, body.reason, body.bookings
        ),
        ctx.uow(),
        deps=ctx.deps,
    )


@router.patch(
    "/establishments/{facility_id}/schedules/{schedule_id}",
    response_model=ChangeResult,
    summary="End a schedule earlier or change its places per slot",
    responses=_PROBLEMS,
)
async def change(
    facility_id: FacilityPath,
    schedule_id: UUID,
    body: ChangeScheduleRequest,
    ctx: ContextDep,
    caller: SchedulerDep,
) -> dict[str, Any]:
    ensure_establishment(caller, facility_id)
    return await handlers.change_schedule(
        commands.ChangeSchedule(
            facility_id,
            schedule_id,
            body.effective_to,
            body.places_per_slot,
            body.reason,
            body.bookings,
        ),
        ctx.uow(),
        deps=ctx.deps,
    )


@router.post(
    "/establishments/{facility_id}/practitioners/{practitioner_ref}/absences",
    response_model=ChangeResult,
    summary="A practitioner is absent for a day: move or cancel all that day's bookings "
    "in one action, each patient told",
    responses=_PROBLEMS,
)
async def absent(
    facility_id: FacilityPath,
    practitioner_ref: Annotated[
        str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{3,63}$", examples=["dr-derma-01"])
    ],
    body: AbsenceRequest,
    ctx: ContextDep,
    caller: SchedulerDep,
) -> dict[str, Any]:
    ensure_establishment(caller, facility_id)
    return await handlers.mark_practitioner_absent(
        commands.MarkPractitionerAbsent(
            facility_id, practitioner_ref, body.day, body.reason, body.bookings
        ),
        ctx.uow(),
        deps=ctx.deps,
    )


@router.get(
    "/establishments/{facility_id}/days/{day}",
    response_model=DayViewResponse,
    summary="The scheduler's day: slots, bookings, arrivals, no-shows",
    responses=_PROBLEMS,
)
async def day_view(
    facility_id: FacilityPath, day: date, ctx: ContextDep, caller: SchedulerDep
) -> dict[str, Any]:
    ensure_establishment(caller, facility_id)
    async with ctx.uow() as uow:
        rows = await uow.queries.day_view(facility_id, day)
    slots: dict[UUID, dict[str, Any]] = {}
    totals = {"slots": 0, "places": 0, "booked": 0, "arrived": 0, "no_show": 0, "held": 0}
    for row in rows:
        slot = slots.get(row["slot_id"])
        if slot is None:
            slot = slots[row["slot_id"]] = {
                "slot_id": str(row["slot_id"]),
                "schedule_id": str(row["schedule_id"]),
                "specialty_code": row["specialty_code"],
                "practitioner_ref": row["practitioner_ref"],
                "room": row["room"],
                "starts_at": row["starts_at"].isoformat(),
                "ends_at": row["ends_at"].isoformat(),
                "capacity": row["capacity"],
                "free_places": row["free_places"],
                "urgent": row["urgent_until"] is not None,
                "open": row["open"],
                "bookings": [],
            }
            if row["open"]:
                totals["slots"] += 1
                totals["places"] += row["capacity"]
        if row["booking_id"] is not None:
            slot["bookings"].append(
                {
                    "booking_id": str(row["booking_id"]),
                    "booking_code": row["booking_code"] if row["status"] != "held" else None,
                    "status": row["status"],
                    "channel": row["channel"],
                    "arrived_at": row["arrived_at"].isoformat() if row["arrived_at"] else None,
                }
            )
            if row["status"] in totals:
                totals[row["status"]] += 1
            if row["status"] in ("arrived", "no_show"):
                totals["booked"] += 1
    return {"facility_id": facility_id, "day": day, "slots": list(slots.values()), "totals": totals}


@router.get(
    "/establishments/{facility_id}/bookings/by-code/{booking_code}",
    response_model=BookingResponse,
    summary="Look a booking code up at the establishment (reception)",
    responses=_PROBLEMS,
)
async def by_code(
    facility_id: FacilityPath,
    booking_code: Annotated[str, Path(pattern=r"^[A-Za-z0-9]{6,16}$", examples=["K7Q2M9XA"])],
    ctx: ContextDep,
    caller: DeskDep,
) -> dict[str, Any]:
    ensure_establishment(caller, facility_id)
    async with ctx.uow() as uow:
        booking = await uow.bookings.by_code(booking_code.upper())
    if booking is None or booking.status.value == "held":
        raise BookingNotFound()
    if booking.facility_id != facility_id:
        raise BookingAtAnotherEstablishment(booking.facility_id)
    return booking_view(booking, ctx.deps.registry)


@router.post(
    "/establishments/{facility_id}/bookings/{booking_id}/cancel",
    response_model=BookingResponse,
    summary="The clinic cancels a booking with a reason (the patient is told)",
    responses=_PROBLEMS,
)
async def clinic_cancel(
    facility_id: FacilityPath,
    booking_id: UUID,
    body: ClinicCancelRequest,
    ctx: ContextDep,
    caller: SchedulerDep,
) -> dict[str, Any]:
    ensure_establishment(caller, facility_id)
    booking = await handlers.cancel_booking(
        commands.CancelBooking(booking_id, Actor.CLINIC, body.reason, facility_id=facility_id),
        ctx.uow(),
        deps=ctx.deps,
    )
    return booking_view(booking, ctx.deps.registry)


@router.post(
    "/establishments/{facility_id}/bookings/{booking_id}/reschedule",
    response_model=BookingResponse,
    summary="The clinic moves a booking (the patient is told)",
    responses=_PROBLEMS,
)
async def clinic_reschedule(
    facility_id: FacilityPath,
    booking_id: UUID,
    body: RescheduleRequest,
    ctx: ContextDep,
    caller: SchedulerDep,
) -> dict[str, Any]:
    ensure_establishment(caller, facility_id)
    booking = await handlers.reschedule_booking(
        commands.RescheduleBooking(
            booking_id,
            body.slot_id,
            Actor.CLINIC,
            body.reason or "clinic_decision",
            facility_id=facility_id,
        ),
        ctx.uow(),
        deps=ctx.deps,
    )
    return booking_view(booking, ctx.deps.registry)


@router.get(
    "/establishments/{facility_id}/no-show-rates",
    response_model=list[NoShowRate],
    summary="Bookings honoured and missed per specialty over a range of slot days",
    responses=_PROBLEMS,
)
async def no_show_rates(
    facility_id: FacilityPath,
    ctx: ContextDep,
    caller: SchedulerDep,
    first_day: Annotated[date, Query(alias="from")],
    last_day: Annotated[date, Query(alias="to")],
) -> list[dict[str, Any]]:
    ensure_establishment(caller, facility_id)
    if last_day < first_day or (last_day - first_day).days > 366:
        raise InvalidDateRange()
    async with ctx.uow() as uow:
        rows = await uow.queries.no_show_rates(facility_id, first_day, last_day)
    return [
        {
            **row,
            "no_show_rate": round(row["no_shows"] / (row["arrived"] + row["no_shows"]), 4)
            if row["arrived"] + row["no_shows"]
            else None,
        }
        for row in rows
    ]


@router.post(
    "/establishments/{facility_id}/referrals",
    status_code=201,
    response_model=ReferralResponse,
    summary="A general practitioner refers a patient to a specialty (a single-use code)",
    responses=_PROBLEMS,
)
async def refer(
    facility_id: FacilityPath, body: ReferralRequest, ctx: ContextDep, caller: DoctorDep
) -> dict[str, Any]:
    ensure_establishment(caller, facility_id)
    referral = await handlers.issue_referral(
        commands.IssueReferral(facility_id, body.specialty_code, body.nin, body.urgent),
        ctx.uow(),
        deps=ctx.deps,
    )
    return {
        "code": referral.code,
        "specialty_code": referral.specialty_code,
        "urgent": referral.urgent,
        "expires_at": referral.expires_at,
    }


@router.get(
    "/counts/appointments",
    response_model=list[CountsRow],
    tags=["reconciliation"],
    summary="This service's own counts per establishment and Algiers day (reconciliation)",
    responses=_PROBLEMS,
)
async def counts(
    ctx: ContextDep,
    caller: MonitorDep,
    first_day: Annotated[date, Query(alias="from")],
    last_day: Annotated[date, Query(alias="to")],
) -> list[dict[str, Any]]:
    if last_day < first_day or (last_day - first_day).days > 366:
        raise InvalidDateRange()
    async with ctx.uow() as uow:
        found = await uow.queries.counts(first_day, last_day)
    return [
        {"facility_id": facility_id, "day": day, **values}
        for (facility_id, day), values in sorted(found.items())
    ]
