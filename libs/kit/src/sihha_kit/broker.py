"""The connections to RabbitMQ and the platform's topology.

Topology (see docs/messaging.md):

- one durable topic exchange per producing service: `<service>.events`,
  routing key = event type;
- one durable quorum queue per consuming service: `<consumer>.inbox`, bound to
  the routing keys it needs, dead-lettering through `<consumer>.dlx` (fanout)
  into `<consumer>.dead`.

The inbox is declared with one argument, its type (`x-queue-type: quorum`, which no
policy can set). Its delivery limit, dead-letter exchange, dead-letter strategy and
overflow come from a policy (`sihha_kit.broker_admin.inbox_policy`), so that changing
them needs no redeclare. A queue declared by an older version with those keys as
arguments is used as it is (`legacy_arguments` in readiness): arguments take precedence
over a policy, so it keeps its old settings until it is drained and recreated.

A process has two connections, both robust, both named (`connection_name`): one
publishes, one consumes. Under a memory or disk alarm the broker blocks connections
that publish; the consumer that drains the backlog must not be blocked with them.
Each keeps trying to connect in the background, so a service starts and serves while
the broker is away; once connected, aio-pika restores channels, exchanges, queues,
bindings and consumers after a loss, as long as we keep references to them
(`self._declared`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
    AbstractRobustQueue,
)

from sihha_kit.logs import get_logger

log = get_logger(__name__)

#: the oldest RabbitMQ the platform runs on: quorum queues with at-least-once
#: dead-lettering and a delivery limit set by policy appeared in 3.10.0
MINIMUM_BROKER_VERSION = (3, 10, 0)

#: the inbox's settings that its policy carries; an inbox declared with any of them as an
#: argument was declared by a version before the policies
POLICY_KEYS = (
    "x-delivery-limit",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-dead-letter-strategy",
    "x-overflow",
)
_INEQUIVALENT_ARG = re.compile(r"inequivalent arg '([^']+)'")


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


#: the inbox's declaration arguments: only what a policy cannot set
INBOX_QUEUE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum"}


def parse_version(text: str) -> tuple[int, ...]:
    """`"3.10.8"` → (3, 10, 8); a suffix such as `-rc.1` or `+build` is ignored."""
    numbers = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if numbers is None:
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(part or 0) for part in numbers.groups())


class BrokerLink:
    """One robust connection, named for the broker's connection list, connected in the
    background with backoff (0.5 s doubling to 15 s) until it first succeeds; aio-pika
    reconnects it after that."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.connection: AbstractRobustConnection | None = None
        self._connected_once = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None

    @property
    def started(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._connect_forever(), name=f"broker {self.name}")

    async def _connect_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                self.connection = await aio_pika.connect_robust(
                    self.url,
                    client_properties={"connection_name": self.name},
                    reconnect_interval=2,
                    timeout=10,
                )
            except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as error:
                self.last_error = f"{type(error).__name__}: {error}"[:300]
                log.warning("broker.unreachable", link=self.name, error=str(error), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)
                continue
            self.last_error = None
            log.info("broker.connected", link=self.name, version=self.server_version)
            self._connected_once.set()
            return

    async def wait_connected(self, timeout: float | None = None) -> AbstractRobustConnection:
        self.start()
        # asyncio.timeout, not wait_for: wait_for (Python 3.11) swallows a cancellation that
        # arrives as the event is set
        async with asyncio.timeout(timeout):
            await self._connected_once.wait()
        assert self.connection is not None
        async with asyncio.timeout(timeout):
            await self.connection.connected.wait()
        return self.connection

    @property
    def is_connected(self) -> bool:
        connection = self.connection
        return connection is not None and not connection.is_closed and connection.connected.is_set()

    @property
    def server_version(self) -> str | None:
        """The broker's version as it announced it when this link connected."""
        if self.connection is None or self.connection.transport is None:
            return None
        version = self.connection.transport.connection.server_properties.get("version")
        return version.decode() if isinstance(version, bytes) else str(version or "") or None

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.connection is not None:
            # a robust connection in the middle of reconnecting can wait forever to close
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.connection.close(), timeout=5)


class DeclareFailed(Exception):
    """The broker refused a declaration (an existing object with other arguments or of
    another type, an access refusal): reported in readiness and retried."""


class Broker:
    """A process's two connections to RabbitMQ (`publishing`, `consuming`) and the
    topology it declares on them.

    `client_name` names both connections: `<client_name> publishing` and
    `<client_name> consuming`, as the IT unit sees them in the broker's connection list.
    """

    def __init__(self, url: str, topology: Topology, *, client_name: str) -> None:
        self.url = url
        self.topology = topology
        self.client_name = client_name
        self.publishing = BrokerLink(url, f"{client_name} publishing")
        self.consuming = BrokerLink(url, f"{client_name} consuming")
        # aio-pika restores only what is still referenced after a reconnect
        self._declared: list[Any] = []
        #: object name → why its declaration failed (cleared once it succeeds)
        self.declare_errors: dict[str, str] = {}
        #: inboxes found with the arguments of a version before the policies
        self.legacy_inboxes: set[str] = set()

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        """Connect both links in the background (a link is also started on first use)."""
        self.publishing.start()
        self.consuming.start()

    def _links(self) -> list[BrokerLink]:
        started = [link for link in (self.publishing, self.consuming) if link.started]
        return started or [self.publishing, self.consuming]

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until every started link is connected (both when none was started)."""
        for link in self._links():
            await link.wait_connected(timeout)

    @property
    def is_connected(self) -> bool:
        """Every link in use is connected."""
        return all(link.is_connected for link in self._links())

    @property
    def server_version(self) -> str | None:
        return self.publishing.server_version or self.consuming.server_version

    def version_supported(self) -> bool | None:
        """Whether the connected broker is at least `MINIMUM_BROKER_VERSION` (None: not
        connected yet)."""
        version = self.server_version
        if version is None:
            return None
        return parse_version(version) >= MINIMUM_BROKER_VERSION

    async def close(self) -> None:
        await self.publishing.close()
        await self.consuming.close()
        self._declared.clear()

    def state(self) -> dict[str, Any]:
        """What readiness reports about the broker (never a reason to be unready)."""
        links: dict[str, Any] = {}
        for kind, link in (("publishing", self.publishing), ("consuming", self.consuming)):
            if not link.started:
                continue
            links[kind] = {"name": link.name, "connected": link.is_connected}
            if link.last_error:
                links[kind]["error"] = link.last_error
        report: dict[str, Any] = {
            "connected": self.is_connected,
            "connections": links,
            "version": self.server_version,
            "minimum_version": ".".join(map(str, MINIMUM_BROKER_VERSION)),
        }
        supported = self.version_supported()
        if supported is not None:
            report["version_supported"] = supported
        if self.declare_errors:
            report["declare_errors"] = dict(self.declare_errors)
        if self.legacy_inboxes:
            report["legacy_inboxes"] = sorted(self.legacy_inboxes)
        return report

    # -- channels and topology ------------------------------------------

    async def publishing_channel(self) -> AbstractRobustChannel:
        """A channel with publisher confirms (unroutable mandatory messages raise) on
        the publishing connection."""
        connection = await self.publishing.wait_connected()
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        self._declared.append(channel)
        return channel

    async def consuming_channel(self, prefetch: int) -> AbstractRobustChannel:
        """A channel without confirms and with an explicit prefetch on the consuming
        connection."""
        connection = await self.consuming.wait_connected()
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=prefetch)
        self._declared.append(channel)
        return channel

    async def declare_events_exchange(
        self, channel: AbstractRobustChannel, service: str
    ) -> AbstractRobustExchange:
        exchange: AbstractRobustExchange = await self._declaring(
            self.topology.events_exchange(service),
            channel.declare_exchange(
                self.topology.events_exchange(service),
                aio_pika.ExchangeType.TOPIC,
                durable=True,
            ),
        )
        self._declared.append(exchange)
        return exchange

    async def declare_inbox(
        self, consumer: str, bindings: dict[str, list[str]], *, prefetch: int
    ) -> tuple[AbstractRobustChannel, AbstractRobustQueue, AbstractRobustQueue]:
        """Declare `<consumer>.inbox` bound to {service: [routing keys]} and its dead-letter
        path, on a new consuming channel. Returns (channel, inbox queue, dead-letter queue).

        Raises `DeclareFailed` (after recording it in `declare_errors` and the log) when
        the broker refuses a declaration; the channel it closed is discarded."""
        inbox_name = self.topology.inbox_queue(consumer)
        channel = await self.consuming_channel(prefetch)
        try:
            inbox, dead = await self._declare_inbox_on(channel, consumer, bindings, passive=False)
        except DeclareFailed as failure:
            await self._discard(channel)
            found = _INEQUIVALENT_ARG.search(str(failure))
            if found is None or found.group(1) not in POLICY_KEYS:
                raise
            # a quorum inbox from before the policies: its own arguments still hold (they
            # win over a policy); it is used as it is and readiness says so
            channel = await self.consuming_channel(prefetch)
            try:
                inbox, dead = await self._declare_inbox_on(
                    channel, consumer, bindings, passive=True
                )
            except BaseException:
                await self._discard(channel)
                raise
            if inbox_name not in self.legacy_inboxes:
                self.legacy_inboxes.add(inbox_name)
                log.warning(
                    "broker.legacy_inbox",
                    queue=inbox_name,
                    detail="declared with its delivery limit and dead-lettering as arguments; "
                    "the policy applies once it is drained and recreated (docs/messaging.md)",
                )
        except BaseException:
            await self._discard(channel)
            raise
        return channel, inbox, dead

    async def _declare_inbox_on(
        self,
        channel: AbstractRobustChannel,
        consumer: str,
        bindings: dict[str, list[str]],
        *,
        passive: bool,
    ) -> tuple[AbstractRobustQueue, AbstractRobustQueue]:
        topology = self.topology
        dlx = await self._declaring(
            topology.dead_letter_exchange(consumer),
            channel.declare_exchange(
                topology.dead_letter_exchange(consumer), aio_pika.ExchangeType.FANOUT, durable=True
            ),
        )
        dead = await self._declaring(
            topology.dead_letter_queue(consumer),
            channel.declare_queue(
                topology.dead_letter_queue(consumer), durable=True, arguments=INBOX_QUEUE_ARGUMENTS
            ),
        )
        await dead.bind(dlx, routing_key="#")
        name = topology.inbox_queue(consumer)
        if passive:
            inbox = await self._declaring(name, channel.declare_queue(name, passive=True))
            self.declare_errors.pop(name, None)
        else:
            inbox = await self._declaring(
                name, channel.declare_queue(name, durable=True, arguments=INBOX_QUEUE_ARGUMENTS)
            )
        self._declared.extend([dlx, dead, inbox])
        for service, routing_keys in sorted(bindings.items()):
            exchange = await self.declare_events_exchange(channel, service)
            for routing_key in routing_keys:
                await inbox.bind(exchange, routing_key=routing_key)
        return inbox, dead

    async def _discard(self, channel: AbstractRobustChannel) -> None:
        """Close a channel and forget it (and what was declared on it): it is not restored."""
        self._declared = [
            item
            for item in self._declared
            if item is not channel
            and (isinstance(item, AbstractChannel) or item.channel is not channel)
        ]
        with contextlib.suppress(Exception):
            await channel.close()

    async def _declaring(self, name: str, declaration: Any) -> Any:
        try:
            declared = await declaration
        except aio_pika.exceptions.ChannelClosed as error:
            reason = f"{type(error).__name__}: {error}"[:500]
            self.declare_errors[name] = reason
            log.error("broker.declare_failed", object=name, error=reason)
            raise DeclareFailed(reason) from error
        self.declare_errors.pop(name, None)
        return declared
