"""The reporting service's one consumer: it takes every event of every service.

Each event is archived (known or not) and applied to every projection that
handles its type, in the same transaction as the inbox row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from sihha_contracts.envelope import Envelope, EventPayload
from sihha_kit.consumer import EventConsumer
from sihha_kit.runtime import ServiceRuntime
from sihha_reporting.projections import PROJECTIONS
from sihha_reporting.service_layer.archive import archive

#: every producing service of the catalogue; reporting binds all their events
PRODUCERS = ("queue", "appointments", "records", "emergency")

Apply = Callable[[Envelope, EventPayload, AsyncSession], Awaitable[None]]


def projections_by_type() -> dict[str, list[Apply]]:
    table: dict[str, list[Apply]] = defaultdict(list)
    for projection in PROJECTIONS:
        for event_type in projection.HANDLES:
            table[event_type].append(projection.apply)
    return table


def build_consumer(runtime: ServiceRuntime) -> EventConsumer:
    by_type = projections_by_type()

    async def on_event(envelope: Envelope, payload: EventPayload, session: AsyncSession) -> None:
        await archive(envelope, session, known=True)
        for apply in by_type.get(envelope.event_type, ()):
            await apply(envelope, payload, session)

    async def on_unknown(envelope: Envelope, session: AsyncSession) -> None:
        await archive(envelope, session, known=False)

    settings = runtime.settings
    return EventConsumer(
        "reporting",
        runtime.broker,
        runtime.sessions,
        bindings={service: ["#"] for service in PRODUCERS},
        handlers={},
        default_handler=on_event,
        unknown_handler=on_unknown,
        prefetch=settings.consumer_prefetch,
        batch_size=settings.consumer_batch_size,
        delivery_limit=settings.delivery_limit,
    )
