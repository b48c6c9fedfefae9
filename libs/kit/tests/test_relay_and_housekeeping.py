"""The relay through aio-pika's public API (confirms, returns, a channel lost mid-batch),
the retention of the tables that grow, and the statement timeout of every connection."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import aio_pika
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text

from sihha_kit.broker_admin import Rabbitmqctl
from sihha_kit.consumer import EventConsumer
from sihha_kit.db import create_engine
from sihha_kit.outbox import wake_relays
from sihha_kit.retention import (
    CONFLICTS_RETENTION,
    INBOX_RETENTION,
    OUTBOX_RETENTION,
    Housekeeper,
    Retention,
)
from sihha_kit.runtime import ServiceRuntime, run_relay
from sihha_kit.settings import ServiceSettings
from sihha_kit.testing.messaging_rig import MIGRATIONS, Rig, build_rig
from sihha_kit.testing.servers import Servers
from sihha_kit.tracing import configure_tracing, tracer

pytestmark = pytest.mark.integration


@pytest.fixture
async def rig(
    make_database: Callable[[str], Awaitable[str]], servers: Servers, clean_broker_namespace: str
) -> AsyncIterator[Rig]:
    namespace = f"{clean_broker_namespace}{uuid.uuid4().hex[:6]}."
    rig = await build_rig(await make_database("kit"), servers, namespace)
    yield rig
    await rig.stop()


async def outbox_rows(rig: Rig) -> dict[str, dict[str, object]]:
    async with rig.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT routing_key, published_at, attempts, last_error FROM outbox")
        )
        return {row.routing_key: row._asdict() for row in rows}


async def add_outbox_row(rig: Rig, routing_key: str) -> None:
    async with rig.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO outbox (event_id, event_type, routing_key, body) "
                "VALUES (:id, :type, :key, :body)"
            ),
            {"id": uuid.uuid4(), "type": routing_key, "key": routing_key, "body": b"{}"},
        )


async def received(rig: Rig, queue_name: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    connection = await aio_pika.connect(rig.servers.amqp_url)
    found = []
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name)
        while (message := await queue.get(fail=False, timeout=5)) is not None:
            await message.ack()
            found.append(message)
    return found


async def test_the_relay_publishes_persistent_confirmed_messages_with_their_properties(
    rig: Rig,
) -> None:
    numbers = await rig.issue(30)
    assert await rig.relay.relay_once() == 30
    assert await rig.unpublished() == 0
    rig.start()
    assert sorted(await rig.wait_for_effects(30)) == sorted(numbers)


async def test_an_unroutable_event_is_postponed_not_lost_and_published_once_routable(
    rig: Rig,
) -> None:
    """Mandatory publishing: the broker returns a message no queue is bound for; its row
    waits with backoff (the others of the batch are sent) and goes once a queue binds."""
    await add_outbox_row(rig, "queue.nobody.listens")
    await rig.issue(2)
    await rig.relay.relay_once()
    rows = await outbox_rows(rig)
    lonely = rows.pop("queue.nobody.listens")
    assert lonely["published_at"] is None and lonely["attempts"] == 1
    assert "PublishError" in str(lonely["last_error"])
    assert all(row["published_at"] is not None for row in rows.values())

    sink = f"{rig.broker.topology.namespace}sink"
    connection = await aio_pika.connect(rig.servers.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(sink, durable=True)
        await queue.bind(rig.broker.topology.events_exchange("queue"), "queue.nobody.listens")
    async with rig.engine.begin() as db:
        await db.execute(text("UPDATE outbox SET next_attempt_at = now()"))
    await rig.relay.relay_once()
    assert (await outbox_rows(rig))["queue.nobody.listens"]["published_at"] is not None
    [message] = await received(rig, sink)
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.app_id == "queue" and message.content_type == "application/json"


async def test_a_channel_lost_mid_batch_postpones_the_batch_and_the_relay_recovers(
    rig: Rig,
) -> None:
    """The broker closes the relay's channel while it publishes (the exchange vanished:
    404): none of the batch is marked sent; the robust channel reopens, declares the
    exchange again, and the next round publishes them all, once."""
    numbers = await rig.issue(20)
    await rig.relay.relay_once()  # opens the channel and declares the exchange
    rig.start()
    await rig.wait_for_effects(20)
    rig.tasks[0].cancel()  # the relay task: we drive it by hand
    await asyncio.gather(rig.tasks[0], return_exceptions=True)

    more = await rig.issue(20)
    connection = await aio_pika.connect(rig.servers.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.exchange_delete(rig.broker.topology.events_exchange("queue"))
    assert await rig.relay.relay_once() == 20
    assert await rig.unpublished() == 20  # nothing marked sent for a lost channel
    async with rig.engine.begin() as db:
        await db.execute(text("UPDATE outbox SET next_attempt_at = now()"))
    # the consumer's bindings went with the exchange: restore them as a restart would
    rig.consumer._inbox_queue = None
    await rig.consumer.declare()
    for _ in range(50):
        if await rig.relay.relay_once() and await rig.unpublished() == 0:
            break
        await asyncio.sleep(0.2)
    assert await rig.unpublished() == 0
    assert sorted(await rig.wait_for_effects(40)) == sorted(numbers + more)


# -- retention ------------------------------------------------------------------------------


async def test_retention_deletes_old_rows_in_batches_and_keeps_recent_and_pending_ones(
    rig: Rig,
) -> None:
    async with rig.engine.begin() as db:
        for age_days, published in ((10, True), (10, False), (1, True)):
            await db.execute(
                text(
                    "INSERT INTO outbox (event_id, event_type, routing_key, body, created_at, "
                    "published_at) VALUES (:id, 't', 'k', '\\x7b7d', now() - make_interval("
                    "days => :age), CASE WHEN :published THEN now() - make_interval(days => "
                    ":age) END)"
                ),
                {"id": uuid.uuid4(), "age": age_days, "published": published},
            )
        for age_days in (40, 40, 40, 5):
            await db.execute(
                text(
                    "INSERT INTO inbox (consumer, event_id, event_type, received_at) "
                    "VALUES ('kittest', :id, 't', now() - make_interval(days => :age))"
                ),
                {"id": uuid.uuid4(), "age": age_days},
            )
    keeper = Housekeeper(rig.engine, "queue", batch=2)
    for retention in (OUTBOX_RETENTION, INBOX_RETENTION, CONFLICTS_RETENTION):
        keeper.register(retention)
    assert await keeper.purge() == {"outbox": 1, "inbox": 3, "inbox_conflicts": 0}
    async with rig.engine.connect() as db:
        left = (
            await db.execute(
                text(
                    "SELECT (SELECT count(*) FROM outbox), "
                    "(SELECT count(*) FROM outbox WHERE published_at IS NULL), "
                    "(SELECT count(*) FROM inbox)"
                )
            )
        ).one()
    assert tuple(left) == (2, 1, 1)  # the unpublished one stays, however old


@pytest.mark.parametrize("retention", [OUTBOX_RETENTION, INBOX_RETENTION, CONFLICTS_RETENTION])
async def test_each_retention_delete_is_served_by_its_index(rig: Rig, retention: Retention) -> None:
    """The planner can find the old rows through the table's index (sequential scans off,
    so that a table this small does not hide the answer): no whole-table scan every round."""
    async with rig.engine.begin() as db:
        await db.execute(text("SET LOCAL enable_seqscan = off"))
        plan = await db.scalar(
            text(f"EXPLAIN (FORMAT JSON) {retention.candidates_sql()}"),
            {"keep_seconds": 86400.0, "limit": 5000},
        )
    plan_text = json.dumps(plan)
    assert f'"Index Name": "{retention.index}"' in plan_text
    assert '"Node Type": "Seq Scan"' not in plan_text


def test_a_retention_names_only_plain_identifiers() -> None:
    with pytest.raises(ValueError, match="identifier"):
        Retention("outbox; DROP TABLE inbox", "published_at", timedelta(days=1), "x")


# -- statement timeout ----------------------------------------------------------------------


async def test_every_connection_has_a_statement_timeout(rig: Rig) -> None:
    async with rig.engine.connect() as db:
        assert await db.scalar(text("SHOW statement_timeout")) == "30s"
    rig.relay.statement_timeout_ms = 30_000
    relay_connection = await rig.relay._connection_for_claims()
    assert await relay_connection.fetchval("SHOW statement_timeout") == "30s"
    engine = create_engine(rig.database_url, 1, statement_timeout_seconds=2.5)
    try:
        async with engine.connect() as db:
            assert await db.scalar(text("SHOW statement_timeout")) == "2500ms"
    finally:
        await engine.dispose()


async def test_a_service_runtime_sets_the_timeout_and_reports_its_broker_in_readiness(
    make_database: Callable[[str], Awaitable[str]], servers: Servers, clean_broker_namespace: str
) -> None:
    namespace = f"{clean_broker_namespace}{uuid.uuid4().hex[:6]}."
    settings = ServiceSettings(
        service_name="kitsvc",
        database_url=await make_database("kitsvc"),
        amqp_url=servers.amqp_url,
        broker_namespace=namespace,
        database_statement_timeout_seconds=1.5,
    )
    runtime = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    await runtime.prepare()
    runtime.add_consumer(
        EventConsumer(
            "kitsvc",
            runtime.broker,
            runtime.sessions,
            bindings={"queue": ["queue.ticket.*"]},
            handlers={},
        )
    )
    runtime.start_background()
    try:
        for _ in range(300):
            report = await runtime.readiness()
            if report["consumers"] == {"kitsvc": "consuming"} and report["broker"] == "up":
                if "node" in report["broker_state"]:
                    break
            await asyncio.sleep(0.1)
        assert report["ready"] is True and report["database"] == "up"
        state = report["broker_state"]
        assert state["connections"]["publishing"] == {
            "name": "kitsvc@0.1.0 publishing",
            "connected": True,
        }
        assert state["connections"]["consuming"]["name"] == "kitsvc@0.1.0 consuming"
        assert state["version_supported"] is True and state["minimum_version"] == "3.10.0"
        if Rabbitmqctl.available():
            assert state["node"]["policies_applied"] == [f"sihha-inbox-{namespace}kitsvc.inbox"]
            assert state["node"]["at_least_once_dead_lettering"] is True
        async with runtime.engine.connect() as db:
            assert await db.scalar(text("SHOW statement_timeout")) == "1500ms"
        assert set(runtime.housekeeper.retentions) == {"outbox", "inbox", "inbox_conflicts"}
    finally:
        await runtime.stop()


async def test_a_relay_woken_as_it_is_cancelled_stops(rig: Rig) -> None:
    """A commit's wake-up and the service's stop in the same turn of the loop: the relay
    stops at once (with `asyncio.wait_for`, Python 3.11 returned the wake-up and dropped
    the cancellation, and every stopping service waited out its 5 s for the relay)."""
    relay = asyncio.create_task(rig.relay.run())
    await asyncio.sleep(1.0)  # connected, drained, waiting for a wake-up
    assert not relay.done()
    wake_relays()
    relay.cancel()
    done, _ = await asyncio.wait([relay], timeout=2.0)
    assert done and relay.cancelled()


async def test_a_relay_of_its_own_publishes_what_serving_processes_without_one_commit(
    rig: Rig, servers: Servers
) -> None:
    """`outbox_relay=separate`: the serving runtime runs no relay and budgets no connection
    for one; `run_relay` (what `python -m <service> relay` runs) publishes the rows
    committed before it started and while it runs, each once."""
    settings = ServiceSettings(
        service_name="queue",
        database_url=rig.database_url,
        amqp_url=servers.amqp_url,
        broker_namespace=rig.broker.topology.namespace,
        outbox_relay="separate",
        outbox_poll_seconds=0.2,
    )
    serving = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    with_relay = ServiceRuntime(
        settings.model_copy(update={"outbox_relay": "in-process"}), migrations_dir=MIGRATIONS
    )
    assert serving.relay_here is False and with_relay.relay_here is True
    assert serving.connection_budget == with_relay.connection_budget - 1
    await with_relay.stop()
    serving.start_background()
    rig.tasks.append(asyncio.create_task(rig.consumer.run()))  # the rig's consumer, no relay
    try:
        before = await rig.issue(5)
        await asyncio.sleep(1.0)
        assert await rig.unpublished() == 5  # the serving process publishes nothing
        assert (await serving.readiness())["outbox_backlog"] == 5
        stop = asyncio.Event()
        relay = asyncio.create_task(run_relay(settings, stop))
        try:
            assert sorted(await rig.wait_for_effects(5)) == sorted(before)
            during = await rig.issue(3)
            assert sorted(await rig.wait_for_effects(8)) == sorted(before + during)
        finally:
            stop.set()
            await asyncio.wait_for(relay, 15)
        assert await rig.unpublished() == 0
        await asyncio.sleep(0.5)
        assert len(await rig.effects()) == 8  # each once
    finally:
        await serving.stop()


async def test_the_relay_publishes_each_event_under_the_trace_context_stored_with_it(
    rig: Rig,
) -> None:
    """The aio-pika instrumentation makes the publish span; the relay runs it under the
    context of the request that wrote the row, so the message's `traceparent` header
    continues that request's trace (and the consumer continues the header's)."""
    spans = InMemorySpanExporter()
    configure_tracing("kit-tests", "0", extra_processor=SimpleSpanProcessor(spans))
    sink = f"{rig.broker.topology.namespace}traced"
    connection = await aio_pika.connect(rig.servers.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            rig.broker.topology.events_exchange("queue"), aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(sink, durable=True)
        await queue.bind(exchange, "queue.ticket.*")
    with tracer().start_as_current_span("POST /tickets") as request:
        await rig.issue(1)
    assert await rig.relay.relay_once() == 1
    [message] = await received(rig, sink)
    _, trace_id, span_id, _ = str(message.headers["traceparent"]).split("-")
    context = request.get_span_context()
    assert int(trace_id, 16) == context.trace_id
    assert int(span_id, 16) != context.span_id  # the publish span's own
    [publish] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    assert publish.parent is not None and publish.parent.span_id == context.span_id
    assert publish.context.span_id == int(span_id, 16)
