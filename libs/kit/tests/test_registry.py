"""The project's registry of Oran's establishments."""

from __future__ import annotations

from datetime import datetime

import pytest

from sihha_kit.registry import OpeningHours, load_registry


def test_the_registry_holds_oran_polyclinics_hospitals_and_services() -> None:
    registry = load_registry()
    assert registry.wilaya_code == "31"
    assert len(registry.polyclinics) == 36
    pilots = {e.name_fr for e in registry.polyclinics if e.pilot}
    assert pilots == {"Polyclinique Colonel Lotfi", "Polyclinique Front de Mer"}
    assert {s.code for s in registry.polyclinic_services} >= {"MG", "PED", "LAB", "RAD", "PHAR"}
    assert registry.by_code("31-EPH-01") is not None and registry.by_code("31-EPH-01").emergency


def test_default_opening_hours_follow_the_algerian_week() -> None:
    hours = load_registry().hours_of("31-PC-001")
    assert hours.is_open(datetime(2026, 11, 25, 9, 0))  # Wednesday morning
    assert not hours.is_open(datetime(2026, 11, 25, 17, 0))  # Wednesday evening
    assert not hours.is_open(datetime(2026, 11, 27, 9, 0))  # Friday
    assert hours.is_open(datetime(2026, 11, 28, 9, 0)) and not hours.is_open(
        datetime(2026, 11, 28, 13, 0)
    )


def test_opening_hours_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="unknown weekday"):
        OpeningHours.parse({"dimanche": ["08:00-12:00"]})
    with pytest.raises(ValueError, match="not an interval"):
        OpeningHours.parse({"sun": ["08:00"]})
    with pytest.raises(ValueError):
        OpeningHours.parse({"sun": ["08:00-25:00"]})


def test_opening_hours_can_say_midnight_and_run_overnight() -> None:
    """As the queue's service hours (issue 13, item 3): the registry used to refuse
    ``24:00`` and any night service."""
    hours = OpeningHours.parse({"sat": ["09:00-24:00"], "fri": ["20:00-08:00"]})
    assert hours.is_open(datetime(2026, 11, 28, 23, 59, 30))  # Saturday, 23:59:30
    assert not hours.is_open(datetime(2026, 11, 29, 0, 0))  # Sunday has no hours
    assert hours.is_open(datetime(2026, 11, 27, 22, 0))  # Friday night
    assert hours.is_open(datetime(2026, 11, 28, 3, 0))  # still Friday's night, on Saturday
    assert not hours.is_open(datetime(2026, 11, 28, 8, 30))  # the night ended, day not begun
    assert hours.as_dict() == {"fri": ["20:00-24:00"], "sat": ["00:00-08:00", "09:00-24:00"]}
    assert OpeningHours.parse(hours.as_dict()) == hours
    # a whole day, as the queue reads "08:00-08:00"
    whole = OpeningHours.parse({"mon": ["08:00-08:00"]})
    assert whole.is_open(datetime(2026, 11, 30, 23, 0)) and whole.is_open(
        datetime(2026, 12, 1, 7, 59)
    )


def test_a_simulated_clock_runs_faster_from_its_anchor() -> None:
    import time
    from datetime import UTC

    from sihha_kit.clock import simulated_clock

    start = datetime(2026, 12, 15, 7, 0, tzinfo=UTC)
    clock = simulated_clock(start, speed=60.0, anchor_epoch=time.time() - 10)
    elapsed = (clock() - start).total_seconds()
    assert 600 <= elapsed < 660  # 10 real seconds → 10 simulated minutes
