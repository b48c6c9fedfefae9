"""Commands: what a terminal asks the queue service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sihha_contracts.events.queue import IssueChannel, Priority, StaffRole, TerminalKind
from sihha_contracts.types import AgeBand, Sex


@dataclass(frozen=True)
class IssueTicket:
    facility_id: str
    service_code: str
    priority: Priority = Priority.NORMAL
    channel: IssueChannel = IssueChannel.RECEPTION
    #: the 18-digit NIN if the patient gives it; only its pseudonymous key is kept
    nin: str | None = None
    age_band: AgeBand | None = None
    sex: Sex | None = None


@dataclass(frozen=True)
class CheckIn:
    facility_id: str
    booking_code: str


@dataclass(frozen=True)
class CallNext:
    facility_id: str
    counter_id: UUID
    by_role: StaffRole | None = None


@dataclass(frozen=True)
class CallTicket:
    facility_id: str
    counter_id: UUID
    ticket_id: UUID
    reason: str
    by_role: StaffRole | None = None


@dataclass(frozen=True)
class Recall:
    facility_id: str
    ticket_id: UUID


@dataclass(frozen=True)
class MarkNoShow:
    facility_id: str
    ticket_id: UUID


@dataclass(frozen=True)
class StartService:
    facility_id: str
    ticket_id: UUID


@dataclass(frozen=True)
class CompleteService:
    facility_id: str
    ticket_id: UUID


@dataclass(frozen=True)
class CancelTicket:
    facility_id: str
    ticket_id: UUID
    reason: str


@dataclass(frozen=True)
class RoutePatient:
    facility_id: str
    ticket_id: UUID
    to_service_code: str


@dataclass(frozen=True)
class Heartbeat:
    facility_id: str
    terminal_id: UUID
    kind: TerminalKind
