"""The outbox's NOTIFY trigger is dropped: the relay is woken in-process.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

PostgreSQL serialises the commits of transactions that NOTIFY (a database-wide lock
held until the commit is flushed), so every transaction that wrote an event committed
alone. See `sihha_kit.messaging_schema.drop_outbox_notify_v2`.
"""

from sihha_kit.messaging_schema import drop_outbox_notify_v2, restore_outbox_notify_v2

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_outbox_notify_v2()


def downgrade() -> None:
    restore_outbox_notify_v2()
