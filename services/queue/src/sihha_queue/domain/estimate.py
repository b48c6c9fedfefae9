"""How long a patient will wait: a service-time estimate that resists outliers.

A service's time per patient is the **median** of its recent service times (start to
completion) pooled with `PRIOR_WEIGHT` pseudo-observations of the default
(`DEFAULT_SERVICE_SECONDS`): with few observations the default dominates, so one
ticket started and completed within a second (a patient routed on at once, a mistaken
click) cannot drag everyone's estimate to a minute; with many, the median of the real
ones does. Service times outside [`MIN_SERVICE_SECONDS`, `MAX_SERVICE_SECONDS`] are
not service times (a click, a ticket left open over lunch) and are left out.

The wait is the patients ahead plus this one, shared among the service's active
counters. Without an active counter nobody will be called: there is no estimate
(None), not a number.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

#: assumed service time of a service with no completed ticket yet
DEFAULT_SERVICE_SECONDS = 7 * 60
#: pseudo-observations of the default pooled with the real ones
PRIOR_WEIGHT = 3
MIN_SERVICE_SECONDS = 30
MAX_SERVICE_SECONDS = 2 * 60 * 60


def service_seconds(recent: Sequence[float]) -> float:
    """Seconds per patient from recent service times (seconds)."""
    kept = [s for s in recent if MIN_SERVICE_SECONDS <= s <= MAX_SERVICE_SECONDS]
    return float(statistics.median([*kept, *([DEFAULT_SERVICE_SECONDS] * PRIOR_WEIGHT)]))


def wait_minutes(ahead: int, counters: int, recent: Sequence[float]) -> int | None:
    """Minutes until a ticket with `ahead` patients before it is called; None if the
    service has no active counter."""
    if counters < 1:
        return None
    return math.ceil((ahead + 1) / counters * service_seconds(recent) / 60)
