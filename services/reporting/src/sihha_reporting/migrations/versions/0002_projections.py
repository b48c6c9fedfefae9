"""Projections of every kind of event, ingest progress and projection versions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

After this migration the new projections are empty for events archived
before it: `python -m sihha_reporting rebuild` fills them from the archive.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _counts(*names: str) -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in names]


def upgrade() -> None:
    op.create_table(
        "ingest_progress",
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("last_archived_at", TZ, nullable=False),
        sa.Column("max_occurred_at", TZ),
    )
    op.create_table(
        "projection_state",
        sa.Column("projection", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("rebuilt_at", TZ),
        sa.Column("events", sa.BigInteger),
    )
    op.create_table(
        "event_counts",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("known", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("day", "facility_id", "event_type", "schema_version"),
    )
    op.create_table(
        "polyclinic_daily",
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("service_code", sa.String(8), nullable=False),
        *_counts(
            "tickets_issued",
            "calls",
            "recalls",
            "no_shows",
            "no_shows_requeued",
            "cancelled",
            "routed_out",
            "routed_in",
            "visits_started",
            "visits_completed",
            "visits_finished",
        ),
        sa.PrimaryKeyConstraint("facility_id", "day", "service_code"),
    )
    op.create_index("polyclinic_daily_day", "polyclinic_daily", ["day"])
    op.create_table(
        "polyclinic_tickets",
        sa.Column("ticket_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("facility_id", sa.String(32)),
        sa.Column("service_code", sa.String(8)),
        sa.Column("day", sa.Date),
        sa.Column("priority", sa.String(16)),
        sa.Column("channel", sa.String(16)),
        sa.Column("routed_from", UUID(as_uuid=True)),
        sa.Column("arrived_at", TZ),
        sa.Column("issued_at", TZ),
        sa.Column("first_called_at", TZ),
        sa.Column("first_call_event", UUID(as_uuid=True)),
        sa.Column("reported_wait_seconds", sa.Integer),
        sa.Column("started_at", TZ),
        sa.Column("completed_at", TZ),
        sa.Column("service_seconds", sa.Integer),
        sa.Column("no_show", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("cancelled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("routed", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("polyclinic_tickets_day", "polyclinic_tickets", ["day", "facility_id"])
    op.create_table(
        "polyclinic_hourly",
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("hour", sa.SmallInteger, nullable=False),
        sa.Column("tickets_issued", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("facility_id", "day", "hour"),
    )
    op.create_table(
        "facility_daily_presence",
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *_counts("events", "events_open", "heartbeats", "heartbeats_open"),
        sa.Column("first_event_at", TZ),
        sa.Column("last_event_at", TZ),
        sa.Column("last_open_event_at", TZ),
        sa.PrimaryKeyConstraint("facility_id", "day"),
    )
    op.create_index("facility_daily_presence_day", "facility_daily_presence", ["day"])
    op.create_table(
        "facility_milestones",
        sa.Column("facility_id", sa.String(32), primary_key=True),
        sa.Column("first_event_at", TZ),
        sa.Column("first_use_at", TZ),
        sa.Column("first_ticket_at", TZ),
        sa.Column("last_event_at", TZ),
        sa.Column("last_event_id", UUID(as_uuid=True)),
        sa.Column("last_event_type", sa.String(128)),
    )
    op.create_table(
        "terminals",
        sa.Column("terminal_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("facility_id", sa.String(32)),
        sa.Column("terminal_kind", sa.String(16)),
        sa.Column("first_seen_at", TZ),
        sa.Column("last_seen_at", TZ),
        sa.Column("heartbeats", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "appointments_daily",
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *_counts(
            "schedules_published",
            "slots_published",
            "booked",
            "cancelled",
            "rescheduled",
            "arrived",
            "no_shows",
            "waitlist_offers",
        ),
        sa.PrimaryKeyConstraint("facility_id", "day"),
    )
    op.create_table(
        "appointment_facts",
        sa.Column("appointment_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("facility_id", sa.String(32)),
        sa.Column("specialty_code", sa.String(8)),
        sa.Column("booked_via", sa.String(16)),
        sa.Column("booked_at", TZ),
        sa.Column("booked_day", sa.Date),
        sa.Column("slot_start", TZ),
        sa.Column("slot_day", sa.Date),
        sa.Column("arrived", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("no_show", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("cancelled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("rescheduled", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("appointment_facts_booked_day", "appointment_facts", ["booked_day"])
    op.create_index("appointment_facts_slot_day", "appointment_facts", ["slot_day"])
    op.create_table(
        "emergency_daily",
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *_counts("arrivals", "triages", "seen_by_doctor", "dispositions", "departures", "alerts"),
        sa.PrimaryKeyConstraint("facility_id", "day"),
    )
    op.create_table(
        "emergency_visits",
        sa.Column("visit_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("facility_id", sa.String(32)),
        sa.Column("day", sa.Date),
        sa.Column("arrived_at", TZ),
        sa.Column("arrival_mode", sa.String(16)),
        sa.Column("age_band", sa.String(8)),
        sa.Column("sex", sa.String(1)),
        sa.Column("triaged_at", TZ),
        sa.Column("triage_event", UUID(as_uuid=True)),
        sa.Column("triage_level", sa.SmallInteger),
        sa.Column("seen_at", TZ),
        sa.Column("seen_event", UUID(as_uuid=True)),
        sa.Column("reported_minutes_to_doctor", sa.Integer),
        sa.Column("disposition_at", TZ),
        sa.Column("disposition_event", UUID(as_uuid=True)),
        sa.Column("disposition", sa.String(32)),
        sa.Column("departed_at", TZ),
        sa.Column("departure_event", UUID(as_uuid=True)),
        sa.Column("length_of_stay_minutes", sa.Integer),
    )
    op.create_index("emergency_visits_day", "emergency_visits", ["day", "facility_id"])
    op.create_table(
        "records_daily",
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *_counts(
            "patients_registered",
            "patients_merged",
            "encounters_opened",
            "inpatient_opened",
            "outpatient_opened",
            "emergency_opened",
            "encounters_closed",
            "deaths",
            "transfers",
            "diagnoses",
            "length_of_stay_hours",
            "stays_measured",
        ),
        sa.PrimaryKeyConstraint("facility_id", "day"),
    )
    op.create_table(
        "prescriptions_daily",
        sa.Column("facility_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        *_counts(
            "issued", "lines_issued", "dispensed", "fully_dispensed", "lines_dispensed", "cancelled"
        ),
        sa.PrimaryKeyConstraint("facility_id", "day"),
    )


def downgrade() -> None:
    for table in (
        "prescriptions_daily",
        "records_daily",
        "emergency_visits",
        "emergency_daily",
        "appointment_facts",
        "appointments_daily",
        "terminals",
        "facility_milestones",
        "facility_daily_presence",
        "polyclinic_hourly",
        "polyclinic_tickets",
        "polyclinic_daily",
        "event_counts",
        "projection_state",
        "ingest_progress",
    ):
        op.drop_table(table)
