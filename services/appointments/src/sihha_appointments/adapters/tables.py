"""The appointments service's tables (SQLAlchemy Core), as migration 0001 leaves them.

The booking rules PostgreSQL keeps, whatever the code above it does:

- **capacity**: a booking that holds a place (held, booked, arrived, no-show) takes one
  of its slot's `free_places` (triggers `bookings_occupy_place_*`), and the slot's CHECK
  `slots_free_places` refuses a count below zero. The trigger's update locks the slot's
  row, so the last place of a slot goes to exactly one transaction; the others wait for
  it and then fail the CHECK (`SLOT_FULL`);
- **one active booking per patient and specialty**: the partial unique index
  `bookings_one_active_per_specialty` over held and booked bookings (a booking held
  while the rule was switched off is outside it: `one_per_specialty`);
- **a practitioner is in one place at a time**: `slots_practitioner_once`, an exclusion
  constraint over the open slots' time ranges.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

#: constraint names the repositories translate into problems
SLOT_FULL = "slots_free_places"
ONE_ACTIVE_PER_SPECIALTY = "bookings_one_active_per_specialty"
PRACTITIONER_ONCE = "slots_practitioner_once"
WAITLIST_ONCE = "waitlist_once"
BOOKING_CODE_ONCE = "bookings_booking_code_key"

schedules = Table(
    "schedules",
    metadata,
    Column("schedule_id", UUID(as_uuid=True), primary_key=True),
    Column("facility_id", String(16), nullable=False),
    Column("specialty_code", String(8), nullable=False),
    Column("practitioner_ref", String(64), nullable=False),
    Column("room", String(64), nullable=False),
    Column("periods", JSONB, nullable=False),
    Column("slot_minutes", Integer, nullable=False),
    Column("places_per_slot", Integer, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date, nullable=False),
    Column("exceptions", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
)

slots = Table(
    "slots",
    metadata,
    Column("slot_id", UUID(as_uuid=True), primary_key=True),
    Column("schedule_id", UUID(as_uuid=True), nullable=False),
    Column("facility_id", String(16), nullable=False),
    Column("commune", String(64), nullable=False),
    Column("specialty_code", String(8), nullable=False),
    Column("practitioner_ref", String(64), nullable=False),
    Column("room", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("capacity", SmallInteger, nullable=False),
    Column("free_places", SmallInteger, nullable=False),
    Column("urgent_until", DateTime(timezone=True)),
    Column("open", Boolean, nullable=False),
)

referrals = Table(
    "referrals",
    metadata,
    Column("referral_id", UUID(as_uuid=True), primary_key=True),
    Column("code", String(16), nullable=False),
    Column("facility_id", String(16), nullable=False),
    Column("specialty_code", String(8), nullable=False),
    Column("patient_key", String(64), nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("booking_id", UUID(as_uuid=True)),
)

bookings = Table(
    "bookings",
    metadata,
    Column("booking_id", UUID(as_uuid=True), primary_key=True),
    Column("booking_code", String(12), nullable=False),
    Column("patient_key", String(64), nullable=False),
    Column("slot_id", UUID(as_uuid=True), nullable=False),
    Column("facility_id", String(16), nullable=False),
    Column("specialty_code", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("holds_place", Boolean, nullable=False),
    Column("one_per_specialty", Boolean, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("held_at", DateTime(timezone=True), nullable=False),
    Column("hold_expires_at", DateTime(timezone=True), nullable=False),
    Column("booked_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("cancelled_by", String(16)),
    Column("cancel_reason", String(48)),
    Column("arrived_at", DateTime(timezone=True)),
    Column("ticket_id", UUID(as_uuid=True)),
    Column("no_show_at", DateTime(timezone=True)),
    Column("referral_id", UUID(as_uuid=True)),
    Column("urgent", Boolean, nullable=False),
    Column("waitlist_entry_id", UUID(as_uuid=True)),
    Column("language", String(2), nullable=False),
    Column("age_band", String(8)),
    Column("sex", String(1)),
    Column("version", Integer, nullable=False),
)

waitlist_entries = Table(
    "waitlist_entries",
    metadata,
    Column("entry_id", UUID(as_uuid=True), primary_key=True),
    Column("patient_key", String(64), nullable=False),
    Column("facility_id", String(16), nullable=False),
    Column("specialty_code", String(8), nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    Column("language", String(2), nullable=False),
    Column("offer_booking_id", UUID(as_uuid=True)),
    Column("offer_expires_at", DateTime(timezone=True)),
    Column("referral_id", UUID(as_uuid=True)),
    Column("version", Integer, nullable=False),
)

timers = Table(
    "timers",
    metadata,
    Column("timer_id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("subject_id", UUID(as_uuid=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True)),
)

citizens = Table(
    "citizens",
    metadata,
    Column("patient_key", String(64), primary_key=True),
    Column("phone_ciphertext", LargeBinary, nullable=False),
    Column("phone_index", LargeBinary, nullable=False),
    Column("language", String(2), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

sign_in_challenges = Table(
    "sign_in_challenges",
    metadata,
    Column("challenge_id", UUID(as_uuid=True), primary_key=True),
    Column("patient_key", String(64), nullable=False),
    Column("phone_ciphertext", LargeBinary, nullable=False),
    Column("code_digest", LargeBinary, nullable=False),
    Column("language", String(2), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("verified_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("notification_id", UUID(as_uuid=True), primary_key=True),
    Column("patient_key", String(64), nullable=False),
    Column("template", String(32), nullable=False),
    Column("language", String(2), nullable=False),
    Column("params", JSONB, nullable=False),
    Column("booking_id", UUID(as_uuid=True)),
    Column("waitlist_entry_id", UUID(as_uuid=True)),
    Column("facility_id", String(16), nullable=False),
    Column("phone_ciphertext", LargeBinary),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("gateway_message_id", String(128)),
    Column("gateway_status", String(64)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
)
