"""The appointments service's unit of work: the kit's, with this service's repositories."""

from __future__ import annotations

from sihha_appointments.adapters.repository import (
    BookingRepository,
    ChallengeRepository,
    CitizenRepository,
    ClinicQueries,
    NotificationRepository,
    ReferralRepository,
    ScheduleRepository,
    SlotRepository,
    TimerRepository,
    WaitlistRepository,
)
from sihha_kit.db import Executor
from sihha_kit.uow import SqlUnitOfWork


class AppointmentsUnitOfWork(SqlUnitOfWork):
    schedules: ScheduleRepository
    slots: SlotRepository
    bookings: BookingRepository
    referrals: ReferralRepository
    waitlist: WaitlistRepository
    timers: TimerRepository
    citizens: CitizenRepository
    challenges: ChallengeRepository
    notifications: NotificationRepository
    queries: ClinicQueries
    core = True  # every repository speaks SQLAlchemy Core

    def open_repositories(self, session: Executor) -> None:
        self.schedules = ScheduleRepository(session)
        self.slots = SlotRepository(session)
        self.bookings = BookingRepository(session)
        self.referrals = ReferralRepository(session)
        self.waitlist = WaitlistRepository(session)
        self.timers = TimerRepository(session)
        self.citizens = CitizenRepository(session)
        self.challenges = ChallengeRepository(session)
        self.notifications = NotificationRepository(session)
        self.queries = ClinicQueries(session)
