"""The rules a payload enforces beyond field types: a contract that cannot be broken."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from sihha_contracts.catalogue import payload_model

ONE_HOUR = timedelta(hours=1)


def _changed(samples: dict[str, dict[str, Any]], event_type: str, **changes: Any) -> Any:
    return {**samples[event_type], **changes}


@pytest.mark.parametrize(
    ("event_type", "changes"),
    [
        ("queue.ticket.called", {"call_mode": "next", "call_mode_reason": "patient_returned"}),
        ("queue.ticket.called", {"reason": "Dr. Benali asked for him"}),
        ("queue.ticket.called", {"waited_seconds": -1}),
        ("queue.ticket.issued", {"ticket_number": "42"}),
        ("queue.ticket.issued", {"appointment_ref": '=HYPERLINK("http://x.example","ok")'}),
        ("queue.ticket.issued", {"appointment_ref": "@SUM(A1)"}),
        ("queue.prescription.issued", {"line_count": 1}),  # two codes, one line
        ("queue.prescription.issued", {"drug_codes": ["paracetamol 1g"]}),
        ("queue.prescription.dispensed", {"line_count": 0}),
        ("queue.terminal.heartbeat", {"terminal_kind": "tablet"}),
        ("appointments.appointment.booked", {"booking_code": "k7q2"}),
        ("appointments.appointment.booked", {"booked_via": "fax"}),
        ("appointments.appointment.booked", {"slot_start": "2026-06-15T08:30:00"}),  # naive
        ("appointments.schedule.published", {"specialist_ref": "Dr Amina Benali"}),
        ("appointments.notification.requested", {"appointment_id": None}),
        ("appointments.notification.requested", {"channel": "letter"}),
        ("records.patient.merged", {"merged_patient_key": "3f" * 32}),
        ("records.patient.registered", {"home_commune": "Oran"}),
        ("records.diagnosis.recorded", {"icd10_code": "pneumonia"}),
        ("records.encounter.closed", {"length_of_stay_hours": -3}),
        ("emergency.visit.triaged", {"triage_level": 0}),
        ("emergency.visit.triaged", {"triage_level": 6}),
        ("emergency.visit.disposition_decided", {"disposition": "discharged"}),  # + department
        (
            "emergency.visit.disposition_decided",
            {"disposition": "admitted", "transfer_facility_id": "31-EPH-01"},
        ),
        ("emergency.visit.arrived", {"arrival_mode": "helicopter"}),
        ("reporting.report.published", {"formats": []}),
        ("reporting.report.published", {"formats": ["pdf", "pdf"]}),
        ("reporting.report.published", {"delivered_to": "someone@example.org"}),
    ],
)
def test_invalid_payloads_are_refused(
    samples: dict[str, dict[str, Any]], event_type: str, changes: dict[str, Any]
) -> None:
    model = payload_model(event_type, 1)
    assert model is not None
    with pytest.raises(ValidationError):
        model.model_validate(_changed(samples, event_type, **changes))


@pytest.mark.parametrize(
    "event_type",
    [
        "appointments.appointment.booked",
        "appointments.waitlist.offered",
        "appointments.appointment.rescheduled",
    ],
)
def test_a_slot_ends_after_it_starts(samples: dict[str, dict[str, Any]], event_type: str) -> None:
    model = payload_model(event_type, 1)
    assert model is not None
    start = samples[event_type]["slot_start"]
    with pytest.raises(ValidationError, match="slot_end"):
        model.model_validate(_changed(samples, event_type, slot_end=start))
    model.model_validate(_changed(samples, event_type, slot_end=start + ONE_HOUR))


@pytest.mark.parametrize(
    ("event_type", "first", "last"),
    [
        ("appointments.schedule.published", "first_day", "last_day"),
        ("reporting.report.published", "period_start", "period_end"),
    ],
)
def test_a_range_of_days_is_in_order(
    samples: dict[str, dict[str, Any]], event_type: str, first: str, last: str
) -> None:
    model = payload_model(event_type, 1)
    assert model is not None
    day = samples[event_type][first]
    with pytest.raises(ValidationError):
        model.model_validate(_changed(samples, event_type, **{last: day - timedelta(days=1)}))
    model.model_validate(_changed(samples, event_type, **{last: day}))  # one day is fine


def test_a_transfer_names_the_receiving_establishment(
    samples: dict[str, dict[str, Any]],
) -> None:
    model = payload_model("emergency.visit.disposition_decided", 1)
    assert model is not None
    decided = model.model_validate(
        {
            "visit_id": samples["emergency.visit.triaged"]["visit_id"],
            "disposition": "transferred",
            "transfer_facility_id": "31-CHU-01",
        }
    )
    assert decided.model_dump()["transfer_facility_id"] == "31-CHU-01"


def test_a_notification_about_a_waitlist_offer_needs_no_appointment(
    samples: dict[str, dict[str, Any]],
) -> None:
    model = payload_model("appointments.notification.requested", 1)
    assert model is not None
    offer = samples["appointments.waitlist.offered"]["waitlist_entry_id"]
    model.model_validate(
        _changed(
            samples,
            "appointments.notification.requested",
            appointment_id=None,
            waitlist_entry_id=offer,
        )
    )


def test_optional_fields_may_be_left_out(samples: dict[str, dict[str, Any]]) -> None:
    for event_type in samples:
        model = payload_model(event_type, 1)
        assert model is not None
        required = set(model.model_json_schema().get("required", []))
        minimal = {key: value for key, value in samples[event_type].items() if key in required}
        if event_type == "appointments.notification.requested":
            minimal["appointment_id"] = samples[event_type]["appointment_id"]
        model.model_validate(minimal)


@pytest.mark.parametrize(
    "changes",
    [
        {"facility_id": '=HYPERLINK("http://x.example","Lotfi")'},
        {"facility_id": "+31-PC-001"},
        {"facility_id": "-31-PC-001"},
        {"facility_id": "@31-PC-001"},
        {"facility_id": "\t31-PC-001"},
        {"facility_id": "31-PC-001\r"},
        {"facility_id": "Polyclinique Lotfi"},
        {"facility_id": "31-pc-001"},
        {"aggregate_id": "=1+1"},
        {"aggregate_id": "-2+3"},
        {"aggregate_id": "ticket of Ahmed"},
        {"producer": {"name": "=cmd", "version": "1"}},
        {"producer": {"name": "queue", "version": "@1"}},
    ],
)
def test_identifiers_of_the_envelope_are_checked_against_their_patterns(
    envelope_of: Any, sample_of: Any, changes: dict[str, Any]
) -> None:
    """Everything on the bus is untrusted: an identifier that is not one is refused."""
    model = payload_model("queue.ticket.issued", 1)
    assert model is not None
    with pytest.raises(ValidationError):
        envelope_of(sample_of(model), **changes)


@pytest.mark.parametrize("facility_id", ["31-PC-001", "31-EPSP-01", "31-CHU-01", "31"])
def test_an_envelope_names_an_establishment_or_the_wilaya(
    envelope_of: Any, sample_of: Any, facility_id: str
) -> None:
    model = payload_model("reporting.report.published", 1)
    assert model is not None
    envelope = envelope_of(
        sample_of(model),
        facility_id=facility_id,
        aggregate_id="wilaya_monthly:2026-10-01:2026-10-31",
    )
    assert envelope.facility_id == facility_id
