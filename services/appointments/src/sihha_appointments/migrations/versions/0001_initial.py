"""The appointments service's schema: schedules, slots, bookings, waitlists, referrals,
durable timers, citizens' contacts, sign-in challenges and the notification outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-30

PostgreSQL itself keeps the two booking rules (see `adapters/tables.py`):
- a slot never holds more bookings than its capacity: `slots.free_places` is kept by
  the `bookings_occupy_place` triggers and checked `BETWEEN 0 AND capacity`;
- one active booking per patient and specialty: a partial unique index.
The practitioner's slots never overlap (an exclusion constraint, btree_gist).
"""

from alembic import op

from sihha_kit.messaging_schema import (
    create_messaging_tables_v1,
    drop_messaging_tables_v1,
    drop_outbox_notify_v2,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


#: one statement each (asyncpg runs one statement per call)
SCHEMA = [
    """
    CREATE TABLE schedules (
                schedule_id uuid PRIMARY KEY,
                facility_id varchar(16) NOT NULL,
                specialty_code varchar(8) NOT NULL,
                practitioner_ref varchar(64) NOT NULL,
                room varchar(64) NOT NULL,
                periods jsonb NOT NULL,
                slot_minutes integer NOT NULL CONSTRAINT schedules_slot_length CHECK (slot_minutes > 0),
                places_per_slot integer NOT NULL
                    CONSTRAINT schedules_places CHECK (places_per_slot > 0),
                effective_from date NOT NULL,
                effective_to date NOT NULL,
                exceptions jsonb NOT NULL DEFAULT '{}',
                published_at timestamptz NOT NULL,
                version integer NOT NULL,
                CONSTRAINT schedules_period CHECK (effective_to >= effective_from)
            )
    """,
    """
    CREATE INDEX schedules_practitioner ON schedules (practitioner_ref)
    """,
    """
    CREATE INDEX schedules_facility ON schedules (facility_id, specialty_code)
    """,
    """
    CREATE TABLE slots (
                slot_id uuid PRIMARY KEY,
                schedule_id uuid NOT NULL REFERENCES schedules,
                facility_id varchar(16) NOT NULL,
                commune varchar(64) NOT NULL,
                specialty_code varchar(8) NOT NULL,
                practitioner_ref varchar(64) NOT NULL,
                room varchar(64) NOT NULL,
                day date NOT NULL,
                starts_at timestamptz NOT NULL,
                ends_at timestamptz NOT NULL,
                capacity smallint NOT NULL CONSTRAINT slots_capacity CHECK (capacity > 0),
                free_places smallint NOT NULL,
                urgent_until timestamptz,
                open boolean NOT NULL DEFAULT true,
                CONSTRAINT slots_free_places CHECK (free_places BETWEEN 0 AND capacity),
                CONSTRAINT slots_in_order CHECK (ends_at > starts_at),
                CONSTRAINT slots_practitioner_once EXCLUDE USING gist (
                    practitioner_ref WITH =, tstzrange(starts_at, ends_at) WITH &&
                ) WHERE (open)
            )
    """,
    """
    CREATE INDEX slots_bookable ON slots (specialty_code, starts_at)
                WHERE open AND free_places > 0
    """,
    """
    CREATE INDEX slots_facility_day ON slots (facility_id, day, starts_at)
    """,
    """
    CREATE INDEX slots_schedule ON slots (schedule_id, starts_at)
    """,
    """
    CREATE TABLE referrals (
                referral_id uuid PRIMARY KEY,
                code varchar(16) NOT NULL UNIQUE,
                facility_id varchar(16) NOT NULL,
                specialty_code varchar(8) NOT NULL,
                patient_key char(64) NOT NULL,
                urgent boolean NOT NULL,
                issued_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                used_at timestamptz,
                booking_id uuid
            )
    """,
    """
    CREATE TABLE bookings (
                booking_id uuid PRIMARY KEY,
                booking_code varchar(12) NOT NULL UNIQUE,
                patient_key char(64) NOT NULL,
                slot_id uuid NOT NULL REFERENCES slots,
                facility_id varchar(16) NOT NULL,
                specialty_code varchar(8) NOT NULL,
                status varchar(16) NOT NULL,
                holds_place boolean NOT NULL,
                one_per_specialty boolean NOT NULL,
                channel varchar(16) NOT NULL,
                held_at timestamptz NOT NULL,
                hold_expires_at timestamptz NOT NULL,
                booked_at timestamptz,
                cancelled_at timestamptz,
                cancelled_by varchar(16),
                cancel_reason varchar(48),
                arrived_at timestamptz,
                ticket_id uuid,
                no_show_at timestamptz,
                referral_id uuid REFERENCES referrals,
                urgent boolean NOT NULL DEFAULT false,
                waitlist_entry_id uuid,
                language varchar(2) NOT NULL,
                age_band varchar(8),
                sex varchar(1),
                version integer NOT NULL,
                CONSTRAINT bookings_place_by_status CHECK (
                    holds_place = (status IN ('held', 'booked', 'arrived', 'no_show'))
                )
            )
    """,
    """
    CREATE UNIQUE INDEX bookings_one_active_per_specialty
                ON bookings (patient_key, specialty_code)
                WHERE status IN ('held', 'booked') AND one_per_specialty
    """,
    """
    CREATE INDEX bookings_patient ON bookings (patient_key, status)
    """,
    """
    CREATE INDEX bookings_slot ON bookings (slot_id) WHERE holds_place
    """,
    """
    CREATE INDEX bookings_facility_booked ON bookings (facility_id, booked_at)
    """,
    """
    -- a booking that holds a place takes it from its slot; the slot's CHECK refuses a
            -- place below zero, and the row lock on the slot serialises its last places
            CREATE FUNCTION bookings_occupy_place() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.holds_place THEN
                    UPDATE slots SET free_places = free_places + 1 WHERE slot_id = OLD.slot_id;
                END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.holds_place THEN
                    UPDATE slots SET free_places = free_places - 1 WHERE slot_id = NEW.slot_id;
                END IF;
                RETURN NULL;
            END $$
    """,
    """
    CREATE TRIGGER bookings_occupy_place_insert AFTER INSERT OR DELETE ON bookings
                FOR EACH ROW EXECUTE FUNCTION bookings_occupy_place()
    """,
    """
    CREATE TRIGGER bookings_occupy_place_update AFTER UPDATE OF holds_place, slot_id
                ON bookings FOR EACH ROW
                WHEN (OLD.holds_place IS DISTINCT FROM NEW.holds_place
                      OR OLD.slot_id IS DISTINCT FROM NEW.slot_id)
                EXECUTE FUNCTION bookings_occupy_place()
    """,
    """
    CREATE TABLE waitlist_entries (
                entry_id uuid PRIMARY KEY,
                patient_key char(64) NOT NULL,
                facility_id varchar(16) NOT NULL,
                specialty_code varchar(8) NOT NULL,
                first_day date NOT NULL,
                last_day date NOT NULL,
                status varchar(16) NOT NULL,
                joined_at timestamptz NOT NULL,
                language varchar(2) NOT NULL,
                offer_booking_id uuid,
                offer_expires_at timestamptz,
                referral_id uuid REFERENCES referrals,
                version integer NOT NULL,
                CONSTRAINT waitlist_days CHECK (last_day >= first_day)
            )
    """,
    """
    CREATE UNIQUE INDEX waitlist_once ON waitlist_entries (patient_key, facility_id, specialty_code)
                WHERE status IN ('waiting', 'offered')
    """,
    """
    CREATE INDEX waitlist_queue ON waitlist_entries (facility_id, specialty_code, joined_at)
                WHERE status = 'waiting'
    """,
    """
    -- durable timers: due-time rows claimed with FOR UPDATE SKIP LOCKED; a timer row is
            -- deleted in the transaction of its effect, so it fires once across replicas
            CREATE TABLE timers (
                timer_id bigserial PRIMARY KEY,
                kind varchar(32) NOT NULL,
                subject_id uuid NOT NULL,
                due_at timestamptz NOT NULL,
                payload jsonb NOT NULL DEFAULT '{}',
                attempts integer NOT NULL DEFAULT 0,
                last_error text,
                created_at timestamptz NOT NULL DEFAULT now()
            )
    """,
    """
    CREATE INDEX timers_due ON timers (due_at)
    """,
    """
    CREATE INDEX timers_subject ON timers (subject_id, kind)
    """,
    """
    CREATE TABLE citizens (
                patient_key char(64) PRIMARY KEY,
                phone_ciphertext bytea NOT NULL,
                phone_index bytea NOT NULL,
                language varchar(2) NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            )
    """,
    """
    CREATE INDEX citizens_phone ON citizens (phone_index)
    """,
    """
    CREATE TABLE sign_in_challenges (
                challenge_id uuid PRIMARY KEY,
                patient_key char(64) NOT NULL,
                phone_ciphertext bytea NOT NULL,
                code_digest bytea NOT NULL,
                language varchar(2) NOT NULL,
                expires_at timestamptz NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                verified_at timestamptz,
                created_at timestamptz NOT NULL
            )
    """,
    """
    CREATE INDEX sign_in_challenges_patient ON sign_in_challenges (patient_key, created_at)
    """,
    """
    CREATE TABLE notifications (
                notification_id uuid PRIMARY KEY,
                patient_key char(64) NOT NULL,
                template varchar(32) NOT NULL,
                language varchar(2) NOT NULL,
                params jsonb NOT NULL,
                booking_id uuid,
                waitlist_entry_id uuid,
                facility_id varchar(16) NOT NULL,
                phone_ciphertext bytea,
                status varchar(16) NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL,
                gateway_message_id varchar(128),
                gateway_status varchar(64),
                last_error text,
                created_at timestamptz NOT NULL,
                sent_at timestamptz
            )
    """,
    """
    CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending'
    """,
    """
    CREATE INDEX notifications_booking ON notifications (booking_id)
    """,
]


def upgrade() -> None:
    create_messaging_tables_v1()
    drop_outbox_notify_v2()  # the relay is woken in-process (sihha_kit.outbox)
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for statement in SCHEMA:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE notifications, sign_in_challenges, citizens, timers, waitlist_entries")
    op.execute("DROP TABLE bookings")
    op.execute("DROP FUNCTION bookings_occupy_place()")
    op.execute("DROP TABLE referrals, slots, schedules")
    drop_messaging_tables_v1()
