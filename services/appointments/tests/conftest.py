"""Fixtures of the appointments service's tests: the real app on a fresh database and a
private broker namespace, on a clock the test moves (Tuesday 1 December 2026, 09:00 in
Algiers), with its SMS sink in the test's folder."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sihha_appointments.bootstrap import create_app
from sihha_appointments.config import AppointmentsSettings
from sihha_kit.auth import Role
from sihha_kit.clock import ALGIERS
from sihha_kit.testing.apps import FixedClock, running
from sihha_kit.testing.plugin import bearer, dev_auth_settings
from sihha_kit.testing.servers import Servers

CLINIC = "31-PC-001"  # Colonel Lotfi (pilot)
OTHER_CLINIC = "31-PC-002"  # Front de Mer (pilot)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ALGIERS)


def patient_key(name: str) -> str:
    """A stand-in pseudonymous key (64 hex digits) for a test citizen."""
    return hashlib.sha256(name.encode()).hexdigest()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def appointments_settings(
    make_database: Callable[[str], Awaitable[str]],
    servers: Servers,
    clean_broker_namespace: str,
    dev_keys: Path,
    tmp_path: Path,
) -> AppointmentsSettings:
    return AppointmentsSettings(
        database_url=await make_database("appointments"),
        amqp_url=servers.amqp_url,
        broker_namespace=f"{clean_broker_namespace}{uuid.uuid4().hex[:6]}.",
        pseudonym_key_path=dev_keys / "pseudonym.key",
        secret_path=tmp_path / "keys" / "appointments-secret.key",
        **dev_auth_settings(dev_keys, issuer="appointments"),
        sms_sink_path=tmp_path / "sms.jsonl",
        outbox_poll_seconds=0.5,
        timer_poll_seconds=0.2,
        # the race fires hundreds of holds from one address
        searches_per_minute=10_000,
        holds_per_hour=10_000,
    )


@pytest.fixture
async def client(
    appointments_settings: AppointmentsSettings, clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(appointments_settings, clock=clock)) as api:
        yield api


@pytest.fixture
def scheduler(mint: Callable[..., str]) -> dict[str, str]:
    return bearer(mint(Role.scheduler, establishments=[CLINIC], subject="scheduler:1"))


@pytest.fixture
def citizen(mint: Callable[..., str]) -> Callable[[str], dict[str, str]]:
    def make(name: str) -> dict[str, str]:
        return bearer(mint(Role.citizen, subject=f"citizen:{name}", patient_key=patient_key(name)))

    return make


def schedule_body(
    *,
    specialty: str = "DERMA",
    practitioner: str = "dr-derma-01",
    first: date = date(2026, 12, 6),
    last: date = date(2026, 12, 31),
    places: int = 1,
    minutes: int = 30,
    periods: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "specialty_code": specialty,
        "practitioner_ref": practitioner,
        "room": "B12",
        "periods": periods
        or [
            {"weekday": "sun", "starts": "08:30", "ends": "12:00"},
            {"weekday": "tue", "starts": "13:00", "ends": "15:00"},
        ],
        "slot_minutes": minutes,
        "places_per_slot": places,
        "effective_from": first.isoformat(),
        "effective_to": last.isoformat(),
    }


async def publish(
    client: httpx.AsyncClient, headers: dict[str, str], **values: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/establishments/{CLINIC}/schedules", json=schedule_body(**values), headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def free_slots(
    client: httpx.AsyncClient, headers: dict[str, str], specialty: str = "DERMA", **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        "/slots", params={"specialty": specialty, "limit": 50, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def book(
    client: httpx.AsyncClient, headers: dict[str, str], slot_id: str, **extra: Any
) -> dict[str, Any]:
    held = await client.post("/holds", json={"slot_id": slot_id, **extra}, headers=headers)
    assert held.status_code == 201, held.text
    confirmed = await client.post(f"/holds/{held.json()['booking_id']}/confirm", headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    body: dict[str, Any] = confirmed.json()
    return body
