"""The body of every service's Alembic `env.py`, written once.

A service's `migrations/env.py` is two lines::

    from sihha_kit.alembic_env import run
    run()
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def _run_sync(connection: Connection) -> None:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


#: the PostgreSQL advisory lock a database's migrations run under (any constant key:
#: each service has a database of its own)
MIGRATION_LOCK = 0x51_1A_4D_16


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        # several processes of a service start together (uvicorn's workers, replicas):
        # one migrates, the others wait here and then find the schema at head. Without
        # it two of them created `alembic_version` at once on a fresh database and one
        # failed to start. The lock is the session's: it holds across the migrations'
        # own transactions and ends with the connection.
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        await connection.commit()
        await connection.run_sync(_run_sync)
        await connection.commit()
    await engine.dispose()


def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set")
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_async(url))
