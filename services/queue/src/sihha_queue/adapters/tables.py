"""The queue service's tables (SQLAlchemy Core). Migrations create them."""

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
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()

establishments = Table(
    "establishments",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("name_fr", String(200), nullable=False),
    Column("name_ar", String(200), nullable=False),
    Column("commune", String(64), nullable=False),
)

clinic_services = Table(
    "clinic_services",
    metadata,
    Column("facility_id", String(16), nullable=False),
    Column("service_code", String(8), nullable=False),
    Column("name_fr", String(200), nullable=False),
    Column("name_ar", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    PrimaryKeyConstraint("facility_id", "service_code"),
)

#: the last number given per service and day; the row lock makes numbering gap-free
ticket_counters = Table(
    "ticket_counters",
    metadata,
    Column("facility_id", String(16), nullable=False),
    Column("service_code", String(8), nullable=False),
    Column("service_day", Date, nullable=False),
    Column("last_number", Integer, nullable=False),
    PrimaryKeyConstraint("facility_id", "service_code", "service_day"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", UUID(as_uuid=True), primary_key=True),
    Column("visit_id", UUID(as_uuid=True), nullable=False),
    Column("facility_id", String(16), nullable=False),
    Column("service_code", String(8), nullable=False),
    Column("service_day", Date, nullable=False),
    Column("number", Integer, nullable=False),
    Column("priority", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint(
        "facility_id", "service_code", "service_day", "number", name="tickets_number_once"
    ),
)
