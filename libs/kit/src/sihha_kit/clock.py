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
