"""`python -m bench faults [--rounds N] [--fast] [--faults a,b]`: the fault matrix.

The whole platform (`sihha_runner.launcher`: queue, appointments and reporting, each its
own process) runs on ports, databases and a broker namespace of this run's own, on one
simulated clock, while the demo's traffic model (`sihha_runner.traffic`, played by
`sihha_runner.simulator.Day` through the queue service's public API) keeps the clinics
busy. Each fault of `FAULTS` is injected in the middle of that traffic, lifted (in a
`finally`, whatever happens), and measured, Jepsen style, once the traffic has stopped
and the platform has settled:

- **sent**: events the producing services committed to their outboxes during the
  fault's segment, from its start until its traffic stopped (their own tables, by outbox
  row id; what the platform's timers produce while it settles is not waited for);
- **received**: of those, how many the reporting service archived (its event archive);
- **lost**: sent − received, after the settle time (`--settle-seconds`);
- **duplicated effects**: the reports counting more than the producers' own counts
  (reporting's `GET /reconciliation` against the queue's `GET /counts/activity` and the
  appointments' counts: differences that appeared during the segment, reporting above);
  **missing effects** are the other sign (the reports below the sources);
- **dead-lettered**: what the run's `<consumer>.dead` queues received during the segment
  (read from the broker), split into healthy events (a failure) and the poison messages
  the matrix sent itself;
- **recovered in**: from the moment the fault was lifted to the moment every service is
  ready with its broker connections up and a probe ticket, issued after the lift at an
  establishment without other traffic, is counted in reporting's tickets per day (the
  whole path: HTTP → outbox → broker → inbox → projection).

A row is `ok` when nothing is lost, nothing counted twice or missing, no healthy event
dead-lettered, every poison message dead-lettered by every consumer it reached, and the
platform recovered. The exit status is 1 when a row is not `ok`.

PostgreSQL: by default the platform's databases live in a private cluster of the run
(`sihha_kit.testing.servers.PrivatePostgres`, PostgreSQL 15's `initdb` in a temporary
folder), so that the database fault is a real `pg_ctl stop -m immediate` + start
without touching the shared server. `--postgres shared` uses the shared server instead;
the database fault then terminates the platform's own backends (`pg_terminate_backend`),
not the server.

The broker is shared. The two faults that disturb it hold `/tmp/sihha-infra.lock`
(`flock`) from the start of their segment to the fault's lift, as other fault tests do;
a lock inherited from the command that started this one (`flock /tmp/sihha-infra.lock
make faults`) counts as held. "Connections closed" closes this platform's connections
only (found by their client ports), not every client's: the services see the same
`connection.close` from the broker, the other users of the shared broker see nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import httpx
import yaml
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from bench.cleanup import delete_broker_names
from bench.config import BenchConfig
from sihha_contracts.events.queue import TicketIssuedV1
from sihha_kit.auth import Role
from sihha_kit.broker import Topology
from sihha_kit.clock import ALGIERS, Clock, local_day, simulated_clock
from sihha_kit.db import asyncpg_dsn, drop_database
from sihha_kit.devtools import TokenIssuer
from sihha_kit.logs import configure_logging
from sihha_kit.registry import load_registry
from sihha_kit.testing.servers import BrokerControl, PrivatePostgres
from sihha_runner.launcher import Platform, PlatformConfig, free_ports, running_services
from sihha_runner.simulator import Day
from sihha_runner.traffic import LAST_ARRIVAL, OPENING, clinic_weights, patients

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "faults.json"
REGISTRY = ROOT / "registry" / "oran-establishments.yaml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
INFRA_LOCK = Path("/tmp/sihha-infra.lock")
#: the consumers of the platform, each with its `<name>.inbox` and `<name>.dead`
CONSUMERS = ("reporting", "appointments", "queue")
#: the services whose outbox events reporting archives
PRODUCERS = ("queue", "appointments", "reporting")
#: the simulated day the run starts on (a Tuesday: every polyclinic service open)
START = datetime(2026, 12, 15, 7, 55, tzinfo=ALGIERS)


# -- the infrastructure lock ---------------------------------------------------------------


class InfraLock:
    """`flock` on `/tmp/sihha-infra.lock`, the lock every test that stops or cuts the shared
    broker or PostgreSQL holds. A descriptor of that file inherited from the process that
    started this one (`flock /tmp/sihha-infra.lock <command>` passes its locked descriptor
    on) is taken as the lock already held: locking it again succeeds at once, and it is
    never unlocked here (that would release the starter's lock)."""

    def __init__(self, path: Path = INFRA_LOCK) -> None:
        self.path = path

    def _inherited(self) -> int | None:
        with contextlib.suppress(OSError):
            for name in os.listdir("/proc/self/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/self/fd/{name}") == str(self.path):
                        return int(name)
        return None

    @staticmethod
    def _try(descriptor: int) -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    @contextlib.asynccontextmanager
    async def held(self, say: Callable[[str], None]) -> AsyncIterator[None]:
        inherited = self._inherited()
        if inherited is not None and self._try(inherited):
            yield
            return
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if not self._try(descriptor):
                say(f"waiting for {self.path} (another fault test holds it)")
                await _blocking_flock(descriptor)
            yield
        finally:
            # the last descriptor of the file description closed, the lock is released (also
            # the one a waiting thread gets after a cancellation: it is released at once)
            os.close(descriptor)


async def _blocking_flock(descriptor: int) -> None:
    """`flock(LOCK_EX)` in a daemon thread: queued in the kernel with the other waiters
    (polling with LOCK_NB would lose every race to them), while the event loop and the
    traffic go on; a cancelled wait does not keep the process from exiting."""
    loop = asyncio.get_running_loop()
    locked: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if locked.done():
            return
        if error is None:
            locked.set_result(None)
        else:
            locked.set_exception(error)

    # the thread's own descriptor of the same open file (the lock belongs to the file
    # description): closing the caller's after a cancellation cannot make the thread lock
    # another file that reuses the number
    waiter = os.dup(descriptor)

    def wait() -> None:
        error: BaseException | None = None
        try:
            fcntl.flock(waiter, fcntl.LOCK_EX)
        except OSError as failure:
            error = failure
        finally:
            os.close(waiter)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=wait, name="infra-lock", daemon=True).start()
    await locked


# -- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatrixSettings:
    rounds: int = 1
    faults: tuple[str, ...] = ()
    #: simulated seconds per real second
    speed: float = 240.0
    #: polyclinics with traffic (the registry's first ones)
    clinics: int = 6
    #: patients per window of traffic (the model's day, compressed into the window)
    patients: int = 60
    #: real seconds of one window of traffic (windows follow each other while it plays)
    window_seconds: float = 6.0
    #: real seconds of traffic before the fault, and after its lift
    warmup_seconds: float = 4.0
    tail_seconds: float = 5.0
    #: real seconds the broker stays stopped in the broker fault
    outage_seconds: float = 5.0
    #: real seconds given to the platform to settle after the traffic (then: lost)
    settle_seconds: float = 90.0
    #: `private`: a PostgreSQL cluster of the run's own; `shared`: the shared server
    postgres: str = "private"
    seed: int = 31
    output: Path = RESULTS
    log_dir: Path | None = None


# -- the platform of the run ---------------------------------------------------------------


def client_ports(pid: int, server_port: int) -> set[int]:
    """Local TCP ports of the connections process `pid` holds to `server_port` (from
    /proc: its socket descriptors, and the kernel's TCP tables)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for name in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{name}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as lines:
            next(lines, None)
            for line in lines:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == server_port:
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def around_the_clock_registry(folder: Path) -> Path:
    """A copy of the project's registry in which every establishment is open around the
    clock, every day: the simulated clock of a run goes through evenings, nights and
    weekends, and the traffic must not meet closed services there."""
    data = yaml.safe_load(REGISTRY.read_text("utf-8"))
    data["default_opening_hours"] = {day: ["00:00-24:00"] for day in WEEKDAYS}
    for items in data.values():
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    item.pop("opening_hours", None)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "registry-around-the-clock.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


@dataclass
class RunPlatform:
    """The platform of one matrix run, and what it needs to be observed and disturbed."""

    settings: MatrixSettings
    run_id: str
    amqp_url: str
    platform: Platform
    clock: Clock
    issuer: TokenIssuer
    broker: BrokerControl
    cluster: PrivatePostgres | None
    clinics: list[str]
    services: list[str]
    #: an establishment without traffic, where the recovery probe issues its tickets
    probe_clinic: str
    #: another one, where the producer fault issues its burst
    burst_clinic: str
    started_day: date
    say: Callable[[str], None]
    lock: InfraLock = field(default_factory=InfraLock)

    @property
    def topology(self) -> Topology:
        return Topology(self.platform.config.broker_namespace)

    def database_dsn(self, service: str) -> str:
        return asyncpg_dsn(self.platform.config.database_url(service))

    def url(self, service: str) -> str:
        return self.platform.url(service)

    def token(self, role: Role, establishments: list[str]) -> str:
        return self.issuer.mint(f"faults:{role}", [role], establishments)

    def today(self) -> date:
        return local_day(self.clock())

    async def kill(self, service: str, sig: signal.Signals = signal.SIGKILL) -> None:
        process = self.platform.processes[service]
        if process.poll() is None:
            process.send_signal(sig)
        await asyncio.to_thread(process.wait, 30)

    def restart(self, service: str) -> None:
        self.platform.start_service(service)


@contextlib.asynccontextmanager
async def run_platform(
    settings: MatrixSettings, say: Callable[[str], None]
) -> AsyncIterator[RunPlatform]:
    """Start the platform of the run (private cluster or shared server), and remove all of
    it at the end: processes, databases, broker names, inbox policies."""
    bench = BenchConfig.from_env()
    run_id = bench.run_id
    namespace = f"faults{run_id}."
    database = urlsplit(bench.database_url)
    database_host = f"{database.hostname or '127.0.0.1'}:{database.port or 5432}"
    cluster: PrivatePostgres | None = None
    if settings.postgres == "private":
        if not PrivatePostgres.available():
            raise RuntimeError(
                "no PostgreSQL 15 initdb here for a private cluster: use --postgres shared"
            )
        cluster = PrivatePostgres(Path(tempfile.mkdtemp(prefix=f"sihha-faults-{run_id}-")))
        database_host = f"127.0.0.1:{cluster.port}"
    names = [spec.name for spec in running_services()]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    anchor = time.time() + 1.0
    extra: dict[str, str] = {}
    for spec in running_services():
        p = spec.prefix
        extra.update(
            {
                f"{p}CLOCK_START": START.isoformat(),
                f"{p}CLOCK_SPEED": str(settings.speed),
                f"{p}CLOCK_ANCHOR": str(anchor),
                f"{p}OUTBOX_POLL_SECONDS": "0.5",
                # three services on one machine beside the traffic: smaller pools
                f"{p}DATABASE_POOL_SIZE": "8",
            }
        )
    log_dir = settings.log_dir or ROOT / "out" / "faults" / run_id
    registry_path = around_the_clock_registry(log_dir)
    extra.update(
        {
            # no scheduled report generation in the middle of the measurements
            "REPORTING_SCHEDULE_ENABLED": "false",
            "APPOINTMENTS_SMS_SINK_PATH": str(log_dir / "sms.jsonl"),
        }
    )
    for spec in running_services():
        extra[f"{spec.prefix}REGISTRY_PATH"] = str(registry_path)
    config = PlatformConfig(
        database_host=database_host,
        amqp_url=bench.amqp_url,
        keys_dir=ROOT / ".dev" / "keys",
        database_prefix=f"sihha_faults_{run_id}_",
        broker_namespace=namespace,
        ports=ports,
        extra_env=extra,
    )
    registry = load_registry(registry_path)
    polyclinics = [p.code for p in registry.polyclinics]
    if settings.clinics + 2 > len(polyclinics):
        raise ValueError(f"the registry has {len(polyclinics)} polyclinics")
    platform = Platform(config)
    broker = BrokerControl()
    say(
        f"run {run_id}: platform on ports {ports}, databases {config.database_prefix}*, "
        f"broker names {namespace}*; logs in {log_dir}"
    )
    try:
        began = time.monotonic()
        if cluster is not None:
            await asyncio.to_thread(cluster.init)
        platform.start(log_dir)  # creates the development keys that are missing
        await asyncio.to_thread(platform.wait_ready, 120.0)
        say(f"platform ready in {time.monotonic() - began:.0f} s")
        clock = simulated_clock(START, settings.speed, anchor)
        yield RunPlatform(
            settings=settings,
            run_id=run_id,
            amqp_url=bench.amqp_url,
            platform=platform,
            clock=clock,
            issuer=TokenIssuer.from_directory(config.keys_dir),
            broker=broker,
            cluster=cluster,
            clinics=polyclinics[: settings.clinics],
            services=[s.code for s in registry.polyclinic_services if s.code != "SPEC"],
            probe_clinic=polyclinics[-1],
            burst_clinic=polyclinics[-2],
            started_day=local_day(clock()),
            say=say,
        )
    finally:
        await asyncio.to_thread(platform.stop)
        topology = Topology(namespace)
        await delete_broker_names(
            bench.amqp_url,
            queues=[
                name
                for consumer in CONSUMERS
                for name in (topology.inbox_queue(consumer), topology.dead_letter_queue(consumer))
            ],
            exchanges=[topology.events_exchange(s) for s in (*PRODUCERS, "records", "emergency")]
            + [topology.dead_letter_exchange(c) for c in CONSUMERS],
        )
        with contextlib.suppress(Exception):
            await asyncio.to_thread(broker.clear_policies, f"sihha-inbox-{namespace}")
        if cluster is not None:
            await asyncio.to_thread(cluster.destroy)
        else:
            for name in names:
                with contextlib.suppress(Exception):
                    await drop_database(config.database_url(name))


# -- traffic -------------------------------------------------------------------------------


@dataclass
class TrafficStats:
    windows: int = 0
    issued: int = 0
    failed_requests: Counter[str] = field(default_factory=Counter)


async def play_traffic(run: RunPlatform, stop: asyncio.Event, seed: int) -> TrafficStats:
    """Windows of the demo's traffic, one after the other, until `stop` is set: each the
    model's day of `patients` at the run's polyclinics, its arrivals compressed into the
    window (the morning peak keeps its shape), its counters calling, serving, routing."""
    settings = run.settings
    stats = TrafficStats()
    weights = clinic_weights(settings.seed, run.clinics)
    day_span = (LAST_ARRIVAL.hour - OPENING.hour) * 3600.0
    window = settings.window_seconds * settings.speed  # simulated seconds
    arrivals = 0.8 * window  # the last fifth: counters finish with who is there
    while not stop.is_set():
        opens = run.clock()
        drawn = patients(seed + stats.windows, settings.patients, run.clinics, weights)
        day = Day(
            queue_url=run.url("queue"),
            issuer=run.issuer,
            clock=run.clock,
            speed=settings.speed,
            day=opens.astimezone(ALGIERS),
            clinics=run.clinics,
            services=run.services,
            patients=[
                replace(p, arrives_after=p.arrives_after * arrivals / day_span) for p in drawn
            ],
            seed=seed + stats.windows,
            opens=opens,
            closes=opens + timedelta(seconds=window),
        )
        result = await day.run()
        stats.windows += 1
        stats.issued += sum(result.issued.values())
        stats.failed_requests.update(result.errors)
    return stats


# -- observation ---------------------------------------------------------------------------


@dataclass
class Snapshot:
    #: service → the highest outbox row id when the segment began
    outbox_ids: dict[str, int]
    #: (source, facility, day, metric) → source − reporting when the segment began
    differences: dict[tuple[str, str, str, str], int]


@dataclass
class Measure:
    sent: int = 0
    received: int = 0
    unpublished: int = 0
    duplicated_effects: int = 0
    missing_effects: int = 0
    reconciliation_error: str | None = None
    dead_healthy: int = 0
    dead_poison: int = 0
    #: poison of a version reporting does not know, kept in its archive as it should be
    unknown_archived: int = 0
    #: events of the segment reporting's inbox held as conflicting copies (another event
    #: id with the same producer, aggregate and sequence): a producer numbered two events
    #: alike, and reporting applied only the first
    conflicts: int = 0
    #: deliveries still waiting in reporting's inbox queue (slow, not lost), or None when
    #: the broker could not say
    inbox_waiting: int | None = None
    #: the sent events reporting has not archived, counted by type
    missing_types: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.sent - self.received


#: what a measurement meets while a service or a server is not back yet
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, timed out
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    httpx.HTTPError,
    aio_pika.exceptions.AMQPError,
)


async def _fetch(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        return list(await connection.fetch(query, *args, timeout=30))
    finally:
        await connection.close()


async def outbox_ids(run: RunPlatform) -> dict[str, int]:
    found = {}
    for service in PRODUCERS:
        rows = await _fetch(run.database_dsn(service), "SELECT coalesce(max(id), 0) FROM outbox")
        found[service] = int(rows[0][0])
    return found


async def reconciliation(run: RunPlatform) -> dict[tuple[str, str, str, str], int]:
    """Every difference of reporting's reconciliation, against both sources, since the
    run's first day."""
    token = run.token(Role.it_unit, ["*"])
    found: dict[tuple[str, str, str, str], int] = {}
    async with httpx.AsyncClient(base_url=run.url("reporting"), timeout=30) as client:
        for source in ("queue", "appointments"):
            response = await client.get(
                "/reconciliation",
                params={
                    "from": run.started_day.isoformat(),
                    "to": run.today().isoformat(),
                    "source": source,
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            for row in response.json()["differences"]:
                key = (source, row["facility_id"], row["day"], row["metric"])
                found[key] = int(row["difference"])
    return found


async def snapshot(run: RunPlatform) -> Snapshot:
    return Snapshot(await outbox_ids(run), await reconciliation(run))


#: what each consumer's inbox skipped (a redelivery of an event it had applied), by process
DUPLICATES_METRIC = "sihha_consumer_duplicates_total"


async def skipped_redeliveries(run: RunPlatform) -> dict[str, tuple[int, float]]:
    """service → (its process id, the redeliveries its consumers skipped so far), from
    each service's Prometheus metrics (a process that does not answer is left out)."""
    found: dict[str, tuple[int, float]] = {}
    async with httpx.AsyncClient(timeout=5) as client:
        for name, process in run.platform.processes.items():
            try:
                response = await client.get(run.url(name) + "/metrics")
            except httpx.HTTPError:
                continue
            if response.status_code != 200:
                continue
            found[name] = (
                process.pid,
                sum(
                    float(line.rsplit(" ", 1)[1])
                    for line in response.text.splitlines()
                    if line.startswith(DUPLICATES_METRIC + "{")
                ),
            )
    return found


def redeliveries_between(
    start: dict[str, tuple[int, float]],
    before_fault: dict[str, tuple[int, float]],
    end: dict[str, tuple[int, float]],
) -> int:
    """Redeliveries skipped during a segment. A process killed by the fault took its count
    with it: what it had skipped before the fault, plus what its successor skipped."""
    total = 0.0
    for name, (pid, value) in end.items():
        if name in start and start[name][0] == pid:
            total += value - start[name][1]
            continue
        total += value
        if name in start and name in before_fault and before_fault[name][0] == start[name][0]:
            total += before_fault[name][1] - start[name][1]
    return round(total)


@dataclass
class DeadLetters:
    """What the run's dead-letter queues received, read (and emptied) from the broker."""

    #: (consumer, AMQP message id) of each dead letter
    seen: list[tuple[str, str]] = field(default_factory=list)

    async def drain(self, run: RunPlatform) -> None:
        connection = await aio_pika.connect(
            run.amqp_url, timeout=10, client_properties={"connection_name": "faults-observer"}
        )
        async with connection:
            for consumer in CONSUMERS:
                channel = await connection.channel()
                try:
                    queue = await channel.declare_queue(
                        run.topology.dead_letter_queue(consumer), passive=True
                    )
                except aio_pika.exceptions.ChannelClosed:
                    continue  # not declared (yet): nothing dead-lettered there
                while (message := await queue.get(no_ack=True, fail=False)) is not None:
                    self.seen.append((consumer, message.message_id or ""))
                with contextlib.suppress(Exception):
                    await channel.close()


async def inbox_waiting(run: RunPlatform, consumer: str) -> int | None:
    """Messages ready in `consumer`'s inbox queue, from the broker (None: it did not say)."""
    try:
        connection = await aio_pika.connect(run.amqp_url, timeout=5)
    except (OSError, aio_pika.exceptions.AMQPError):
        return None
    async with connection:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(run.topology.inbox_queue(consumer), passive=True)
        except aio_pika.exceptions.AMQPError:
            return None
        return queue.declaration_result.message_count


async def measure(
    run: RunPlatform,
    start: Snapshot,
    end: dict[str, int],
    dead: DeadLetters,
    poison: Poison | None,
) -> Measure:
    """The segment's events are the outbox rows its producers committed from `start` to
    `end` (taken once the traffic stopped): the platform's timers go on producing events
    while it settles, and those, always a moment from being archived, would keep a
    segment from ever settling on a slow machine."""
    result = Measure()
    sent: list[Any] = []
    types: dict[Any, str] = {}
    for service in PRODUCERS:
        rows = await _fetch(
            run.database_dsn(service),
            "SELECT event_id, event_type, published_at IS NULL AS pending FROM outbox "
            "WHERE id > $1 AND id <= $2",
            start.outbox_ids[service],
            end[service],
        )
        sent += [row["event_id"] for row in rows]
        types.update((row["event_id"], row["event_type"]) for row in rows)
        result.unpublished += sum(1 for row in rows if row["pending"])
    result.sent = len(sent)
    archived = await _fetch(
        run.database_dsn("reporting"),
        "SELECT event_id FROM event_archive WHERE event_id = ANY($1::uuid[])",
        sent,
    )
    result.received = len(archived)
    missing = set(sent) - {row["event_id"] for row in archived}
    result.missing_types = dict(Counter(types[event_id] for event_id in missing))
    held = await _fetch(
        run.database_dsn("reporting"),
        "SELECT count(*) FROM inbox_conflicts WHERE event_id = ANY($1::uuid[])",
        sent,
    )
    result.conflicts = int(held[0][0])
    result.inbox_waiting = await inbox_waiting(run, "reporting")
    try:
        now = await reconciliation(run)
    except httpx.HTTPError as error:
        result.reconciliation_error = f"{type(error).__name__}: {error}"[:200]
    else:
        for key in set(now) | set(start.differences):
            change = now.get(key, 0) - start.differences.get(key, 0)
            if change > 0:
                result.missing_effects += change
            elif change < 0:
                result.duplicated_effects -= change
    await dead.drain(run)
    expected = poison.expected if poison is not None else set()
    result.dead_poison = sum(1 for item in dead.seen if item in expected)
    result.dead_healthy = len(dead.seen) - result.dead_poison
    if poison is not None and poison.archived_unknown:
        kept = await _fetch(
            run.database_dsn("reporting"),
            "SELECT count(*) FROM event_archive WHERE event_id = ANY($1::uuid[]) AND NOT known",
            poison.archived_unknown,
        )
        result.unknown_archived = int(kept[0][0])
    return result


def settled(result: Measure, poison: Poison | None) -> bool:
    return (
        result.lost == 0
        and result.unpublished == 0
        and result.reconciliation_error is None
        and result.missing_effects == 0
        and result.duplicated_effects == 0
        and result.dead_poison == (len(poison.expected) if poison is not None else 0)
        and result.unknown_archived == (len(poison.archived_unknown) if poison is not None else 0)
        and result.conflicts == 0
    )


async def _not_ready(client: httpx.AsyncClient, run: RunPlatform) -> str | None:
    """Why the platform is not ready (None: every service ready, its broker up)."""
    for spec in running_services():
        try:
            response = await client.get(run.url(spec.name) + "/health/ready", timeout=2)
        except httpx.HTTPError as error:
            return f"{spec.name}: {type(error).__name__}"
        if response.status_code != 200:
            return f"{spec.name}: readiness {response.status_code}"
        if response.json().get("broker") != "up":
            return f"{spec.name}: broker down"
    return None


async def _probe_count(
    client: httpx.AsyncClient, run: RunPlatform, service: str, token: str
) -> int | None:
    """Tickets of the probe establishment since the run began, as `service` counts them
    (the queue's own counts, or reporting's tickets per day)."""
    params = {"from": run.started_day.isoformat(), "to": run.today().isoformat()}
    path = "/counts/activity"
    if service == "reporting":
        params["facility_id"] = run.probe_clinic
        path = "/activity/tickets-per-day"
    try:
        response = await client.get(
            run.url(service) + path, params=params, headers={"Authorization": f"Bearer {token}"}
        )
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    return sum(
        int(row["tickets_issued"])
        for row in response.json()
        if row["facility_id"] == run.probe_clinic
    )


async def time_to_recover(
    run: RunPlatform, lifted_at: float, deadline: float
) -> tuple[float | None, str]:
    """Seconds from the lift until every service is ready, its broker up, and a ticket
    issued after the lift is counted by reporting; None if not by `deadline`, with what
    was still missing then."""
    reception = run.token(Role.receptionist, [run.probe_clinic])
    monitor = run.token(Role.it_unit, ["*"])
    headers = {"Authorization": f"Bearer {reception}", "Idempotency-Key": uuid.uuid4().hex}
    missing = "not started"
    async with httpx.AsyncClient(timeout=10) as client:
        expected = None
        while expected is None and time.monotonic() < deadline:
            missing = await _not_ready(client, run) or ""
            if not missing:
                try:
                    response = await client.post(
                        run.url("queue") + f"/establishments/{run.probe_clinic}/tickets",
                        json={"service_code": "MG", "priority": "normal", "channel": "reception"},
                        headers=headers,
                    )
                except httpx.HTTPError as error:
                    missing = f"probe ticket: {type(error).__name__}"
                else:
                    missing = f"probe ticket: {response.status_code}"
                    if response.status_code == 201:
                        expected = await _probe_count(client, run, "queue", monitor)
            if expected is None:
                await asyncio.sleep(0.2)
        while expected is not None and time.monotonic() < deadline:
            counted = await _probe_count(client, run, "reporting", monitor)
            missing = f"reporting counts {counted} of the probe's {expected} tickets"
            if counted is not None and counted >= expected:
                missing = await _not_ready(client, run) or ""
                if not missing:
                    return time.monotonic() - lifted_at, ""
            await asyncio.sleep(0.2)
    return None, missing


# -- the faults ----------------------------------------------------------------------------


@dataclass
class Poison:
    """Poison messages sent by the matrix, and who must dead-letter each."""

    #: (consumer, AMQP message id) the dead-letter queues must receive
    expected: set[tuple[str, str]] = field(default_factory=set)
    #: event ids reporting keeps in its archive as unknown (a version it does not know)
    archived_unknown: list[uuid.UUID] = field(default_factory=list)


@dataclass
class Injection:
    """What a fault did: when it was lifted (monotonic), and what to say about it."""

    lifted_at: float = 0.0
    detail: str = ""
    poison: Poison | None = None


@dataclass(frozen=True)
class Fault:
    name: str
    title: str
    #: seconds, not minutes: CI runs one round of these
    fast: bool
    #: it stops or cuts a server other tests share: held under the infrastructure lock
    shared: bool
    inject: Callable[[RunPlatform], Awaitable[Injection]]


async def no_fault(run: RunPlatform) -> Injection:
    """The control: traffic only. Its "recovered in" is the probe's own time through a
    platform that had nothing to recover from, the baseline of the other rows."""
    return Injection(time.monotonic(), "traffic only (the baseline of 'recovered in')")


async def broker_connections_closed(run: RunPlatform) -> Injection:
    ports: set[int] = set()
    amqp_port = urlsplit(run.amqp_url).port or 5672
    for process in run.platform.processes.values():
        ports |= client_ports(process.pid, amqp_port)
    try:
        closed = await asyncio.to_thread(
            run.broker.close_connections_from, ports, "fault matrix: connections closed"
        )
    finally:
        lifted = time.monotonic()  # nothing to restore: the clients reconnect
    return Injection(lifted, f"{closed} connections of the platform closed by the broker")


async def broker_restarted(run: RunPlatform) -> Injection:
    began = time.monotonic()
    try:
        await asyncio.to_thread(run.broker.stop)
        await asyncio.sleep(run.settings.outage_seconds)
    finally:
        await asyncio.to_thread(run.broker.start)
    lifted = time.monotonic()
    return Injection(lifted, f"stop_app → start_app, broker away {lifted - began:.1f} s")


async def consumer_killed(run: RunPlatform) -> Injection:
    pid = run.platform.processes["reporting"].pid
    try:
        await run.kill("reporting")
    finally:
        run.restart("reporting")
    return Injection(time.monotonic(), f"reporting (pid {pid}) kill -9, started again")


_RELAY_IN_BATCH = """
SELECT pid, now() - xact_start AS open_for FROM pg_stat_activity
 WHERE datname = current_database() AND state = 'idle in transaction'
   AND backend_xid IS NOT NULL AND query ILIKE '%FOR UPDATE SKIP LOCKED%'
"""


async def producer_killed_in_relay_batch(run: RunPlatform) -> Injection:
    """A burst of tickets fills the outbox; the queue service is killed (-9) at a moment
    its relay holds a claimed batch open (its claim transaction idle between the publish
    and the mark: the broker has some of the batch, the outbox does not know it yet)."""
    token = run.token(Role.receptionist, [run.burst_clinic])
    caught = ""
    pid = run.platform.processes["queue"].pid
    connection = await asyncpg.connect(run.database_dsn("queue"), timeout=5)
    try:

        async def burst() -> None:
            async with httpx.AsyncClient(base_url=run.url("queue"), timeout=10) as client:

                async def one() -> None:
                    with contextlib.suppress(httpx.HTTPError):
                        await client.post(
                            f"/establishments/{run.burst_clinic}/tickets",
                            json={"service_code": "LAB", "channel": "reception"},
                            headers={
                                "Authorization": f"Bearer {token}",
                                "Idempotency-Key": uuid.uuid4().hex,
                            },
                        )

                await asyncio.gather(*(one() for _ in range(300)))

        bursting = asyncio.ensure_future(burst())
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline:
                rows = await connection.fetch(_RELAY_IN_BATCH)
                if rows:
                    caught = (
                        f"killed with the relay's batch open for "
                        f"{rows[0]['open_for'].total_seconds() * 1000:.0f} ms"
                    )
                    break
                await asyncio.sleep(0.002)
            else:
                caught = "relay never seen mid-batch in 20 s: killed anyway"
            try:
                await run.kill("queue")
            finally:
                run.restart("queue")
        finally:
            bursting.cancel()
            with contextlib.suppress(BaseException):
                await bursting
    finally:
        with contextlib.suppress(Exception):
            await connection.close()
    return Injection(time.monotonic(), f"queue (pid {pid}) {caught}; started again")


async def postgres_restarted(run: RunPlatform) -> Injection:
    if run.cluster is not None:
        cluster = run.cluster
        began = time.monotonic()
        try:
            await asyncio.to_thread(cluster.stop, "immediate")
        finally:
            await asyncio.to_thread(cluster.start)
        lifted = time.monotonic()
        return Injection(
            lifted, f"pg_ctl stop -m immediate + start, {lifted - began:.1f} s (private cluster)"
        )
    admin = make_url(run.platform.config.database_url("queue")).set(database="postgres")
    try:
        rows = await _fetch(
            asyncpg_dsn(admin.render_as_string(hide_password=False)),
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = ANY($1::text[]) AND pid <> pg_backend_pid()",
            _database_names(run),
        )
    finally:
        lifted = time.monotonic()
    return Injection(lifted, f"{rows[0][0]} backends of the platform terminated (shared server)")


def _database_names(run: RunPlatform) -> list[str]:
    prefix = run.platform.config.database_prefix
    return [f"{prefix}{spec.name}" for spec in running_services()]


async def reporting_down_an_hour(run: RunPlatform) -> Injection:
    hour = 3600.0 / run.settings.speed
    try:
        await run.kill("reporting", signal.SIGTERM)
        await asyncio.sleep(hour)
    finally:
        if run.platform.processes["reporting"].poll() is not None:
            run.restart("reporting")
    return Injection(time.monotonic(), f"reporting stopped for a simulated hour ({hour:.0f} s)")


def _envelope(
    run: RunPlatform, event_type: str, version: int, payload: dict[str, Any]
) -> dict[str, Any]:
    now = run.clock().isoformat()
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": version,
        "occurred_at": now,
        "recorded_at": now,
        "producer": {"name": "faults", "version": "0"},
        "facility_id": run.clinics[0],
        "aggregate_id": str(uuid.uuid4()),
        "sequence": 1,
        "correlation_id": str(uuid.uuid4()),
        "payload": payload,
    }


async def poison_messages(run: RunPlatform) -> Injection:
    """Five kinds of bad message on the producers' exchanges, under the routing keys the
    consumers bind: each consumer it reaches must dead-letter it (reporting keeps an
    unknown version in its archive instead: it archives what it cannot read yet)."""
    ticket = TicketIssuedV1(
        ticket_id=uuid.uuid4(),
        visit_id=uuid.uuid4(),
        service_code="MG",
        ticket_number="MG-999",
        service_day=run.today(),
    ).model_dump(mode="json")
    to_reporting_and_appointments = ("queue", "queue.ticket.issued", ("reporting", "appointments"))
    to_reporting_and_queue = (
        "appointments",
        "appointments.appointment.booked",
        ("reporting", "queue"),
    )
    mismatched = _envelope(run, "queue.ticket.issued", 1, ticket)
    unknown_version = _envelope(run, "queue.ticket.issued", 99, ticket)
    kinds: list[tuple[str, bytes, str | None, tuple[str, str, tuple[str, ...]]]] = [
        ("not JSON", b"\x00\xffnot json{", None, to_reporting_and_appointments),
        ("JSON, not an envelope", b'["hello"]', None, to_reporting_and_queue),
        (
            "payload breaking its contract",
            json.dumps(_envelope(run, "queue.ticket.issued", 1, {"ticket_id": 7})).encode(),
            None,
            to_reporting_and_appointments,
        ),
        (
            "AMQP message id ≠ event id",
            json.dumps(mismatched).encode(),
            str(uuid.uuid4()),
            to_reporting_and_appointments,
        ),
        (
            "unknown version",
            json.dumps(unknown_version).encode(),
            unknown_version["event_id"],
            ("queue", "queue.ticket.issued", ("appointments",)),
        ),
    ]
    poison = Poison(archived_unknown=[uuid.UUID(unknown_version["event_id"])])
    connection = await aio_pika.connect(
        run.amqp_url, timeout=10, client_properties={"connection_name": "faults-poison"}
    )
    try:
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            for _, body, message_id, (producer, key, consumers) in kinds:
                exchange = await channel.get_exchange(run.topology.events_exchange(producer))
                message_id = message_id or str(uuid.uuid4())
                await exchange.publish(
                    aio_pika.Message(
                        body,
                        message_id=message_id,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=key,
                    mandatory=True,
                )
                poison.expected |= {(consumer, message_id) for consumer in consumers}
    finally:
        lifted = time.monotonic()
    return Injection(
        lifted,
        f"{len(kinds)} poison messages ({', '.join(k[0] for k in kinds)}): "
        f"{len(poison.expected)} dead letters expected",
        poison,
    )


FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
        Fault("none", "no fault (baseline)", fast=True, shared=False, inject=no_fault),
        Fault(
            "broker-connections",
            "broker connections closed",
            fast=True,
            shared=True,
            inject=broker_connections_closed,
        ),
        Fault(
            "broker-restart",
            "broker stopped and started",
            fast=False,
            shared=True,
            inject=broker_restarted,
        ),
        Fault(
            "consumer-kill", "consumer killed (-9)", fast=True, shared=False, inject=consumer_killed
        ),
        Fault(
            "producer-kill",
            "producer killed (-9) mid relay batch",
            fast=True,
            shared=False,
            inject=producer_killed_in_relay_batch,
        ),
        Fault(
            "postgres-restart",
            "PostgreSQL restarted (immediate)",
            fast=True,
            shared=False,  # private cluster; with the shared server see `shared_for`
            inject=postgres_restarted,
        ),
        Fault(
            "reporting-down",
            "reporting down a simulated hour",
            fast=False,
            shared=False,
            inject=reporting_down_an_hour,
        ),
        Fault("poison", "poison messages", fast=True, shared=False, inject=poison_messages),
    )
}


def shared_for(fault: Fault, settings: MatrixSettings) -> bool:
    """Whether the fault disturbs a server other tests share, on this run's set-up."""
    return fault.shared or (fault.name == "postgres-restart" and settings.postgres == "shared")


# -- one fault, one round ------------------------------------------------------------------


@dataclass
class Row:
    fault: str
    title: str
    round: int
    sent: int = 0
    received: int = 0
    lost: int = 0
    unpublished: int = 0
    duplicated_effects: int = 0
    missing_effects: int = 0
    dead_healthy: int = 0
    dead_poison: int = 0
    poison_expected: int = 0
    unknown_archived: int = 0
    unknown_expected: int = 0
    #: sent events reporting held as conflicting copies, and deliveries still waiting in
    #: its inbox queue when the segment was measured (why `received` fell short)
    conflicts: int = 0
    inbox_waiting: int | None = None
    missing_types: dict[str, int] = field(default_factory=dict)
    #: redelivered events the consumers' inboxes recognised and skipped (not a failure:
    #: what at-least-once delivery looks like after a fault)
    redeliveries_skipped: int = 0
    recovered_seconds: float | None = None
    tickets_issued: int = 0
    failed_requests: dict[str, int] = field(default_factory=dict)
    detail: str = ""
    error: str | None = None
    settle_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.lost == 0
            and self.unpublished == 0
            and self.duplicated_effects == 0
            and self.missing_effects == 0
            and self.dead_healthy == 0
            and self.dead_poison == self.poison_expected
            and self.unknown_archived == self.unknown_expected
            and self.conflicts == 0
            and self.recovered_seconds is not None
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


async def run_fault(run: RunPlatform, fault: Fault, round_no: int) -> Row:
    settings = run.settings
    title = fault.title
    if fault.name == "postgres-restart" and settings.postgres == "shared":
        title = "PostgreSQL backends terminated"  # the shared server is not restarted
    row = Row(fault.name, title, round_no)
    start = await snapshot(run)
    redeliveries_at_start = await skipped_redeliveries(run)
    dead = DeadLetters()
    await dead.drain(run)  # what an earlier segment left is not this one's
    dead.seen.clear()
    stop = asyncio.Event()
    seed = settings.seed * 1000 + round_no * 100 + list(FAULTS).index(fault.name) * 10
    injection = Injection()
    lock = run.lock.held(run.say) if shared_for(fault, settings) else _nothing_held()
    traffic: asyncio.Task[TrafficStats] | None = None
    try:
        async with lock:
            traffic = asyncio.ensure_future(play_traffic(run, stop, seed))
            await asyncio.sleep(settings.warmup_seconds)
            if traffic.done():
                traffic.result()  # the traffic failed: say why
            redeliveries_before_fault = await skipped_redeliveries(run)
            injection = await fault.inject(run)
        recovering = asyncio.ensure_future(
            time_to_recover(run, injection.lifted_at, time.monotonic() + settings.settle_seconds)
        )
        await asyncio.sleep(settings.tail_seconds)
        stop.set()
        stats = await traffic
        row.tickets_issued = stats.issued
        row.failed_requests = dict(stats.failed_requests)
        settle_began = time.monotonic()
        deadline = settle_began + settings.settle_seconds
        result: Measure | None = None
        failure = None
        end: dict[str, int] | None = None
        while True:
            try:
                if end is None:  # the traffic has stopped: the segment's last events
                    end = await outbox_ids(run)
                result = await measure(run, start, end, dead, injection.poison)
                failure = None
            except UNAVAILABLE as error:  # a service or a server not back yet
                failure = f"{type(error).__name__}: {error}"[:200]
            if (result is not None and failure is None and settled(result, injection.poison)) or (
                time.monotonic() > deadline
            ):
                break
            await asyncio.sleep(1.0)
        row.settle_seconds = time.monotonic() - settle_began
        row.redeliveries_skipped = redeliveries_between(
            redeliveries_at_start, redeliveries_before_fault, await skipped_redeliveries(run)
        )
        if result is None or failure is not None:
            raise RuntimeError(f"the platform could not be measured after the fault: {failure}")
        row.recovered_seconds, not_recovered = await recovering
        if not_recovered:
            row.detail += f"; not recovered: {not_recovered}"
        row.sent, row.received, row.lost = result.sent, result.received, result.lost
        row.unpublished = result.unpublished
        row.duplicated_effects = result.duplicated_effects
        row.missing_effects = result.missing_effects
        row.dead_healthy, row.dead_poison = result.dead_healthy, result.dead_poison
        row.poison_expected = len(injection.poison.expected) if injection.poison else 0
        row.unknown_archived = result.unknown_archived
        row.conflicts, row.inbox_waiting = result.conflicts, result.inbox_waiting
        row.missing_types = result.missing_types
        row.unknown_expected = len(injection.poison.archived_unknown) if injection.poison else 0
        row.detail = injection.detail + row.detail
        if result.reconciliation_error:
            row.error = f"reconciliation: {result.reconciliation_error}"
    except Exception as error:
        row.error = f"{type(error).__name__}: {error}"[:300]
        row.detail = injection.detail
    finally:
        stop.set()
        if traffic is not None and not traffic.done():
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(traffic, 60)
        # a fault that left a service down (its restart failed) must not spoil the next
        for name, process in run.platform.processes.items():
            if process.poll() is not None:
                run.say(f"the {name} service had stopped (exit {process.returncode}): started")
                run.restart(name)
    return row


@contextlib.asynccontextmanager
async def _nothing_held() -> AsyncIterator[None]:
    yield


# -- the table -----------------------------------------------------------------------------


def _seconds(values: list[float | None]) -> str:
    done = [v for v in values if v is not None]
    missing = len(values) - len(done)
    if not done:
        return "never"
    text = (
        f"{done[0]:.1f} s"
        if len(done) == 1
        else f"{statistics.median(done):.1f} s ({min(done):.1f}–{max(done):.1f})"
    )
    return text + (f", {missing} never" if missing else "")


def summary(rows: list[Row]) -> list[dict[str, Any]]:
    """One line per fault, over its rounds."""
    lines = []
    for name in dict.fromkeys(row.fault for row in rows):
        mine = [row for row in rows if row.fault == name]
        recovered = [row.recovered_seconds for row in mine if row.recovered_seconds is not None]
        total = {
            key: sum(getattr(row, key) for row in mine)
            for key in (
                "sent",
                "received",
                "lost",
                "unpublished",
                "duplicated_effects",
                "missing_effects",
                "dead_healthy",
                "dead_poison",
                "poison_expected",
                "redeliveries_skipped",
            )
        }
        lines.append(
            {
                "fault": name,
                "title": mine[0].title,
                "rounds": len(mine),
                **total,
                "recovered": _seconds([row.recovered_seconds for row in mine]),
                "recovered_median": statistics.median(recovered) if recovered else None,
                "ok": all(row.ok for row in mine),
                "errors": [row.error for row in mine if row.error],
            }
        )
    return lines


def _versus_baseline(line: dict[str, Any], lines: list[dict[str, Any]]) -> str:
    baseline = next((x for x in lines if x["fault"] == "none"), None)
    if baseline is None or line is baseline:
        return ""
    if line["recovered_median"] is None or not baseline["recovered_median"]:
        return ""
    return f"×{line['recovered_median'] / baseline['recovered_median']:.1f}"


def _dead(line: dict[str, Any]) -> str:
    text = f"{line['dead_healthy']}"
    if line["poison_expected"]:
        text += f" + {line['dead_poison']}/{line['poison_expected']} poison"
    return text


def render(rows: list[Row], console: Console) -> None:
    table = Table(title="Fault matrix / مصفوفة الأعطال", title_justify="left")
    for header, justify in (
        ("fault", "left"),
        ("rounds", "right"),
        ("sent", "right"),
        ("received", "right"),
        ("lost", "right"),
        ("duplicated effects", "right"),
        ("missing effects", "right"),
        ("dead-lettered", "right"),
        ("redeliveries skipped", "right"),
        ("recovered in (median, range)", "right"),
        ("vs. no fault", "right"),
        ("", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    lines = summary(rows)
    for line in lines:
        table.add_row(
            line["title"],
            str(line["rounds"]),
            f"{line['sent']:,}",
            f"{line['received']:,}",
            str(line["lost"]),
            str(line["duplicated_effects"]),
            str(line["missing_effects"]),
            _dead(line),
            f"{line['redeliveries_skipped']:,}",
            line["recovered"],
            _versus_baseline(line, lines),
            "[green]ok[/green]" if line["ok"] else "[red]FAIL[/red]",
        )
    console.print(table)
    for row in rows:
        note = f"  {row.fault} #{row.round}: {row.detail}"
        if row.unpublished:
            note += f"; {row.unpublished} still in an outbox"
        if row.unknown_expected:
            note += (
                f"; unknown version kept in reporting's archive: "
                f"{row.unknown_archived}/{row.unknown_expected}"
            )
        if row.failed_requests:
            note += f"; traffic requests that failed (retried): {row.failed_requests}"
        if row.error:
            note += f"; ERROR {row.error}"
        console.print(note, highlight=False, markup=False)


def markdown(rows: list[Row]) -> str:
    """The same table as Markdown (bench/README.md keeps the last one)."""
    lines = [
        "| fault | rounds | sent | received | lost | duplicated effects | missing effects "
        "| dead-lettered | redeliveries skipped | recovered in (median, range) | vs. no fault | |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    summarised = summary(rows)
    for line in summarised:
        lines.append(
            f"| {line['title']} | {line['rounds']} | {line['sent']:,} | {line['received']:,} "
            f"| {line['lost']} | {line['duplicated_effects']} | {line['missing_effects']} "
            f"| {_dead(line)} | {line['redeliveries_skipped']:,} | {line['recovered']} "
            f"| {_versus_baseline(line, summarised)} "
            f"| {'ok' if line['ok'] else 'FAIL'} |"
        )
    return "\n".join(lines)


# -- the run -------------------------------------------------------------------------------


def chosen_faults(names: tuple[str, ...], fast_only: bool) -> list[Fault]:
    if names:
        unknown = [n for n in names if n not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {', '.join(FAULTS)}")
        chosen = [FAULTS[n] for n in names]
    else:
        chosen = list(FAULTS.values())
    return [f for f in chosen if f.fast or not fast_only]


async def run_matrix(
    settings: MatrixSettings,
    faults: list[Fault],
    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
) -> list[Row]:
    """Every fault of `faults`, `settings.rounds` times, on one platform; a row each."""
    rows: list[Row] = []
    async with run_platform(settings, say) as run:
        for round_no in range(1, settings.rounds + 1):
            for fault in faults:
                say(f"round {round_no}/{settings.rounds}: {fault.title}")
                began = time.monotonic()
                row = await run_fault(run, fault, round_no)
                say(
                    f"  {'ok' if row.ok else 'FAIL'} in {time.monotonic() - began:.0f} s: "
                    f"sent {row.sent}, received {row.received}, lost {row.lost}, duplicated "
                    f"{row.duplicated_effects}, missing {row.missing_effects}, dead-lettered "
                    f"{row.dead_healthy}+{row.dead_poison} poison, redeliveries skipped "
                    f"{row.redeliveries_skipped}, recovered "
                    + (f"{row.recovered_seconds:.1f} s" if row.recovered_seconds else "never")
                    + (
                        ""
                        if row.ok
                        else f"; unpublished {row.unpublished}, conflicting copies "
                        f"{row.conflicts}, waiting in reporting's inbox {row.inbox_waiting}, "
                        f"settled for {row.settle_seconds:.0f} s, not archived by type "
                        f"{row.missing_types}"
                    )
                    + (f" — {row.error}" if row.error else "")
                )
                rows.append(row)
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench faults", description=__doc__.split("\n\n")[0]
    )
    defaults = MatrixSettings()
    parser.add_argument("--rounds", type=int, default=1, help="times each fault runs (1)")
    parser.add_argument(
        "--faults", default="", help=f"comma-separated, among: {', '.join(FAULTS)} (all)"
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="only the faults that take seconds: "
        + ", ".join(f.name for f in FAULTS.values() if f.fast),
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=defaults.speed,
        help="simulated seconds per real second (the reporting fault lasts a simulated hour)",
    )
    parser.add_argument(
        "--clinics", type=int, default=defaults.clinics, help="polyclinics with traffic"
    )
    parser.add_argument(
        "--patients",
        type=int,
        default=defaults.patients,
        help="patients per window of traffic (the model's day, compressed)",
    )
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=defaults.window_seconds,
        help="real seconds of one window of traffic",
    )
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        default=defaults.warmup_seconds,
        help="real seconds of traffic before each fault",
    )
    parser.add_argument(
        "--tail-seconds",
        type=float,
        default=defaults.tail_seconds,
        help="real seconds of traffic after each fault's lift",
    )
    parser.add_argument(
        "--outage-seconds",
        type=float,
        default=defaults.outage_seconds,
        help="real seconds the broker stays stopped",
    )
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=defaults.settle_seconds,
        help="real seconds the platform gets to settle after the traffic; then what is "
        "missing counts as lost",
    )
    parser.add_argument(
        "--postgres",
        choices=["private", "shared"],
        default=defaults.postgres,
        help="private: a cluster of the run's own, restarted for real; shared: the shared "
        "server, whose backends of the platform are terminated instead",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--output", type=Path, default=defaults.output, help="where the JSON of the run goes"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 100:
        parser.error("--rounds must be in 1..100")
    if not 10 <= args.speed <= 2000:
        parser.error("--speed must be in 10..2000")
    if not 1 <= args.clinics <= 30:
        parser.error("--clinics must be in 1..30")
    if not 1 <= args.patients <= 2000:
        parser.error("--patients must be in 1..2000")
    for name in ("window", "warmup", "tail", "outage", "settle"):
        if not 0.5 <= getattr(args, f"{name}_seconds") <= 3600:
            parser.error(f"--{name}-seconds must be in 0.5..3600")
    return args


async def main_async(args: argparse.Namespace) -> int:
    settings = MatrixSettings(
        rounds=args.rounds,
        speed=args.speed,
        clinics=args.clinics,
        patients=args.patients,
        window_seconds=args.window_seconds,
        warmup_seconds=args.warmup_seconds,
        tail_seconds=args.tail_seconds,
        outage_seconds=args.outage_seconds,
        settle_seconds=args.settle_seconds,
        postgres=args.postgres,
        seed=args.seed,
        output=args.output,
    )
    faults = chosen_faults(tuple(n for n in args.faults.split(",") if n), args.fast)
    task = asyncio.current_task()
    assert task is not None
    # `kill <pid>` of the matrix ends it like Ctrl-C: every fault restored, all removed
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    began = time.monotonic()
    rows = await run_matrix(settings, faults)
    # a log or a pipe gets the whole table, not 80 columns of it
    console = Console() if sys.stdout.isatty() else Console(width=180)
    console.print()
    render(rows, console)
    console.print(
        f"{len(rows)} runs in {time.monotonic() - began:.0f} s, speed ×{settings.speed:.0f}, "
        f"{settings.clinics} polyclinics, {settings.patients} patients per "
        f"{settings.window_seconds:.0f} s window, PostgreSQL {settings.postgres}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    settings.output.parent.mkdir(parents=True, exist_ok=True)
    settings.output.write_text(
        json.dumps(
            {
                "settings": {k: str(v) for k, v in asdict(settings).items()},
                "rows": [row.as_dict() for row in rows],
                "summary": summary(rows),
                "markdown": markdown(rows),
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    console.print(f"written: {settings.output}")
    return 0 if all(row.ok for row in rows) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging("bench", level="ERROR")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
