"""Async SQLAlchemy engine, sessions, database creation and Alembic migrations."""

from __future__ import annotations

import asyncio
import collections
import contextlib
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


def server_settings(statement_timeout_seconds: float | None) -> dict[str, str] | None:
    """What every connection of a service sets when it opens (asyncpg `server_settings`):
    the statement timeout, in milliseconds."""
    if not statement_timeout_seconds:
        return None
    return {"statement_timeout": str(int(statement_timeout_seconds * 1000))}


def create_engine(
    database_url: str, pool_size: int = 20, *, statement_timeout_seconds: float | None = None
) -> AsyncEngine:
    """The service's engine; with `statement_timeout_seconds`, every statement on its
    connections is cancelled by the server after that long (asyncpg raises
    `QueryCanceledError`)."""
    settings = server_settings(statement_timeout_seconds)
    return create_async_engine(
        database_url,
        connect_args={"server_settings": settings} if settings else {},
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

    `async with pool.acquire() as connection:` lends a connection. A SQLAlchemy checkout
    and return costs about 90 µs of CPU and asyncpg's own pool about 25 µs (a timeout
    context, an idle-lifetime timer, a reset query on return: `RESET ALL`, `UNLISTEN *`,
    another round trip); these statements leave nothing in the session (no SET, LISTEN,
    temporary table or open transaction), so the pool is a stack of idle connections
    and a line of waiters, a few µs a loan. Connections open on first use, up to `size`.
    A connection the server closed is dropped at the next loan; one whose statement did
    not end normally (cancelled, timed out, network error) is closed on return rather
    than lent in an unknown state. A statement's own error (a constraint, say) leaves the
    connection usable: the implicit transaction rolled back.
    """

    def __init__(
        self, database_url: str, size: int, *, statement_timeout_seconds: float | None = None
    ) -> None:
        if size < 1:
            raise ValueError("a statement pool needs at least one connection")
        self.dsn = asyncpg_dsn(database_url)
        self.server_settings = server_settings(statement_timeout_seconds)
        self.size = size
        self._idle: list[asyncpg.Connection] = []
        self._waiters: collections.deque[asyncio.Future[asyncpg.Connection | None]] = (
            collections.deque()
        )
        self._open = 0  # connections lent, idle or being opened
        self._closed = False

    def acquire(self) -> _Loan:
        return _Loan(self)

    @property
    def opened(self) -> int:
        """Connections lent, idle or being opened (at most `size`)."""
        return self._open

    async def _take(self) -> asyncpg.Connection:
        while True:
            if self._closed:
                raise RuntimeError("the statement pool is closed")
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
                self._open -= 1
            if self._open < self.size:
                self._open += 1
                try:
                    return await asyncpg.connect(self.dsn, server_settings=self.server_settings)
                except BaseException:
                    self._open -= 1
                    self._wake_one(None)  # a waiter may open one in its turn
                    raise
            waiter: asyncio.Future[asyncpg.Connection | None] = (
                asyncio.get_running_loop().create_future()
            )
            self._waiters.append(waiter)
            try:
                connection = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    handed = waiter.result()  # handed over just as we were cancelled
                    if handed is not None:
                        self._give(handed)
                    else:
                        self._wake_one(None)
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                raise
            if connection is not None:
                return connection
            # None: a connection was dropped, so there is room to open one: loop

    def _give(self, connection: asyncpg.Connection) -> None:
        """A connection comes back in good order: to the first waiter, or to the stack."""
        if self._closed:
            self._open -= 1
            connection.terminate()
        elif not self._wake_one(connection):
            self._idle.append(connection)

    def _drop(self, connection: asyncpg.Connection) -> None:
        self._open -= 1
        connection.terminate()
        self._wake_one(None)

    def _wake_one(self, connection: asyncpg.Connection | None) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            self._open -= 1
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError("the statement pool is closed"))


class _Loan:
    """`async with pool.acquire() as connection`: a plain class, cheaper than a
    generator-based context manager on this path."""

    __slots__ = ("_connection", "_pool")

    def __init__(self, pool: StatementPool) -> None:
        self._pool = pool
        self._connection: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._connection = await self._pool._take()
        return self._connection

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        connection, self._connection = self._connection, None
        assert connection is not None
        if kind is None or issubclass(kind, asyncpg.PostgresError):
            if connection.is_closed():
                self._pool._drop(connection)
            else:
                self._pool._give(connection)
        else:
            self._pool._drop(connection)


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
