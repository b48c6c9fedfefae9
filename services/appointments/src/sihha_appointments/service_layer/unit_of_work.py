"""The appointments service's unit of work: the kit's, with this service's repositories."""

from __future__ import annotations

from typing import Self

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
from sihha_contracts.envelope import Envelope
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
    #: reads without a transaction (the slot search; a hold's first look): no BEGIN and
    #: no ROLLBACK, so a read of one statement is one round trip instead of three; set by
    #: `reader()`; `writing()` opens the transaction when the work turns out to need one
    reading: bool = False

    def reader(self) -> Self:
        """This unit of work reading without a transaction (each statement its own
        snapshot, as PostgreSQL runs a statement outside a transaction block). It cannot
        commit until `writing()`."""
        self.reading = True
        return self

    async def writing(self) -> None:
        """From here on, statements run in one transaction that `commit()` ends (the
        reads before it are not part of it: what they found is checked again by the
        database's constraints when it matters)."""
        if not self.reading:
            return
        # what SQLAlchemy asks before the isolation level changes: end its (empty)
        # transaction; in AUTOCOMMIT the driver sends nothing
        await self.session.commit()
        await self.session.execution_options(isolation_level=self.session.default_isolation_level)
        self.reading = False

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        if self.reading:
            # SQLAlchemy's public switch; for asyncpg it is kept on the client (no round
            # trip) and undone when the connection goes back to the pool
            await self.session.execution_options(isolation_level="AUTOCOMMIT")
        return self

    async def commit(self) -> list[Envelope]:
        if self.reading:
            raise RuntimeError("a reader does not commit: call writing() first")
        return await super().commit()

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
