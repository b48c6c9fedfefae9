"""Queries of the appointments service, all in one place. Nobody here commits: the unit
of work does. Every aggregate a repository returns or takes in is tracked, so that its
recorded events reach the outbox on commit (`sihha_kit.uow.Repository`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import UUID as SqlUuid
from sqlalchemy.types import DateTime, String, Text

from sihha_appointments.adapters.tables import (
    bookings,
    citizens,
    notifications,
    referrals,
    schedules,
    sign_in_challenges,
    slots,
    timers,
    waitlist_entries,
)
from sihha_appointments.domain.booking import Booking, BookingStatus, SlotRef
from sihha_appointments.domain.notification import DeliveryStatus, Notification, Template
from sihha_appointments.domain.referral import Referral
from sihha_appointments.domain.schedule import ExceptionKind, Schedule, SlotPlan, WeeklyPeriod
from sihha_appointments.domain.waitlist import EntryStatus, WaitlistEntry
from sihha_contracts.events.appointments import Actor, BookingChannel
from sihha_contracts.types import AgeBand, Sex
from sihha_kit.uow import Repository


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint a statement broke (asyncpg's error, chained by the
    SQLAlchemy adapter that wraps it)."""
    cause = error.orig.__cause__ if error.orig is not None else None
    name = getattr(cause, "constraint_name", None)
    return name if isinstance(name, str) else None


# -- schedules and slots ---------------------------------------------------------------


def _periods_json(periods: Iterable[WeeklyPeriod]) -> list[dict[str, str]]:
    return [
        {
            "weekday": p.weekday,
            "starts": p.starts.strftime("%H:%M"),
            "ends": p.ends.strftime("%H:%M"),
        }
        for p in periods
    ]


def _schedule(row: Mapping[str, Any]) -> Schedule:
    return Schedule(
        schedule_id=row["schedule_id"],
        facility_id=row["facility_id"],
        specialty_code=row["specialty_code"],
        practitioner_ref=row["practitioner_ref"],
        room=row["room"],
        periods=tuple(
            WeeklyPeriod(
                p["weekday"], time.fromisoformat(p["starts"]), time.fromisoformat(p["ends"])
            )
            for p in row["periods"]
        ),
        slot_minutes=row["slot_minutes"],
        places_per_slot=row["places_per_slot"],
        effective_from=row["effective_from"],
        effective_to=row["effective_to"],
        exceptions={date.fromisoformat(d): ExceptionKind(k) for d, k in row["exceptions"].items()},
        published_at=row["published_at"],
        version=row["version"],
    )


class ScheduleRepository(Repository):
    async def add(self, schedule: Schedule, plans: Sequence[SlotPlan], commune: str) -> None:
        await self.session.execute(
            insert(schedules).values(
                schedule_id=schedule.schedule_id,
                facility_id=schedule.facility_id,
                specialty_code=schedule.specialty_code,
                practitioner_ref=schedule.practitioner_ref,
                room=schedule.room,
                periods=_periods_json(schedule.periods),
                slot_minutes=schedule.slot_minutes,
                places_per_slot=schedule.places_per_slot,
                effective_from=schedule.effective_from,
                effective_to=schedule.effective_to,
                exceptions={d.isoformat(): k.value for d, k in schedule.exceptions.items()},
                published_at=schedule.published_at,
                version=schedule.version + len(schedule.events),
            )
        )
        await self.add_slots(schedule, plans, commune)
        self.track(schedule)

    async def add_slots(self, schedule: Schedule, plans: Sequence[SlotPlan], commune: str) -> None:
        if not plans:
            return
        await self.session.execute(
            insert(slots),
            [
                {
                    "slot_id": plan.slot_id,
                    "schedule_id": schedule.schedule_id,
                    "facility_id": schedule.facility_id,
                    "commune": commune,
                    "specialty_code": schedule.specialty_code,
                    "practitioner_ref": schedule.practitioner_ref,
                    "room": schedule.room,
                    "day": plan.day,
                    "starts_at": plan.starts_at,
                    "ends_at": plan.ends_at,
                    "capacity": plan.capacity,
                    "free_places": plan.capacity,
                    "urgent_until": plan.urgent_until,
                    "open": True,
                }
                for plan in plans
            ],
        )

    async def get(self, schedule_id: UUID, *, for_update: bool = False) -> Schedule | None:
        statement = select(schedules).where(schedules.c.schedule_id == schedule_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).mappings().first()
        return self.track(_schedule(row)) if row is not None else None

    async def of_practitioner(self, practitioner_ref: str) -> list[Schedule]:
        rows = await self.session.execute(
            select(schedules).where(schedules.c.practitioner_ref == practitioner_ref)
        )
        return [_schedule(row) for row in rows.mappings()]

    async def of_facility(self, facility_id: str) -> list[Schedule]:
        rows = await self.session.execute(
            select(schedules)
            .where(schedules.c.facility_id == facility_id)
            .order_by(schedules.c.specialty_code, schedules.c.effective_from)
        )
        return [_schedule(row) for row in rows.mappings()]

    async def save(self, schedule: Schedule) -> None:
        await self.session.execute(
            update(schedules)
            .where(schedules.c.schedule_id == schedule.schedule_id)
            .values(
                effective_to=schedule.effective_to,
                places_per_slot=schedule.places_per_slot,
                exceptions={d.isoformat(): k.value for d, k in schedule.exceptions.items()},
                version=schedule.version + len(schedule.events),
            )
        )
        self.track(schedule)


def _slot_ref(row: Mapping[str, Any]) -> SlotRef:
    return SlotRef(
        slot_id=row["slot_id"],
        schedule_id=row["schedule_id"],
        facility_id=row["facility_id"],
        specialty_code=row["specialty_code"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        urgent_until=row["urgent_until"],
    )


#: what a page of search results shows of a slot, and what a booking's `SlotRef` and the
#: waitlist's offers need of it (not the practitioner, the capacity, the open flag)
_PAGE_COLUMNS = (
    slots.c.slot_id,
    slots.c.facility_id,
    slots.c.commune,
    slots.c.specialty_code,
    slots.c.room,
    slots.c.starts_at,
    slots.c.ends_at,
    slots.c.free_places,
    slots.c.schedule_id,
    slots.c.urgent_until,
    slots.c.day,
)
_BOOKABLE: dict[tuple[bool, ...], Select[Any]] = {}


def _bookable_statement(
    *, facility: bool, commune: bool, urgent_allowed: bool, after: bool, exclude: bool
) -> Select[Any]:
    """The search's statement for one combination of filters, built once: its values are
    bound parameters, so SQLAlchemy compiles it once and asyncpg prepares it once per
    connection. The partial indexes `slots_bookable` (by specialty) and
    `slots_bookable_facility` (by establishment and specialty) read the slots in order
    and hold only open slots with a free place."""
    key = (facility, commune, urgent_allowed, after, exclude)
    statement = _BOOKABLE.get(key)
    if statement is not None:
        return statement
    now = bindparam("now", type_=DateTime(timezone=True))
    conditions = [
        slots.c.specialty_code == bindparam("specialty"),
        slots.c.open,
        slots.c.free_places > 0,
        slots.c.starts_at > now,
        slots.c.starts_at < bindparam("until", type_=DateTime(timezone=True)),
    ]
    if not urgent_allowed:
        conditions.append(or_(slots.c.urgent_until.is_(None), slots.c.urgent_until <= now))
    if facility:
        conditions.append(slots.c.facility_id == bindparam("facility"))
    if commune:
        conditions.append(slots.c.commune == bindparam("commune"))
    if after:
        conditions.append(
            tuple_(slots.c.starts_at, slots.c.slot_id)
            > tuple_(
                bindparam("after_start", type_=DateTime(timezone=True)),
                bindparam("after_id", type_=SqlUuid()),
            )
        )
    if exclude:
        conditions.append(slots.c.slot_id != func.all(bindparam("exclude", type_=ARRAY(SqlUuid()))))
    statement = (
        select(*_PAGE_COLUMNS)
        .where(*conditions)
        .order_by(slots.c.starts_at, slots.c.slot_id)
        .limit(bindparam("limit"))
    )
    _BOOKABLE[key] = statement
    return statement


_FOR_HOLD = text(
    """
    SELECT s.slot_id, s.schedule_id, s.facility_id, s.specialty_code, s.starts_at,
           s.ends_at, s.urgent_until, s.open, s.free_places,
           coalesce(mine.statuses, '{}') AS mine_statuses,
           coalesce(mine.specialties, '{}') AS mine_specialties,
           coalesce(mine.ends, '{}') AS mine_ends,
           coalesce(nf.ids, '{}') AS next_ids,
           coalesce(nf.starts, '{}') AS next_starts,
           coalesce(nf.ends, '{}') AS next_ends
    FROM slots s
    LEFT JOIN LATERAL (
        SELECT array_agg(b.status::text) AS statuses,
               array_agg(b.specialty_code::text) AS specialties,
               array_agg(bs.ends_at) AS ends
        FROM bookings b JOIN slots bs ON bs.slot_id = b.slot_id
        WHERE b.patient_key = :patient AND b.status IN ('held', 'booked')
    ) mine ON true
    LEFT JOIN LATERAL (
        SELECT array_agg(n.slot_id) AS ids, array_agg(n.starts_at) AS starts,
               array_agg(n.ends_at) AS ends
        FROM (
            SELECT n.slot_id, n.starts_at, n.ends_at FROM slots n
            WHERE s.free_places <= 0
              AND n.facility_id = s.facility_id AND n.specialty_code = s.specialty_code
              AND n.open AND n.free_places > 0 AND n.slot_id <> s.slot_id
              AND n.starts_at > :now
              AND n.starts_at < :offer_until
              AND (n.urgent_until IS NULL OR n.urgent_until <= :now)
            ORDER BY n.starts_at, n.slot_id
            LIMIT :offer_count
        ) n
    ) nf ON true
    WHERE s.slot_id = :slot_id
    """
).bindparams(
    bindparam("slot_id", type_=SqlUuid()),
    bindparam("patient", type_=String()),
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("offer_until", type_=DateTime(timezone=True)),
)


class SlotRepository(Repository):
    async def get(self, slot_id: UUID) -> dict[str, Any] | None:
        row = (
            (await self.session.execute(select(slots).where(slots.c.slot_id == slot_id)))
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    @staticmethod
    def ref(row: Mapping[str, Any]) -> SlotRef:
        return _slot_ref(row)

    async def bookable(
        self,
        *,
        specialty_code: str,
        now: datetime,
        until: datetime,
        facility_id: str | None = None,
        commune: str | None = None,
        urgent_allowed: bool = False,
        after: tuple[datetime, UUID] | None = None,
        exclude: Sequence[UUID] = (),
        limit: int = 20,
    ) -> list[dict[str, Any]]:
        """Open slots with a free place this caller may take, soonest first (keyset
        pagination on (starts_at, slot_id) after `after`): the columns a page shows, by a
        statement built once per shape (`_bookable_statement`)."""
        statement = _bookable_statement(
            facility=facility_id is not None,
            commune=commune is not None,
            urgent_allowed=urgent_allowed,
            after=after is not None,
            exclude=bool(exclude),
        )
        parameters: dict[str, Any] = {
            "specialty": specialty_code,
            "now": now,
            "until": until,
            "limit": limit,
        }
        if facility_id is not None:
            parameters["facility"] = facility_id
        if commune is not None:
            parameters["commune"] = commune
        if after is not None:
            parameters["after_start"], parameters["after_id"] = after
        if exclude:
            parameters["exclude"] = list(exclude)
        rows = await self.session.execute(statement, parameters)
        return [dict(row) for row in rows.mappings()]

    async def for_hold(
        self,
        slot_id: UUID,
        patient_key: str,
        now: datetime,
        *,
        offer_until: datetime,
        offer_count: int,
    ) -> dict[str, Any] | None:
        """A slot and, in the same statement, what a hold of it needs to know: the
        patient's active bookings (status, specialty, end of their slot) and, only when the
        slot has no free place left, the first `offer_count` free slots of its specialty at
        its establishment before `offer_until`, urgent ones left out (`next_*`, empty
        otherwise: PostgreSQL skips that scan for a slot with a place)."""
        row = (
            (
                await self.session.execute(
                    _FOR_HOLD,
                    {
                        "slot_id": slot_id,
                        "patient": patient_key,
                        "now": now,
                        "offer_until": offer_until,
                        "offer_count": offer_count,
                    },
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    async def of_schedule_days(
        self, schedule_id: UUID, days: Iterable[date]
    ) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(slots)
            .where(slots.c.schedule_id == schedule_id, slots.c.day.in_(list(days)), slots.c.open)
            .order_by(slots.c.starts_at)
        )
        return [dict(row) for row in rows.mappings()]

    async def of_schedule_after(self, schedule_id: UUID, day: date) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(slots)
            .where(slots.c.schedule_id == schedule_id, slots.c.day > day, slots.c.open)
            .order_by(slots.c.starts_at)
        )
        return [dict(row) for row in rows.mappings()]

    async def of_schedule_from(self, schedule_id: UUID, now: datetime) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(slots)
            .where(slots.c.schedule_id == schedule_id, slots.c.starts_at > now, slots.c.open)
            .order_by(slots.c.starts_at)
        )
        return [dict(row) for row in rows.mappings()]

    async def of_practitioner_day(
        self, facility_id: str, practitioner_ref: str, day: date
    ) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(slots)
            .where(
                slots.c.facility_id == facility_id,
                slots.c.practitioner_ref == practitioner_ref,
                slots.c.day == day,
                slots.c.open,
            )
            .order_by(slots.c.starts_at)
        )
        return [dict(row) for row in rows.mappings()]

    async def close(self, slot_ids: Sequence[UUID]) -> None:
        if slot_ids:
            await self.session.execute(
                update(slots).where(slots.c.slot_id.in_(list(slot_ids))).values(open=False)
            )

    async def set_capacity(self, slot_ids: Sequence[UUID], capacity: int) -> None:
        """The free places follow the capacity; the slot's CHECK refuses a capacity below
        the places already taken."""
        if slot_ids:
            await self.session.execute(
                update(slots)
                .where(slots.c.slot_id.in_(list(slot_ids)))
                .values(
                    free_places=slots.c.free_places + (capacity - slots.c.capacity),
                    capacity=capacity,
                )
            )

    async def places_by_day(self, schedule_id: UUID) -> dict[date, tuple[int, int]]:
        """Open slots and places per day of a schedule."""
        rows = await self.session.execute(
            select(slots.c.day, func.count(), func.sum(slots.c.capacity))
            .where(slots.c.schedule_id == schedule_id, slots.c.open)
            .group_by(slots.c.day)
        )
        return {row[0]: (int(row[1]), int(row[2])) for row in rows}


# -- bookings --------------------------------------------------------------------------

_BOOKING_SLOT = select(
    bookings,
    slots.c.schedule_id,
    slots.c.starts_at,
    slots.c.ends_at,
    slots.c.urgent_until,
).join(slots, slots.c.slot_id == bookings.c.slot_id)


def _booking(row: Mapping[str, Any]) -> Booking:
    return Booking(
        booking_id=row["booking_id"],
        booking_code=row["booking_code"],
        patient_key=row["patient_key"],
        slot=SlotRef(
            slot_id=row["slot_id"],
            schedule_id=row["schedule_id"],
            facility_id=row["facility_id"],
            specialty_code=row["specialty_code"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            urgent_until=row["urgent_until"],
        ),
        status=BookingStatus(row["status"]),
        channel=BookingChannel(row["channel"]),
        held_at=row["held_at"],
        hold_expires_at=row["hold_expires_at"],
        booked_at=row["booked_at"],
        cancelled_at=row["cancelled_at"],
        cancelled_by=Actor(row["cancelled_by"]) if row["cancelled_by"] else None,
        cancel_reason=row["cancel_reason"],
        arrived_at=row["arrived_at"],
        ticket_id=row["ticket_id"],
        no_show_at=row["no_show_at"],
        referral_id=row["referral_id"],
        urgent=row["urgent"],
        waitlist_entry_id=row["waitlist_entry_id"],
        language=row["language"],
        age_band=AgeBand(row["age_band"]) if row["age_band"] else None,
        sex=Sex(row["sex"]) if row["sex"] else None,
        one_per_specialty=row["one_per_specialty"],
        version=row["version"],
    )


def _booking_values(booking: Booking) -> dict[str, Any]:
    return {
        "slot_id": booking.slot.slot_id,
        "status": booking.status.value,
        "holds_place": booking.status.holds_place,
        "hold_expires_at": booking.hold_expires_at,
        "booked_at": booking.booked_at,
        "cancelled_at": booking.cancelled_at,
        "cancelled_by": booking.cancelled_by.value if booking.cancelled_by else None,
        "cancel_reason": booking.cancel_reason,
        "arrived_at": booking.arrived_at,
        "ticket_id": booking.ticket_id,
        "no_show_at": booking.no_show_at,
        "referral_id": booking.referral_id,
        "waitlist_entry_id": booking.waitlist_entry_id,
        "version": booking.version + len(booking.events),
    }


def _new_booking_values(booking: Booking) -> dict[str, Any]:
    return {
        "booking_id": booking.booking_id,
        "booking_code": booking.booking_code,
        "patient_key": booking.patient_key,
        "facility_id": booking.facility_id,
        "specialty_code": booking.specialty_code,
        "one_per_specialty": booking.one_per_specialty,
        "channel": booking.channel.value,
        "held_at": booking.held_at,
        "urgent": booking.urgent,
        "language": booking.language,
        "age_band": booking.age_band.value if booking.age_band else None,
        "sex": booking.sex.value if booking.sex else None,
        **_booking_values(booking),
    }


#: The statements of a request's path, built once with named parameters: SQLAlchemy
#: compiles each once and a call binds its values. A statement built per call with its
#: values in it (`.where(column == value)`, `.values(**row)`) costs its construction and
#: its cache key on every call (SQLAlchemy's "caching" documentation), a fifth of a
#: confirmation's CPU when they were.
_BOOKING_BY_ID = _BOOKING_SLOT.where(bookings.c.booking_id == bindparam("p_booking_id"))
_BOOKING_BY_ID_LOCKED = _BOOKING_BY_ID.with_for_update(of=bookings)
_BOOKING_BY_CODE = _BOOKING_SLOT.where(bookings.c.booking_code == bindparam("p_booking_code"))
_BOOKING_BY_CODE_LOCKED = _BOOKING_BY_CODE.with_for_update(of=bookings)
#: the columns `save` writes (`_booking_values`) and the ones only a new booking has; a
#: value missing from a call's parameters is an error of SQLAlchemy's, not a NULL
_BOOKING_CHANGES = (
    "slot_id", "status", "holds_place", "hold_expires_at", "booked_at", "cancelled_at",
    "cancelled_by", "cancel_reason", "arrived_at", "ticket_id", "no_show_at", "referral_id",
    "waitlist_entry_id", "version",
)  # fmt: skip
_NEW_BOOKING_COLUMNS = (
    "booking_id", "booking_code", "patient_key", "facility_id", "specialty_code",
    "one_per_specialty", "channel", "held_at", "urgent", "language", "age_band", "sex",
    *_BOOKING_CHANGES,
)  # fmt: skip
_INSERT_BOOKING = insert(bookings).values(
    {column: bindparam(column) for column in _NEW_BOOKING_COLUMNS}
)
_HELD = _INSERT_BOOKING.returning(bookings.c.booking_id, bookings.c.hold_expires_at).cte("held")
#: a hold and its expiry timer in one statement (`add_hold`)
_INSERT_HOLD = insert(timers).from_select(
    ["kind", "subject_id", "due_at", "payload", "attempts"],
    select(
        bindparam("p_timer_kind", type_=String()),
        _HELD.c.booking_id,
        _HELD.c.hold_expires_at,
        literal({}, JSONB()),
        literal(0),
    ),
)
_UPDATE_BOOKING = (
    update(bookings)
    .where(bookings.c.booking_id == bindparam("p_booking_id"))
    .values({column: bindparam(column) for column in _BOOKING_CHANGES})
)


class BookingRepository(Repository):
    async def add(self, booking: Booking) -> None:
        """Insert a new hold: the trigger takes its place (IntegrityError on
        `SLOT_FULL` when none is left, `ONE_ACTIVE_PER_SPECIALTY` for a second one)."""
        await self.session.execute(_INSERT_BOOKING, _new_booking_values(booking))
        self.track(booking)

    async def add_hold(self, booking: Booking, timer_kind: str) -> None:
        """Insert a new hold and its expiry timer in one statement (one round trip, so the
        slot's row, locked by the place the trigger takes, is held for less time); the
        same refusals as `add`."""
        await self.session.execute(
            _INSERT_HOLD, {**_new_booking_values(booking), "p_timer_kind": timer_kind}
        )
        self.track(booking)

    async def get(self, booking_id: UUID, *, for_update: bool = False) -> Booking | None:
        statement = _BOOKING_BY_ID_LOCKED if for_update else _BOOKING_BY_ID
        row = (
            (await self.session.execute(statement, {"p_booking_id": booking_id})).mappings().first()
        )
        return self.track(_booking(row)) if row is not None else None

    async def by_code(self, booking_code: str, *, for_update: bool = False) -> Booking | None:
        statement = _BOOKING_BY_CODE_LOCKED if for_update else _BOOKING_BY_CODE
        found = await self.session.execute(statement, {"p_booking_code": booking_code})
        row = found.mappings().first()
        return self.track(_booking(row)) if row is not None else None

    async def save(self, booking: Booking) -> None:
        await self.session.execute(
            _UPDATE_BOOKING, {"p_booking_id": booking.booking_id, **_booking_values(booking)}
        )
        self.track(booking)

    async def holds_in_specialty(self, patient_key: str, specialty_code: str) -> list[Booking]:
        rows = await self.session.execute(
            _BOOKING_SLOT.where(
                bookings.c.patient_key == patient_key,
                bookings.c.specialty_code == specialty_code,
                bookings.c.status == BookingStatus.HELD.value,
            ).with_for_update(of=bookings)
        )
        return [self.track(_booking(row)) for row in rows.mappings()]

    async def active_of(self, patient_key: str) -> list[Booking]:
        rows = await self.session.execute(
            _BOOKING_SLOT.where(
                bookings.c.patient_key == patient_key,
                bookings.c.status.in_([BookingStatus.HELD.value, BookingStatus.BOOKED.value]),
            )
        )
        return [_booking(row) for row in rows.mappings()]

    async def of_patient(self, patient_key: str, *, limit: int = 50) -> list[Booking]:
        rows = await self.session.execute(
            _BOOKING_SLOT.where(bookings.c.patient_key == patient_key)
            .order_by(slots.c.starts_at.desc())
            .limit(limit)
        )
        return [_booking(row) for row in rows.mappings()]

    async def in_slots(self, slot_ids: Sequence[UUID], *, for_update: bool = True) -> list[Booking]:
        """The bookings that hold a place in these slots."""
        if not slot_ids:
            return []
        statement = _BOOKING_SLOT.where(
            bookings.c.slot_id.in_(list(slot_ids)), bookings.c.holds_place
        ).order_by(slots.c.starts_at)
        if for_update:
            statement = statement.with_for_update(of=bookings)
        rows = await self.session.execute(statement)
        return [self.track(_booking(row)) for row in rows.mappings()]


# -- referrals ---------------------------------------------------------------------------


class ReferralRepository(Repository):
    async def add(self, referral: Referral) -> None:
        await self.session.execute(
            insert(referrals).values(
                referral_id=referral.referral_id,
                code=referral.code,
                facility_id=referral.facility_id,
                specialty_code=referral.specialty_code,
                patient_key=referral.patient_key,
                urgent=referral.urgent,
                issued_at=referral.issued_at,
                expires_at=referral.expires_at,
            )
        )

    async def by_code(self, code: str) -> Referral | None:
        row = (
            (
                await self.session.execute(
                    select(referrals).where(referrals.c.code == code).with_for_update()
                )
            )
            .mappings()
            .first()
        )
        return Referral(**dict(row)) if row is not None else None

    async def get(self, referral_id: UUID) -> Referral | None:
        row = (
            (
                await self.session.execute(
                    select(referrals).where(referrals.c.referral_id == referral_id)
                )
            )
            .mappings()
            .first()
        )
        return Referral(**dict(row)) if row is not None else None

    async def save(self, referral: Referral) -> None:
        await self.session.execute(
            update(referrals)
            .where(referrals.c.referral_id == referral.referral_id)
            .values(used_at=referral.used_at, booking_id=referral.booking_id)
        )


# -- waitlist ----------------------------------------------------------------------------


def _entry(row: Mapping[str, Any]) -> WaitlistEntry:
    values = dict(row)
    values["status"] = EntryStatus(values["status"])
    return WaitlistEntry(**values)


def _entry_values(entry: WaitlistEntry) -> dict[str, Any]:
    return {
        "status": entry.status.value,
        "offer_booking_id": entry.offer_booking_id,
        "offer_expires_at": entry.offer_expires_at,
        "version": entry.version + len(entry.events),
    }


class WaitlistRepository(Repository):
    async def add(self, entry: WaitlistEntry) -> None:
        await self.session.execute(
            insert(waitlist_entries).values(
                entry_id=entry.entry_id,
                patient_key=entry.patient_key,
                facility_id=entry.facility_id,
                specialty_code=entry.specialty_code,
                first_day=entry.first_day,
                last_day=entry.last_day,
                joined_at=entry.joined_at,
                language=entry.language,
                referral_id=entry.referral_id,
                **_entry_values(entry),
            )
        )
        self.track(entry)

    async def get(self, entry_id: UUID, *, for_update: bool = False) -> WaitlistEntry | None:
        statement = select(waitlist_entries).where(waitlist_entries.c.entry_id == entry_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).mappings().first()
        return self.track(_entry(row)) if row is not None else None

    async def save(self, entry: WaitlistEntry) -> None:
        await self.session.execute(
            update(waitlist_entries)
            .where(waitlist_entries.c.entry_id == entry.entry_id)
            .values(**_entry_values(entry))
        )
        self.track(entry)

    async def next_for(
        self, facility_id: str, specialty_code: str, day: date
    ) -> WaitlistEntry | None:
        """The first waiting entry whose days include `day`, locked (another transaction
        offering a place at the same moment skips it and takes the next)."""
        row = (
            (
                await self.session.execute(
                    select(waitlist_entries)
                    .where(
                        waitlist_entries.c.facility_id == facility_id,
                        waitlist_entries.c.specialty_code == specialty_code,
                        waitlist_entries.c.status == EntryStatus.WAITING.value,
                        waitlist_entries.c.first_day <= day,
                        waitlist_entries.c.last_day >= day,
                    )
                    .order_by(waitlist_entries.c.joined_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            )
            .mappings()
            .first()
        )
        return self.track(_entry(row)) if row is not None else None

    async def waiting_queues(self) -> list[tuple[str, str]]:
        """(establishment, specialty) of every waitlist with someone waiting."""
        rows = await self.session.execute(
            select(waitlist_entries.c.facility_id, waitlist_entries.c.specialty_code)
            .where(waitlist_entries.c.status == EntryStatus.WAITING.value)
            .distinct()
        )
        return [(row[0], row[1]) for row in rows]

    async def waiting(
        self, facility_id: str, specialty_code: str, limit: int
    ) -> list[WaitlistEntry]:
        """The first waiting entries, locked; entries another transaction is serving are
        skipped (it offers them a place)."""
        rows = await self.session.execute(
            select(waitlist_entries)
            .where(
                waitlist_entries.c.facility_id == facility_id,
                waitlist_entries.c.specialty_code == specialty_code,
                waitlist_entries.c.status == EntryStatus.WAITING.value,
            )
            .order_by(waitlist_entries.c.joined_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [self.track(_entry(row)) for row in rows.mappings()]

    async def of_patient(self, patient_key: str) -> list[WaitlistEntry]:
        rows = await self.session.execute(
            select(waitlist_entries)
            .where(waitlist_entries.c.patient_key == patient_key)
            .order_by(waitlist_entries.c.joined_at.desc())
            .limit(50)
        )
        return [_entry(row) for row in rows.mappings()]


# -- timers ------------------------------------------------------------------------------


class TimerKind:
    HOLD_EXPIRY = "hold_expiry"
    NO_SHOW = "no_show"
    REMINDER = "reminder"
    URGENT_RELEASE = "urgent_release"


#: timers added in one statement whatever their number: the rows as arrays, unnested
#: (a multi-row VALUES has no cache key in SQLAlchemy, so it was compiled again on every
#: call: 14 % of a confirmation's CPU; its executemany path ran one statement per row)
_TIMER_ROWS = """
    INSERT INTO timers (kind, subject_id, due_at, payload, attempts)
    SELECT t.kind, t.subject_id, t.due_at, t.payload::jsonb, 0
    FROM unnest(:kinds, :subjects, :dues, :payloads) AS t(kind, subject_id, due_at, payload)
"""
_TIMER_ARRAYS = (
    bindparam("kinds", type_=ARRAY(String())),
    bindparam("subjects", type_=ARRAY(SqlUuid())),
    bindparam("dues", type_=ARRAY(DateTime(timezone=True))),
    bindparam("payloads", type_=ARRAY(Text())),
)
_INSERT_TIMERS = text(_TIMER_ROWS).bindparams(*_TIMER_ARRAYS)
#: … and, first, the subject's timers of some kinds cancelled, in the same statement (a
#: data-modifying CTE: both see the statement's snapshot, so rows added are never the
#: ones cancelled)
_REPLACE_TIMERS = text(
    "WITH gone AS (DELETE FROM timers WHERE subject_id = :subject AND kind = ANY(:cancel))"
    + _TIMER_ROWS
).bindparams(
    *_TIMER_ARRAYS,
    bindparam("subject", type_=SqlUuid()),
    bindparam("cancel", type_=ARRAY(String())),
)


def _timer_arrays(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    return {
        "kinds": [row["kind"] for row in rows],
        "subjects": [row["subject_id"] for row in rows],
        "dues": [row["due_at"] for row in rows],
        "payloads": [json.dumps(row.get("payload") or {}) for row in rows],
    }


#: built once (see `_BOOKING_BY_ID`): the most overdue timer nobody holds; one done
_CLAIM_TIMER = (
    select(timers)
    .where(timers.c.due_at <= bindparam("p_now", type_=DateTime(timezone=True)))
    .order_by(timers.c.due_at)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_TIMER_DONE = delete(timers).where(timers.c.timer_id == bindparam("p_timer_id"))


class TimerRepository(Repository):
    async def add(
        self, kind: str, subject_id: UUID, due_at: datetime, payload: dict[str, Any] | None = None
    ) -> None:
        await self.session.execute(
            insert(timers).values(
                kind=kind, subject_id=subject_id, due_at=due_at, payload=payload or {}, attempts=0
            )
        )

    async def add_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(_INSERT_TIMERS, _timer_arrays(rows))

    async def replace(
        self, subject_id: UUID, kinds: Sequence[str], rows: list[dict[str, Any]]
    ) -> None:
        """Cancel the subject's timers of `kinds` and add `rows`, in one statement."""
        await self.session.execute(
            _REPLACE_TIMERS, {"subject": subject_id, "cancel": list(kinds), **_timer_arrays(rows)}
        )

    async def cancel(self, subject_id: UUID, *kinds: str) -> None:
        await self.session.execute(
            delete(timers).where(timers.c.subject_id == subject_id, timers.c.kind.in_(kinds))
        )

    async def claim_due(self, now: datetime) -> dict[str, Any] | None:
        """The most overdue timer nobody else holds, locked until this transaction ends."""
        row = (await self.session.execute(_CLAIM_TIMER, {"p_now": now})).mappings().first()
        return dict(row) if row is not None else None

    async def done(self, timer_id: int) -> None:
        await self.session.execute(_TIMER_DONE, {"p_timer_id": timer_id})

    async def postpone(self, timer_id: int, due_at: datetime, error: str) -> None:
        await self.session.execute(
            update(timers)
            .where(timers.c.timer_id == timer_id)
            .values(due_at=due_at, attempts=timers.c.attempts + 1, last_error=error[:500])
        )

    async def pending(self, subject_id: UUID) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(timers).where(timers.c.subject_id == subject_id).order_by(timers.c.due_at)
        )
        return [dict(row) for row in rows.mappings()]


# -- citizens, sign-in and notifications ---------------------------------------------------


class CitizenRepository(Repository):
    async def get(self, patient_key: str) -> dict[str, Any] | None:
        row = (
            (
                await self.session.execute(
                    select(citizens).where(citizens.c.patient_key == patient_key)
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    async def bind_phone(
        self, patient_key: str, ciphertext: bytes, index: bytes, language: str, now: datetime
    ) -> None:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(citizens).values(
            patient_key=patient_key,
            phone_ciphertext=ciphertext,
            phone_index=index,
            language=language,
            created_at=now,
            updated_at=now,
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[citizens.c.patient_key],
                set_={
                    "phone_ciphertext": statement.excluded.phone_ciphertext,
                    "phone_index": statement.excluded.phone_index,
                    "language": statement.excluded.language,
                    "updated_at": now,
                },
            )
        )

    async def set_language(self, patient_key: str, language: str, now: datetime) -> None:
        await self.session.execute(
            update(citizens)
            .where(citizens.c.patient_key == patient_key)
            .values(language=language, updated_at=now)
        )


class ChallengeRepository(Repository):
    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(sign_in_challenges).values(attempts=0, **values))

    async def get(self, challenge_id: UUID) -> dict[str, Any] | None:
        row = (
            (
                await self.session.execute(
                    select(sign_in_challenges)
                    .where(sign_in_challenges.c.challenge_id == challenge_id)
                    .with_for_update()
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    async def count_attempt(self, challenge_id: UUID) -> None:
        await self.session.execute(
            update(sign_in_challenges)
            .where(sign_in_challenges.c.challenge_id == challenge_id)
            .values(attempts=sign_in_challenges.c.attempts + 1)
        )

    async def verified(self, challenge_id: UUID, now: datetime) -> None:
        await self.session.execute(
            update(sign_in_challenges)
            .where(sign_in_challenges.c.challenge_id == challenge_id)
            .values(verified_at=now)
        )

    async def recent(self, patient_key: str, since: datetime) -> int:
        value = await self.session.scalar(
            select(func.count())
            .select_from(sign_in_challenges)
            .where(
                sign_in_challenges.c.patient_key == patient_key,
                sign_in_challenges.c.created_at >= since,
            )
        )
        return int(value or 0)


#: built once (see `_BOOKING_BY_ID`): a message queued, a message's delivery settled
_INSERT_NOTIFICATION = insert(notifications)
_SETTLED = (
    "status", "attempts", "gateway_message_id", "gateway_status", "last_error",
    "next_attempt_at", "sent_at",
)  # fmt: skip
_SETTLE_NOTIFICATION = (
    update(notifications)
    .where(notifications.c.notification_id == bindparam("p_notification_id"))
    .values({column: bindparam(column) for column in _SETTLED})
)


class NotificationRepository(Repository):
    async def add(
        self,
        notification: Notification,
        now: datetime,
        *,
        phone_ciphertext: bytes | None = None,
        not_before: datetime | None = None,
    ) -> None:
        await self.session.execute(
            _INSERT_NOTIFICATION,
            {
                "notification_id": notification.notification_id,
                "patient_key": notification.patient_key,
                "template": notification.template.value,
                "language": notification.language,
                "params": notification.params,
                "booking_id": notification.booking_id,
                "waitlist_entry_id": notification.waitlist_entry_id,
                "facility_id": notification.facility_id,
                "phone_ciphertext": phone_ciphertext,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": not_before or now,
                "created_at": now,
            },
        )
        self.track(notification)

    async def claim_due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(notifications, citizens.c.phone_ciphertext.label("citizen_phone"))
            .outerjoin(citizens, citizens.c.patient_key == notifications.c.patient_key)
            .where(
                notifications.c.status == DeliveryStatus.PENDING.value,
                notifications.c.next_attempt_at <= now,
            )
            .order_by(notifications.c.next_attempt_at)
            .limit(limit)
            .with_for_update(of=notifications, skip_locked=True)
        )
        return [dict(row) for row in rows.mappings()]

    async def settle(
        self,
        notification_id: UUID,
        *,
        status: DeliveryStatus,
        now: datetime,
        attempts: int,
        gateway_message_id: str | None = None,
        gateway_status: str | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        await self.session.execute(
            _SETTLE_NOTIFICATION,
            {
                "p_notification_id": notification_id,
                "status": status.value,
                "attempts": attempts,
                "gateway_message_id": gateway_message_id,
                "gateway_status": gateway_status,
                "last_error": error[:500] if error else None,
                "next_attempt_at": retry_at or now,
                "sent_at": now if status is DeliveryStatus.SENT else None,
            },
        )

    async def of_booking(self, booking_id: UUID) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(
                notifications.c.template,
                notifications.c.status,
                notifications.c.attempts,
                notifications.c.next_attempt_at,
                notifications.c.sent_at,
            )
            .where(notifications.c.booking_id == booking_id)
            .order_by(notifications.c.created_at)
        )
        return [dict(row) for row in rows.mappings()]

    async def skip_pending_reminders(self, booking_id: UUID) -> None:
        await self.session.execute(
            update(notifications)
            .where(
                notifications.c.booking_id == booking_id,
                notifications.c.template == Template.REMINDER.value,
                notifications.c.status == DeliveryStatus.PENDING.value,
            )
            .values(status=DeliveryStatus.SKIPPED.value)
        )


__all__ = [
    "BookingRepository",
    "ChallengeRepository",
    "CitizenRepository",
    "ClinicQueries",
    "NotificationRepository",
    "ReferralRepository",
    "ScheduleRepository",
    "SlotRepository",
    "TimerKind",
    "TimerRepository",
    "WaitlistRepository",
    "violated_constraint",
]


# -- read models for the clinic and for reconciliation ----------------------------------------

_LOCAL = "Africa/Algiers"


def _local_day(column: Any) -> Any:
    return func.date(func.timezone(_LOCAL, column))


class ClinicQueries(Repository):
    async def day_view(self, facility_id: str, day: date) -> list[dict[str, Any]]:
        """Every slot of the day at the establishment with the bookings holding its places."""
        rows = await self.session.execute(
            select(
                slots.c.slot_id,
                slots.c.schedule_id,
                slots.c.specialty_code,
                slots.c.practitioner_ref,
                slots.c.room,
                slots.c.starts_at,
                slots.c.ends_at,
                slots.c.capacity,
                slots.c.free_places,
                slots.c.urgent_until,
                slots.c.open,
                bookings.c.booking_id,
                bookings.c.booking_code,
                bookings.c.status,
                bookings.c.arrived_at,
                bookings.c.no_show_at,
                bookings.c.channel,
            )
            .outerjoin(
                bookings, and_(bookings.c.slot_id == slots.c.slot_id, bookings.c.holds_place)
            )
            .where(slots.c.facility_id == facility_id, slots.c.day == day)
            .order_by(slots.c.starts_at, slots.c.practitioner_ref, bookings.c.booked_at)
        )
        return [dict(row) for row in rows.mappings()]

    async def no_show_rates(
        self, facility_id: str, first: date, last: date
    ) -> list[dict[str, Any]]:
        """Per specialty, over the slots of these days already past: bookings honoured and
        missed."""
        rows = await self.session.execute(
            select(
                bookings.c.specialty_code,
                func.count().filter(bookings.c.status == BookingStatus.ARRIVED.value),
                func.count().filter(bookings.c.status == BookingStatus.NO_SHOW.value),
            )
            .join(slots, slots.c.slot_id == bookings.c.slot_id)
            .where(
                bookings.c.facility_id == facility_id,
                slots.c.day >= first,
                slots.c.day <= last,
                bookings.c.status.in_([BookingStatus.ARRIVED.value, BookingStatus.NO_SHOW.value]),
            )
            .group_by(bookings.c.specialty_code)
            .order_by(bookings.c.specialty_code)
        )
        return [
            {"specialty_code": row[0], "arrived": int(row[1]), "no_shows": int(row[2])}
            for row in rows
        ]

    async def counts(self, first: date, last: date) -> dict[tuple[str, date], dict[str, int]]:
        """Per establishment and Algiers day of what happened: bookings made, cancelled,
        honoured, missed; and places offered per day of the slots (open slots)."""
        counts: dict[tuple[str, date], dict[str, int]] = {}

        async def add(metric: str, column: Any, *conditions: Any) -> None:
            day = _local_day(column)
            rows = await self.session.execute(
                select(bookings.c.facility_id, day, func.count())
                .where(column.is_not(None), day >= first, day <= last, *conditions)
                .group_by(bookings.c.facility_id, day)
            )
            for facility_id, on, count in rows:
                counts.setdefault((facility_id, on), {})[metric] = int(count)

        await add("booked", bookings.c.booked_at)
        await add("cancelled", bookings.c.cancelled_at)
        await add("arrived", bookings.c.arrived_at)
        await add("no_shows", bookings.c.no_show_at)
        rows = await self.session.execute(
            select(slots.c.facility_id, slots.c.day, func.sum(slots.c.capacity))
            .where(slots.c.open, slots.c.day >= first, slots.c.day <= last)
            .group_by(slots.c.facility_id, slots.c.day)
        )
        for facility_id, on, places in rows:
            counts.setdefault((facility_id, on), {})["places_offered"] = int(places)
        return counts
