"""The kit's messaging tables plus a table where the tests' handler writes its effects.

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
    # no unique key on purpose: an effect applied twice shows as two rows
    op.create_table(
        "effects",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("ticket_number", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("effects")
    drop_messaging_tables_v1()
