"""What the booking rules refuse. Each is a problem+json the API returns as is; the
texts are in the service's catalogues (`locales/`), under the problem's code."""

from __future__ import annotations

from typing import Any

from sihha_kit.errors import BadRequest, Conflict, NotFound


class SlotNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("slot-not-found")


class SlotInPast(Conflict):
    def __init__(self) -> None:
        super().__init__("slot-in-past")


class SlotFull(Conflict):
    """The slot has no place left for this caller; `next_free` offers the next ones."""

    def __init__(self, next_free: list[dict[str, Any]] | None = None) -> None:
        super().__init__("slot-full", next_free=next_free or [])


class SlotReservedForUrgent(Conflict):
    def __init__(self, released_at: str, next_free: list[dict[str, Any]] | None = None) -> None:
        super().__init__("slot-reserved-urgent", released_at=released_at, next_free=next_free or [])


class HoldNotFound(NotFound):
    """No hold of this caller with that id (another citizen's hold is not theirs to see)."""

    def __init__(self) -> None:
        super().__init__("hold-not-found")


class HoldExpired(Conflict):
    def __init__(self) -> None:
        super().__init__("hold-expired")


class BookingNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("booking-not-found")


class BookingAtAnotherEstablishment(Conflict):
    def __init__(self, facility_id: str) -> None:
        super().__init__("booking-at-another-establishment", facility_id=facility_id)


class IllegalBookingTransition(Conflict):
    def __init__(self, action: str, status: str) -> None:
        super().__init__("booking-illegal-transition", action=action, current_status=status)


class CutoffPassed(Conflict):
    def __init__(self, cutoff_hours: int) -> None:
        super().__init__("citizen-cutoff-passed", cutoff_hours=cutoff_hours)


class ActiveBookingInSpecialty(Conflict):
    def __init__(self, specialty_code: str) -> None:
        super().__init__("active-booking-in-specialty", specialty_code=specialty_code)


class ReferralRequired(Conflict):
    def __init__(self, specialty_code: str) -> None:
        super().__init__("referral-required", specialty_code=specialty_code)


class ReferralNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("referral-not-found")


class ReferralUsed(Conflict):
    def __init__(self) -> None:
        super().__init__("referral-used")


class ReferralExpired(Conflict):
    def __init__(self) -> None:
        super().__init__("referral-expired")


class ReferralOfAnotherSpecialty(Conflict):
    def __init__(self, specialty_code: str) -> None:
        super().__init__("referral-other-specialty", specialty_code=specialty_code)


class InvalidSchedule(BadRequest):
    """A schedule that cannot produce slots (`reason` names the rule)."""

    def __init__(self, reason: str, **extra: Any) -> None:
        super().__init__("schedule-invalid", reason=reason, **extra)


class SlotLengthZero(BadRequest):
    def __init__(self) -> None:
        super().__init__("slot-length-zero")


class ScheduleOverlap(Conflict):
    def __init__(self, other_schedule_id: str, practitioner_ref: str) -> None:
        super().__init__(
            "schedule-overlap",
            other_schedule_id=other_schedule_id,
            practitioner_ref=practitioner_ref,
        )


class ScheduleNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("schedule-not-found")


class ChangeAffectsBookings(Conflict):
    """A schedule change would take slots that hold bookings: they are listed; the
    scheduler resends the change saying whether they are moved or cancelled."""

    def __init__(self, affected: list[dict[str, Any]]) -> None:
        super().__init__("change-affects-bookings", affected=affected, count=len(affected))


class WaitlistEntryNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("waitlist-entry-not-found")


class AlreadyWaitlisted(Conflict):
    def __init__(self) -> None:
        super().__init__("already-waitlisted")


class NoOffer(Conflict):
    def __init__(self) -> None:
        super().__init__("waitlist-no-offer")


class UnknownSpecialty(BadRequest):
    def __init__(self, specialty_code: str) -> None:
        super().__init__("unknown-specialty", specialty_code=specialty_code)


class UnknownEstablishment(NotFound):
    def __init__(self, facility_id: str) -> None:
        super().__init__("unknown-establishment", facility_id=facility_id)


class InvalidDateRange(BadRequest):
    def __init__(self) -> None:
        super().__init__("invalid-date-range")
