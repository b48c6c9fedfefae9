"""What tracing costs per request: `python -m bench.tracing_bench [--n 3000] [--rounds 5]`.

One small service app — the kit's middleware (metrics, body limit), problem handlers,
and a route that reads its path, parses a JSON body and runs one statement on
PostgreSQL through a SQLAlchemy connection of the kit's engine (asyncpg underneath),
as the services' repositories do — is driven in process through ASGI, one request after
another (no network, no client in the figures), in three variants:

- ``none``: no tracing at all (FastAPI's telemetry off, asyncpg not instrumented): the
  baseline;
- ``unrecorded``: what a service runs without an OTLP endpoint — FastAPI's server span
  and the asyncpg instrumentation's statement span, both non-recording
  (`sihha_kit.tracing.RecordWhenExported`), their ids still flowing to logs and events;
- ``recorded``: the same with every span recorded and handed to a span processor (one
  that drops them: the cost of exporting itself is the collector's business).

Each variant runs in its own process (the asyncpg instrumentation patches the driver
for the whole process), the three one after another, `--rounds` times, so that the
machine's drift touches all three alike; the figure is the median over rounds of the
process CPU time per request, printed beside the baseline's with the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.config import BenchConfig
from sihha_kit.db import create_engine, drop_database, ensure_database

VARIANTS = ("none", "unrecorded", "recorded")
BODY = json.dumps({"note": "x" * 40}).encode()


def _app(variant: str, engine: AsyncEngine) -> FastAPI:
    from sihha_kit.app import TELEMETRY
    from sihha_kit.middleware import ServiceMiddleware
    from sihha_kit.problems import install_problem_handlers

    telemetry = TELEMETRY if variant != "none" else {**TELEMETRY, "tracing": False}
    app = FastAPI(telemetry=telemetry, openapi_url=None)
    install_problem_handlers(app)
    app.add_middleware(ServiceMiddleware, service="bench", max_body_bytes=64 * 1024)

    @app.post("/establishments/{facility_id}/items", status_code=201)
    async def add(facility_id: str, body: dict[str, str], request: Request) -> dict[str, Any]:
        async with engine.connect() as connection:
            value = await connection.scalar(text("SELECT length(:note)"), {"note": body["note"]})
        return {"facility_id": facility_id, "length": value}

    return app


async def _drive(app: FastAPI, n: int) -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/establishments/31-PC-001/items",
        "raw_path": b"/establishments/31-PC-001/items",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(n):
        await app(dict(scope), receive, send)
    if set(statuses) != {201}:
        raise RuntimeError(f"unexpected statuses {sorted(set(statuses))}")


async def _child(variant: str, database_url: str, n: int) -> dict[str, float]:
    if variant != "none":
        from opentelemetry.sdk.trace import SpanProcessor

        from sihha_kit.tracing import configure_tracing

        class Drop(SpanProcessor):
            """Receives every ended span (so they are recorded) and keeps none."""

        configure_tracing("bench", "0", extra_processor=Drop() if variant == "recorded" else None)
    engine = create_engine(database_url, pool_size=1)
    try:
        app = _app(variant, engine)
        await _drive(app, 300)  # warm-up: imports, caches, prepared statement
        cpu, wall = time.process_time(), time.perf_counter()
        await _drive(app, n)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await engine.dispose()
    return {"cpu_us": cpu / n * 1e6, "wall_us": wall / n * 1e6}


def _run_child(variant: str, database_url: str, n: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.tracing_bench", "--child", variant,
         "--database", database_url, "--n", str(n)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"{variant}: {result.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


async def run_tracing(config: BenchConfig, n: int, rounds: int) -> dict[str, dict[str, float]]:
    url = config.database("tracing")
    await ensure_database(url)
    try:
        samples: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
        for round_ in range(rounds):
            for variant in VARIANTS:
                figures = await asyncio.to_thread(_run_child, variant, url, n)
                samples[variant].append(figures)
                print(
                    f"round {round_ + 1}/{rounds} {variant:>10}: {figures['cpu_us']:.1f} µs CPU, "
                    f"{figures['wall_us']:.1f} µs wall per request",
                    file=sys.stderr,
                )
    finally:
        await drop_database(url)
    return {
        variant: {
            key: statistics.median(sample[key] for sample in samples[variant])
            for key in ("cpu_us", "wall_us")
        }
        for variant in VARIANTS
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tracing_bench")
    parser.add_argument("--n", type=int, default=3000, help="requests per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(_child(args.child, args.database, args.n))))
        return 0
    medians = asyncio.run(run_tracing(BenchConfig.from_env(), args.n, args.rounds))
    base = medians["none"]
    print(f"{'variant':<12}{'CPU µs/request':>16}{'vs none':>18}{'wall µs/request':>18}")
    for variant in VARIANTS:
        figures = medians[variant]
        extra = figures["cpu_us"] - base["cpu_us"]
        share = f"{extra:+.1f} ({extra / base['cpu_us']:+.0%})" if variant != "none" else "baseline"
        print(f"{variant:<12}{figures['cpu_us']:>16.1f}{share:>18}{figures['wall_us']:>18.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
