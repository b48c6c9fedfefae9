"""The event archive: bulk append (idempotent) and streaming reads for replays."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from sihha_contracts.envelope import Envelope

_ARCHIVE_INSERT = """
WITH fresh AS (
INSERT INTO event_archive (event_id, event_type, schema_version, known, facility_id,
                           aggregate_id, sequence, occurred_at, recorded_at, producer, envelope)
SELECT u.event_id, u.event_type, u.schema_version, u.known, u.facility_id, u.aggregate_id,
       u.sequence, u.occurred_at, u.recorded_at, u.producer, u.envelope::jsonb
FROM unnest($1::uuid[], $2::text[], $3::int4[], $4::bool[], $5::text[], $6::text[],
            $7::int4[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[])
     AS u(event_id, event_type, schema_version, known, facility_id, aggregate_id, sequence,
          occurred_at, recorded_at, producer, envelope)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id, occurred_at
), progress AS (
INSERT INTO ingest_progress AS p (consumer, events, last_archived_at, max_occurred_at)
SELECT $12, count(*), $13::timestamptz, max(occurred_at) FROM fresh HAVING count(*) > 0
ON CONFLICT (consumer) DO UPDATE SET events = p.events + excluded.events,
    last_archived_at = excluded.last_archived_at,
    max_occurred_at = GREATEST(p.max_occurred_at, excluded.max_occurred_at)
)
SELECT event_id FROM fresh
"""

#: the columns a replay needs; the payload alone, as JSON text for the payload model
_REPLAY_SELECT = """
SELECT event_id, event_type, schema_version, known, facility_id, aggregate_id, sequence,
       occurred_at, (envelope -> 'payload')::text AS payload
FROM event_archive
"""


class ArchiveRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(
        self, events: Sequence[tuple[Envelope, bool]], *, consumer: str, archived_at: datetime
    ) -> set[UUID]:
        """Archive (envelope, known) pairs; returns the ids that were not archived before.

        `archived_at` is the platform's time of the batch (its clock, which a demo or a test
        may simulate, not the database server's): what reports print as "data as of"."""
        if not events:
            return set()
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [], [], [], [])
        for envelope, known in events:
            values = (
                envelope.event_id,
                envelope.event_type,
                envelope.schema_version,
                known,
                envelope.facility_id,
                envelope.aggregate_id,
                envelope.sequence,
                envelope.occurred_at,
                envelope.recorded_at,
                envelope.producer.name,
                envelope.model_dump_json(),
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        connection = await self.session.connection()
        result = await connection.exec_driver_sql(
            _ARCHIVE_INSERT, (*columns, consumer, archived_at)
        )
        return {row[0] for row in result.all()}

    async def stream(self, chunk_size: int = 5000) -> AsyncIterator[list[Any]]:
        """Every archived event (replay columns), in chunks, from one consistent snapshot.

        Physical order: the projections do not depend on the order of events."""
        connection = await self.session.connection()
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        cursor = await raw.cursor(_REPLAY_SELECT)
        while True:
            rows = await cursor.fetch(chunk_size)
            if not rows:
                return
            yield rows

    async def count(self) -> int:
        connection = await self.session.connection()
        result = await connection.exec_driver_sql("SELECT count(*) FROM event_archive")
        return int(result.scalar_one())

    async def data_as_of(self) -> datetime | None:
        """When the archive last received events (the last committed batch), on the
        platform's clock (see `append`)."""
        connection = await self.session.connection()
        result = await connection.exec_driver_sql(
            "SELECT max(last_archived_at) FROM ingest_progress"
        )
        value: datetime | None = result.scalar_one()
        return value

    async def latest_occurred_at(self) -> datetime | None:
        connection = await self.session.connection()
        result = await connection.exec_driver_sql(
            "SELECT max(max_occurred_at) FROM ingest_progress"
        )
        value: datetime | None = result.scalar_one()
        return value
