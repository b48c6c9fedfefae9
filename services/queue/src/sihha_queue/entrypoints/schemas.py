"""Request and response bodies of the queue service's HTTP API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sihha_contracts.events.queue import IssueChannel, Priority, TerminalKind
from sihha_contracts.types import AgeBand, Sex

ServiceCodeField = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{2,8}$"), Field(examples=["MG"])
]
ReasonField = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,47}$"), Field(examples=["patient_left"])
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssueTicketRequest(Strict):
    service_code: ServiceCodeField
    priority: Priority = Priority.NORMAL
    channel: IssueChannel = IssueChannel.RECEPTION
    nin: str | None = Field(
        default=None,
        max_length=32,
        description="The patient's 18-digit national identification number, if given: it never "
        "leaves the service, only its pseudonymous key does",
    )
    age_band: AgeBand | None = None
    sex: Sex | None = None


class CheckInRequest(Strict):
    booking_code: str = Field(
        min_length=4, max_length=16, pattern=r"^[A-Za-z0-9]+$", examples=["K7M2Q9XA"]
    )


class CallTicketRequest(Strict):
    ticket_id: UUID
    reason: ReasonField


class CancelRequest(Strict):
    reason: ReasonField


class RouteRequest(Strict):
    to_service_code: ServiceCodeField


class HeartbeatRequest(Strict):
    kind: TerminalKind


class TicketResponse(BaseModel):
    ticket_id: UUID
    visit_id: UUID
    facility_id: str
    service_code: str
    number: int
    label: str = Field(examples=["MG-042"])
    service_day: date
    priority: Priority
    status: str
    issued_at: datetime
    arrived_at: datetime
    counter_label: str | None = None
    appointment_ref: str | None = None
    call_reason: str | None = None


class CallResponse(BaseModel):
    """`ticket` is null when nobody is waiting for the counter's service."""

    ticket: TicketResponse | None
    explanation_fr: str | None = None
    explanation_ar: str | None = None


class RouteResponse(BaseModel):
    finished: TicketResponse
    routed: TicketResponse


class TicketStatusResponse(BaseModel):
    label: str
    facility_id: str
    establishment_name_fr: str
    establishment_name_ar: str
    service_code: str
    service_name_fr: str
    service_name_ar: str
    status: str = Field(
        description="waiting, called, in_service, completed, no_show, cancelled or expired"
    )
    counter_label: str | None
    waited_minutes: int
    position: int | None = Field(description="1 for the next one called (waiting tickets)")
    ahead: int | None = Field(description="Patients before this one (waiting tickets)")
    estimated_wait_minutes: int | None = Field(
        description="None when the service has no active counter: no estimate"
    )
    estimated_call_at: str | None = Field(description="Algiers time, HH:MM")


class HistoryEntry(BaseModel):
    at: datetime
    action: str
    ticket_label: str
    service_code: str
    counter_label: str | None
    detail_fr: str | None
    detail_ar: str | None


class VisitResponse(BaseModel):
    visit_id: UUID
    history: list[HistoryEntry]


class ActivityCount(BaseModel):
    facility_id: str
    day: date
    tickets_issued: int
    tickets_called: int
    calls: int
    no_shows: int
    cancelled: int
    expired: int
    routed: int
    visits_completed: int


class ServiceView(BaseModel):
    service_code: str
    name_fr: str
    name_ar: str
    active: bool
    opening_hours: dict[str, list[str]] | None
    routed_keeps_arrival: bool
    kiosk_rank: int | None


class CounterView(BaseModel):
    counter_id: UUID
    service_code: str
    label: str
    active: bool


class EstablishmentView(BaseModel):
    code: str
    name_fr: str
    name_ar: str
    commune: str
    opening_hours: dict[str, list[str]] | None
    recall_window_seconds: int
    no_show_requeue_once: bool
    services: list[ServiceView]
    counters: list[CounterView]


class EstablishmentUpdate(Strict):
    opening_hours: dict[str, list[str]] | None = None
    recall_window_seconds: int | None = Field(default=None, ge=0, le=3600)
    no_show_requeue_once: bool | None = None


class ServiceUpdate(Strict):
    name_fr: str = Field(min_length=2, max_length=200)
    name_ar: str = Field(min_length=2, max_length=200)
    active: bool = True
    opening_hours: dict[str, list[str]] | None = None
    routed_keeps_arrival: bool = True
    #: place on the kiosk (1 first; the busiest service should be); None: after the
    #: ranked ones, by code
    kiosk_rank: int | None = Field(default=None, ge=1, le=99)


class CounterCreate(Strict):
    service_code: ServiceCodeField
    label: str = Field(min_length=1, max_length=32)
