"""Archiving every consumed event, known or not, exactly once."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sihha_contracts.envelope import Envelope
from sihha_reporting.adapters.tables import event_archive


async def archive(envelope: Envelope, session: AsyncSession, *, known: bool) -> None:
    await session.execute(
        insert(event_archive)
        .values(
            event_id=envelope.event_id,
            event_type=envelope.event_type,
            schema_version=envelope.schema_version,
            known=known,
            facility_id=envelope.facility_id,
            aggregate_id=envelope.aggregate_id,
            sequence=envelope.sequence,
            occurred_at=envelope.occurred_at,
            recorded_at=envelope.recorded_at,
            producer=envelope.producer.name,
            envelope=envelope.model_dump(mode="json"),
        )
        .on_conflict_do_nothing()
    )
