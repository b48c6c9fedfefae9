"""The tables of a service that enrols terminals and keeps its own revocations.

Described once here (SQLAlchemy Core) and created by a migration of each service
that mounts `sihha_kit.auth.enrolment`, through `create_auth_tables_v1` (a later
change gets a ``_v2`` function and a new migration; v1 is never edited once landed)::

    from sihha_kit.auth.schema import create_auth_tables_v1, drop_auth_tables_v1

    def upgrade() -> None:
        create_auth_tables_v1()

    def downgrade() -> None:
        drop_auth_tables_v1()
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import UUID

__all__ = ["auth_revocations", "auth_terminals", "create_auth_tables_v1", "drop_auth_tables_v1"]

metadata = MetaData()


def _terminal_columns() -> list[Column]:  # type: ignore[type-arg]
    return [
        Column("terminal_id", UUID(as_uuid=True), primary_key=True),
        Column("facility_id", String(64), nullable=False),
        #: the one role the terminal's tokens carry (`TERMINAL_ROLES`)
        Column("role", String(32), nullable=False),
        Column("label", String(120), nullable=False),
        #: HMAC-SHA256 (under the service's device-credential key) of the one-time
        #: enrolment code, until it is used
        Column("enrolment_code_hash", LargeBinary, unique=True),
        Column("enrolment_expires_at", DateTime(timezone=True)),
        #: HMAC-SHA256 of the device secret, once enrolled; the secret itself is never kept
        Column("credential_hash", LargeBinary),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("created_by", String(200), nullable=False),
        Column("enrolled_at", DateTime(timezone=True)),
        Column("last_token_at", DateTime(timezone=True)),
        Column("revoked_at", DateTime(timezone=True)),
        Column("revoked_by", String(200)),
    ]


def _revocation_columns() -> list[Column]:  # type: ignore[type-arg]
    return [
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        #: "token" (value: a jti) or "subject" (value: a sub)
        Column("kind", String(8), nullable=False),
        Column("value", String(200), nullable=False),
        #: a token: when it expires (the row may go after); a subject: the moment of the
        #: revocation (tokens issued up to it are refused)
        Column("moment", DateTime(timezone=True), nullable=False),
        Column("revoked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("revoked_by", String(200), nullable=False),
        Column("reason", String(200)),
    ]


#: terminals enrolled (or being enrolled) by this service
auth_terminals = Table("auth_terminals", metadata, *_terminal_columns())
#: what this service has revoked among the tokens it issued
auth_revocations = Table("auth_revocations", metadata, *_revocation_columns())


def create_auth_tables_v1() -> None:
    """Alembic `upgrade` step: ``auth_terminals`` and ``auth_revocations``."""
    op.create_table("auth_terminals", *_terminal_columns())
    op.create_index("auth_terminals_facility", "auth_terminals", ["facility_id"])
    op.create_table("auth_revocations", *_revocation_columns())
    op.create_index("auth_revocations_value", "auth_revocations", ["kind", "value"], unique=True)
    op.create_index("auth_revocations_moment", "auth_revocations", ["moment"])


def drop_auth_tables_v1() -> None:
    op.drop_table("auth_revocations")
    op.drop_table("auth_terminals")
