"""A request that meets its database restarting gets a declared 503, not a 500.

Found by the fault matrix: while PostgreSQL restarted, the queue answered 500 with
`CannotConnectNowError` or `ConnectionRefusedError` in its log. The database being away
is not the request's fault and nothing was written: the answer is 503
`database-unavailable` (problem+json, French and Arabic) with `Retry-After`, and every
operation declares it.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sihha_kit.db import create_engine
from sihha_kit.problems import document_problems, install_problem_handlers

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket closes


def _app(engine: AsyncEngine) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    document_problems(app)

    @app.get("/now")
    async def now() -> dict[str, str]:
        async with engine.connect() as connection:
            value = await connection.scalar(text("SELECT now()::text"))
        return {"now": str(value)}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a fault of the code, not of the database")

    return app


@pytest.fixture
async def database(make_database: Callable[[str], Awaitable[str]]) -> AsyncIterator[str]:
    yield await make_database("unavailable")


async def _get(app: FastAPI, path: str, language: str = "fr") -> httpx.Response:
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path, headers={"Accept-Language": language})


async def test_a_database_that_refuses_connections_is_a_503_with_retry_after() -> None:
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/none")
    try:
        app = _app(engine)
        answer = await _get(app, "/now", "ar")
        assert answer.status_code == 503
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["retry-after"] == "5"
        body = answer.json()
        assert body["code"] == "database-unavailable"
        assert "قاعدة بيانات" in body["detail"] and "base de données" in body["detail_fr"]
        # a fault of the code stays a 500: only the database's absence is a 503
        assert (await _get(app, "/broken")).status_code == 500
        declared = app.openapi()["paths"]["/now"]["get"]["responses"]
        assert "503" in declared
        assert "application/problem+json" in declared["503"]["content"]
    finally:
        await engine.dispose()


async def test_a_connection_the_server_terminated_is_a_503(database: str) -> None:
    engine = create_engine(database, pool_size=1)
    try:
        app = _app(engine)
        assert (await _get(app, "/now")).status_code == 200  # the pooled connection is open
        async with engine.connect() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        other = create_engine(database, pool_size=1)
        try:
            async with other.connect() as connection:
                await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await other.dispose()
        # the pool hands out the connection the server closed, as after a restart
        answer = await _get(app, "/now")
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "database-unavailable"
        # the pool replaced the connection: the next request is served
        assert (await _get(app, "/now")).status_code == 200
    finally:
        await engine.dispose()
