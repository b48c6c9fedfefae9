"""`python -m sihha_reporting declare-inboxes`, run as the one-shot container runs it: a
process of its own, its settings from REPORTING_* variables, the real broker, no
database. Afterwards reporting's inbox exists and takes what the producers publish."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import pytest

from sihha_kit.broker import Topology
from sihha_kit.devtools import REPORTING_REKEY_KEY_FILE
from sihha_kit.testing.plugin import delete_broker_namespace
from sihha_kit.testing.servers import Servers
from sihha_reporting.entrypoints.consumers import CONSUMER, PRODUCERS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def namespace(servers: Servers, clean_broker_namespace: str) -> AsyncIterator[str]:
    fresh = f"{clean_broker_namespace}{uuid.uuid4().hex[:6]}."
    try:
        yield fresh
    finally:
        await delete_broker_namespace(servers, fresh)


def run_command(dev_keys: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """`python -m sihha_reporting declare-inboxes` with these REPORTING_* settings (and a
    database nobody listens on: the command must not need one)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("REPORTING_")}
    env |= {
        "REPORTING_DATABASE_URL": "postgresql+asyncpg://nobody:none@127.0.0.1:1/none",
        "REPORTING_PATIENT_REKEY_KEY_PATH": str(dev_keys / REPORTING_REKEY_KEY_FILE),
        "REPORTING_LOG_FORMAT": "json",
    }
    env |= {f"REPORTING_{name.upper()}": value for name, value in settings.items()}
    return subprocess.run(
        [sys.executable, "-m", "sihha_reporting", "declare-inboxes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def log_lines(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


async def test_the_command_declares_reportings_inbox_and_exits(
    servers: Servers, namespace: str, dev_keys: Path
) -> None:
    topology = Topology(namespace)
    inbox = topology.inbox_queue(CONSUMER)

    done = await asyncio.to_thread(
        run_command, dev_keys, amqp_url=servers.amqp_url, broker_namespace=namespace
    )

    assert done.returncode == 0, done.stderr
    declared = [line for line in log_lines(done.stderr) if line["event"] == "inboxes.declared"]
    assert declared and declared[0]["inboxes"] == [inbox], done.stderr
    connection = await aio_pika.connect(servers.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        queue = await channel.declare_queue(inbox, passive=True)
        assert queue.declaration_result.consumer_count == 0  # declared, not consumed
        await channel.declare_queue(topology.dead_letter_queue(CONSUMER), passive=True)
        # every producer's exchange is bound: a mandatory publish to each is taken
        for producer in PRODUCERS:
            exchange = await channel.get_exchange(topology.events_exchange(producer))
            await exchange.publish(
                aio_pika.Message(b"{}", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=f"{producer}.something.happened",
                mandatory=True,
            )
    counts = 0
    for _ in range(100):
        connection = await aio_pika.connect(servers.amqp_url)
        async with connection:
            channel = await connection.channel()
            probe = await channel.declare_queue(inbox, passive=True)
            counts = int(probe.declaration_result.message_count or 0)
        if counts == len(PRODUCERS):
            break
        await asyncio.sleep(0.1)
    assert counts == len(PRODUCERS)


async def test_the_command_exits_non_zero_when_the_broker_does_not_answer(
    dev_keys: Path,
) -> None:
    done = await asyncio.to_thread(
        run_command,
        dev_keys,
        amqp_url="amqp://guest:guest@127.0.0.1:1/",
        broker_namespace=f"t{uuid.uuid4().hex[:8]}.",
        declare_inboxes_timeout_seconds="1",
    )

    assert done.returncode == 1, done.stderr
    failed = [line for line in log_lines(done.stderr) if line["event"] == "inboxes.not_declared"]
    assert len(failed) == 1, done.stderr
    assert failed[0]["level"] == "error"
    assert "gave up after 1 s connecting on the broker at 127.0.0.1:1" in str(failed[0]["error"])
