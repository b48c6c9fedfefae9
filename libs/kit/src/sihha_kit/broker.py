"""The connection to RabbitMQ and the platform's topology.

Topology (see docs/messaging.md):

- one durable topic exchange per producing service: `<service>.events`,
  routing key = event type;
- one durable quorum queue per consuming service: `<consumer>.inbox`, bound to
  the routing keys it needs, with an explicit `x-delivery-limit` and a
  dead-letter exchange `<consumer>.dlx` (fanout) into `<consumer>.dead`.

A `Broker` keeps trying to connect in the background, so a service starts and
serves even when the broker is away; once connected, aio-pika's robust
connection restores channels, exchanges, queues, bindings and consumers after
a loss, as long as we keep references to them (we do, in `self._declared`).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
    AbstractRobustQueue,
)

from sihha_kit.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Topology:
    """Names of exchanges and queues; `namespace` prefixes them all (test isolation)."""

    namespace: str = ""

    def events_exchange(self, service: str) -> str:
        return f"{self.namespace}{service}.events"

    def inbox_queue(self, consumer: str) -> str:
        return f"{self.namespace}{consumer}.inbox"

    def dead_letter_exchange(self, consumer: str) -> str:
        return f"{self.namespace}{consumer}.dlx"

    def dead_letter_queue(self, consumer: str) -> str:
        return f"{self.namespace}{consumer}.dead"


def inbox_queue_arguments(dead_letter_exchange: str, delivery_limit: int) -> dict[str, Any]:
    """Arguments accepted alike by RabbitMQ 3.10+ and 4.x.

    `at-least-once` dead-lettering (needs `reject-publish` overflow) so that a
    dead-lettered message is never dropped between the two queues.
    """
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": dead_letter_exchange,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


class Broker:
    def __init__(self, url: str, topology: Topology, *, client_name: str) -> None:
        self.url = url
        self.topology = topology
        self.client_name = client_name
        self._connection: AbstractRobustConnection | None = None
        self._connected_once = asyncio.Event()
        self._connect_task: asyncio.Task[None] | None = None
        # aio-pika restores only what is still referenced after a reconnect
        self._declared: list[Any] = []

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        if self._connect_task is None:
            self._connect_task = asyncio.create_task(self._connect_forever(), name="broker-connect")

    async def _connect_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                self._connection = await aio_pika.connect_robust(
                    self.url,
                    client_properties={"connection_name": self.client_name},
                    reconnect_interval=2,
                    timeout=10,
                )
            except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as error:
                log.warning("broker.unreachable", error=str(error), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)
                continue
            log.info("broker.connected")
            self._connected_once.set()
            return

    async def wait_connected(self, timeout: float | None = None) -> AbstractRobustConnection:
        self.start()
        await asyncio.wait_for(self._connected_once.wait(), timeout)
        assert self._connection is not None
        await asyncio.wait_for(self._connection.connected.wait(), timeout)
        return self._connection

    @property
    def is_connected(self) -> bool:
        connection = self._connection
        return connection is not None and not connection.is_closed and connection.connected.is_set()

    async def close(self) -> None:
        if self._connect_task is not None and not self._connect_task.done():
            self._connect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connect_task
        if self._connection is not None:
            # a robust connection in the middle of reconnecting can wait forever to close
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), timeout=5)
        self._declared.clear()

    # -- channels and topology ------------------------------------------

    async def channel(
        self, *, publisher_confirms: bool = True, prefetch: int | None = None
    ) -> AbstractRobustChannel:
        connection = await self.wait_connected()
        channel = await connection.channel(
            publisher_confirms=publisher_confirms,
            on_return_raises=publisher_confirms,
        )
        if prefetch is not None:
            await channel.set_qos(prefetch_count=prefetch)
        self._declared.append(channel)
        return channel

    async def declare_events_exchange(
        self, channel: AbstractRobustChannel, service: str
    ) -> AbstractRobustExchange:
        exchange = await channel.declare_exchange(
            self.topology.events_exchange(service),
            aio_pika.ExchangeType.TOPIC,
            durable=True,
        )
        self._declared.append(exchange)
        return exchange

    async def declare_inbox(
        self,
        channel: AbstractRobustChannel,
        consumer: str,
        bindings: dict[str, list[str]],
        delivery_limit: int,
    ) -> tuple[AbstractRobustQueue, AbstractRobustQueue]:
        """Declare `<consumer>.inbox` bound to {service: [routing keys]} and its dead-letter path.

        Returns (inbox queue, dead-letter queue).
        """
        dlx = await channel.declare_exchange(
            self.topology.dead_letter_exchange(consumer), aio_pika.ExchangeType.FANOUT, durable=True
        )
        dead = await channel.declare_queue(
            self.topology.dead_letter_queue(consumer),
            durable=True,
            arguments={"x-queue-type": "quorum"},
        )
        await dead.bind(dlx, routing_key="#")
        inbox = await channel.declare_queue(
            self.topology.inbox_queue(consumer),
            durable=True,
            arguments=inbox_queue_arguments(dlx.name, delivery_limit),
        )
        self._declared.extend([dlx, dead, inbox])
        for service, routing_keys in sorted(bindings.items()):
            exchange = await self.declare_events_exchange(channel, service)
            for routing_key in routing_keys:
                await inbox.bind(exchange, routing_key=routing_key)
        return inbox, dead
