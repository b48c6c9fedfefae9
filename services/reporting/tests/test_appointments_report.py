"""Issue 14, reporting's part: the specialist appointments per establishment and specialty —
places offered, booked, honoured, missed, the no-show rate and the waiting time to the
appointment — from the appointments service's events, in the report and its files."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta

import httpx
import pytest
from fastapi import FastAPI

from sihha_contracts.envelope import Envelope
from sihha_contracts.events.appointments import (
    Actor,
    AppointmentArrivedV1,
    AppointmentBookedV1,
    AppointmentCancelledV1,
    AppointmentNoShowV1,
    AppointmentRescheduledV1,
    BookingChannel,
    SchedulePublishedV1,
)
from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import EventFactory, algiers

from .conftest import publish, wait_for_archive

pytestmark = pytest.mark.integration

CLINIC = "31-PC-001"
DAY = date(2026, 10, 20)


def schedules(factory: EventFactory) -> list[Envelope]:
    cardio, endo = uuid.uuid4(), uuid.uuid4()
    first, last = DAY - timedelta(days=1), DAY + timedelta(days=3)

    def cardio_revision(places: dict[date, int]) -> Envelope:
        return factory.envelope(
            SchedulePublishedV1(
                schedule_id=cardio,
                specialty_code="CARDIO",
                specialist_ref="sp-cardio-01",
                first_day=first,
                last_day=last,
                slot_count=sum(places.values()),
                places_by_day=places,
            ),
            CLINIC,
            cardio,
            algiers(DAY - timedelta(days=20), 9),
        )

    days = [first, DAY, DAY + timedelta(days=1)]
    original = cardio_revision(dict(zip(days, [10, 10, 10], strict=True)))
    revised = cardio_revision(dict(zip(days, [10, 8, 10], strict=True)))  # a room closed
    no_days = factory.envelope(
        SchedulePublishedV1(
            schedule_id=endo,
            specialty_code="ENDO",
            specialist_ref="sp-endo-01",
            first_day=first,
            last_day=last,
            slot_count=10,
            place_count=20,
        ),
        CLINIC,
        endo,
        algiers(DAY - timedelta(days=20), 9),
    )
    return [revised, original, no_days]  # the revision may arrive first: it still wins


def appointment(
    factory: EventFactory, slot_hour: int, lead_days: int, outcome: str, *, slot_day: date = DAY
) -> list[Envelope]:
    appointment_id = uuid.uuid4()
    slot = algiers(slot_day, slot_hour)
    events = [
        factory.envelope(
            AppointmentBookedV1(
                appointment_id=appointment_id,
                booking_code=uuid.uuid4().hex[:8].upper(),
                specialty_code="CARDIO",
                slot_start=slot,
                slot_end=slot + timedelta(minutes=20),
                patient_key=uuid.uuid4().hex * 2,
                booked_via=BookingChannel.WEB,
            ),
            CLINIC,
            appointment_id,
            slot - timedelta(days=lead_days),
        )
    ]
    if outcome == "arrived":
        payload = AppointmentArrivedV1(appointment_id=appointment_id)
        events.append(factory.envelope(payload, CLINIC, appointment_id, slot))
    elif outcome == "no_show":
        payload = AppointmentNoShowV1(appointment_id=appointment_id, slot_start=slot)
        events.append(factory.envelope(payload, CLINIC, appointment_id, slot + timedelta(hours=1)))
    elif outcome == "cancelled":
        payload = AppointmentCancelledV1(
            appointment_id=appointment_id, cancelled_by=Actor.CITIZEN, reason="citizen_request"
        )
        events.append(factory.envelope(payload, CLINIC, appointment_id, slot - timedelta(days=1)))
    elif outcome.startswith("moved:"):
        to = algiers(date.fromisoformat(outcome[6:]), 9)
        payload = AppointmentRescheduledV1(
            appointment_id=appointment_id,
            previous_slot_start=slot,
            slot_start=to,
            slot_end=to + timedelta(minutes=20),
            rescheduled_by=Actor.CLINIC,
            reason="specialist_absent",
        )
        events.append(factory.envelope(payload, CLINIC, appointment_id, slot - timedelta(days=1)))
    return events


def the_month() -> list[Envelope]:
    factory = EventFactory()
    events = schedules(factory)
    for lead in range(1, 6):
        events += appointment(factory, 10, lead, "arrived")
    events += appointment(factory, 11, 6, "no_show") + appointment(factory, 11, 7, "no_show")
    events += appointment(factory, 12, 8, "cancelled")
    later = DAY + timedelta(days=2)
    events += appointment(factory, 13, 9, f"moved:{later}")  # moved out of the day
    events += appointment(factory, 9, 3, f"moved:{DAY}", slot_day=later)  # moved into it
    return events


def percentile(values: list[float], q: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def test_the_appointments_section_per_specialty_and_establishment(
    reporting_app: tuple[FastAPI, httpx.AsyncClient],
    reporting_settings: ReportingSettings,
    group: dict[str, str],
) -> None:
    _, client = reporting_app
    events = the_month()
    await publish(reporting_settings, events)
    assert await wait_for_archive(reporting_settings, len(events)) == len(events)

    daily = (await client.get(f"/reports/wilaya/daily/{DAY}", headers=group)).json()
    section = daily["appointments_by_specialty"]
    assert "appointment_lead_time@v1" in section["definitions"]
    by_specialty = {r["specialty_code"]: r for r in section["rows"] if r["facility_id"] == CLINIC}
    cardio = by_specialty["CARDIO"]
    assert cardio["places_offered"] == 8  # the schedule's latest revision
    # five honoured, two missed, one moved into the day; the cancelled and the moved-out not
    assert (cardio["places_booked"], cardio["honoured"], cardio["no_shows"]) == (8, 5, 2)
    assert cardio["no_show_rate"] == round(2 / 7, 3)
    assert cardio["lead_time_days_median"] is None  # nothing booked that day
    assert by_specialty["ENDO"]["places_offered"] == 4  # 20 places over 5 days, one of them
    assert by_specialty["ENDO"]["places_booked"] == 0

    monthly = (await client.get("/reports/wilaya/monthly/2026-10", headers=group)).json()
    rows = {r["specialty_code"]: r for r in monthly["appointments_by_specialty"]["rows"]}
    assert rows["CARDIO"]["places_offered"] == 28 and rows["ENDO"]["places_offered"] == 20
    assert rows["CARDIO"]["places_booked"] == 9  # every one not cancelled, all in October
    leads = [1, 2, 3, 4, 5, 6, 7, 8, 9, 3]  # days from booking to the slot booked
    assert rows["CARDIO"]["lead_time_days_median"] == round(percentile(leads, 0.5), 1)
    assert rows["CARDIO"]["lead_time_days_p90"] == round(percentile(leads, 0.9), 1)

    for lang, label in (("fr", "Places offertes"), ("ar", "الأماكن المعروضة")):
        response = await client.get(
            f"/reports/wilaya/daily/{DAY}", params={"format": "csv", "lang": lang}, headers=group
        )
        lines = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        offered = [
            r
            for r in lines
            if r["section"] == "appointments_by_specialty"
            and r["column"] == "places_offered"
            and r["row"] == CLINIC
        ]
        assert {r["value"] for r in offered} == {"8", "4"}
        assert {r["column_label"] for r in offered} == {label}
        pdf = await client.get(
            f"/reports/wilaya/daily/{DAY}", params={"format": "pdf", "lang": lang}, headers=group
        )
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
