"""Prescriptions in more detail: per establishment and day, those signed with a warning
overridden, the warnings overridden and the lines dispensed by another brand; per
substance, the lines and packs prescribed and dispensed (top DCIs).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

The projection `prescriptions` moves to version 2: rebuild it from the archive
(`python -m sihha_reporting rebuild`) to fill the new columns for past events.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_NEW = ("issued_with_override", "warnings_overridden", "lines_substituted")


def upgrade() -> None:
    for name in _NEW:
        op.add_column(
            "prescriptions_daily",
            sa.Column(name, sa.Integer, nullable=False, server_default="0"),
        )
    op.create_table(
        "prescription_substances_daily",
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("substance", sa.String(64), nullable=False),
        sa.Column("lines", sa.Integer, nullable=False, server_default="0"),
        sa.Column("packs_prescribed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("packs_dispensed", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("facility_id", "day", "substance"),
    )


def downgrade() -> None:
    op.drop_table("prescription_substances_daily")
    for name in _NEW:
        op.drop_column("prescriptions_daily", name)
