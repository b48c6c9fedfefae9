"""Fixtures of the queue service's tests: the real app on a fresh database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from sihha_kit.testing.apps import running
from sihha_kit.testing.servers import Servers
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings


@pytest.fixture
async def queue_settings(
    make_database: Callable[[str], Awaitable[str]],
    servers: Servers,
    clean_broker_namespace: str,
    dev_keys: Path,
) -> QueueSettings:
    return QueueSettings(
        database_url=await make_database("queue"),
        amqp_url=servers.amqp_url,
        broker_namespace=f"{clean_broker_namespace}{uuid.uuid4().hex[:6]}.",
        jwt_public_key_path=dev_keys / "jwt-public.pem",
        pseudonym_key_path=dev_keys / "pseudonym.key",
        outbox_poll_seconds=0.5,
    )


@pytest.fixture
async def queue_client(queue_settings: QueueSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(queue_settings)) as client:
        yield client
