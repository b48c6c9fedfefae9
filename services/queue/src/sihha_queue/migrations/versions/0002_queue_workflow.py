"""The whole queue workflow: opening hours and policies, counters, visits, the ticket's
life (call, recall, no-show, service, routing), history, idempotency keys, expected
appointment arrivals and terminals.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("establishments", sa.Column("opening_hours", JSONB, nullable=True))
    op.add_column(
        "establishments",
        sa.Column("recall_window_seconds", sa.Integer, nullable=False, server_default="120"),
    )
    op.add_column(
        "establishments",
        sa.Column("no_show_requeue_once", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    op.add_column("clinic_services", sa.Column("opening_hours", JSONB, nullable=True))
    op.add_column(
        "clinic_services",
        sa.Column("routed_keeps_arrival", sa.Boolean, nullable=False, server_default=sa.true()),
    )

    op.create_table(
        "counters",
        sa.Column("counter_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("facility_id", sa.String(16), nullable=False),
        sa.Column("service_code", sa.String(8), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.UniqueConstraint("facility_id", "label", name="counters_label_once"),
    )
    op.create_table(
        "visits",
        sa.Column("visit_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("facility_id", sa.String(16), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    for name, column in [
        ("arrived_at", sa.DateTime(timezone=True)),
        ("effective_at", sa.DateTime(timezone=True)),
        ("counter_id", UUID(as_uuid=True)),
        ("counter_label", sa.String(32)),
        ("called_at", sa.DateTime(timezone=True)),
        ("last_called_at", sa.DateTime(timezone=True)),
        ("started_at", sa.DateTime(timezone=True)),
        ("completed_at", sa.DateTime(timezone=True)),
        ("patient_key", sa.String(64)),
        ("age_band", sa.String(8)),
        ("sex", sa.String(1)),
        ("appointment_ref", sa.String(32)),
        ("routed_from_ticket_id", UUID(as_uuid=True)),
        ("call_reason", sa.String(64)),
    ]:
        op.add_column("tickets", sa.Column(name, column, nullable=True))
    op.add_column(
        "tickets", sa.Column("recall_count", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column(
        "tickets", sa.Column("no_show_count", sa.Integer, nullable=False, server_default="0")
    )
    op.execute("UPDATE tickets SET arrived_at = issued_at, effective_at = issued_at")
    op.alter_column("tickets", "arrived_at", nullable=False)
    op.alter_column("tickets", "effective_at", nullable=False)
    op.execute("""
        INSERT INTO visits (visit_id, facility_id, arrived_at)
        SELECT visit_id, facility_id, min(issued_at) FROM tickets GROUP BY visit_id, facility_id
    """)
    # the call order of a service's waiting tickets (see domain/policy.py)
    op.create_index(
        "tickets_waiting",
        "tickets",
        ["facility_id", "service_code", "effective_at"],
        postgresql_where=sa.text("status = 'waiting'"),
    )
    op.create_index("tickets_visit", "tickets", ["visit_id"])
    op.create_index(
        "tickets_counter_open",
        "tickets",
        ["counter_id"],
        postgresql_where=sa.text("status IN ('called', 'in_service')"),
    )
    op.create_index("tickets_day", "tickets", ["facility_id", "service_day"])

    op.create_table(
        "ticket_history",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", UUID(as_uuid=True), nullable=False),
        sa.Column("visit_id", UUID(as_uuid=True), nullable=False),
        sa.Column("facility_id", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("service_code", sa.String(8), nullable=False),
        sa.Column("counter_label", sa.String(32), nullable=True),
        sa.Column("detail_fr", sa.Text, nullable=True),
        sa.Column("detail_ar", sa.Text, nullable=True),
    )
    op.create_index("ticket_history_visit", "ticket_history", ["visit_id", "at"])
    op.create_index("ticket_history_day", "ticket_history", ["facility_id", "at"])

    op.create_table(
        "idempotency_keys",
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("subject", "key"),
    )
    op.create_table(
        "expected_arrivals",
        sa.Column("appointment_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("booking_code", sa.String(16), nullable=False),
        sa.Column("facility_id", sa.String(16), nullable=False),
        sa.Column("specialty_code", sa.String(8), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slot_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("patient_key", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ticket_id", UUID(as_uuid=True), nullable=True),
        sa.Column("last_sequence", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("expected_arrivals_code", "expected_arrivals", ["facility_id", "booking_code"])
    op.create_table(
        "terminals",
        sa.Column("terminal_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("facility_id", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("terminals")
    op.drop_table("expected_arrivals")
    op.drop_table("idempotency_keys")
    op.drop_table("ticket_history")
    op.drop_index("tickets_day", "tickets")
    op.drop_index("tickets_counter_open", "tickets")
    op.drop_index("tickets_visit", "tickets")
    op.drop_index("tickets_waiting", "tickets")
    for name in [
        "recall_count",
        "no_show_count",
        "arrived_at",
        "effective_at",
        "counter_id",
        "counter_label",
        "called_at",
        "last_called_at",
        "started_at",
        "completed_at",
        "patient_key",
        "age_band",
        "sex",
        "appointment_ref",
        "routed_from_ticket_id",
        "call_reason",
    ]:
        op.drop_column("tickets", name)
    op.drop_table("visits")
    op.drop_table("counters")
    op.drop_column("clinic_services", "routed_keeps_arrival")
    op.drop_column("clinic_services", "opening_hours")
    op.drop_column("establishments", "no_show_requeue_once")
    op.drop_column("establishments", "recall_window_seconds")
    op.drop_column("establishments", "opening_hours")
