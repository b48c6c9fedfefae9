"""The one traffic model of the platform: who comes to Oran's polyclinics, when, for what.

The demo's simulated day and the benchmarks in `bench/` draw their patients
from here, so the load they measure is the day the demo shows. Deterministic
for a given seed. Pure: no I/O.

The figures, where each comes from, and which are plain assumptions are in
`runner/README.md` ("The traffic model"); the names below are the ones it
uses. In short: the busiest polyclinic sees about 300 patients a day and the
smallest a few dozen (rank-size); a crowd waits at the door at opening and
most of the rest come in the morning; one or two general practitioners
consult, so general medicine keeps a queue of tens of minutes through the
morning at a busy polyclinic; consultations send patients on to the
laboratory, radiology or the pharmacy; about one patient in twenty is gone
when called. `CALIBRATION` gives the ranges the demo's measured day must
fall in (the demo prints them and its test checks them).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import time

#: share of first tickets per service
SERVICE_MIX: dict[str, float] = {
    "MG": 0.36,
    "PED": 0.15,
    "GYN": 0.08,
    "DENT": 0.08,
    "LAB": 0.12,
    "RAD": 0.04,
    "VAC": 0.08,
    "SOIN": 0.06,
    "PHAR": 0.03,
}
#: priority categories at reception (appointment holders come through check-in)
PRIORITY_MIX: dict[str, float] = {
    "normal": 0.78,
    "elderly": 0.11,
    "pregnant": 0.05,
    "disability": 0.04,
    "urgent": 0.02,
}
#: median minutes of service at the counter or in the consultation room
SERVICE_MINUTES: dict[str, float] = {
    "MG": 9,
    "PED": 11,
    "GYN": 14,
    "DENT": 18,
    "LAB": 4,
    "RAD": 8,
    "VAC": 3,
    "SOIN": 7,
    "PHAR": 3,
    "SPEC": 15,
}
#: after a consultation at these services, where patients are sent (probability each)
ROUTING: dict[str, dict[str, float]] = {
    "MG": {"LAB": 0.25, "RAD": 0.08, "PHAR": 0.30},
    "PED": {"LAB": 0.20, "PHAR": 0.30},
    "GYN": {"LAB": 0.20, "RAD": 0.10},
    "SPEC": {"LAB": 0.25, "RAD": 0.15},
}
NO_SHOW_RATE = 0.05
OPENING = time(8, 0)
LAST_ARRIVAL = time(15, 0)

#: patients a day (first tickets) at the busiest polyclinic of the wilaya
BUSIEST_VISITS = 300
#: rank-size exponent: the polyclinic of rank r sees BUSIEST_VISITS × r^-exponent
#: (0.65 puts the 32nd, a village's, at about 30 a day)
RANK_EXPONENT = 0.65
#: share of the day's patients already waiting at the door when the clinic opens
#: (they take their tickets in its first ten minutes)
DOOR_SHARE = 0.15
#: share who come in the morning wave, peaking an hour after opening (09:00)
MORNING_SHARE = 0.60
#: the morning wave: from opening, peak after `MORNING_PEAK_HOURS`, over by `MORNING_HOURS`
MORNING_PEAK_HOURS = 1.0
MORNING_HOURS = 3.5
#: the doctors and agents reach their rooms up to this many minutes after opening
LATEST_START_MINUTES = 20
#: consultation rooms (counters) staffed per service, by the polyclinic's daily visits:
#: (visits at least, counters); the registry gives each service two counters, the demo
#: adds the others through the queue's admin API as a clinic's administrator would
STAFFING: dict[str, tuple[tuple[int, int], ...]] = {
    "MG": ((0, 1), (80, 2), (170, 3), (250, 4)),
    "PED": ((0, 1), (120, 2), (250, 3)),
    "DENT": ((0, 1), (200, 2)),
}

#: what the demo's measured day must show (inclusive ranges), printed beside the
#: measured figures and checked by tests/integration/test_demo.py
CALIBRATION: dict[str, tuple[float, float]] = {
    #: first tickets of the day at the busiest polyclinic
    "busiest_visits": (200, 400),
    #: median wait (minutes, ticket to call) at general medicine, at the busiest
    #: polyclinic played
    "busiest_mg_wait_median": (10, 60),
    #: share of the day's first tickets issued before 11:00
    "morning_share": (0.6, 0.9),
}


@dataclass(frozen=True)
class Patient:
    #: seconds after the clinic opens
    arrives_after: float
    clinic: str
    service_code: str
    priority: str
    #: services the consultation sends the patient on to, in order
    routes: tuple[str, ...] = ()
    no_show: bool = False
    #: minutes of service at each step (first service, then each route)
    service_minutes: tuple[float, ...] = field(default=())


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _arrival_seconds(rng: random.Random) -> float:
    """The crowd at the door, the morning wave (peak at 09:00), a thin all-day stream."""
    day = (LAST_ARRIVAL.hour - OPENING.hour) * 3600
    draw = rng.random()
    if draw < DOOR_SHARE:
        return rng.uniform(0, 600)
    if draw < DOOR_SHARE + MORNING_SHARE:
        return rng.triangular(0, MORNING_HOURS * 3600, MORNING_PEAK_HOURS * 3600)
    return rng.uniform(0, day)


def _minutes(rng: random.Random, service: str) -> float:
    return max(1.0, rng.lognormvariate(0, 0.35) * SERVICE_MINUTES.get(service, 8))


def _patient(rng: random.Random, clinic: str) -> Patient:
    service = _pick(rng, SERVICE_MIX)
    routes = tuple(target for target, p in ROUTING.get(service, {}).items() if rng.random() < p)
    return Patient(
        arrives_after=_arrival_seconds(rng),
        clinic=clinic,
        service_code=service,
        priority=_pick(rng, PRIORITY_MIX),
        routes=routes,
        no_show=rng.random() < NO_SHOW_RATE,
        service_minutes=tuple(_minutes(rng, s) for s in (service, *routes)),
    )


def patients(
    seed: int, count: int, clinics: list[str], weights: dict[str, float] | None = None
) -> list[Patient]:
    """`count` patients spread over `clinics` (busier clinics by `weights`), by arrival."""
    rng = random.Random(seed)
    clinic_weights = [weights.get(c, 1.0) if weights else 1.0 for c in clinics]
    drawn = [_patient(rng, rng.choices(clinics, clinic_weights)[0]) for _ in range(count)]
    return sorted(drawn, key=lambda p: p.arrives_after)


def clinic_visits(seed: int, clinics: list[str]) -> dict[str, int]:
    """Patients a day at each polyclinic: ranks shuffled by `seed`, the clinic of rank r
    seeing about BUSIEST_VISITS × r^-RANK_EXPONENT (±10 %)."""
    rng = random.Random(seed * 7919)
    ranks = list(range(1, len(clinics) + 1))
    rng.shuffle(ranks)
    return {
        clinic: max(1, round(BUSIEST_VISITS * rank**-RANK_EXPONENT * rng.uniform(0.9, 1.1)))
        for clinic, rank in zip(clinics, ranks, strict=True)
    }


def busiest(visits: dict[str, int], count: int) -> list[str]:
    """The `count` polyclinics with the most visits, busiest first."""
    return sorted(visits, key=lambda clinic: (-visits[clinic], clinic))[:count]


def day_patients(seed: int, visits: dict[str, int]) -> list[Patient]:
    """Exactly `visits[clinic]` patients at each polyclinic, in arrival order."""
    rng = random.Random(seed)
    drawn = [_patient(rng, clinic) for clinic, n in visits.items() for _ in range(n)]
    return sorted(drawn, key=lambda p: (p.arrives_after, p.clinic))


def staffed_counters(visits: int) -> dict[str, int]:
    """Counters (consultation rooms) staffed per service at a polyclinic of `visits`
    patients a day; every service of SERVICE_MIX has one at least."""
    staffed = dict.fromkeys(SERVICE_MIX, 1)
    for service, steps in STAFFING.items():
        staffed[service] = max(n for least, n in steps if visits >= least)
    return staffed


def clinic_weights(seed: int, clinics: list[str]) -> dict[str, float]:
    """Relative busyness of each polyclinic (its share of the wilaya's visits), for
    `patients(…, weights=…)`."""
    visits = clinic_visits(seed, clinics)
    return {clinic: float(n) for clinic, n in visits.items()}
