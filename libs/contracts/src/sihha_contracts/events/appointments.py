"""Events of the appointments service (specialist schedules, bookings, waitlists).

The queue service keeps its own list of expected arrivals from these events,
so that a patient can check in at the kiosk even when this service is down.
Slots are instants (aware datetimes); schedules cover local (Africa/Algiers) days.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from sihha_contracts.catalogue import register
from sihha_contracts.envelope import EventPayload
from sihha_contracts.types import (
    AgeBand,
    BookingCode,
    Language,
    OpaqueRef,
    PatientKey,
    ReasonCode,
    Sex,
    SpecialtyCode,
)

#: The notifier's template, e.g. ``appointment.reminder_24h``; the notifier
#: renders it in the citizen's language.
TemplateCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=64),
    Field(examples=["appointment.reminder_24h"]),
]


class BookingChannel(StrEnum):
    WEB = "web"
    PHONE = "phone"
    CLINIC = "clinic"


class Actor(StrEnum):
    """Who took the decision: the citizen or the clinic."""

    CITIZEN = "citizen"
    CLINIC = "clinic"


class NotificationChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


def _check_slot(slot_start: AwareDatetime, slot_end: AwareDatetime) -> None:
    if slot_end <= slot_start:
        raise ValueError("slot_end must be after slot_start")


@register
class SchedulePublishedV1(EventPayload):
    event_type = "appointments.schedule.published"
    schema_version = 1
    summary = "A specialist's schedule was opened for booking over a range of days."

    schedule_id: UUID
    specialty_code: SpecialtyCode
    specialist_ref: OpaqueRef = Field(
        description="Pseudonymous reference of the specialist, meaningful only to this service"
    )
    first_day: date = Field(description="First local day of the schedule")
    last_day: date = Field(description="Last local day of the schedule (inclusive)")
    slot_count: int = Field(ge=0, description="Bookable slots in the schedule")
    place_count: int | None = Field(
        default=None, ge=0, description="Places (patients) over all the slots"
    )
    places_by_day: dict[date, int] | None = Field(
        default=None,
        description="Places per local day; a later `sequence` of the same schedule (a revision: "
        "days closed, capacity changed) replaces the earlier figures",
    )

    @model_validator(mode="after")
    def _days_in_order(self) -> Self:
        if self.last_day < self.first_day:
            raise ValueError("last_day must not be before first_day")
        return self


@register
class AppointmentBookedV1(EventPayload):
    event_type = "appointments.appointment.booked"
    schema_version = 1
    summary = "An appointment with a specialist was booked for a patient."

    appointment_id: UUID
    booking_code: BookingCode
    schedule_id: UUID | None = None
    specialty_code: SpecialtyCode
    slot_start: AwareDatetime
    slot_end: AwareDatetime
    patient_key: PatientKey
    booked_via: BookingChannel
    age_band: AgeBand | None = None
    sex: Sex | None = None
    referral: bool | None = Field(default=None, description="Booked with a referral code")
    urgent: bool | None = Field(
        default=None, description="Booked on a place kept for urgent referrals"
    )
    from_waitlist: bool | None = Field(
        default=None, description="A waitlist offer the patient accepted"
    )

    @model_validator(mode="after")
    def _slot_in_order(self) -> Self:
        _check_slot(self.slot_start, self.slot_end)
        return self


@register
class AppointmentCancelledV1(EventPayload):
    event_type = "appointments.appointment.cancelled"
    schema_version = 1
    summary = "A booked appointment was cancelled by the citizen or by the clinic."

    appointment_id: UUID
    cancelled_by: Actor
    reason: ReasonCode = Field(examples=["citizen_request", "specialist_absent", "unspecified"])
    slot_start: AwareDatetime | None = Field(default=None, description="Start of the slot given up")


@register
class AppointmentRescheduledV1(EventPayload):
    event_type = "appointments.appointment.rescheduled"
    schema_version = 1
    summary = "A booked appointment was moved to another slot."

    appointment_id: UUID
    previous_slot_start: AwareDatetime
    slot_start: AwareDatetime = Field(description="Start of the new slot")
    slot_end: AwareDatetime = Field(description="End of the new slot")
    rescheduled_by: Actor
    reason: ReasonCode | None = Field(default=None, description="Why, when the clinic moved it")

    @model_validator(mode="after")
    def _slot_in_order(self) -> Self:
        _check_slot(self.slot_start, self.slot_end)
        return self


@register
class AppointmentArrivedV1(EventPayload):
    event_type = "appointments.appointment.arrived"
    schema_version = 1
    summary = "The patient of an appointment checked in at the clinic."

    appointment_id: UUID
    ticket_id: UUID | None = Field(
        default=None, description="The queue ticket the check-in produced, if known"
    )


@register
class AppointmentNoShowV1(EventPayload):
    event_type = "appointments.appointment.no_show"
    schema_version = 1
    summary = "The patient of an appointment did not come."

    appointment_id: UUID
    slot_start: AwareDatetime


@register
class WaitlistOfferedV1(EventPayload):
    event_type = "appointments.waitlist.offered"
    schema_version = 1
    summary = "A freed slot was offered to a patient on the waitlist, until a deadline."

    waitlist_entry_id: UUID
    patient_key: PatientKey
    specialty_code: SpecialtyCode
    schedule_id: UUID | None = None
    slot_start: AwareDatetime
    slot_end: AwareDatetime
    expires_at: AwareDatetime = Field(description="The offer lapses after this instant")

    @model_validator(mode="after")
    def _slot_in_order(self) -> Self:
        _check_slot(self.slot_start, self.slot_end)
        return self


@register
class NotificationRequestedV1(EventPayload):
    """No contact details travel: the notifier resolves them from the patient key."""

    event_type = "appointments.notification.requested"
    schema_version = 1
    summary = "A message to a patient about an appointment or a waitlist offer was requested."

    notification_id: UUID
    channel: NotificationChannel
    template_code: TemplateCode
    patient_key: PatientKey
    appointment_id: UUID | None = None
    waitlist_entry_id: UUID | None = None
    language: Language | None = Field(
        default=None, description="Preferred language; the notifier's default if null"
    )

    @model_validator(mode="after")
    def _about_something(self) -> Self:
        if self.appointment_id is None and self.waitlist_entry_id is None:
            raise ValueError("a notification is about an appointment or a waitlist entry")
        return self


__all__ = [
    "Actor",
    "AppointmentArrivedV1",
    "AppointmentBookedV1",
    "AppointmentCancelledV1",
    "AppointmentNoShowV1",
    "AppointmentRescheduledV1",
    "BookingChannel",
    "BookingCode",
    "NotificationChannel",
    "NotificationRequestedV1",
    "SchedulePublishedV1",
    "TemplateCode",
    "WaitlistOfferedV1",
]
