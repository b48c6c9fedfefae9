"""Events of the queue service (polyclinic tickets, visits, routing, terminals).

A *visit* is one patient's stay in a polyclinic; it starts with a ticket for a
first service and may be routed to further services (each with its own
ticket). Waits are measured from the patient's original arrival.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from sihha_contracts.catalogue import register
from sihha_contracts.envelope import EventPayload
from sihha_contracts.types import (
    AgeBand,
    BookingCode,
    DrugCode,
    FacilityCode,
    PatientKey,
    ReasonCode,
    ServiceCode,
    Sex,
    Substance,
)

#: The number shown to the patient: the service's prefix and the day's number.
TicketNumber = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{2,8}-[0-9]{3,5}$"), Field(examples=["MG-042"])
]

#: Why the caller picked this ticket: a rule name, optionally with the factors
#: that decided, e.g. ``fifo``, ``priority:elderly+ageing``, ``appointment:on_time``.
CallReason = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*(:[a-z0-9_]+(\+[a-z0-9_]+)*)?$", max_length=64),
    Field(examples=["priority:elderly+ageing"]),
]

#: A short label of a counter or consultation room as shown on the display, e.g. ``Box 3``.
CounterLabel = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class Priority(StrEnum):
    NORMAL = "normal"
    ELDERLY = "elderly"
    PREGNANT = "pregnant"
    DISABILITY = "disability"
    URGENT = "urgent"
    APPOINTMENT = "appointment"


class IssueChannel(StrEnum):
    RECEPTION = "reception"
    KIOSK = "kiosk"
    ROUTING = "routing"


class CallMode(StrEnum):
    """`next`: the system chose the ticket; `specific`: the agent picked it by hand."""

    NEXT = "next"
    SPECIFIC = "specific"


class StaffRole(StrEnum):
    """The role of the member of staff who acted (never who they are)."""

    RECEPTIONIST = "receptionist"
    COUNTER_AGENT = "counter_agent"
    DOCTOR = "doctor"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"


class TerminalKind(StrEnum):
    KIOSK = "kiosk"
    COUNTER = "counter"
    DISPLAY = "display"
    RECEPTION = "reception"


class ListClass(StrEnum):
    """The regime of a product in the national nomenclature (its ``LISTE`` column)."""

    NONE = "none"
    LIST_I = "list_i"
    LIST_II = "list_ii"
    NARCOTIC = "narcotic"


class CodedBy(StrEnum):
    """A line names one product (`product`) or a DCI, form and dosage (`dci`), letting
    the pharmacy choose the brand."""

    PRODUCT = "product"
    DCI = "dci"


class PrescriptionWarningKind(StrEnum):
    DUPLICATE_DCI = "duplicate-dci"
    DUPLICATE_ACTIVE = "duplicate-active"
    DOSE_ABOVE_MAXIMUM = "dose-above-maximum"
    INTERACTION = "interaction"


class PrescribedLine(BaseModel):
    """What one line of a prescription asks for: drug facts and quantities only."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    drug_code: DrugCode
    substances: tuple[Substance, ...] = Field(description="Active substances of the line's DCI")
    list_class: ListClass
    coded_by: CodedBy
    quantity: int = Field(ge=1, description="Packs prescribed")


class DispensedLine(BaseModel):
    """What one line of a dispense handed over."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    drug_code: DrugCode = Field(description="Nomenclature code of the product handed over")
    substances: tuple[Substance, ...]
    quantity: int = Field(ge=1, description="Packs handed over by this dispense")
    quantity_remaining: int = Field(ge=0, description="Packs of the line still to dispense")
    substituted: bool = Field(description="A brand other than the one prescribed was handed over")


def _check_codes_fit_lines(drug_codes: tuple[str, ...], line_count: int) -> None:
    # a line may have no nomenclature code (a compounded preparation), never two
    if len(drug_codes) > line_count:
        raise ValueError("more drug codes than lines")


@register
class TicketIssuedV1(EventPayload):
    event_type = "queue.ticket.issued"
    schema_version = 1
    summary = "A ticket was issued for a service of a polyclinic."

    ticket_id: UUID
    visit_id: UUID
    service_code: ServiceCode
    ticket_number: TicketNumber
    service_day: date = Field(description="The local (Africa/Algiers) day the number belongs to")
    priority: Priority = Priority.NORMAL
    channel: IssueChannel = IssueChannel.RECEPTION
    arrived_at: AwareDatetime | None = Field(
        default=None,
        description="Original arrival of the patient in the clinic; waits are measured from it",
    )
    patient_key: PatientKey | None = None
    age_band: AgeBand | None = None
    sex: Sex | None = None
    appointment_ref: BookingCode | None = Field(
        default=None, description="The booking code shown at the kiosk, for an appointment"
    )
    routed_from_ticket_id: UUID | None = None


@register
class TicketCalledV1(EventPayload):
    event_type = "queue.ticket.called"
    schema_version = 1
    summary = "A ticket was called to a counter or consultation room."

    ticket_id: UUID
    visit_id: UUID
    service_code: ServiceCode
    ticket_number: TicketNumber
    counter_id: UUID
    counter_label: CounterLabel
    called_by_role: StaffRole | None = None
    reason: CallReason = Field(description="Why this ticket was chosen")
    waited_seconds: int = Field(ge=0, description="Wait since the patient's original arrival")
    call_mode: CallMode = CallMode.NEXT
    call_mode_reason: ReasonCode | None = Field(
        default=None,
        description="Why the agent picked a specific ticket, e.g. `patient_returned`",
    )

    @model_validator(mode="after")
    def _reason_only_for_specific(self) -> Self:
        if self.call_mode_reason is not None and self.call_mode is not CallMode.SPECIFIC:
            raise ValueError("call_mode_reason applies only to call_mode 'specific'")
        return self


@register
class TicketRecalledV1(EventPayload):
    event_type = "queue.ticket.recalled"
    schema_version = 1
    summary = "A ticket already called was called again (the patient did not come yet)."

    ticket_id: UUID
    visit_id: UUID
    service_code: ServiceCode
    ticket_number: TicketNumber
    counter_id: UUID
    counter_label: CounterLabel
    recall_count: int = Field(ge=1, description="1 for the first recall")


@register
class TicketNoShowV1(EventPayload):
    event_type = "queue.ticket.no_show"
    schema_version = 1
    summary = "A called ticket was declared absent."

    ticket_id: UUID
    visit_id: UUID
    service_code: ServiceCode
    ticket_number: TicketNumber
    requeued: bool = Field(description="True if the ticket went back into the queue")


@register
class TicketCancelledV1(EventPayload):
    event_type = "queue.ticket.cancelled"
    schema_version = 1
    summary = "A ticket was cancelled before its service started."

    ticket_id: UUID
    visit_id: UUID
    service_code: ServiceCode
    reason: ReasonCode = Field(examples=["patient_left", "issued_in_error", "service_closed"])


@register
class TicketExpiredV1(EventPayload):
    event_type = "queue.ticket.expired"
    schema_version = 1
    summary = "A ticket still open when its service day ended was closed: the patient left unseen."

    ticket_id: UUID
    visit_id: UUID
    service_code: ServiceCode
    ticket_number: TicketNumber
    service_day: date = Field(description="The service day the ticket belonged to")
    status_before: Annotated[str, StringConstraints(pattern=r"^(waiting|called|in_service)$")] = (
        Field(description="What the ticket was when the day closed")
    )


@register
class VisitStartedV1(EventPayload):
    event_type = "queue.visit.started"
    schema_version = 1
    summary = "The service of a ticket started at a counter or consultation room."

    ticket_id: UUID
    visit_id: UUID
    counter_id: UUID
    service_code: ServiceCode


@register
class PatientRoutedV1(EventPayload):
    event_type = "queue.patient.routed"
    schema_version = 1
    summary = "A patient was sent on from one service to another within the same visit."

    visit_id: UUID
    from_ticket_id: UUID
    to_ticket_id: UUID
    from_service_code: ServiceCode
    to_service_code: ServiceCode
    keeps_original_arrival: bool = Field(
        description="True if the new ticket queues from the original arrival time"
    )


@register
class VisitCompletedV1(EventPayload):
    event_type = "queue.visit.completed"
    schema_version = 1
    summary = "The service of a ticket ended; possibly the whole visit."

    visit_id: UUID
    ticket_id: UUID
    service_code: ServiceCode
    service_seconds: int = Field(ge=0, description="Time from the start of service to its end")
    visit_finished: bool = Field(description="False if the patient was routed to another service")


@register
class TerminalHeartbeatV1(EventPayload):
    event_type = "queue.terminal.heartbeat"
    schema_version = 1
    summary = "A kiosk, counter terminal, display or reception terminal reported it is alive."

    terminal_id: UUID
    terminal_kind: TerminalKind
    within_opening_hours: bool | None = Field(
        default=None, description="Whether the clinic is open now; null if unknown"
    )


@register
class PrescriptionIssuedV1(EventPayload):
    event_type = "queue.prescription.issued"
    schema_version = 1
    summary = "A doctor issued an electronic prescription during a visit."

    prescription_id: UUID
    visit_id: UUID
    patient_key: PatientKey | None = None
    line_count: int = Field(ge=1, description="Lines of the prescription")
    drug_codes: tuple[DrugCode, ...] = Field(
        description="National nomenclature codes of the lines that have one, in line order"
    )
    lines: tuple[PrescribedLine, ...] | None = Field(
        default=None, description="The lines' drug facts and quantities, in line order"
    )
    warnings_overridden: int | None = Field(
        default=None, ge=0, description="Warnings the doctor overrode (with a reason) to sign"
    )
    warning_kinds: tuple[PrescriptionWarningKind, ...] | None = Field(
        default=None, description="The kinds of the overridden warnings"
    )
    valid_until: AwareDatetime | None = Field(
        default=None, description="End of the prescription's validity"
    )

    @model_validator(mode="after")
    def _codes_fit_lines(self) -> Self:
        _check_codes_fit_lines(self.drug_codes, self.line_count)
        return self


@register
class PrescriptionDispensedV1(EventPayload):
    event_type = "queue.prescription.dispensed"
    schema_version = 1
    summary = "A pharmacy dispensed an electronic prescription, wholly or in part."

    prescription_id: UUID
    visit_id: UUID
    patient_key: PatientKey | None = None
    line_count: int = Field(ge=1, description="Lines dispensed")
    drug_codes: tuple[DrugCode, ...] = Field(
        description="National nomenclature codes of the dispensed lines that have one"
    )
    fully_dispensed: bool = Field(description="False if some lines remain to dispense")
    dispense_id: UUID | None = Field(
        default=None, description="This dispense (one per visit to a pharmacy)"
    )
    dispensing_facility_id: FacilityCode | None = Field(
        default=None, description="The pharmacy's establishment code"
    )
    lines: tuple[DispensedLine, ...] | None = Field(
        default=None, description="What this dispense handed over, line by line"
    )

    @model_validator(mode="after")
    def _codes_fit_lines(self) -> Self:
        _check_codes_fit_lines(self.drug_codes, self.line_count)
        return self


@register
class PrescriptionCancelledV1(EventPayload):
    event_type = "queue.prescription.cancelled"
    schema_version = 1
    summary = "An electronic prescription was cancelled before it was dispensed."

    prescription_id: UUID
    visit_id: UUID
    patient_key: PatientKey | None = None
    line_count: int = Field(ge=1, description="Lines of the cancelled prescription")
    drug_codes: tuple[DrugCode, ...] = Field(
        description="National nomenclature codes of the lines that have one, in line order"
    )
    reason: ReasonCode = Field(examples=["issued_in_error", "replaced"])
    lines: tuple[PrescribedLine, ...] | None = Field(
        default=None, description="The cancelled lines' drug facts and quantities"
    )

    @model_validator(mode="after")
    def _codes_fit_lines(self) -> Self:
        _check_codes_fit_lines(self.drug_codes, self.line_count)
        return self


__all__ = [
    "CallMode",
    "CallReason",
    "CodedBy",
    "CounterLabel",
    "DispensedLine",
    "IssueChannel",
    "ListClass",
    "PatientRoutedV1",
    "PrescribedLine",
    "PrescriptionCancelledV1",
    "PrescriptionDispensedV1",
    "PrescriptionIssuedV1",
    "PrescriptionWarningKind",
    "Priority",
    "StaffRole",
    "TerminalHeartbeatV1",
    "TerminalKind",
    "TicketCalledV1",
    "TicketCancelledV1",
    "TicketExpiredV1",
    "TicketIssuedV1",
    "TicketNoShowV1",
    "TicketNumber",
    "TicketRecalledV1",
    "VisitCompletedV1",
    "VisitStartedV1",
]
