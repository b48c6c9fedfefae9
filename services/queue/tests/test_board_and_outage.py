"""The display board's live feed, and a clinic that keeps working without the broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import httpx
import pytest
from sqlalchemy import text

from sihha_kit.auth import Role
from sihha_kit.db import create_engine
from sihha_kit.testing.apps import FixedClock, serving, wait_until
from sihha_kit.testing.plugin import bearer
from sihha_kit.testing.servers import Servers
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings

pytestmark = pytest.mark.integration

CLINIC = "31-PC-001"
MG1 = uuid.uuid5(uuid.NAMESPACE_URL, f"sihha:{CLINIC}:MG:1")


async def read_events(lines: AsyncIterator[str], count: int) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    event = None
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            found.append((event, json.loads(line[6:])))
            if len(found) == count:
                return found
    return found


async def test_a_board_gets_the_current_state_at_once_then_every_call(
    queue_settings: QueueSettings, clock: FixedClock, mint: Callable[..., str]
) -> None:
    reception = bearer(mint(Role.receptionist, establishments=[CLINIC]))
    agent = bearer(mint(Role.counter_agent, establishments=[CLINIC]))
    display = bearer(mint(Role.display, establishments=[CLINIC]))
    async with (
        serving(create_app(queue_settings, clock=clock)) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        for _ in range(2):
            await client.post(
                f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=reception
            )
        first = await client.post(
            f"/establishments/{CLINIC}/counters/{MG1}/call-next", headers=agent
        )
        assert first.json()["ticket"]["label"] == "MG-001"

        async with client.stream(
            "GET", f"/establishments/{CLINIC}/board", headers=display, timeout=20
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            assert await anext(lines) == "retry: 3000"  # the kit's stream, reconnection delay first
            [(kind, state)] = await asyncio.wait_for(read_events(lines, 1), 10)
            assert kind == "state"
            assert [c["label"] for c in state["called"]] == ["MG-001"]

            ticket = first.json()["ticket"]
            await client.post(
                f"/establishments/{CLINIC}/tickets/{ticket['ticket_id']}/recall", headers=agent
            )
            [(kind, recalled)] = await asyncio.wait_for(read_events(lines, 1), 10)
            assert (kind, recalled["label"], recalled["counter_label"]) == (
                "recalled",
                "MG-001",
                "MG 1",
            )

        other = bearer(mint(Role.display, establishments=["31-PC-002"]))
        refused = await client.get(f"/establishments/{CLINIC}/board", headers=other)
        assert refused.status_code == 403
        assert refused.json()["code"] == "establishment-forbidden"


async def test_a_board_reads_with_a_display_token_from_its_stream_cookie_never_from_the_url(
    queue_settings: QueueSettings, clock: FixedClock, mint: Callable[..., str]
) -> None:
    display = mint(Role.display, establishments=[CLINIC])
    kiosk = bearer(mint(Role.kiosk, establishments=[CLINIC]))
    path = f"/establishments/{CLINIC}/board"
    async with (
        serving(create_app(queue_settings, clock=clock)) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        # a token in the query string is not read: proxies log URLs
        in_url = await client.get(path, params={"access_token": display})
        assert in_url.status_code == 401
        assert in_url.json()["code"] == "token-missing"
        # a kiosk is not a board (and a board is nothing else: it cannot issue a ticket)
        as_kiosk = await client.get(path, headers=kiosk)
        assert (as_kiosk.status_code, as_kiosk.json()["code"]) == (403, "role-forbidden")
        issued = await client.post(
            f"/establishments/{CLINIC}/tickets",
            json={"service_code": "MG"},
            headers=bearer(display),
        )
        assert (issued.status_code, issued.json()["code"]) == (403, "role-forbidden")

        # what the page does: the bearer token once to the stream session, then the cookie
        opened = await client.post("/auth/stream-session", headers=bearer(display))
        assert opened.status_code == 204
        cookie = opened.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        async with client.stream("GET", path, timeout=20) as stream:
            assert stream.status_code == 200
            [(kind, state)] = await asyncio.wait_for(read_events(stream.aiter_lines(), 1), 10)
        assert (kind, state["facility_id"]) == ("state", CLINIC)

        await client.delete("/auth/stream-session")
        assert (await client.get(path)).status_code == 401


@pytest.mark.fault
async def test_the_clinic_keeps_working_with_the_broker_down_and_nothing_is_lost(
    queue_settings: QueueSettings,
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    agent: dict[str, str],
    doctor: dict[str, str],
    servers: Servers,
) -> None:
    # an observer queue bound to everything the queue service publishes
    connection = await aio_pika.connect(servers.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            f"{queue_settings.broker_namespace}queue.events",
            aio_pika.ExchangeType.TOPIC,
            durable=True,
        )
        observer = await channel.declare_queue(
            f"{queue_settings.broker_namespace}observer", durable=True
        )
        await observer.bind(exchange, "#")

    servers.broker.stop()
    try:
        for _ in range(5):
            issued = await queue_client.post(
                f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=reception
            )
            assert issued.status_code == 201
        called = await queue_client.post(
            f"/establishments/{CLINIC}/counters/{MG1}/call-next", headers=doctor
        )
        ticket = called.json()["ticket"]
        await queue_client.post(
            f"/establishments/{CLINIC}/tickets/{ticket['ticket_id']}/start", headers=doctor
        )
        routed = await queue_client.post(
            f"/establishments/{CLINIC}/tickets/{ticket['ticket_id']}/route",
            json={"to_service_code": "LAB"},
            headers=doctor,
        )
        assert routed.status_code == 200
        ready = (await queue_client.get("/health/ready")).json()
        assert ready["broker"] == "down" and ready["ready"] is True and ready["outbox_backlog"] > 0
    finally:
        await asyncio.to_thread(servers.broker.start)

    engine = create_engine(queue_settings.database_url)
    try:

        async def drained() -> bool:
            async with engine.connect() as c:
                return (
                    await c.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
                ) == 0

        assert await wait_until(drained, timeout=60)
        async with engine.connect() as c:
            written = {str(r[0]) for r in await c.execute(text("SELECT event_id FROM outbox"))}
    finally:
        await engine.dispose()

    connection = await aio_pika.connect(servers.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{queue_settings.broker_namespace}observer")
        received = []
        while (message := await queue.get(fail=False, timeout=5)) is not None:
            received.append(message.message_id)
            await message.ack()
        await queue.delete(if_unused=False, if_empty=False)
    assert len(written) == 5 + 1 + 1 + 3  # issued×5, called, started, completed+routed+issued(LAB)
    assert sorted(received) == sorted(written)  # every event, once


async def _board_calls(
    client: httpx.AsyncClient,
    token: str,
    want: str,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> tuple[set[str], int]:
    """Open a board stream; the ticket ids it shows (state and calls) until `want` is
    among them or two seconds pass, and the last event id it received."""
    seen: set[str] = set()
    last_id = 0
    async with client.stream(
        "GET",
        f"/establishments/{CLINIC}/board",
        params=params,
        headers={**bearer(token), **(headers or {})},
        timeout=20,
    ) as stream:
        lines = stream.aiter_lines()

        async def read() -> None:
            nonlocal last_id
            fields: dict[str, str] = {}
            async for line in lines:  # an event's fields, then a blank line
                if line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                    continue
                if "id" in fields:
                    last_id = max(last_id, int(fields["id"]))
                if "data" in fields and "event" in fields:
                    data = json.loads(fields["data"])
                    calls = data["called"] if fields["event"] == "state" else [data]
                    seen.update(call["ticket_id"] for call in calls)
                fields = {}
                if want in seen:
                    return

        try:
            await asyncio.wait_for(read(), 2)
        except TimeoutError:
            pass
    return seen, last_id


async def test_a_board_that_connects_at_the_moment_of_a_call_never_misses_it(
    queue_settings: QueueSettings, clock: FixedClock, mint: Callable[..., str]
) -> None:
    reception = bearer(mint(Role.receptionist, establishments=[CLINIC]))
    agent = bearer(mint(Role.counter_agent, establishments=[CLINIC]))
    display = mint(Role.display, establishments=[CLINIC])
    async with (
        serving(create_app(queue_settings, clock=clock)) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        for attempt in range(40):
            issued = await client.post(
                f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=reception
            )
            want = issued.json()["ticket_id"]
            board = asyncio.create_task(_board_calls(client, display, want))
            await asyncio.sleep(0.002 * (attempt % 10))  # every timing around the connection
            called = await client.post(
                f"/establishments/{CLINIC}/counters/{MG1}/call-next", headers=agent
            )
            assert called.json()["ticket"]["ticket_id"] == want
            seen, _ = await board
            assert want in seen, attempt
            ticket = called.json()["ticket"]["ticket_id"]
            for action in ("start", "complete"):
                await client.post(
                    f"/establishments/{CLINIC}/tickets/{ticket}/{action}", headers=agent
                )


async def test_a_board_that_reconnects_gets_the_calls_it_missed(
    queue_settings: QueueSettings, clock: FixedClock, mint: Callable[..., str]
) -> None:
    reception = bearer(mint(Role.receptionist, establishments=[CLINIC]))
    agent = bearer(mint(Role.counter_agent, establishments=[CLINIC]))
    display = mint(Role.display, establishments=[CLINIC])
    async with (
        serving(create_app(queue_settings, clock=clock)) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        first = await client.post(
            f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=reception
        )
        await client.post(f"/establishments/{CLINIC}/counters/{MG1}/call-next", headers=agent)
        seen, last_id = await _board_calls(client, display, first.json()["ticket_id"])
        assert last_id > 0
        ticket = first.json()["ticket_id"]
        # while the board is away: the ticket is served, the next one called and served too
        second = await client.post(
            f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=reception
        )
        for action in ("start", "complete"):
            await client.post(f"/establishments/{CLINIC}/tickets/{ticket}/{action}", headers=agent)
        await client.post(f"/establishments/{CLINIC}/counters/{MG1}/call-next", headers=agent)
        missed = second.json()["ticket_id"]
        for action in ("start", "complete"):
            await client.post(f"/establishments/{CLINIC}/tickets/{missed}/{action}", headers=agent)
        # the call is no longer on the board's state, but the reconnecting board hears it
        seen, _ = await _board_calls(
            client, display, missed, headers={"Last-Event-ID": str(last_id)}
        )
        assert missed in seen
        # a page that opens a new EventSource after an error names its last id in the query
        seen, _ = await _board_calls(
            client, display, missed, params={"last_event_id": str(last_id)}
        )
        assert missed in seen
        # without either, the board gets the state alone: the served call is not on it
        seen, _ = await _board_calls(client, display, missed)
        assert missed not in seen
