"""Emergency departments: per establishment and day, and per emergency visit.

- `emergency_daily` (establishment, Algiers day of the event): arrivals,
  triages, first doctor contacts, dispositions, departures, alerts;
- `emergency_visits` (one row per visit, no patient key): arrival (mode, age
  band, sex), the *initial* triage level (the first triage by time; a
  re-triage does not change it), first seen by a doctor, the latest
  disposition and the departure with the length of stay.
  Door-to-doctor and length of stay are computed from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sihha_contracts.events.emergency import (
    Disposition,
    EmergencyAlertRaisedV1,
    EmergencyVisitArrivedV1,
    EmergencyVisitDepartedV1,
    EmergencyVisitDispositionDecidedV1,
    EmergencyVisitSeenByDoctorV1,
    EmergencyVisitTriagedV1,
)
from sihha_reporting.domain.facts import Fact
from sihha_reporting.domain.writes import FIRST, MAX, MIN, SUM, Upsert, earliest, latest

if TYPE_CHECKING:
    from sihha_reporting.projections import ProjectionContext

NAME = "emergency"
VERSION = 1
HANDLES = frozenset(
    {
        "emergency.visit.arrived",
        "emergency.visit.triaged",
        "emergency.visit.seen_by_doctor",
        "emergency.visit.disposition_decided",
        "emergency.visit.departed",
        "emergency.alert.raised",
    }
)
TABLES = ("emergency_daily", "emergency_visits")

DAILY_COUNTS = ("arrivals", "triages", "seen_by_doctor", "dispositions", "departures", "alerts")


def project(facts: Sequence[Fact], context: ProjectionContext) -> list[Upsert]:
    daily = Upsert("emergency_daily", ("facility_id", "day"), {n: SUM for n in DAILY_COUNTS})
    visits = Upsert(
        "emergency_visits",
        ("visit_id",),
        {
            "facility_id": FIRST,
            "day": MIN,
            "arrived_at": MIN,
            "arrival_mode": FIRST,
            "age_band": FIRST,
            "sex": FIRST,
            "triaged_at": MIN,
            "triage_event": earliest("triaged_at", "triage_event"),
            "triage_level": earliest("triaged_at", "triage_event"),
            "seen_at": MIN,
            "seen_event": earliest("seen_at", "seen_event"),
            "reported_minutes_to_doctor": earliest("seen_at", "seen_event"),
            "disposition_at": MAX,
            "disposition_event": latest("disposition_at", "disposition_event"),
            "disposition": latest("disposition_at", "disposition_event"),
            "departed_at": MAX,
            "departure_event": latest("departed_at", "departure_event"),
            "length_of_stay_minutes": latest("departed_at", "departure_event"),
        },
    )
    for fact in facts:
        p, facility, day, at = fact.payload, fact.facility_id, fact.day, fact.occurred_at
        if isinstance(p, EmergencyVisitArrivedV1):
            daily.add(facility_id=facility, day=day, arrivals=1)
            visits.add(
                visit_id=p.visit_id,
                facility_id=facility,
                day=day,
                arrived_at=at,
                arrival_mode=p.arrival_mode.value,
                age_band=p.age_band.value,
                sex=p.sex.value,
            )
        elif isinstance(p, EmergencyVisitTriagedV1):
            daily.add(facility_id=facility, day=day, triages=1)
            visits.add(
                visit_id=p.visit_id,
                facility_id=facility,
                day=day,
                triaged_at=at,
                triage_event=fact.event_id,
                triage_level=p.triage_level,
            )
        elif isinstance(p, EmergencyVisitSeenByDoctorV1):
            daily.add(facility_id=facility, day=day, seen_by_doctor=1)
            visits.add(
                visit_id=p.visit_id,
                facility_id=facility,
                day=day,
                seen_at=at,
                seen_event=fact.event_id,
                reported_minutes_to_doctor=p.minutes_since_arrival,
            )
        elif isinstance(p, EmergencyVisitDispositionDecidedV1):
            daily.add(facility_id=facility, day=day, dispositions=1)
            visits.add(
                visit_id=p.visit_id,
                facility_id=facility,
                day=day,
                disposition_at=at,
                disposition_event=fact.event_id,
                disposition=p.disposition.value,
            )
        elif isinstance(p, EmergencyVisitDepartedV1):
            daily.add(facility_id=facility, day=day, departures=1)
            values = {
                "visit_id": p.visit_id,
                "facility_id": facility,
                "day": day,
                "departed_at": at,
                "departure_event": fact.event_id,
                "length_of_stay_minutes": p.length_of_stay_minutes,
            }
            if p.disposition is not None:
                # a departure that states its disposition counts as one decided then
                values.update(
                    disposition_at=at,
                    disposition_event=fact.event_id,
                    disposition=p.disposition.value,
                )
            visits.add(**values)
        elif isinstance(p, EmergencyAlertRaisedV1):
            daily.add(facility_id=facility, day=day, alerts=1)
    return [daily, visits]


LEFT_WITHOUT_BEING_SEEN = Disposition.LEFT_WITHOUT_BEING_SEEN.value
