"""The pure rules: slots from a weekly schedule, holidays, urgent places, reminders in
Algiers time outside the quiet hours, booking transitions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from uuid import uuid4

import pytest

from sihha_appointments.domain.booking import Booking, BookingStatus, SlotRef
from sihha_appointments.domain.calendar import HolidayCalendar
from sihha_appointments.domain.errors import (
    CutoffPassed,
    HoldExpired,
    IllegalBookingTransition,
    InvalidSchedule,
    SlotLengthZero,
)
from sihha_appointments.domain.rules import BookingRules
from sihha_appointments.domain.schedule import (
    ExceptionKind,
    Schedule,
    WeeklyPeriod,
    urgent_positions,
)
from sihha_contracts.events.appointments import Actor
from sihha_kit.clock import ALGIERS

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ALGIERS)
CALENDAR = HolidayCalendar()


def schedule(**values: object) -> Schedule:
    arguments: dict[str, object] = {
        "facility_id": "31-PC-001",
        "specialty_code": "DERMA",
        "practitioner_ref": "dr-derma-01",
        "room": "B12",
        "periods": [WeeklyPeriod("sun", time(8, 30), time(12, 0))],
        "slot_minutes": 30,
        "places_per_slot": 2,
        "effective_from": date(2026, 12, 6),
        "effective_to": date(2026, 12, 31),
        "at": NOW,
    }
    arguments.update(values)
    return Schedule.publish(**arguments)  # type: ignore[arg-type]


def test_a_weekly_schedule_opens_its_slots_in_algiers_time() -> None:
    slots = schedule().slots(CALENDAR, BookingRules(default_urgent_share=0))
    assert len(slots) == 4 * 7  # four Sundays, 08:30–12:00 by 30 minutes
    first = slots[0]
    assert first.starts_at == datetime(2026, 12, 6, 8, 30, tzinfo=ALGIERS)
    assert first.starts_at.utcoffset() == timedelta(hours=1)
    assert first.ends_at - first.starts_at == timedelta(minutes=30)
    assert {s.capacity for s in slots} == {2}


def test_public_holidays_close_the_day_islamic_ones_included() -> None:
    # 1 November (Revolution Day) and Eid al-Fitr 1447 (20–22 March 2026 by the library's
    # Umm al-Qura tables: estimated) fall on schedule days: no slot opens on them
    assert CALENDAR.holiday(date(2026, 11, 1)) == ("Fête de la Révolution", "عيد الثورة")
    eid = CALENDAR.holiday(date(2026, 3, 20))
    assert eid is not None and "Aïd el-Fitr" in eid[0]
    every_day = [
        WeeklyPeriod(day, time(9), time(10))
        for day in ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
    ]
    plan = Schedule(
        schedule_id=uuid4(),
        facility_id="31-PC-001",
        specialty_code="DERMA",
        practitioner_ref="dr-x-0001",
        room="1",
        periods=tuple(every_day),
        slot_minutes=60,
        places_per_slot=1,
        effective_from=date(2026, 3, 18),
        effective_to=date(2026, 3, 24),
    )
    days = {slot.day for slot in plan.slots(CALENDAR, BookingRules())}
    assert days == {date(2026, 3, 18), date(2026, 3, 19), date(2026, 3, 23), date(2026, 3, 24)}


def test_an_exception_closes_its_day() -> None:
    closed = schedule(exceptions={date(2026, 12, 13): ExceptionKind.LEAVE})
    days = {s.day for s in closed.slots(CALENDAR, BookingRules())}
    assert date(2026, 12, 13) not in days and date(2026, 12, 20) in days


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"slot_minutes": 0}, SlotLengthZero),
        ({"places_per_slot": 0}, InvalidSchedule),
        ({"periods": []}, InvalidSchedule),
        ({"effective_from": date(2026, 11, 1)}, InvalidSchedule),
        ({"effective_to": date(2026, 12, 1)}, InvalidSchedule),
        ({"effective_to": date(2028, 1, 1)}, InvalidSchedule),
        (
            {
                "periods": [
                    WeeklyPeriod("sun", time(8), time(10)),
                    WeeklyPeriod("sun", time(9), time(11)),
                ]
            },
            InvalidSchedule,
        ),
        ({"periods": [WeeklyPeriod("sun", time(8), time(8, 20))]}, InvalidSchedule),
    ],
)
def test_a_schedule_that_cannot_open_slots_is_refused(
    values: dict[str, object], problem: type[Exception]
) -> None:
    with pytest.raises(problem):
        schedule(**values)


def test_schedules_of_one_practitioner_overlap_only_on_the_same_hours() -> None:
    morning = schedule()
    assert morning.overlaps(schedule(periods=[WeeklyPeriod("sun", time(11), time(13))]))
    assert not morning.overlaps(schedule(periods=[WeeklyPeriod("sun", time(12), time(13))]))
    assert not morning.overlaps(schedule(practitioner_ref="dr-other-01"))
    assert not morning.overlaps(
        schedule(effective_from=date(2027, 1, 3), effective_to=date(2027, 1, 31))
    )


def test_urgent_places_are_a_share_of_the_day_spread_over_it() -> None:
    assert urgent_positions(10, 0.2) == {2, 7}
    assert urgent_positions(7, 0.0) == frozenset()
    assert len(urgent_positions(7, 0.2)) == 1
    slots = schedule().slots(CALENDAR, BookingRules(default_urgent_share=0.25))
    first_day = [s for s in slots if s.day == date(2026, 12, 6)]
    urgent = [s for s in first_day if s.urgent_until is not None]
    assert len(urgent) == 2
    # released to everybody 48 hours before the day starts (Algiers midnight)
    assert urgent[0].urgent_until == datetime(2026, 12, 4, 0, 0, tzinfo=ALGIERS)


def test_reminders_keep_out_of_the_quiet_hours_in_algiers_time() -> None:
    rules = BookingRules()
    slot = datetime(2026, 12, 10, 8, 30, tzinfo=ALGIERS)
    # two days and one day before 08:30 is 08:30: outside 21:00–08:00
    assert rules.reminders_for(slot, NOW) == [slot - timedelta(days=2), slot - timedelta(days=1)]
    early = datetime(2026, 12, 10, 7, 0, tzinfo=ALGIERS)
    # 07:00 is quiet: the reminder goes the evening before at 20:59
    assert rules.reminder_time(early, timedelta(days=1)) == datetime(
        2026, 12, 8, 20, 59, tzinfo=ALGIERS
    )
    late = datetime(2026, 12, 10, 22, 0, tzinfo=ALGIERS)
    assert rules.reminder_time(late, timedelta(days=1)) == datetime(
        2026, 12, 9, 20, 59, tzinfo=ALGIERS
    )
    # a reminder already past when the booking is made is not sent
    assert rules.reminders_for(slot, slot - timedelta(hours=30)) == [slot - timedelta(days=1)]


def _hold(at: datetime = NOW) -> Booking:
    return Booking.hold(
        slot=SlotRef(
            slot_id=uuid4(),
            schedule_id=uuid4(),
            facility_id="31-PC-001",
            specialty_code="DERMA",
            starts_at=datetime(2026, 12, 6, 9, 0, tzinfo=ALGIERS),
            ends_at=datetime(2026, 12, 6, 9, 30, tzinfo=ALGIERS),
        ),
        patient_key="a" * 64,
        at=at,
        hold_for=timedelta(minutes=10),
    )


def test_a_hold_becomes_a_booking_with_an_event_or_expires() -> None:
    booking = _hold()
    assert booking.status.holds_place and booking.events == []
    booking.confirm(NOW + timedelta(minutes=9))
    assert booking.status is BookingStatus.BOOKED
    [event] = booking.events
    assert event.payload.event_type == "appointments.appointment.booked"
    assert event.sequence == 1
    late = _hold()
    with pytest.raises(HoldExpired):
        late.confirm(NOW + timedelta(minutes=10))
    assert late.expire(NOW + timedelta(minutes=10))
    assert not late.status.holds_place


def test_cancel_reschedule_arrive_no_show_in_sequence() -> None:
    booking = _hold()
    booking.confirm(NOW)
    with pytest.raises(CutoffPassed):
        booking.check_citizen_cutoff(
            datetime(2026, 12, 5, 12, 0, tzinfo=ALGIERS), timedelta(hours=24)
        )
    booking.check_citizen_cutoff(datetime(2026, 12, 5, 8, 0, tzinfo=ALGIERS), timedelta(hours=24))
    later = SlotRef(
        slot_id=uuid4(),
        schedule_id=booking.slot.schedule_id,
        facility_id="31-PC-001",
        specialty_code="DERMA",
        starts_at=datetime(2026, 12, 13, 9, 0, tzinfo=ALGIERS),
        ends_at=datetime(2026, 12, 13, 9, 30, tzinfo=ALGIERS),
    )
    booking.reschedule(later, by=Actor.CLINIC, at=NOW, reason="specialist_absent")
    assert not booking.mark_no_show(at=later.starts_at, grace=timedelta(minutes=45))
    assert booking.mark_no_show(
        at=later.starts_at + timedelta(hours=1), grace=timedelta(minutes=45)
    )
    assert booking.arrive(ticket_id=None, at=later.starts_at + timedelta(hours=2))  # came late
    assert [e.sequence for e in booking.events] == [1, 2, 3, 4]
    assert [e.payload.event_type.rsplit(".", 1)[1] for e in booking.events] == [
        "booked",
        "rescheduled",
        "no_show",
        "arrived",
    ]
    with pytest.raises(IllegalBookingTransition):
        booking.cancel(by=Actor.CITIZEN, reason="citizen_request", at=NOW)
