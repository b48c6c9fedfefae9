"""A miniature service for the messaging tests and benchmarks: one database, one
outbox relay, one consumer whose handler writes an `effects` row per event it applies.

It uses the kit's real pieces (unit of work, outbox, relay, broker, consumer) on the
real PostgreSQL and RabbitMQ; only the domain is a stand-in."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sihha_contracts.envelope import Envelope, EventPayload, Producer
from sihha_contracts.events.queue import TicketIssuedV1
from sihha_kit.broker import Broker, Topology
from sihha_kit.broker_admin import NodeReport, Rabbitmqctl, prepare_node
from sihha_kit.consumer import EventConsumer
from sihha_kit.db import Executor, create_engine, migrate, session_factory
from sihha_kit.domain import Aggregate
from sihha_kit.outbox import OutboxRelay
from sihha_kit.testing.servers import Servers
from sihha_kit.uow import Repository, SqlUnitOfWork

MIGRATIONS = Path(__file__).parent / "rig_migrations"
_numbers = itertools.count(1)


@dataclass(kw_only=True)
class FakeTicket(Aggregate):
    """An aggregate that records one real contract event per `issue()`."""

    ticket_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def issue(self) -> str:
        number = f"MG-{next(_numbers) % 100000:03d}"
        self.record(
            TicketIssuedV1(
                ticket_id=self.ticket_id,
                visit_id=uuid.uuid4(),
                service_code="MG",
                ticket_number=number,
                service_day=date(2026, 11, 25),
            ),
            facility_id="31-PC-001",
            aggregate_id=str(self.ticket_id),
            at=datetime.now(UTC),
        )
        return number


class FakeTickets(Repository):
    """The rig's repository: it writes nothing of its own, it only takes tickets in, so
    that the unit of work collects their events."""

    def add(self, ticket: FakeTicket) -> None:
        self.track(ticket)


class RigUnitOfWork(SqlUnitOfWork):
    tickets: FakeTickets

    def open_repositories(self, session: Executor) -> None:
        self.tickets = FakeTickets(session)


@dataclass
class Rig:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    database_url: str
    broker: Broker
    consumer_broker: Broker
    relay: OutboxRelay
    consumer: EventConsumer
    producer: Producer
    servers: Servers
    node: NodeReport | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def uow(self) -> RigUnitOfWork:
        return RigUnitOfWork(self.sessions, self.producer)

    async def issue(self, count: int) -> list[str]:
        numbers = []
        for _ in range(count):
            async with self.uow() as uow:
                ticket = FakeTicket()
                numbers.append(ticket.issue())
                uow.tickets.add(ticket)
                await uow.commit()
        return numbers

    async def effects(self) -> list[str]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(text("SELECT ticket_number FROM effects ORDER BY id"))
            return [row[0] for row in rows]

    async def unpublished(self) -> int:
        async with self.engine.connect() as connection:
            value = await connection.scalar(
                text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            )
            return int(value or 0)

    async def wait_for_effects(self, count: int, timeout: float = 30.0) -> list[str]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await self.effects()
            if len(found) >= count or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.1)

    def start(self) -> None:
        self.tasks.append(asyncio.create_task(self.relay.run()))
        self.tasks.append(asyncio.create_task(self.consumer.run()))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        await self.broker.close()
        if self.consumer_broker is not self.broker:
            await self.consumer_broker.close()
        await self.engine.dispose()


async def record_effect(envelope: Envelope, payload: EventPayload, session: AsyncSession) -> None:
    assert isinstance(payload, TicketIssuedV1)
    if payload.service_code == "ZZ":  # the tests' poison: a handler that always fails
        raise RuntimeError("poison event")
    await session.execute(
        text("INSERT INTO effects (event_id, ticket_number) VALUES (:id, :n)"),
        {"id": envelope.event_id, "n": payload.ticket_number},
    )


async def build_rig(
    database_url: str,
    servers: Servers,
    namespace: str,
    *,
    batch_size: int = 20,
    prefetch: int = 50,
    delivery_limit: int = 3,
    relay_batch: int = 200,
    declare: bool = True,
    shared_broker: bool = False,
    statement_timeout_seconds: float | None = 30.0,
) -> Rig:
    """Migrate `database_url` and wire a relay and a consumer under `namespace`; apply the
    consumer's inbox policy (rabbitmqctl) and, with `declare`, declare its topology."""
    await asyncio.to_thread(migrate, database_url, MIGRATIONS)
    engine = create_engine(
        database_url, pool_size=5, statement_timeout_seconds=statement_timeout_seconds
    )
    sessions = session_factory(engine)
    broker = Broker(
        servers.amqp_url,
        Topology(namespace),
        client_name=f"rig-{namespace}" if shared_broker else "rig-producer",
    )
    consumer_broker = (
        broker
        if shared_broker  # one process's broker, as in a service
        else Broker(servers.amqp_url, Topology(namespace), client_name="rig-consumer")
    )
    relay = OutboxRelay(
        engine, database_url, broker, "queue", batch_size=relay_batch, poll_seconds=0.5
    )
    consumer = EventConsumer(
        "kittest",
        consumer_broker,
        sessions,
        bindings={"queue": ["queue.ticket.*"]},
        handlers={"queue.ticket.issued": record_effect},
        prefetch=prefetch,
        batch_size=batch_size,
        delivery_limit=delivery_limit,
    )
    rig = Rig(
        engine,
        sessions,
        database_url,
        broker,
        consumer_broker,
        relay,
        consumer,
        Producer(name="queue", version="test"),
        servers,
    )
    rig.node = await prepare_node(
        Rabbitmqctl() if Rabbitmqctl.available() else None, servers.amqp_url, [consumer.policy()]
    )
    if declare:
        await consumer.declare()
    return rig
