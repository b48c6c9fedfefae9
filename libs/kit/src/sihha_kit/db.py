"""Async SQLAlchemy engine, sessions, database creation and Alembic migrations."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import asyncpg
import sqlalchemy.exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

#: seconds a request waits for a pooled connection before it fails (SQLAlchemy's
#: `TimeoutError`): every connection of the budget is busy for that long
POOL_TIMEOUT_SECONDS = 30.0
#: seconds to open a connection (a server that does not answer fails the checkout)
CONNECT_TIMEOUT_SECONDS = 10.0
#: connections are closed and reopened after this long (server-side memory, failover)
POOL_RECYCLE_SECONDS = 1800


#: asyncpg's errors that mean the server went away or refuses connections for now
#: (57P01 admin shutdown — a restart or pg_terminate_backend —, 57P02 crash shutdown,
#: 57P03 cannot connect now: starting up or shutting down; class 08 connection exceptions)
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # "connection is closed", "another operation is in progress"
    ConnectionError,
    TimeoutError,  # connecting timed out
)
#: what an OSError says when the network or the server is away (not a handler's own
#: file errors)
_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENOENT,  # a Unix socket that is gone while the server restarts
}


def is_connection_lost(error: BaseException) -> bool:
    """Whether `error` (or what caused it) says the database is unreachable, as opposed to
    a failure of this event's own processing (a constraint, a bug, a statement timeout)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sqlalchemy.exc.InterfaceError | sqlalchemy.exc.DisconnectionError):
            return True
        if isinstance(current, _CONNECTION_ERRORS):
            return True
        if isinstance(current, OSError) and current.errno in _NETWORK_ERRNOS:
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.orig is not None:
            current = current.orig
            continue
        current = current.__cause__ or current.__context__
    return False


def pool_overflow(pool_size: int) -> int:
    """Connections the pool may open above `pool_size` for a burst (closed when returned)."""
    return max(2, pool_size // 4)


def pool_budget(pool_size: int) -> int:
    """The most connections an engine of `create_engine(url, pool_size)` ever holds."""
    return pool_size + pool_overflow(pool_size)


def server_settings(statement_timeout_seconds: float | None) -> dict[str, str] | None:
    """What every connection of a service sets when it opens (asyncpg `server_settings`):
    the statement timeout, in milliseconds."""
    if not statement_timeout_seconds:
        return None
    return {"statement_timeout": str(int(statement_timeout_seconds * 1000))}


def create_engine(
    database_url: str, pool_size: int = 20, *, statement_timeout_seconds: float | None = None
) -> AsyncEngine:
    """The process's one connection pool (SQLAlchemy's, over asyncpg).

    Every statement of the process runs on it, except the dedicated connections a
    service may hold (the outbox relay's and one LISTEN connection, see
    `ServiceRuntime.connection_budget`): at most `pool_budget(pool_size)` connections,
    each kept for `POOL_RECYCLE_SECONDS`, opened within `CONNECT_TIMEOUT_SECONDS`; a
    request waits at most `POOL_TIMEOUT_SECONDS` for one (then `TimeoutError` from
    SQLAlchemy). With `statement_timeout_seconds`, every statement on its connections is
    cancelled by the server after that long (asyncpg raises `QueryCanceledError`); work
    that runs long on purpose raises it for its own transaction (`SET LOCAL`).
    """
    settings = server_settings(statement_timeout_seconds)
    connect_args: dict[str, object] = {"timeout": CONNECT_TIMEOUT_SECONDS}
    if settings:
        connect_args["server_settings"] = settings
    return create_async_engine(
        database_url,
        connect_args=connect_args,
        # connections are kept for the whole concurrency a process sees: an overflow
        # connection is closed when it is returned, so a steady load above the pool's size
        # would open and close connections all the time (seen in the queue benchmark at
        # 10 + 10 with 16 clients); a small overflow is left for bursts
        pool_size=pool_size,
        max_overflow=pool_overflow(pool_size),
        pool_timeout=POOL_TIMEOUT_SECONDS,
        # no pre-ping (a round trip on every checkout, a third of a ticket's round trips):
        # connections are recycled instead, and a dead one fails one request, not many
        pool_recycle=POOL_RECYCLE_SECONDS,
    )


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
