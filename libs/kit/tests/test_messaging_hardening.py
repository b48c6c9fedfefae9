"""Issue 11's faults, each proved against the real PostgreSQL and RabbitMQ: a database
restart, a refused declare, queue policies, publishing and consuming on separate
connections, gauges measured from the broker, copies under a new event id."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import aio_pika
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from sihha_contracts.envelope import Envelope, EventPayload, Producer
from sihha_contracts.events.queue import TicketIssuedV1
from sihha_kit import metrics
from sihha_kit.broker_admin import AT_LEAST_ONCE_FEATURE_FLAG, Rabbitmqctl, vhost_of
from sihha_kit.consumer import recent_conflicts
from sihha_kit.db import ensure_database
from sihha_kit.outbox import build_envelope
from sihha_kit.testing.messaging_rig import FakeTicket, Rig, build_rig
from sihha_kit.testing.servers import PrivatePostgres, Servers

pytestmark = pytest.mark.integration

PRODUCER = Producer(name="queue", version="test")


def envelopes(count: int) -> list[Envelope]:
    """`count` ticket-issued events of as many tickets, as the queue service sends them."""
    found = []
    for _ in range(count):
        ticket = FakeTicket()
        ticket.issue()
        found.append(build_envelope(ticket.pop_events()[0], PRODUCER))
    return found


def number_of(envelope: Envelope) -> str:
    return str(envelope.payload["ticket_number"])


async def publish(rig: Rig, items: list[Envelope] | list[bytes], *, pause: float = 0.0) -> None:
    """Publish envelopes (or raw bodies) to the rig's `queue.events`, confirmed."""
    connection = await aio_pika.connect(rig.servers.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            rig.broker.topology.events_exchange("queue"), aio_pika.ExchangeType.TOPIC, durable=True
        )
        for item in items:
            if isinstance(item, bytes):
                message = aio_pika.Message(item)
            else:
                message = aio_pika.Message(
                    item.model_dump_json().encode(),
                    message_id=str(item.event_id),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                )
            await exchange.publish(message, routing_key="queue.ticket.issued")
            if pause:
                await asyncio.sleep(pause)


async def queue_counts(rig: Rig, name: str) -> tuple[int, int]:
    """(messages ready, consumers) of a queue, from a connection of the test's own."""
    connection = await aio_pika.connect(rig.servers.amqp_url)
    async with connection:
        channel = await connection.channel()
        result = (await channel.declare_queue(name, passive=True)).declaration_result
        return int(result.message_count or 0), int(result.consumer_count or 0)


async def wait_for(predicate: Callable[[], Awaitable[bool] | bool], timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return True
        await asyncio.sleep(0.1)
    return False


def gauge(name: str) -> float | None:
    """A sample of the kit's metrics for the rig's consumer (`kittest`), as scraped."""
    return metrics.REGISTRY.get_sample_value(name, {"consumer": "kittest"})


@pytest.fixture
def namespace(clean_broker_namespace: str) -> str:
    return f"{clean_broker_namespace}{uuid.uuid4().hex[:6]}."


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    if not PrivatePostgres.available():
        pytest.skip("PostgreSQL 15's initdb is not installed: no private cluster to restart")
    cluster = PrivatePostgres(Path(tempfile.mkdtemp(prefix="sihha-pg-")))
    await asyncio.to_thread(cluster.init)
    yield cluster
    await asyncio.to_thread(cluster.destroy)


# -- 1. a database restart dead-letters nothing ------------------------------------------


async def test_a_database_restart_while_events_flow_dead_letters_nothing(
    private_postgres: PrivatePostgres, servers: Servers, namespace: str
) -> None:
    """The consumer's PostgreSQL is stopped for ~5 s while events arrive: it stops taking
    deliveries, waits, resumes; every event is applied exactly once, none dead-lettered.
    (Before: every failed commit was a nack with requeue, and each counted toward the
    delivery limit of 3.)"""
    url = private_postgres.url("kit")
    await ensure_database(url)
    rig = await build_rig(url, servers, namespace, delivery_limit=3)
    sent = envelopes(1500)
    try:
        await publish(rig, sent[:500])
        consuming = asyncio.create_task(rig.consumer.run())
        rig.tasks.append(consuming)
        flowing = asyncio.create_task(publish(rig, sent[500:], pause=0.005))
        assert await wait_for(lambda: rig.consumer.last_occurred_at is not None, 30)
        await asyncio.to_thread(private_postgres.stop)
        try:
            assert await wait_for(lambda: rig.consumer.state == "waiting-for-database", 30)
            await asyncio.sleep(5)
        finally:
            await asyncio.to_thread(private_postgres.start)
        await flowing
        effects = await rig.wait_for_effects(len(sent), timeout=120)
        assert sorted(effects) == sorted(number_of(e) for e in sent)  # none lost, none twice
        assert rig.consumer.state == "consuming"
        inbox = rig.consumer_broker.topology.inbox_queue("kittest")
        dead = rig.consumer_broker.topology.dead_letter_queue("kittest")
        assert (await queue_counts(rig, dead))[0] == 0
        assert await queue_counts(rig, inbox) == (0, 1)
    finally:
        await rig.stop()


# -- 2. a refused declare is reported and retried; one consumer ----------------------------


async def test_a_refused_declare_is_reported_retried_and_the_consumer_consumes_once(
    make_database: Callable[[str], Awaitable[str]], servers: Servers, namespace: str
) -> None:
    inbox_name = f"{namespace}kittest.inbox"
    connection = await aio_pika.connect(servers.amqp_url)
    async with connection:
        channel = await connection.channel()
        squatter = await channel.declare_queue(inbox_name, durable=True)  # classic
        rig = await build_rig(await make_database("kit"), servers, namespace, declare=False)
        try:
            first = asyncio.create_task(rig.consumer.run())
            assert await wait_for(lambda: inbox_name in rig.consumer_broker.declare_errors, 30)
            assert "x-queue-type" in rig.consumer_broker.declare_errors[inbox_name]
            assert rig.consumer_broker.state()["declare_errors"][inbox_name]
            assert rig.consumer.state == "declaring"
            await squatter.delete(if_unused=False, if_empty=False)
            assert await wait_for(lambda: rig.consumer.state == "consuming", 60)
            assert inbox_name not in rig.consumer_broker.declare_errors

            # the task dies and is started again (as the runtime's supervisor does)
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first
            rig.tasks.append(asyncio.create_task(rig.consumer.run()))
            assert await wait_for(lambda: rig.consumer.state == "consuming", 30)
            await asyncio.sleep(0.5)
            assert (await queue_counts(rig, inbox_name))[1] == 1
            sent = envelopes(5)
            await publish(rig, sent)
            assert sorted(await rig.wait_for_effects(5)) == sorted(map(number_of, sent))
        finally:
            await rig.stop()


async def test_an_inbox_declared_with_the_old_arguments_is_used_and_reported(
    make_database: Callable[[str], Awaitable[str]], servers: Servers, namespace: str
) -> None:
    """An inbox from before the policies (delivery limit as an argument) is consumed as it
    is, and readiness says it is a legacy one."""
    inbox_name = f"{namespace}kittest.inbox"
    connection = await aio_pika.connect(servers.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(
            inbox_name,
            durable=True,
            arguments={"x-queue-type": "quorum", "x-delivery-limit": 5},
        )
    rig = await build_rig(await make_database("kit"), servers, namespace)
    try:
        rig.start()
        sent = envelopes(3)
        await publish(rig, sent)
        assert sorted(await rig.wait_for_effects(3)) == sorted(map(number_of, sent))
        assert rig.consumer_broker.state()["legacy_inboxes"] == [inbox_name]
    finally:
        await rig.stop()


# -- 3. policies and what the node supports -------------------------------------------------


def poison_event() -> Envelope:
    """An event whose handler always fails in the rig (service code ZZ)."""
    ticket = FakeTicket()
    ticket.record(
        TicketIssuedV1(
            ticket_id=ticket.ticket_id,
            visit_id=uuid.uuid4(),
            service_code="ZZ",
            ticket_number="ZZ-001",
            service_day=date(2026, 11, 25),
        ),
        facility_id="31-PC-001",
        aggregate_id=str(ticket.ticket_id),
        at=datetime.now(UTC),
    )
    return build_envelope(ticket.pop_events()[0], PRODUCER)


@pytest.mark.skipif(not Rabbitmqctl.available(), reason="needs the node's rabbitmqctl")
async def test_the_inbox_gets_its_settings_from_a_policy_that_changes_without_a_redeclare(
    make_database: Callable[[str], Awaitable[str]], servers: Servers, namespace: str
) -> None:
    rig = await build_rig(await make_database("kit"), servers, namespace, delivery_limit=3)
    attempts: dict[str, int] = {}
    applied_handler = rig.consumer.handlers["queue.ticket.issued"]

    async def counting(envelope: Envelope, payload: EventPayload, session: AsyncSession) -> None:
        attempts[str(envelope.event_id)] = attempts.get(str(envelope.event_id), 0) + 1
        await applied_handler(envelope, payload, session)

    rig.consumer.handlers["queue.ticket.issued"] = counting
    dead = rig.consumer_broker.topology.dead_letter_queue("kittest")
    vhost = vhost_of(servers.amqp_url)
    try:
        assert rig.node is not None and rig.node.error is None
        assert rig.node.at_least_once_dead_lettering is True  # this node has `stream_queue`
        assert rig.node.feature_flags[AT_LEAST_ONCE_FEATURE_FLAG] == "enabled"
        policy = rig.consumer.policy()
        assert rig.node.policies_applied == [policy.name]
        assert (await Rabbitmqctl().policies(vhost))[policy.name] == {
            "delivery-limit": 3,
            "dead-letter-exchange": f"{namespace}kittest.dlx",
            "dead-letter-strategy": "at-least-once",
            "overflow": "reject-publish",
        }
        rig.start()
        first = poison_event()
        await publish(rig, [first])
        assert await wait_for(lambda: _dead_is(rig, 1), 60)
        assert attempts[str(first.event_id)] == 4  # the first delivery and 3 more

        # the limit changes on the running queue: no redeclare, no restart
        rig.consumer.delivery_limit = 1
        await Rabbitmqctl().set_policy(rig.consumer.policy(), vhost)
        await asyncio.sleep(1.0)
        second = poison_event()
        await publish(rig, [second])
        assert await wait_for(lambda: _dead_is(rig, 2), 60)
        assert attempts[str(second.event_id)] == 2
        assert (await queue_counts(rig, dead))[0] == 2
    finally:
        await rig.stop()


# -- 4. one connection publishes, another consumes ---------------------------------------


async def test_publishing_and_consuming_use_two_named_connections(
    make_database: Callable[[str], Awaitable[str]], servers: Servers, namespace: str
) -> None:
    rig = await build_rig(await make_database("kit"), servers, namespace, shared_broker=True)
    try:
        rig.start()
        numbers = await rig.issue(3)
        assert sorted(await rig.wait_for_effects(3)) == sorted(numbers)
        assert rig.broker is rig.consumer_broker
        names = {
            value
            for connection in await asyncio.to_thread(servers.broker.list_connections)
            for key, _, value in connection["client_properties"]
            if key == "connection_name"
        }
        assert {f"{rig.broker.client_name} publishing", f"{rig.broker.client_name} consuming"} <= (
            names
        )
        state = rig.broker.state()
        assert state["connections"]["publishing"]["connected"] is True
        assert state["connections"]["consuming"]["connected"] is True
        assert state["version"] and state["version_supported"] is True
    finally:
        await rig.stop()


@pytest.mark.fault
async def test_under_a_memory_alarm_the_consumer_still_drains_its_backlog(
    make_database: Callable[[str], Awaitable[str]], servers: Servers, namespace: str
) -> None:
    """The broker blocks connections that publish while its memory alarm is on. The relay
    publishes (and is blocked); the consumer of the same process drains the 300 events
    waiting in its inbox, because it has a connection of its own."""
    rig = await build_rig(await make_database("kit"), servers, namespace, shared_broker=True)
    backlog = envelopes(300)
    await publish(rig, backlog)
    await asyncio.to_thread(servers.broker.set_memory_watermark, 0.000001)
    try:
        await asyncio.sleep(2)  # the alarm is raised
        rig.start()
        during = await rig.issue(5)  # the relay tries to publish these: blocked
        effects = await rig.wait_for_effects(300, timeout=30)
        assert sorted(map(number_of, backlog)) == sorted(
            number for number in effects if number not in during
        )
    finally:
        await asyncio.to_thread(servers.broker.set_memory_watermark, 0.4)
        try:
            # the alarm over, the relay's publications go through
            assert sorted(await rig.wait_for_effects(305, timeout=60)) == sorted(
                [*map(number_of, backlog), *during]
            )
        finally:
            await rig.stop()


# -- 5. gauges measured from the broker --------------------------------------------------


async def test_queue_depth_and_dead_letter_gauges_follow_the_broker(
    make_database: Callable[[str], Awaitable[str]], servers: Servers, namespace: str
) -> None:
    rig = await build_rig(await make_database("kit"), servers, namespace)
    try:
        await publish(rig, envelopes(7))
        assert await wait_for(lambda: _depth_is(rig, 7), 10)
        await publish(rig, envelopes(3))
        assert await wait_for(lambda: _depth_is(rig, 10), 10)  # not the first answer again
        assert gauge("sihha_consumer_queue_depth") == 10
        await publish(rig, [b"\x00not an event"])
        rig.start()
        assert await wait_for(lambda: _dead_is(rig, 1), 30)
        assert gauge("sihha_dead_letters") == 1
        assert (await rig.consumer.stats()).queue_depth == 0
    finally:
        await rig.stop()


async def _depth_is(rig: Rig, expected: int) -> bool:
    return (await rig.consumer.stats()).queue_depth == expected


async def _dead_is(rig: Rig, expected: int) -> bool:
    return (await rig.consumer.stats()).dead_letters == expected


# -- 6. a copy under a new event id ------------------------------------------------------


async def test_a_copy_with_a_new_event_id_is_applied_once_and_listed_as_a_conflict(
    make_database: Callable[[str], Awaitable[str]], servers: Servers, namespace: str
) -> None:
    rig = await build_rig(await make_database("kit"), servers, namespace)
    original = envelopes(2)
    copy = original[0].model_copy(update={"event_id": uuid.uuid4()})
    before = gauge("sihha_consumer_conflicts_total") or 0
    try:
        await publish(rig, [*original, copy, original[1]])  # and a plain redelivery
        rig.start()
        await rig.wait_for_effects(2)
        assert await wait_for(lambda: gauge("sihha_consumer_conflicts_total") == before + 1, 10)
        await asyncio.sleep(0.5)
        assert sorted(await rig.effects()) == sorted(map(number_of, original))
        async with rig.engine.connect() as connection:
            conflicts = (
                await connection.execute(
                    text(
                        "SELECT event_id, kept_event_id, aggregate_id, sequence, producer "
                        "FROM inbox_conflicts"
                    )
                )
            ).all()
        assert [tuple(row) for row in conflicts] == [
            (copy.event_id, original[0].event_id, copy.aggregate_id, copy.sequence, "queue")
        ]
    finally:
        await rig.stop()


async def test_the_monitor_counts_every_conflict_and_lists_the_newest(
    make_database: Callable[[str], Awaitable[str]], servers: Servers, namespace: str
) -> None:
    """`recent_conflicts`: the total counts every kept conflict, the list the newest
    `limit`, from one statement (the count and the list agree whatever commits between)."""
    rig = await build_rig(await make_database("kit"), servers, namespace, declare=False)
    try:
        async with rig.engine.begin() as connection:
            assert await recent_conflicts(connection, limit=2) == (0, [])
            for sequence in (1, 2, 3):
                await connection.execute(
                    text(
                        "INSERT INTO inbox_conflicts (consumer, event_id, event_type, producer,"
                        " aggregate_id, sequence) VALUES ('kittest', :id, 'queue.ticket.issued',"
                        " 'queue', 'a-1', :sequence)"
                    ),
                    {"id": uuid.uuid4(), "sequence": sequence},
                )
            total, listed = await recent_conflicts(connection, limit=2)
        assert total == 3
        assert [item["sequence"] for item in listed] == [3, 2]
        assert all("total" not in item for item in listed)
    finally:
        await rig.stop()
