"""Initial schema: outbox/inbox, establishments, clinic services, ticket numbering, tickets.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from sihha_kit.messaging_schema import create_messaging_tables_v1, drop_messaging_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables_v1()
    op.create_table(
        "establishments",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name_fr", sa.String(200), nullable=False),
        sa.Column("name_ar", sa.String(200), nullable=False),
        sa.Column("commune", sa.String(64), nullable=False),
    )
    op.create_table(
        "clinic_services",
        sa.Column("facility_id", sa.String(16), nullable=False),
        sa.Column("service_code", sa.String(8), nullable=False),
        sa.Column("name_fr", sa.String(200), nullable=False),
        sa.Column("name_ar", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("facility_id", "service_code"),
    )
    op.create_table(
        "ticket_counters",
        sa.Column("facility_id", sa.String(16), nullable=False),
        sa.Column("service_code", sa.String(8), nullable=False),
        sa.Column("service_day", sa.Date, nullable=False),
        sa.Column("last_number", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("facility_id", "service_code", "service_day"),
    )
    op.create_table(
        "tickets",
        sa.Column("ticket_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("visit_id", UUID(as_uuid=True), nullable=False),
        sa.Column("facility_id", sa.String(16), nullable=False),
        sa.Column("service_code", sa.String(8), nullable=False),
        sa.Column("service_day", sa.Date, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint(
            "facility_id", "service_code", "service_day", "number", name="tickets_number_once"
        ),
    )


def downgrade() -> None:
    op.drop_table("tickets")
    op.drop_table("ticket_counters")
    op.drop_table("clinic_services")
    op.drop_table("establishments")
    drop_messaging_tables_v1()
