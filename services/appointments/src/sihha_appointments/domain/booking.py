"""A booking: a citizen's place in a slot, from the hold to the consultation.

States: held → booked → arrived | no_show; held → expired (nobody confirmed in time) |
released (the citizen let it go); booked → cancelled (citizen before the cut-off, or the
clinic with a reason). A booking in held, booked, arrived or no_show occupies one place
of its slot (`holds_place`); PostgreSQL keeps the slot's free places from going below
zero (see `adapters/tables.py`). A waitlist offer is a hold made for the waitlisted
patient.

The booking records its events (`appointments.appointment.*`) with one sequence per
booking; a hold that never became a booking records nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from sihha_appointments.domain.errors import (
    CutoffPassed,
    HoldExpired,
    IllegalBookingTransition,
)
from sihha_contracts.events.appointments import (
    Actor,
    AppointmentArrivedV1,
    AppointmentBookedV1,
    AppointmentCancelledV1,
    AppointmentNoShowV1,
    AppointmentRescheduledV1,
    BookingChannel,
)
from sihha_contracts.types import AgeBand, Sex
from sihha_kit.domain import Aggregate

#: booking codes: no 0/O, 1/I/L, 2/Z, 5/S, 8/B that a patient could misread
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8


def new_booking_code() -> str:
    """A random code (25⁸ ≈ 1.5 × 10¹¹ values) that tells nothing about the booking."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class BookingStatus(StrEnum):
    HELD = "held"
    BOOKED = "booked"
    ARRIVED = "arrived"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    RELEASED = "released"

    @property
    def holds_place(self) -> bool:
        return self in PLACE_HOLDING

    @property
    def active(self) -> bool:
        """Counts towards the one-per-specialty rule and the citizen's maximum."""
        return self in (BookingStatus.HELD, BookingStatus.BOOKED)


PLACE_HOLDING = frozenset(
    {BookingStatus.HELD, BookingStatus.BOOKED, BookingStatus.ARRIVED, BookingStatus.NO_SHOW}
)


@dataclass(frozen=True)
class SlotRef:
    """What a booking knows of its slot."""

    slot_id: UUID
    schedule_id: UUID
    facility_id: str
    specialty_code: str
    starts_at: datetime
    ends_at: datetime
    urgent_until: datetime | None = None


@dataclass(kw_only=True)
class Booking(Aggregate):
    booking_id: UUID
    booking_code: str
    patient_key: str
    slot: SlotRef
    status: BookingStatus
    channel: BookingChannel
    held_at: datetime
    hold_expires_at: datetime
    booked_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: Actor | None = None
    cancel_reason: str | None = None
    arrived_at: datetime | None = None
    ticket_id: UUID | None = None
    no_show_at: datetime | None = None
    referral_id: UUID | None = None
    urgent: bool = False
    waitlist_entry_id: UUID | None = None
    language: str = "ar"
    age_band: AgeBand | None = None
    sex: Sex | None = None
    #: subject to the one-active-booking-per-specialty rule (the setting, when held)
    one_per_specialty: bool = True

    @property
    def facility_id(self) -> str:
        return self.slot.facility_id

    @property
    def specialty_code(self) -> str:
        return self.slot.specialty_code

    def _check(self, action: str, *allowed: BookingStatus) -> None:
        if self.status not in allowed:
            raise IllegalBookingTransition(action, self.status.value)

    def _record(self, payload: object, at: datetime) -> None:
        self.record(
            payload,  # type: ignore[arg-type]
            facility_id=self.facility_id,
            aggregate_id=str(self.booking_id),
            at=at,
        )

    # -- hold and confirm ---------------------------------------------------------

    @classmethod
    def hold(
        cls,
        *,
        slot: SlotRef,
        patient_key: str,
        at: datetime,
        hold_for: timedelta,
        channel: BookingChannel = BookingChannel.WEB,
        referral_id: UUID | None = None,
        urgent: bool = False,
        waitlist_entry_id: UUID | None = None,
        language: str = "ar",
        one_per_specialty: bool = True,
    ) -> Booking:
        return cls(
            booking_id=uuid4(),
            booking_code=new_booking_code(),
            patient_key=patient_key,
            slot=slot,
            status=BookingStatus.HELD,
            channel=channel,
            held_at=at,
            hold_expires_at=at + hold_for,
            referral_id=referral_id,
            urgent=urgent,
            waitlist_entry_id=waitlist_entry_id,
            language=language,
            one_per_specialty=one_per_specialty,
        )

    def confirm(self, at: datetime) -> None:
        """The hold becomes a booking (`appointments.appointment.booked`)."""
        if self.status is BookingStatus.EXPIRED or (
            self.status is BookingStatus.HELD and at >= self.hold_expires_at
        ):
            raise HoldExpired()
        self._check("confirm", BookingStatus.HELD)
        self.status = BookingStatus.BOOKED
        self.booked_at = at
        self._record(
            AppointmentBookedV1(
                appointment_id=self.booking_id,
                booking_code=self.booking_code,
                schedule_id=self.slot.schedule_id,
                specialty_code=self.specialty_code,
                slot_start=self.slot.starts_at,
                slot_end=self.slot.ends_at,
                patient_key=self.patient_key,
                booked_via=self.channel,
                age_band=self.age_band,
                sex=self.sex,
                referral=self.referral_id is not None,
                urgent=self.urgent,
                from_waitlist=self.waitlist_entry_id is not None,
            ),
            at,
        )

    def expire(self, at: datetime) -> bool:
        """The hold lapsed (a timer): the place is free again. False if nothing to do."""
        if self.status is not BookingStatus.HELD or at < self.hold_expires_at:
            return False
        self.status = BookingStatus.EXPIRED
        return True

    def release(self) -> None:
        """The citizen lets the hold go (or chose another slot of the specialty)."""
        self._check("release", BookingStatus.HELD)
        self.status = BookingStatus.RELEASED

    # -- changes --------------------------------------------------------------------

    def check_citizen_cutoff(self, at: datetime, cutoff: timedelta) -> None:
        if at > self.slot.starts_at - cutoff:
            raise CutoffPassed(int(cutoff.total_seconds() // 3600))

    def cancel(self, *, by: Actor, reason: str, at: datetime) -> None:
        self._check("cancel", BookingStatus.BOOKED)
        self.status = BookingStatus.CANCELLED
        self.cancelled_at, self.cancelled_by, self.cancel_reason = at, by, reason
        self._record(
            AppointmentCancelledV1(
                appointment_id=self.booking_id,
                cancelled_by=by,
                reason=reason,
                slot_start=self.slot.starts_at,
            ),
            at,
        )

    def reschedule(self, slot: SlotRef, *, by: Actor, at: datetime, reason: str | None) -> None:
        self._check("reschedule", BookingStatus.BOOKED)
        previous = self.slot
        self.slot = slot
        self._record(
            AppointmentRescheduledV1(
                appointment_id=self.booking_id,
                previous_slot_start=previous.starts_at,
                slot_start=slot.starts_at,
                slot_end=slot.ends_at,
                rescheduled_by=by,
                reason=reason,
            ),
            at,
        )

    def arrive(self, *, ticket_id: UUID | None, at: datetime) -> bool:
        """The patient checked in at the kiosk. A patient declared absent who comes late
        is recorded as arrived all the same. False if already arrived."""
        if self.status is BookingStatus.ARRIVED:
            return False
        self._check("arrive", BookingStatus.BOOKED, BookingStatus.NO_SHOW)
        self.status = BookingStatus.ARRIVED
        self.arrived_at, self.ticket_id = at, ticket_id
        self._record(AppointmentArrivedV1(appointment_id=self.booking_id, ticket_id=ticket_id), at)
        return True

    def mark_no_show(self, *, at: datetime, grace: timedelta) -> bool:
        """Not arrived `grace` after the slot's start: a no-show. False if not due."""
        if self.status is not BookingStatus.BOOKED or at < self.slot.starts_at + grace:
            return False
        self.status = BookingStatus.NO_SHOW
        self.no_show_at = at
        self._record(
            AppointmentNoShowV1(appointment_id=self.booking_id, slot_start=self.slot.starts_at),
            at,
        )
        return True
