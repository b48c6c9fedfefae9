"""The queue service's unit of work: the kit's, with the queue's repositories."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sihha_contracts.envelope import Envelope, Producer
from sihha_kit.db import Executor, StatementPool
from sihha_kit.outbox import build_envelope, wake_relays
from sihha_kit.tracing import current_traceparent
from sihha_kit.uow import SqlUnitOfWork
from sihha_queue.adapters.directory import ClinicDirectory
from sihha_queue.adapters.prescription_repository import (
    NomenclatureRepository,
    PrescriptionRepository,
)
from sihha_queue.adapters.repository import (
    ArrivalRepository,
    ClinicRepository,
    IdempotencyRepository,
    TerminalRepository,
    TicketRepository,
    insert_issued_ticket,
)
from sihha_queue.domain.ticket import Ticket

#: PostgreSQL channel of the display boards (NOTIFY is delivered on commit only)
BOARD_CHANNEL = "queue_board"


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
        statements: StatementPool,
    ) -> None:
        super().__init__(sessions, producer)
        self.directory = directory
        self.statements = statements

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

    async def commit_issued(
        self,
        ticket: Ticket,
        *,
        idempotency: tuple[str, str, str] | None = None,
        response: dict[str, Any] | None = None,
    ) -> None:
        """Commit a newly issued ticket, its visit, history and event, and the answer kept
        for an Idempotency-Key, in one statement of its own (`insert_issued_ticket`) on a
        connection of the `StatementPool`: call it outside `async with uow`, which would
        check out a connection that this write does not use. The ticket gets the number
        the statement took."""
        [event] = ticket.pop_events()
        envelope = build_envelope(
            event,
            self.producer,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            traceparent=current_traceparent(),
        )
        async with self.statements.acquire() as connection:
            ticket.number = await insert_issued_ticket(
                connection, ticket, envelope, idempotency=idempotency, response=response
            )
        wake_relays()

    async def notify_board(self, message: dict[str, Any]) -> None:
        """Tell every replica's display-board streams, once this transaction commits."""
        await self.session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": BOARD_CHANNEL, "payload": json.dumps(message, default=str)},
        )
