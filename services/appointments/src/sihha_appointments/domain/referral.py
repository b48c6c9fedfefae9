"""A general practitioner's referral to a specialist: a single-use code.

Specialties that require a referral (`BookingRules.referral_required`) are held only
with a referral code issued for that specialty and patient; an urgent referral may also
take the places kept for urgent cases. A code is used once, by the booking confirmed
with it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from sihha_appointments.domain.errors import (
    ReferralExpired,
    ReferralNotFound,
    ReferralOfAnotherSpecialty,
    ReferralUsed,
)

REFERRAL_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
REFERRAL_LENGTH = 10


@dataclass(kw_only=True)
class Referral:
    referral_id: UUID
    code: str
    facility_id: str  # where the general practitioner works
    specialty_code: str
    patient_key: str
    urgent: bool
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    booking_id: UUID | None = None

    @classmethod
    def issue(
        cls,
        *,
        facility_id: str,
        specialty_code: str,
        patient_key: str,
        urgent: bool,
        at: datetime,
        valid_until: datetime,
    ) -> Referral:
        return cls(
            referral_id=uuid4(),
            code="".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_LENGTH)),
            facility_id=facility_id,
            specialty_code=specialty_code,
            patient_key=patient_key,
            urgent=urgent,
            issued_at=at,
            expires_at=valid_until,
        )

    def check_usable(self, *, patient_key: str, specialty_code: str, at: datetime) -> None:
        if patient_key != self.patient_key:
            raise ReferralNotFound()  # another patient's code is not theirs to know of
        if self.used_at is not None:
            raise ReferralUsed()
        if at >= self.expires_at:
            raise ReferralExpired()
        if specialty_code != self.specialty_code:
            raise ReferralOfAnotherSpecialty(self.specialty_code)

    def use(self, booking_id: UUID, at: datetime) -> None:
        if self.used_at is not None and self.booking_id != booking_id:
            raise ReferralUsed()
        self.used_at, self.booking_id = at, booking_id
