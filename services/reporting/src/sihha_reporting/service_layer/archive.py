"""Ingesting a batch of events: archive each once, then apply the projections, in bulk.

Called by the consumer inside the transaction that also holds the batch's
inbox rows: the archive insert reports which events are new (an event already
archived, whoever archived it, is not projected twice), the projections get
exactly those, and the live stream hears of them once the transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from sihha_contracts.envelope import Envelope, EventPayload
from sihha_kit.clock import Clock, utc_now
from sihha_reporting.adapters.archive import ArchiveRepository
from sihha_reporting.adapters.projection_store import ProjectionStore
from sihha_reporting.domain.facts import Fact
from sihha_reporting.projections import Projector
from sihha_reporting.service_layer.monitor import LiveHub, summary


class Ingestor:
    def __init__(
        self,
        projector: Projector,
        *,
        consumer: str,
        clock: Clock = utc_now,
        hub: LiveHub | None = None,
    ) -> None:
        self.projector = projector
        self.consumer = consumer
        #: the platform's clock: a batch is stamped with it ("data as of" in the reports)
        self.clock = clock
        self.hub = hub

    async def __call__(
        self, batch: Sequence[tuple[Envelope, EventPayload | None]], session: AsyncSession
    ) -> None:
        fresh = await ArchiveRepository(session).append(
            [(envelope, payload is not None) for envelope, payload in batch],
            consumer=self.consumer,
            archived_at=self.clock(),
        )
        facts = [
            Fact.from_envelope(envelope, payload)
            for envelope, payload in batch
            if envelope.event_id in fresh
        ]
        if not facts:
            return
        await ProjectionStore(session).apply(self.projector.project(facts))
        hub = self.hub
        if hub is not None and hub.listening:
            items = [summary(fact) for fact in facts]
            event.listen(
                session.sync_session, "after_commit", lambda _: hub.publish(items), once=True
            )
