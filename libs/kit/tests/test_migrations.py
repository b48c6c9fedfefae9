"""Migrations run by several processes of a service at once (uvicorn's workers, replicas
starting together) on a fresh database: one migrates, the others wait and find it done."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

import asyncpg

from sihha_kit.db import asyncpg_dsn
from sihha_kit.testing.messaging_rig import MIGRATIONS

#: one process's start-up migration (Alembic's context is process-wide: one per process);
#: it says when it is ready and migrates on a go, so that the processes really race
_MIGRATE = """
import sys
from sihha_kit.db import migrate
print("ready", flush=True)
sys.stdin.readline()
migrate(sys.argv[1], sys.argv[2])
"""


async def _migrating_together(url: str, processes: int) -> list[tuple[int, str]]:
    started = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _MIGRATE,
            url,
            str(MIGRATIONS),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(processes)
    ]
    for process in started:
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 60) == b"ready\n"
    outcomes = await asyncio.gather(
        *(asyncio.wait_for(process.communicate(b"go\n"), 120) for process in started)
    )
    return [
        (int(process.returncode or 0), error.decode(errors="replace")[-2000:])
        for process, (_, error) in zip(started, outcomes, strict=True)
    ]


async def test_processes_migrating_a_fresh_database_at_once_all_start(
    make_database: Callable[[str], Awaitable[str]],
) -> None:
    url = await make_database("migrate_race")
    outcomes = await _migrating_together(url, 4)
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], [error for _, error in outcomes]
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        versions = await connection.fetch("SELECT version_num FROM alembic_version")
        outbox = await connection.fetchval("SELECT to_regclass('outbox') IS NOT NULL")
    finally:
        await connection.close()
    assert [row["version_num"] for row in versions] == ["0003"]
    assert outbox
