"""Every figure a report shows comes with the versioned definition that produced it.

A definition never changes once published: a different way of counting is a
new version (`wait_time@v2`), and reports say which version each figure uses.
A metric"s label and definition are keys of the service"s catalogues
(``metric.<id>.label``, ``metric.<id>.definition``); `as_dict` gives them in
French and in Arabic.
"""

from __future__ import annotations

from dataclasses import dataclass

from sihha_kit.i18n import N_
from sihha_reporting.domain.texts import both


@dataclass(frozen=True)
class Metric:
    id: str
    version: int
    unit: str
    #: catalogue keys of its name and of its definition
    label: str
    definition: str
    sources: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.id}@v{self.version}"

    def as_dict(self) -> dict[str, object]:
        """``{ref, id, version, unit, label_fr, label_ar, definition_fr, definition_ar,
        sources}``: what a report"s definitions section shows."""
        label, definition = both(self.label), both(self.definition)
        return {
            "ref": self.ref,
            "id": self.id,
            "version": self.version,
            "unit": self.unit,
            "label_fr": label["fr"],
            "label_ar": label["ar"],
            "definition_fr": definition["fr"],
            "definition_ar": definition["ar"],
            "sources": list(self.sources),
        }


METRICS: dict[str, Metric] = {
    m.id: m
    for m in (
        Metric(
            "establishments_registered",
            1,
            "establishments",
            N_("metric.establishments_registered.label"),
            N_("metric.establishments_registered.definition"),
            ("registry",),
        ),
        Metric(
            "establishments_equipped",
            1,
            "establishments",
            N_("metric.establishments_equipped.label"),
            N_("metric.establishments_equipped.definition"),
            ("inspections",),
        ),
        Metric(
            "establishments_operating",
            1,
            "establishments",
            N_("metric.establishments_operating.label"),
            N_("metric.establishments_operating.definition"),
            ("queue.terminal.heartbeat", "queue.ticket.issued", "*"),
        ),
        Metric(
            "tickets_issued",
            1,
            "tickets",
            N_("metric.tickets_issued.label"),
            N_("metric.tickets_issued.definition"),
            ("queue.ticket.issued",),
        ),
        Metric(
            "tickets_called",
            1,
            "tickets",
            N_("metric.tickets_called.label"),
            N_("metric.tickets_called.definition"),
            ("queue.ticket.called",),
        ),
        Metric(
            "calls",
            1,
            "calls",
            N_("metric.calls.label"),
            N_("metric.calls.definition"),
            ("queue.ticket.called",),
        ),
        Metric(
            "visits_completed",
            1,
            "services",
            N_("metric.visits_completed.label"),
            N_("metric.visits_completed.definition"),
            ("queue.visit.completed",),
        ),
        Metric(
            "no_shows",
            1,
            "tickets",
            N_("metric.no_shows.label"),
            N_("metric.no_shows.definition"),
            ("queue.ticket.no_show",),
        ),
        Metric(
            "cancelled",
            1,
            "tickets",
            N_("metric.cancelled.label"),
            N_("metric.cancelled.definition"),
            ("queue.ticket.cancelled",),
        ),
        Metric(
            "routed",
            1,
            "patients",
            N_("metric.routed.label"),
            N_("metric.routed.definition"),
            ("queue.patient.routed",),
        ),
        Metric(
            "wait_time",
            1,
            "minutes",
            N_("metric.wait_time.label"),
            N_("metric.wait_time.definition"),
            ("queue.ticket.issued", "queue.ticket.called"),
        ),
        Metric(
            "service_time",
            1,
            "minutes",
            N_("metric.service_time.label"),
            N_("metric.service_time.definition"),
            ("queue.visit.completed",),
        ),
        Metric(
            "busiest_hour",
            1,
            "hour",
            N_("metric.busiest_hour.label"),
            N_("metric.busiest_hour.definition"),
            ("queue.ticket.issued",),
        ),
        Metric(
            "er_arrivals",
            1,
            "patients",
            N_("metric.er_arrivals.label"),
            N_("metric.er_arrivals.definition"),
            ("emergency.visit.arrived",),
        ),
        Metric(
            "er_triage",
            1,
            "patients",
            N_("metric.er_triage.label"),
            N_("metric.er_triage.definition"),
            ("emergency.visit.arrived", "emergency.visit.triaged"),
        ),
        Metric(
            "door_to_doctor",
            1,
            "minutes",
            N_("metric.door_to_doctor.label"),
            N_("metric.door_to_doctor.definition"),
            ("emergency.visit.arrived", "emergency.visit.seen_by_doctor"),
        ),
        Metric(
            "er_length_of_stay",
            1,
            "minutes",
            N_("metric.er_length_of_stay.label"),
            N_("metric.er_length_of_stay.definition"),
            ("emergency.visit.departed",),
        ),
        Metric(
            "er_disposition",
            1,
            "patients",
            N_("metric.er_disposition.label"),
            N_("metric.er_disposition.definition"),
            ("emergency.visit.disposition_decided", "emergency.visit.departed"),
        ),
        Metric(
            "appointments_booked",
            1,
            "appointments",
            N_("metric.appointments_booked.label"),
            N_("metric.appointments_booked.definition"),
            ("appointments.appointment.booked",),
        ),
        Metric(
            "appointments_attended",
            1,
            "appointments",
            N_("metric.appointments_attended.label"),
            N_("metric.appointments_attended.definition"),
            ("appointments.appointment.arrived",),
        ),
        Metric(
            "appointments_no_show",
            1,
            "appointments",
            N_("metric.appointments_no_show.label"),
            N_("metric.appointments_no_show.definition"),
            ("appointments.appointment.no_show",),
        ),
        Metric(
            "appointments_cancelled",
            1,
            "appointments",
            N_("metric.appointments_cancelled.label"),
            N_("metric.appointments_cancelled.definition"),
            ("appointments.appointment.cancelled",),
        ),
        Metric(
            "appointment_lead_time",
            1,
            "days",
            N_("metric.appointment_lead_time.label"),
            N_("metric.appointment_lead_time.definition"),
            ("appointments.appointment.booked",),
        ),
        Metric(
            "encounters_opened",
            1,
            "encounters",
            N_("metric.encounters_opened.label"),
            N_("metric.encounters_opened.definition"),
            ("records.encounter.opened",),
        ),
        Metric(
            "encounters_closed",
            1,
            "encounters",
            N_("metric.encounters_closed.label"),
            N_("metric.encounters_closed.definition"),
            ("records.encounter.closed",),
        ),
        Metric(
            "diagnoses",
            1,
            "diagnoses",
            N_("metric.diagnoses.label"),
            N_("metric.diagnoses.definition"),
            ("records.diagnosis.recorded",),
        ),
        Metric(
            "prescriptions",
            1,
            "prescriptions",
            N_("metric.prescriptions.label"),
            N_("metric.prescriptions.definition"),
            (
                "queue.prescription.issued",
                "queue.prescription.dispensed",
                "queue.prescription.cancelled",
            ),
        ),
        Metric(
            "silent",
            1,
            "establishments",
            N_("metric.silent.label"),
            N_("metric.silent.definition"),
            ("*",),
        ),
        Metric(
            "completeness",
            1,
            "establishments",
            N_("metric.completeness.label"),
            N_("metric.completeness.definition"),
            ("*",),
        ),
        Metric(
            "freshness",
            1,
            "hours",
            N_("metric.freshness.label"),
            N_("metric.freshness.definition"),
            ("*",),
        ),
    )
}


def refs(*ids: str) -> list[str]:
    return [METRICS[i].ref for i in ids]


def definitions(ids: list[str] | None = None) -> list[dict[str, object]]:
    chosen = METRICS.values() if ids is None else [METRICS[i] for i in ids]
    return [metric.as_dict() for metric in chosen]
