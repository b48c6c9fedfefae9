"""The unit of work: the only place that commits.

It opens a session, lets repositories work in it, and on `commit()` collects
the events recorded by every aggregate its repositories handed out or took in
(`Repository.track`, as in cosmicpython's unit of work) and writes them to the
outbox in the same transaction. A handler cannot forget to pass an aggregate:
what a repository loaded or added is collected. Leaving the block without
`commit()` rolls everything back, events included.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from sihha_contracts.envelope import Envelope, Producer
from sihha_kit.db import Executor
from sihha_kit.domain import Aggregate
from sihha_kit.outbox import Outbox, wake_relays

A = TypeVar("A", bound=Aggregate)


class Repository:
    """Base for a service's repositories: statements run on the unit of work's session,
    and every aggregate the repository returns or takes in is tracked, so that the unit
    of work writes its recorded events on commit.

    A subclass calls `track` on what it loads (``return self.track(ticket)``) and on
    what it adds or saves."""

    def __init__(self, session: Executor) -> None:
        self.session = session
        self.seen: list[Aggregate] = []

    def track(self, aggregate: A) -> A:
        if all(aggregate is not known for known in self.seen):
            self.seen.append(aggregate)
        return aggregate


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
        self.published: list[Envelope] = []

    async def __aenter__(self) -> Self:
        if self.core:
            self.session = await self._engine.connect()
        else:
            self.session = self._sessions()  # type: ignore[assignment]
        self.published = []
        self.open_repositories(self.session)
        return self

    def open_repositories(self, session: Executor) -> None:
        """Subclasses create their repositories on the session here."""

    def repositories(self) -> list[Repository]:
        """The repositories `open_repositories` created (attributes of this unit of work)."""
        return [value for value in vars(self).values() if isinstance(value, Repository)]

    def _tracked(self) -> list[Aggregate]:
        tracked: list[Aggregate] = []
        for repository in self.repositories():
            for aggregate in repository.seen:
                if all(aggregate is not known for known in tracked):
                    tracked.append(aggregate)
        return tracked

    async def commit(self) -> list[Envelope]:
        events = [event for aggregate in self._tracked() for event in aggregate.pop_events()]
        envelopes = await Outbox(self.session, self.producer).add(
            events, correlation_id=self.correlation_id, causation_id=self.causation_id
        )
        await self.session.commit()
        if envelopes:
            wake_relays()
        self.published.extend(envelopes)
        return envelopes

    async def rollback(self) -> None:
        # nothing to roll back once committed (or before any statement): asking anyway
        # costs a trip through SQLAlchemy's greenlet bridge on every request's way out
        if self.session.in_transaction():
            await self.session.rollback()
        for aggregate in self._tracked():
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
