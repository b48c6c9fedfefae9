"""The delivery guarantees, against the real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime

import aio_pika
import pytest
from sqlalchemy import text

from sihha_contracts.envelope import Producer
from sihha_contracts.events.queue import TicketIssuedV1
from sihha_kit.outbox import build_envelope
from sihha_kit.testing.messaging_rig import FakeTicket, Rig

pytestmark = pytest.mark.integration


async def dead_letters(rig: Rig) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Drain the consumer's dead-letter queue (get, ack) and return what was there."""
    connection = await aio_pika.connect(rig.servers.amqp_url)
    found = []
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(rig.consumer_broker.topology.dead_letter_queue("kittest"))
        while (message := await queue.get(fail=False, timeout=5)) is not None:
            await message.ack()
            found.append(message)
    return found


async def publish_raw(rig: Rig, body: bytes, *, message_id: str | None = None) -> None:
    connection = await aio_pika.connect(rig.servers.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(rig.broker.topology.events_exchange("queue"))
        await exchange.publish(
            aio_pika.Message(
                body, message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            ),
            routing_key="queue.ticket.issued",
        )


async def test_one_event_per_committed_change_and_none_for_a_rollback(rig: Rig) -> None:
    rig.start()
    committed = await rig.issue(20)
    async with rig.uow() as uow:  # recorded, then rolled back: leaving without commit()
        ticket = FakeTicket()
        rolled_back = ticket.issue()
        uow.tickets.add(ticket)
    effects = await rig.wait_for_effects(20)
    await asyncio.sleep(1.0)  # let anything extra arrive before counting
    effects = await rig.effects()
    assert sorted(effects) == sorted(committed)
    assert rolled_back not in effects
    assert await rig.unpublished() == 0


async def test_a_commit_wakes_the_relay_of_its_process_without_a_notify(rig: Rig) -> None:
    """No trigger on the outbox (its NOTIFY serialised commits): the unit of work wakes
    this process's relay itself, long before the relay's next poll."""
    async with rig.engine.connect() as connection:
        triggers = await connection.scalar(
            text("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'outbox'::regclass")
        )
    assert triggers == 0
    rig.relay.poll_seconds = 60.0
    rig.start()
    await asyncio.sleep(1.0)  # the relay has found nothing and waits for a wake-up
    started = asyncio.get_running_loop().time()
    committed = await rig.issue(1)
    assert await rig.wait_for_effects(1, timeout=20) == committed
    assert asyncio.get_running_loop().time() - started < 20


@pytest.mark.fault
async def test_broker_stopped_while_tickets_are_issued_loses_nothing(rig: Rig) -> None:
    rig.start()
    before = await rig.issue(10)
    await rig.wait_for_effects(10)
    rig.servers.broker.stop()
    try:
        during = await rig.issue(30)  # the service keeps working without the broker
        assert await rig.unpublished() == 30
    finally:
        await asyncio.to_thread(rig.servers.broker.start)
    after = await rig.issue(10)
    effects = await rig.wait_for_effects(50, timeout=60)
    assert sorted(effects) == sorted(before + during + after)
    assert await rig.unpublished() == 0


@pytest.mark.fault
async def test_connections_cut_while_publishing_lose_nothing(rig: Rig) -> None:
    rig.start()
    first = await rig.issue(25)
    await asyncio.to_thread(rig.servers.broker.close_all_connections)
    second = await rig.issue(25)
    effects = await rig.wait_for_effects(50, timeout=60)
    assert sorted(effects) == sorted(first + second)  # none lost, none applied twice


async def test_each_event_delivered_twice_is_applied_once(rig: Rig) -> None:
    producer = Producer(name="queue", version="test")
    ticket = FakeTicket()
    numbers = [ticket.issue() for _ in range(5)]
    envelopes = [build_envelope(event, producer) for event in ticket.pop_events()]
    for envelope in envelopes:
        body = envelope.model_dump_json().encode()
        await publish_raw(rig, body, message_id=str(envelope.event_id))
        await publish_raw(rig, body, message_id=str(envelope.event_id))
    rig.start()
    await rig.wait_for_effects(5)
    await asyncio.sleep(1.0)
    assert sorted(await rig.effects()) == sorted(numbers)


async def test_bad_messages_are_dead_lettered_and_valid_ones_still_flow(rig: Rig) -> None:
    producer = Producer(name="queue", version="test")
    ticket = FakeTicket()
    ticket.issue()
    good = build_envelope(ticket.pop_events()[0], producer)
    unknown_version = json.loads(good.model_dump_json())
    unknown_version.update(event_id=str(uuid.uuid4()), schema_version=99)
    poison = FakeTicket()
    poison.record(
        TicketIssuedV1(
            ticket_id=poison.ticket_id,
            visit_id=uuid.uuid4(),
            service_code="ZZ",
            ticket_number="ZZ-001",
            service_day=date(2026, 11, 25),
        ),
        facility_id="31-PC-001",
        aggregate_id=str(poison.ticket_id),
        at=datetime.now(UTC),
    )
    poison_envelope = build_envelope(poison.pop_events()[0], producer)

    await publish_raw(rig, b"\x00not json at all")
    await publish_raw(rig, json.dumps(unknown_version).encode())
    await publish_raw(
        rig, poison_envelope.model_dump_json().encode(), message_id=str(poison_envelope.event_id)
    )
    rig.start()
    valid = await rig.issue(10)  # behind the bad ones in the queue
    assert sorted(await rig.wait_for_effects(10)) == sorted(valid)

    # the poison message is retried up to the delivery limit (3), then dead-lettered
    deadline = asyncio.get_running_loop().time() + 30
    dead: list[aio_pika.abc.AbstractIncomingMessage] = []
    while len(dead) < 3 and asyncio.get_running_loop().time() < deadline:
        dead += await dead_letters(rig)
        await asyncio.sleep(0.3)
    bodies = [message.body for message in dead]
    assert b"\x00not json at all" in bodies
    assert any(b'"schema_version":99' in body.replace(b" ", b"") for body in bodies)
    assert any(message.message_id == str(poison_envelope.event_id) for message in dead)
    assert len(dead) == 3
    assert sorted(await rig.effects()) == sorted(valid)  # nothing bad was applied
