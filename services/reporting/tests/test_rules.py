"""Pure rules: operating status, disagreements, silence, periods, the schedule, DHIS2."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sihha_kit.errors import DomainProblem
from sihha_kit.registry import OpeningHours
from sihha_reporting.domain import periods, texts
from sihha_reporting.domain.dhis2 import Mapping, MappingError, to_data_value_set
from sihha_reporting.domain.problems import Dhis2MappingIncomplete
from sihha_reporting.domain.rollout import (
    DayPresence,
    Disagreement,
    Inspection,
    disagreement,
    operating_on,
    silent_open_hours,
)
from sihha_reporting.service_layer.scheduler import plan
from sihha_reporting.synthetic import algiers

HOURS = OpeningHours.parse(
    {d: ["08:00-16:30"] for d in ("sun", "mon", "tue", "wed", "thu")} | {"sat": ["08:00-12:00"]}
)
THURSDAY, FRIDAY, SATURDAY = date(2026, 12, 10), date(2026, 12, 11), date(2026, 12, 12)
ALIVE = DayPresence(events_open=10, heartbeats_open=8)


def test_operating_needs_a_first_use_and_signs_of_life_on_the_last_working_day() -> None:
    presence = {THURSDAY: ALIVE}
    common = {"hours": HOURS, "presence": presence, "today": date(2026, 12, 20)}
    assert operating_on(THURSDAY, first_use=THURSDAY, **common)
    assert not operating_on(THURSDAY, first_use=None, **common)  # heartbeats alone are not use
    assert not operating_on(THURSDAY - timedelta(days=1), first_use=THURSDAY, **common)
    # Friday is closed: it carries Thursday's status; Saturday is a working day of its own
    assert operating_on(FRIDAY, first_use=THURSDAY, **common)
    assert not operating_on(SATURDAY, first_use=THURSDAY, **common)


def test_today_counts_the_previous_working_day_until_today_shows_life() -> None:
    presence = {THURSDAY: ALIVE}
    assert operating_on(
        SATURDAY, hours=HOURS, first_use=THURSDAY, presence=presence, today=SATURDAY
    )
    idle = DayPresence(events_open=0, heartbeats_open=0)
    assert not operating_on(
        SATURDAY, hours=HOURS, first_use=THURSDAY, presence={THURSDAY: idle}, today=SATURDAY
    )


def test_disagreements_between_inspection_and_telemetry() -> None:
    seen = Inspection(THURSDAY, equipped=True, system_in_use=True)
    assert (
        disagreement(seen, operating_that_day=False, first_event=None)
        is Disagreement.IN_USE_BUT_NOT_OPERATING
    )
    assert disagreement(seen, operating_that_day=True, first_event=THURSDAY) is None
    idle = Inspection(THURSDAY, equipped=True, system_in_use=False)
    assert (
        disagreement(idle, operating_that_day=True, first_event=THURSDAY)
        is Disagreement.NOT_IN_USE_BUT_OPERATING
    )
    bare = Inspection(THURSDAY, equipped=False, system_in_use=False)
    assert disagreement(
        bare, operating_that_day=False, first_event=THURSDAY - timedelta(days=3)
    ) is (Disagreement.NOT_EQUIPPED_BUT_EVENTS)
    assert disagreement(None, operating_that_day=False, first_event=None) is None


def test_silence_counts_opening_hours_only() -> None:
    last = algiers(THURSDAY, 15, 30)
    # Thursday 15:30 → 16:30 (1 h), Friday closed, Saturday 08:00 → 10:00 (2 h)
    hours = silent_open_hours(
        HOURS, last_open_event_at=last, watched_since=None, at=algiers(SATURDAY, 10)
    )
    assert hours == pytest.approx(3.0)
    assert silent_open_hours(HOURS, last_open_event_at=None, watched_since=None, at=last) is None


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (
            lambda today: periods.custom(date(2026, 12, 5), date(2026, 12, 1), today),
            "impossible-period",
        ),
        (lambda today: periods.daily(today + timedelta(days=1), today), "impossible-period"),
        (lambda today: periods.monthly("2026-13", today), "impossible-period"),
        (lambda today: periods.monthly("december", today), "impossible-period"),
        (lambda today: periods.custom(date(2024, 1, 1), today, today), "impossible-period"),
    ],
)
def test_impossible_periods_are_refused(make: object, code: str) -> None:
    with pytest.raises(DomainProblem) as refused:
        make(date(2026, 12, 20))  # type: ignore[operator]
    assert refused.value.code == code and refused.value.status == 422
    catalogue = texts.catalogue()
    french, arabic = (refused.value.detail_in(lang, catalogue) for lang in ("fr", "ar"))
    assert french.startswith("Période impossible : ") and "{" not in french
    assert arabic.startswith("فترة غير ممكنة: ") and "{" not in arabic


def test_periods_follow_the_algerian_week_and_calendar_months() -> None:
    today = date(2026, 12, 20)
    week = periods.weekly(date(2026, 12, 10), today)
    assert (week.start.isoformat(), week.end.isoformat()) == (
        "2026-12-06",
        "2026-12-12",
    )  # Sunday → Saturday
    month = periods.monthly("2026-02", today)
    assert (month.start, month.end) == (date(2026, 2, 1), date(2026, 2, 28))
    assert month.closed(today) and not periods.daily(today, today).closed(today)


def test_the_schedule_generates_yesterday_the_last_week_and_the_month_on_the_first() -> None:
    jobs = plan(date(2026, 12, 1), lookback_days=2)
    names = {(j.name, j.period.key) for j in jobs}
    assert ("wilaya_daily", "2026-11-30") in names
    assert ("recheck_daily", "2026-11-29") in names and ("recheck_daily", "2026-11-28") in names
    assert ("wilaya_monthly", "2026-11") in names and ("ministry_monthly", "2026-11") in names
    assert ("wilaya_weekly", "week-2026-11-22") in names
    later = {(j.name, j.period.key) for j in plan(date(2026, 12, 2), lookback_days=2)}
    assert ("recheck_ministry", "2026-11") in later and ("ministry_monthly", "2026-11") not in later


REPORT = {
    "period": {"kind": "monthly", "start": "2026-11-01"},
    "tables": [
        {
            "id": "appointments",
            "rows": [{"key": "31:PC"}, {"key": "31"}],
            "columns": [{"key": "booked"}, {"key": "no_shows"}],
            "cells": [[12, "<5"], [12, "<5"]],
        }
    ],
}


def test_dhis2_payload_sends_numbers_only_with_the_mapped_elements() -> None:
    mapping = Mapping.parse(
        {
            "dataSet": "BfMAe6Itzgt",
            "orgUnits": {"31": "ImspTQPwCqd", "31:PC": "O6uvpzGd5pu"},
            "dataElements": {
                "appointments.booked": {
                    "dataElement": "fbfJHSPpUQD",
                    "categoryOptionCombo": "HllvX50cXC0",
                },
                "appointments.no_shows": "cYeuwXTCPkU",
            },
        }
    )
    payload = to_data_value_set(REPORT, mapping, complete_date="2026-12-01")
    assert payload["period"] == "202611" and payload["dataSet"] == "BfMAe6Itzgt"
    assert [(v["orgUnit"], v["value"]) for v in payload["dataValues"]] == [
        ("O6uvpzGd5pu", "12"),
        ("ImspTQPwCqd", "12"),
    ]  # the "<5" cells are never sent


def test_a_dhis2_mapping_that_misses_an_element_is_refused_before_anything_is_built() -> None:
    mapping = Mapping.parse(
        {"orgUnits": {"31": "ImspTQPwCqd"}, "dataElements": {"appointments.booked": "fbfJHSPpUQD"}}
    )
    with pytest.raises(Dhis2MappingIncomplete) as refused:
        to_data_value_set(REPORT, mapping, complete_date="2026-12-01")
    assert refused.value.status == 422
    assert "dataElements: appointments.no_shows" in refused.value.extra["missing"]
    assert "orgUnits: 31:PC (for appointments.booked)" in refused.value.extra["missing"]
    excluded = Mapping.parse(
        {
            "orgUnits": {"31": "ImspTQPwCqd", "31:PC": "O6uvpzGd5pu"},
            "dataElements": {"appointments.booked": "fbfJHSPpUQD"},
            "exclude": ["appointments.no_*"],
        }
    )
    assert len(to_data_value_set(REPORT, excluded, complete_date="2026-12-01")["dataValues"]) == 2


def test_a_malformed_dhis2_uid_is_refused() -> None:
    with pytest.raises(MappingError):
        Mapping.parse({"orgUnits": {"31": "not a uid"}, "dataElements": {}})
