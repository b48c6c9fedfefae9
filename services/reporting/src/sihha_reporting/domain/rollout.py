"""The rollout of the system per establishment: registered → equipped → operating.

- *registered*: in the wilaya's registry;
- *equipped*: the latest inspection visit on or before the day says so
  (inspections are recorded by the wilaya group);
- *operating* (definition `establishments_operating@v1`): telemetry, see
  `operating_on`.

Where inspection and telemetry disagree, `disagreement` names how.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sihha_kit.clock import local_day
from sihha_kit.i18n import N_
from sihha_kit.registry import OpeningHours
from sihha_reporting.domain.hours import (
    is_working_day,
    last_working_day,
    open_seconds_between,
    opening_periods,
    previous_working_day,
)


class Stage(StrEnum):
    REGISTERED = "registered"
    EQUIPPED = "equipped"
    OPERATING = "operating"


class Disagreement(StrEnum):
    #: the inspection saw the system in use, the telemetry did not show it operating that day
    IN_USE_BUT_NOT_OPERATING = "inspection_in_use_but_not_operating"
    #: the inspection did not see it in use, the telemetry shows it operating that day
    NOT_IN_USE_BUT_OPERATING = "inspection_not_in_use_but_operating"
    #: the inspection found no equipment, yet events had already come from there
    NOT_EQUIPPED_BUT_EVENTS = "inspection_not_equipped_but_events"


#: the catalogue key of each disagreement's explanation
DISAGREEMENT_LABELS: dict[str, str] = {
    Disagreement.IN_USE_BUT_NOT_OPERATING: N_("disagreement.in_use_but_not_operating"),
    Disagreement.NOT_IN_USE_BUT_OPERATING: N_("disagreement.not_in_use_but_operating"),
    Disagreement.NOT_EQUIPPED_BUT_EVENTS: N_("disagreement.not_equipped_but_events"),
}

#: the catalogue key of each stage's name
STAGE_LABELS: dict[str, str] = {
    Stage.REGISTERED: N_("stage.registered"),
    Stage.EQUIPPED: N_("stage.equipped"),
    Stage.OPERATING: N_("stage.operating"),
}


@dataclass(frozen=True)
class Inspection:
    visited_on: date
    equipped: bool
    system_in_use: bool


@dataclass(frozen=True)
class DayPresence:
    events_open: int
    heartbeats_open: int


def latest_inspection(inspections: Sequence[Inspection], day: date) -> Inspection | None:
    seen = [i for i in inspections if i.visited_on <= day]
    return max(seen, key=lambda i: i.visited_on) if seen else None


def equipped_on(inspections: Sequence[Inspection], day: date) -> bool:
    latest = latest_inspection(inspections, day)
    return latest is not None and latest.equipped


def _alive(presence: DayPresence | None, min_heartbeats: int) -> bool:
    if presence is None:
        return False
    other_events = presence.events_open - presence.heartbeats_open
    return presence.heartbeats_open >= min_heartbeats or other_events >= 1


def operating_on(
    day: date,
    *,
    hours: OpeningHours,
    first_use: date | None,
    presence: Mapping[date, DayPresence],
    today: date,
    min_heartbeats: int = 1,
) -> bool:
    """`establishments_operating@v1`: first real use on or before `day`, and signs of life
    during opening hours on the last working day up to `day` (for today, today or the
    previous working day: the day is not over)."""
    if first_use is None or first_use > day:
        return False
    candidates: list[date | None] = [last_working_day(hours, day)]
    if day >= today:
        candidates.append(previous_working_day(hours, day))
    return any(
        candidate is not None and _alive(presence.get(candidate), min_heartbeats)
        for candidate in candidates
    )


def stage(equipped: bool, operating: bool) -> Stage:
    if operating:
        return Stage.OPERATING
    if equipped:
        return Stage.EQUIPPED
    return Stage.REGISTERED


def disagreement(
    inspection: Inspection | None, *, operating_that_day: bool, first_event: date | None
) -> Disagreement | None:
    if inspection is None:
        return None
    if not inspection.equipped and first_event is not None and first_event <= inspection.visited_on:
        return Disagreement.NOT_EQUIPPED_BUT_EVENTS
    if inspection.system_in_use and not operating_that_day:
        return Disagreement.IN_USE_BUT_NOT_OPERATING
    if not inspection.system_in_use and operating_that_day:
        return Disagreement.NOT_IN_USE_BUT_OPERATING
    return None


def silent_open_hours(
    hours: OpeningHours,
    *,
    last_open_event_at: datetime | None,
    watched_since: datetime | None,
    at: datetime,
) -> float | None:
    """Opening hours elapsed without any event during opening hours, at instant `at`.

    Counted from the last event that fell within opening hours, else from when the
    establishment started being watched (equipped or first used); None if neither."""
    since = last_open_event_at or watched_since
    if since is None or since >= at:
        return None if since is None else 0.0
    return open_seconds_between(hours, since, at) / 3600.0


def working_days_without_events(
    hours: OpeningHours, days: Sequence[date], presence: Mapping[date, DayPresence]
) -> int:
    return sum(
        1
        for day in days
        if is_working_day(hours, day)
        and (presence.get(day) is None or presence[day].events_open == 0)
    )


def end_instant(day: date, hours: OpeningHours) -> datetime | None:
    """When the day's last opening period closes (None on a closed day)."""
    periods = opening_periods(hours, day)
    return periods[-1][1] if periods else None


def day_of(instant: datetime | None) -> date | None:
    return local_day(instant) if instant is not None else None


ONE_DAY = timedelta(days=1)
