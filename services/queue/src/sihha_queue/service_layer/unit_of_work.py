"""The queue service's unit of work: the kit's, with the queue's repositories."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sihha_kit.uow import SqlUnitOfWork
from sihha_queue.adapters.repository import ClinicRepository, TicketRepository


class QueueUnitOfWork(SqlUnitOfWork):
    clinics: ClinicRepository
    tickets: TicketRepository

    def open_repositories(self, session: AsyncSession) -> None:
        self.clinics = ClinicRepository(session)
        self.tickets = TicketRepository(session)
