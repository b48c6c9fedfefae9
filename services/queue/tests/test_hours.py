"""Opening hours that can say midnight, run overnight, and name their service day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from sihha_queue.domain.hours import InvalidHours, ServiceHours


def test_hours_may_end_at_midnight_and_keep_their_seconds() -> None:
    hours = ServiceHours.parse({"wed": ["08:00-24:00"], "thu": ["08:00-23:59:59"]})
    assert hours.as_dict() == {"wed": ["08:00-24:00"], "thu": ["08:00-23:59:59"]}
    wednesday = date(2026, 11, 25)
    assert hours.service_day(datetime(2026, 11, 25, 23, 59, 30)) == wednesday
    assert hours.service_day(datetime(2026, 11, 26, 0, 0)) is None  # Thursday opens at 8
    assert hours.is_open(datetime(2026, 11, 26, 23, 59, 58))
    assert not hours.is_open(datetime(2026, 11, 26, 23, 59, 59))


def test_overnight_hours_belong_to_the_day_they_start_on() -> None:
    hours = ServiceHours.parse({"fri": ["20:00-08:00"]})
    friday = date(2026, 11, 27)
    assert hours.service_day(datetime(2026, 11, 27, 19, 59)) is None
    assert hours.service_day(datetime(2026, 11, 27, 22, 0)) == friday
    assert hours.service_day(datetime(2026, 11, 28, 2, 0)) == friday  # Saturday night
    assert hours.service_day(datetime(2026, 11, 28, 8, 0)) is None
    assert hours.as_dict() == {"fri": ["20:00-08:00"]}
    full = ServiceHours.parse({"sat": ["08:00-08:00"]})  # 24 hours from Saturday 08:00
    assert full.service_day(datetime(2026, 11, 29, 7, 59)) == date(2026, 11, 28)


def test_the_queue_day_stays_for_the_grace_after_closing_then_moves_on() -> None:
    hours = ServiceHours.parse({day: ["08:00-16:00"] for day in ("wed", "thu")})
    wednesday, thursday = date(2026, 11, 25), date(2026, 11, 26)
    assert hours.queue_day(datetime(2026, 11, 25, 17, 0)) == wednesday  # counters finish
    assert hours.queue_day(datetime(2026, 11, 25, 18, 30)) == wednesday
    assert hours.queue_day(datetime(2026, 11, 26, 7, 0)) == thursday  # before opening
    assert hours.queue_day(datetime(2026, 11, 25, 17, 0), timedelta(0)) == wednesday


@pytest.mark.parametrize(
    "hours",
    [
        {"mon": ["08:00-12:00", "11:00-14:00"]},  # overlap
        {"mon": ["20:00-09:00"], "tue": ["08:00-12:00"]},  # overnight into the next day's
        {"mon": ["8h-12h"]},
        {"lundi": ["08:00-12:00"]},
        {"mon": ["24:00-08:00"]},
    ],
)
def test_impossible_hours_are_refused(hours: dict[str, list[str]]) -> None:
    with pytest.raises(InvalidHours):
        ServiceHours.parse(hours)
