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
    with pytest.raises(ValueError, match="closes before it opens"):
        OpeningHours.parse({"sun": ["16:00-08:00"]})
    with pytest.raises(ValueError, match="unknown weekday"):
        OpeningHours.parse({"dimanche": ["08:00-12:00"]})


def test_a_simulated_clock_runs_faster_from_its_anchor() -> None:
    import time
    from datetime import UTC

    from sihha_kit.clock import simulated_clock

    start = datetime(2026, 12, 15, 7, 0, tzinfo=UTC)
    clock = simulated_clock(start, speed=60.0, anchor_epoch=time.time() - 10)
    elapsed = (clock() - start).total_seconds()
    assert 600 <= elapsed < 660  # 10 real seconds → 10 simulated minutes
