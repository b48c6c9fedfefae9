"""Initial schema: outbox/inbox, event archive, tickets-per-day projection.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from sihha_kit.messaging_schema import create_messaging_tables_v1, drop_messaging_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables_v1()
    op.create_table(
        "event_archive",
        sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("known", sa.Boolean, nullable=False),
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("aggregate_id", sa.String(128), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("producer", sa.String(64), nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column(
            "archived_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("event_archive_type_time", "event_archive", ["event_type", "occurred_at"])
    op.create_table(
        "daily_tickets",
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("tickets_issued", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("facility_id", "day"),
    )


def downgrade() -> None:
    op.drop_table("daily_tickets")
    op.drop_table("event_archive")
    drop_messaging_tables_v1()
