"""The booking rules a region chooses: hold and offer lengths, cut-offs, referrals,
urgent places, reminders, abuse limits. Pure values; `config.py` fills them from the
service's settings (`APPOINTMENTS_…`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sihha_kit.clock import ALGIERS


@dataclass(frozen=True)
class BookingRules:
    #: how long a chosen slot is held for a citizen before it is freed again
    hold: timedelta = timedelta(minutes=10)
    #: how long a waitlisted patient has to accept a freed place offered to them
    offer: timedelta = timedelta(hours=2)
    #: a citizen cancels or reschedules until this long before the slot (the clinic: always)
    citizen_cutoff: timedelta = timedelta(hours=24)
    #: a booking not arrived this long after its slot starts becomes a no-show
    no_show_grace: timedelta = timedelta(minutes=45)
    #: one active (held or booked) booking per patient and specialty, enforced by PostgreSQL
    one_active_per_specialty: bool = True
    #: specialties booked only with a general practitioner's referral code
    referral_required: frozenset[str] = frozenset({"CARDIO", "NEURO", "ENDO", "RHUMA"})
    #: how long a referral code stays usable after it is issued
    referral_validity: timedelta = timedelta(days=90)
    #: share of each day's places kept for urgent referrals, per specialty (default below)
    urgent_share: dict[str, float] = field(default_factory=dict)
    default_urgent_share: float = 0.2
    #: urgent places are released to everybody this long before their day starts
    urgent_release: timedelta = timedelta(hours=48)
    #: reminders are sent this long before the appointment (none already past when booked)
    reminder_leads: tuple[timedelta, ...] = (timedelta(days=2), timedelta(days=1))
    #: no reminder is sent between these two Algiers times (a reminder due inside is
    #: sent at the end of the previous evening, before the quiet hours start)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    #: a citizen has at most this many active bookings at once
    max_active_bookings: int = 4

    def needs_referral(self, specialty_code: str) -> bool:
        return specialty_code in self.referral_required

    def urgent_share_of(self, specialty_code: str) -> float:
        return self.urgent_share.get(specialty_code, self.default_urgent_share)

    def in_quiet_hours(self, instant: datetime) -> bool:
        local = instant.astimezone(ALGIERS).time()
        if self.quiet_start > self.quiet_end:  # over midnight (21:00 → 08:00)
            return local >= self.quiet_start or local < self.quiet_end
        return self.quiet_start <= local < self.quiet_end

    def reminder_time(self, slot_start: datetime, lead: timedelta) -> datetime:
        """When the reminder `lead` before `slot_start` is sent: that instant, or, if it
        falls in the quiet hours, one minute before they start that evening."""
        due = slot_start - lead
        if not self.in_quiet_hours(due):
            return due
        local = due.astimezone(ALGIERS)
        evening = local.replace(
            hour=self.quiet_start.hour, minute=self.quiet_start.minute, second=0, microsecond=0
        )
        if evening > local:  # after midnight: the quiet hours started the evening before
            evening -= timedelta(days=1)
        return (evening - timedelta(minutes=1)).astimezone(due.tzinfo)

    def reminders_for(self, slot_start: datetime, now: datetime) -> list[datetime]:
        """The reminder instants still ahead for a slot booked at `now` (sorted)."""
        due = sorted({self.reminder_time(slot_start, lead) for lead in self.reminder_leads})
        return [instant for instant in due if now < instant < slot_start]
