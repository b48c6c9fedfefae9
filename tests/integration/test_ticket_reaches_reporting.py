"""The first end-to-end slice: a ticket issued at a clinic is counted by reporting.

HTTP → queue's database + outbox → relay → RabbitMQ → reporting's inbox →
archive + projection → reporting's HTTP API; one trace spans all of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sihha_kit.auth import Role
from sihha_kit.clock import ALGIERS
from sihha_kit.testing.apps import FixedClock, running, wait_until
from sihha_kit.testing.plugin import bearer
from sihha_kit.tracing import configure_tracing
from sihha_queue.bootstrap import create_app as create_queue_app
from sihha_queue.config import QueueSettings
from sihha_reporting.bootstrap import create_app as create_reporting_app
from sihha_reporting.config import ReportingSettings

pytestmark = pytest.mark.integration


async def test_tickets_issued_at_two_clinics_are_counted_per_establishment_and_day(
    platform_settings: tuple[QueueSettings, ReportingSettings], mint: Callable[..., str]
) -> None:
    clock = FixedClock(datetime(2026, 11, 25, 9, 15, tzinfo=ALGIERS))  # a Wednesday morning
    spans = InMemorySpanExporter()
    configure_tracing("tests", "0", extra_processor=SimpleSpanProcessor(spans))
    queue_settings, reporting_settings = platform_settings
    lotfi = bearer(mint(Role.receptionist, establishments=["31-PC-001"]))
    front_de_mer = bearer(mint(Role.kiosk, establishments=["31-PC-002"]))
    group = bearer(mint(Role.wilaya_group, establishments=["*"]))

    async with (
        running(create_queue_app(queue_settings, clock=clock)) as queue,
        running(create_reporting_app(reporting_settings)) as reporting,
    ):
        issued = [
            queue.post(
                "/establishments/31-PC-001/tickets", json={"service_code": "MG"}, headers=lotfi
            )
            for _ in range(7)
        ] + [
            queue.post(
                "/establishments/31-PC-002/tickets",
                json={"service_code": "PED", "channel": "kiosk"},
                headers=front_de_mer,
            )
            for _ in range(4)
        ]
        assert all(r.status_code == 201 for r in await asyncio.gather(*issued))
        today = "2026-11-25"

        async def counted() -> list[dict]:  # type: ignore[type-arg]
            response = await reporting.get("/activity/tickets-per-day", headers=group)
            rows = response.json()
            return rows if sum(row["tickets_issued"] for row in rows) >= 11 else []

        rows = await wait_until(counted, timeout=30)
        assert sorted((r["facility_id"], r["day"], r["tickets_issued"]) for r in rows) == [
            ("31-PC-001", today, 7),
            ("31-PC-002", today, 4),
        ]
        source = (
            await queue.get("/counts/activity", params={"from": today, "to": today}, headers=group)
        ).json()
        assert sorted((r["facility_id"], r["day"], r["tickets_issued"]) for r in source) == [
            ("31-PC-001", today, 7),
            ("31-PC-002", today, 4),
        ]

    finished = spans.get_finished_spans()
    posts = [s for s in finished if s.name == "POST /establishments/{facility_id}/tickets"]
    assert len(posts) == 11
    # the consumer's spans continue each request's trace: as the parent of a per-event
    # span, or as a link of a batch span (bulk consumers)
    consumed = [s for s in finished if s.name.startswith("consume")]
    continued = {s.context.trace_id for s in consumed if s.parent is not None} | {
        link.context.trace_id for s in consumed for link in s.links
    }
    assert {p.context.trace_id for p in posts} <= continued
