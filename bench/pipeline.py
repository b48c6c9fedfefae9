"""(b) The same N events through the kit: outbox → relay → broker → consumer → inbox + effect.

The outbox of a fresh database is pre-filled with N real `queue.ticket.issued`
events through the kit's unit of work (large transactions, not timed). Then the
miniature service of `sihha_kit.testing.messaging_rig` starts its relay and its
consumer, and the clock runs until the N-th effect row is committed. The
database and the broker namespace are this run's own and are removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from bench.cleanup import delete_broker_names
from bench.config import BenchConfig
from sihha_kit import metrics
from sihha_kit.broker import Topology
from sihha_kit.db import asyncpg_dsn, drop_database, ensure_database
from sihha_kit.settings import ServiceSettings
from sihha_kit.testing.messaging_rig import FakeTicket, Rig, build_rig
from sihha_kit.testing.servers import BrokerControl, Servers

#: the rig's names (see `build_rig`)
PRODUCER = "queue"
CONSUMER = "kittest"
EVENT_TYPE = "queue.ticket.issued"


def _service_default(name: str) -> int:
    default = ServiceSettings.model_fields[name].default
    assert isinstance(default, int)
    return default


@dataclass(frozen=True)
class PipelineSettings:
    """The knobs of the kit under test: by default what a service runs with (`ServiceSettings`)."""

    relay_batch: int = field(default_factory=lambda: _service_default("outbox_batch_size"))
    consumer_batch: int = field(default_factory=lambda: _service_default("consumer_batch_size"))
    prefetch: int = field(default_factory=lambda: _service_default("consumer_prefetch"))
    #: the relay in a process of its own (`bench.relay_process`), the consumer in this one
    relay_process: bool = False


@dataclass(frozen=True)
class PipelineResult:
    n: int
    settings: PipelineSettings
    fill_seconds: float
    seconds: float
    #: when the relay had every row confirmed, from the start
    relay_seconds: float | None
    #: CPU time of this process (relay + consumer + the clock's polling) while timed
    cpu_seconds: float
    #: publications that failed and were retried (a broker outage or cut connections during
    #: the run: the figure is then not a fair one, though no event was lost or doubled)
    publish_failures: int = 0
    #: CPU time of the relay's own process (`relay_process`), included in `cpu_seconds`
    relay_cpu_seconds: float | None = None

    @property
    def rate(self) -> float:
        return self.n / self.seconds

    @property
    def cpu_us_per_event(self) -> float:
        """Less sensitive than the rate to what else runs on the machine."""
        return self.cpu_seconds / self.n * 1e6

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate, "cpu_us_per_event": self.cpu_us_per_event}


async def fill_outbox(rig: Rig, n: int, *, per_transaction: int = 2000) -> None:
    """Write n events into the outbox through the unit of work, many per transaction."""
    written = 0
    while written < n:
        size = min(per_transaction, n - written)
        async with rig.uow() as uow:
            for _ in range(size):
                ticket = FakeTicket()
                ticket.issue()
                uow.tickets.add(ticket)
            await uow.commit()
        written += size


def _processed() -> float:
    value = metrics.REGISTRY.get_sample_value(
        "sihha_consumer_processed_total", {"consumer": CONSUMER, "event_type": EVENT_TYPE}
    )
    return value or 0.0


def _publish_failures() -> float:
    return sum(
        sample.value
        for metric in metrics.outbox_publish_failures.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("service") == PRODUCER
    )


def _published() -> float:
    value = metrics.REGISTRY.get_sample_value("sihha_outbox_published_total", {"service": PRODUCER})
    return value or 0.0


async def _wait_for_effects(
    rig: Rig, n: int, *, started: float, timeout: float
) -> tuple[float, float | None]:
    """Seconds from `started` until n effects are committed, and until all n were confirmed.

    Polls the consumer's and the relay's counters in process (cheap, 5 ms), then makes
    sure with one count of the effects table (a commit is counted after it happens)."""
    processed_before, published_before = _processed(), _published()
    relay_seconds: float | None = None
    deadline = started + timeout
    connection = await asyncpg.connect(asyncpg_dsn(rig.database_url))
    try:
        while True:
            now = time.perf_counter()
            if relay_seconds is None and _published() - published_before >= n:
                relay_seconds = now - started
            if _processed() - processed_before >= n:
                effects = await connection.fetchval("SELECT count(*) FROM effects")
                if effects >= n:
                    return time.perf_counter() - started, relay_seconds
            if now > deadline:
                effects = await connection.fetchval("SELECT count(*) FROM effects")
                raise TimeoutError(f"{effects} of {n} effects after {timeout:.0f} s")
            await asyncio.sleep(0.005)
    finally:
        await connection.close()


async def _check(rig: Rig, n: int) -> None:
    """Exactly once: n distinct effects, none twice, no unpublished row left."""
    connection = await asyncpg.connect(asyncpg_dsn(rig.database_url))
    try:
        total, distinct = await connection.fetchrow(
            "SELECT count(*), count(DISTINCT event_id) FROM effects"
        )
        unpublished = await connection.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
    finally:
        await connection.close()
    if total != n or distinct != n or unpublished != 0:
        raise RuntimeError(
            f"pipeline lost or doubled events: {total} effects ({distinct} distinct) "
            f"for {n} events, {unpublished} rows unpublished"
        )


async def run_pipeline(
    config: BenchConfig,
    n: int,
    settings: PipelineSettings | None = None,
    *,
    timeout: float = 180.0,
) -> PipelineResult:
    settings = settings or PipelineSettings()
    database_url = config.database("pipeline")
    namespace = config.namespace("pipeline")
    topology = Topology(namespace)
    servers = Servers(config.database_url, config.amqp_url, BrokerControl())
    await ensure_database(database_url)
    rig: Rig | None = None
    try:
        rig = await build_rig(
            database_url,
            servers,
            namespace,
            batch_size=settings.consumer_batch,
            prefetch=settings.prefetch,
            relay_batch=settings.relay_batch,
        )
        began = time.perf_counter()
        await fill_outbox(rig, n)
        fill_seconds = time.perf_counter() - began
        await rig.broker.wait_connected(timeout=30)  # connecting is not what we time
        await rig.consumer_broker.wait_connected(timeout=30)

        failures_before = _publish_failures()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        relay: asyncio.subprocess.Process | None = None
        cpu_started = time.process_time()
        started = time.perf_counter()
        if settings.relay_process:
            relay = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.relay_process", database_url, config.amqp_url,
                namespace, str(settings.relay_batch),
            )  # fmt: skip
            rig.tasks.append(asyncio.create_task(rig.consumer.run()))
        else:
            rig.start()
        try:
            seconds, relay_seconds = await _wait_for_effects(
                rig, n, started=started, timeout=timeout
            )
        finally:
            if relay is not None:
                for _ in range(200):  # its last marks commit just after their confirms
                    if await rig.unpublished() == 0:
                        break
                    await asyncio.sleep(0.05)
                relay.terminate()
                await relay.wait()
        cpu_seconds = time.process_time() - cpu_started
        relay_cpu_seconds = None
        if relay is not None:
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            relay_cpu_seconds = (children.ru_utime - children_before.ru_utime) + (
                children.ru_stime - children_before.ru_stime
            )
            cpu_seconds += relay_cpu_seconds
            relay_seconds = None  # the relay's counter is in the other process
        await _check(rig, n)
        publish_failures = int(_publish_failures() - failures_before)
    finally:
        if rig is not None:
            with contextlib.suppress(Exception):
                await rig.stop()
        with contextlib.suppress(Exception):
            await drop_database(database_url)
        await delete_broker_names(
            config.amqp_url,
            queues=[topology.inbox_queue(CONSUMER), topology.dead_letter_queue(CONSUMER)],
            exchanges=[topology.events_exchange(PRODUCER), topology.dead_letter_exchange(CONSUMER)],
        )
    return PipelineResult(
        n=n,
        settings=settings,
        fill_seconds=fill_seconds,
        seconds=seconds,
        relay_seconds=relay_seconds,
        cpu_seconds=cpu_seconds,
        publish_failures=publish_failures,
        relay_cpu_seconds=relay_cpu_seconds,
    )
