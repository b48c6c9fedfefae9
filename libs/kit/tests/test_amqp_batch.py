"""The relay's batch publisher: the frames it writes are AMQP's (checked against pamqp,
the encoder aiormq itself uses), and each message's confirm, return or loss reaches its
own result, against the real RabbitMQ."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pamqp.frame
import pytest
from pamqp import commands
from pamqp.body import ContentBody
from pamqp.header import ContentHeader

from sihha_kit.amqp_batch import Outgoing, encode_publish, publish_batch
from sihha_kit.testing.servers import Servers


def _pamqp_frames(channel: int, exchange: str, message: Outgoing, max_body: int) -> bytes:
    headers = {"traceparent": message.traceparent} if message.traceparent else None
    properties = commands.Basic.Properties(
        content_type="application/json",
        headers=headers,
        delivery_mode=2,
        message_id=message.message_id,
        message_type=message.type,
        app_id="queue",
    )
    frames = [
        commands.Basic.Publish(exchange=exchange, routing_key=message.routing_key, mandatory=True),
        ContentHeader(0, len(message.body), properties),
    ]
    body = message.body
    frames += [ContentBody(body[i : i + max_body]) for i in range(0, len(body), max_body)]
    return b"".join(pamqp.frame.marshal(frame, channel) for frame in frames)


@pytest.mark.parametrize(
    ("traceparent", "body"),
    [
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", b'{"payload":{}}'),
        (None, b'{"a":"' + "é".encode() * 3000 + b'"}'),  # split into several body frames
        (None, b""),  # no body frame at all
    ],
)
def test_the_frames_are_those_of_amqp(traceparent: str | None, body: bytes) -> None:
    message = Outgoing(
        routing_key="queue.ticket.issued",
        body=body,
        message_id=str(uuid.uuid4()),
        type="queue.ticket.issued",
        traceparent=traceparent,
    )
    ours = encode_publish(7, "queue.events", message, app_id="queue", max_body_frame=1000)
    assert ours == _pamqp_frames(7, "queue.events", message, 1000)


def test_a_name_longer_than_a_short_string_is_refused() -> None:
    message = Outgoing("k" * 256, b"{}", "id", "queue.ticket.issued")
    with pytest.raises(ValueError, match="255 bytes"):
        encode_publish(1, "x.events", message, app_id="queue", max_body_frame=1000)


@pytest.fixture
async def broker(
    servers: Servers, clean_broker_namespace: str
) -> AsyncIterator[tuple[aio_pika.abc.AbstractChannel, str, aio_pika.abc.AbstractQueue]]:
    """A confirming channel, an exchange and a quorum queue bound to `queue.#`."""
    connection = await aio_pika.connect(servers.amqp_url, timeout=10)
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    prefix = f"{clean_broker_namespace}{uuid.uuid4().hex[:6]}."
    exchange = await channel.declare_exchange(
        f"{prefix}queue.events", aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(
        f"{prefix}sink", durable=True, arguments={"x-queue-type": "quorum"}
    )
    await queue.bind(exchange, routing_key="queue.#")
    yield channel, exchange.name, queue
    await queue.delete(if_unused=False, if_empty=False)
    await exchange.delete()
    await connection.close()


def _message(routing_key: str, n: int) -> Outgoing:
    return Outgoing(
        routing_key=routing_key,
        body=f'{{"n":{n}}}'.encode(),
        message_id=str(uuid.uuid4()),
        type=routing_key,
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )


async def _drain(
    queue: aio_pika.abc.AbstractQueue, count: int
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    received = []
    for _ in range(200):
        while (message := await queue.get(fail=False)) is not None:
            await message.ack()
            received.append(message)
        if len(received) >= count:
            break
        await asyncio.sleep(0.05)
    return received


async def test_every_message_is_confirmed_and_arrives_with_its_properties(broker) -> None:  # type: ignore[no-untyped-def]
    channel, exchange, queue = broker
    underlay = await channel.get_underlay_channel()
    messages = [_message("queue.ticket.issued", n) for n in range(300)]
    results = await publish_batch(underlay, exchange, messages, app_id="queue", timeout=10)
    assert results == [None] * 300
    received = await _drain(queue, 300)
    assert [m.message_id for m in received] == [m.message_id for m in messages]
    first = received[0]
    assert first.body == b'{"n":0}'
    assert first.type == "queue.ticket.issued"
    assert first.app_id == "queue"
    assert first.content_type == "application/json"
    assert first.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert first.headers["traceparent"] == messages[0].traceparent
    # the channel's own publishing still works after a batch (delivery tags in step)
    await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=queue.name)
    assert len(await _drain(queue, 1)) == 1


async def test_an_unroutable_message_fails_alone(broker) -> None:  # type: ignore[no-untyped-def]
    channel, exchange, queue = broker
    underlay = await channel.get_underlay_channel()
    messages = [
        _message("queue.ticket.issued", 1),
        _message("nobody.listens.here", 2),  # bound to nothing: returned
        _message("queue.ticket.called", 3),
    ]
    results = await publish_batch(underlay, exchange, messages, app_id="queue", timeout=10)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], aio_pika.exceptions.PublishError)
    received = await _drain(queue, 2)
    assert [m.message_id for m in received] == [messages[0].message_id, messages[2].message_id]


async def test_a_closed_channel_fails_the_batch_and_publishes_nothing(broker) -> None:  # type: ignore[no-untyped-def]
    channel, exchange, queue = broker
    main = await channel.get_underlay_channel()
    underlay = await main.connection.channel(publisher_confirms=True)
    await underlay.close()
    with pytest.raises(aio_pika.exceptions.ChannelInvalidStateError):
        await publish_batch(
            underlay, exchange, [_message("queue.ticket.issued", 1)], app_id="queue", timeout=5
        )
    assert await queue.get(fail=False) is None


async def test_a_channel_the_broker_closes_fails_the_waiting_messages_at_once(broker) -> None:  # type: ignore[no-untyped-def]
    """Publishing to an exchange that does not exist makes RabbitMQ close the channel
    (404): every message of the batch fails with that reason, long before the timeout."""
    channel, exchange, queue = broker
    main = await channel.get_underlay_channel()
    underlay = await main.connection.channel(publisher_confirms=True)
    messages = [_message("queue.ticket.issued", n) for n in range(5)]
    started = time.monotonic()
    results = await publish_batch(
        underlay, f"{exchange}.missing", messages, app_id="queue", timeout=30
    )
    assert time.monotonic() - started < 10
    assert len(results) == 5
    assert all(isinstance(result, aio_pika.exceptions.ChannelNotFoundEntity) for result in results)
    assert underlay.is_closed
    assert await queue.get(fail=False) is None
