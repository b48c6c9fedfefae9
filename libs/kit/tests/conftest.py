"""Fixtures of the kit's own tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from sihha_kit.testing.messaging_rig import Rig, build_rig
from sihha_kit.testing.servers import Servers


@pytest.fixture
async def rig(
    make_database: Callable[[str], Awaitable[str]], servers: Servers, clean_broker_namespace: str
) -> AsyncIterator[Rig]:
    url = await make_database("kit")
    rig = await build_rig(url, servers, f"{clean_broker_namespace}{uuid.uuid4().hex[:6]}.")
    yield rig
    await rig.stop()
