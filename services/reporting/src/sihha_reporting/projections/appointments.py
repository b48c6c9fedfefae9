"""Remote specialist appointments: per establishment and day, and per appointment.

- `appointments_daily` (establishment, Algiers day of the event): schedules
  published and their slots, bookings, cancellations, reschedulings, arrivals,
  no-shows, waitlist offers;
- `appointment_facts` (one row per appointment, no patient key): specialty,
  booking channel, when it was booked, the slot first booked (the lead time is
  booking → that slot), the slot it holds now (after reschedulings: the one
  of its latest event that names a slot), and whether it was attended, missed
  or cancelled;
- `appointment_schedules` (one row per schedule): its latest revision (by
  `sequence`): specialty, days, and the places it offers on each day.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sihha_contracts.events.appointments import (
    AppointmentArrivedV1,
    AppointmentBookedV1,
    AppointmentCancelledV1,
    AppointmentNoShowV1,
    AppointmentRescheduledV1,
    SchedulePublishedV1,
    WaitlistOfferedV1,
)
from sihha_kit.clock import local_day
from sihha_reporting.domain.facts import Fact
from sihha_reporting.domain.writes import FIRST, MAX, MIN, OR, SUM, Upsert, latest

if TYPE_CHECKING:
    from sihha_reporting.projections import ProjectionContext

NAME = "appointments"
VERSION = 2  # 2: current slots and schedules, for the section per specialty
HANDLES = frozenset(
    {
        "appointments.schedule.published",
        "appointments.appointment.booked",
        "appointments.appointment.cancelled",
        "appointments.appointment.rescheduled",
        "appointments.appointment.arrived",
        "appointments.appointment.no_show",
        "appointments.waitlist.offered",
    }
)
TABLES = ("appointments_daily", "appointment_facts", "appointment_schedules")

DAILY_COUNTS = (
    "schedules_published",
    "slots_published",
    "booked",
    "cancelled",
    "rescheduled",
    "arrived",
    "no_shows",
    "waitlist_offers",
)


def project(facts: Sequence[Fact], context: ProjectionContext) -> list[Upsert]:
    daily = Upsert("appointments_daily", ("facility_id", "day"), {n: SUM for n in DAILY_COUNTS})
    appointments = Upsert(
        "appointment_facts",
        ("appointment_id",),
        {
            "facility_id": FIRST,
            "specialty_code": FIRST,
            "booked_via": FIRST,
            "booked_at": MIN,
            "booked_day": MIN,
            "slot_start": FIRST,
            "slot_day": FIRST,
            "arrived": OR,
            "no_show": OR,
            "cancelled": OR,
            "rescheduled": OR,
            "slot_sequence": MAX,
            "current_slot_start": latest("slot_sequence", "current_slot_start"),
            "current_slot_day": latest("slot_sequence", "current_slot_start"),
        },
    )
    revision = latest("revision", "revision_event")
    schedules = Upsert(
        "appointment_schedules",
        ("schedule_id",),
        {
            "facility_id": FIRST,
            "specialty_code": FIRST,
            "revision": MAX,
            "revision_event": revision,
            "first_day": revision,
            "last_day": revision,
            "slot_count": revision,
            "place_count": revision,
            "places_by_day": revision,
        },
    )
    for fact in facts:
        p, facility, day = fact.payload, fact.facility_id, fact.day
        if isinstance(p, SchedulePublishedV1):
            daily.add(
                facility_id=facility, day=day, schedules_published=1, slots_published=p.slot_count
            )
            schedules.add(
                schedule_id=p.schedule_id,
                facility_id=facility,
                specialty_code=p.specialty_code,
                revision=fact.sequence,
                revision_event=fact.event_id,
                first_day=p.first_day,
                last_day=p.last_day,
                slot_count=p.slot_count,
                place_count=p.place_count,
                places_by_day=None
                if p.places_by_day is None
                else json.dumps({d.isoformat(): n for d, n in sorted(p.places_by_day.items())}),
            )
        elif isinstance(p, AppointmentBookedV1):
            daily.add(facility_id=facility, day=day, booked=1)
            appointments.add(
                appointment_id=p.appointment_id,
                facility_id=facility,
                specialty_code=p.specialty_code,
                booked_via=p.booked_via.value,
                booked_at=fact.occurred_at,
                booked_day=day,
                slot_start=p.slot_start,
                slot_day=local_day(p.slot_start),
                slot_sequence=fact.sequence,
                current_slot_start=p.slot_start,
                current_slot_day=local_day(p.slot_start),
            )
        elif isinstance(p, AppointmentCancelledV1):
            daily.add(facility_id=facility, day=day, cancelled=1)
            appointments.add(appointment_id=p.appointment_id, facility_id=facility, cancelled=True)
        elif isinstance(p, AppointmentRescheduledV1):
            daily.add(facility_id=facility, day=day, rescheduled=1)
            appointments.add(
                appointment_id=p.appointment_id,
                facility_id=facility,
                rescheduled=True,
                slot_sequence=fact.sequence,
                current_slot_start=p.slot_start,
                current_slot_day=local_day(p.slot_start),
            )
        elif isinstance(p, AppointmentArrivedV1):
            daily.add(facility_id=facility, day=day, arrived=1)
            appointments.add(appointment_id=p.appointment_id, facility_id=facility, arrived=True)
        elif isinstance(p, AppointmentNoShowV1):
            daily.add(facility_id=facility, day=day, no_shows=1)
            appointments.add(appointment_id=p.appointment_id, facility_id=facility, no_show=True)
        elif isinstance(p, WaitlistOfferedV1):
            daily.add(facility_id=facility, day=day, waitlist_offers=1)
    return [daily, appointments, schedules]
