"""The one traffic model of the platform: who comes to Oran's polyclinics, when, for what.

The demo's simulated day and the benchmarks in `bench/` draw their patients
from here, so the load they measure is the day the demo shows. Deterministic
for a given seed. Pure: no I/O.

The shape, from how polyclinics work (not measured data; tune with the
directorate's figures when they come): most patients arrive early, with a
peak around 09:00 Algiers time; general medicine and paediatrics take the most
tickets; a third of consultations send the patient on to the laboratory,
radiology or the pharmacy; about one patient in twenty is gone when called.
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
    """A morning peak (triangular around 09:00) over a thin all-day stream."""
    day = (LAST_ARRIVAL.hour - OPENING.hour) * 3600
    if rng.random() < 0.65:
        return rng.triangular(0, 3.0 * 3600, 1.0 * 3600)
    return rng.uniform(0, day)


def _minutes(rng: random.Random, service: str) -> float:
    return max(1.0, rng.lognormvariate(0, 0.35) * SERVICE_MINUTES.get(service, 8))


def patients(
    seed: int, count: int, clinics: list[str], weights: dict[str, float] | None = None
) -> list[Patient]:
    """`count` patients spread over `clinics` (busier clinics by `weights`), by arrival."""
    rng = random.Random(seed)
    clinic_weights = [weights.get(c, 1.0) if weights else 1.0 for c in clinics]
    drawn = []
    for _ in range(count):
        service = _pick(rng, SERVICE_MIX)
        routes = tuple(target for target, p in ROUTING.get(service, {}).items() if rng.random() < p)
        drawn.append(
            Patient(
                arrives_after=_arrival_seconds(rng),
                clinic=rng.choices(clinics, clinic_weights)[0],
                service_code=service,
                priority=_pick(rng, PRIORITY_MIX),
                routes=routes,
                no_show=rng.random() < NO_SHOW_RATE,
                service_minutes=tuple(_minutes(rng, s) for s in (service, *routes)),
            )
        )
    return sorted(drawn, key=lambda p: p.arrives_after)


def clinic_weights(seed: int, clinics: list[str]) -> dict[str, float]:
    """Some polyclinics are busier than others (a town's main one, a village's)."""
    rng = random.Random(seed * 7919)
    return {clinic: rng.uniform(0.4, 1.8) for clinic in clinics}
