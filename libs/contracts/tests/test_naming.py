"""Event types follow `<service>.<aggregate>.<verb in past tense>` and live with their producer."""

from __future__ import annotations

import pkgutil
import re

import sihha_contracts.events as events_package
from sihha_contracts.catalogue import all_models, event_types
from sihha_contracts.envelope import EventPayload

SERVICES = {"queue", "appointments", "records", "emergency", "reporting"}
EVENT_TYPE = re.compile(r"^(?P<service>[a-z]+)\.(?P<aggregate>[a-z]+)\.(?P<verb>[a-z_]+)$")
#: names fixed by the design's catalogue that are not past participles
NOT_A_VERB = {"no_show", "heartbeat"}
IRREGULAR_PAST = {"seen", "sent", "left", "made", "taken", "given", "held", "paid", "done"}

#: the catalogue of the design brief; a test fails if one goes missing
CATALOGUE = {
    "queue.ticket.issued", "queue.ticket.called", "queue.ticket.recalled",
    "queue.ticket.no_show", "queue.ticket.cancelled", "queue.visit.started",
    "queue.patient.routed", "queue.visit.completed", "queue.terminal.heartbeat",
    "queue.prescription.issued", "queue.prescription.dispensed",
    "queue.prescription.cancelled",
    "appointments.schedule.published", "appointments.appointment.booked",
    "appointments.appointment.cancelled", "appointments.appointment.rescheduled",
    "appointments.appointment.arrived", "appointments.appointment.no_show",
    "appointments.waitlist.offered", "appointments.notification.requested",
    "records.patient.registered", "records.patient.merged", "records.encounter.opened",
    "records.encounter.closed", "records.diagnosis.recorded",
    "emergency.visit.arrived", "emergency.visit.triaged", "emergency.visit.seen_by_doctor",
    "emergency.visit.disposition_decided", "emergency.visit.departed",
    "emergency.alert.raised",
    "reporting.report.published",
}  # fmt: skip


def test_the_design_catalogue_is_complete() -> None:
    assert CATALOGUE <= set(event_types())


def test_event_type_is_service_aggregate_verb(model: type[EventPayload]) -> None:
    match = EVENT_TYPE.match(model.event_type)
    assert match, model.event_type
    verb = match["verb"]
    assert verb in NOT_A_VERB or any(
        word.endswith("ed") or word in IRREGULAR_PAST for word in verb.split("_")
    ), f"{model.event_type}: the verb should be in the past tense"


def test_service_matches_its_module(model: type[EventPayload]) -> None:
    service = model.event_type.split(".", 1)[0]
    assert service in SERVICES
    assert model.service() == service
    assert model.__module__ == f"sihha_contracts.events.{service}"


def test_class_name_ends_with_its_version(model: type[EventPayload]) -> None:
    assert model.__name__.endswith(f"V{model.schema_version}")


def test_summary_is_one_english_sentence(model: type[EventPayload]) -> None:
    summary = model.summary
    assert summary[0].isupper() and summary.endswith("."), summary
    assert "\n" not in summary and len(summary) <= 120


def test_every_module_of_the_events_package_is_loaded() -> None:
    modules = {info.name for info in pkgutil.iter_modules(events_package.__path__)}
    assert modules == SERVICES
    assert {model.service() for model in all_models()} == SERVICES
