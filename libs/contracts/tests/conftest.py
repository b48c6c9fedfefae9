"""Fixtures: sample payloads of every registered event, and an envelope builder.

Every model in the catalogue must have a sample here (a test checks it), so
that a new event is round-tripped and checked against its exported schema.
Tests get these through fixtures (the test suite runs in importlib mode, where
test modules cannot import each other).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from sihha_contracts.catalogue import all_models
from sihha_contracts.envelope import Envelope, EventPayload, Producer

ALGIERS = timezone(timedelta(hours=1), "Africa/Algiers")
AT = datetime(2026, 6, 15, 8, 30, tzinfo=ALGIERS)
PATIENT = "3f" * 32
OTHER_PATIENT = "a1" * 32
ID = UUID("5b0d4c1e-8f57-4a3e-9d1b-6c2f0e7a9b11")
OTHER_ID = UUID("c9e8a7b6-1d2c-4e3f-8a9b-0c1d2e3f4a5b")

SAMPLES: dict[str, dict[str, Any]] = {
    # queue
    "queue.ticket.issued": {
        "ticket_id": ID,
        "visit_id": OTHER_ID,
        "service_code": "MG",
        "ticket_number": "MG-042",
        "service_day": date(2026, 6, 15),
        "priority": "elderly",
        "channel": "kiosk",
        "arrived_at": AT,
        "patient_key": PATIENT,
        "age_band": "65+",
        "sex": "F",
        "appointment_ref": "K7Q2M9XA",
    },
    "queue.ticket.called": {
        "ticket_id": ID,
        "visit_id": OTHER_ID,
        "service_code": "MG",
        "ticket_number": "MG-042",
        "counter_id": uuid4(),
        "counter_label": "Box 3",
        "called_by_role": "doctor",
        "reason": "priority:elderly+ageing",
        "waited_seconds": 1260,
        "call_mode": "specific",
        "call_mode_reason": "patient_returned",
    },
    "queue.ticket.recalled": {
        "ticket_id": ID,
        "visit_id": OTHER_ID,
        "service_code": "MG",
        "ticket_number": "MG-042",
        "counter_id": uuid4(),
        "counter_label": "Box 3",
        "recall_count": 1,
    },
    "queue.ticket.no_show": {
        "ticket_id": ID,
        "visit_id": OTHER_ID,
        "service_code": "MG",
        "ticket_number": "MG-042",
        "requeued": True,
    },
    "queue.ticket.cancelled": {
        "ticket_id": ID,
        "visit_id": OTHER_ID,
        "service_code": "MG",
        "reason": "patient_left",
    },
    "queue.ticket.expired": {
        "ticket_id": ID,
        "visit_id": OTHER_ID,
        "service_code": "MG",
        "ticket_number": "MG-042",
        "service_day": "2026-11-25",
        "status_before": "waiting",
    },
    "queue.visit.started": {
        "ticket_id": ID,
        "visit_id": OTHER_ID,
        "counter_id": uuid4(),
        "service_code": "PED",
    },
    "queue.patient.routed": {
        "visit_id": OTHER_ID,
        "from_ticket_id": ID,
        "to_ticket_id": uuid4(),
        "from_service_code": "MG",
        "to_service_code": "LAB",
        "keeps_original_arrival": True,
    },
    "queue.visit.completed": {
        "visit_id": OTHER_ID,
        "ticket_id": ID,
        "service_code": "MG",
        "service_seconds": 540,
        "visit_finished": False,
    },
    "queue.terminal.heartbeat": {
        "terminal_id": ID,
        "terminal_kind": "kiosk",
        "within_opening_hours": True,
    },
    "queue.prescription.issued": {
        "prescription_id": ID,
        "visit_id": OTHER_ID,
        "patient_key": PATIENT,
        "line_count": 3,
        "drug_codes": ["01 A 003", "02 B 006"],
    },
    "queue.prescription.dispensed": {
        "prescription_id": ID,
        "visit_id": OTHER_ID,
        "line_count": 2,
        "drug_codes": ["01 A 003", "02 B 006"],
        "fully_dispensed": False,
    },
    "queue.prescription.cancelled": {
        "prescription_id": ID,
        "visit_id": OTHER_ID,
        "line_count": 1,
        "drug_codes": ["03 A 001"],
        "reason": "issued_in_error",
    },
    # appointments
    "appointments.schedule.published": {
        "schedule_id": ID,
        "specialty_code": "CARDIO",
        "specialist_ref": "sp-7f3a91c2",
        "first_day": date(2026, 7, 1),
        "last_day": date(2026, 7, 31),
        "slot_count": 240,
    },
    "appointments.appointment.booked": {
        "appointment_id": ID,
        "booking_code": "K7Q2M9XA",
        "schedule_id": OTHER_ID,
        "specialty_code": "CARDIO",
        "slot_start": AT,
        "slot_end": AT + timedelta(minutes=20),
        "patient_key": PATIENT,
        "booked_via": "web",
        "age_band": "45-64",
        "sex": "M",
    },
    "appointments.appointment.cancelled": {
        "appointment_id": ID,
        "cancelled_by": "citizen",
        "reason": "citizen_request",
    },
    "appointments.appointment.rescheduled": {
        "appointment_id": ID,
        "previous_slot_start": AT,
        "slot_start": AT + timedelta(days=2),
        "slot_end": AT + timedelta(days=2, minutes=20),
        "rescheduled_by": "clinic",
    },
    "appointments.appointment.arrived": {"appointment_id": ID, "ticket_id": OTHER_ID},
    "appointments.appointment.no_show": {"appointment_id": ID, "slot_start": AT},
    "appointments.waitlist.offered": {
        "waitlist_entry_id": ID,
        "patient_key": PATIENT,
        "specialty_code": "ENDO",
        "slot_start": AT,
        "slot_end": AT + timedelta(minutes=30),
        "expires_at": AT - timedelta(hours=20),
    },
    "appointments.notification.requested": {
        "notification_id": ID,
        "channel": "sms",
        "template_code": "appointment.reminder_24h",
        "patient_key": PATIENT,
        "appointment_id": OTHER_ID,
        "language": "ar",
    },
    # records
    "records.patient.registered": {
        "patient_key": PATIENT,
        "age_band": "25-44",
        "sex": "F",
        "home_commune": "3101",
    },
    "records.patient.merged": {
        "surviving_patient_key": PATIENT,
        "merged_patient_key": OTHER_PATIENT,
    },
    "records.encounter.opened": {
        "encounter_id": ID,
        "patient_key": PATIENT,
        "encounter_kind": "inpatient",
        "department_code": "CARDIO",
        "origin_emergency_visit_id": OTHER_ID,
    },
    "records.encounter.closed": {
        "encounter_id": ID,
        "outcome": "discharged",
        "length_of_stay_hours": 72,
    },
    "records.diagnosis.recorded": {
        "diagnosis_id": OTHER_ID,
        "encounter_id": ID,
        "icd10_code": "J18.9",
        "rank": "primary",
    },
    # emergency
    "emergency.visit.arrived": {
        "visit_id": ID,
        "arrival_mode": "ambulance",
        "age_band": "65+",
        "sex": "M",
    },
    "emergency.visit.triaged": {"visit_id": ID, "triage_level": 2, "zone": "acute"},
    "emergency.visit.seen_by_doctor": {"visit_id": ID, "minutes_since_arrival": 17},
    "emergency.visit.disposition_decided": {
        "visit_id": ID,
        "disposition": "admitted",
        "patient_key": PATIENT,
        "admitting_department_code": "CARDIO",
    },
    "emergency.visit.departed": {
        "visit_id": ID,
        "length_of_stay_minutes": 245,
        "disposition": "admitted",
    },
    "emergency.alert.raised": {
        "alert_kind": "overcrowding",
        "level": "critical",
        "value": 48,
        "threshold": 40,
    },
    # reporting
    "reporting.report.published": {
        "report_id": ID,
        "report_kind": "ministry_monthly",
        "period_start": date(2026, 5, 1),
        "period_end": date(2026, 5, 31),
        "revision": 2,
        "formats": ["pdf", "csv"],
        "delivered_to": "ministry-portal",
    },
}


def _sample(model: type[EventPayload]) -> EventPayload:
    return model.model_validate(SAMPLES[model.event_type])


def _envelope(payload: EventPayload, **overrides: Any) -> Envelope:
    fields: dict[str, Any] = {
        "event_id": uuid4(),
        "event_type": payload.event_type,
        "schema_version": payload.schema_version,
        "occurred_at": AT,
        "recorded_at": AT + timedelta(seconds=1),
        "producer": Producer(name=payload.service(), version="1.4.2"),
        "facility_id": "31-PC-001",
        "aggregate_id": str(ID),
        "sequence": 3,
        "correlation_id": uuid4(),
        "causation_id": uuid4(),
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "payload": payload.model_dump(mode="json"),
    }
    fields.update(overrides)
    return Envelope(**fields)


@pytest.fixture(
    params=list(all_models()), ids=lambda model: f"{model.event_type}.v{model.schema_version}"
)
def model(request: pytest.FixtureRequest) -> type[EventPayload]:
    """Each registered payload model in turn."""
    chosen: type[EventPayload] = request.param
    return chosen


@pytest.fixture
def samples() -> dict[str, dict[str, Any]]:
    """Valid payload fields by event type (copies: tests may change them)."""
    return {event_type: dict(fields) for event_type, fields in SAMPLES.items()}


@pytest.fixture
def sample_of() -> Callable[[type[EventPayload]], EventPayload]:
    """`sample_of(Model)`: a valid instance of the model."""
    return _sample


@pytest.fixture
def envelope_of() -> Callable[..., Envelope]:
    """`envelope_of(payload, **overrides)`: a complete envelope carrying the payload."""
    return _envelope
