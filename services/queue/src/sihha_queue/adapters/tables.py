"""The queue service's tables (SQLAlchemy Core), as the migrations leave them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

establishments = Table(
    "establishments",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("name_fr", String(200), nullable=False),
    Column("name_ar", String(200), nullable=False),
    Column("commune", String(64), nullable=False),
    Column("opening_hours", JSONB),
    Column("recall_window_seconds", Integer, nullable=False),
    Column("no_show_requeue_once", Boolean, nullable=False),
)

clinic_services = Table(
    "clinic_services",
    metadata,
    Column("facility_id", String(16), nullable=False),
    Column("service_code", String(8), nullable=False),
    Column("name_fr", String(200), nullable=False),
    Column("name_ar", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("opening_hours", JSONB),
    Column("routed_keeps_arrival", Boolean, nullable=False),
    #: where the kiosk shows the service (1 first); None: after the ranked ones, by code
    Column("kiosk_rank", Integer),
    PrimaryKeyConstraint("facility_id", "service_code"),
)

counters = Table(
    "counters",
    metadata,
    Column("counter_id", UUID(as_uuid=True), primary_key=True),
    Column("facility_id", String(16), nullable=False),
    Column("service_code", String(8), nullable=False),
    Column("label", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
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

visits = Table(
    "visits",
    metadata,
    Column("visit_id", UUID(as_uuid=True), primary_key=True),
    Column("facility_id", String(16), nullable=False),
    Column("arrived_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
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
    Column("arrived_at", DateTime(timezone=True), nullable=False),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("counter_id", UUID(as_uuid=True)),
    Column("counter_label", String(32)),
    Column("called_at", DateTime(timezone=True)),
    Column("last_called_at", DateTime(timezone=True)),
    Column("recall_count", Integer, nullable=False),
    Column("no_show_count", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("patient_key", String(64)),
    Column("age_band", String(8)),
    Column("sex", String(1)),
    Column("appointment_ref", String(32)),
    Column("routed_from_ticket_id", UUID(as_uuid=True)),
    Column("call_reason", String(64)),
)

ticket_history = Table(
    "ticket_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("ticket_id", UUID(as_uuid=True), nullable=False),
    Column("visit_id", UUID(as_uuid=True), nullable=False),
    Column("facility_id", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(16), nullable=False),
    Column("service_code", String(8), nullable=False),
    Column("counter_label", String(32)),
    Column("detail_fr", Text),
    Column("detail_ar", Text),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("subject", String(128), nullable=False),
    Column("key", String(128), nullable=False),
    #: HMAC-SHA256 (hex) of the request under the service's own key (`service_keys`)
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("subject", "key"),
)

expected_arrivals = Table(
    "expected_arrivals",
    metadata,
    Column("appointment_id", UUID(as_uuid=True), primary_key=True),
    Column("booking_code", String(16), nullable=False),
    Column("facility_id", String(16), nullable=False),
    Column("specialty_code", String(8), nullable=False),
    Column("slot_start", DateTime(timezone=True), nullable=False),
    Column("slot_end", DateTime(timezone=True), nullable=False),
    Column("patient_key", String(64)),
    Column("status", String(16), nullable=False),
    Column("ticket_id", UUID(as_uuid=True)),
    Column("last_sequence", Integer, nullable=False),
)

terminals = Table(
    "terminals",
    metadata,
    Column("terminal_id", UUID(as_uuid=True), primary_key=True),
    Column("facility_id", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_event_at", DateTime(timezone=True)),
    Column("version", Integer, nullable=False),
)

#: secrets the service makes for itself (the idempotency HMAC key), created once
service_keys = Table(
    "service_keys",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("secret", LargeBinary, nullable=False),
)
