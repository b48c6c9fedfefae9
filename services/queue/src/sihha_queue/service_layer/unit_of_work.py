"""The queue service's unit of work: the kit's, with the queue's repositories."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sihha_contracts.envelope import Envelope, Producer
from sihha_kit.db import Executor
from sihha_kit.uow import SqlUnitOfWork
from sihha_queue.adapters.arrivals import ArrivalRepository
from sihha_queue.adapters.board import BOARD_CHANNEL
from sihha_queue.adapters.clinics import ClinicRepository
from sihha_queue.adapters.directory import ClinicDirectory
from sihha_queue.adapters.idempotency import IdempotencyRepository
from sihha_queue.adapters.prescription_repository import (
    NomenclatureRepository,
    PrescriptionRepository,
)
from sihha_queue.adapters.terminals import TerminalRepository
from sihha_queue.adapters.tickets import TicketRepository

_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


class QueueUnitOfWork(SqlUnitOfWork):
    clinics: ClinicRepository
    tickets: TicketRepository
    idempotency: IdempotencyRepository
    arrivals: ArrivalRepository
    terminals: TerminalRepository
    nomenclature: NomenclatureRepository
    prescriptions: PrescriptionRepository
    core = True  # every queue repository speaks SQLAlchemy Core

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        producer: Producer,
        directory: ClinicDirectory,
    ) -> None:
        super().__init__(sessions, producer)
        self.directory = directory

    def open_repositories(self, session: Executor) -> None:
        self.clinics = ClinicRepository(session, self.directory)
        self.tickets = TicketRepository(session)
        self.idempotency = IdempotencyRepository(session)
        self.arrivals = ArrivalRepository(session)
        self.terminals = TerminalRepository(session)
        self.nomenclature = NomenclatureRepository(session)
        self.prescriptions = PrescriptionRepository(session)

    async def commit(self) -> list[Envelope]:
        envelopes = await super().commit()
        if self.clinics.changed:  # this replica sees its own change at once
            self.clinics.changed = False
            await self.directory.reload()
        return envelopes

    async def notify_board(self, message: dict[str, Any]) -> None:
        """Tell every replica's display-board streams, once this transaction commits."""
        await self.session.execute(
            _NOTIFY, {"channel": BOARD_CHANNEL, "payload": json.dumps(message, default=str)}
        )
