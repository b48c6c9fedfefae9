"""(d) The queue service under load, as it runs in production, beside the HTTP baseline.

The real service (`python -m sihha_queue`: 1 uvicorn worker, uvloop + httptools, its
outbox relay, display-board listener and appointments consumer inside) runs in a
subprocess against a fresh database, with its own broker namespace, a throwaway key
pair and a simulated clock fixed at 09:00 on Wednesday 25 November 2026 (the morning
peak; every service is open). The events it relays land in a quorum queue bound to its
exchange, as the reporting service's inbox would (an unroutable event is a failed
publication for the relay). Every ticket is a patient of the platform's one traffic
model, `sihha_runner.traffic.patients`: its service and priority come from there.

1. **Issuing, closed loop**: `concurrency` keep-alive connections for `seconds` at one
   clinic → req/s, p50, p99, and the server's CPU per ticket. The baseline is the bare
   FastAPI + asyncpg INSERT of `bench.http_app`, loaded the same way just before the
   service starts and again just after this phase (the service idle): the ratio is to
   the mean of the two, so that a machine that slows down or speeds up over the minute
   weighs on both sides alike. Target (issue 12): ≥ 40 % of the baseline's req/s.
2. **Issuing, open loop**: a fixed `rate` (100 req/s) for `seconds` → p99, counted from
   when each request was due. Target: p99 ≤ 50 ms. The relay has first published what
   the closed loop left in the outbox, so this is a light, steady load.
3. **Call next with 1,000 waiting**: another clinic is filled through the API with
   `waiting` tickets (services by the traffic mix: MG about 36 %). Then, at `call_rate`
   cycles a second for `seconds`, the next patient of the traffic stream picks which
   service's counter calls (its two counters alternate): `call-next` (timed), `start`,
   `complete`, and that patient's own ticket is issued, so the clinic keeps its 1,000
   waiting, per service too (25 cycles/s = 100 req/s, phase 2's load). Target:
   call-next p99 ≤ 50 ms. Then up to 100 cycles one at a time: the request's own
   latency, with nothing else to wait for.

Everything is bounded (per request, per phase, start-up and drains; an open-loop request
fails after 5 s), and the database, the broker names and the keys are removed at the
end, on failure too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg

from bench.cleanup import delete_broker_names
from bench.config import BenchConfig
from bench.cpu import per_item_us, process_seconds, with_cpu
from bench.http_app import CREATE_TABLE, DATABASE_ENV, POOL_SIZE_ENV
from bench.http_baseline import ROOT, _free_port, _has, item_body
from bench.load import LoadResult, run_load
from bench.trees import ServiceTree, run_in_tree
from sihha_kit.auth import Role
from sihha_kit.broker import Topology
from sihha_kit.db import asyncpg_dsn, drop_database, ensure_database
from sihha_runner.traffic import Patient, patients

#: the clinic that issues in phases 1 and 2, and the one whose counters call in phase 3
ISSUE_CLINIC = "31-PC-001"
CALL_CLINIC = "31-PC-002"
#: Wednesday, the morning peak of the traffic model (Algiers time); the clock runs at 1×
SIMULATED_START = "2026-11-25T09:00:00+01:00"
TRAFFIC_SEED = 2026
#: patients drawn for the issuing phases (cycled if a run issues more)
ISSUE_PATIENTS = 20_000

#: bounds: an open-loop request still unanswered after this fails (an overloaded service
#: must not stretch the phase), and the call-next cycles timed one at a time
OPEN_TIMEOUT = 5.0
ALONE_SECONDS = 6.0

ISSUE_SHARE_TARGET = 0.40  # of the baseline's req/s (issue 12)
OPEN_P99_TARGET_MS = 50.0
CALL_P99_TARGET_MS = 50.0

_SINK = "bench-sink"  # the queue that stands in for the reporting service's inbox


@dataclass
class Cycles:
    """Counter cycles: `calls` holds the call-next requests that called a ticket (the
    figure); `actions` the other requests of the cycles (start, complete, the refill)."""

    mode: str  # "paced" (open loop, `rate` cycles/s) or "alone" (one cycle at a time)
    rate: float | None
    calls: LoadResult
    actions: dict[str, LoadResult]
    cycles: int = 0
    empty: int = 0  # call-next answered 200 with nobody waiting (stays 0 by construction)
    late: int = 0  # paced: started > 100 ms after due, the counter still busy with the last
    cpu_us_per_cycle: float | None = None  # the server process, 4 requests per cycle

    @classmethod
    def new(cls, mode: str, rate: float | None) -> Cycles:
        def empty() -> LoadResult:
            return LoadResult("open" if rate else "closed", 0.0, None if rate else 1, rate, [])

        names = ("start", "complete", "issue (refill)")
        return cls(mode, rate, empty(), {name: empty() for name in names})

    def finish(self, seconds: float) -> None:
        for result in (self.calls, *self.actions.values()):
            result.seconds = seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "rate": self.rate,
            "call_next": self.calls.summary(),
            **{name: result.summary() for name, result in self.actions.items()},
            "cycles": self.cycles,
            "empty_calls": self.empty,
            "late_cycles": self.late,
            "server_cpu_us_per_cycle": self.cpu_us_per_cycle,
        }


@dataclass
class CallNextResult:
    paced: Cycles
    alone: Cycles
    waiting_before: dict[str, int]
    waiting_after: dict[str, int]

    @property
    def rate(self) -> float:
        return self.paced.rate or 0.0

    @property
    def calls(self) -> LoadResult:
        return self.paced.calls

    def as_dict(self) -> dict[str, Any]:
        return {
            "paced": self.paced.as_dict(),
            "alone": self.alone.as_dict(),
            "waiting_before": self.waiting_before,
            "waiting_after": self.waiting_after,
        }


@dataclass
class QueueResult:
    server: dict[str, Any]
    baseline: LoadResult
    baseline_cpu_us: float | None
    #: the same baseline measured again right after the service's closed loop
    baseline_after: LoadResult | None
    baseline_after_cpu_us: float | None
    issue: LoadResult
    issue_cpu_us: float | None
    open: LoadResult
    call: CallNextResult
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def baseline_throughput(self) -> float:
        """The mean of the baseline's two runs (before the service, after its closed loop)."""
        runs = [r.throughput for r in (self.baseline, self.baseline_after) if r and r.ok]
        return sum(runs) / len(runs) if runs else 0.0

    @property
    def baseline_cpu(self) -> float | None:
        runs = [c for c in (self.baseline_cpu_us, self.baseline_after_cpu_us) if c is not None]
        return sum(runs) / len(runs) if runs else None

    @property
    def share(self) -> float | None:
        base = self.baseline_throughput
        return self.issue.throughput / base if base else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "baseline_closed_loop": self.baseline.summary(),
            "baseline_cpu_us_per_request": self.baseline_cpu_us,
            "baseline_after_closed_loop": (
                self.baseline_after.summary() if self.baseline_after else None
            ),
            "baseline_after_cpu_us_per_request": self.baseline_after_cpu_us,
            "baseline_throughput_mean": self.baseline_throughput,
            "issue_closed_loop": self.issue.summary(),
            "issue_cpu_us_per_ticket": self.issue_cpu_us,
            "issue_share_of_baseline": self.share,
            "issue_open_loop": self.open.summary(),
            "call_next": self.call.as_dict(),
            "targets": {
                "issue_share_of_baseline": ISSUE_SHARE_TARGET,
                "open_loop_p99_ms": OPEN_P99_TARGET_MS,
                "call_next_p99_ms": CALL_P99_TARGET_MS,
            },
            "checks": self.checks,
        }


# -- a client that reads bodies -----------------------------------------------------------


class _HttpError(Exception):
    pass


class _Client:
    """One keep-alive HTTP/1.1 connection, one request at a time, returning the body
    (`bench.load` skips bodies; a counter needs the id of the ticket it called)."""

    #: uvicorn closes a connection idle for 5 s (`timeout_keep_alive`): reconnect before
    IDLE_SECONDS = 4.0

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = 0.0

    async def request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(method, path, headers, body)
        except BaseException:
            await self.close()  # whatever state the connection was left in
            raise

    async def _exchange(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        stale = self._reader is not None and (
            self._reader.at_eof() or time.monotonic() - self._used > self.IDLE_SECONDS
        )
        if stale:
            await self.close()
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self._reader is not None
        self._used = time.monotonic()
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        try:
            status = int(status_line.split(b" ", 2)[1])
        except (IndexError, ValueError) as error:
            raise _HttpError(f"bad status line {status_line[:80]!r}") from error
        length, close = 0, False
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding":
                raise _HttpError("chunked answers are not expected here")
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        content = await self._reader.readexactly(length) if length else b""
        self._used = time.monotonic()
        if close:
            await self.close()
        return status, content

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


# -- processes ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _process(
    command: list[str],
    env: dict[str, str],
    port: int,
    ready: str,
    *,
    timeout: float = 60.0,
    cwd: Path = ROOT,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run a server for the block, from when `GET ready` answers 200 (see `_wait_ready`);
    its stderr is shown if it fails to start."""
    with tempfile.TemporaryFile() as stderr:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=cwd, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr
        )
        try:
            try:
                await _wait_ready(process, port, ready, timeout)
            except (RuntimeError, TimeoutError) as error:
                stderr.seek(0)
                tail = stderr.read()[-3000:].decode(errors="replace")
                raise RuntimeError(f"{error}\n{tail}") from error
            try:
                yield process
            except Exception as error:
                if process.returncode is None:
                    raise
                # the server stopped during the measurement: say why, from its own words
                stderr.seek(0)
                tail = stderr.read()[-3000:].decode(errors="replace")
                raise RuntimeError(
                    f"{error}; the server had exited with {process.returncode}:\n{tail}"
                ) from error
        finally:
            await _stop(process)


@contextlib.asynccontextmanager
async def _relay_process(
    tree: ServiceTree, env: dict[str, str]
) -> AsyncIterator[asyncio.subprocess.Process | None]:
    """`python -m sihha_queue relay` for the block when `tree.relay` is `separate` (else
    None); stopped with SIGTERM, as a deployment stops it."""
    if tree.relay != "separate":
        yield None
        return
    process = await asyncio.create_subprocess_exec(
        tree.python, "-m", "sihha_queue", "relay", cwd=tree.root, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield process
    finally:
        await _stop(process)


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, as a deployment stops a process; SIGKILL after 15 s."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _wait_ready(
    process: asyncio.subprocess.Process, port: int, path: str, timeout: float
) -> None:
    """Until `GET path` answers 200 (and, for `/health/ready`, the broker is up too: the
    relay must be publishing while we measure)."""
    deadline = time.monotonic() + timeout
    client = _Client(port, timeout=2.0)
    try:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the server exited with {process.returncode} before ready")
            with contextlib.suppress(
                OSError, TimeoutError, asyncio.IncompleteReadError, _HttpError, ValueError
            ):
                status, body = await client.request("GET", path, {})
                if status == 200 and (
                    path != "/health/ready" or json.loads(body).get("broker") == "up"
                ):
                    return
            await asyncio.sleep(0.1)
    finally:
        await client.close()
    raise TimeoutError(f"the server on port {port} was not ready after {timeout:.0f} s")


#: run by the tree's own interpreter (`ServiceTree.python`): prints the variables that make
#: its queue service trust the keys of `argv[1]`, and the tokens asked for in `argv[2]`
#: (name → [subject, roles, establishments]), minted by that tree's own development
#: issuer. Trees from before issue 11's key sets had one RSA key pair.
_TREE_AUTH = """
import json, sys
from pathlib import Path
keys, wanted = Path(sys.argv[1]), json.loads(sys.argv[2])
try:
    from sihha_kit.devtools import TokenIssuer, dev_environment
    issuer = TokenIssuer.from_directory(keys)
    env = dev_environment("QUEUE_", keys, issuer="queue")
except ImportError:
    from sihha_kit.auth import TokenIssuer
    issuer = TokenIssuer.from_file(keys / "jwt-private.pem")
    env = {"QUEUE_JWT_PUBLIC_KEY_PATH": str(keys / "jwt-public.pem")}
tokens = {name: issuer.mint(*how) for name, how in wanted.items()}
print(json.dumps({"env": {k: str(v) for k, v in env.items()}, "tokens": tokens}))
"""


async def _tree_auth(
    tree: ServiceTree, directory: Path, wanted: Mapping[str, tuple[str, list[str], list[str]]]
) -> tuple[dict[str, str], dict[str, str]]:
    """Keys made by the tree's `python -m sihha_kit.devtools keys` → (the service's auth
    variables, the tokens by name)."""
    await run_in_tree(tree, "-m", "sihha_kit.devtools", "keys", "--dir", str(directory))
    output = await run_in_tree(tree, "-c", _TREE_AUTH, str(directory), json.dumps(wanted))
    found = json.loads(output)
    return found["env"], found["tokens"]


# -- the baseline, loaded the same way --------------------------------------------------------


async def measure_baseline(
    config: BenchConfig, *, seconds: float, concurrency: int, pool_size: int = 16
) -> tuple[LoadResult, float | None]:
    """`bench.http_app` (one INSERT) under the same closed loop → (result, CPU µs/request)."""
    database_url = config.database("queuebase")
    await ensure_database(database_url)
    dsn = asyncpg_dsn(database_url)
    try:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(CREATE_TABLE)
        finally:
            await connection.close()
        port = _free_port()
        command = [
            sys.executable, "-m", "uvicorn", "bench.http_app:app",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--loop", "uvloop" if _has("uvloop") else "asyncio",
            "--http", "httptools" if _has("httptools") else "h11",
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        env = {**os.environ, DATABASE_ENV: dsn, POOL_SIZE_ENV: str(pool_size)}
        async with _process(command, env, port, "/health") as process:
            result, cpu = await with_cpu(
                (process.pid,),
                run_load(
                    f"http://127.0.0.1:{port}/items",
                    method="POST",
                    body=item_body,
                    concurrency=concurrency,
                    seconds=seconds,
                ),
            )
    finally:
        with contextlib.suppress(Exception):
            await drop_database(database_url)
    return result, cpu


# -- the queue service ------------------------------------------------------------------------


def _bodies(people: list[Patient]) -> list[bytes]:
    return [
        json.dumps({"service_code": p.service_code, "priority": p.priority}).encode()
        for p in people
    ]


def _counter_id(facility_id: str, service_code: str, n: int) -> uuid.UUID:
    """The id the registry loader gives counter `n` of a service (see the repository)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"sihha:{facility_id}:{service_code}:{n}")


async def _waiting(connection: asyncpg.Connection, facility_id: str) -> dict[str, int]:
    rows = await connection.fetch(
        "SELECT service_code, count(*) AS n FROM tickets "
        "WHERE facility_id = $1 AND status = 'waiting' GROUP BY service_code ORDER BY 1",
        facility_id,
    )
    return {row["service_code"]: int(row["n"]) for row in rows}


async def _drain_outbox(connection: asyncpg.Connection, timeout: float) -> tuple[int, float]:
    """Wait until the relay has published every outbox row → (rows left then, seconds)."""
    started = time.perf_counter()
    while True:
        left = int(
            await connection.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        )
        elapsed = time.perf_counter() - started
        if left == 0 or elapsed > timeout:
            return left, elapsed
        await asyncio.sleep(0.1)


async def _declare_sink(config: BenchConfig, topology: Topology) -> None:
    """A quorum queue bound to the service's exchange: where the reporting inbox would be."""
    connection = await aio_pika.connect(config.amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            topology.events_exchange("queue"), aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            topology.inbox_queue(_SINK), durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(exchange, routing_key="#")


async def _sink_depth(config: BenchConfig, topology: Topology) -> int | None:
    with contextlib.suppress(Exception):
        connection = await aio_pika.connect(config.amqp_url, timeout=10)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(topology.inbox_queue(_SINK), passive=True)
            return int(queue.declaration_result.message_count or 0)
    return None


class _Counters:
    """The call clinic's counters (two per service, as the registry loader creates them),
    each with its own keep-alive connection, busy with at most one cycle at a time."""

    def __init__(self, port: int, agent: str, reception: str, services: set[str]) -> None:
        self.ids = {
            service: [_counter_id(CALL_CLINIC, service, n) for n in (1, 2)] for service in services
        }
        every = [counter for pair in self.ids.values() for counter in pair]
        self.clients = {counter: _Client(port) for counter in every}
        self.locks = {counter: asyncio.Lock() for counter in every}
        self.turns: Counter[str] = Counter()
        self.agent = {"Authorization": f"Bearer {agent}"}
        self.reception = {"Authorization": f"Bearer {reception}"}

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()

    @staticmethod
    async def _post(
        result: LoadResult | None,
        client: _Client,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
    ) -> bytes | None:
        """POST; recorded in `result` unless None (as `bench.load` does: errors counted,
        successful requests timed). The body of a 2xx answer, else None."""
        began = time.perf_counter()
        try:
            status, content = await client.request("POST", path, headers, body)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, _HttpError) as error:
            if result is not None:
                result.errors[type(error).__name__] += 1
            return None
        if result is not None:
            result.statuses[status] += 1
            if 200 <= status < 300:
                result.latencies.append(time.perf_counter() - began)
        return content if 200 <= status < 300 else None

    async def cycle(self, patient: Patient, sink: Cycles | None, due: float) -> None:
        """`patient` picks the service (its two counters take turns): call-next, start,
        complete, then the patient's own ticket. `sink` None: not recorded (warm-up)."""
        pair = self.ids[patient.service_code]
        counter = pair[self.turns[patient.service_code] % len(pair)]
        self.turns[patient.service_code] += 1
        client, base = self.clients[counter], f"/establishments/{CALL_CLINIC}"

        def into(name: str) -> LoadResult | None:
            if sink is None:
                return None
            return sink.calls if name == "call-next" else sink.actions[name]

        async with self.locks[counter]:
            if sink is not None:
                sink.cycles += 1
                sink.late += time.perf_counter() - due > 0.1
            path = f"{base}/counters/{counter}/call-next"
            answer = await self._post(into("call-next"), client, path, self.agent)
            ticket = json.loads(answer)["ticket"] if answer is not None else None
            if ticket is None:
                if sink is not None and answer is not None:
                    sink.empty += 1
                return
            for action in ("start", "complete"):
                path = f"{base}/tickets/{ticket['ticket_id']}/{action}"
                await self._post(into(action), client, path, self.agent)
            body = json.dumps({"service_code": patient.service_code, "priority": patient.priority})
            path = f"{base}/tickets"
            await self._post(into("issue (refill)"), client, path, self.reception, body.encode())


async def _paced_cycles(
    counters: _Counters,
    stream: list[Patient],
    *,
    rate: float,
    seconds: float,
    warmup_seconds: float = 1.0,
) -> Cycles:
    """Open loop: a cycle is due every 1/rate s, whether the previous ones are done or not
    (a cycle whose counter is still busy waits for it: counted as late)."""
    sink = Cycles.new("paced", rate)
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    index = 0
    try:
        while (due := start + index / rate) < start + warmup_seconds + seconds:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            recording = due - start >= warmup_seconds
            patient = stream[index % len(stream)]
            task = asyncio.create_task(counters.cycle(patient, sink if recording else None, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            index += 1
        if tasks:
            await asyncio.wait(tasks, timeout=30)
    finally:
        for task in tasks:
            task.cancel()
    sink.finish(time.perf_counter() - start - warmup_seconds)
    return sink


async def _cycles_alone(
    counters: _Counters, stream: list[Patient], *, n: int, timeout: float
) -> Cycles:
    """One cycle at a time: what the requests cost with nothing else to wait for."""
    sink = Cycles.new("alone", None)
    start = time.perf_counter()
    for index in range(n):
        if time.perf_counter() - start > timeout:
            break
        await counters.cycle(stream[index % len(stream)], sink, time.perf_counter())
    sink.finish(time.perf_counter() - start)
    return sink


def _progress(message: str) -> None:
    print(f"  queue: {message}", file=sys.stderr, flush=True)


#: the tokens a run needs, by name: (subject, roles, establishments)
_TOKENS: dict[str, tuple[str, list[str], list[str]]] = {
    **{
        f"reception:{clinic}": (f"bench:reception:{clinic}", [Role.receptionist.value], [clinic])
        for clinic in (ISSUE_CLINIC, CALL_CLINIC)
    },
    "agent": (f"bench:counter:{CALL_CLINIC}", [Role.counter_agent.value], [CALL_CLINIC]),
}


async def run_queue(
    config: BenchConfig,
    *,
    seconds: float = 10.0,
    concurrency: int = 16,
    rate: float = 100.0,
    waiting: int = 1000,
    call_rate: float = 25.0,
    alone_cycles: int = 100,
    trees: list[ServiceTree] | None = None,
    rounds: int = 1,
    failures: dict[str, str] | None = None,
) -> dict[str, list[QueueResult]]:
    """Each service of `trees` (default: this tree's), `rounds` times, between runs of the
    baseline: B, S1, B, S2, B … (each baseline also runs right after a service's closed
    loop). A service's ratio is to the mean of the baselines just before and after its
    closed loop. Every other round runs the services in reverse order, so that a machine
    that speeds up or slows down over the run favours none. → results by tree label; with
    `failures`, a service that fails is recorded there and the others still run."""
    trees = trees or [ServiceTree.this()]
    results: dict[str, list[QueueResult]] = {tree.label: [] for tree in trees}

    async def baseline() -> tuple[LoadResult, float | None]:
        _progress(f"baseline (bench.http_app), {concurrency} connections, {seconds:.0f} s")
        return await measure_baseline(config, seconds=seconds, concurrency=concurrency)

    last = await baseline()
    for round_number in range(rounds):
        order = trees if round_number % 2 == 0 else list(reversed(trees))
        for index, tree in enumerate(order):
            purpose = f"queue{round_number}{index}"
            _progress(f"round {round_number + 1}/{rounds}: {tree.label} ({tree.root})")
            try:
                result = await _run_service(
                    config,
                    tree,
                    purpose,
                    last,
                    baseline,
                    seconds=seconds,
                    concurrency=concurrency,
                    rate=rate,
                    waiting=waiting,
                    call_rate=call_rate,
                    alone_cycles=alone_cycles,
                )
            except Exception as error:  # the other services are still measured
                if failures is None:
                    raise
                failures[f"{tree.label}, round {round_number + 1}"] = (
                    f"{type(error).__name__}: {error}"
                )
                _progress(f"{tree.label} failed: {error}")
                last = await baseline()
                continue
            results[tree.label].append(result)
            last = (result.baseline_after, result.baseline_after_cpu_us)  # type: ignore[assignment]
    return {label: runs for label, runs in results.items() if runs}


async def _run_service(
    config: BenchConfig,
    tree: ServiceTree,
    purpose: str,
    before: tuple[LoadResult, float | None],
    baseline_again: Callable[[], Awaitable[tuple[LoadResult, float | None]]],
    *,
    seconds: float,
    concurrency: int,
    rate: float,
    waiting: int,
    call_rate: float,
    alone_cycles: int,
) -> QueueResult:
    began = time.perf_counter()
    database_url = config.database(purpose)
    namespace = config.namespace(purpose)
    topology = Topology(namespace)
    checks: dict[str, Any] = {}
    await ensure_database(database_url)
    try:
        with tempfile.TemporaryDirectory(prefix="sihha-bench-keys-") as keys:
            auth_env, tokens = await _tree_auth(tree, Path(keys), _TOKENS)
            await _declare_sink(config, topology)
            port = _free_port()
            env = {
                **tree.environment(),
                "QUEUE_DATABASE_URL": database_url,
                "QUEUE_AMQP_URL": config.amqp_url,
                "QUEUE_BROKER_NAMESPACE": namespace,
                "QUEUE_HTTP_HOST": "127.0.0.1",
                "QUEUE_HTTP_PORT": str(port),
                "QUEUE_HTTP_WORKERS": str(tree.workers),
                **auth_env,
                "QUEUE_PSEUDONYM_KEY_PATH": str(Path(keys) / "pseudonym.key"),
                "QUEUE_LOG_LEVEL": "WARNING",
                "QUEUE_CLOCK_START": SIMULATED_START,
                "QUEUE_CLOCK_SPEED": "1",
                "QUEUE_CLOCK_ANCHOR": repr(time.time()),
            }
            if tree.relay == "separate":
                # the serving process leaves its relay out; one relay process beside it
                # polls the outbox often enough that events wait for it no longer than a
                # commit waits for the in-process relay's coalescing (15 ms)
                env |= {"QUEUE_OUTBOX_RELAY": "separate", "QUEUE_OUTBOX_POLL_SECONDS": "0.02"}
            _progress(f"starting python -m sihha_queue ({tree.label})")
            command = [tree.python, "-m", "sihha_queue"]
            async with (
                _process(
                    command, env, port, "/health/ready", cwd=tree.root, timeout=120
                ) as process,
                _relay_process(tree, env) as relay,
            ):
                measured = await _measure_service(
                    baseline_again,
                    (process.pid,) if relay is None else (process.pid, relay.pid),
                    port,
                    tokens,
                    database_url,
                    checks,
                    seconds=seconds,
                    concurrency=concurrency,
                    rate=rate,
                    waiting=waiting,
                    call_rate=call_rate,
                    alone_cycles=alone_cycles,
                )
            checks["sink_messages"] = await _sink_depth(config, topology)
    finally:
        with contextlib.suppress(Exception):
            await drop_database(database_url)
        await delete_broker_names(
            config.amqp_url,
            queues=[
                topology.inbox_queue(_SINK),
                topology.inbox_queue("queue"),
                topology.dead_letter_queue("queue"),
            ],
            exchanges=[
                topology.events_exchange("queue"),
                topology.events_exchange("appointments"),
                topology.dead_letter_exchange("queue"),
            ],
        )
    checks["seconds_total"] = round(time.perf_counter() - began, 1)
    issue, issue_cpu, (after, after_cpu), opened, call = measured
    server = {
        "tree": tree.label,
        "root": str(tree.root),
        "app": "python -m sihha_queue (as deployed: outbox relay, board feed, consumer inside)",
        "uvicorn_workers": tree.workers,
        "outbox_relay": tree.relay,
        "loop": "uvloop" if _has("uvloop") else "asyncio",
        "http": "httptools" if _has("httptools") else "h11",
        "database_pool": "the service's default, per worker",
        "simulated_clock": SIMULATED_START,
        "issue_clinic": ISSUE_CLINIC,
        "call_clinic": CALL_CLINIC,
        "traffic": f"sihha_runner.traffic.patients(seed={TRAFFIC_SEED})",
        "events_to": f"quorum queue {topology.inbox_queue(_SINK)} bound to '#'",
    }
    base, base_cpu = before
    return QueueResult(
        server, base, base_cpu, after, after_cpu, issue, issue_cpu, opened, call, checks
    )


async def _measure_service(
    baseline_again: Callable[[], Awaitable[tuple[LoadResult, float | None]]],
    pids: tuple[int, ...],
    port: int,
    tokens: Mapping[str, str],
    database_url: str,
    checks: dict[str, Any],
    *,
    seconds: float,
    concurrency: int,
    rate: float,
    waiting: int,
    call_rate: float,
    alone_cycles: int,
) -> tuple[LoadResult, float | None, tuple[LoadResult, float | None], LoadResult, CallNextResult]:
    reception = {clinic: tokens[f"reception:{clinic}"] for clinic in (ISSUE_CLINIC, CALL_CLINIC)}
    agent = tokens["agent"]
    issue_bodies = _bodies(patients(TRAFFIC_SEED, ISSUE_PATIENTS, [ISSUE_CLINIC]))
    cycles = int(call_rate * (seconds + 1)) + alone_cycles + 100
    call_stream = patients(TRAFFIC_SEED + 1, waiting + cycles, [CALL_CLINIC])
    url = f"http://127.0.0.1:{port}/establishments/{ISSUE_CLINIC}/tickets"
    headers = {"Authorization": f"Bearer {reception[ISSUE_CLINIC]}"}
    sent = iter(range(10**9))  # one stream of patients through both issuing phases

    def issue_body(_: int) -> bytes:
        return issue_bodies[next(sent) % len(issue_bodies)]

    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    marks: dict[str, int] = {}  # last outbox id after each phase: the relay's batches

    async def mark(phase: str) -> None:
        marks[phase] = int(await connection.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))

    try:
        await mark("start")
        _progress(f"1. issuing, {concurrency} connections, {seconds:.0f} s")
        issue, issue_cpu = await with_cpu(
            pids,
            run_load(url, method="POST", body=issue_body, headers=headers,
                     concurrency=concurrency, seconds=seconds),
        )  # fmt: skip
        await mark("closed loop")
        left, drained = await _drain_outbox(connection, timeout=30)
        checks["outbox_after_closed_loop"] = {
            "unpublished": left,
            "drained_in_s": round(drained, 2),
        }
        _progress(f"baseline again (the service idle), {concurrency} connections, {seconds:.0f} s")
        again = await baseline_again()

        _progress(f"2. issuing at {rate:.0f} req/s, {seconds:.0f} s")
        opened, open_cpu = await with_cpu(
            pids,
            run_load(url, method="POST", body=issue_body, headers=headers,
                     rate=rate, seconds=seconds, timeout=OPEN_TIMEOUT),
        )  # fmt: skip
        checks["open_loop_cpu_us_per_request"] = open_cpu
        await mark("open loop")
        await _drain_outbox(connection, timeout=15)

        _progress(f"3. filling {CALL_CLINIC} with {waiting} waiting tickets")
        fill_bodies = _bodies(call_stream[:waiting])
        filled = time.perf_counter()
        fill = await run_load(
            f"http://127.0.0.1:{port}/establishments/{CALL_CLINIC}/tickets",
            method="POST",
            body=lambda i: fill_bodies[i],
            headers={"Authorization": f"Bearer {reception[CALL_CLINIC]}"},
            concurrency=concurrency,
            seconds=120,
            warmup_seconds=0,
            max_requests=waiting,
        )
        checks["fill"] = {"seconds": round(time.perf_counter() - filled, 2), "failed": fill.failed}
        await _drain_outbox(connection, timeout=15)
        await mark("fill")
        before = await _waiting(connection, CALL_CLINIC)
        if sum(before.values()) != waiting:
            raise RuntimeError(
                f"{sum(before.values())} tickets waiting, not {waiting}: {before}; the fill's "
                f"answers {dict(fill.statuses)}, errors {dict(fill.errors)}"
            )

        stream = call_stream[waiting:]
        counters = _Counters(port, agent, reception[CALL_CLINIC], {p.service_code for p in stream})
        try:
            _progress(f"3. call-next, {call_rate:.0f} cycles/s, {seconds:.0f} s")
            cpu_before = process_seconds(*pids)
            paced = await _paced_cycles(counters, stream, rate=call_rate, seconds=seconds)
            # the warm-up second's cycles ran on the same CPU
            paced.cpu_us_per_cycle = per_item_us(
                process_seconds(*pids) - cpu_before, paced.cycles + call_rate
            )
            await mark("call-next paced")
            _progress(f"3. call-next alone, {alone_cycles} cycles one at a time")
            offset = int(call_rate * (seconds + 1))
            cpu_before = process_seconds(*pids)
            alone = await _cycles_alone(
                counters, stream[offset:], n=alone_cycles, timeout=ALONE_SECONDS
            )
            alone.cpu_us_per_cycle = per_item_us(process_seconds(*pids) - cpu_before, alone.cycles)
            await mark("call-next alone")
        finally:
            await counters.close()
        after = await _waiting(connection, CALL_CLINIC)
        left, _ = await _drain_outbox(connection, timeout=15)
        checks["outbox_unpublished_at_end"] = left
        checks["relay_events_per_transaction"] = await _relay_batches(connection, marks)
        checks["tickets"] = int(await connection.fetchval("SELECT count(*) FROM tickets"))
        checks["outbox_rows"] = int(await connection.fetchval("SELECT count(*) FROM outbox"))
    finally:
        await connection.close()
    return issue, issue_cpu, again, opened, CallNextResult(paced, alone, before, after)


async def _relay_batches(connection: asyncpg.Connection, marks: dict[str, int]) -> dict[str, Any]:
    """Events per relay transaction in each phase: the relay marks a batch sent with one
    `now()`, so rows per distinct `published_at` is its batch size."""
    found: dict[str, Any] = {}
    for (_, low), (phase, high) in itertools.pairwise(marks.items()):
        rows, batches = await connection.fetchrow(
            "SELECT count(*), count(DISTINCT published_at) FROM outbox WHERE id > $1 AND id <= $2",
            low,
            high,
        )
        found[phase] = round(rows / batches, 2) if batches else None
    return found
