"""The bare HTTP baseline app: FastAPI + asyncpg, one INSERT per request, nothing else.

No middleware, no ORM, no unit of work, no outbox: what a request costs at the
least on this stack. Served by `bench.http_baseline` with uvicorn in a subprocess;
the database comes from `BENCH_HTTP_DATABASE_URL` (its table already created).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request
from pydantic import BaseModel

DATABASE_ENV = "BENCH_HTTP_DATABASE_URL"
POOL_SIZE_ENV = "BENCH_HTTP_POOL_SIZE"

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS items (
    id bigserial PRIMARY KEY,
    facility_id text NOT NULL,
    note text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
INSERT = "INSERT INTO items (facility_id, note) VALUES ($1, $2) RETURNING id"


class NewItem(BaseModel):
    facility_id: str
    note: str


class Created(BaseModel):
    id: int


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    size = int(os.environ.get(POOL_SIZE_ENV, "16"))
    pool = await asyncpg.create_pool(os.environ[DATABASE_ENV], min_size=size, max_size=size)
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


@app.post("/items", status_code=201)
async def create_item(item: NewItem, request: Request) -> Created:
    pool: asyncpg.Pool = request.app.state.pool
    row_id = await pool.fetchval(INSERT, item.facility_id, item.note)
    return Created(id=row_id)


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}
