"""Handlers: one plain function per command, `handler(command, uow, **deps)`.

Each opens the unit of work, checks the rules, changes the aggregates, writes the
durable timers and notifications that follow, and commits: the events go to the outbox
in the same transaction. The places themselves are counted by PostgreSQL (see
`adapters/tables.py`): a handler tries to take one and turns the database's refusal into
a problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError

from sihha_appointments.adapters.repository import TimerKind, violated_constraint
from sihha_appointments.adapters.tables import (
    BOOKING_CODE_ONCE,
    ONE_ACTIVE_PER_SPECIALTY,
    PRACTITIONER_ONCE,
    SLOT_FULL,
    WAITLIST_ONCE,
)
from sihha_appointments.domain.booking import Booking, BookingStatus, SlotRef
from sihha_appointments.domain.calendar import HolidayCalendar
from sihha_appointments.domain.errors import (
    ActiveBookingInSpecialty,
    AlreadyWaitlisted,
    BookingNotFound,
    ChangeAffectsBookings,
    HoldNotFound,
    InvalidDateRange,
    InvalidSchedule,
    NoOffer,
    ReferralNotFound,
    ReferralRequired,
    ScheduleNotFound,
    ScheduleOverlap,
    SlotFull,
    SlotInPast,
    SlotNotFound,
    SlotReservedForUrgent,
    UnknownEstablishment,
    UnknownSpecialty,
    WaitlistEntryNotFound,
)
from sihha_appointments.domain.notification import Notification, Template
from sihha_appointments.domain.referral import Referral
from sihha_appointments.domain.rules import BookingRules
from sihha_appointments.domain.schedule import ExceptionKind, Schedule, places_by_day
from sihha_appointments.domain.specialties import is_specialty
from sihha_appointments.domain.waitlist import EntryStatus, WaitlistEntry
from sihha_appointments.service_layer import commands
from sihha_appointments.service_layer.commands import Resolution
from sihha_appointments.service_layer.unit_of_work import AppointmentsUnitOfWork
from sihha_contracts.events.appointments import Actor
from sihha_kit.clock import Clock, local_day
from sihha_kit.errors import BadRequest, TooManyRequests
from sihha_kit.pseudonym import pseudonymise_nin, validate_nin
from sihha_kit.registry import Registry

#: how many free slots a "slot taken" answer proposes instead
NEXT_FREE = 5
#: a waitlist reaches this far ahead when nothing else says
WAITLIST_MAX_DAYS = 92
#: an offer that could not last this long before its slot starts is not made
MIN_OFFER = timedelta(minutes=15)


class Throttled(TooManyRequests):
    """429 with the seconds after which the caller may try again (`Retry-After`)."""

    retry_after: int = 60


class TooManyActiveBookings(Throttled):
    """The citizen already has the maximum of active bookings; they may book again once
    the first of them is over."""

    def __init__(self, maximum: int, retry_after: int) -> None:
        super().__init__("too-many-active-bookings", maximum=maximum)
        self.retry_after = retry_after


class RateLimited(Throttled):
    """Too many searches, holds or sign-ins in the window (`adapters/ratelimit.py`)."""

    def __init__(self, action: str, retry_after: int) -> None:
        super().__init__("rate-limited", action=action, retry_after_seconds=retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Deps:
    """What the handlers need besides the unit of work, built once by `bootstrap`."""

    clock: Clock
    rules: BookingRules
    calendar: HolidayCalendar
    registry: Registry
    pseudonym_key: bytes | None = None


def slot_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "slot_id": str(row["slot_id"]),
        "facility_id": row["facility_id"],
        "specialty_code": row["specialty_code"],
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
    }


# -- schedules -------------------------------------------------------------------------------


def _establishment(deps: Deps, facility_id: str) -> str:
    """The commune of a known establishment."""
    establishment = deps.registry.by_code(facility_id)
    if establishment is None:
        raise UnknownEstablishment(facility_id)
    return establishment.commune


def _specialty(code: str) -> None:
    if not is_specialty(code):
        raise UnknownSpecialty(code)


async def publish_schedule(
    command: commands.PublishSchedule, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> tuple[Schedule, int]:
    """Publish a schedule: its slots are opened at once. Returns it and its slot count."""
    _specialty(command.specialty_code)
    commune = _establishment(deps, command.facility_id)
    async with uow:
        now = deps.clock()
        schedule = Schedule.publish(
            facility_id=command.facility_id,
            specialty_code=command.specialty_code,
            practitioner_ref=command.practitioner_ref,
            room=command.room,
            periods=command.periods,
            slot_minutes=command.slot_minutes,
            places_per_slot=command.places_per_slot,
            effective_from=command.effective_from,
            effective_to=command.effective_to,
            exceptions=command.exceptions,
            at=now,
        )
        for other in await uow.schedules.of_practitioner(command.practitioner_ref):
            if schedule.overlaps(other):
                raise ScheduleOverlap(str(other.schedule_id), command.practitioner_ref)
        plans = schedule.slots(deps.calendar, deps.rules)
        if not plans:
            raise InvalidSchedule("no-slots")
        schedule.record_published(slot_count=len(plans), places_by_day=places_by_day(plans), at=now)
        try:
            await uow.schedules.add(schedule, plans, commune)
        except IntegrityError as error:
            if violated_constraint(error) == PRACTITIONER_ONCE:
                raise ScheduleOverlap("-", command.practitioner_ref) from None
            raise
        release_days = sorted({p.urgent_until for p in plans if p.urgent_until is not None})
        await uow.timers.add_many(
            [
                {
                    "kind": TimerKind.URGENT_RELEASE,
                    "subject_id": schedule.schedule_id,
                    "due_at": max(instant, now),
                    "payload": {
                        "facility_id": schedule.facility_id,
                        "specialty": schedule.specialty_code,
                    },
                }
                for instant in release_days
            ]
        )
        await serve_waitlist(uow, deps, schedule.facility_id, schedule.specialty_code, now)
        await uow.commit()
        return schedule, len(plans)


async def _schedule_of(
    uow: AppointmentsUnitOfWork, facility_id: str, schedule_id: UUID
) -> Schedule:
    schedule = await uow.schedules.get(schedule_id, for_update=True)
    if schedule is None or schedule.facility_id != facility_id:
        raise ScheduleNotFound()
    return schedule


async def _republish(uow: AppointmentsUnitOfWork, schedule: Schedule, now: datetime) -> None:
    """A revision of the schedule on the bus: what it opens now."""
    by_day = await uow.slots.places_by_day(schedule.schedule_id)
    schedule.record_published(
        slot_count=sum(count for count, _ in by_day.values()),
        places_by_day={day: places for day, (_, places) in sorted(by_day.items())},
        at=now,
    )
    await uow.schedules.save(schedule)


async def close_day(
    command: commands.CloseDay, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> dict[str, Any]:
    async with uow:
        now = deps.clock()
        schedule = await _schedule_of(uow, command.facility_id, command.schedule_id)
        if command.day < local_day(now):
            raise InvalidDateRange()
        result = await _close_days(uow, deps, schedule, [command.day], command, now)
        schedule.exceptions[command.day] = command.kind
        await _republish(uow, schedule, now)
        await uow.commit()
        return result


async def mark_practitioner_absent(
    command: commands.MarkPractitionerAbsent, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> dict[str, Any]:
    """Leave for a practitioner's whole day at the establishment: every schedule of theirs
    that day closes, and its bookings are moved or cancelled in this one action."""
    async with uow:
        now = deps.clock()
        if command.day < local_day(now):
            raise InvalidDateRange()
        slots = await uow.slots.of_practitioner_day(
            command.facility_id, command.practitioner_ref, command.day
        )
        schedule_ids = sorted({row["schedule_id"] for row in slots})
        total: dict[str, Any] = {"moved": [], "cancelled": [], "closed_slots": 0}
        for schedule_id in schedule_ids:
            schedule = await _schedule_of(uow, command.facility_id, schedule_id)
            close = commands.CloseDay(
                command.facility_id,
                schedule_id,
                command.day,
                ExceptionKind.LEAVE,
                command.reason,
                command.resolution,
            )
            result = await _close_days(uow, deps, schedule, [command.day], close, now)
            schedule.exceptions[command.day] = ExceptionKind.LEAVE
            await _republish(uow, schedule, now)
            total["moved"] += result["moved"]
            total["cancelled"] += result["cancelled"]
            total["closed_slots"] += result["closed_slots"]
        await uow.commit()
        return total


async def _close_days(
    uow: AppointmentsUnitOfWork,
    deps: Deps,
    schedule: Schedule,
    days: list[Any],
    command: commands.CloseDay,
    now: datetime,
) -> dict[str, Any]:
    slots = await uow.slots.of_schedule_days(schedule.schedule_id, days)
    return await _take_slots_away(
        uow, deps, schedule, slots, command.resolution, command.reason, now
    )


async def _take_slots_away(
    uow: AppointmentsUnitOfWork,
    deps: Deps,
    schedule: Schedule,
    slots: list[dict[str, Any]],
    resolution: Resolution,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """Close `slots`; the bookings in them are moved or cancelled as `resolution` says (or
    the change is refused, listing them). Holds in them are let go."""
    slot_ids = [row["slot_id"] for row in slots]
    affected = await uow.bookings.in_slots(slot_ids)
    booked = [b for b in affected if b.status is BookingStatus.BOOKED]
    if booked and resolution is Resolution.REFUSE:
        raise ChangeAffectsBookings(
            [
                {
                    "booking_id": str(b.booking_id),
                    "booking_code": b.booking_code,
                    "slot_start": b.slot.starts_at.isoformat(),
                }
                for b in booked
            ]
        )
    moved: list[str] = []
    cancelled: list[str] = []
    for booking in affected:
        if booking.status is BookingStatus.HELD:
            booking.release()
            await uow.bookings.save(booking)
            await uow.timers.cancel(booking.booking_id, TimerKind.HOLD_EXPIRY)
            if booking.waitlist_entry_id is not None:
                entry = await uow.waitlist.get(booking.waitlist_entry_id, for_update=True)
                if entry is not None and entry.status is EntryStatus.OFFERED:
                    entry.withdraw_offer()
                    await uow.waitlist.save(entry)
            continue
        if booking.status is not BookingStatus.BOOKED:
            continue  # arrived or absent: the past stays as it was
        target = None
        if resolution is Resolution.MOVE:
            free = await uow.slots.bookable(
                specialty_code=booking.specialty_code,
                facility_id=booking.facility_id,
                now=now,
                until=now + timedelta(days=WAITLIST_MAX_DAYS),
                urgent_allowed=booking.urgent,
                exclude=slot_ids,
                limit=1,
            )
            target = free[0] if free else None
        if target is not None:
            await _move(uow, deps, booking, uow.slots.ref(target), Actor.CLINIC, reason, now)
            moved.append(str(booking.booking_id))
        else:
            await _cancel(uow, deps, booking, Actor.CLINIC, reason, now, tell_patient=True)
            cancelled.append(str(booking.booking_id))
    await uow.slots.close(slot_ids)
    return {"moved": moved, "cancelled": cancelled, "closed_slots": len(slot_ids)}


async def change_schedule(
    command: commands.ChangeSchedule, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> dict[str, Any]:
    """End a schedule earlier, or change its places per slot from now on."""
    async with uow:
        now = deps.clock()
        schedule = await _schedule_of(uow, command.facility_id, command.schedule_id)
        result: dict[str, Any] = {"moved": [], "cancelled": [], "closed_slots": 0}
        if command.effective_to is not None:
            if not (local_day(now) <= command.effective_to <= schedule.effective_to):
                raise InvalidSchedule("end-outside-period")
            if command.effective_to < schedule.effective_from:
                raise InvalidSchedule("period-reversed")
            slots = await uow.slots.of_schedule_after(schedule.schedule_id, command.effective_to)
            result = await _take_slots_away(
                uow, deps, schedule, slots, command.resolution, command.reason, now
            )
            schedule.effective_to = command.effective_to
        if command.places_per_slot is not None:
            if command.places_per_slot <= 0:
                raise InvalidSchedule("places-per-slot")
            future = await uow.slots.of_schedule_from(schedule.schedule_id, now)
            if command.places_per_slot < schedule.places_per_slot:
                over = []
                for row in future:
                    taken = row["capacity"] - row["free_places"]
                    if taken > command.places_per_slot:
                        over.append(row)
                if over:
                    extra = await _bookings_beyond(uow, over, command.places_per_slot)
                    await _resolve_extra(uow, deps, extra, command, now, result)
            await uow.slots.set_capacity(
                [row["slot_id"] for row in future], command.places_per_slot
            )
            schedule.places_per_slot = command.places_per_slot
        await _republish(uow, schedule, now)
        await serve_waitlist(uow, deps, schedule.facility_id, schedule.specialty_code, now)
        await uow.commit()
        return result


async def _bookings_beyond(
    uow: AppointmentsUnitOfWork, slots: list[dict[str, Any]], capacity: int
) -> list[Booking]:
    """In each slot, the bookings beyond the new capacity: the latest taken go first."""
    extra: list[Booking] = []
    for row in slots:
        holders = await uow.bookings.in_slots([row["slot_id"]])
        holders.sort(key=lambda b: b.booked_at or b.held_at, reverse=True)
        extra += holders[: len(holders) - capacity]
    return extra


async def _resolve_extra(
    uow: AppointmentsUnitOfWork,
    deps: Deps,
    extra: list[Booking],
    command: commands.ChangeSchedule,
    now: datetime,
    result: dict[str, Any],
) -> None:
    booked = [b for b in extra if b.status is BookingStatus.BOOKED]
    if booked and command.resolution is Resolution.REFUSE:
        raise ChangeAffectsBookings(
            [
                {
                    "booking_id": str(b.booking_id),
                    "booking_code": b.booking_code,
                    "slot_start": b.slot.starts_at.isoformat(),
                }
                for b in booked
            ]
        )
    for booking in extra:
        if booking.status is BookingStatus.HELD:
            booking.release()
            await uow.bookings.save(booking)
            continue
        target = None
        if command.resolution is Resolution.MOVE:
            free = await uow.slots.bookable(
                specialty_code=booking.specialty_code,
                facility_id=booking.facility_id,
                now=now,
                until=now + timedelta(days=WAITLIST_MAX_DAYS),
                urgent_allowed=booking.urgent,
                exclude=[booking.slot.slot_id],
                limit=1,
            )
            target = free[0] if free else None
        if target is not None:
            await _move(
                uow, deps, booking, uow.slots.ref(target), Actor.CLINIC, command.reason, now
            )
            result["moved"].append(str(booking.booking_id))
        else:
            await _cancel(uow, deps, booking, Actor.CLINIC, command.reason, now, tell_patient=True)
            result["cancelled"].append(str(booking.booking_id))


# -- holds and bookings ------------------------------------------------------------------------


async def next_free(
    uow: AppointmentsUnitOfWork,
    deps: Deps,
    slot: Mapping[str, Any],
    now: datetime,
    *,
    urgent_allowed: bool = False,
) -> list[dict[str, Any]]:
    """The next free slots of the same specialty at the same establishment."""
    rows = await uow.slots.bookable(
        specialty_code=slot["specialty_code"],
        facility_id=slot["facility_id"],
        now=now,
        until=now + timedelta(days=WAITLIST_MAX_DAYS),
        urgent_allowed=urgent_allowed,
        exclude=[slot["slot_id"]],
        limit=NEXT_FREE,
    )
    return [slot_summary(row) for row in rows]


async def _referral_for(
    uow: AppointmentsUnitOfWork,
    deps: Deps,
    code: str | None,
    patient_key: str,
    specialty_code: str,
    now: datetime,
) -> Referral | None:
    if code is None:
        if deps.rules.needs_referral(specialty_code):
            raise ReferralRequired(specialty_code)
        return None
    referral = await uow.referrals.by_code(code.strip().upper())
    if referral is None:
        raise ReferralNotFound()
    referral.check_usable(patient_key=patient_key, specialty_code=specialty_code, at=now)
    return referral


def _offered(slot: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The next free slots `SlotRepository.for_hold` found beside a full slot."""
    return [
        {
            "slot_id": str(slot_id),
            "facility_id": slot["facility_id"],
            "specialty_code": slot["specialty_code"],
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
        }
        for slot_id, starts, ends in zip(
            slot["next_ids"], slot["next_starts"], slot["next_ends"], strict=True
        )
    ]


async def hold_slot(
    command: commands.HoldSlot, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> Booking:
    """Hold a place of a slot for the citizen for `BookingRules.hold`. A hold the citizen
    already had in the specialty is let go. The place is taken by PostgreSQL: when none is
    left, 409 `slot-full` with the next free slots.

    The common paths are short, because in a rush for the last place every loser takes
    one: a statement outside any transaction reads the slot, the citizen's active
    bookings and, when the slot is already full, the next free slots
    (`SlotRepository.for_hold`), so a loser arriving after the winner's commit is
    answered from that one round trip, without writing or locking anything; the winner
    then opens its transaction, lets the citizen's earlier hold in the specialty go (found
    again there, `FOR UPDATE`: one may have been committed since the read), inserts its
    hold and its expiry timer in one statement and commits. A loser that read the last place free before the winner committed is
    refused by the slot's CHECK when the winner commits (its insert waits for the row
    lock the trigger took), and gets the offer from a query after its rollback."""
    rules = deps.rules
    async with uow.reader():
        now = deps.clock()
        slot = await uow.slots.for_hold(
            command.slot_id,
            command.patient_key,
            now,
            offer_until=now + timedelta(days=WAITLIST_MAX_DAYS),
            offer_count=NEXT_FREE,
        )
        if slot is None or not slot["open"]:
            raise SlotNotFound()
        if slot["starts_at"] <= now:
            raise SlotInPast()
        specialty = slot["specialty_code"]
        referral = await _referral_for(
            uow, deps, command.referral_code, command.patient_key, specialty, now
        )
        urgent = referral is not None and referral.urgent
        if slot["urgent_until"] is not None and slot["urgent_until"] > now and not urgent:
            raise SlotReservedForUrgent(
                slot["urgent_until"].isoformat(), await next_free(uow, deps, slot, now)
            )
        mine = list(
            zip(slot["mine_statuses"], slot["mine_specialties"], slot["mine_ends"], strict=True)
        )
        # a hold of the same specialty is let go by this one: it does not count
        active = [
            (status, code, ends)
            for status, code, ends in mine
            if not (status == BookingStatus.HELD.value and code == specialty)
        ]
        if len(active) >= rules.max_active_bookings:
            first_end = min(ends for _, _, ends in active)
            raise TooManyActiveBookings(
                rules.max_active_bookings, max(1, int((first_end - now).total_seconds()))
            )
        if rules.one_active_per_specialty and any(code == specialty for _, code, _ in active):
            raise ActiveBookingInSpecialty(specialty)
        if slot["free_places"] <= 0:  # taken before this read: nothing written, nothing locked
            raise SlotFull(
                _offered(slot)
                if not urgent
                else await next_free(uow, deps, slot, now, urgent_allowed=True)
            )
        await uow.writing()
        for previous in await uow.bookings.holds_in_specialty(command.patient_key, specialty):
            previous.release()
            await uow.bookings.save(previous)
            await uow.timers.cancel(previous.booking_id, TimerKind.HOLD_EXPIRY)
        booking = Booking.hold(
            slot=uow.slots.ref(slot),
            patient_key=command.patient_key,
            at=now,
            hold_for=rules.hold,
            channel=command.channel,
            referral_id=referral.referral_id if referral else None,
            urgent=urgent,
            language=command.language,
            one_per_specialty=rules.one_active_per_specialty,
        )
        try:
            await uow.bookings.add_hold(booking, TimerKind.HOLD_EXPIRY)
        except IntegrityError as error:
            constraint = violated_constraint(error)
            if constraint == SLOT_FULL:
                await uow.rollback()
                raise SlotFull(
                    await next_free(uow, deps, slot, now, urgent_allowed=urgent)
                ) from None
            if constraint == ONE_ACTIVE_PER_SPECIALTY:
                raise ActiveBookingInSpecialty(specialty) from None
            if constraint == BOOKING_CODE_ONCE:  # 1 in 10¹¹: the citizen tries again
                raise SlotFull([]) from None
            raise
        await uow.commit()
        return booking


async def _owned_hold(uow: AppointmentsUnitOfWork, patient_key: str, booking_id: UUID) -> Booking:
    booking = await uow.bookings.get(booking_id, for_update=True)
    if booking is None or booking.patient_key != patient_key:
        raise HoldNotFound()
    return booking


async def _booked(uow: AppointmentsUnitOfWork, deps: Deps, booking: Booking, now: datetime) -> None:
    """What follows a new booking: the referral is used, the waitlist entry answered, the
    no-show check and the reminders set, and the patient told."""
    if booking.referral_id is not None:
        referral = await uow.referrals.get(booking.referral_id)
        if referral is not None:
            referral.use(booking.booking_id, now)
            await uow.referrals.save(referral)
    if booking.waitlist_entry_id is not None:
        entry = await uow.waitlist.get(booking.waitlist_entry_id, for_update=True)
        if entry is not None and entry.status is EntryStatus.OFFERED:
            entry.accepted()
            await uow.waitlist.save(entry)
    await _set_booking_timers(uow, deps, booking, now, replacing=(TimerKind.HOLD_EXPIRY,))
    await notify(uow, booking, Template.BOOKED, now)


async def _set_booking_timers(
    uow: AppointmentsUnitOfWork,
    deps: Deps,
    booking: Booking,
    now: datetime,
    *,
    replacing: tuple[str, ...],
) -> None:
    """The booking's no-show check and reminders, in place of its timers of `replacing`
    (one statement)."""
    start = booking.slot.starts_at
    await uow.timers.replace(
        booking.booking_id,
        replacing,
        [
            {
                "kind": TimerKind.NO_SHOW,
                "subject_id": booking.booking_id,
                "due_at": start + deps.rules.no_show_grace,
            },
            *(
                {
                    "kind": TimerKind.REMINDER,
                    "subject_id": booking.booking_id,
                    "due_at": due,
                    "payload": {"slot_start": start.isoformat()},
                }
                for due in deps.rules.reminders_for(start, now)
            ),
        ],
    )


async def notify(
    uow: AppointmentsUnitOfWork, booking: Booking, template: Template, now: datetime
) -> None:
    """Queue a text message about `booking` for its patient (the notification outbox)."""
    await uow.notifications.add(
        Notification.request(
            patient_key=booking.patient_key,
            template=template,
            language=booking.language,
            params={
                "facility_id": booking.facility_id,
                "slot_start": booking.slot.starts_at.isoformat(),
                "booking_code": booking.booking_code,
                "expires_at": booking.hold_expires_at.isoformat(),
            },
            at=now,
            facility_id=booking.facility_id,
            booking_id=booking.booking_id,
            waitlist_entry_id=booking.waitlist_entry_id if template is Template.OFFERED else None,
        ),
        now,
    )


async def confirm_hold(
    command: commands.ConfirmHold, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> Booking:
    """The hold becomes a booking with its code (`appointments.appointment.booked`)."""
    async with uow:
        now = deps.clock()
        booking = await _owned_hold(uow, command.patient_key, command.booking_id)
        if booking.status is BookingStatus.BOOKED:
            return booking  # a retried confirmation: the same booking
        booking.confirm(now)
        await uow.bookings.save(booking)
        await _booked(uow, deps, booking, now)
        await uow.commit()
        return booking


async def release_hold(
    command: commands.ReleaseHold, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> None:
    async with uow:
        now = deps.clock()
        booking = await _owned_hold(uow, command.patient_key, command.booking_id)
        booking.release()
        await uow.bookings.save(booking)
        await uow.timers.cancel(booking.booking_id, TimerKind.HOLD_EXPIRY)
        await _after_hold_ended(uow, deps, booking, now)
        await uow.commit()


async def _after_hold_ended(
    uow: AppointmentsUnitOfWork, deps: Deps, booking: Booking, now: datetime
) -> None:
    if booking.waitlist_entry_id is not None:
        entry = await uow.waitlist.get(booking.waitlist_entry_id, for_update=True)
        if entry is not None and entry.status is EntryStatus.OFFERED:
            entry.lapse()
            await uow.waitlist.save(entry)
    await serve_waitlist(uow, deps, booking.facility_id, booking.specialty_code, now)


async def _booking_for(
    uow: AppointmentsUnitOfWork,
    booking_id: UUID,
    *,
    patient_key: str | None,
    facility_id: str | None,
) -> Booking:
    booking = await uow.bookings.get(booking_id, for_update=True)
    if booking is None:
        raise BookingNotFound()
    if patient_key is not None and booking.patient_key != patient_key:
        raise BookingNotFound()  # another citizen's booking does not exist for them
    if facility_id is not None and booking.facility_id != facility_id:
        raise BookingNotFound()
    return booking


async def _cancel(
    uow: AppointmentsUnitOfWork,
    deps: Deps,
    booking: Booking,
    by: Actor,
    reason: str,
    now: datetime,
    *,
    tell_patient: bool,
) -> None:
    booking.cancel(by=by, reason=reason, at=now)
    await uow.bookings.save(booking)
    await uow.timers.cancel(booking.booking_id, TimerKind.NO_SHOW, TimerKind.REMINDER)
    if tell_patient:
        await notify(uow, booking, Template.CANCELLED, now)


async def _move(
    uow: AppointmentsUnitOfWork,
    deps: Deps,
    booking: Booking,
    slot: SlotRef,
    by: Actor,
    reason: str | None,
    now: datetime,
) -> None:
    booking.reschedule(slot, by=by, at=now, reason=reason)
    try:
        await uow.bookings.save(booking)
    except IntegrityError as error:
        if violated_constraint(error) == SLOT_FULL:
            raise SlotFull([]) from None
        raise
    await _set_booking_timers(
        uow, deps, booking, now, replacing=(TimerKind.NO_SHOW, TimerKind.REMINDER)
    )
    await notify(uow, booking, Template.RESCHEDULED, now)


async def cancel_booking(
    command: commands.CancelBooking, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> Booking:
    """Cancel a booking: the citizen until the cut-off before the slot, the clinic at any
    time with a reason (the patient is then told). The freed place goes to the waitlist."""
    async with uow:
        now = deps.clock()
        booking = await _booking_for(
            uow,
            command.booking_id,
            patient_key=command.patient_key,
            facility_id=command.facility_id,
        )
        if command.by is Actor.CITIZEN:
            booking.check_citizen_cutoff(now, deps.rules.citizen_cutoff)
        await _cancel(
            uow,
            deps,
            booking,
            command.by,
            command.reason,
            now,
            tell_patient=command.by is Actor.CLINIC,
        )
        await serve_waitlist(uow, deps, booking.facility_id, booking.specialty_code, now)
        await uow.commit()
        return booking


async def reschedule_booking(
    command: commands.RescheduleBooking, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> Booking:
    """Move a booking to another slot of the same specialty at the same establishment."""
    async with uow:
        now = deps.clock()
        booking = await _booking_for(
            uow,
            command.booking_id,
            patient_key=command.patient_key,
            facility_id=command.facility_id,
        )
        if command.by is Actor.CITIZEN:
            booking.check_citizen_cutoff(now, deps.rules.citizen_cutoff)
        slot = await uow.slots.get(command.slot_id)
        if (
            slot is None
            or not slot["open"]
            or slot["facility_id"] != booking.facility_id
            or slot["specialty_code"] != booking.specialty_code
        ):
            raise SlotNotFound()
        if slot["starts_at"] <= now:
            raise SlotInPast()
        if slot["urgent_until"] is not None and slot["urgent_until"] > now and not booking.urgent:
            raise SlotReservedForUrgent(
                slot["urgent_until"].isoformat(), await next_free(uow, deps, slot, now)
            )
        if slot["free_places"] <= 0:
            raise SlotFull(await next_free(uow, deps, slot, now, urgent_allowed=booking.urgent))
        try:
            await _move(uow, deps, booking, uow.slots.ref(slot), command.by, command.reason, now)
        except SlotFull:
            await uow.rollback()
            raise SlotFull(
                await next_free(uow, deps, slot, now, urgent_allowed=booking.urgent)
            ) from None
        await serve_waitlist(uow, deps, booking.facility_id, booking.specialty_code, now)
        await uow.commit()
        return booking


# -- the waitlist ---------------------------------------------------------------------------


async def serve_waitlist(
    uow: AppointmentsUnitOfWork, deps: Deps, facility_id: str, specialty_code: str, now: datetime
) -> int:
    """Offer free places to the waiting patients of this specialty at this establishment,
    first come first served: each gets the soonest free place in their days, held for them
    until `BookingRules.offer` (or shortly before the slot). Returns the offers made.

    Called in the transaction of whatever may have freed a place (a cancellation, a hold
    that ended, a new schedule or capacity, urgent places released) or added a waiting
    patient; the worker also sweeps every waitlist each minute."""
    offers = 0
    for entry in await uow.waitlist.waiting(facility_id, specialty_code, limit=50):
        first = datetime.combine(entry.first_day, datetime.min.time(), tzinfo=now.tzinfo)
        free = await uow.slots.bookable(
            specialty_code=specialty_code,
            facility_id=facility_id,
            now=max(now + MIN_OFFER, first),
            until=datetime.combine(
                entry.last_day + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo
            ),
            limit=3,
        )
        free = [row for row in free if entry.first_day <= row["day"] <= entry.last_day]
        if not free:
            continue
        if await _offer(uow, deps, entry, free[0], now):
            offers += 1
    return offers


async def _offer(
    uow: AppointmentsUnitOfWork,
    deps: Deps,
    entry: WaitlistEntry,
    slot: Mapping[str, Any],
    now: datetime,
) -> bool:
    expires = min(now + deps.rules.offer, slot["starts_at"])
    hold = Booking.hold(
        slot=uow.slots.ref(slot),
        patient_key=entry.patient_key,
        at=now,
        hold_for=expires - now,
        referral_id=entry.referral_id,
        waitlist_entry_id=entry.entry_id,
        language=entry.language,
        one_per_specialty=deps.rules.one_active_per_specialty,
    )
    savepoint = await uow.session.begin_nested()
    try:
        await uow.bookings.add(hold)
    except IntegrityError as error:
        await savepoint.rollback()
        if violated_constraint(error) == ONE_ACTIVE_PER_SPECIALTY:
            entry.lapse()  # they booked in the specialty meanwhile: the wait is over
            await uow.waitlist.save(entry)
        return False
    await savepoint.commit()
    entry.offer(hold, now)
    await uow.waitlist.save(entry)
    await uow.timers.add(TimerKind.HOLD_EXPIRY, hold.booking_id, hold.hold_expires_at)
    await notify(uow, hold, Template.OFFERED, now)
    return True


async def join_waitlist(
    command: commands.JoinWaitlist, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> WaitlistEntry:
    _specialty(command.specialty_code)
    _establishment(deps, command.facility_id)
    async with uow:
        now = deps.clock()
        today = local_day(now)
        if (
            command.last_day < command.first_day
            or command.first_day < today
            or (command.last_day - today).days > WAITLIST_MAX_DAYS
        ):
            raise InvalidDateRange()
        referral = await _referral_for(
            uow, deps, command.referral_code, command.patient_key, command.specialty_code, now
        )
        entry = WaitlistEntry.join(
            patient_key=command.patient_key,
            facility_id=command.facility_id,
            specialty_code=command.specialty_code,
            first_day=command.first_day,
            last_day=command.last_day,
            at=now,
            language=command.language,
            referral_id=referral.referral_id if referral else None,
        )
        try:
            await uow.waitlist.add(entry)
        except IntegrityError as error:
            if violated_constraint(error) == WAITLIST_ONCE:
                raise AlreadyWaitlisted() from None
            raise
        await serve_waitlist(uow, deps, command.facility_id, command.specialty_code, now)
        await uow.commit()
        return entry


async def _own_entry(
    uow: AppointmentsUnitOfWork, patient_key: str, entry_id: UUID
) -> WaitlistEntry:
    entry = await uow.waitlist.get(entry_id, for_update=True)
    if entry is None or entry.patient_key != patient_key:
        raise WaitlistEntryNotFound()
    return entry


async def answer_offer(
    command: commands.AnswerOffer, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> Booking | None:
    """Accept (the offered hold becomes a booking) or decline (the place goes on)."""
    async with uow:
        now = deps.clock()
        entry = await _own_entry(uow, command.patient_key, command.entry_id)
        if entry.status is not EntryStatus.OFFERED or entry.offer_booking_id is None:
            raise NoOffer()
        hold = await _owned_hold(uow, command.patient_key, entry.offer_booking_id)
        if command.accept:
            hold.confirm(now)
            await uow.bookings.save(hold)
            await _booked(uow, deps, hold, now)
            await uow.commit()
            return hold
        hold.release()
        await uow.bookings.save(hold)
        await uow.timers.cancel(hold.booking_id, TimerKind.HOLD_EXPIRY)
        await _after_hold_ended(uow, deps, hold, now)
        await uow.commit()
        return None


async def leave_waitlist(
    command: commands.LeaveWaitlist, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> None:
    async with uow:
        now = deps.clock()
        entry = await _own_entry(uow, command.patient_key, command.entry_id)
        if entry.status not in (EntryStatus.WAITING, EntryStatus.OFFERED):
            raise WaitlistEntryNotFound()
        offered = entry.offer_booking_id if entry.status is EntryStatus.OFFERED else None
        entry.leave()
        await uow.waitlist.save(entry)
        if offered is not None:
            hold = await uow.bookings.get(offered, for_update=True)
            if hold is not None and hold.status is BookingStatus.HELD:
                hold.release()
                await uow.bookings.save(hold)
                await uow.timers.cancel(hold.booking_id, TimerKind.HOLD_EXPIRY)
                await serve_waitlist(uow, deps, hold.facility_id, hold.specialty_code, now)
        await uow.commit()


# -- referrals and arrivals -----------------------------------------------------------------


def patient_key_of(nin: str, deps: Deps) -> str:
    if deps.pseudonym_key is None:
        raise RuntimeError("no pseudonym key: set APPOINTMENTS_PSEUDONYM_KEY(_PATH)")
    try:
        validate_nin(nin)
    except ValueError:
        raise BadRequest("invalid-nin") from None
    return pseudonymise_nin(nin, deps.pseudonym_key)


async def issue_referral(
    command: commands.IssueReferral, uow: AppointmentsUnitOfWork, *, deps: Deps
) -> Referral:
    """A general practitioner refers a patient to a specialty (an urgent one may take the
    places kept for urgent cases). Only the patient's pseudonymous key is kept."""
    _specialty(command.specialty_code)
    _establishment(deps, command.facility_id)
    patient_key = patient_key_of(command.nin, deps)
    async with uow:
        now = deps.clock()
        referral = Referral.issue(
            facility_id=command.facility_id,
            specialty_code=command.specialty_code,
            patient_key=patient_key,
            urgent=command.urgent,
            at=now,
            valid_until=now + deps.rules.referral_validity,
        )
        await uow.referrals.add(referral)
        await uow.commit()
        return referral


async def record_arrival(command: commands.RecordArrival, uow: AppointmentsUnitOfWork) -> bool:
    """A ticket the queue issued with a booking code: the booking is honoured. Also run
    by the consumer of `queue.ticket.issued` on its own session (`entrypoints/consumers`)."""
    async with uow:
        applied = await apply_arrival(uow, command)
        await uow.commit()
        return applied


async def apply_arrival(uow: Any, command: commands.RecordArrival) -> bool:
    booking = await uow.bookings.by_code(command.booking_code.strip().upper(), for_update=True)
    if booking is None or booking.facility_id != command.facility_id:
        return False
    if booking.status not in (BookingStatus.BOOKED, BookingStatus.NO_SHOW):
        return False
    if not booking.arrive(ticket_id=command.ticket_id, at=command.at):
        return False
    await uow.bookings.save(booking)
    await uow.timers.cancel(booking.booking_id, TimerKind.NO_SHOW, TimerKind.REMINDER)
    return True
