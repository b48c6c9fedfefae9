"""Retention: tables that grow with every event or request lose their old rows.

A service registers each such table once (`Housekeeper.register`); the kit registers its
own (`outbox` rows published more than 7 days ago, `inbox` rows after 30 days,
`inbox_conflicts` after 90 days). The housekeeper deletes in bounded batches
(`DELETE … WHERE ctid IN (SELECT ctid … LIMIT n)`) so that no statement holds locks or
runs long, on an index of the time column that serves the delete (each table's
migration creates it; `Retention.index` names it, and the tests check that the planner
can use it).

How long an inbox row is kept is how long a redelivery is recognised: a copy of an event
arriving after its row was purged would be applied again. 30 days is far beyond any
redelivery (the broker's and the outbox's retries are minutes; a dead letter replayed
by the IT unit is the longest, and that is days).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sihha_kit import metrics
from sihha_kit.logs import get_logger

log = get_logger(__name__)

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Retention:
    """Rows of `table` whose `column` (a timestamp) is older than `keep` are deleted;
    `only` restricts which (an SQL condition, e.g. `published_at IS NOT NULL`); `index`
    is the index the delete uses."""

    table: str
    column: str
    keep: timedelta
    index: str
    only: str | None = None

    def __post_init__(self) -> None:
        for name in (self.table, self.column, self.index):
            if not _IDENTIFIER.match(name):
                raise ValueError(f"not a plain SQL identifier: {name!r}")

    def candidates_sql(self) -> str:
        """The rows due for deletion, oldest first, at most `:limit` of them."""
        condition = f"{self.column} < now() - make_interval(secs => :keep_seconds)"
        if self.only:
            condition = f"({self.only}) AND {condition}"
        return (
            f"SELECT ctid FROM {self.table} WHERE {condition} ORDER BY {self.column} LIMIT :limit"
        )

    def delete_sql(self) -> str:
        return f"DELETE FROM {self.table} WHERE ctid = ANY(ARRAY({self.candidates_sql()}))"


#: the kit's own tables (created by messaging schema v1 and v3)
OUTBOX_RETENTION = Retention(
    "outbox", "published_at", timedelta(days=7), "outbox_published_at", "published_at IS NOT NULL"
)
INBOX_RETENTION = Retention("inbox", "received_at", timedelta(days=30), "inbox_received_at")
CONFLICTS_RETENTION = Retention(
    "inbox_conflicts", "received_at", timedelta(days=90), "inbox_conflicts_received_at"
)


class Housekeeper:
    """Deletes what the registered retentions say is old, every `interval` seconds, in
    batches of `batch` rows (one short transaction each)."""

    def __init__(
        self,
        engine: AsyncEngine,
        service: str,
        *,
        interval: float = 300.0,
        batch: int = 5000,
    ) -> None:
        self.engine = engine
        self.service = service
        self.interval = interval
        self.batch = batch
        self.retentions: dict[str, Retention] = {}

    def register(self, retention: Retention) -> None:
        """Add a table (a later registration of the same table replaces the earlier)."""
        self.retentions[retention.table] = retention

    async def run(self) -> None:
        """Purge forever (cancel the task to stop); a failed round is retried next time."""
        while True:
            try:
                await self.purge()
            except Exception as error:
                log.warning("retention.failed", error=f"{type(error).__name__}: {error}"[:300])
            await asyncio.sleep(self.interval)

    async def purge(self) -> dict[str, int]:
        """One round over every table; returns {table: rows deleted}."""
        deleted: dict[str, int] = {}
        for retention in list(self.retentions.values()):
            deleted[retention.table] = await self.purge_table(retention)
        return deleted

    async def purge_table(self, retention: Retention) -> int:
        total = 0
        statement = text(retention.delete_sql())
        parameters = {"keep_seconds": retention.keep.total_seconds(), "limit": self.batch}
        while True:
            async with self.engine.begin() as connection:
                result = await connection.execute(statement, parameters)
            count = int(result.rowcount or 0)
            total += count
            if count < self.batch:
                break
            await asyncio.sleep(0)  # let the service's own work through between batches
        if total:
            metrics.retention_deleted.labels(self.service, retention.table).inc(total)
            log.info("retention.purged", table=retention.table, rows=total)
        return total
