"""Pytest fixtures shared by every test of the platform (loaded with `-p`).

Each test run isolates itself: its own databases (`sihha_t<run>_<name>`) and
its own broker namespace (`t<run>.` before every exchange and queue name), so
runs never see each other's data or messages; both are removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from sihha_kit.auth import Role, TrustedIssuer
from sihha_kit.db import drop_database, ensure_database
from sihha_kit.devtools import (
    DEFAULT_ISSUER,
    DEVICE_KEY_SUFFIX,
    PUBLIC_KEY_SET_FILE,
    REVOCATIONS_FILE,
    SIGNING_KEYS_SUFFIX,
    TokenIssuer,
)
from sihha_kit.testing.servers import Servers, start_servers


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def broker_namespace(run_id: str) -> str:
    return f"t{run_id}."


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    try:
        found = start_servers()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    yield found
    found.stop()


@pytest.fixture(scope="session")
async def make_database(
    servers: Servers, run_id: str
) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """`await make_database("queue")` → URL of a new empty database for this run."""
    created: list[str] = []

    async def make(name: str) -> str:
        url = servers.database(f"sihha_t{run_id}_{name}_{len(created)}")
        await ensure_database(url)
        created.append(url)
        return url

    yield make
    if not os.environ.get("SIHHA_KEEP_TEST_DATABASES"):
        # several at once: each DROP DATABASE waits for a checkpoint, and PostgreSQL serves
        # the drops that wait together with one (one after the other, a run's few hundred
        # databases took 45 s)
        slots = asyncio.Semaphore(8)

        async def drop(url: str) -> None:
            async with slots:
                with contextlib.suppress(Exception):
                    await drop_database(url)

        await asyncio.gather(*(drop(url) for url in created))


@pytest.fixture(scope="session")
async def clean_broker_namespace(servers: Servers, broker_namespace: str) -> AsyncIterator[str]:
    """The run's namespace; its queues and exchanges are deleted at the end of the run."""
    yield broker_namespace
    await delete_broker_namespace(servers, broker_namespace)


async def delete_broker_namespace(servers: Servers, namespace: str) -> None:
    """Delete the queues and exchanges whose names start with `namespace`, and the inbox
    policies applied to them; never raises (a test's `finally`, the run's end)."""
    with contextlib.suppress(Exception):
        connection = await aio_pika.connect(servers.amqp_url, timeout=10)
        async with connection:
            channel = await connection.channel()
            for name in await asyncio.to_thread(servers.broker.list_names, "queues"):
                if name.startswith(namespace):
                    await channel.queue_delete(name)
            for name in await asyncio.to_thread(servers.broker.list_names, "exchanges"):
                if name.startswith(namespace):
                    await channel.exchange_delete(name)
    with contextlib.suppress(Exception):  # the inbox policies the services applied
        await asyncio.to_thread(servers.broker.clear_policies, f"sihha-inbox-{namespace}")


@pytest.fixture(scope="session")
def dev_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fresh development keys, as `sihha-dev keys` makes them: the ``sihha-dev`` key set,
    the pseudonym key, and the token-signing services' keys."""
    from sihha_kit.devtools import main

    folder = tmp_path_factory.mktemp("keys")
    main(["keys", "--dir", str(folder)])
    return folder


def dev_auth_settings(dev_keys: Path, *, issuer: str | None = None) -> dict[str, Any]:
    """Settings that make a service trust the keys of `dev_keys` (and read its revocation
    list); with `issuer` (a token-signing service's name), its own signing keys too::

        QueueSettings(..., **dev_auth_settings(dev_keys, issuer="queue"))
    """
    settings: dict[str, Any] = {
        "trusted_issuers": [
            TrustedIssuer(issuer=DEFAULT_ISSUER, jwks=str(dev_keys / PUBLIC_KEY_SET_FILE))
        ],
        "revocation_lists": [str(dev_keys / REVOCATIONS_FILE)],
    }
    if issuer is not None:
        settings["signing_keys_path"] = dev_keys / f"{issuer}{SIGNING_KEYS_SUFFIX}"
        settings["device_credential_key_path"] = dev_keys / f"{issuer}{DEVICE_KEY_SUFFIX}"
    return settings


@pytest.fixture(scope="session")
def token_issuer(dev_keys: Path) -> TokenIssuer:
    """Mints tokens the services under test accept (the run's development key set)."""
    return TokenIssuer.from_directory(dev_keys)


@pytest.fixture(scope="session")
def mint(token_issuer: TokenIssuer) -> Callable[..., str]:
    """`mint(Role.receptionist, establishments=["31-PC-001"])` → a bearer token of the
    development issuer."""
    issuer = token_issuer

    def make(
        *roles: Role,
        establishments: list[str] | None = None,
        subject: str = "test",
        patient_key: str | None = None,
    ) -> str:
        return issuer.mint(subject, list(roles), establishments or [], patient_key=patient_key)

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
