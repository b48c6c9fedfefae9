"""The statement pool against the real PostgreSQL: bounded, fair to waiters, and never
lends a connection in an unknown state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from sihha_kit.db import StatementPool


@pytest.fixture
async def pool(make_database: Callable[[str], Awaitable[str]]) -> AsyncIterator[StatementPool]:
    statements = StatementPool(await make_database("pool"), size=3)
    yield statements
    await statements.close()


async def _backend(pool: StatementPool) -> int:
    async with pool.acquire() as connection:
        return int(await connection.fetchval("SELECT pg_backend_pid()"))


async def test_connections_are_reused_and_never_more_than_size(pool: StatementPool) -> None:
    inside = 0
    most = 0

    async def statement() -> int:
        nonlocal inside, most
        async with pool.acquire() as connection:
            inside += 1
            most = max(most, inside)
            pid = int(await connection.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.02)"))
            inside -= 1
            return pid

    pids = await asyncio.gather(*(statement() for _ in range(30)))
    assert most == 3  # 30 statements at once, three at a time
    assert len(set(pids)) == 3
    assert pool.opened == 3
    assert await _backend(pool) in set(pids)


async def test_a_statement_error_leaves_the_connection_usable(pool: StatementPool) -> None:
    first = await _backend(pool)
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with pool.acquire() as connection:
            await connection.fetchval("SELECT 1 / 0")
    assert await _backend(pool) == first  # the same connection, lent again
    assert pool.opened == 1


async def test_a_cancelled_statement_closes_its_connection(pool: StatementPool) -> None:
    first = await _backend(pool)

    async def slow() -> None:
        async with pool.acquire() as connection:
            await connection.fetchval("SELECT pg_sleep(5)")

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.opened == 0  # closed, not lent again mid-query
    second = await _backend(pool)
    assert second != first
    assert pool.opened == 1


async def test_a_connection_the_server_closed_is_replaced(pool: StatementPool) -> None:
    async with pool.acquire() as first, pool.acquire() as second:
        victim = await first.fetchval("SELECT pg_backend_pid()")
        survivor = await second.fetchval("SELECT pg_backend_pid()")
    # both idle now; the server ends the victim's session (a restart, an admin)
    async with pool.acquire() as connection:
        killer = await connection.fetchval("SELECT pg_backend_pid()")
        if killer == victim:
            victim = survivor
        assert await connection.fetchval("SELECT pg_terminate_backend($1)", victim)
    await asyncio.sleep(0.2)  # the victim's socket sees the server's goodbye
    async with pool.acquire() as first, pool.acquire() as second:  # reaches the victim
        pids = {await first.fetchval("SELECT pg_backend_pid()")}
        pids.add(await second.fetchval("SELECT pg_backend_pid()"))
    assert victim not in pids  # dropped at its loan and replaced, not lent dead
    assert len(pids) == 2
    assert pool.opened == 2


async def test_a_waiter_cancelled_while_waiting_loses_its_place_not_a_connection(
    pool: StatementPool,
) -> None:
    release = asyncio.Event()

    async def hold() -> None:
        async with pool.acquire() as connection:
            await connection.fetchval("SELECT 1")
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(3)]
    await asyncio.sleep(0.2)
    waiter = asyncio.create_task(_backend(pool))
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await asyncio.gather(*holders)
    assert pool.opened == 3
    pids = await asyncio.gather(*(_backend(pool) for _ in range(6)))
    assert len(set(pids)) <= 3  # nothing leaked, nothing opened beyond the size
    assert pool.opened == 3


async def test_close_refuses_new_loans(pool: StatementPool) -> None:
    await _backend(pool)
    await pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        await _backend(pool)
