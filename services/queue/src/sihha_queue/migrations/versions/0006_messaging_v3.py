"""Messaging schema v3: the inbox knows what an event says happened; conflicts; retention indexes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

A copy of an event under a new event id but with the same producer, aggregate and
sequence is recognised and recorded in `inbox_conflicts` instead of applied again. See
`sihha_kit.messaging_schema.messaging_tables_v3`.
"""

from sihha_kit.messaging_schema import drop_messaging_tables_v3, messaging_tables_v3

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    messaging_tables_v3()


def downgrade() -> None:
    drop_messaging_tables_v3()
