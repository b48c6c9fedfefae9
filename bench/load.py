"""A lean HTTP/1.1 keep-alive load generator on asyncio, for loopback benchmarks.

`run_load(url, concurrency=16, seconds=10)` keeps 16 connections busy (closed loop:
each sends its next request when the previous answer is in) and reports throughput
and latency. `run_load(url, rate=100, seconds=10)` sends 100 requests a second on a
fixed schedule whatever the answers (open loop); a request's latency counts from
when it was due, so a slow server cannot hide its queueing (no coordinated omission).

It speaks just enough HTTP/1.1 for our own services: one request at a time per
connection, `Content-Length` or chunked answers, reconnecting when the server
closes. Everything is bounded: by `seconds`, by `max_requests`, and per request by
`timeout`. Its own ceiling on this machine is measured by `bench http` against a
server that does nothing (see README).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: an idle keep-alive connection older than this is not reused (servers close theirs:
#: uvicorn after 5 s)
STALE_AFTER = 3.0

BodyFactory = Callable[[int], bytes]
#: the i-th request's path (with its query) and its own headers, when requests differ
RequestFactory = Callable[[int], tuple[str, Mapping[str, str]]]


class HttpError(Exception):
    """The server's answer could not be read as HTTP/1.1."""


@dataclass
class LoadResult:
    mode: str  # "closed" (fixed concurrency) or "open" (fixed rate)
    seconds: float
    concurrency: int | None
    rate: float | None
    latencies: list[float] = field(repr=False)  # of the timed (successful) requests, in seconds
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # transport errors by kind
    connections: int = 0  # opened during the run
    #: the machine's CPU µs per successful request while it ran, by who spent it
    #: (`bench.cpu.with_machine_cpu`; empty unless measured)
    machine: dict[str, float | None] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    @property
    def ok(self) -> int:
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    @property
    def failed(self) -> int:
        return self.requests - self.ok

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float | None:
        """Latency (seconds) below which p % of the successful requests fall (nearest rank)."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        rank = math.ceil(p / 100 * len(ordered))  # nearest rank, 1-based
        return ordered[max(0, min(len(ordered), rank) - 1)]

    def summary(self) -> dict[str, Any]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 3)

        return {
            "mode": self.mode,
            "seconds": round(self.seconds, 3),
            "concurrency": self.concurrency,
            "rate": self.rate,
            "requests": self.requests,
            "ok": self.ok,
            "failed": self.failed,
            "throughput": round(self.throughput, 1),
            "p50_ms": ms(self.percentile(50)),
            "p90_ms": ms(self.percentile(90)),
            "p99_ms": ms(self.percentile(99)),
            "max_ms": ms(max(self.latencies) if self.latencies else None),
            "statuses": {str(status): count for status, count in sorted(self.statuses.items())},
            "errors": dict(self.errors),
            "connections": self.connections,
            "machine_cpu_us_per_request": self.machine,
        }


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    path: str
    method: str
    head: bytes  # request line and fixed headers, without Content-Length
    fixed: bytes  # the fixed header lines alone (Host first)

    @classmethod
    def parse(cls, url: str, method: str, headers: Mapping[str, str]) -> _Target:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only plain http://host[:port]/path URLs are supported: {url}")
        port = parts.port or 80
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        lines = [f"Host: {parts.hostname}:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        fixed = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        head = f"{method.upper()} {path} HTTP/1.1\r\n".encode("latin-1") + fixed
        return cls(parts.hostname, port, path, method.upper(), head, fixed)

    def head_for(self, path: str, headers: Mapping[str, str]) -> bytes:
        """The request line and headers of one request to another `path` of the server,
        with `headers` besides the fixed ones."""
        lines = [f"{self.method} {path} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n").encode("latin-1") + self.fixed

    def request(self, body: bytes | None, head: bytes | None = None) -> bytes:
        head = self.head if head is None else head
        if body is None:
            return head + b"\r\n"
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


class _Connection:
    """One keep-alive connection; `exchange` sends a request and reads the whole answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.open = True
        self.idle_since = time.perf_counter()

    @classmethod
    async def connect(cls, target: _Target) -> _Connection:
        reader, writer = await asyncio.open_connection(target.host, target.port)
        return cls(reader, writer)

    async def exchange(self, request: bytes, head_only: bool) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        try:
            status = int(status_line.split(b" ", 2)[1])
        except (IndexError, ValueError) as error:
            raise HttpError(f"bad status line {status_line[:80]!r}") from error
        length: int | None = None
        chunked = False
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and value.strip().lower() == b"close":
                self.open = False
        if head_only or status in (204, 304) or 100 <= status < 200:
            return status
        if chunked:
            await self._skip_chunks()
        elif length is not None:
            await self.reader.readexactly(length)
        else:  # the body runs to the end of the connection
            await self.reader.read()
            self.open = False
        return status

    async def _skip_chunks(self) -> None:
        while True:
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            await self.reader.readexactly(size + 2)  # the chunk and its CRLF
            if size == 0:
                return

    async def close(self) -> None:
        self.open = False
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


class _Run:
    """What the workers share: the target, the clock, the results."""

    def __init__(
        self,
        target: _Target,
        body: BodyFactory | None,
        timeout: float,
        result: LoadResult,
        max_requests: int,
        vary: RequestFactory | None = None,
        timed: Callable[[int], bool] = lambda status: 200 <= status < 300,
    ) -> None:
        self.target = target
        self.body = body
        self.vary = vary
        self.timed = timed
        self.timeout = timeout
        self.result = result
        self.max_requests = max_requests
        self.issued = 0
        self.idle: list[_Connection] = []
        self.recording = True

    def take_idle(self) -> _Connection | None:
        """The most recently used idle connection, or None (then `send` opens one). One
        idle for longer than `STALE_AFTER` is closed instead: the server may be closing it
        at that very moment (uvicorn's keep-alive timeout is 5 s), and a request written
        into a closing connection fails as if the server had."""
        while self.idle:
            connection = self.idle.pop()
            if time.perf_counter() - connection.idle_since < STALE_AFTER:
                return connection
            connection.writer.close()
            connection.open = False
        return None

    def park(self, connection: _Connection) -> None:
        connection.idle_since = time.perf_counter()
        self.idle.append(connection)

    def next_request(self) -> bytes | None:
        if self.issued >= self.max_requests:
            return None
        index = self.issued
        self.issued += 1
        head = None
        if self.vary is not None:
            path, headers = self.vary(index)
            head = self.target.head_for(path, headers)
        return self.target.request(self.body(index) if self.body is not None else None, head)

    async def send(self, connection: _Connection | None, request: bytes, due: float) -> bool:
        """One request on `connection` (or a new one); record it. True if it went through."""
        try:
            async with asyncio.timeout(self.timeout):
                if connection is None or not connection.open:
                    connection = await _Connection.connect(self.target)
                    self.result.connections += 1
                status = await connection.exchange(request, head_only=self.target.method == "HEAD")
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            HttpError,
        ) as error:
            self._record_error(type(error).__name__, connection)
            return False
        except TimeoutError:
            self._record_error("Timeout", connection)
            return False
        elapsed = time.perf_counter() - due
        if self.recording:
            self.result.statuses[status] += 1
            if self.timed(status):
                self.result.latencies.append(elapsed)
        if connection.open:
            self.park(connection)
        else:
            await connection.close()
        return True

    def _record_error(self, kind: str, connection: _Connection | None) -> None:
        if self.recording:
            self.result.errors[kind] += 1
        if connection is not None:
            connection.writer.close()
            connection.open = False


async def _closed_loop(run: _Run, concurrency: int, deadline: float) -> None:
    async def worker() -> None:
        connection: _Connection | None = None
        while time.perf_counter() < deadline:
            request = run.next_request()
            if request is None:
                return
            if await run.send(connection, request, time.perf_counter()):
                connection = run.take_idle()
            else:
                connection = None
                await asyncio.sleep(0.01)  # a refused connection must not spin
        if connection is not None:
            run.park(connection)  # kept open for the next phase, closed at the end

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _open_loop(run: _Run, rate: float, start: float, deadline: float, cap: int) -> None:
    in_flight: set[asyncio.Task[bool]] = set()
    slots = asyncio.Semaphore(cap)
    interval = 1.0 / rate
    index = 0

    async def one(request: bytes, due: float) -> bool:
        async with slots:
            connection = run.take_idle()
            return await run.send(connection, request, due)

    while True:
        due = start + index * interval
        if due >= deadline:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        request = run.next_request()
        if request is None:
            break
        task = asyncio.create_task(one(request, due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        index += 1
    if in_flight:
        await asyncio.wait(in_flight, timeout=run.timeout + 1)


async def run_load(
    url: str,
    *,
    method: str = "GET",
    body: BodyFactory | None = None,
    headers: Mapping[str, str] | None = None,
    vary: RequestFactory | None = None,
    timed: Callable[[int], bool] | None = None,
    concurrency: int | None = None,
    rate: float | None = None,
    seconds: float = 10.0,
    warmup_seconds: float = 1.0,
    max_requests: int = 5_000_000,
    max_connections: int = 256,
    timeout: float = 10.0,
) -> LoadResult:
    """Load `url` for `seconds` at a fixed `concurrency` (closed loop) or a fixed `rate` in
    requests per second (open loop), after `warmup_seconds` of the same load not recorded.

    `body(i)` gives the body of the i-th request (JSON bodies get their content type
    when `headers` does not say); `vary(i)`, when requests differ by more than their
    body, its path (query included; the server is `url`'s) and headers of its own (e.g.
    each caller's token) besides `headers`; `timed(status)` says which answers are timed
    (default: 2xx; a race times its 409s too); connections are reused (HTTP/1.1 keep-alive). In open
    loop at most `max_connections` requests are in flight; a request that has to wait
    for one still counts its latency from when it was due.
    """
    if (concurrency is None) == (rate is None):
        raise ValueError("give either concurrency (closed loop) or rate (open loop)")
    if concurrency is not None and not 0 < concurrency <= max_connections:
        raise ValueError(f"concurrency must be in 1..{max_connections}")
    if rate is not None and not 0 < rate <= 1_000_000:
        raise ValueError("rate must be positive")
    all_headers = {"User-Agent": "sihha-bench", **(headers or {})}
    if body is not None and not any(name.lower() == "content-type" for name in all_headers):
        all_headers["Content-Type"] = "application/json"
    target = _Target.parse(url, method, all_headers)
    result = LoadResult(
        mode="closed" if concurrency is not None else "open",
        seconds=0.0,
        concurrency=concurrency,
        rate=rate,
        latencies=[],
    )
    run = _Run(target, body, timeout, result, max_requests, vary)
    if timed is not None:
        run.timed = timed

    async def phase(length: float) -> float:
        start = time.perf_counter()
        deadline = start + length
        if concurrency is not None:
            await _closed_loop(run, concurrency, deadline)
        else:
            assert rate is not None
            await _open_loop(run, rate, start, deadline, max_connections)
        return time.perf_counter() - start

    try:
        if warmup_seconds > 0:
            run.recording = False
            await phase(warmup_seconds)
            run.recording = True
            result.connections = 0
        result.seconds = await phase(seconds)
    finally:
        for connection in run.idle:
            await connection.close()
    return result


def json_body(make: Callable[[int], Any]) -> BodyFactory:
    """A body factory from a function giving the i-th request's JSON document."""
    return lambda index: json.dumps(make(index), separators=(",", ":")).encode()
