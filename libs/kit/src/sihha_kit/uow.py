"""The unit of work: the only place that commits.

It opens a session, lets repositories work in it, and on `commit()` collects
the events recorded by the aggregates it has seen and writes them to the
outbox in the same transaction. Leaving the block without `commit()` rolls
everything back, events included.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from sihha_contracts.envelope import Envelope, Producer
from sihha_kit.db import Executor
from sihha_kit.domain import Aggregate
from sihha_kit.outbox import Outbox, wake_relays


class SqlUnitOfWork:
    #: named `session` for the repositories: an ORM session, or with `core` a Core
    #: connection in a transaction
    session: AsyncConnection
    #: repositories that speak only SQLAlchemy Core set this: a plain connection skips the
    #: ORM session's machinery, which cost ~0.2 ms of CPU per statement on hot paths
    core: bool = False

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        producer: Producer,
        *,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> None:
        self._sessions = sessions
        self._engine: AsyncEngine = sessions.kw["bind"]
        self.producer = producer
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self._seen: list[Aggregate] = []
        self.published: list[Envelope] = []

    async def __aenter__(self) -> Self:
        if self.core:
            self.session = await self._engine.connect()
        else:
            self.session = self._sessions()  # type: ignore[assignment]
        self._seen = []
        self.published = []
        self.open_repositories(self.session)
        return self

    def open_repositories(self, session: Executor) -> None:
        """Subclasses create their repositories on the session here."""

    def seen(self, aggregate: Aggregate) -> None:
        """Track an aggregate whose recorded events must be written on commit."""
        if all(aggregate is not known for known in self._seen):
            self._seen.append(aggregate)

    async def commit(self) -> list[Envelope]:
        events = [event for aggregate in self._seen for event in aggregate.pop_events()]
        envelopes = await Outbox(self.session, self.producer).add(
            events, correlation_id=self.correlation_id, causation_id=self.causation_id
        )
        await self.session.commit()
        if envelopes:
            wake_relays()
        self.published.extend(envelopes)
        return envelopes

    async def rollback(self) -> None:
        await self.session.rollback()
        for aggregate in self._seen:
            aggregate.pop_events()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            await self.session.close()
