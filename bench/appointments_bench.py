"""The appointments service's figures, each beside a baseline measured in the same run:
`python -m bench.appointments_bench [--seconds S] [--clinics N] [--concurrency C]`.

1. The baseline: `bench.http_app` (bare FastAPI + asyncpg, one INSERT per request),
   loaded by the same client as the service (httpx, keep-alive, closed loop at `C`).
2. The service (`python -m sihha_appointments`, one process) on a fresh database, with a
   year of schedules published through its API: `N` polyclinics × three specialties,
   08:00–12:00 on working days, from tomorrow for 365 days.
3. Slot search for one specialty over the wilaya and four weeks: closed loop, p50/p99
   (target p99 ≤ 50 ms), beside the baseline's p99.
4. Confirmations (hold → confirm, the confirm timed): throughput in a closed loop beside
   the baseline's (target ≥ 50 %), then p99 at 100 req/s in an open loop (target ≤ 50 ms).
5. The race: 200 concurrent holds at the last place of a slot, five slots: exactly one
   wins each; p99 of all the answers (target ≤ 200 ms).

The machine is shared while the project is built: these runs prove the benchmark works;
final figures come from a quiet machine (bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.config import BenchConfig
from bench.http_app import CREATE_TABLE, DATABASE_ENV, POOL_SIZE_ENV
from sihha_kit.auth import Role
from sihha_kit.clock import ALGIERS
from sihha_kit.db import asyncpg_dsn, drop_database, ensure_database
from sihha_kit.devtools import TokenIssuer, dev_environment

ROOT = Path(__file__).resolve().parent.parent
SEARCH_P99_TARGET_MS = 50.0
CONFIRM_SHARE_TARGET = 0.5
CONFIRM_P99_TARGET_MS = 50.0
RACE_P99_TARGET_MS = 200.0
SPECIALTIES = ("DERMA", "PED", "ORL")


@dataclass
class Load:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def p(self, percent: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)] * 1000


Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def closed_loop(
    client: httpx.AsyncClient,
    request: Request,
    concurrency: int,
    seconds: float,
    *,
    limit: int | None = None,
) -> Load:
    load = Load()
    counter = iter(range(limit or 10**9))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            index = next(counter, None)
            if index is None:
                return
            began = time.perf_counter()
            try:
                answer = await request(client, index)
            except httpx.TransportError:  # counted, not fatal: the figure says how many
                load.statuses[0] += 1
                continue
            load.statuses[answer.status_code] += 1
            if answer.is_success:
                load.latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    load.seconds = time.perf_counter() - started
    return load


async def open_loop(client: httpx.AsyncClient, request: Request, rate: float, count: int) -> Load:
    load = Load()
    started = time.perf_counter()

    async def one(index: int) -> None:
        due = started + index / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        try:
            answer = await request(client, index)
        except httpx.TransportError:
            load.statuses[0] += 1
            return
        load.statuses[answer.status_code] += 1
        if answer.is_success:
            load.latencies.append(time.perf_counter() - due)  # from when it was due

    await asyncio.gather(*(one(i) for i in range(count)))
    load.seconds = time.perf_counter() - started
    return load


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def _server(command: list[str], env: dict[str, str], url: str) -> AsyncIterator[None]:
    with tempfile.TemporaryFile() as log:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            async with httpx.AsyncClient() as probe:
                for _ in range(600):
                    if process.returncode is not None:
                        log.seek(0)
                        raise RuntimeError(log.read()[-3000:].decode(errors="replace"))
                    with contextlib.suppress(httpx.HTTPError):
                        if (await probe.get(url)).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
                else:
                    raise TimeoutError(url)
            yield
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 15)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def _citizen(issuer: TokenIssuer, n: int) -> dict[str, str]:
    key = hashlib.sha256(f"bench-citizen-{n}".encode()).hexdigest()
    token = issuer.mint(
        f"citizen:bench{n}", [Role.citizen], [], patient_key=key, ttl=timedelta(hours=2)
    )
    return {"Authorization": f"Bearer {token}"}


async def baseline(config: BenchConfig, concurrency: int, seconds: float, pool: int) -> Load:
    database_url = config.database("apptbase")
    await ensure_database(database_url)
    dsn = asyncpg_dsn(database_url)
    try:
        connection = await asyncpg.connect(dsn)
        await connection.execute(CREATE_TABLE)
        await connection.close()
        port = _free_port()
        command = [sys.executable, "-m", "uvicorn", "bench.http_app:app", "--host", "127.0.0.1",
                   "--port", str(port), "--no-access-log", "--log-level", "warning"]  # fmt: skip
        env = {**os.environ, DATABASE_ENV: dsn, POOL_SIZE_ENV: str(pool)}
        base = f"http://127.0.0.1:{port}"
        async with (
            _server(command, env, f"{base}/health"),
            httpx.AsyncClient(
                base_url=base, limits=httpx.Limits(max_connections=concurrency)
            ) as client,
        ):

            async def insert(client: httpx.AsyncClient, i: int) -> httpx.Response:
                return await client.post(
                    "/items", json={"facility_id": "31-PC-001", "note": f"item {i}"}
                )

            await closed_loop(client, insert, concurrency, 1.0)  # warm-up
            return await closed_loop(client, insert, concurrency, seconds)
    finally:
        with contextlib.suppress(Exception):
            await drop_database(database_url)


async def run(
    config: BenchConfig, *, seconds: float, clinics: int, concurrency: int, pool: int
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    print("… baseline (FastAPI + asyncpg, one INSERT)", file=sys.stderr, flush=True)
    base = await baseline(config, concurrency, seconds, pool)
    results["baseline"] = base
    database_url = config.database("appointments")
    await ensure_database(database_url)
    keys = Path(tempfile.mkdtemp(prefix="appt-bench-"))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sihha_kit.devtools",
        "keys",
        "--dir",
        str(keys),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
    )
    await process.wait()
    issuer = TokenIssuer.from_directory(keys)
    port = _free_port()
    env = {
        **os.environ,
        "APPOINTMENTS_DATABASE_URL": database_url,
        "APPOINTMENTS_AMQP_URL": config.amqp_url,
        "APPOINTMENTS_BROKER_NAMESPACE": config.namespace("appointments"),
        "APPOINTMENTS_HTTP_PORT": str(port),
        **dev_environment("APPOINTMENTS_", keys, issuer="appointments"),
        "APPOINTMENTS_PSEUDONYM_KEY_PATH": str(keys / "pseudonym.key"),
        "APPOINTMENTS_SECRET_PATH": str(keys / "secret.key"),
        "APPOINTMENTS_SMS_SINK_PATH": str(keys / "sms.jsonl"),
        "APPOINTMENTS_HOLD_MINUTES": "120",
        "APPOINTMENTS_SEARCHES_PER_MINUTE": "10000000",
        "APPOINTMENTS_HOLDS_PER_HOUR": "10000000",
        "APPOINTMENTS_URGENT_SHARE": "0",
        "APPOINTMENTS_LOG_LEVEL": "WARNING",
        "APPOINTMENTS_DATABASE_POOL_SIZE": str(pool),
    }
    url = f"http://127.0.0.1:{port}"
    try:
        async with (
            _server([sys.executable, "-m", "sihha_appointments"], env, f"{url}/health/ready"),
            httpx.AsyncClient(
                base_url=url,
                timeout=60,
                limits=httpx.Limits(max_connections=max(concurrency, 200), keepalive_expiry=2.0),
            ) as api,
        ):
            tomorrow = datetime.now(ALGIERS).date() + timedelta(days=1)
            print(
                f"… a year of schedules: {clinics} polyclinics × {len(SPECIALTIES)} specialties",
                file=sys.stderr,
                flush=True,
            )
            began = time.perf_counter()
            slots = await publish_year(api, issuer, clinics, tomorrow)
            results["schedules"] = {
                "schedules": clinics * len(SPECIALTIES),
                "slots": slots,
                "seconds": time.perf_counter() - began,
            }

            searcher = _citizen(issuer, 0)
            first, last = tomorrow, tomorrow + timedelta(days=28)

            async def search(client: httpx.AsyncClient, i: int) -> httpx.Response:
                return await client.get(
                    "/slots",
                    params={
                        "specialty": "DERMA",
                        "from": first.isoformat(),
                        "to": last.isoformat(),
                    },
                    headers=searcher,
                )

            print("… slot search", file=sys.stderr, flush=True)
            await closed_loop(api, search, concurrency, 1.0)
            results["search"] = await closed_loop(api, search, concurrency, seconds)

            print("… holds to confirm", file=sys.stderr, flush=True)
            free = await all_slots(api, searcher, "PED", tomorrow, 400)
            wanted = min(len(free), int(seconds * 400) + 200)
            citizens = [_citizen(issuer, 1000 + n) for n in range(wanted)]
            holds: list[tuple[str, dict[str, str]]] = []

            async def hold(client: httpx.AsyncClient, i: int) -> httpx.Response:
                answer = await client.post(
                    "/holds", json={"slot_id": free[i]["slot_id"]}, headers=citizens[i]
                )
                if answer.status_code == 201:
                    holds.append((answer.json()["booking_id"], citizens[i]))
                return answer

            await closed_loop(api, hold, concurrency, 3600, limit=wanted)

            async def confirm(client: httpx.AsyncClient, i: int) -> httpx.Response:
                booking_id, headers = holds[i]
                return await client.post(f"/holds/{booking_id}/confirm", headers=headers)

            print("… confirmations, closed loop", file=sys.stderr, flush=True)
            split = len(holds) - 200
            results["confirm"] = await closed_loop(api, confirm, concurrency, seconds, limit=split)
            done = sum(results["confirm"].statuses.values())
            rest = holds[done:]
            print("… confirmations at 100 req/s", file=sys.stderr, flush=True)

            async def confirm_rest(client: httpx.AsyncClient, i: int) -> httpx.Response:
                booking_id, headers = rest[i]
                return await client.post(f"/holds/{booking_id}/confirm", headers=headers)

            results["confirm_open"] = await open_loop(api, confirm_rest, 100.0, min(len(rest), 200))

            print(
                "… the race: 200 holds at the last place, five times", file=sys.stderr, flush=True
            )
            race = Load()
            winners = []
            orl = await all_slots(api, searcher, "ORL", tomorrow, 5)
            for round_, slot in enumerate(orl):
                racers = [_citizen(issuer, 100_000 + round_ * 1000 + n) for n in range(200)]

                async def attempt(
                    n: int, slot: dict[str, Any] = slot, racers: list[dict[str, str]] = racers
                ) -> None:
                    began = time.perf_counter()
                    try:
                        answer = await api.post(
                            "/holds", json={"slot_id": slot["slot_id"]}, headers=racers[n]
                        )
                    except httpx.TransportError:
                        race.statuses[0] += 1
                        return
                    race.statuses[answer.status_code] += 1
                    race.latencies.append(time.perf_counter() - began)

                before = race.statuses[201]
                await asyncio.gather(*(attempt(n) for n in range(200)))
                winners.append(race.statuses[201] - before)
            results["race"] = race
            results["race_winners"] = winners
    finally:
        with contextlib.suppress(Exception):
            await drop_database(database_url)
    return results


async def publish_year(
    api: httpx.AsyncClient, issuer: TokenIssuer, clinics: int, first: date
) -> int:
    codes = [f"31-PC-{n:03d}" for n in range(1, clinics + 1)]
    total = 0
    semaphore = asyncio.Semaphore(4)

    async def one(code: str, specialty: str, n: int) -> None:
        nonlocal total
        token = issuer.mint(f"scheduler:{code}", [Role.scheduler], [code])
        body = {
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
        async with semaphore:
            answer = await api.post(
                f"/establishments/{code}/schedules",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
        answer.raise_for_status()
        total += answer.json()["slot_count"]

    await asyncio.gather(
        *(
            one(code, specialty, n)
            for n, (code, specialty) in enumerate((c, s) for c in codes for s in SPECIALTIES)
        )
    )
    return total


async def all_slots(
    api: httpx.AsyncClient, headers: dict[str, str], specialty: str, first: date, wanted: int
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while len(found) < wanted:
        params = {
            "specialty": specialty,
            "limit": "50",
            "from": first.isoformat(),
            "to": (first + timedelta(days=110)).isoformat(),
        }
        if cursor:
            params["cursor"] = cursor
        page = (await api.get("/slots", params=params, headers=headers)).json()
        found += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    return found[:wanted]


def report(results: dict[str, Any], concurrency: int) -> str:
    base: Load = results["baseline"]
    search: Load = results["search"]
    confirm: Load = results["confirm"]
    opened: Load = results["confirm_open"]
    race: Load = results["race"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} ms"

    share = confirm.throughput / base.throughput if base.throughput else 0.0
    lines = [
        f"appointments benchmark (closed loops at {concurrency} connections; baseline: bare FastAPI + asyncpg one INSERT, same client)",
        f"  schedules loaded: {results['schedules']['schedules']} for a year, {results['schedules']['slots']:,} slots, published in {results['schedules']['seconds']:.0f} s",
        f"  baseline INSERT            {base.throughput:8.0f} req/s   p50 {ms(base.p(50))}   p99 {ms(base.p(99))}",
        f"  slot search, 4 weeks       {search.throughput:8.0f} req/s   p50 {ms(search.p(50))}   p99 {ms(search.p(99))}   (target p99 ≤ {SEARCH_P99_TARGET_MS:.0f} ms; {search.p(99) / base.p(99) if search.p(99) and base.p(99) else 0:.2f}× the baseline's p99)",
        f"  confirmations              {confirm.throughput:8.0f} req/s   p50 {ms(confirm.p(50))}   p99 {ms(confirm.p(99))}   = {share:.0%} of the baseline (target ≥ {CONFIRM_SHARE_TARGET:.0%}); statuses {dict(confirm.statuses)}",
        f"  confirmations at 100 req/s                 p50 {ms(opened.p(50))}   p99 {ms(opened.p(99))}   (target p99 ≤ {CONFIRM_P99_TARGET_MS:.0f} ms); statuses {dict(opened.statuses)}",
        f"  race, 200 holds × {len(results['race_winners'])} slots      p50 {ms(race.p(50))}   p99 {ms(race.p(99))}   (target p99 ≤ {RACE_P99_TARGET_MS:.0f} ms); winners per slot {results['race_winners']}; statuses {dict(race.statuses)}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.appointments_bench")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clinics", type=int, default=36)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--pool", type=int, default=16, help="database connections of each server (the same)"
    )
    args = parser.parse_args()
    results = asyncio.run(
        run(
            BenchConfig.from_env(),
            seconds=args.seconds,
            clinics=args.clinics,
            concurrency=args.concurrency,
            pool=args.pool,
        )
    )
    text = report(results, args.concurrency)
    print(text)
    out = Path(__file__).resolve().parent / "results" / "appointments-latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                k: (
                    v.__dict__ | {"p50_ms": v.p(50), "p99_ms": v.p(99), "throughput": v.throughput}
                    if isinstance(v, Load)
                    else v
                )
                for k, v in results.items()
            },
            default=lambda o: (
                {str(k): n for k, n in o.items()} if isinstance(o, Counter) else str(o)
            ),
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
