"""`declare_inboxes` (what `python -m <service> declare-inboxes` runs) against the real
RabbitMQ: it declares a consumer's inbox, bindings and dead-letter path with no consumer
running and without the database, so that what is published afterwards waits in the
inbox; it can run again; it gives up, after its bounded wait, when the broker is away or
refuses."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from sqlalchemy import event

from sihha_contracts.envelope import Producer
from sihha_kit.broker import Topology
from sihha_kit.broker_admin import Rabbitmqctl, vhost_of
from sihha_kit.consumer import EventConsumer
from sihha_kit.outbox import build_envelope
from sihha_kit.runtime import InboxesNotDeclared, ServiceRuntime, declare_inboxes
from sihha_kit.settings import ServiceSettings
from sihha_kit.testing.messaging_rig import FakeTicket, record_effect
from sihha_kit.testing.plugin import delete_broker_namespace
from sihha_kit.testing.servers import Servers

pytestmark = pytest.mark.integration

#: a database nobody listens on: any attempt to use it would fail (and is recorded)
NO_DATABASE = "postgresql+asyncpg://nobody:none@127.0.0.1:1/none"
CONSUMER = "kittest"


@pytest.fixture
async def namespace(servers: Servers, clean_broker_namespace: str) -> AsyncIterator[str]:
    """A fresh namespace of the run's, emptied (queues, exchanges, policies) after the test."""
    fresh = f"{clean_broker_namespace}{uuid.uuid4().hex[:6]}."
    try:
        yield fresh
    finally:
        await delete_broker_namespace(servers, fresh)


def service_runtime(
    amqp_url: str, namespace: str, database_attempts: list[Any] | None = None
) -> ServiceRuntime:
    """A service's runtime with one consumer, as a service's context builds it (nothing
    started); every attempt to open a database connection is appended to
    `database_attempts`."""
    settings = ServiceSettings(
        service_name=CONSUMER,
        database_url=NO_DATABASE,
        amqp_url=amqp_url,
        broker_namespace=namespace,
    )
    runtime = ServiceRuntime(settings, migrations_dir=Path("unused"))
    if database_attempts is not None:

        def attempted(*args: Any) -> None:
            database_attempts.append(args)

        event.listen(runtime.engine.sync_engine, "do_connect", attempted)
    runtime.add_consumer(
        EventConsumer(
            CONSUMER,
            runtime.broker,
            runtime.sessions,
            bindings={"queue": ["queue.ticket.*"]},
            handlers={"queue.ticket.issued": record_effect},
            delivery_limit=2,
        )
    )
    return runtime


async def publish_tickets(amqp_url: str, namespace: str, count: int, routing_key: str) -> None:
    """Publish `count` ticket events to `queue.events`, persistent, mandatory, confirmed
    (an event no queue takes raises)."""
    producer = Producer(name="queue", version="test")
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(Topology(namespace).events_exchange("queue"))
        for _ in range(count):
            ticket = FakeTicket()
            ticket.issue()
            envelope = build_envelope(ticket.pop_events()[0], producer)
            await exchange.publish(
                aio_pika.Message(
                    envelope.model_dump_json().encode(),
                    message_id=str(envelope.event_id),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=routing_key,
                mandatory=True,
            )


async def queue_counts(amqp_url: str, name: str) -> tuple[int, int]:
    """(messages ready, consumers) of a queue that must exist (a passive declare)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        result = (await channel.declare_queue(name, passive=True)).declaration_result
        return int(result.message_count or 0), int(result.consumer_count or 0)


async def eventually_counts(amqp_url: str, name: str, wanted: tuple[int, int]) -> tuple[int, int]:
    """The queue's counts once they are `wanted`, or what they are after 10 s."""
    counts = await queue_counts(amqp_url, name)
    for _ in range(100):
        if counts == wanted:
            break
        await asyncio.sleep(0.1)
        counts = await queue_counts(amqp_url, name)
    return counts


async def test_the_inbox_declared_before_its_consumer_keeps_what_is_published(
    servers: Servers, namespace: str
) -> None:
    topology = Topology(namespace)
    attempts: list[Any] = []
    runtime = service_runtime(servers.amqp_url, namespace, attempts)

    declared = await declare_inboxes(runtime, timeout=60)

    assert declared == [topology.inbox_queue(CONSUMER)]
    assert attempts == []  # the database was never asked for
    assert not runtime.broker.consuming.is_connected  # it closed its connection
    assert runtime.consumers[0].state == "declaring"  # and never consumed
    # no consumer runs anywhere: what the producer publishes now waits in the inbox, and
    # only what the inbox is bound to (a mandatory publish nobody takes is returned)
    await publish_tickets(servers.amqp_url, namespace, 3, "queue.ticket.issued")
    with pytest.raises(aio_pika.exceptions.DeliveryError):
        await publish_tickets(servers.amqp_url, namespace, 1, "queue.visit.closed")
    inbox = topology.inbox_queue(CONSUMER)
    assert await eventually_counts(servers.amqp_url, inbox, (3, 0)) == (3, 0)
    # the dead-letter path: `<consumer>.dlx` feeds `<consumer>.dead`
    dead = topology.dead_letter_queue(CONSUMER)
    assert await queue_counts(servers.amqp_url, dead) == (0, 0)
    connection = await aio_pika.connect(servers.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        dlx = await channel.get_exchange(topology.dead_letter_exchange(CONSUMER))
        await dlx.publish(aio_pika.Message(b"{}"), routing_key="anything")
        assert await eventually_counts(servers.amqp_url, dead, (1, 0)) == (1, 0)
        if runtime.node is not None and runtime.node.admin == "rabbitmqctl":
            # and the inbox's policy routes a rejected event there
            assert runtime.node.policies_applied == [runtime.consumers[0].policy().name]
            queue = await channel.get_queue(inbox)
            message = await queue.get(timeout=5)
            assert message is not None
            await message.reject(requeue=False)
            assert await eventually_counts(servers.amqp_url, dead, (2, 0)) == (2, 0)
            assert await queue_counts(servers.amqp_url, inbox) == (2, 0)


async def test_a_second_run_is_harmless(servers: Servers, namespace: str) -> None:
    topology = Topology(namespace)
    inbox = topology.inbox_queue(CONSUMER)
    first = service_runtime(servers.amqp_url, namespace)
    assert await declare_inboxes(first, timeout=60) == [inbox]
    await publish_tickets(servers.amqp_url, namespace, 2, "queue.ticket.issued")
    assert await eventually_counts(servers.amqp_url, inbox, (2, 0)) == (2, 0)

    second = service_runtime(servers.amqp_url, namespace)
    assert await declare_inboxes(second, timeout=60) == [inbox]

    # what waited is still there, and the bindings still route each event once
    assert await queue_counts(servers.amqp_url, inbox) == (2, 0)
    await publish_tickets(servers.amqp_url, namespace, 1, "queue.ticket.issued")
    assert await eventually_counts(servers.amqp_url, inbox, (3, 0)) == (3, 0)
    assert await queue_counts(servers.amqp_url, topology.dead_letter_queue(CONSUMER)) == (0, 0)
    if second.node is not None and second.node.admin == "rabbitmqctl":
        policies = await Rabbitmqctl().policies(vhost_of(servers.amqp_url))
        ours = [name for name in policies if name.startswith(f"sihha-inbox-{namespace}")]
        assert ours == [second.consumers[0].policy().name]
        assert policies[ours[0]]["delivery-limit"] == 2


async def test_it_gives_up_when_the_broker_does_not_answer() -> None:
    runtime = service_runtime("amqp://guest:guest@127.0.0.1:1/", f"t{uuid.uuid4().hex[:8]}.")
    started = asyncio.get_running_loop().time()
    with pytest.raises(InboxesNotDeclared) as failure:
        await declare_inboxes(runtime, timeout=1.5)
    assert asyncio.get_running_loop().time() - started < 10
    assert "gave up after 1.5 s connecting on the broker at 127.0.0.1:1" in str(failure.value)
    assert "guest" not in str(failure.value)  # no credentials in the log line


async def test_it_gives_up_when_the_broker_refuses_the_inbox(
    servers: Servers, namespace: str
) -> None:
    """An inbox that exists as another kind of queue is refused at every attempt: the
    command says which and why once its wait is over."""
    inbox = Topology(namespace).inbox_queue(CONSUMER)
    connection = await aio_pika.connect(servers.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(inbox, durable=True)  # a classic queue
    runtime = service_runtime(servers.amqp_url, namespace)
    with pytest.raises(InboxesNotDeclared) as failure:
        await declare_inboxes(runtime, timeout=2.5)
    message = str(failure.value)
    assert f"gave up after 2.5 s declaring {inbox}" in message
    assert "PRECONDITION_FAILED" in message and "x-queue-type" in message
