"""The archive keeps only its primary key: nothing reads it by (type, time).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

The archive is written for every event and read only by replays, which scan it
whole; the secondary index of 0001 cost every insert and served no query
(reports read the projections). The monitor's "last event per establishment"
is a projection too.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("event_archive_type_time", table_name="event_archive")


def downgrade() -> None:
    op.create_index("event_archive_type_time", "event_archive", ["event_type", "occurred_at"])
