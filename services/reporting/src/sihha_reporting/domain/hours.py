"""Opening hours arithmetic, in Algiers local time (the registry's `OpeningHours`).

The Algerian week runs Sunday to Thursday, with Saturday mornings in the
registry's default hours; Friday is closed. A *working day* of an
establishment is a day on which its hours have at least one opening period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sihha_kit.clock import ALGIERS, to_local
from sihha_kit.registry import WEEKDAYS, OpeningHours, Registry


def is_working_day(hours: OpeningHours, day: date) -> bool:
    return bool(hours.periods.get(WEEKDAYS[day.weekday()]))


def last_working_day(hours: OpeningHours, day: date, *, max_back: int = 14) -> date | None:
    """The most recent working day on or before `day` (None if the hours have none)."""
    for back in range(max_back + 1):
        candidate = day - timedelta(days=back)
        if is_working_day(hours, candidate):
            return candidate
    return None


def previous_working_day(hours: OpeningHours, day: date) -> date | None:
    return last_working_day(hours, day - timedelta(days=1))


def opening_periods(hours: OpeningHours, day: date) -> list[tuple[datetime, datetime]]:
    """The day's opening periods as UTC instants."""
    periods = []
    for opens, closes in hours.periods.get(WEEKDAYS[day.weekday()], ()):
        start = datetime.combine(day, opens, ALGIERS).astimezone(UTC)
        end = datetime.combine(day, closes, ALGIERS).astimezone(UTC)
        periods.append((start, end))
    return periods


def open_seconds_between(hours: OpeningHours, start: datetime, end: datetime) -> float:
    """Seconds of opening time between two instants (0 if end <= start)."""
    if end <= start:
        return 0.0
    total = 0.0
    day = to_local(start).date()
    last = to_local(end).date()
    while day <= last:
        for opens, closes in opening_periods(hours, day):
            overlap = (min(closes, end) - max(opens, start)).total_seconds()
            if overlap > 0:
                total += overlap
        day += timedelta(days=1)
    return total


def opening_seconds_of_day(hours: OpeningHours, day: date) -> float:
    return sum((end - start).total_seconds() for start, end in opening_periods(hours, day))


class HoursBook:
    """Each establishment's hours, looked up once (the registry's default otherwise)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._hours: dict[str, OpeningHours] = {}

    def of(self, facility_id: str) -> OpeningHours:
        hours = self._hours.get(facility_id)
        if hours is None:
            hours = self.registry.hours_of(facility_id)
            self._hours[facility_id] = hours
        return hours

    def is_open(self, facility_id: str, local: datetime) -> bool:
        """`local` in Algiers time (`Fact.local`)."""
        return self.of(facility_id).is_open(local)


MIDNIGHT = time(0, 0)
