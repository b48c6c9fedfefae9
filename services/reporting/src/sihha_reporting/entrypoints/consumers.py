"""The reporting service's one consumer: it takes every event of every service.

Each batch of events is archived (known types and versions or not) and
applied to the projections in bulk, in the transaction that records the
batch in the inbox (`service_layer.archive.Ingestor`). Undecodable messages
go to the dead-letter queue (`reporting.dead`).
"""

from __future__ import annotations

from sihha_kit.consumer import EventConsumer
from sihha_kit.runtime import ServiceRuntime
from sihha_reporting.service_layer.archive import Ingestor

CONSUMER = "reporting"

#: every producing service of the catalogue; reporting binds all their events, and its own
#: (a published report revision is archived too, and the outbox's mandatory publish is routable)
PRODUCERS = ("queue", "appointments", "records", "emergency", "reporting")


def build_consumer(runtime: ServiceRuntime, ingestor: Ingestor) -> EventConsumer:
    settings = runtime.settings
    return EventConsumer(
        CONSUMER,
        runtime.broker,
        runtime.sessions,
        bindings={service: ["#"] for service in PRODUCERS},
        handlers={},
        batch_handler=ingestor,
        accept_unknown=True,
        prefetch=settings.consumer_prefetch,
        batch_size=settings.consumer_batch_size,
        delivery_limit=settings.delivery_limit,
    )
