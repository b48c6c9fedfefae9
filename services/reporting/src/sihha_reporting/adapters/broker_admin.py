"""Broker-side operations of the IT-unit monitor: queue depths and dead-letter replays.

Each call opens its own short connection (these are occasional operator actions and
page refreshes, not the event path) and leaves nothing declared behind: queues are
only looked at with passive declarations.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel

from sihha_kit.broker import Topology
from sihha_kit.errors import NotFound

#: headers the broker adds on dead-lettering and redelivery; a replayed message starts afresh
_BROKER_HEADERS = ("x-death", "x-first-death-exchange", "x-first-death-queue",
                   "x-first-death-reason", "x-delivery-count", "x-last-death-exchange",
                   "x-last-death-queue", "x-last-death-reason")  # fmt: skip


@dataclass(frozen=True)
class QueueDepth:
    consumer: str
    inbox: int | None  # None: no such queue
    dead: int | None


async def _depth(connection: aio_pika.abc.AbstractConnection, name: str) -> int | None:
    channel: AbstractChannel = await connection.channel(publisher_confirms=False)
    try:
        queue = await channel.declare_queue(name, passive=True)
        return int(queue.declaration_result.message_count or 0)
    except aio_pika.exceptions.ChannelClosed:
        return None  # a missing queue closes the channel: it does not exist
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


async def queue_depths(amqp_url: str, topology: Topology, consumers: list[str]) -> list[QueueDepth]:
    connection = await aio_pika.connect(
        amqp_url, timeout=5, client_properties={"connection_name": "reporting-monitor"}
    )
    async with connection:
        return [
            QueueDepth(
                name,
                await _depth(connection, topology.inbox_queue(name)),
                await _depth(connection, topology.dead_letter_queue(name)),
            )
            for name in consumers
        ]


async def replay_dead_letters(
    amqp_url: str, topology: Topology, consumer: str, *, limit: int = 100_000
) -> int:
    """Move the messages waiting in `<consumer>.dead` back into `<consumer>.inbox`.

    At most the number present when the replay starts (and at most `limit`): a message
    that fails again goes back to the dead-letter queue and is not replayed in a loop.
    Each message is republished (persistent, confirmed) before it is acknowledged, so a
    crash in between repeats it, which the consumer's inbox absorbs. Returns how many."""
    connection = await aio_pika.connect(
        amqp_url, timeout=10, client_properties={"connection_name": "reporting-dead-letter-replay"}
    )
    moved = 0
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        inbox_name = topology.inbox_queue(consumer)
        try:
            dead = await channel.declare_queue(topology.dead_letter_queue(consumer), passive=True)
            await channel.declare_queue(inbox_name, passive=True)
        except aio_pika.exceptions.ChannelClosed:  # a missing queue closes the channel
            raise NotFound("consumer-queues-not-found", consumer=consumer) from None
        waiting = min(int(dead.declaration_result.message_count or 0), limit)
        while moved < waiting:
            message = await dead.get(no_ack=False, fail=False, timeout=10)
            if message is None:
                break
            headers: dict[str, Any] = {
                k: v for k, v in (message.headers or {}).items() if k not in _BROKER_HEADERS
            }
            headers["x-sihha-replayed"] = True
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body,
                    message_id=message.message_id,
                    type=message.type,
                    content_type=message.content_type,
                    app_id=message.app_id,
                    headers=headers,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=inbox_name,
                mandatory=True,
            )
            await message.ack()
            moved += 1
    return moved
