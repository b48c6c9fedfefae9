"""Opening hours of a clinic or of one of its services, and the service day they make.

Hours are written per weekday as intervals of Algiers local time, ``"HH:MM-HH:MM"``
(seconds allowed, ``"HH:MM:SS"``)::

    {"sun": ["08:00-12:00", "13:00-16:30"],   # a day clinic
     "fri": ["20:00-08:00"],                   # a night service: Friday 20:00 to Saturday 08:00
     "sat": ["08:00-24:00"]}                   # until midnight

- an interval may end at ``24:00`` (midnight at the end of the day);
- an interval whose end is not after its start runs **overnight**: it ends on the next
  calendar day (``"20:00-08:00"``; ``"08:00-08:00"`` is 24 hours);
- the weekday is the one the interval *starts* on, and the **service day** of every
  moment of the interval is that date: a ticket taken at 02:00 on Saturday in Friday's
  night interval belongs to Friday's queue and is numbered with Friday's tickets.

The **queue day** of a service at a moment is the service day whose queue is current
(`queue_day`): the day of the interval it is in; after closing, the day of the
interval that closed last for `grace` more (counters finish the patients still
there); otherwise the calendar date. Every query of "today's queue" uses it, and
tickets of an earlier service day still open are expired (`Ticket.expire`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: how long after its last interval closes a service day's queue stays current
DEFAULT_GRACE = timedelta(hours=2)
_DAY = timedelta(days=1)


class InvalidHours(ValueError):
    """Hours that cannot be read; the message names the weekday and the interval."""


@dataclass(frozen=True, order=True)
class Interval:
    """An opening interval from `opens` for `length`, on the weekday it starts on."""

    opens: time
    length: timedelta

    def start_on(self, day: date) -> datetime:
        return datetime.combine(day, self.opens)

    def end_on(self, day: date) -> datetime:
        return self.start_on(day) + self.length

    @property
    def overnight(self) -> bool:
        return self.start_on(date(2000, 1, 3)) + self.length > datetime(2000, 1, 4)

    def text(self) -> str:
        end = self.start_on(date(2000, 1, 3)) + self.length
        closes = "24:00" if end == datetime(2000, 1, 4) else _clock(end.time())
        return f"{_clock(self.opens)}-{closes}"


def _clock(moment: time) -> str:
    return f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"


def _parse_time(text: str, *, end: bool) -> time | None:
    """A time of day; ``24:00`` (only as an end) is None: midnight at the end of the day."""
    text = text.strip()
    if end and text in {"24:00", "24:00:00"}:
        return None
    try:
        moment = time.fromisoformat(text)
    except ValueError:
        raise InvalidHours(f"{text!r} is not a time (HH:MM or HH:MM:SS)") from None
    if moment.tzinfo is not None or moment.microsecond:
        raise InvalidHours(f"{text!r}: hours and minutes (and seconds) only")
    return moment


def parse_interval(text: str) -> Interval:
    parts = text.split("-")
    if len(parts) != 2:
        raise InvalidHours(f"{text!r} is not an interval (HH:MM-HH:MM)")
    opens = _parse_time(parts[0], end=False)
    closes = _parse_time(parts[1], end=True)
    assert opens is not None
    start = datetime.combine(date(2000, 1, 3), opens)
    if closes is None:
        finish = datetime(2000, 1, 4)
    else:
        finish = datetime.combine(date(2000, 1, 3), closes)
        if finish <= start:  # runs overnight
            finish += _DAY
    return Interval(opens, finish - start)


@dataclass(frozen=True)
class ServiceHours:
    """Weekly hours in Algiers local time: weekday → intervals that start on it."""

    intervals: Mapping[str, tuple[Interval, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Sequence[str]] | None) -> ServiceHours:
        """From ``{"mon": ["08:00-16:00"], …}``; `InvalidHours` for an unknown weekday, a
        malformed interval, or intervals of one weekday that overlap."""
        intervals: dict[str, tuple[Interval, ...]] = {}
        for weekday, texts in (data or {}).items():
            if weekday not in WEEKDAYS:
                raise InvalidHours(f"unknown weekday {weekday!r} (use {', '.join(WEEKDAYS)})")
            parsed = []
            for text in texts:
                try:
                    parsed.append(parse_interval(text))
                except InvalidHours as error:
                    raise InvalidHours(f"{weekday} {error}") from None
            parsed.sort()
            for before, after in pairwise(parsed):
                if before.end_on(date(2000, 1, 3)) > after.start_on(date(2000, 1, 3)):
                    raise InvalidHours(f"{weekday}: {before.text()} overlaps {after.text()}")
            intervals[weekday] = tuple(parsed)
        hours = cls(intervals)
        hours._check_no_overlap_across_days()
        return hours

    def _check_no_overlap_across_days(self) -> None:
        monday = date(2000, 1, 3)
        spans = sorted(
            (
                interval.start_on(monday + timedelta(days=n)),
                interval.end_on(monday + timedelta(days=n)),
                f"{weekday} {interval.text()}",
            )
            for n, weekday in enumerate(WEEKDAYS)
            for interval in self.intervals.get(weekday, ())
        )
        # the week wraps around: Sunday night runs into Monday
        wrapped = spans + [(s + 7 * _DAY, e + 7 * _DAY, name) for s, e, name in spans[:1]]
        for (_, end, name), (start, _, other) in pairwise(wrapped):
            if end > start:
                raise InvalidHours(f"{name} overlaps {other}")

    def as_dict(self) -> dict[str, list[str]]:
        return {
            weekday: [interval.text() for interval in self.intervals[weekday]]
            for weekday in WEEKDAYS
            if weekday in self.intervals
        }

    def _around(self, local: datetime) -> Iterator[tuple[date, Interval]]:
        """Intervals of the service days that may contain `local` (that day and the two
        before: an interval lasts at most 24 hours, plus a grace)."""
        for back in (0, 1, 2):
            day = local.date() - timedelta(days=back)
            for interval in self.intervals.get(WEEKDAYS[day.weekday()], ()):
                yield day, interval

    def service_day(self, local: datetime) -> date | None:
        """The service day of the interval open at `local` (naive or Algiers time), or
        None if closed."""
        moment = local.replace(tzinfo=None)
        for day, interval in self._around(moment):
            if interval.start_on(day) <= moment < interval.end_on(day):
                return day
        return None

    def is_open(self, local: datetime) -> bool:
        return self.service_day(local) is not None

    def queue_day(self, local: datetime, grace: timedelta = DEFAULT_GRACE) -> date:
        """The service day whose queue is current at `local` (see the module's docstring)."""
        moment = local.replace(tzinfo=None)
        current = self.service_day(moment)
        if current is not None:
            return current
        closed = [
            (interval.end_on(day), day)
            for day, interval in self._around(moment)
            if interval.end_on(day) <= moment < interval.end_on(day) + grace
        ]
        return max(closed)[1] if closed else moment.date()
