"""The appointments service's figures (issue 14), each beside a baseline measured in the
same run and loaded by the same generator (`bench.load`, as `bench queue` does):

    python -m bench.appointments_bench [--seconds S] [--clinics N] [--concurrency C]
        [--search-rate R] [--confirm-rate R] [--races 5] [--before TREE]

1. **The baseline**: `bench.http_app` (bare FastAPI + asyncpg, one INSERT per request,
   uvicorn with one worker) loaded in a closed loop at `C` connections (req/s, p50, p99,
   the server's CPU per request), in an open loop at the search rate (p99 counted from
   when each request was due), and by `races` bursts of 200 requests sent at once (the
   race's shape: p99 of each burst's 200 answers).
2. **The service** (`python -m sihha_appointments`, one process, as deployed: outbox
   relay, timers and consumer inside) on a fresh database and broker namespace, its
   events going to a quorum queue bound to its exchange (where reporting's inbox would
   be), with a year of schedules published through its API first: `N` polyclinics ×
   three specialties, 08:00–12:00 on working days, one patient per 30-minute slot, from
   tomorrow for 365 days (36 × 3 → 216,000 slots).
3. **Slot search**, one specialty over the wilaya and four weeks (the first page, 20
   slots, soonest first): closed loop at `C` → req/s beside the baseline's; open loop at
   `--search-rate` → p99 (target ≤ 50 ms).
4. **Confirmations** (holds made first, untimed; the confirm timed): closed loop at `C`
   → req/s beside the baseline's (target ≥ 50 %) and the machine's CPU per request
   beside the baseline's (`bench.cpu`); then, once the closed loop's events and text
   messages are sent, an open loop at `--confirm-rate` (100) → p99 (target ≤ 50 ms).
5. **The race**: 200 citizens hold the one place of one slot at the same instant (200
   connections, every request due at once, latency from then), for `races` slots one
   after the other → p99 of each race's 200 answers (target ≤ 200 ms). Checked, not
   timed: exactly one 201 and 199 × 409 per race, the slot holding exactly one booking,
   and a late loser's 409 `slot-full` offering the next free slots.

`--before TREE` also serves TREE's service (its own `.venv`, code and migrations)
through phases 2–5 in the same run, so that before and after sit beside the same
baseline. The table goes to stdout, progress to stderr, the figures as JSON to
`bench/results/appointments-latest.json` (not committed). Everything is bounded and the
databases and broker names are removed at the end, on failure too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import aio_pika
import asyncpg

from bench.cleanup import delete_broker_names
from bench.config import BenchConfig
from bench.cpu import ceilings, describe, process_seconds, with_machine_cpu
from bench.http_app import CREATE_TABLE, DATABASE_ENV, POOL_SIZE_ENV
from bench.http_baseline import ROOT, _free_port, _has, item_body
from bench.load import LoadResult, json_body, run_load
from bench.queue_bench import _Client, _process
from bench.trees import ServiceTree, run_in_tree
from sihha_kit.auth import Role
from sihha_kit.broker import Topology
from sihha_kit.clock import ALGIERS
from sihha_kit.db import asyncpg_dsn, drop_database, ensure_database
from sihha_kit.devtools import TokenIssuer, dev_environment

SEARCH_P99_TARGET_MS = 50.0
CONFIRM_SHARE_TARGET = 0.5
CONFIRM_P99_TARGET_MS = 50.0
RACE_P99_TARGET_MS = 200.0
SPECIALTIES = ("DERMA", "PED", "ORL")
RACERS = 200
_SINK = "bench-sink"


@dataclass
class Figures:
    """One server's results: load results by phase (the closed loops with the machine's
    CPU per request, `bench.cpu.with_machine_cpu`), checks."""

    label: str
    loads: dict[str, LoadResult] = field(default_factory=dict)
    races: list[LoadResult] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    def machine(self, phase: str) -> dict[str, float | None]:
        found = self.loads.get(phase)
        return found.machine if found is not None else {}

    def cpu(self, phase: str) -> float:
        """The server's CPU per request of a closed loop (µs; 0 when unknown)."""
        return self.machine(phase).get("server") or 0.0

    def race_p99s(self) -> list[float]:
        return [r.percentile(99) or 0.0 for r in self.races]

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            **{name: load.summary() for name, load in self.loads.items()},
            "races": [race.summary() for race in self.races],
            "checks": self.checks,
        }


def _progress(message: str) -> None:
    print(f"  appointments: {message}", file=sys.stderr, flush=True)


def _patient_key(n: int) -> str:
    return hashlib.sha256(f"bench-citizen-{n}".encode()).hexdigest()


class Citizens:
    """Tokens of distinct citizens, minted on demand (each books once in the run)."""

    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer
        self.next = 0
        self.by_key: dict[str, dict[str, str]] = {}

    def take(self, count: int) -> list[dict[str, str]]:
        out = []
        for n in range(self.next, self.next + count):
            key = _patient_key(n)
            token = self.issuer.mint(
                f"citizen:bench{n}", [Role.citizen], [], patient_key=key, ttl=timedelta(hours=2)
            )
            headers = {"Authorization": f"Bearer {token}"}
            self.by_key[key] = headers
            out.append(headers)
        self.next += count
        return out


async def _burst(url: str, count: int, **how: Any) -> LoadResult:
    """`count` requests all due at the same instant, each on its own new connection;
    latency from that instant, of every 201 and 409 answer."""
    return await run_load(
        url,
        rate=1_000_000.0,
        seconds=1.0,
        warmup_seconds=0,
        max_requests=count,
        max_connections=count,
        timeout=30.0,
        timed=lambda status: status in (201, 409),  # the losers' answers are timed too
        **how,
    )


# -- the baseline ---------------------------------------------------------------------------


async def baseline(
    config: BenchConfig, *, seconds: float, concurrency: int, rate: float, races: int, pool: int
) -> Figures:
    figures = Figures("bare INSERT")
    database_url = config.database("apptbase")
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
        env = {**os.environ, DATABASE_ENV: dsn, POOL_SIZE_ENV: str(pool)}
        url = f"http://127.0.0.1:{port}/items"
        async with _process(command, env, port, "/health") as process:
            _progress(f"baseline: closed loop at {concurrency}, {seconds:.0f} s")
            figures.loads["closed"], _ = await with_machine_cpu(
                (process.pid,),
                run_load(url, method="POST", body=item_body, concurrency=concurrency,
                         seconds=seconds),
            )  # fmt: skip
            _progress(f"baseline: open loop at {rate:.0f} req/s")
            figures.loads["open"] = await run_load(
                url, method="POST", body=item_body, rate=rate, seconds=seconds
            )
            _progress(f"baseline: {races} bursts of {RACERS}")
            for _ in range(races):
                burst, _ = await with_machine_cpu(
                    (process.pid,),
                    _burst(url, RACERS, method="POST", body=item_body),
                    every_answer=True,
                )
                figures.races.append(burst)
    finally:
        with contextlib.suppress(Exception):
            await drop_database(database_url)
    return figures


# -- the service ------------------------------------------------------------------------------


async def _declare_sink(config: BenchConfig, topology: Topology) -> None:
    """A quorum queue bound to the service's exchange: where reporting's inbox would be
    (without it the broker returns every event and the relay counts it as failed)."""
    connection = await aio_pika.connect(config.amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            topology.events_exchange("appointments"), aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(
            topology.inbox_queue(_SINK), durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(exchange, routing_key="#")


def _schedule_body(specialty: str, n: int, first: date) -> dict[str, Any]:
    return {
        "specialty_code": specialty,
        "practitioner_ref": f"dr-{specialty.lower()}-{n:04d}",
        "room": "B1",
        "periods": [
            {"weekday": day, "starts": "08:00", "ends": "12:00"}
            for day in ("sun", "mon", "tue", "wed", "thu")
        ],
        "slot_minutes": 30,
        "places_per_slot": 1,
        "effective_from": first.isoformat(),
        "effective_to": (first + timedelta(days=364)).isoformat(),
    }


async def service(
    config: BenchConfig,
    tree: ServiceTree,
    *,
    seconds: float,
    concurrency: int,
    search_rate: float,
    confirm_rate: float,
    races: int,
    clinics: int,
    pool: int | None,
) -> Figures:
    figures = Figures(tree.label)
    purpose = f"appt{len(tree.label)}{abs(hash(tree.root)) % 1000}"
    database_url = config.database(purpose)
    namespace = config.namespace(purpose)
    topology = Topology(namespace)
    began = time.perf_counter()
    await ensure_database(database_url)
    try:
        with tempfile.TemporaryDirectory(prefix="sihha-bench-appt-") as directory:
            keys = Path(directory)
            await run_in_tree(tree, "-m", "sihha_kit.devtools", "keys", "--dir", str(keys))
            issuer = TokenIssuer.from_directory(keys)
            await _declare_sink(config, topology)
            port = _free_port()
            env = {
                **tree.environment(),
                "APPOINTMENTS_DATABASE_URL": database_url,
                "APPOINTMENTS_AMQP_URL": config.amqp_url,
                "APPOINTMENTS_BROKER_NAMESPACE": namespace,
                "APPOINTMENTS_HTTP_HOST": "127.0.0.1",
                "APPOINTMENTS_HTTP_PORT": str(port),
                **dev_environment("APPOINTMENTS_", keys, issuer="appointments"),
                "APPOINTMENTS_PSEUDONYM_KEY_PATH": str(keys / "pseudonym.key"),
                "APPOINTMENTS_SECRET_PATH": str(keys / "secret.key"),
                "APPOINTMENTS_SMS_SINK_PATH": str(keys / "sms.jsonl"),
                "APPOINTMENTS_HOLD_MINUTES": "120",
                # the abuse limits would refuse a benchmark's one address at once
                "APPOINTMENTS_SEARCHES_PER_MINUTE": "10000000",
                "APPOINTMENTS_HOLDS_PER_HOUR": "10000000",
                "APPOINTMENTS_URGENT_SHARE": "0",
                "APPOINTMENTS_LOG_LEVEL": "WARNING",
            }
            if pool is not None:
                env["APPOINTMENTS_DATABASE_POOL_SIZE"] = str(pool)
            _progress(f"starting python -m sihha_appointments ({tree.label})")
            command = [tree.python, "-m", "sihha_appointments"]
            async with _process(
                command, env, port, "/health/ready", cwd=tree.root, timeout=120
            ) as process:
                connection = await asyncpg.connect(asyncpg_dsn(database_url))
                try:
                    await _measure(
                        figures, process.pid, port, issuer, connection,
                        seconds=seconds, concurrency=concurrency, search_rate=search_rate,
                        confirm_rate=confirm_rate, races=races, clinics=clinics,
                    )  # fmt: skip
                finally:
                    await connection.close()
    finally:
        with contextlib.suppress(Exception):
            await drop_database(database_url)
        await delete_broker_names(
            config.amqp_url,
            queues=[
                topology.inbox_queue(_SINK),
                topology.inbox_queue("appointments"),
                topology.dead_letter_queue("appointments"),
            ],
            exchanges=[
                topology.events_exchange("appointments"),
                topology.events_exchange("queue"),
                topology.dead_letter_exchange("appointments"),
            ],
        )
    figures.checks["seconds_total"] = round(time.perf_counter() - began, 1)
    return figures


async def _measure(
    figures: Figures,
    pid: int,
    port: int,
    issuer: TokenIssuer,
    db: asyncpg.Connection,
    *,
    seconds: float,
    concurrency: int,
    search_rate: float,
    confirm_rate: float,
    races: int,
    clinics: int,
) -> None:
    base = f"http://127.0.0.1:{port}"
    citizens = Citizens(issuer)
    tomorrow = datetime.now(ALGIERS).date() + timedelta(days=1)

    # a year of schedules, through the API
    _progress(f"a year of schedules: {clinics} polyclinics × {len(SPECIALTIES)} specialties")
    plan = [
        (f"31-PC-{c:03d}", specialty) for c in range(1, clinics + 1) for specialty in SPECIALTIES
    ]
    schedulers = {
        code: {"Authorization": f"Bearer {issuer.mint(f'scheduler:{code}', [Role.scheduler], [code])}"}
        for code, _ in plan
    }  # fmt: skip
    started = time.perf_counter()
    published = await run_load(
        f"{base}/establishments/31-PC-001/schedules",
        method="POST",
        vary=lambda i: (f"/establishments/{plan[i][0]}/schedules", schedulers[plan[i][0]]),
        body=json_body(lambda i: _schedule_body(plan[i][1], i, tomorrow)),
        concurrency=4,
        seconds=600,
        warmup_seconds=0,
        max_requests=len(plan),
        timeout=120,
    )
    if published.ok != len(plan):
        raise RuntimeError(f"publishing the schedules failed: {published.summary()}")
    figures.checks["schedules"] = {
        "schedules": len(plan),
        "slots": int(await db.fetchval("SELECT count(*) FROM slots")),
        "seconds": round(time.perf_counter() - started, 1),
    }
    await db.execute("ANALYZE")  # as autovacuum would have, long before a citizen searches

    # slot search
    searcher = citizens.take(1)[0]
    query = f"specialty=DERMA&from={tomorrow.isoformat()}&to={(tomorrow + timedelta(days=28)).isoformat()}"
    search_url = f"{base}/slots?{query}"
    _progress(f"search: closed loop at {concurrency}, {seconds:.0f} s")
    figures.loads["search_closed"], _ = await with_machine_cpu(
        (pid,), run_load(search_url, headers=searcher, concurrency=concurrency, seconds=seconds)
    )
    _progress(f"search: open loop at {search_rate:.0f} req/s, {seconds:.0f} s")
    figures.loads["search_open"] = await run_load(
        search_url, headers=searcher, rate=search_rate, seconds=seconds
    )

    # holds to confirm (not timed), then confirmations
    closed_n = int(600 * (seconds + 1))
    open_n = int(confirm_rate * (seconds + 1)) + 10
    slot_ids = [
        row["slot_id"]
        for row in await db.fetch(
            "SELECT slot_id FROM slots WHERE specialty_code = 'PED' AND starts_at > now()"
            " ORDER BY starts_at LIMIT $1",
            closed_n + open_n,
        )
    ]
    holders = citizens.take(len(slot_ids))
    _progress(f"{len(slot_ids)} holds to confirm (not timed)")
    made = await run_load(
        f"{base}/holds",
        method="POST",
        vary=lambda i: ("/holds", holders[i]),
        body=json_body(lambda i: {"slot_id": str(slot_ids[i])}),
        concurrency=concurrency,
        seconds=600,
        warmup_seconds=0,
        max_requests=len(slot_ids),
    )
    figures.checks["holds_made"] = made.summary()
    held = [
        (row["booking_id"], citizens.by_key[row["patient_key"].strip()])
        for row in await db.fetch(
            "SELECT booking_id, patient_key FROM bookings WHERE status = 'held'"
            " AND specialty_code = 'PED' ORDER BY held_at"
        )
    ]
    for_open, for_closed = held[:open_n], held[open_n:]

    def confirm_of(holds: list[tuple[UUID, dict[str, str]]]) -> Any:
        return lambda i: (f"/holds/{holds[i][0]}/confirm", holds[i][1])

    _progress(f"confirmations: closed loop at {concurrency}, {seconds:.0f} s")
    figures.loads["confirm_closed"], _ = await with_machine_cpu(
        (pid,),
        run_load(f"{base}/holds", method="POST", vary=confirm_of(for_closed),
                 concurrency=concurrency, seconds=seconds, max_requests=len(for_closed)),
    )  # fmt: skip
    # a loop that ran out of holds ends early: its rate is over the time it ran
    figures.checks["confirm_closed_seconds"] = round(figures.loads["confirm_closed"].seconds, 2)
    # the open loop measures a steady 100 a second, not the closed loop's backlog: the
    # events and text messages of its thousands of confirmations are sent first
    figures.checks["settled_before_open_loop_s"] = await _settle(db, timeout=120)
    _progress(f"confirmations: open loop at {confirm_rate:.0f} req/s, {seconds:.0f} s")
    figures.loads["confirm_open"] = await run_load(
        f"{base}/holds", method="POST", vary=confirm_of(for_open),
        rate=confirm_rate, seconds=seconds, max_requests=len(for_open),
    )  # fmt: skip

    # the race, the service otherwise idle: what the confirmations left to do in the
    # background (their events to publish, their text messages to send) is done first
    figures.checks["settled_before_race_s"] = await _settle(db, timeout=60)
    _progress(f"the race: {RACERS} holds at once for the one place of a slot, {races} slots")
    raced = [
        row["slot_id"]
        for row in await db.fetch(
            "SELECT slot_id FROM slots WHERE specialty_code = 'ORL' AND starts_at > now()"
            " ORDER BY starts_at LIMIT $1",
            races,
        )
    ]
    winners, offered = [], []
    client = _Client(port, timeout=30)
    try:
        for slot_id in raced:
            racers = citizens.take(RACERS)
            # each racer has searched first, as the booking page makes them: the
            # service has seen their token (not timed)
            await run_load(
                search_url, vary=lambda i, racers=racers: (f"/slots?{query}", racers[i]),
                concurrency=concurrency, seconds=60, warmup_seconds=0, max_requests=RACERS,
            )  # fmt: skip
            body = json.dumps({"slot_id": str(slot_id)}).encode()
            result, _ = await with_machine_cpu(
                (pid,),
                _burst(
                    f"{base}/holds",
                    RACERS,
                    method="POST",
                    vary=lambda i, racers=racers: ("/holds", racers[i]),
                    body=lambda i, body=body: body,
                ),
                every_answer=True,
            )
            figures.races.append(result)
            statuses = dict(result.statuses)
            if statuses != {201: 1, 409: RACERS - 1} or result.errors:
                raise RuntimeError(f"race for {slot_id}: {result.summary()}")
            holding = await db.fetchval(
                "SELECT count(*) FROM bookings WHERE slot_id = $1 AND holds_place", slot_id
            )
            if holding != 1:
                raise RuntimeError(f"slot {slot_id} holds {holding} bookings after its race")
            winners.append(statuses[201])
            late = citizens.take(1)[0]
            status, content = await client.request("POST", "/holds", late, body)
            answer = json.loads(content)
            if status != 409 or not answer.get("type", "").endswith("slot-full"):
                raise RuntimeError(f"a late loser got {status}: {answer}")
            offered.append(len(answer.get("next_free") or []))
    finally:
        await client.close()
    figures.checks["race_winners"] = winners
    figures.checks["race_next_free_offered"] = offered
    figures.checks["slots_overbooked"] = int(
        await db.fetchval("SELECT count(*) FROM slots WHERE free_places < 0")
    )
    figures.checks["server_cpu_s_total"] = round(process_seconds(pid), 1)


async def _settle(db: asyncpg.Connection, *, timeout: float) -> float | None:
    """Seconds until the event outbox is published and no text message is due (None if
    that took longer than `timeout`)."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        left = await db.fetchval(
            "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL)"
            " + (SELECT count(*) FROM notifications"
            "    WHERE status = 'pending' AND next_attempt_at <= now())"
        )
        if left == 0:
            return round(time.perf_counter() - began, 1)
        await asyncio.sleep(0.2)
    return None


# -- report -----------------------------------------------------------------------------------


def _race_cpu(races: list[LoadResult]) -> str:
    """The machine's CPU per answer of bursts (their mean) and what it sets as the floor of
    the last answer: a burst's CPU spread over every core."""
    splits = [race.machine for race in races if race.machine]
    if not splits:
        return "machine CPU: -"
    mean = {name: sum(s.get(name) or 0.0 for s in splits) / len(splits) for name in splits[0]}
    floor = (mean.get("busy") or 0.0) * RACERS / (os.cpu_count() or 1) / 1000
    return (
        f"{describe(mean)}; {RACERS} answers spread over {os.cpu_count()} cores take at "
        f"least {floor:.0f} ms"
    )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def report(
    base: Figures, services: list[Figures], *, concurrency: int, loads: tuple[float, float]
) -> str:
    b_closed, b_open = base.loads["closed"], base.loads["open"]
    race_base = max(r.percentile(99) or 0.0 for r in base.races)
    lines = [
        f"appointments benchmark — bench.load, closed loops at {concurrency} connections; "
        f"load average {loads[0]:.2f} before, {loads[1]:.2f} after",
        f"  baseline (bare INSERT)      closed {b_closed.throughput:7.0f} req/s  p50 {_ms(b_closed.percentile(50))}  "
        f"p99 {_ms(b_closed.percentile(99))}  CPU {base.cpu('closed'):.0f} µs/req",
        f"                              open @{b_open.rate:.0f}/s  p50 {_ms(b_open.percentile(50))}  p99 {_ms(b_open.percentile(99))}",
        f"                              {len(base.races)} bursts of {RACERS}: p99 {', '.join(_ms(r.percentile(99)) for r in base.races)}",
        f"                              closed loop's {describe(base.machine('closed'))}",
        f"                              bursts' {_race_cpu(base.races)}",
    ]  # fmt: skip
    for figures in services:
        s_closed, s_open = figures.loads["search_closed"], figures.loads["search_open"]
        c_closed, c_open = figures.loads["confirm_closed"], figures.loads["confirm_open"]
        share = c_closed.throughput / b_closed.throughput if b_closed.throughput else 0.0
        worst = max(figures.race_p99s()) if figures.races else None
        spread, free = ceilings(base.machine("closed"), figures.machine("confirm_closed"))
        schedules = figures.checks["schedules"]
        lines += [
            f"  [{figures.label}] {schedules['schedules']} schedules for a year, {schedules['slots']:,} slots, published in {schedules['seconds']:.0f} s",
            f"    search, closed            {s_closed.throughput:7.0f} req/s = {s_closed.throughput / b_closed.throughput:.0%} of the baseline  "
            f"p50 {_ms(s_closed.percentile(50))}  p99 {_ms(s_closed.percentile(99))}  CPU {figures.cpu('search_closed'):.0f} µs/req; failed {s_closed.failed}",
            f"    search, open @{s_open.rate:.0f}/s      p50 {_ms(s_open.percentile(50))}  p99 {_ms(s_open.percentile(99))} "
            f"(target ≤ {SEARCH_P99_TARGET_MS:.0f} ms; baseline's {_ms(b_open.percentile(99))}); failed {s_open.failed}",
            f"    confirm, closed           {c_closed.throughput:7.0f} req/s = {share:.0%} of the baseline (target ≥ {CONFIRM_SHARE_TARGET:.0%})  "
            f"p99 {_ms(c_closed.percentile(99))}  CPU {figures.cpu('confirm_closed'):.0f} µs/req; failed {c_closed.failed}",
            f"                              {describe(figures.machine('confirm_closed'))}",
            f"                              the machine's ceiling: {_share(spread)} of the baseline with this CPU spread over every core "
            f"(any number of workers or relay processes), {_share(free)} were the service's own CPU nothing",
            f"    confirm, open @{c_open.rate:.0f}/s     p50 {_ms(c_open.percentile(50))}  p99 {_ms(c_open.percentile(99))} (target ≤ {CONFIRM_P99_TARGET_MS:.0f} ms); failed {c_open.failed}",
            f"    race, {RACERS} × {len(figures.races)} slots      p99 per race {', '.join(_ms(p) for p in figures.race_p99s())}; worst {_ms(worst)} "
            f"(target ≤ {RACE_P99_TARGET_MS:.0f} ms; baseline burst's worst {_ms(race_base)}); winners {figures.checks['race_winners']}, "
            f"next free offered {figures.checks['race_next_free_offered']}",
            f"                              races' {_race_cpu(figures.races)}",
        ]  # fmt: skip
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> tuple[Figures, list[Figures], tuple[float, float]]:
    config = BenchConfig.from_env()
    trees = [ServiceTree.this()]
    if args.before:
        trees.insert(0, ServiceTree.other(Path(args.before), "before"))
    load_before = os.getloadavg()[0]
    base = await baseline(
        config, seconds=args.seconds, concurrency=args.concurrency, rate=args.search_rate,
        races=args.races, pool=16,
    )  # fmt: skip
    services = []
    for tree in trees:
        services.append(
            await service(
                config,
                tree,
                seconds=args.seconds,
                concurrency=args.concurrency,
                search_rate=args.search_rate,
                confirm_rate=args.confirm_rate,
                races=args.races,
                clinics=args.clinics,
                pool=args.pool,
            )
        )
    return base, services, (load_before, os.getloadavg()[0])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.appointments_bench")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clinics", type=int, default=36)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--search-rate", type=float, default=100.0,
        help="searches a second in the open loop (see bench/README.md for why 100)",
    )  # fmt: skip
    parser.add_argument("--confirm-rate", type=float, default=100.0)
    parser.add_argument("--races", type=int, default=5)
    parser.add_argument(
        "--pool", type=int, default=None,
        help="the service's database pool (default: the service's own setting)",
    )  # fmt: skip
    parser.add_argument("--before", help="another checkout to measure beside this one")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "bench" / "results" / "appointments-latest.json"
    )
    args = parser.parse_args()
    base, services, loads = asyncio.run(run(args))
    print(report(base, services, concurrency=args.concurrency, loads=loads))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "load_average": loads,
                "arguments": {k: str(v) for k, v in vars(args).items()},
                "baseline": base.as_dict(),
                "services": [figures.as_dict() for figures in services],
            },
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
