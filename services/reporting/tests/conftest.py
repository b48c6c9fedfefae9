"""Fixtures of the reporting service's tests: the real app on a fresh database and a
private broker namespace, and a publisher that puts real contract events on the bus."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager as asynccontextmanager_
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from sqlalchemy import text

from sihha_contracts.envelope import Envelope
from sihha_kit.broker import Topology
from sihha_kit.db import create_engine
from sihha_kit.devtools import REPORTING_REKEY_KEY_FILE
from sihha_kit.testing.plugin import dev_auth_settings
from sihha_kit.testing.servers import Servers
from sihha_reporting.config import ReportingSettings


@pytest.fixture
async def reporting_settings(
    make_database: Callable[[str], Awaitable[str]],
    servers: Servers,
    clean_broker_namespace: str,
    dev_keys: Path,
) -> ReportingSettings:
    return ReportingSettings(
        database_url=await make_database("reporting"),
        amqp_url=servers.amqp_url,
        broker_namespace=f"{clean_broker_namespace}{uuid.uuid4().hex[:6]}.",
        jwt_private_key_path=dev_keys / "jwks-private.json",
        patient_rekey_key_path=dev_keys / REPORTING_REKEY_KEY_FILE,
        **dev_auth_settings(dev_keys),
        outbox_poll_seconds=0.3,
        schedule_enabled=False,
        delivery_poll_seconds=0.2,
    )


async def publish(
    settings: ReportingSettings,
    messages: Sequence[Envelope | bytes],
    *,
    routing_key: str | None = None,
) -> None:
    """Publish envelopes (or raw bodies) to the producers' exchanges, persistent, confirmed."""
    topology = Topology(settings.broker_namespace)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchanges: dict[str, Any] = {}
        pending = []
        for message in messages:
            if isinstance(message, Envelope):
                service = message.event_type.split(".", 1)[0]
                body = message.model_dump_json().encode()
                key, message_id = message.event_type, str(message.event_id)
            else:
                service, body = "queue", message
                key, message_id = routing_key or "queue.ticket.issued", str(uuid.uuid4())
            if service not in exchanges:
                exchanges[service] = await channel.declare_exchange(
                    topology.events_exchange(service), aio_pika.ExchangeType.TOPIC, durable=True
                )
            pending.append(
                exchanges[service].publish(
                    aio_pika.Message(
                        body,
                        message_id=message_id,
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=key,
                )
            )
            if len(pending) >= 200:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)


async def query(settings: ReportingSettings, sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text(sql), params)
            return [dict(row._mapping) for row in rows]
    finally:
        await engine.dispose()


async def wait_for_archive(settings: ReportingSettings, count: int, timeout: float = 30.0) -> int:
    """Wait until `count` events of the producers are archived (the reporting service's own
    `reporting.report.published` events, archived too, are not counted)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await query(
            settings,
            "SELECT count(*) AS n FROM event_archive WHERE event_type NOT LIKE 'reporting.%'",
        )
        found = int(rows[0]["n"])
        if found >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


@pytest.fixture
def publisher(
    reporting_settings: ReportingSettings,
) -> Callable[[Sequence[Envelope | bytes]], Awaitable[None]]:
    async def send(messages: Sequence[Envelope | bytes]) -> None:
        await publish(reporting_settings, messages)

    return send


AsyncClientIterator = AsyncIterator[Any]


# -- the running service ------------------------------------------------------------------

from collections.abc import Callable as _Callable  # noqa: E402
from datetime import date as _date  # noqa: E402

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from sihha_kit.auth import Role  # noqa: E402
from sihha_kit.testing.apps import running  # noqa: E402
from sihha_kit.testing.plugin import bearer  # noqa: E402
from sihha_reporting.bootstrap import create_app  # noqa: E402
from sihha_reporting.synthetic import algiers  # noqa: E402

#: "now" for the tests that need a fixed one: October 2026 is a closed month
NOW = algiers(_date(2026, 11, 20), 10)


async def consumer_ready(app: FastAPI, timeout: float = 20.0) -> None:
    """Wait until the consumer has declared and bound its queue (publishing earlier is lost)."""
    consumer = app.state.context.consumer
    deadline = asyncio.get_running_loop().time() + timeout
    while consumer._inbox_queue is None:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the reporting consumer did not start")
        await asyncio.sleep(0.05)


@pytest.fixture
def clock() -> _Callable[[], Any]:
    return lambda: NOW


@pytest.fixture
async def reporting_app(
    reporting_settings: ReportingSettings, clock: _Callable[[], Any]
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(reporting_settings, clock=clock)
    async with running(app) as client:
        await consumer_ready(app)
        yield app, client


@pytest.fixture
def group(mint: _Callable[..., str]) -> dict[str, str]:
    return bearer(mint(Role.wilaya_group, establishments=["*"]))


@pytest.fixture
def it_unit(mint: _Callable[..., str]) -> dict[str, str]:
    return bearer(mint(Role.it_unit, establishments=["*"]))


@pytest.fixture
def ministry(mint: _Callable[..., str]) -> dict[str, str]:
    return bearer(mint(Role.ministry, establishments=["*"]))


@asynccontextmanager_
async def http_server(app: Any, *, lifespan: str = "off") -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not server.started:
            if task.done() or asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("the test HTTP server did not start")
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
