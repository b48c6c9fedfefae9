"""Messaging schema v3: the inbox knows what an event says happened; conflicts; retention indexes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

The same step as the queue's 0006 and reporting's 0007 (`sihha_kit.messaging_schema`):
a copy of an event under a new event id but with the same producer, aggregate and
sequence is recognised and recorded in `inbox_conflicts` instead of applied again.
"""

from sihha_kit.messaging_schema import drop_messaging_tables_v3, messaging_tables_v3

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    messaging_tables_v3()


def downgrade() -> None:
    drop_messaging_tables_v3()
