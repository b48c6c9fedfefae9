"""The waitlist of a specialty at an establishment: patients waiting for a freed place.

An entry waits for a place in its range of local days. When a place frees
(cancellation, a hold that lapsed, new capacity, urgent places released), the first
suitable entry, by the time it joined, is offered it: a hold made for that patient until
`BookingRules.offer` (`appointments.waitlist.offered`). Accepting confirms that hold;
declining, or no answer in time, ends the entry and the place goes to the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sihha_appointments.domain.booking import Booking
from sihha_appointments.domain.errors import NoOffer
from sihha_contracts.events.appointments import WaitlistOfferedV1
from sihha_kit.domain import Aggregate


class EntryStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    LAPSED = "lapsed"  # the offer was declined or not answered in time
    LEFT = "left"  # the patient left the waitlist


@dataclass(kw_only=True)
class WaitlistEntry(Aggregate):
    entry_id: UUID
    patient_key: str
    facility_id: str
    specialty_code: str
    first_day: date
    last_day: date
    status: EntryStatus
    joined_at: datetime
    language: str = "ar"
    offer_booking_id: UUID | None = None
    offer_expires_at: datetime | None = None
    #: the referral a specialty that needs one was joined with (used by the booking)
    referral_id: UUID | None = None

    @classmethod
    def join(
        cls,
        *,
        patient_key: str,
        facility_id: str,
        specialty_code: str,
        first_day: date,
        last_day: date,
        at: datetime,
        language: str = "ar",
        referral_id: UUID | None = None,
    ) -> WaitlistEntry:
        return cls(
            entry_id=uuid4(),
            patient_key=patient_key,
            facility_id=facility_id,
            specialty_code=specialty_code,
            first_day=first_day,
            last_day=last_day,
            status=EntryStatus.WAITING,
            joined_at=at,
            language=language,
            referral_id=referral_id,
        )

    def offer(self, hold: Booking, at: datetime) -> None:
        self.status = EntryStatus.OFFERED
        self.offer_booking_id = hold.booking_id
        self.offer_expires_at = hold.hold_expires_at
        self.record(
            WaitlistOfferedV1(
                waitlist_entry_id=self.entry_id,
                patient_key=self.patient_key,
                specialty_code=self.specialty_code,
                schedule_id=hold.slot.schedule_id,
                slot_start=hold.slot.starts_at,
                slot_end=hold.slot.ends_at,
                expires_at=hold.hold_expires_at,
            ),
            facility_id=self.facility_id,
            aggregate_id=str(self.entry_id),
            at=at,
        )

    def accepted(self) -> None:
        if self.status is not EntryStatus.OFFERED:
            raise NoOffer()
        self.status = EntryStatus.ACCEPTED

    def lapse(self) -> None:
        self.status = EntryStatus.LAPSED

    def withdraw_offer(self) -> None:
        """The clinic took the offered place back (its slot closed): the patient waits on,
        in their place."""
        self.status = EntryStatus.WAITING
        self.offer_booking_id = self.offer_expires_at = None

    def leave(self) -> None:
        self.status = EntryStatus.LEFT
