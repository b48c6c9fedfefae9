"""Async SQLAlchemy engine, sessions, database creation and Alembic migrations."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(database_url: str, pool_size: int = 20) -> AsyncEngine:
    return create_async_engine(
        database_url,
        # connections are kept for the whole concurrency a process sees: an overflow
        # connection is closed when it is returned, so a steady load above the pool's size
        # would open and close connections all the time (seen in the queue benchmark at
        # 10 + 10 with 16 clients); a small overflow is left for bursts
        pool_size=pool_size,
        max_overflow=max(2, pool_size // 4),
        # no pre-ping (a round trip on every checkout, a third of a ticket's round trips):
        # connections are recycled instead, and a dead one fails one request, not many
        pool_recycle=1800,
    )


class StatementPool:
    """asyncpg connections for the hottest writes: one statement that is its own
    transaction, on a connection nothing else uses.

    A SQLAlchemy checkout and return costs about 90 µs of CPU; a plain asyncpg pool's
    return runs a reset query (`RESET ALL`, `UNLISTEN *`, ...), another round trip. Here
    the reset is skipped, which is safe only because these statements leave nothing in
    the session (no SET, LISTEN, temporary table or open transaction): acquire and
    release cost about 18 µs. The pool opens its connections on first use.
    """

    def __init__(self, database_url: str, size: int) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.size = size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._pool or await self._open()
        async with pool.acquire() as connection:
            yield connection

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.dsn, min_size=0, max_size=self.size, reset=_nothing_to_reset
                )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """`StatementPool`'s statements leave no session state to reset."""


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def asyncpg_dsn(database_url: str) -> str:
    """The same URL in the form asyncpg accepts (no `+asyncpg` driver suffix)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def ensure_database(database_url: str) -> bool:
    """Create the database named in the URL if it is missing. True if created."""
    url = make_url(database_url)
    name = url.database
    if not name:
        raise ValueError("the database URL names no database")
    admin = asyncpg_dsn(url.set(database="postgres").render_as_string(hide_password=False))
    connection = await asyncpg.connect(admin)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await connection.close()


async def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    admin = asyncpg_dsn(url.set(database="postgres").render_as_string(hide_password=False))
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await connection.close()


def migrate(database_url: str, migrations_dir: Path, revision: str = "head") -> None:
    """Apply a service's Alembic migrations (blocking; call it from a thread in async code)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, revision)


async def prepare_database(database_url: str, migrations_dir: Path) -> None:
    """Create the database if missing and bring its schema to the latest migration."""
    await ensure_database(database_url)
    await asyncio.to_thread(migrate, database_url, migrations_dir)


#: what repositories run their statements on: an ORM session or a Core connection
#: (both in a transaction the unit of work or the consumer owns)
Executor = AsyncSession | AsyncConnection
