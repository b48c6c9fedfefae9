"""What a service runs besides its routes, composed once per process.

`ServiceRuntime` owns the database engine, the broker connections (one publishing, one
consuming), the outbox relay, the event consumers and the retention of the tables that
grow (`housekeeper`), starts them in the background (the HTTP side never waits for the
broker) and supervises them: a background task that dies is restarted with backoff
instead of silently stopping the flow of events.

At start it also prepares the broker node where it may (`broker_admin`): it applies its
inboxes' policies and reads the feature flags; readiness reports what it found.

Two entry points run a part of a service alone: `relay_main` its outbox relay
(`python -m <service> relay`), `declare_inboxes_main` the declaration of its inboxes
(`python -m <service> declare-inboxes`, a one-shot run before any producer starts: an
event published before the inbox that wants it exists is lost for that consumer,
docs/messaging.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text

from sihha_contracts.envelope import Producer
from sihha_kit.broker import Broker, Topology
from sihha_kit.broker_admin import NodeReport, Rabbitmqctl, prepare_node
from sihha_kit.clock import Clock, clock_from_settings
from sihha_kit.consumer import EventConsumer
from sihha_kit.db import create_engine, pool_budget, prepare_database, session_factory
from sihha_kit.logs import get_logger
from sihha_kit.outbox import OutboxRelay
from sihha_kit.retention import (
    CONFLICTS_RETENTION,
    INBOX_RETENTION,
    OUTBOX_RETENTION,
    Housekeeper,
)
from sihha_kit.settings import ServiceSettings

log = get_logger(__name__)


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        migrations_dir: Path,
        publishes: bool = True,
    ) -> None:
        self.settings = settings
        self.migrations_dir = migrations_dir
        self.producer = Producer(name=settings.service_name, version=settings.service_version)
        self.clock: Clock = clock_from_settings(
            settings.clock_start, settings.clock_speed, settings.clock_anchor
        )
        timeout = settings.database_statement_timeout_seconds
        self.engine = create_engine(
            settings.database_url, settings.database_pool_size, statement_timeout_seconds=timeout
        )
        self.sessions = session_factory(self.engine)
        #: connections the service holds outside the pool for its own background work
        #: (a LISTEN connection, say): declared with `hold_connection`, counted in the budget
        self.dedicated_connections: list[str] = []
        self.broker = Broker(
            settings.amqp_url,
            Topology(settings.broker_namespace),
            client_name=f"{settings.service_name}@{settings.service_version}",
        )
        #: the relay of this service's outbox: run here (`settings.outbox_relay`
        #: `in-process`) or by `run_relay` in a process of its own; either way readiness
        #: and the metrics report the outbox's backlog through it
        self.relay: OutboxRelay | None = (
            OutboxRelay(
                self.engine,
                settings.database_url,
                self.broker,
                settings.service_name,
                batch_size=settings.outbox_batch_size,
                poll_seconds=settings.outbox_poll_seconds,
                statement_timeout_ms=int(timeout * 1000),
            )
            if publishes
            else None
        )
        self.relay_here = self.relay is not None and settings.outbox_relay == "in-process"
        #: the retention of every table that grows; a service registers its own tables
        self.housekeeper = Housekeeper(
            self.engine, settings.service_name, interval=settings.retention_interval_seconds
        )
        days = timedelta(days=1)
        self.housekeeper.register(
            replace(OUTBOX_RETENTION, keep=days * settings.outbox_retention_days)
        )
        self.housekeeper.register(
            replace(INBOX_RETENTION, keep=days * settings.inbox_retention_days)
        )
        self.housekeeper.register(
            replace(CONFLICTS_RETENTION, keep=days * settings.conflicts_retention_days)
        )
        self.node: NodeReport | None = None
        self.consumers: list[EventConsumer] = []
        self._background: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self._tasks: list[asyncio.Task[None]] = []

    def hold_connection(self, purpose: str) -> None:
        """Declare a connection the service keeps outside the pool (`purpose` names it)."""
        self.dedicated_connections.append(purpose)

    @property
    def connection_budget(self) -> int:
        """The most PostgreSQL connections this process ever opens to its database: the
        pool (`database_pool_size` plus its overflow, `sihha_kit.db.pool_budget`), the outbox
        relay's own connection when it runs here, and the ones declared with
        `hold_connection`."""
        relay = 1 if self.relay_here else 0
        return (
            pool_budget(self.settings.database_pool_size) + relay + len(self.dedicated_connections)
        )

    def add_consumer(self, consumer: EventConsumer) -> EventConsumer:
        self.consumers.append(consumer)
        return consumer

    def add_background(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Another long-running coroutine to start with the service and supervise."""
        self._background.append((name, run))

    async def prepare(self) -> None:
        """Create the database if missing and apply the migrations."""
        await prepare_database(self.settings.database_url, self.migrations_dir)

    def broker_admin(self) -> Rabbitmqctl | None:
        """How this process may administer the broker node (None: the operator does)."""
        choice = self.settings.broker_admin
        if choice == "rabbitmqctl" or (choice == "auto" and Rabbitmqctl.available()):
            return Rabbitmqctl()
        return None

    async def prepare_broker_node(self) -> None:
        """Apply the inboxes' policies and read the feature flags (see `broker_admin`);
        never raises (what failed is in `self.node`, shown by readiness)."""
        self.node = await prepare_node(
            self.broker_admin(),
            self.settings.amqp_url,
            [consumer.policy() for consumer in self.consumers],
        )

    def start_background(self) -> None:
        if self.relay is not None and self.relay_here:
            self.broker.publishing.start()
            self._spawn("outbox-relay", self.relay.run)
        if self.consumers:
            self.broker.consuming.start()
            node_prepared = asyncio.create_task(self.prepare_broker_node(), name="broker-node")
            self._tasks.append(node_prepared)
        for consumer in self.consumers:
            self._spawn(f"consumer-{consumer.name}", self._after(node_prepared, consumer.run))
        self._spawn("retention", self.housekeeper.run)
        for name, run in self._background:
            self._spawn(name, run)

    @staticmethod
    def _after(
        step: asyncio.Task[None], run: Callable[[], Awaitable[None]]
    ) -> Callable[[], Awaitable[None]]:
        """`run`, once `step` is over: a consumer starts after its inbox's policy is set
        (a message rejected before it would find no dead-letter exchange and be dropped)."""

        async def after() -> None:
            await asyncio.wait([step])
            await run()

        return after

    def _spawn(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self._tasks.append(asyncio.create_task(self._supervise(name, run), name=name))

    async def _supervise(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        delay = 0.5
        while True:
            try:
                await run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.error(
                    "runtime.task_failed",
                    task=name,
                    error=f"{type(error).__name__}: {error}",
                    restart_in=delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def stop(self) -> None:
        """Cancel the background work and wait for it, a bounded time: a library call that
        swallows its cancellation (a publish awaiting a confirm that never comes) must not
        keep a stopping service alive."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=5.0)
            for task in stuck:
                log.warning("runtime.task_did_not_stop", task=task.get_name())
        self._tasks.clear()
        await self.broker.close()
        await self.engine.dispose()

    async def database_ok(self) -> bool:
        try:
            async with asyncio.timeout(2.0), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def readiness(self) -> dict[str, Any]:
        """Ready when the database answers. The broker's state is reported, never a reason
        to be unready: the service serves without it (events wait in the outbox)."""
        database = await self.database_ok()
        broker = self.broker.state()
        if self.node is not None:
            broker["node"] = self.node.as_dict()
        report: dict[str, Any] = {
            "database": "up" if database else "down",
            "broker": "up" if self.broker.is_connected else "down",
            "broker_state": broker,
            "consumers": {consumer.name: consumer.state for consumer in self.consumers},
            "ready": database,
        }
        if self.relay is not None and database:
            with contextlib.suppress(Exception):
                report["outbox_backlog"] = await self.relay.backlog()
        return report

    async def refresh_metrics(self) -> None:
        """Update gauges that are read rather than counted (called on scrape)."""
        if self.relay is not None:
            with contextlib.suppress(Exception):
                from sihha_kit import metrics

                metrics.outbox_backlog.labels(self.settings.service_name).set(
                    await self.relay.backlog()
                )
        if self.broker.consuming.is_connected:
            for consumer in self.consumers:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2.0):
                        await consumer.stats()


async def run_relay(settings: ServiceSettings, stop: asyncio.Event) -> None:
    """The outbox relay of `settings.service_name` alone, until `stop` is set: what
    `python -m <service> relay` runs beside serving processes started with
    `outbox_relay=separate`. Its connections: the relay's own to the database (the
    service's migrations must have run: until then it retries) and one publishing
    connection to the broker. It polls every `outbox_poll_seconds`, since the commits of
    another process do not wake it. Several may run: each claims with SKIP LOCKED."""
    timeout = settings.database_statement_timeout_seconds
    engine = create_engine(settings.database_url, 1, statement_timeout_seconds=timeout)
    broker = Broker(
        settings.amqp_url,
        Topology(settings.broker_namespace),
        client_name=f"{settings.service_name}-relay@{settings.service_version}",
    )
    relay = OutboxRelay(
        engine,
        settings.database_url,
        broker,
        settings.service_name,
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
        statement_timeout_ms=int(timeout * 1000),
    )
    broker.publishing.start()
    task = asyncio.create_task(relay.run(), name="outbox-relay")
    log.info("relay.started", service=settings.service_name, poll=settings.outbox_poll_seconds)
    try:
        await stop.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10.0)
        await broker.close()
        await engine.dispose()
        log.info("relay.stopped", service=settings.service_name)


def relay_main(settings: ServiceSettings) -> None:
    """Run `run_relay` on uvloop (as uvicorn runs the services) until SIGTERM or SIGINT,
    with the service's logging and tracing."""
    import signal

    import uvloop

    from sihha_kit.logs import configure_logging
    from sihha_kit.tracing import configure_tracing

    configure_logging(settings.service_name, settings.log_format, settings.log_level)
    configure_tracing(
        f"{settings.service_name}-relay", settings.service_version, settings.otlp_endpoint
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_relay(settings, stop)

    uvloop.run(main())


class InboxesNotDeclared(Exception):
    """`declare_inboxes` gave up: the broker did not answer, or refused a declaration, for
    the whole of its bounded wait; or it applied the inboxes but not their policies."""


async def declare_inboxes(runtime: ServiceRuntime, *, timeout: float | None = None) -> list[str]:
    """Declare the inbox of every consumer of `runtime` (the quorum queue, its bindings to
    the producers' exchanges, which it declares too, its dead-letter exchange and queue),
    exactly as the consumer declares them when it starts, and apply their policies where
    the service may (`ServiceRuntime.prepare_broker_node`, `broker_admin`); then close the
    broker connection and return the inboxes' names. Consumes nothing, never touches the
    database (the engine of a service's context connects only when used; it is disposed
    here unused). Idempotent: declaring what exists with the same arguments changes
    nothing, and a policy is replaced by itself.

    Raises `InboxesNotDeclared` when the broker does not accept the connection or a
    declaration within `timeout` seconds (default: the settings'
    `declare_inboxes_timeout_seconds`; refusals are retried with backoff until then),
    and when the inboxes were declared but their policies could not be applied."""
    settings = runtime.settings
    timeout = settings.declare_inboxes_timeout_seconds if timeout is None else timeout
    broker = runtime.broker
    declared: list[str] = []
    stage = "connecting"
    window = asyncio.timeout(timeout)
    try:
        if not runtime.consumers:
            return declared
        async with window:
            await broker.consuming.wait_connected()
            stage = "applying the inboxes' policies"
            await runtime.prepare_broker_node()
            for consumer in runtime.consumers:
                stage = f"declaring {broker.topology.inbox_queue(consumer.name)}"
                await consumer.declare()
                declared.append(broker.topology.inbox_queue(consumer.name))
    except TimeoutError:
        if not window.expired():  # a time-out of the client's own, not the wait's end
            raise
        address = urlsplit(settings.amqp_url)
        reason = broker.consuming.last_error if stage == "connecting" else None
        errors = "; ".join(f"{name}: {why}" for name, why in sorted(broker.declare_errors.items()))
        raise InboxesNotDeclared(
            f"gave up after {timeout:g} s {stage} on the broker at "
            f"{address.hostname}:{address.port or 5672}"
            + (f" ({reason or errors})" if reason or errors else " (no answer)")
        ) from None
    finally:
        await broker.close()
        await runtime.engine.dispose()
    node = runtime.node
    if node is not None and node.error:
        raise InboxesNotDeclared(
            f"declared {', '.join(declared)} but could not apply their policies with "
            f"{node.admin} ({node.error}); apply them otherwise (`sihha-dev broker-policies`) "
            "and run again with <PREFIX>_BROKER_ADMIN=none"
        )
    return declared


def declare_inboxes_main(settings: ServiceSettings, build: Callable[[], ServiceRuntime]) -> int:
    """`python -m <service> declare-inboxes`: build the service's runtime with its consumers
    (`build`, called in the event loop; nothing starts) and run `declare_inboxes` on it,
    with the service's logging. Returns the exit status: 0 once every inbox exists, 1 with
    an `inboxes.not_declared` log line saying why otherwise."""
    from sihha_kit.logs import configure_logging

    configure_logging(settings.service_name, settings.log_format, settings.log_level)

    async def main() -> int:
        try:
            runtime = build()
            declared = await declare_inboxes(runtime)
        except Exception as error:
            detail = str(error) if isinstance(error, InboxesNotDeclared) else repr(error)
            log.error("inboxes.not_declared", service=settings.service_name, error=detail[:1000])
            return 1
        node = runtime.node
        log.info(
            "inboxes.declared",
            service=settings.service_name,
            inboxes=declared,
            policies=(
                node.policies_applied
                if node is not None and node.admin != "none"
                else "left to the operator (broker_admin none: `sihha-dev broker-policies`)"
            ),
        )
        return 0

    return asyncio.run(main())
