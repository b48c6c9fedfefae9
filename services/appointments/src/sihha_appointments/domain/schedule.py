"""A specialist's weekly schedule and the slots it opens.

A scheduler publishes, for one practitioner of one specialty at one establishment,
weekly periods (weekday, start and end in Africa/Algiers), a slot length, the patients
seen per slot and an effective period of local days. Every day of the period whose
weekday has periods opens slots, except Algeria's public holidays (`HolidayCalendar`)
and the schedule's own exceptions (leave, a closed day). A share of each day's slots is
kept for urgent referrals until `BookingRules.urgent_release` before the day.

Pure domain: the slots are plans; the repository writes them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from sihha_appointments.domain.calendar import HolidayCalendar
from sihha_appointments.domain.errors import InvalidSchedule, SlotLengthZero
from sihha_appointments.domain.rules import BookingRules
from sihha_contracts.events.appointments import SchedulePublishedV1
from sihha_kit.clock import ALGIERS
from sihha_kit.domain import Aggregate

#: weekday names in `date.weekday()` order
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: a schedule covers at most this many days
MAX_PERIOD_DAYS = 366


class ExceptionKind(StrEnum):
    LEAVE = "leave"  # the practitioner is away
    CLOSED = "closed"  # the clinic is closed that day (an announced holiday shift, works…)


@dataclass(frozen=True)
class WeeklyPeriod:
    weekday: str  # one of WEEKDAYS
    starts: time
    ends: time

    @property
    def weekday_index(self) -> int:
        return WEEKDAYS.index(self.weekday)

    def overlaps(self, other: WeeklyPeriod) -> bool:
        return (
            self.weekday == other.weekday and self.starts < other.ends and other.starts < self.ends
        )


@dataclass(frozen=True)
class SlotPlan:
    """A slot the schedule opens: instants in UTC, `day` the Algiers day."""

    slot_id: UUID
    starts_at: datetime
    ends_at: datetime
    day: date
    capacity: int
    #: until this instant only urgent referrals may take the slot (None: open to all)
    urgent_until: datetime | None = None


def local_instant(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=ALGIERS)


def days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@dataclass(kw_only=True)
class Schedule(Aggregate):
    schedule_id: UUID
    facility_id: str
    specialty_code: str
    practitioner_ref: str
    room: str
    periods: tuple[WeeklyPeriod, ...]
    slot_minutes: int
    places_per_slot: int
    effective_from: date
    effective_to: date
    #: day → kind of exception (leave, closed)
    exceptions: dict[date, ExceptionKind] = field(default_factory=dict)
    published_at: datetime | None = None

    # -- rules ---------------------------------------------------------------

    @classmethod
    def check(
        cls,
        *,
        periods: Iterable[WeeklyPeriod],
        slot_minutes: int,
        places_per_slot: int,
        effective_from: date,
        effective_to: date,
        today: date,
    ) -> tuple[WeeklyPeriod, ...]:
        """The periods, sorted, if the schedule can open slots; else the problem."""
        if slot_minutes <= 0:
            raise SlotLengthZero()
        if places_per_slot <= 0:
            raise InvalidSchedule("places-per-slot")
        ordered = tuple(sorted(periods, key=lambda p: (p.weekday_index, p.starts)))
        if not ordered:
            raise InvalidSchedule("no-periods")
        for period in ordered:
            if period.weekday not in WEEKDAYS:
                raise InvalidSchedule("weekday", weekday=period.weekday)
            length = (
                datetime.combine(date.min, period.ends) - datetime.combine(date.min, period.starts)
            ).total_seconds() / 60
            if length < slot_minutes:
                raise InvalidSchedule("period-shorter-than-slot", weekday=period.weekday)
        for first, second in itertools.pairwise(ordered):
            if first.overlaps(second):
                raise InvalidSchedule("periods-overlap", weekday=first.weekday)
        if effective_to < effective_from:
            raise InvalidSchedule("period-reversed")
        if effective_from < today:
            raise InvalidSchedule("period-in-past")
        if (effective_to - effective_from).days + 1 > MAX_PERIOD_DAYS:
            raise InvalidSchedule("period-too-long", max_days=MAX_PERIOD_DAYS)
        return ordered

    @classmethod
    def publish(
        cls,
        *,
        facility_id: str,
        specialty_code: str,
        practitioner_ref: str,
        room: str,
        periods: Iterable[WeeklyPeriod],
        slot_minutes: int,
        places_per_slot: int,
        effective_from: date,
        effective_to: date,
        exceptions: dict[date, ExceptionKind] | None = None,
        at: datetime,
        schedule_id: UUID | None = None,
    ) -> Schedule:
        ordered = cls.check(
            periods=periods,
            slot_minutes=slot_minutes,
            places_per_slot=places_per_slot,
            effective_from=effective_from,
            effective_to=effective_to,
            today=at.astimezone(ALGIERS).date(),
        )
        return cls(
            schedule_id=schedule_id or uuid4(),
            facility_id=facility_id,
            specialty_code=specialty_code,
            practitioner_ref=practitioner_ref,
            room=room,
            periods=ordered,
            slot_minutes=slot_minutes,
            places_per_slot=places_per_slot,
            effective_from=effective_from,
            effective_to=effective_to,
            exceptions=dict(exceptions or {}),
            published_at=at,
        )

    def record_published(
        self, *, slot_count: int, places_by_day: dict[date, int], at: datetime
    ) -> None:
        """`appointments.schedule.published`, for the first publication and every revision
        (a later sequence): what the schedule opens now, in slots and places per day."""
        self.record(
            SchedulePublishedV1(
                schedule_id=self.schedule_id,
                specialty_code=self.specialty_code,
                specialist_ref=self.practitioner_ref,
                first_day=self.effective_from,
                last_day=max(self.effective_to, self.effective_from),
                slot_count=slot_count,
                place_count=sum(places_by_day.values()),
                places_by_day=places_by_day,
            ),
            facility_id=self.facility_id,
            aggregate_id=str(self.schedule_id),
            at=at,
        )

    def overlaps(self, other: Schedule) -> bool:
        """Whether both schedules could put the same practitioner in two places at once."""
        if other.practitioner_ref != self.practitioner_ref:
            return False
        if other.effective_to < self.effective_from or self.effective_to < other.effective_from:
            return False
        return any(mine.overlaps(theirs) for mine in self.periods for theirs in other.periods)

    def open_on(self, day: date, calendar: HolidayCalendar) -> bool:
        return (
            self.effective_from <= day <= self.effective_to
            and day not in self.exceptions
            and not calendar.is_holiday(day)
        )

    # -- slots ---------------------------------------------------------------

    def slots_of_day(
        self, day: date, calendar: HolidayCalendar, rules: BookingRules
    ) -> list[SlotPlan]:
        """The slots the schedule opens on `day` (none on a holiday or an exception)."""
        if not self.open_on(day, calendar):
            return []
        weekday = WEEKDAYS[day.weekday()]
        step = timedelta(minutes=self.slot_minutes)
        starts: list[datetime] = []
        for period in self.periods:
            if period.weekday != weekday:
                continue
            start, end = local_instant(day, period.starts), local_instant(day, period.ends)
            while start + step <= end:
                starts.append(start)
                start += step
        urgent = urgent_positions(len(starts), rules.urgent_share_of(self.specialty_code))
        release = local_instant(day, time(0)) - rules.urgent_release
        return [
            SlotPlan(
                slot_id=uuid4(),
                starts_at=start,
                ends_at=start + step,
                day=day,
                capacity=self.places_per_slot,
                urgent_until=release if index in urgent else None,
            )
            for index, start in enumerate(starts)
        ]

    def slots(self, calendar: HolidayCalendar, rules: BookingRules) -> list[SlotPlan]:
        return [
            slot
            for day in days(self.effective_from, self.effective_to)
            for slot in self.slots_of_day(day, calendar, rules)
        ]


def places_by_day(plans: Iterable[SlotPlan]) -> dict[date, int]:
    places: dict[date, int] = {}
    for plan in plans:
        places[plan.day] = places.get(plan.day, 0) + plan.capacity
    return places


def urgent_positions(count: int, share: float) -> frozenset[int]:
    """Which of a day's `count` slots are kept for urgent referrals: `round(share × count)`
    of them, spread evenly over the day (the middle of each equal stretch)."""
    kept = min(count, max(0, math.floor(share * count + 0.5)))
    if kept == 0:
        return frozenset()
    return frozenset(int((index + 0.5) * count / kept) for index in range(kept))
