"""Idempotent event consumer (inbox pattern) over a quorum queue.

For each batch of deliveries the consumer, in ONE database transaction:
inserts `(consumer, event_id)` into the inbox (`ON CONFLICT DO NOTHING`), runs
the handler of every event that was new, and commits; only then it acks.
A redelivered event finds its inbox row and is acked without effect.

What cannot be processed never blocks the queue:
- an undecodable body or a broken contract is rejected at once (no requeue)
  and the queue dead-letters it into `<consumer>.dead`;
- an event type/version this consumer does not know goes the same way, unless
  the consumer has an `unknown_handler` (the reporting archive keeps them);
- a handler that raises gets its message requeued; the quorum queue counts
  deliveries and dead-letters it after `x-delivery-limit`.

A batch whose transaction fails is retried one message at a time so that one
poison message does not hold back the valid ones delivered with it.
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
from sqlalchemy import String, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.contextvars import bound_contextvars

from sihha_contracts.catalogue import InvalidEvent, UnknownEvent, decode
from sihha_contracts.envelope import Envelope, EventPayload
from sihha_kit import metrics
from sihha_kit.broker import Broker
from sihha_kit.logs import get_logger
from sihha_kit.messaging_schema import inbox
from sihha_kit.tracing import context_from_traceparent, tracer

log = get_logger(__name__)

#: the inbox rows of a whole batch in one statement whose text never changes (compiled and
#: prepared once, whatever the batch size); returns the event ids that were not there yet
_fresh_rows = (
    func.unnest(
        cast(bindparam("event_ids"), ARRAY(PG_UUID(as_uuid=True))),
        cast(bindparam("event_types"), ARRAY(String)),
    )
    .table_valued("event_id", "event_type")
    .render_derived("fresh")
)
_INBOX_INSERT = (
    insert(inbox)
    .from_select(
        ["consumer", "event_id", "event_type"],
        select(
            cast(bindparam("consumer"), String), _fresh_rows.c.event_id, _fresh_rows.c.event_type
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


@dataclass
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
        self.delivery_limit = delivery_limit
        self._pending: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._channel: AbstractRobustChannel | None = None
        self._inbox_queue: AbstractRobustQueue | None = None
        self._dead_queue: AbstractRobustQueue | None = None
        self._worker: asyncio.Task[None] | None = None
        self.last_occurred_at: datetime | None = None

    # -- lifecycle ---------------------------------------------------------

    async def run(self) -> None:
        """Declare the topology, consume and process until cancelled."""
        await self.declare()
        assert self._inbox_queue is not None
        await self._inbox_queue.consume(self._pending.put)
        log.info("consumer.started", consumer=self.name, queue=self._inbox_queue.name)
        while True:
            batch = [await self._pending.get()]
            while len(batch) < self.batch_size and not self._pending.empty():
                batch.append(self._pending.get_nowait())
            await self.process(batch)

    async def declare(self) -> None:
        if self._channel is None:
            self._channel = await self.broker.channel(
                publisher_confirms=False, prefetch=self.prefetch
            )
            self._inbox_queue, self._dead_queue = await self.broker.declare_inbox(
                self._channel, self.name, self.bindings, self.delivery_limit
            )

    async def stats(self) -> ConsumerStats:
        """Depth of the inbox and dead-letter queues (passive declares) and the lag."""
        await self.declare()
        assert self._channel is not None
        topology = self.broker.topology
        inbox_q = await self._channel.declare_queue(topology.inbox_queue(self.name), passive=True)
        dead_q = await self._channel.declare_queue(
            topology.dead_letter_queue(self.name), passive=True
        )
        depth = inbox_q.declaration_result.message_count or 0
        dead = dead_q.declaration_result.message_count or 0
        metrics.queue_depth.labels(self.name).set(depth)
        metrics.dead_letters.labels(self.name).set(dead)
        return ConsumerStats(self.name, depth, dead, self.last_occurred_at)

    # -- processing --------------------------------------------------------

    async def process(self, messages: list[AbstractIncomingMessage]) -> None:
        deliveries: list[_Delivery] = []
        for message in messages:
            delivery = await self._decode(message)
            if delivery is not None:
                deliveries.append(delivery)
        if not deliveries:
            return
        try:
            await self._commit(deliveries)
        except Exception as error:
            if len(deliveries) == 1:
                await self._requeue(deliveries[0], error)
                return
            log.warning(
                "consumer.batch_failed",
                consumer=self.name,
                size=len(deliveries),
                error=str(error)[:300],
            )
            for delivery in deliveries:
                try:
                    await self._commit([delivery])
                except Exception as single_error:
                    await self._requeue(delivery, single_error)
                else:
                    await self._ack(delivery.message)
            return
        await self._ack_batch(deliveries)

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
                },
            )
            fresh = set(inserted.scalars().all())
            new: list[_Delivery] = []
            for delivery in deliveries:
                envelope = delivery.envelope
                if envelope.event_id not in fresh:
                    metrics.consumer_duplicates.labels(self.name).inc()
                    continue
                fresh.discard(envelope.event_id)  # the same event twice in one batch
                new.append(delivery)
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

    async def _handle(self, delivery: _Delivery, session: AsyncSession) -> None:
        envelope = delivery.envelope
        parent = context_from_traceparent(
            envelope.traceparent or _header(delivery.message, "traceparent")
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
            if (context := context_from_traceparent(d.envelope.traceparent)) is not None
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
        with contextlib.suppress(Exception):
            await delivery.message.nack(requeue=True)


def _header(message: AbstractIncomingMessage, name: str) -> str | None:
    value: Any = (message.headers or {}).get(name)
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None


def _delivery_count(message: AbstractIncomingMessage) -> int:
    value = (message.headers or {}).get("x-delivery-count", 0)
    return int(value) if isinstance(value, int | str) else 0


__all__ = ["BatchHandler", "ConsumerStats", "EventConsumer", "Handler", "UnknownHandler"]
