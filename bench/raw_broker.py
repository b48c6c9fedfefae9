"""(a) The physical limit of the event path: raw aio-pika against a durable quorum queue.

Three timed phases on one throwaway topic exchange bound to one throwaway durable
quorum queue (the kind of our inbox queues, same arguments), both under a unique
name and deleted afterwards:

1. publish N persistent messages with publisher confirms, `window` of them in
   flight at a time (each window awaited with one `gather`), to an idle queue;
2. consume those N with manual acks (explicit prefetch), one `multiple` ack per
   `ack_every` deliveries as a batching consumer (like the kit's) does;
3. end to end: a consumer is running while N more are published; the clock stops
   when the N-th message is acked.

The messages have the size and the properties of a real `queue.ticket.issued`
event as the relay sends it (message id, type, persistent, app id).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage, AbstractQueue
from pamqp.commands import Basic

from bench.cleanup import delete_broker_names
from bench.config import BenchConfig
from sihha_contracts.envelope import Producer
from sihha_kit.broker import INBOX_QUEUE_ARGUMENTS
from sihha_kit.outbox import build_envelope
from sihha_kit.testing.messaging_rig import FakeTicket

ROUTING_KEY = "queue.ticket.issued"


@dataclass(frozen=True)
class RawResult:
    n: int
    window: int
    prefetch: int
    ack_every: int
    body_bytes: int
    publish_seconds: float
    consume_seconds: float
    end_to_end_seconds: float
    #: CPU time of this process during the end-to-end phase
    end_to_end_cpu_seconds: float

    @property
    def publish_rate(self) -> float:
        return self.n / self.publish_seconds

    @property
    def consume_rate(self) -> float:
        return self.n / self.consume_seconds

    @property
    def end_to_end_rate(self) -> float:
        return self.n / self.end_to_end_seconds

    @property
    def end_to_end_cpu_us(self) -> float:
        """CPU of this (client) process per message, end to end."""
        return self.end_to_end_cpu_seconds / self.n * 1e6

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "publish_rate": self.publish_rate,
            "consume_rate": self.consume_rate,
            "end_to_end_rate": self.end_to_end_rate,
            "end_to_end_cpu_us": self.end_to_end_cpu_us,
        }


def sample_body() -> bytes:
    """The JSON body of one real `queue.ticket.issued` envelope (about 770 bytes)."""
    ticket = FakeTicket()
    ticket.issue()
    event = ticket.pop_events()[0]
    envelope = build_envelope(event, Producer(name="queue", version="bench"))
    return envelope.model_dump_json().encode()


def _message(body: bytes) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        message_id=str(uuid4()),
        type=ROUTING_KEY,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        app_id="bench",
        timestamp=datetime.now(UTC),
    )


async def publish_confirmed(
    exchange: AbstractExchange, body: bytes, n: int, *, window: int, timeout: float
) -> None:
    """Publish n persistent messages, `window` in flight, each window awaited with gather."""
    sent = 0
    while sent < n:
        size = min(window, n - sent)
        results = await asyncio.wait_for(
            asyncio.gather(
                *(
                    exchange.publish(_message(body), routing_key=ROUTING_KEY, mandatory=True)
                    for _ in range(size)
                )
            ),
            timeout,
        )
        # a nack or a return raises; anything but an ack here would be a bug
        for confirmation in results:
            if not isinstance(confirmation, Basic.Ack):
                raise RuntimeError(f"publish not confirmed: {confirmation!r}")
        sent += size


class _Counter:
    """Acks the deliveries, `ack_every` at a time (one `multiple` ack; 1: each on its own),
    and signals when `target` deliveries have been acked."""

    def __init__(self, target: int, ack_every: int) -> None:
        self.target = target
        self.ack_every = ack_every
        self.count = 0
        self.done = asyncio.Event()

    async def __call__(self, message: AbstractIncomingMessage) -> None:
        self.count += 1
        count = self.count
        if count % self.ack_every == 0 or count >= self.target:
            await message.ack(multiple=self.ack_every > 1)
        if count >= self.target:
            self.done.set()


async def _consume(queue: AbstractQueue, n: int, timeout: float, ack_every: int = 1) -> _Counter:
    counter = _Counter(n, ack_every)
    tag = await queue.consume(counter, no_ack=False)
    try:
        await asyncio.wait_for(counter.done.wait(), timeout)
    finally:
        await queue.cancel(tag)
    return counter


async def run_raw(
    config: BenchConfig,
    n: int,
    *,
    window: int = 500,
    prefetch: int = 1000,
    ack_every: int = 100,
    timeout: float = 120.0,
) -> RawResult:
    if not 1 <= ack_every <= prefetch:
        raise ValueError("ack_every must be within 1..prefetch, or the consumer stalls")
    namespace = config.namespace("raw")
    exchange_name = f"{namespace}events"
    queue_name = f"{namespace}inbox"
    dlx_name = f"{namespace}dlx"
    body = sample_body()
    publisher = await aio_pika.connect(
        config.amqp_url, client_properties={"connection_name": "bench-raw-publisher"}
    )
    consumer = await aio_pika.connect(
        config.amqp_url, client_properties={"connection_name": "bench-raw-consumer"}
    )
    try:
        pub_channel = await publisher.channel(publisher_confirms=True, on_return_raises=True)
        sub_channel = await consumer.channel(publisher_confirms=False)
        await sub_channel.set_qos(prefetch_count=prefetch)
        exchange = await pub_channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        # a real inbox queue's settings (its policy's keys given here as arguments: the
        # baseline applies no policy), dead-letter exchange included (unused here)
        await sub_channel.declare_exchange(dlx_name, aio_pika.ExchangeType.FANOUT, durable=True)
        queue = await sub_channel.declare_queue(
            queue_name,
            durable=True,
            arguments={
                **INBOX_QUEUE_ARGUMENTS,
                "x-delivery-limit": 5,
                "x-dead-letter-exchange": dlx_name,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        await queue.bind(exchange_name, routing_key="queue.ticket.*")
        # warm-up: a handful through the whole path, not timed
        await publish_confirmed(exchange, body, 50, window=50, timeout=timeout)
        await _consume(queue, 50, timeout)

        started = time.perf_counter()
        await publish_confirmed(exchange, body, n, window=window, timeout=timeout)
        publish_seconds = time.perf_counter() - started

        started = time.perf_counter()
        await _consume(queue, n, timeout, ack_every)
        consume_seconds = time.perf_counter() - started

        cpu_started = time.process_time()
        started = time.perf_counter()
        consuming = asyncio.create_task(_consume(queue, n, timeout, ack_every))
        try:
            await publish_confirmed(exchange, body, n, window=window, timeout=timeout)
            await consuming
        finally:
            consuming.cancel()
        end_to_end_seconds = time.perf_counter() - started
        end_to_end_cpu_seconds = time.process_time() - cpu_started
    finally:
        for connection in (publisher, consumer):
            with contextlib.suppress(Exception):
                await connection.close()
        await delete_broker_names(
            config.amqp_url, queues=[queue_name], exchanges=[exchange_name, dlx_name]
        )
    return RawResult(
        n=n,
        window=window,
        prefetch=prefetch,
        ack_every=ack_every,
        body_bytes=len(body),
        publish_seconds=publish_seconds,
        consume_seconds=consume_seconds,
        end_to_end_seconds=end_to_end_seconds,
        end_to_end_cpu_seconds=end_to_end_cpu_seconds,
    )
