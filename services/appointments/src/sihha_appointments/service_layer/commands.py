"""Commands: what citizens, schedulers, doctors and the clinic's systems ask for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from sihha_appointments.domain.schedule import ExceptionKind, WeeklyPeriod
from sihha_contracts.events.appointments import Actor, BookingChannel


class Resolution(StrEnum):
    """What a schedule change does with the bookings of the slots it takes away."""

    REFUSE = "refuse"  # nothing: the change is refused, the bookings are listed
    MOVE = "move"  # each to the nearest free slot of the specialty there, else cancelled
    CANCEL = "cancel"  # each cancelled with the reason


@dataclass(frozen=True)
class PublishSchedule:
    facility_id: str
    specialty_code: str
    practitioner_ref: str
    room: str
    periods: tuple[WeeklyPeriod, ...]
    slot_minutes: int
    places_per_slot: int
    effective_from: date
    effective_to: date
    exceptions: dict[date, ExceptionKind] = field(default_factory=dict)


@dataclass(frozen=True)
class CloseDay:
    """A leave or a closed day in one schedule."""

    facility_id: str
    schedule_id: UUID
    day: date
    kind: ExceptionKind
    reason: str
    resolution: Resolution = Resolution.REFUSE


@dataclass(frozen=True)
class MarkPractitionerAbsent:
    """Every schedule of a practitioner at an establishment, for one day."""

    facility_id: str
    practitioner_ref: str
    day: date
    reason: str
    resolution: Resolution


@dataclass(frozen=True)
class ChangeSchedule:
    facility_id: str
    schedule_id: UUID
    effective_to: date | None = None
    places_per_slot: int | None = None
    reason: str = "schedule_changed"
    resolution: Resolution = Resolution.REFUSE


@dataclass(frozen=True)
class HoldSlot:
    patient_key: str
    slot_id: UUID
    referral_code: str | None = None
    language: str = "ar"
    channel: BookingChannel = BookingChannel.WEB


@dataclass(frozen=True)
class ConfirmHold:
    patient_key: str
    booking_id: UUID


@dataclass(frozen=True)
class ReleaseHold:
    patient_key: str
    booking_id: UUID


@dataclass(frozen=True)
class CancelBooking:
    booking_id: UUID
    by: Actor
    reason: str
    #: the citizen's own booking, or one of the clinic's (exactly one is set)
    patient_key: str | None = None
    facility_id: str | None = None


@dataclass(frozen=True)
class RescheduleBooking:
    booking_id: UUID
    slot_id: UUID
    by: Actor
    reason: str | None = None
    patient_key: str | None = None
    facility_id: str | None = None


@dataclass(frozen=True)
class JoinWaitlist:
    patient_key: str
    facility_id: str
    specialty_code: str
    first_day: date
    last_day: date
    referral_code: str | None = None
    language: str = "ar"


@dataclass(frozen=True)
class AnswerOffer:
    patient_key: str
    entry_id: UUID
    accept: bool


@dataclass(frozen=True)
class LeaveWaitlist:
    patient_key: str
    entry_id: UUID


@dataclass(frozen=True)
class IssueReferral:
    facility_id: str
    specialty_code: str
    nin: str
    urgent: bool = False


@dataclass(frozen=True)
class RecordArrival:
    facility_id: str
    booking_code: str
    ticket_id: UUID | None
    at: datetime
