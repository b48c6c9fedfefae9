"""Idempotent event consumer (inbox pattern) over a quorum queue.

For each batch of deliveries the consumer, in ONE database transaction:
inserts `(consumer, event_id, producer, aggregate_id, sequence)` into the inbox
(`ON CONFLICT DO NOTHING`), runs the handler of every event that was new, and commits;
only then it acks. A redelivered event finds its inbox row and is acked without effect;
so is a copy under a new event id of an event already applied (same producer, aggregate
and sequence): that one is also recorded in `inbox_conflicts` and counted
(`sihha_consumer_conflicts`), for the IT unit.

What cannot be processed never blocks the queue:
- an undecodable body or a broken contract is rejected at once (no requeue)
  and the queue dead-letters it into `<consumer>.dead`;
- an event type/version this consumer does not know goes the same way, unless
  the consumer has an `unknown_handler` (the reporting archive keeps them);
- a handler that raises gets its message rejected with requeue; the quorum queue counts
  deliveries and dead-letters it after its delivery limit.

A batch whose transaction fails is retried one message at a time so that one
poison message does not hold back the valid ones delivered with it.

**A database that is unreachable is not a bad message.** A failure of the connection
itself (refused, closed, terminated by the server: `is_connection_lost`) makes the
consumer stop taking deliveries (`basic.cancel`), keep those it holds unacknowledged
(nothing is returned to the queue, so nothing counts toward the delivery limit), probe
the database with backoff (0.5 s doubling to 30 s) and, once it answers, process what it
holds and consume again. See docs/messaging.md for what each RabbitMQ version counts.

The consumer declares its topology until the broker accepts it (a refusal is logged and
shown in readiness, and retried) and consumes once: a restarted `run()` cancels its
previous consumer first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustQueue
from opentelemetry import trace
from sqlalchemy import Integer, String, bindparam, cast, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from structlog.contextvars import bound_contextvars

from sihha_contracts.catalogue import InvalidEvent, UnknownEvent, decode
from sihha_contracts.envelope import Envelope, EventPayload
from sihha_kit import metrics
from sihha_kit.broker import Broker, DeclareFailed
from sihha_kit.broker_admin import Policy, inbox_policy
from sihha_kit.db import is_connection_lost
from sihha_kit.logs import get_logger
from sihha_kit.messaging_schema import inbox, inbox_conflicts
from sihha_kit.tracing import context_from_traceparent, tracer

log = get_logger(__name__)

#: the inbox rows of a whole batch in one statement whose text never changes (compiled and
#: prepared once, whatever the batch size); returns the event ids that were not there yet
#: (neither the same event id nor the same producer, aggregate and sequence)
_fresh_rows = (
    func.unnest(
        cast(bindparam("event_ids"), ARRAY(PG_UUID(as_uuid=True))),
        cast(bindparam("event_types"), ARRAY(String)),
        cast(bindparam("producers"), ARRAY(String)),
        cast(bindparam("aggregate_ids"), ARRAY(String)),
        cast(bindparam("sequences"), ARRAY(Integer)),
    )
    .table_valued("event_id", "event_type", "producer", "aggregate_id", "sequence")
    .render_derived("fresh")
)
_INBOX_INSERT = (
    insert(inbox)
    .from_select(
        ["consumer", "event_id", "event_type", "producer", "aggregate_id", "sequence"],
        select(
            cast(bindparam("consumer"), String),
            _fresh_rows.c.event_id,
            _fresh_rows.c.event_type,
            _fresh_rows.c.producer,
            _fresh_rows.c.aggregate_id,
            _fresh_rows.c.sequence,
        ),
    )
    .on_conflict_do_nothing()
    .returning(inbox.c.event_id)
)

Handler = Callable[[Envelope, EventPayload, AsyncSession], Awaitable[None]]
UnknownHandler = Callable[[Envelope, AsyncSession], Awaitable[None]]
#: gets every fresh event of a batch at once (payload None: unknown type/version);
#: for consumers that write in bulk (the reporting archive and projections)
BatchHandler = Callable[[list[tuple[Envelope, EventPayload | None]], AsyncSession], Awaitable[None]]


class DatabaseUnavailable(Exception):
    """The consumer's database cannot be reached: wait for it, dead-letter nothing."""


@dataclass(eq=False)  # compared by identity: two deliveries of one event are two
class _Delivery:
    message: AbstractIncomingMessage
    envelope: Envelope
    payload: EventPayload | None  # None: unknown type/version, for the unknown handler


@dataclass(frozen=True)
class ConsumerStats:
    consumer: str
    queue_depth: int
    dead_letters: int
    last_occurred_at: datetime | None

    @property
    def lag_seconds(self) -> float | None:
        if self.last_occurred_at is None:
            return None
        return (datetime.now(UTC) - self.last_occurred_at).total_seconds()


class EventConsumer:
    #: a batch that fails with a connection error although the database answers at once,
    #: this many times in a row, is treated as the batch's own failure (a handler that
    #: raises ConnectionError itself must not hold the queue forever)
    MAX_FALSE_OUTAGES = 3

    def __init__(
        self,
        name: str,
        broker: Broker,
        sessions: async_sessionmaker[AsyncSession],
        *,
        bindings: dict[str, list[str]],
        handlers: dict[str, Handler],
        default_handler: Handler | None = None,
        unknown_handler: UnknownHandler | None = None,
        batch_handler: BatchHandler | None = None,
        accept_unknown: bool = False,
        prefetch: int = 256,
        batch_size: int = 128,
        delivery_limit: int = 5,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        self.name = name
        self.broker = broker
        self.sessions = sessions
        self.bindings = bindings
        self.handlers = handlers
        self.default_handler = default_handler
        self.unknown_handler = unknown_handler
        self.batch_handler = batch_handler
        #: keep unknown types/versions (for `batch_handler`) instead of dead-lettering them
        self.accept_unknown = accept_unknown or unknown_handler is not None
        self.prefetch = prefetch
        self.batch_size = batch_size
        #: failed deliveries before a message is dead-lettered (the inbox's policy)
        self.delivery_limit = delivery_limit
        self.max_backoff_seconds = max_backoff_seconds
        self._pending: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._channel: AbstractRobustChannel | None = None
        self._inbox_queue: AbstractRobustQueue | None = None
        self._dead_queue: AbstractRobustQueue | None = None
        self._probe_channel: AbstractRobustChannel | None = None
        self._consumer_tag: str | None = None
        self.last_occurred_at: datetime | None = None
        #: "starting", "declaring", "consuming", "waiting-for-database"
        self.state = "starting"

    def policy(self) -> Policy:
        """The broker policy of this consumer's inbox (delivery limit, dead-lettering)."""
        return inbox_policy(self.broker.topology, self.name, self.delivery_limit)

    # -- lifecycle ---------------------------------------------------------

    async def run(self) -> None:
        """Declare the topology, consume and process until cancelled."""
        await self.declare()
        await self._start_consuming()
        try:
            while True:
                batch = [await self._pending.get()]
                while len(batch) < self.batch_size and not self._pending.empty():
                    batch.append(self._pending.get_nowait())
                await self.process(batch)
        finally:
            # a restarted run() consumes again: never two consumers on the queue; the
            # deliveries still in `_pending` stay held and are processed by the next run
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5.0):
                    await self._stop_consuming()

    async def declare(self) -> None:
        """Declare the inbox and its dead-letter path, retrying with backoff (1 s doubling to
        30 s) while the broker refuses (each refusal is in the log and in readiness)."""
        delay = 1.0
        while self._inbox_queue is None:
            self.state = "declaring"
            try:
                (
                    self._channel,
                    self._inbox_queue,
                    self._dead_queue,
                ) = await self.broker.declare_inbox(
                    self.name, self.bindings, prefetch=self.prefetch
                )
            except DeclareFailed as error:
                log.error(
                    "consumer.declare_failed", consumer=self.name, error=str(error), retry_in=delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _start_consuming(self) -> None:
        assert self._inbox_queue is not None
        if self._consumer_tag is None:
            self._consumer_tag = await self._inbox_queue.consume(self._pending.put)
            log.info("consumer.started", consumer=self.name, queue=self._inbox_queue.name)
        self.state = "consuming"

    async def _stop_consuming(self) -> None:
        """basic.cancel: the broker sends nothing more; what was delivered stays held,
        unacknowledged (not returned to the queue)."""
        tag, self._consumer_tag = self._consumer_tag, None
        if tag is not None and self._inbox_queue is not None:
            await self._inbox_queue.cancel(tag)

    async def stats(self) -> ConsumerStats:
        """Depth of the inbox and dead-letter queues, as the broker counts them now (a
        passive declare on a channel of its own: aio-pika's robust channel would answer a
        passive declare of a queue it knows from its cache), and the lag."""
        topology = self.broker.topology
        if self._probe_channel is None or self._probe_channel.is_closed:
            connection = await self.broker.consuming.wait_connected()
            self._probe_channel = await connection.channel(publisher_confirms=False)
        probe = await self._probe_channel.get_underlay_channel()
        inbox_q = await probe.queue_declare(topology.inbox_queue(self.name), passive=True)
        dead_q = await probe.queue_declare(topology.dead_letter_queue(self.name), passive=True)
        depth = int(inbox_q.message_count or 0)
        dead = int(dead_q.message_count or 0)
        metrics.queue_depth.labels(self.name).set(depth)
        metrics.dead_letters.labels(self.name).set(dead)
        return ConsumerStats(self.name, depth, dead, self.last_occurred_at)

    # -- processing --------------------------------------------------------

    async def process(self, messages: list[AbstractIncomingMessage]) -> None:
        """Decode, apply and settle `messages`; while the database is unreachable, hold
        them and wait for it."""
        pending: list[_Delivery] = []
        for message in messages:
            delivery = await self._decode(message)
            if delivery is not None:
                pending.append(delivery)
        false_outages = 0
        while pending:
            try:
                await self._settle(
                    pending, trust_connection_errors=false_outages < self.MAX_FALSE_OUTAGES
                )
            except DatabaseUnavailable as outage:
                if await self._wait_for_database(outage):
                    false_outages = 0
                else:
                    false_outages += 1

    async def _settle(self, pending: list[_Delivery], *, trust_connection_errors: bool) -> None:
        """Commit and ack `pending`, or each alone when the batch fails; removes what it
        settled. Raises DatabaseUnavailable, leaving the unsettled ones in `pending`."""
        try:
            await self._commit(pending)
        except Exception as error:
            if trust_connection_errors and is_connection_lost(error):
                raise DatabaseUnavailable(f"{type(error).__name__}: {error}"[:300]) from error
            if len(pending) == 1:  # it failed alone: no need to try it again at once
                await self._requeue(pending.pop(), error)
                return
            log.warning(
                "consumer.batch_failed",
                consumer=self.name,
                size=len(pending),
                error=str(error)[:300],
            )
            for delivery in list(pending):
                try:
                    await self._commit([delivery])
                except Exception as single_error:
                    if trust_connection_errors and is_connection_lost(single_error):
                        raise DatabaseUnavailable(
                            f"{type(single_error).__name__}: {single_error}"[:300]
                        ) from single_error
                    await self._requeue(delivery, single_error)
                else:
                    await self._ack(delivery.message)
                pending.remove(delivery)
            return
        await self._ack_batch(pending)
        pending.clear()

    async def _wait_for_database(self, outage: DatabaseUnavailable) -> bool:
        """Stop consuming, wait until the database answers (backoff 0.5 s doubling to
        `max_backoff_seconds`), consume again. Returns False if it answered at the first
        probe (the connection error may not have been the database's)."""
        self.state = "waiting-for-database"
        metrics.consumer_database_unavailable.labels(self.name).set(1)
        log.warning("consumer.database_unavailable", consumer=self.name, error=str(outage))
        with contextlib.suppress(Exception):
            await self._stop_consuming()
        delay = 0.5
        probes = 0
        while True:
            await asyncio.sleep(delay)
            probes += 1
            if await self._database_answers():
                break
            delay = min(delay * 2, self.max_backoff_seconds)
        log.info("consumer.database_back", consumer=self.name, probes=probes)
        metrics.consumer_database_unavailable.labels(self.name).set(0)
        delay = 0.5
        while True:  # the broker may be away too: consume again as soon as it is back
            try:
                await self._start_consuming()
            except Exception as error:
                log.warning("consumer.resume_failed", consumer=self.name, error=str(error)[:300])
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_seconds)
            else:
                return probes > 1

    async def _database_answers(self) -> bool:
        try:
            async with asyncio.timeout(5.0), self.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def _decode(self, message: AbstractIncomingMessage) -> _Delivery | None:
        try:
            envelope, payload = decode(message.body)
        except InvalidEvent as error:
            await self._reject(message, "invalid", str(error))
            return None
        except UnknownEvent as unknown:
            if not self.accept_unknown:
                await self._reject(message, "unknown-version", str(unknown))
                return None
            return _Delivery(message, unknown.envelope, None)
        if message.message_id and message.message_id != str(envelope.event_id):
            await self._reject(message, "invalid", "AMQP message_id differs from event_id")
            return None
        return _Delivery(message, envelope, payload)

    async def _commit(self, deliveries: list[_Delivery]) -> None:
        async with self.sessions() as session, session.begin():
            inserted = await session.execute(
                _INBOX_INSERT,
                {
                    "consumer": self.name,
                    "event_ids": [d.envelope.event_id for d in deliveries],
                    "event_types": [d.envelope.event_type for d in deliveries],
                    "producers": [d.envelope.producer.name for d in deliveries],
                    "aggregate_ids": [d.envelope.aggregate_id for d in deliveries],
                    "sequences": [d.envelope.sequence for d in deliveries],
                },
            )
            fresh = set(inserted.scalars().all())
            new: list[_Delivery] = []
            skipped: list[_Delivery] = []
            for delivery in deliveries:
                envelope = delivery.envelope
                if envelope.event_id not in fresh:
                    skipped.append(delivery)
                    continue
                fresh.discard(envelope.event_id)  # the same event twice in one batch
                new.append(delivery)
            if skipped:
                await self._record_conflicts(skipped, session)
            if self.batch_handler is not None:
                await self._handle_batch(new, session)
            else:
                for delivery in new:
                    await self._handle(delivery, session)
        for delivery in deliveries:
            occurred_at = delivery.envelope.occurred_at
            if self.last_occurred_at is None or occurred_at > self.last_occurred_at:
                self.last_occurred_at = occurred_at
            metrics.consumer_processed.labels(self.name, delivery.envelope.event_type).inc()
        if self.last_occurred_at is not None:
            metrics.consumer_lag.labels(self.name).set(
                (datetime.now(UTC) - self.last_occurred_at).total_seconds()
            )

    async def _record_conflicts(self, skipped: list[_Delivery], session: AsyncSession) -> None:
        """Sort what the inbox refused: a redelivery (its event id is there: a duplicate)
        or a copy under a new event id of an event already applied (a conflict, recorded
        with the event it collides with). The rare path: only for refused rows."""
        known = set(
            (
                await session.execute(
                    select(inbox.c.event_id).where(
                        inbox.c.consumer == self.name,
                        inbox.c.event_id.in_([d.envelope.event_id for d in skipped]),
                    )
                )
            ).scalars()
        )
        for delivery in skipped:
            envelope = delivery.envelope
            if envelope.event_id in known:
                metrics.consumer_duplicates.labels(self.name).inc()
                continue
            kept = (
                await session.execute(
                    select(inbox.c.event_id, inbox.c.event_type).where(
                        inbox.c.consumer == self.name,
                        inbox.c.producer == envelope.producer.name,
                        inbox.c.aggregate_id == envelope.aggregate_id,
                        inbox.c.sequence == envelope.sequence,
                    )
                )
            ).first()
            await session.execute(
                inbox_conflicts.insert().values(
                    consumer=self.name,
                    event_id=envelope.event_id,
                    event_type=envelope.event_type,
                    producer=envelope.producer.name,
                    aggregate_id=envelope.aggregate_id,
                    sequence=envelope.sequence,
                    facility_id=envelope.facility_id,
                    kept_event_id=kept.event_id if kept else None,
                    kept_event_type=kept.event_type if kept else None,
                )
            )
            metrics.consumer_conflicts.labels(self.name).inc()
            log.warning(
                "consumer.event_conflict",
                consumer=self.name,
                event_id=str(envelope.event_id),
                event_type=envelope.event_type,
                aggregate_id=envelope.aggregate_id,
                sequence=envelope.sequence,
                kept_event_id=str(kept.event_id) if kept else None,
            )

    async def _handle(self, delivery: _Delivery, session: AsyncSession) -> None:
        envelope = delivery.envelope
        # the publish span's context (the relay published under the request's), else the
        # request's own, stored in the envelope
        parent = context_from_traceparent(
            _header(delivery.message, "traceparent") or envelope.traceparent
        )
        with (
            tracer().start_as_current_span(
                f"consume {envelope.event_type}",
                context=parent,
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "rabbitmq",
                    "messaging.message.id": str(envelope.event_id),
                    "sihha.consumer": self.name,
                },
            ),
            bound_contextvars(event_id=str(envelope.event_id), facility_id=envelope.facility_id),
        ):
            if delivery.payload is None:
                assert self.unknown_handler is not None
                await self.unknown_handler(envelope, session)
                return
            handler = self.handlers.get(envelope.event_type, self.default_handler)
            if handler is not None:
                await handler(envelope, delivery.payload, session)

    async def _handle_batch(self, deliveries: list[_Delivery], session: AsyncSession) -> None:
        assert self.batch_handler is not None
        if not deliveries:
            return
        links = [
            trace.Link(span_context)
            for d in deliveries
            if (
                context := context_from_traceparent(
                    _header(d.message, "traceparent") or d.envelope.traceparent
                )
            )
            is not None
            and (span_context := trace.get_current_span(context).get_span_context()).is_valid
        ]
        with tracer().start_as_current_span(
            f"consume batch {self.name}",
            kind=trace.SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.batch.message_count": len(deliveries),
                "sihha.consumer": self.name,
            },
        ):
            await self.batch_handler([(d.envelope, d.payload) for d in deliveries], session)

    # -- acknowledgements ---------------------------------------------------

    async def _ack(self, message: AbstractIncomingMessage) -> None:
        # a failed ack (channel lost) means a redelivery, which the inbox absorbs
        with contextlib.suppress(Exception):
            await message.ack()

    async def _ack_batch(self, deliveries: list[_Delivery]) -> None:
        """Ack a committed batch with one `multiple` ack of its last delivery.

        Exact, not a shortcut: deliveries reach `_pending` in delivery-tag order and batches
        are processed one at a time, so on that channel every earlier tag is already settled
        (acked, rejected or requeued by an earlier batch, or rejected while decoding this
        one) except this batch's. Deliveries from a channel lost since then cannot be acked
        (their channel is closed) and come back, as with single acks; the inbox absorbs them.
        """
        with contextlib.suppress(Exception):  # a failed ack means a redelivery, as in `_ack`
            await deliveries[-1].message.ack(multiple=True)

    async def _reject(self, message: AbstractIncomingMessage, reason: str, detail: str) -> None:
        metrics.consumer_rejected.labels(self.name, reason).inc()
        log.warning(
            "consumer.dead_lettered",
            consumer=self.name,
            reason=reason,
            message_id=message.message_id,
            detail=detail[:300],
        )
        with contextlib.suppress(Exception):
            await message.reject(requeue=False)

    async def _requeue(self, delivery: _Delivery, error: BaseException) -> None:
        deliveries = _delivery_count(delivery.message)
        reason = "handler-failed"
        metrics.consumer_rejected.labels(self.name, reason).inc()
        log.error(
            "consumer.handler_failed",
            consumer=self.name,
            event_id=str(delivery.envelope.event_id),
            event_type=delivery.envelope.event_type,
            delivery=deliveries + 1,
            delivery_limit=self.delivery_limit,
            error=f"{type(error).__name__}: {error}"[:300],
        )
        # basic.reject, not nack: RabbitMQ 4.3+ counts only a reject toward the delivery
        # limit (every version before counts both)
        with contextlib.suppress(Exception):
            await delivery.message.reject(requeue=True)


async def recent_conflicts(
    executor: AsyncSession | AsyncConnection, *, limit: int = 20
) -> tuple[int, list[dict[str, Any]]]:
    """(how many conflicts the inbox keeps, the newest `limit` of them): copies of an
    applied event under another event id, each with the event it collided with. For the
    IT unit's monitor; ids, types, establishment and times only, never a payload.

    One statement (the total is a window count, taken before the limit): counted and
    listed apart, a conflict committed between the two was listed but not counted."""
    rows = (
        await executor.execute(
            select(
                inbox_conflicts.c.consumer,
                inbox_conflicts.c.event_id,
                inbox_conflicts.c.event_type,
                inbox_conflicts.c.producer,
                inbox_conflicts.c.aggregate_id,
                inbox_conflicts.c.sequence,
                inbox_conflicts.c.facility_id,
                inbox_conflicts.c.kept_event_id,
                inbox_conflicts.c.kept_event_type,
                inbox_conflicts.c.received_at,
                func.count().over().label("total"),
            )
            .order_by(inbox_conflicts.c.id.desc())
            .limit(limit)
        )
    ).all()
    total = int(rows[0].total) if rows else 0
    listed = [{k: v for k, v in row._mapping.items() if k != "total"} for row in rows]
    return total, listed


def _header(message: AbstractIncomingMessage, name: str) -> str | None:
    value: Any = (message.headers or {}).get(name)
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None


def _delivery_count(message: AbstractIncomingMessage) -> int:
    value = (message.headers or {}).get("x-delivery-count", 0)
    return int(value) if isinstance(value, int | str) else 0


__all__ = [
    "BatchHandler",
    "ConsumerStats",
    "DatabaseUnavailable",
    "EventConsumer",
    "Handler",
    "UnknownHandler",
    "recent_conflicts",
]
