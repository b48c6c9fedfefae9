"""The outbox and inbox tables every service has in its own database.

The tables are described once here (SQLAlchemy Core) and created by each
service's first migration through `create_messaging_tables_v1`. A later change
to these tables gets a new `..._v2` function and a new migration in every
service; the v1 function is never edited once landed.

Version 3 (`messaging_tables_v3`): the inbox also records what an event says happened
(`producer`, `aggregate_id`, `sequence`, unique per consumer), so that a copy with a new
`event_id` is recognised; such copies are kept in `inbox_conflicts` for the IT unit.
Each table that grows gets the index its retention deletes by (`sihha_kit.retention`).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()


def _outbox_columns() -> list[Column]:  # type: ignore[type-arg]
    return [
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("event_type", String(128), nullable=False),
        Column("routing_key", String(128), nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("traceparent", String(64)),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column(
            "next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()
        ),
        Column("last_error", Text),
    ]


def _inbox_columns() -> list[Column]:  # type: ignore[type-arg]
    return [
        Column("consumer", String(64), primary_key=True),
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("event_type", String(128), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def _inbox_identity_columns() -> list[Column]:  # type: ignore[type-arg]
    """Version 3: what the event says happened (null in rows from before it)."""
    return [
        Column("producer", String(64)),
        Column("aggregate_id", String(128)),
        Column("sequence", Integer),
    ]


def _inbox_conflict_columns() -> list[Column]:  # type: ignore[type-arg]
    return [
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("consumer", String(64), nullable=False),
        #: the copy that was not applied
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("event_type", String(128), nullable=False),
        Column("producer", String(64), nullable=False),
        Column("aggregate_id", String(128), nullable=False),
        Column("sequence", Integer, nullable=False),
        Column("facility_id", String(32)),
        #: the event applied before with the same producer, aggregate and sequence
        Column("kept_event_id", UUID(as_uuid=True)),
        Column("kept_event_type", String(128)),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


#: events waiting to be published, written in the same transaction as the change
outbox = Table("outbox", metadata, *_outbox_columns())

#: events this service has consumed; the primary key makes a redelivery a no-op, the
#: unique (consumer, producer, aggregate_id, sequence) a copy under a new event id
inbox = Table("inbox", metadata, *_inbox_columns(), *_inbox_identity_columns())

#: copies of an applied event under another event id, not applied (the IT monitor lists them)
inbox_conflicts = Table("inbox_conflicts", metadata, *_inbox_conflict_columns())

OUTBOX_CHANNEL = "sihha_outbox"


def create_messaging_tables_v1() -> None:
    """Alembic `upgrade` step: outbox, inbox and the NOTIFY trigger that wakes the relay."""
    op.create_table("outbox", *_outbox_columns())
    op.create_index(
        "outbox_pending",
        "outbox",
        ["next_attempt_at", "id"],
        postgresql_where=text("published_at IS NULL"),
    )
    op.create_table("inbox", *_inbox_columns())
    _create_outbox_notify()


def _create_outbox_notify() -> None:
    """The trigger of version 1 (dropped by version 2): one NOTIFY per statement, not per
    row, so that a batch insert woke the relay once; NOTIFY is transactional, so the
    relay woke only for committed rows."""
    op.execute(
        f"""
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
    )


def drop_outbox_notify_v2() -> None:
    """Alembic `upgrade` step: the outbox's NOTIFY trigger goes. PostgreSQL serialises the
    commits of transactions that NOTIFY, so it made every event-writing transaction
    commit alone; the relay is now woken in-process (`sihha_kit.outbox.wake_relays`)
    and polls."""
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS outbox_notify()")


def restore_outbox_notify_v2() -> None:
    """Alembic `downgrade` step of `drop_outbox_notify_v2`."""
    _create_outbox_notify()


def messaging_tables_v3() -> None:
    """Alembic `upgrade` step: the inbox's event identity and its conflicts table; the
    indexes the retention deletes use (outbox by `published_at`, inbox and conflicts by
    `received_at`)."""
    for column in _inbox_identity_columns():
        op.add_column("inbox", column)
    op.create_index(
        "inbox_event_identity",
        "inbox",
        ["consumer", "producer", "aggregate_id", "sequence"],
        unique=True,
    )
    op.create_index("inbox_received_at", "inbox", ["received_at"])
    op.create_table("inbox_conflicts", *_inbox_conflict_columns())
    op.create_index("inbox_conflicts_received_at", "inbox_conflicts", ["received_at"])
    op.create_index(
        "outbox_published_at",
        "outbox",
        ["published_at"],
        postgresql_where=text("published_at IS NOT NULL"),
    )


def drop_messaging_tables_v3() -> None:
    """Alembic `downgrade` step of `messaging_tables_v3`."""
    op.drop_index("outbox_published_at", "outbox")
    op.drop_table("inbox_conflicts")
    op.drop_index("inbox_received_at", "inbox")
    op.drop_index("inbox_event_identity", "inbox")
    for column in reversed(_inbox_identity_columns()):
        op.drop_column("inbox", column.name)


def drop_messaging_tables_v1() -> None:
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS outbox_notify()")
    op.drop_table("inbox")
    op.drop_table("outbox")
