"""Deliveries in order, and deletions: a revision that no longer sends a value deletes it;
tickets expired at the day's closing counted; the archive's patient keys re-keyed; the
places offered by specialist schedules and each appointment's current slot.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

A published revision of the ministry report may now write two deliveries to the same
destination: its values, and (DHIS2) a `dataValueSets` import with
`importStrategy=DELETE` of the values earlier revisions sent and this one no longer
sends. `purpose` tells them apart (one of each per revision and destination);
`position` orders the deliveries of a destination, so that a later revision's deletion
never reaches the receiver before an earlier revision's values.

`polyclinic_daily.expired` and `polyclinic_tickets.expired`: tickets still open when
their service day closed (`queue.ticket.expired`, patients who left without being
seen). The projection `polyclinic_activity` moves to version 2: rebuild it from the
archive (`python -m sihha_reporting rebuild`) to count the expiries already archived.

`event_archive.patient_keys_rekeyed`: false for the events archived before, whose
envelopes still hold the patient keys as the bus carried them; the service re-keys them
in the background at start-up (`service_layer/archive.rekey_archive`, also
`python -m sihha_reporting rekey-archive`) and sets it; new rows are re-keyed on arrival.

`appointment_schedules` (each schedule's latest revision: places per day) and
`appointment_facts.slot_sequence/current_slot_start/current_slot_day` (the slot an
appointment holds after reschedulings): the appointments section per specialty. The
projection `appointments` moves to version 2: rebuild it.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("appointment_facts", sa.Column("slot_sequence", sa.Integer))
    op.add_column("appointment_facts", sa.Column("current_slot_start", sa.DateTime(timezone=True)))
    op.add_column("appointment_facts", sa.Column("current_slot_day", sa.Date))
    op.create_index("appointment_facts_current_slot_day", "appointment_facts", ["current_slot_day"])
    op.create_table(
        "appointment_schedules",
        sa.Column("schedule_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("facility_id", sa.String(32)),
        sa.Column("specialty_code", sa.String(8)),
        sa.Column("revision", sa.Integer),
        sa.Column("revision_event", UUID(as_uuid=True)),
        sa.Column("first_day", sa.Date),
        sa.Column("last_day", sa.Date),
        sa.Column("slot_count", sa.Integer),
        sa.Column("place_count", sa.Integer),
        sa.Column("places_by_day", sa.Text),
    )
    # existing rows: false (to re-key); rows archived from now on: true
    op.add_column(
        "event_archive",
        sa.Column("patient_keys_rekeyed", sa.Boolean, nullable=False, server_default="false"),
    )
    op.alter_column("event_archive", "patient_keys_rekeyed", server_default="true")
    op.create_index(
        "event_archive_to_rekey",
        "event_archive",
        ["event_id"],
        postgresql_where=sa.text("NOT patient_keys_rekeyed"),
    )
    op.add_column(
        "polyclinic_daily", sa.Column("expired", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column(
        "polyclinic_tickets",
        sa.Column("expired", sa.Boolean, nullable=False, server_default="false"),
    )
    op.add_column(
        "deliveries",
        sa.Column("purpose", sa.String(16), nullable=False, server_default="values"),
    )
    op.add_column(
        "deliveries",
        sa.Column("position", sa.BigInteger, sa.Identity(always=True), nullable=False),
    )
    op.drop_constraint("delivery_once_per_destination", "deliveries", type_="unique")
    op.create_unique_constraint(
        "delivery_once_per_destination", "deliveries", ["revision_id", "destination", "purpose"]
    )
    op.create_index(
        "deliveries_pending_in_order",
        "deliveries",
        ["destination", "position"],
        postgresql_where=sa.text("delivered_at IS NULL AND failed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("deliveries_pending_in_order", "deliveries")
    op.execute("DELETE FROM deliveries WHERE purpose <> 'values'")
    op.drop_constraint("delivery_once_per_destination", "deliveries", type_="unique")
    op.create_unique_constraint(
        "delivery_once_per_destination", "deliveries", ["revision_id", "destination"]
    )
    op.drop_column("deliveries", "position")
    op.drop_column("deliveries", "purpose")
    op.drop_column("polyclinic_tickets", "expired")
    op.drop_table("appointment_schedules")
    op.drop_index("appointment_facts_current_slot_day", "appointment_facts")
    for column in ("current_slot_day", "current_slot_start", "slot_sequence"):
        op.drop_column("appointment_facts", column)
    op.drop_column("polyclinic_daily", "expired")
    op.drop_index("event_archive_to_rekey", "event_archive")
    op.drop_column("event_archive", "patient_keys_rekeyed")
