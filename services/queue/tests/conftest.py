"""Fixtures of the queue service's tests: the real app on a fresh database, at a clinic
hour (Wednesday 25 November 2026, 08:30 in Algiers) on a clock the test moves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sihha_kit.auth import Role
from sihha_kit.clock import ALGIERS
from sihha_kit.testing.apps import FixedClock, running
from sihha_kit.testing.plugin import bearer, dev_auth_settings
from sihha_kit.testing.servers import Servers
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings

CLINIC = "31-PC-001"
OTHER_CLINIC = "31-PC-002"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 25, 8, 30, tzinfo=ALGIERS))


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
        pseudonym_key_path=dev_keys / "pseudonym.key",
        **dev_auth_settings(dev_keys, issuer="queue"),
        outbox_poll_seconds=0.5,
    )


@pytest.fixture
async def queue_client(
    queue_settings: QueueSettings, clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(queue_settings, clock=clock)) as client:
        yield client


@pytest.fixture
def reception(mint: Callable[..., str]) -> dict[str, str]:
    return bearer(mint(Role.receptionist, establishments=[CLINIC]))


@pytest.fixture
def agent(mint: Callable[..., str]) -> dict[str, str]:
    return bearer(mint(Role.counter_agent, establishments=[CLINIC]))


@pytest.fixture
def doctor(mint: Callable[..., str]) -> dict[str, str]:
    return bearer(mint(Role.doctor, establishments=[CLINIC]))


@pytest.fixture
def admin(mint: Callable[..., str]) -> dict[str, str]:
    return bearer(mint(Role.admin, establishments=["*"]))


async def register_terminal(
    client: httpx.AsyncClient, mint: Callable[..., str], role: str, facility: str = CLINIC
) -> dict[str, Any]:
    """What the IT unit does for a new terminal (`POST /auth/terminals`): its id, role and
    one-time `enrolment_code`, for the terminal's enrolment link (`#enrol=<code>`)."""
    registered = await client.post(
        "/auth/terminals",
        json={"facility_id": facility, "role": role, "label": f"{role} ({facility})"},
        headers=bearer(mint(Role.it_unit, establishments=[facility])),
    )
    assert registered.status_code == 201, registered.text
    enrolment: dict[str, Any] = registered.json()
    return enrolment
