"""Transactional outbox: events are rows written with the state change, then relayed.

`Outbox.add` turns recorded domain events into envelopes and inserts them in
the caller's transaction; nothing reaches the broker unless that transaction
commits. `OutboxRelay` publishes committed rows (persistent, mandatory,
publisher confirms) and marks a row sent only after the broker's confirm.

Several relay replicas can run: each claims a batch with
`FOR UPDATE SKIP LOCKED`. A commit that wrote outbox rows wakes the relays of its
own process at once (`wake_relays`); every relay also polls (`poll_seconds`), which
is how rows committed by another process (another replica, a script) are found.
While the broker is away the relay waits; the service keeps writing rows.

The wake-up was once a NOTIFY sent by a trigger on the outbox. PostgreSQL serialises
the commits of transactions that NOTIFY (a database-wide lock held until the commit is
flushed), so every transaction that wrote an event committed alone: with 16 clients
issuing tickets, dropping the trigger doubled the database's throughput (2,300 →
4,900 tickets/s) and cut its CPU per ticket by a third (bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import aio_pika
import asyncpg
from opentelemetry import context as otel_context
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sihha_contracts.envelope import Envelope, Producer
from sihha_kit import metrics
from sihha_kit.broker import Broker
from sihha_kit.db import Executor, asyncpg_dsn
from sihha_kit.domain import RecordedEvent
from sihha_kit.logs import get_logger
from sihha_kit.messaging_schema import outbox
from sihha_kit.tracing import context_from_traceparent, current_traceparent

log = get_logger(__name__)

#: the wake-up events of the relays running in this process
_running: set[asyncio.Event] = set()


def wake_relays() -> None:
    """Tell this process's relays that outbox rows were just committed. Call it after
    the commit: a relay woken before would not see the rows yet."""
    for wake in _running:
        wake.set()


def build_envelope(
    event: RecordedEvent,
    producer: Producer,
    *,
    correlation_id: UUID | None = None,
    causation_id: UUID | None = None,
    traceparent: str | None = None,
    event_id: UUID | None = None,
    recorded_at: datetime | None = None,
) -> Envelope:
    event_id = event_id or uuid4()
    return Envelope(
        event_id=event_id,
        event_type=event.payload.event_type,
        schema_version=event.payload.schema_version,
        occurred_at=event.occurred_at,
        recorded_at=recorded_at or datetime.now(UTC),
        producer=producer,
        facility_id=event.facility_id,
        aggregate_id=event.aggregate_id,
        sequence=event.sequence,
        correlation_id=correlation_id or event_id,
        causation_id=causation_id,
        traceparent=traceparent,
        payload=event.payload.model_dump(mode="json"),
    )


#: built once: a statement made per call costs its cache key on every commit
_INSERT = insert(outbox)


class Outbox:
    """Writes events into the outbox table inside the caller's session/transaction."""

    def __init__(self, session: Executor, producer: Producer) -> None:
        self.session = session
        self.producer = producer

    async def add(
        self,
        events: Sequence[RecordedEvent],
        *,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> list[Envelope]:
        if not events:
            return []
        traceparent = current_traceparent()
        envelopes = [
            build_envelope(
                event,
                self.producer,
                correlation_id=correlation_id,
                causation_id=causation_id,
                traceparent=traceparent,
            )
            for event in events
        ]
        rows = [
            {
                "event_id": envelope.event_id,
                "event_type": envelope.event_type,
                "routing_key": envelope.routing_key,
                "body": envelope.model_dump_json().encode(),
                "traceparent": traceparent,
            }
            for envelope in envelopes
        ]
        # one event (most commits): a plain execution, not SQLAlchemy's executemany path
        await self.session.execute(_INSERT, rows[0] if len(rows) == 1 else rows)
        return envelopes


#: the relay's statements (asyncpg placeholders): claim due rows, skipping those another
#: relay holds; mark the confirmed ones sent; postpone one that failed
_CLAIM = """
SELECT id, event_id, event_type, routing_key, body, traceparent, attempts
FROM outbox
WHERE published_at IS NULL AND next_attempt_at <= now()
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
_MARK_SENT = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"
_POSTPONE = """
UPDATE outbox SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1
"""


def retry_delay(attempts: int) -> timedelta:
    """Backoff for a row whose publication failed: 0.5 s doubling, at most 30 s."""
    return timedelta(seconds=min(0.5 * 2 ** max(attempts - 1, 0), 30.0))


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        database_url: str,
        broker: Broker,
        service: str,
        *,
        batch_size: int = 500,
        poll_seconds: float = 2.0,
        publish_timeout: float = 10.0,
        coalesce_seconds: float = 0.015,
        statement_timeout_ms: int | None = None,
    ) -> None:
        self.engine = engine
        self.database_url = database_url
        self.broker = broker
        self.service = service
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.publish_timeout = publish_timeout
        self.coalesce_seconds = coalesce_seconds
        self.statement_timeout_ms = statement_timeout_ms
        self._wake = asyncio.Event()
        self._channel: aio_pika.abc.AbstractRobustChannel | None = None
        self._exchange: aio_pika.abc.AbstractRobustExchange | None = None
        self._claims: asyncpg.Connection | None = None
        self._last_gauge = 0.0

    # -- the loop ----------------------------------------------------------

    async def run(self) -> None:
        """Relay forever (cancel the task to stop)."""
        _running.add(self._wake)
        try:
            while True:
                if not self.broker.publishing.is_connected:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await self.broker.publishing.wait_connected(timeout=self.poll_seconds)
                    continue
                # cleared before the claim: a commit the claim does not see notifies
                # after this point, so its wake-up is kept for the next round
                self._wake.clear()
                try:
                    claimed = await self.relay_once()
                except (OSError, asyncpg.PostgresError, ConnectionError) as error:
                    log.warning("outbox.database_unavailable", error=str(error))
                    await self._drop_connection()
                    await asyncio.sleep(self.poll_seconds)
                    continue
                await self._refresh_gauge()
                if claimed < self.batch_size:  # the backlog is drained: wait for a commit
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                    # cancellation that arrives as the event is set (a commit's wake-up at
                    # shutdown), and the relay outlived its service's stop
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.poll_seconds):
                            await self._wake.wait()
                    # let the commits of the next few milliseconds join this batch:
                    # one claim and one publish round for many events, not one each
                    await asyncio.sleep(self.coalesce_seconds)
        finally:
            _running.discard(self._wake)
            await self._drop_connection()

    async def relay_once(self) -> int:
        """Claim one batch of due rows, publish them, mark the confirmed ones sent.

        Returns how many rows were claimed (published or postponed). The claim, the
        publications and the marks share one transaction on the relay's own connection,
        so another replica's relay skips these rows until it ends.
        """
        exchange = await self._events_exchange()
        connection = await self._connection_for_claims()
        async with connection.transaction():
            rows = await connection.fetch(_CLAIM, self.batch_size)
            if not rows:
                return 0
            results = await self._publish(exchange, rows)
            confirmed = [
                row["id"]
                for row, result in zip(rows, results, strict=True)
                if not isinstance(result, BaseException)
            ]
            failed = [
                (row, result)
                for row, result in zip(rows, results, strict=True)
                if isinstance(result, BaseException)
            ]
            if confirmed:
                await connection.execute(_MARK_SENT, confirmed)
            await self._postpone(connection, failed)
        metrics.outbox_published.labels(self.service).inc(len(confirmed))
        return len(rows)

    async def _publish(
        self, exchange: aio_pika.abc.AbstractRobustExchange, rows: Sequence[Any]
    ) -> list[BaseException | None]:
        """Publish every row at once (each `Exchange.publish` awaits its own confirm) and
        wait for all the confirms together, at most `publish_timeout` seconds. Per row:
        None if the broker confirmed it, else why not (a nack, a return of an unroutable
        message, the channel lost, the timeout)."""
        publications = [asyncio.ensure_future(self._publish_one(exchange, row)) for row in rows]
        _, pending = await asyncio.wait(publications, timeout=self.publish_timeout)
        results: list[BaseException | None] = []
        for publication in publications:
            if publication in pending:
                publication.cancel()
                results.append(TimeoutError("no confirm from the broker in time"))
            elif publication.cancelled():
                results.append(asyncio.CancelledError("the publication was cancelled"))
            else:
                results.append(publication.exception())
        if pending:
            await asyncio.wait(pending)  # let the cancellations finish
        return results

    async def _publish_one(self, exchange: aio_pika.abc.AbstractRobustExchange, row: Any) -> None:
        """One row, published under the trace context stored with it: the producer span
        (opentelemetry-instrumentation-aio-pika) continues the request that wrote it."""
        message = aio_pika.Message(
            row["body"],
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(row["event_id"]),
            type=row["event_type"],
            app_id=self.service,
            headers={},
        )
        stored = context_from_traceparent(row["traceparent"])
        token = otel_context.attach(stored) if stored is not None else None
        try:
            # the channel confirms and raises on returns: Basic.Ack, or DeliveryError (a
            # nack), PublishError (unroutable), a channel or connection error
            await exchange.publish(message, routing_key=row["routing_key"], mandatory=True)
        finally:
            if token is not None:
                otel_context.detach(token)

    async def _postpone(
        self, connection: asyncpg.Connection, failed: list[tuple[Any, BaseException]]
    ) -> None:
        for row, error in failed:
            reason = type(error).__name__
            metrics.outbox_publish_failures.labels(self.service, reason).inc()
            log.warning(
                "outbox.publish_failed",
                event_id=str(row["event_id"]),
                reason=reason,
                error=str(error)[:200],
                attempts=row["attempts"] + 1,
            )
            await connection.execute(
                _POSTPONE,
                row["id"],
                row["attempts"] + 1,
                datetime.now(UTC) + retry_delay(row["attempts"] + 1),
                f"{reason}: {error}"[:500],
            )

    async def _connection_for_claims(self) -> asyncpg.Connection:
        """The relay's own connection: three constant statements, prepared once, none of
        the pool's or SQLAlchemy's work per batch (that was most of a small batch's CPU)."""
        if self._claims is None or self._claims.is_closed():
            settings = (
                {"statement_timeout": str(self.statement_timeout_ms)}
                if self.statement_timeout_ms
                else None
            )
            self._claims = await asyncpg.connect(
                asyncpg_dsn(self.database_url), server_settings=settings
            )
        return self._claims

    async def _drop_connection(self) -> None:
        if self._claims is not None:
            with contextlib.suppress(Exception):
                await self._claims.close()
        self._claims = None

    async def _events_exchange(self) -> aio_pika.abc.AbstractRobustExchange:
        if self._exchange is None:
            self._channel = await self.broker.publishing_channel()
            self._exchange = await self.broker.declare_events_exchange(self._channel, self.service)
        return self._exchange

    # -- backlog gauge ------------------------------------------------------

    async def backlog(self) -> int:
        async with self.engine.connect() as connection:
            value = await connection.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        return int(value or 0)

    async def _refresh_gauge(self) -> None:
        now = time.monotonic()
        if now - self._last_gauge < 5.0:
            return
        self._last_gauge = now
        metrics.outbox_backlog.labels(self.service).set(await self.backlog())
