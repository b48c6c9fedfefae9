"""(c) The HTTP baseline: a bare FastAPI + asyncpg endpoint doing one INSERT.

The app (`bench.http_app`) runs under uvicorn in a subprocess (1 worker,
uvloop and httptools when installed, access log off) against a fresh database;
`bench.load` loads it on loopback:

- closed loop: `concurrency` keep-alive connections for `seconds` → req/s, p50, p99;
- open loop: a fixed 100 req/s for `seconds` → p99 at a light, steady load;
- the generator's own ceiling: the same closed loop against `bench.null_server`,
  which answers without doing anything (so req/s there is the client's limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.config import BenchConfig
from bench.http_app import CREATE_TABLE, DATABASE_ENV, POOL_SIZE_ENV
from bench.load import LoadResult, json_body, run_load
from sihha_kit.db import asyncpg_dsn, drop_database, ensure_database

ROOT = Path(__file__).resolve().parent.parent  # where `bench` is importable from

#: the request body: what a small form posts
item_body = json_body(lambda i: {"facility_id": "31-PC-001", "note": f"bench item {i}"})


@dataclass(frozen=True)
class HttpResult:
    server: dict[str, Any]
    closed: LoadResult
    open: LoadResult
    ceiling: LoadResult
    rows: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "closed_loop": self.closed.summary(),
            "open_loop": self.open.summary(),
            "generator_ceiling": self.ceiling.summary(),
            "rows_inserted": self.rows,
        }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


async def _wait_ready(port: int, process: asyncio.subprocess.Process, timeout: float) -> None:
    """Until `GET /health` answers (the app, its pool included, is up)."""
    deadline = time.monotonic() + timeout
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before it was ready")
        with contextlib.suppress(OSError):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            status_line = await asyncio.wait_for(reader.readline(), 2)
            writer.close()
            if status_line.startswith(b"HTTP/1.1 2"):
                return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the server on port {port} was not ready after {timeout:.0f} s")


@contextlib.asynccontextmanager
async def _server(command: list[str], port: int, env: dict[str, str]) -> AsyncIterator[None]:
    """Run `command` (a server on `port`) for the block; its stderr is shown if it fails."""
    with tempfile.TemporaryFile() as stderr:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr
        )
        try:
            try:
                await _wait_ready(port, process, timeout=30)
            except (RuntimeError, TimeoutError) as error:
                stderr.seek(0)
                tail = stderr.read()[-2000:].decode(errors="replace")
                raise RuntimeError(f"{error}\n{tail}") from error
            yield
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def run_http(
    config: BenchConfig,
    *,
    seconds: float = 10.0,
    concurrency: int = 16,
    rate: float = 100.0,
    pool_size: int = 16,
) -> HttpResult:
    database_url = config.database("http")
    await ensure_database(database_url)
    dsn = asyncpg_dsn(database_url)
    try:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(CREATE_TABLE)
        finally:
            await connection.close()

        port = _free_port()
        loop = "uvloop" if _has("uvloop") else "asyncio"
        http = "httptools" if _has("httptools") else "h11"
        command = [
            sys.executable, "-m", "uvicorn", "bench.http_app:app",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--loop", loop, "--http", http, "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        env = {**os.environ, DATABASE_ENV: dsn, POOL_SIZE_ENV: str(pool_size)}
        url = f"http://127.0.0.1:{port}/items"
        async with _server(command, port, env):
            closed = await run_load(
                url, method="POST", body=item_body, concurrency=concurrency, seconds=seconds
            )
            opened = await run_load(url, method="POST", body=item_body, rate=rate, seconds=seconds)

        null_port = _free_port()
        null_command = [sys.executable, "-m", "bench.null_server", str(null_port)]
        async with _server(null_command, null_port, dict(os.environ)):
            ceiling = await run_load(
                f"http://127.0.0.1:{null_port}/items",
                method="POST",
                body=item_body,
                concurrency=concurrency,
                seconds=max(2.0, seconds / 2),
            )

        connection = await asyncpg.connect(dsn)
        try:
            rows = int(await connection.fetchval("SELECT count(*) FROM items"))
        finally:
            await connection.close()
    finally:
        with contextlib.suppress(Exception):
            await drop_database(database_url)
    server = {
        "app": "bench.http_app (FastAPI + asyncpg, one INSERT)",
        "uvicorn_workers": 1,
        "loop": loop,
        "http": http,
        "pool_size": pool_size,
    }
    return HttpResult(server, closed, opened, ceiling, rows)
