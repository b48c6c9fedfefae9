"""Inspections, published report revisions, their deliveries, scheduled runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inspections",
        sa.Column("inspection_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("visited_on", sa.Date, nullable=False),
        sa.Column("inspector", sa.String(120), nullable=False),
        sa.Column("equipped", sa.Boolean, nullable=False),
        sa.Column("system_in_use", sa.Boolean, nullable=False),
        sa.Column("remarks", sa.Text),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("inspections_facility_day", "inspections", ["facility_id", "visited_on"])
    op.create_table(
        "report_revisions",
        sa.Column("revision_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("report_id", UUID(as_uuid=True), nullable=False),
        sa.Column("report_kind", sa.String(32), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("data_as_of", TZ),
        sa.Column("published_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.UniqueConstraint(
            "report_kind", "period_start", "period_end", "revision", name="report_revision_once"
        ),
    )
    op.create_table(
        "deliveries",
        sa.Column("delivery_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("revision_id", UUID(as_uuid=True), nullable=False),
        sa.Column("destination", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("delivered_at", TZ),
        sa.Column("failed_at", TZ),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("revision_id", "destination", name="delivery_once_per_destination"),
    )
    op.create_index(
        "deliveries_pending",
        "deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("delivered_at IS NULL AND failed_at IS NULL"),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("period_key", sa.String(32), nullable=False),
        sa.Column("ran_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("job", "period_key"),
    )


def downgrade() -> None:
    op.drop_table("schedule_runs")
    op.drop_table("deliveries")
    op.drop_table("report_revisions")
    op.drop_table("inspections")
