"""Enrolled scheduling desks and the appointments service's own revocations (kit tables).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

A clinic's scheduling desk (the `/scheduler` page) is a terminal enrolled once with a
one-time code; it obtains short-lived `scheduler` tokens with its device credential
(`sihha_kit.auth.enrolment`), and revoking it stops them at once. See
`sihha_kit.auth.schema.create_auth_tables_v1`.
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
