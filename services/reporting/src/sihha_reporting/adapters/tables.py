"""The reporting service's tables: the event archive and the projections."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

#: every consumed event, once, append-only, with its envelope
event_archive = Table(
    "event_archive",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("event_type", String(128), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("known", Boolean, nullable=False),
    Column("facility_id", String(32), nullable=False),
    Column("aggregate_id", String(128), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("producer", String(64), nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("archived_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

#: projection: tickets issued per establishment and Algiers-local day
daily_tickets = Table(
    "daily_tickets",
    metadata,
    Column("facility_id", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("tickets_issued", Integer, nullable=False),
    PrimaryKeyConstraint("facility_id", "day"),
)
