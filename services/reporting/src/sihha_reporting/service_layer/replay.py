"""Rebuilding every projection from the archive (`python -m sihha_reporting rebuild`).

In one transaction: lock the projection tables (the live consumer's batches wait,
then apply their events on top of the rebuilt state — nothing is lost or
counted twice, since their archive rows are not yet committed when the rebuild
reads), empty them, read the whole archive in chunks from one snapshot and
apply the projections exactly as the live consumer does. Readers see the old
projections until the rebuild commits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sihha_contracts.catalogue import payload_model
from sihha_contracts.envelope import EventPayload
from sihha_reporting.adapters.archive import ArchiveRepository
from sihha_reporting.adapters.projection_store import ProjectionStore
from sihha_reporting.adapters.repository import ProjectionStateRepository
from sihha_reporting.domain.facts import Fact
from sihha_reporting.projections import Projector, projection_tables


@dataclass(frozen=True)
class RebuildResult:
    events: int
    undecodable: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def fact_from_row(row: Any) -> tuple[Fact, bool]:
    """A replayed fact, and whether its stored payload failed its (known) model."""
    model = payload_model(row["event_type"], row["schema_version"])
    payload: EventPayload | None = None
    broken = False
    if model is not None:
        try:
            payload = model.model_validate_json(row["payload"])
        except ValidationError:
            broken = True
    fact = Fact(
        event_id=row["event_id"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        facility_id=row["facility_id"],
        aggregate_id=row["aggregate_id"],
        sequence=row["sequence"],
        occurred_at=row["occurred_at"],
        payload=payload,
    )
    return fact, broken


async def rebuild_in(
    session: AsyncSession, projector: Projector, *, chunk_size: int = 5000
) -> tuple[int, int]:
    """The rebuild itself, inside the caller's transaction. Returns (events, undecodable)."""
    projections: Sequence[ModuleType] = projector.projections
    tables = projection_tables(projections)
    store = ProjectionStore(session)
    await store.lock(tables)
    await store.empty(tables)
    events = undecodable = 0
    async for rows in ArchiveRepository(session).stream(chunk_size):
        facts = []
        for row in rows:
            fact, broken = fact_from_row(row)
            facts.append(fact)
            undecodable += broken
        await store.apply(projector.project(facts))
        events += len(rows)
    state = ProjectionStateRepository(session)
    for projection in projections:
        await state.record(projection.NAME, projection.VERSION, events)
    return events, undecodable


async def rebuild(
    sessions: async_sessionmaker[AsyncSession], projector: Projector, *, chunk_size: int = 5000
) -> RebuildResult:
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        events, undecodable = await rebuild_in(session, projector, chunk_size=chunk_size)
    return RebuildResult(events, undecodable, time.perf_counter() - started)


async def stale_projections(session: AsyncSession, projections: Sequence[ModuleType]) -> list[str]:
    """Projections whose code version differs from the one that last rebuilt them."""
    built = await ProjectionStateRepository(session).all()
    return [p.NAME for p in projections if built.get(p.NAME) not in (None, p.VERSION)]
