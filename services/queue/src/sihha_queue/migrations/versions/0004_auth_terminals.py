"""Enrolled clinic terminals and the queue's own revocations (kit tables).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Kiosks, counter terminals and display boards are enrolled once and obtain
short-lived access tokens with a device credential (`sihha_kit.auth.enrolment`).
See `sihha_kit.auth.schema.create_auth_tables_v1`.
"""

from sihha_kit.auth.schema import create_auth_tables_v1, drop_auth_tables_v1

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_auth_tables_v1()


def downgrade() -> None:
    drop_auth_tables_v1()
