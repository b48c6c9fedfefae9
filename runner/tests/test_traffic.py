"""The traffic model's own figures fall within the ranges it states (`CALIBRATION`), on
any machine: the model's day is played here by a small event simulation of first-come,
first-served counters (no platform, no clock), the same day the demo plays through the
services. The demo's test checks the same ranges on the platform's measured day."""

from __future__ import annotations

import heapq
import random
import statistics

import pytest

from sihha_runner.traffic import (
    CALIBRATION,
    LATEST_START_MINUTES,
    NO_SHOW_RATE,
    Patient,
    busiest,
    clinic_visits,
    day_patients,
    patients,
    staffed_counters,
)

CLINICS = [f"31-PC-{n:03d}" for n in range(1, 33)]
#: the recall window a no-show keeps a counter (simulator.RECALL_WINDOW)
NO_SHOW_SECONDS = 125
WALK_SECONDS = 30


def waits(day: list[Patient], counters: dict[str, int], seed: int) -> dict[str, list[float]]:
    """Minutes from ticket to call per service: each ticket, in order of issue, goes to
    the counter of its service that is free first; a consultation that routes the
    patient issues the next ticket when it ends."""
    rng = random.Random(seed)
    free = {
        service: [rng.uniform(0, LATEST_START_MINUTES * 60) for _ in range(n)]
        for service, n in counters.items()
    }
    tickets = [(p.arrives_after, n, p, 0) for n, p in enumerate(day)]
    heapq.heapify(tickets)
    issued = len(tickets)
    measured: dict[str, list[float]] = {}
    while tickets:
        at, _, patient, step = heapq.heappop(tickets)
        service = patient.service_code if step == 0 else patient.routes[step - 1]
        rooms = free.setdefault(service, [0.0])
        room = min(range(len(rooms)), key=rooms.__getitem__)
        called = max(at, rooms[room])
        measured.setdefault(service, []).append((called - at) / 60)
        if patient.no_show and step == 0:
            rooms[room] = called + NO_SHOW_SECONDS
            continue
        ends = called + WALK_SECONDS + 60 * patient.service_minutes[step]
        rooms[room] = ends
        if step < len(patient.routes):
            issued += 1
            heapq.heappush(tickets, (ends, issued, patient, step + 1))
    return measured


@pytest.mark.parametrize("seed", [31, 7, 3])
def test_the_model_day_falls_within_its_stated_ranges(seed: int) -> None:
    visits = clinic_visits(seed, CLINICS)
    top = busiest(visits, 1)[0]
    day = day_patients(seed, {top: visits[top]})
    low, high = CALIBRATION["busiest_visits"]
    assert low <= len(day) <= high
    mg = waits(day, staffed_counters(visits[top]), seed)["MG"]
    low, high = CALIBRATION["busiest_mg_wait_median"]
    assert low <= statistics.median(mg) <= high
    low, high = CALIBRATION["morning_share"]
    morning = sum(p.arrives_after < 3 * 3600 for p in day) / len(day)
    assert low <= morning <= high


def test_polyclinics_range_from_a_village_to_a_town() -> None:
    visits = clinic_visits(31, CLINICS)
    assert 20 <= min(visits.values()) <= 60
    assert 1800 <= sum(visits.values()) <= 2600
    # most polyclinics are small: the wilaya's median general-medicine wait is short
    medians = []
    for clinic, n in visits.items():
        mg = waits(day_patients(31, {clinic: n}), staffed_counters(n), 31).get("MG", [])
        if len(mg) >= 5:
            medians.append(statistics.median(mg))
    assert statistics.median(medians) < 20


def test_the_benchmarks_draw_the_same_patients() -> None:
    drawn = patients(7, 500, ["31-PC-001"])
    assert drawn == patients(7, 500, ["31-PC-001"])
    assert [p.arrives_after for p in drawn] == sorted(p.arrives_after for p in drawn)
    assert 0.02 <= sum(p.no_show for p in drawn) / len(drawn) <= 2.5 * NO_SHOW_RATE
