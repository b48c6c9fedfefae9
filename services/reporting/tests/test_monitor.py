"""The IT units' monitor: a live stream with filters, queue depths, lag, last events, the page."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import httpx
import pytest

from sihha_reporting.bootstrap import create_app
from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import EventFactory, algiers

from .conftest import consumer_ready, http_server, publish

pytestmark = pytest.mark.integration


async def read_events(
    response: httpx.Response, wanted: int, timeout: float = 20
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        block: list[str] = []
        async for line in response.aiter_lines():
            if line:
                block.append(line)
                continue
            kind = next((part[7:] for part in block if part.startswith("event: ")), None)
            data = "\n".join(part[6:] for part in block if part.startswith("data: "))
            block = []
            if kind == "event":
                events.append(json.loads(data))
                if len(events) >= wanted:
                    return

    await asyncio.wait_for(collect(), timeout)
    return events


async def test_the_live_stream_follows_one_establishment_and_shows_no_payload(
    reporting_settings: ReportingSettings, it_unit: dict[str, str], group: dict[str, str]
) -> None:
    app = create_app(reporting_settings)
    factory = EventFactory()
    day = date(2026, 10, 6)
    lotfi = factory.ticket_journey("31-PC-001", "MG", algiers(day, 9))
    front = factory.ticket_journey("31-PC-002", "MG", algiers(day, 9))
    async with http_server(app, lifespan="on") as base:
        await consumer_ready(app)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            refused = await client.get("/monitor/stream", headers=group)
            assert refused.status_code == 403
            async with client.stream(
                "GET",
                "/monitor/stream",
                params={"facility_id": "31-PC-002", "event_type": "queue.ticket.*"},
                headers=it_unit,
            ) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                await asyncio.sleep(0.2)
                await publish(reporting_settings, lotfi + front)
                events = await read_events(response, 2)
            assert {e["facility_id"] for e in events} == {"31-PC-002"}
            assert {e["event_type"] for e in events} == {
                "queue.ticket.issued",
                "queue.ticket.called",
            }
            assert all("payload" not in e and e["occurred_at"].endswith("+01:00") for e in events)
            status = (await client.get("/monitor/status", headers=it_unit)).json()
            [own] = [c for c in status["consumers"] if c["consumer"] == "reporting"]
            assert own["queue_depth"] is not None and own["dead_letters"] == 0
            assert own["lag_seconds"] is not None and own["lag_seconds"] > 0
            last = {e["facility_id"]: e for e in status["establishments"]}
            assert last["31-PC-002"]["last_event_type"] == "queue.visit.completed"
            page = await client.get("/monitor")
            assert (
                page.status_code == 200
                and "EventSource" not in page.text
                and "/monitor/stream" in page.text
            )
            bad = await client.get(
                "/monitor/stream", params={"event_type": "x'; drop"}, headers=it_unit
            )
            assert bad.status_code == 422


async def test_replaying_the_dead_letters_of_an_unknown_consumer_is_a_404(
    reporting_app: tuple[Any, httpx.AsyncClient], it_unit: dict[str, str]
) -> None:
    # found by the API fuzzer: both used to end in a 500 (the broker closed the channel)
    _, client = reporting_app
    unknown = await client.post(
        "/monitor/dead-letters/replay", params={"consumer": "nobody"}, headers=it_unit
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["code"] == "unknown-consumer"
    # a monitored consumer whose queues this broker namespace has not declared yet
    undeclared = await client.post(
        "/monitor/dead-letters/replay", params={"consumer": "queue"}, headers=it_unit
    )
    assert (undeclared.status_code, undeclared.json()["code"]) == (
        404,
        "consumer-queues-not-found",
    )
