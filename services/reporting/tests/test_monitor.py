"""The IT units' monitor: a live stream with filters, queue depths, lag, last events, the page."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import date
from typing import Any

import httpx
import pytest

from sihha_reporting.bootstrap import create_app
from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import EventFactory, algiers

from .conftest import consumer_ready, http_server, publish, query

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
            bad = await client.get(
                "/monitor/stream", params={"event_type": "x'; drop"}, headers=it_unit
            )
            assert bad.status_code == 422


async def test_the_monitor_lists_a_copy_under_a_new_event_id_as_a_conflict(
    reporting_settings: ReportingSettings, it_unit: dict[str, str]
) -> None:
    """A producer that sends `queue.ticket.issued` again under a new event id (same ticket,
    same sequence): the ticket is counted once, and the monitor shows the copy."""
    app = create_app(reporting_settings)
    [issued, *_] = EventFactory().ticket_journey("31-PC-004", "MG", algiers(date(2026, 10, 7), 9))
    copy = issued.model_copy(update={"event_id": uuid.uuid4()})
    async with http_server(app, lifespan="on") as base:
        await consumer_ready(app)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await publish(reporting_settings, [issued, copy])
            listed: list[dict[str, Any]] = []
            for _ in range(100):
                status = (await client.get("/monitor/status", headers=it_unit)).json()
                listed = [c for c in status["conflicts"] if c["event_id"] == str(copy.event_id)]
                if listed:
                    break
                await asyncio.sleep(0.2)
            assert listed == [
                {
                    "consumer": "reporting",
                    "event_id": str(copy.event_id),
                    "event_type": "queue.ticket.issued",
                    "producer": issued.producer.name,
                    "aggregate_id": issued.aggregate_id,
                    "sequence": issued.sequence,
                    "facility_id": "31-PC-004",
                    "kept_event_id": str(issued.event_id),
                    "kept_event_type": "queue.ticket.issued",
                    "received_at": listed[0]["received_at"],
                }
            ]
            assert status["conflicts_total"] >= 1
            assert listed[0]["received_at"].endswith("+01:00")
            archived = await query(
                reporting_settings,
                "SELECT count(*) AS n FROM event_archive WHERE aggregate_id = :a",
                a=issued.aggregate_id,
            )
            assert archived == [{"n": 1}]


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


async def test_the_page_speaks_the_asked_language_from_the_catalogue(
    reporting_app: tuple[Any, httpx.AsyncClient],
) -> None:
    _, client = reporting_app
    arabic = await client.get("/monitor", params={"lang": "ar"})
    assert arabic.status_code == 200 and 'lang="ar" dir="rtl"' in arabic.text
    assert "<title>صحة — مراقبة تدفق الأحداث</title>" in arabic.text
    assert "script-src 'self'" in arabic.headers["content-security-policy"]
    assert "<script>" not in arabic.text  # no inline script: the CSP would block it
    french = await client.get("/monitor", headers={"Accept-Language": "fr-DZ,ar;q=0.5"})
    assert 'lang="fr" dir="ltr"' in french.text and "Lettres mortes" in french.text
    [script] = re.findall(r'src="(/monitor/static/monitor\.js\?v=[0-9a-f]+)"', french.text)
    served = await client.get(script)
    assert served.status_code == 200 and "/monitor/stream" in served.text
    assert (await client.get("/monitor/static/nothing.js")).status_code == 404
    texts = (await client.get("/i18n/ar.json")).json()
    assert texts["monitor.missed"] == "… {count} أحداث فائتة"
