"""Writes projections' `Upsert`s in bulk: one multi-row statement per table and batch.

Each upsert becomes::

    INSERT INTO t AS t (k1, k2, c1, ...)
    SELECT * FROM unnest($1::date[], $2::text[], $3::int[], ...)
    ON CONFLICT (k1, k2) DO UPDATE SET c1 = <rule>, ...

whose text depends only on the table and its columns, so asyncpg prepares it
once and every batch, whatever its size, reuses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from sihha_reporting.adapters.tables import metadata
from sihha_reporting.domain.writes import Combine, Rule, Upsert

_SQL_CACHE: dict[tuple[Any, ...], str] = {}


def pg_array_type(table: Table, column: str) -> str:
    kind = table.c[column].type
    if isinstance(kind, UUID):
        return "uuid"
    if isinstance(kind, DateTime):
        return "timestamptz"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, SmallInteger):
        return "int2"
    if isinstance(kind, BigInteger):
        return "int8"
    if isinstance(kind, Integer):
        return "int4"
    if isinstance(kind, Float):
        return "float8"
    if isinstance(kind, String | Text):
        return "text"
    raise TypeError(f"{table.name}.{column}: no array type for {kind!r}")


def _set_clause(column: str, spec: Combine) -> str:
    old, new = f"t.{column}", f"excluded.{column}"
    rule = spec.rule
    if rule is Rule.SUM:
        return f"{column} = COALESCE({old}, 0) + COALESCE({new}, 0)"
    if rule is Rule.MIN:
        return f"{column} = LEAST({old}, {new})"
    if rule is Rule.MAX:
        return f"{column} = GREATEST({old}, {new})"
    if rule is Rule.FIRST:
        return f"{column} = COALESCE({old}, {new})"
    if rule is Rule.OR:
        return f"{column} = (COALESCE({old}, false) OR COALESCE({new}, false))"
    ref, tb = spec.ref, spec.tiebreak
    compare = ">" if rule is Rule.LATEST else "<"
    # every SET expression reads the row as it was before the update: the decision is
    # the same for all the columns that share (ref, tiebreak), as in `writes.merge`
    wins = (
        f"excluded.{ref} IS NOT NULL AND (t.{ref} IS NULL OR "
        f"(excluded.{ref}, excluded.{tb}) {compare} (t.{ref}, t.{tb}))"
    )
    return f"{column} = CASE WHEN {wins} THEN {new} ELSE {old} END"


def _upsert_sql(upsert: Upsert, first: int) -> str:
    """One upsert whose parameters are numbered from `first`."""
    table = metadata.tables[upsert.table]
    columns = upsert.columns
    arrays = ", ".join(
        f"${i}::{pg_array_type(table, column)}[]" for i, column in enumerate(columns, start=first)
    )
    sets = ", ".join(_set_clause(column, spec) for column, spec in upsert.combine.items())
    return (
        f"INSERT INTO {upsert.table} AS t ({', '.join(columns)}) "
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(upsert.key)}) DO UPDATE SET {sets}"
    )


def upsert_sql(upsert: Upsert) -> str:
    return _upsert_sql(upsert, 1)


def combined_sql(upserts: Sequence[Upsert]) -> str:
    """Every upsert of a batch in one statement (data-modifying CTEs: each runs exactly once,
    to completion), so that a batch costs one round trip to the database, not one per table."""
    cache_key = tuple((u.table, u.key, tuple(u.combine.items())) for u in upserts)
    sql = _SQL_CACHE.get(cache_key)
    if sql is not None:
        return sql
    if len(upserts) == 1:
        sql = _upsert_sql(upserts[0], 1)
    else:
        parts, first = [], 1
        for index, upsert in enumerate(upserts):
            parts.append(f"w{index} AS ({_upsert_sql(upsert, first)})")
            first += len(upsert.columns)
        sql = "WITH " + ", ".join(parts) + " SELECT 1"
    _SQL_CACHE[cache_key] = sql
    return sql


def columnar(upsert: Upsert) -> tuple[list[Any], ...]:
    rows = list(upsert.rows.values())
    return tuple([row[column] for row in rows] for column in upsert.columns)


class ProjectionStore:
    """Applies upserts and empties projection tables, in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, upserts: Iterable[Upsert]) -> int:
        """Write the upserts of a batch in one statement. Each table must appear once."""
        chosen = [upsert for upsert in upserts if upsert.rows]
        if not chosen:
            return 0
        tables = [upsert.table for upsert in chosen]
        if len(set(tables)) != len(tables):
            raise ValueError(f"a table appears twice in one batch: {sorted(tables)}")
        parameters = tuple(array for upsert in chosen for array in columnar(upsert))
        connection = await self.session.connection()
        await connection.exec_driver_sql(combined_sql(chosen), parameters)
        return sum(len(upsert.rows) for upsert in chosen)

    async def empty(self, tables: Sequence[str]) -> None:
        """Delete every row (not TRUNCATE: its lock would make readers wait for the whole
        rebuild; a DELETE lets them read the old rows until the rebuild commits)."""
        for name in tables:
            if name not in metadata.tables:
                raise ValueError(f"unknown projection table {name!r}")
        connection = await self.session.connection()
        for name in tables:
            await connection.exec_driver_sql(f"DELETE FROM {name}")

    async def lock(self, tables: Sequence[str]) -> None:
        """Hold the projection tables against the live consumer until the transaction ends."""
        connection = await self.session.connection()
        await connection.exec_driver_sql(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE")
