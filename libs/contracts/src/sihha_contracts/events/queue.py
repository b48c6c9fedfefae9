"""Events of the queue service (polyclinic tickets, visits, routing, terminals)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from sihha_contracts.catalogue import register
from sihha_contracts.envelope import EventPayload
from sihha_contracts.types import AgeBand, PatientKey, ServiceCode, Sex


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


@register
class TicketIssuedV1(EventPayload):
    event_type = "queue.ticket.issued"
    schema_version = 1
    summary = "A ticket was issued for a service of a polyclinic."

    ticket_id: UUID
    visit_id: UUID
    service_code: ServiceCode
    ticket_number: str = Field(pattern=r"^[A-Z]{2,8}-[0-9]{3,5}$", examples=["MG-042"])
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
    appointment_ref: str | None = Field(default=None, max_length=32)
    routed_from_ticket_id: UUID | None = None


__all__ = ["IssueChannel", "Priority", "TicketIssuedV1"]
