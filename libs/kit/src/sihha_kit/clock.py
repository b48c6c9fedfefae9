"""Time: instants are stored in UTC; days and opening hours are Algiers-local.

Algeria has one time zone, Africa/Algiers (UTC+1, no daylight saving).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

ALGIERS = ZoneInfo("Africa/Algiers")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def local_day(instant: datetime) -> date:
    """The Algiers calendar day an instant falls on."""
    return instant.astimezone(ALGIERS).date()


def to_local(instant: datetime) -> datetime:
    return instant.astimezone(ALGIERS)


def simulated_clock(start: datetime, speed: float, anchor_epoch: float) -> Clock:
    """A clock that reads `start` at wall-clock `anchor_epoch` and runs `speed` times faster.

    The demo runs a working day in minutes with it. Every process given the same
    three values reads the same time, whenever it started.
    """
    import time

    if start.tzinfo is None:
        raise ValueError("the simulated start must be timezone-aware")

    def now() -> datetime:
        from datetime import timedelta

        return (start + timedelta(seconds=(time.time() - anchor_epoch) * speed)).astimezone(UTC)

    return now


def clock_from_settings(start: datetime | None, speed: float, anchor_epoch: float | None) -> Clock:
    if start is None:
        return utc_now
    return simulated_clock(
        start, speed, anchor_epoch if anchor_epoch is not None else start.timestamp()
    )
