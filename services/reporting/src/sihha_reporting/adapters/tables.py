"""The reporting service's tables: the event archive, the projections, and the reports.

Migrations create them (`migrations/versions`); these descriptions are what
the code queries. Projection tables are owned by one projection module each
(`projections/`), hold no personal data (no patient key) and are rebuilt from
the archive by `python -m sihha_reporting rebuild`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

#: every consumed event, once, append-only, with its envelope
event_archive = Table(
    "event_archive",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("event_type", String(128), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("known", Boolean, nullable=False),
    Column("facility_id", String(32), nullable=False),
    Column("aggregate_id", String(128), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("producer", String(64), nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("archived_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    #: its patient keys are reporting's re-keyed ones (false: archived before 0008, raw)
    Column("patient_keys_rekeyed", Boolean, nullable=False, server_default="true"),
)

#: how far the archive has got: one row per consumer (events archived, last commit)
ingest_progress = Table(
    "ingest_progress",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("events", BigInteger, nullable=False),
    Column("last_archived_at", DateTime(timezone=True), nullable=False),
    Column("max_occurred_at", DateTime(timezone=True)),
)

# -- projections ---------------------------------------------------------------------------

#: projection tickets_per_day: tickets issued per establishment and Algiers-local day
daily_tickets = Table(
    "daily_tickets",
    metadata,
    Column("facility_id", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("tickets_issued", Integer, nullable=False),
    PrimaryKeyConstraint("facility_id", "day"),
)

event_counts = Table(
    "event_counts",
    metadata,
    Column("day", Date, nullable=False),
    Column("facility_id", String(32), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("known", Boolean, nullable=False),
    PrimaryKeyConstraint("day", "facility_id", "event_type", "schema_version"),
)


def _counts(*names: str) -> list[Column]:  # type: ignore[type-arg]
    return [Column(name, Integer, nullable=False, server_default="0") for name in names]


polyclinic_daily = Table(
    "polyclinic_daily",
    metadata,
    Column("facility_id", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("service_code", String(8), nullable=False),
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
        "expired",
    ),
    PrimaryKeyConstraint("facility_id", "day", "service_code"),
)

polyclinic_tickets = Table(
    "polyclinic_tickets",
    metadata,
    Column("ticket_id", UUID(as_uuid=True), primary_key=True),
    Column("facility_id", String(32)),
    Column("service_code", String(8)),
    Column("day", Date),
    Column("priority", String(16)),
    Column("channel", String(16)),
    Column("routed_from", UUID(as_uuid=True)),
    Column("arrived_at", DateTime(timezone=True)),
    Column("issued_at", DateTime(timezone=True)),
    Column("first_called_at", DateTime(timezone=True)),
    Column("first_call_event", UUID(as_uuid=True)),
    Column("reported_wait_seconds", Integer),
    Column("started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("service_seconds", Integer),
    Column("no_show", Boolean, nullable=False, server_default="false"),
    Column("cancelled", Boolean, nullable=False, server_default="false"),
    Column("routed", Boolean, nullable=False, server_default="false"),
    #: still open when its service day closed: the patient left without being seen
    Column("expired", Boolean, nullable=False, server_default="false"),
)

polyclinic_hourly = Table(
    "polyclinic_hourly",
    metadata,
    Column("facility_id", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("hour", SmallInteger, nullable=False),
    Column("tickets_issued", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("facility_id", "day", "hour"),
)

facility_daily_presence = Table(
    "facility_daily_presence",
    metadata,
    Column("facility_id", String(32), nullable=False),
    Column("day", Date, nullable=False),
    *_counts("events", "events_open", "heartbeats", "heartbeats_open"),
    Column("first_event_at", DateTime(timezone=True)),
    Column("last_event_at", DateTime(timezone=True)),
    Column("last_open_event_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("facility_id", "day"),
)

facility_milestones = Table(
    "facility_milestones",
    metadata,
    Column("facility_id", String(32), primary_key=True),
    Column("first_event_at", DateTime(timezone=True)),
    Column("first_use_at", DateTime(timezone=True)),
    Column("first_ticket_at", DateTime(timezone=True)),
    Column("last_event_at", DateTime(timezone=True)),
    Column("last_event_id", UUID(as_uuid=True)),
    Column("last_event_type", String(128)),
)

terminals = Table(
    "terminals",
    metadata,
    Column("terminal_id", UUID(as_uuid=True), primary_key=True),
    Column("facility_id", String(32)),
    Column("terminal_kind", String(16)),
    Column("first_seen_at", DateTime(timezone=True)),
    Column("last_seen_at", DateTime(timezone=True)),
    Column("heartbeats", Integer, nullable=False, server_default="0"),
)

appointments_daily = Table(
    "appointments_daily",
    metadata,
    Column("facility_id", String(32), nullable=False),
    Column("day", Date, nullable=False),
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
    PrimaryKeyConstraint("facility_id", "day"),
)

appointment_facts = Table(
    "appointment_facts",
    metadata,
    Column("appointment_id", UUID(as_uuid=True), primary_key=True),
    Column("facility_id", String(32)),
    Column("specialty_code", String(8)),
    Column("booked_via", String(16)),
    Column("booked_at", DateTime(timezone=True)),
    Column("booked_day", Date),
    Column("slot_start", DateTime(timezone=True)),
    Column("slot_day", Date),
    Column("arrived", Boolean, nullable=False, server_default="false"),
    Column("no_show", Boolean, nullable=False, server_default="false"),
    Column("cancelled", Boolean, nullable=False, server_default="false"),
    Column("rescheduled", Boolean, nullable=False, server_default="false"),
    #: the slot it holds now (the booked one, or the latest rescheduling's), by the
    #: appointment's event sequence
    Column("slot_sequence", Integer),
    Column("current_slot_start", DateTime(timezone=True)),
    Column("current_slot_day", Date),
)

#: each specialist schedule as its latest revision (`sequence`) describes it: the places it
#: offers on each local day (JSON text {"YYYY-MM-DD": places}) or in all
appointment_schedules = Table(
    "appointment_schedules",
    metadata,
    Column("schedule_id", UUID(as_uuid=True), primary_key=True),
    Column("facility_id", String(32)),
    Column("specialty_code", String(8)),
    Column("revision", Integer),
    Column("revision_event", UUID(as_uuid=True)),
    Column("first_day", Date),
    Column("last_day", Date),
    Column("slot_count", Integer),
    Column("place_count", Integer),
    Column("places_by_day", Text),
)

emergency_daily = Table(
    "emergency_daily",
    metadata,
    Column("facility_id", String(32), nullable=False),
    Column("day", Date, nullable=False),
    *_counts("arrivals", "triages", "seen_by_doctor", "dispositions", "departures", "alerts"),
    PrimaryKeyConstraint("facility_id", "day"),
)

emergency_visits = Table(
    "emergency_visits",
    metadata,
    Column("visit_id", UUID(as_uuid=True), primary_key=True),
    Column("facility_id", String(32)),
    Column("day", Date),
    Column("arrived_at", DateTime(timezone=True)),
    Column("arrival_mode", String(16)),
    Column("age_band", String(8)),
    Column("sex", String(1)),
    Column("triaged_at", DateTime(timezone=True)),
    Column("triage_event", UUID(as_uuid=True)),
    Column("triage_level", SmallInteger),
    Column("seen_at", DateTime(timezone=True)),
    Column("seen_event", UUID(as_uuid=True)),
    Column("reported_minutes_to_doctor", Integer),
    Column("disposition_at", DateTime(timezone=True)),
    Column("disposition_event", UUID(as_uuid=True)),
    Column("disposition", String(32)),
    Column("departed_at", DateTime(timezone=True)),
    Column("departure_event", UUID(as_uuid=True)),
    Column("length_of_stay_minutes", Integer),
)

records_daily = Table(
    "records_daily",
    metadata,
    Column("facility_id", String(32), nullable=False),
    Column("day", Date, nullable=False),
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
    PrimaryKeyConstraint("facility_id", "day"),
)

prescriptions_daily = Table(
    "prescriptions_daily",
    metadata,
    Column("facility_id", String(32), nullable=False),
    Column("day", Date, nullable=False),
    *_counts(
        "issued", "lines_issued", "dispensed", "fully_dispensed", "lines_dispensed", "cancelled"
    ),
    *_counts("issued_with_override", "warnings_overridden", "lines_substituted"),
    PrimaryKeyConstraint("facility_id", "day"),
)

#: lines and packs per active substance (the top DCIs), per establishment and day
prescription_substances_daily = Table(
    "prescription_substances_daily",
    metadata,
    Column("facility_id", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("substance", String(64), nullable=False),
    *_counts("lines", "packs_prescribed", "packs_dispensed"),
    PrimaryKeyConstraint("facility_id", "day", "substance"),
)

# -- source data of the reporting service itself ---------------------------------------------

#: inspection visits recorded by the wilaya group (not events: the reporting service owns them)
inspections = Table(
    "inspections",
    metadata,
    Column("inspection_id", UUID(as_uuid=True), primary_key=True),
    Column("facility_id", String(32), nullable=False),
    Column("visited_on", Date, nullable=False),
    Column("inspector", String(120), nullable=False),
    Column("equipped", Boolean, nullable=False),
    Column("system_in_use", Boolean, nullable=False),
    Column("remarks", Text),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

#: every published revision of a report, with the figures exactly as published
report_revisions = Table(
    "report_revisions",
    metadata,
    Column("revision_id", UUID(as_uuid=True), primary_key=True),
    Column("report_id", UUID(as_uuid=True), nullable=False),
    Column("report_kind", String(32), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("content", JSONB, nullable=False),
    Column("data_as_of", DateTime(timezone=True)),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("trigger", String(32), nullable=False),
)

#: pushes of published reports to outside endpoints: written with the revision, sent by a worker
deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_id", UUID(as_uuid=True), primary_key=True),
    Column("revision_id", UUID(as_uuid=True), nullable=False),
    Column("destination", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),
    Column("last_status", Integer),
    Column("last_error", Text),
    #: "values" (the report) or "delete" (DHIS2: values earlier revisions sent, now removed)
    Column("purpose", String(16), nullable=False, server_default="values"),
    #: the order in which a destination receives its deliveries
    Column("position", BigInteger, Identity(always=True), nullable=False),
)

#: scheduled generations already done (job, period): a restart or a second replica skips them
schedule_runs = Table(
    "schedule_runs",
    metadata,
    Column("job", String(64), nullable=False),
    Column("period_key", String(32), nullable=False),
    Column("ran_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("job", "period_key"),
)

#: the version of each projection's code that last built its tables (set by a rebuild)
projection_state = Table(
    "projection_state",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("rebuilt_at", DateTime(timezone=True)),
    Column("events", BigInteger),
)
