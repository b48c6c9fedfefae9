"""Request and response bodies of the HTTP API (pydantic). Unknown fields are refused."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sihha_appointments.domain.schedule import ExceptionKind
from sihha_appointments.service_layer.commands import Resolution
from sihha_contracts.types import FacilityCode, OpaqueRef, ReasonCode, SpecialtyCode

#: the contracts' identifiers, so that the API accepts exactly what the bus carries
PractitionerRef = OpaqueRef
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{6,16}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LanguageCode = Literal["ar", "fr"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PeriodIn(Request):
    weekday: Weekday
    starts: time = Field(examples=["08:30"])
    ends: time = Field(examples=["12:00"])


class ExceptionIn(Request):
    day: date
    kind: ExceptionKind = ExceptionKind.CLOSED


class PublishScheduleRequest(Request):
    specialty_code: SpecialtyCode
    practitioner_ref: PractitionerRef = Field(description="The clinic's own reference")
    room: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    periods: list[PeriodIn] = Field(min_length=1, max_length=28)
    slot_minutes: int = Field(ge=0, le=480, description="Minutes per slot (0 is refused)")
    places_per_slot: int = Field(default=1, ge=0, le=50)
    effective_from: date
    effective_to: date
    exceptions: list[ExceptionIn] = Field(default_factory=list, max_length=400)


class ScheduleResponse(BaseModel):
    schedule_id: UUID
    facility_id: str
    specialty_code: str
    practitioner_ref: str
    room: str
    periods: list[dict[str, str]]
    slot_minutes: int
    places_per_slot: int
    effective_from: date
    effective_to: date
    exceptions: dict[str, str]
    slot_count: int | None = None


class CloseDayRequest(Request):
    day: date
    kind: ExceptionKind = ExceptionKind.LEAVE
    reason: ReasonCode = "specialist_absent"
    bookings: Resolution = Field(
        default=Resolution.REFUSE,
        description="refuse: list the bookings and change nothing; move: each to the nearest "
        "free slot of the specialty here (else cancelled); cancel: each cancelled",
    )


class AbsenceRequest(Request):
    day: date
    reason: ReasonCode = "specialist_absent"
    bookings: Resolution


class ChangeScheduleRequest(Request):
    effective_to: date | None = None
    places_per_slot: int | None = Field(default=None, ge=0, le=50)
    reason: ReasonCode = "schedule_changed"
    bookings: Resolution = Resolution.REFUSE


class ChangeResult(BaseModel):
    moved: list[str]
    cancelled: list[str]
    closed_slots: int


class SlotResponse(BaseModel):
    slot_id: UUID
    facility_id: str
    establishment_fr: str
    establishment_ar: str
    commune: str
    specialty_code: str
    room: str
    starts_at: datetime
    ends_at: datetime
    free_places: int


class SlotPage(BaseModel):
    items: list[SlotResponse]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class HoldRequest(Request):
    slot_id: UUID
    referral_code: Code | None = None
    language: LanguageCode = "ar"


class BookingResponse(BaseModel):
    booking_id: UUID
    booking_code: str | None = Field(description="Shown once the hold is confirmed")
    status: str
    facility_id: str
    establishment_fr: str
    establishment_ar: str
    specialty_code: str
    slot_id: UUID
    starts_at: datetime
    ends_at: datetime
    hold_expires_at: datetime | None = None
    waitlist_entry_id: UUID | None = None


class CancelRequest(Request):
    reason: ReasonCode = "citizen_request"


class ClinicCancelRequest(Request):
    reason: ReasonCode


class RescheduleRequest(Request):
    slot_id: UUID
    reason: ReasonCode | None = None


class WaitlistRequest(Request):
    facility_id: FacilityCode
    specialty_code: SpecialtyCode
    first_day: date
    last_day: date
    referral_code: Code | None = None
    language: LanguageCode = "ar"


class WaitlistResponse(BaseModel):
    entry_id: UUID
    facility_id: str
    specialty_code: str
    first_day: date
    last_day: date
    status: str
    offer_booking_id: UUID | None = None
    offer_expires_at: datetime | None = None


class ReferralRequest(Request):
    specialty_code: SpecialtyCode
    nin: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="The patient's NIN; only its pseudonymous key is kept"
    )
    urgent: bool = False


class ReferralResponse(BaseModel):
    code: str
    specialty_code: str
    urgent: bool
    expires_at: datetime


class SignInRequest(Request):
    nin: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    phone: Annotated[str, StringConstraints(min_length=9, max_length=20)] | None = Field(
        default=None, description="Needed the first time only"
    )
    language: LanguageCode = "ar"


class ChallengeResponse(BaseModel):
    challenge_id: UUID
    expires_at: datetime
    phone_hint: str


class VerifyRequest(Request):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")]


class TokenResponse(BaseModel):
    token: str
    token_type: str
    expires_in: int
    patient_key: str


class DayViewResponse(BaseModel):
    facility_id: str
    day: date
    slots: list[dict[str, Any]]
    totals: dict[str, int]


class NoShowRate(BaseModel):
    specialty_code: str
    arrived: int
    no_shows: int
    no_show_rate: float | None


class CountsRow(BaseModel):
    facility_id: str
    day: date
    booked: int = 0
    cancelled: int = 0
    arrived: int = 0
    no_shows: int = 0
    places_offered: int = 0


class SpecialtyResponse(BaseModel):
    code: str
    name_fr: str
    name_ar: str
    referral_required: bool


class EstablishmentResponse(BaseModel):
    code: str
    name_fr: str
    name_ar: str
    commune: str
    pilot: bool
