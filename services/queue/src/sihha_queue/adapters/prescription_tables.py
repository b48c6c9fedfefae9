"""The tables of the nomenclature and of electronic prescriptions (SQLAlchemy Core), as
migration 0004 leaves them. They share the queue's `metadata`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from sihha_queue.adapters.tables import metadata

#: one row per imported file of the ministry's nomenclature; never deleted
nomenclature_editions = Table(
    "nomenclature_editions",
    metadata,
    Column("edition_id", Integer, primary_key=True, autoincrement=True),
    Column("published_on", Date, nullable=False),
    Column("title", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False, unique=True),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("product_count", Integer, nullable=False),
    #: what changed since the edition before it (`EditionChanges.as_dict`)
    Column("changes", JSONB),
)

nomenclature_products = Table(
    "nomenclature_products",
    metadata,
    Column("edition_id", Integer, nullable=False),
    Column("registration", String(40), nullable=False),
    Column("product_key", String(40), nullable=False),
    Column("code", String(8), nullable=False),
    Column("dci", Text, nullable=False),
    Column("brand", Text, nullable=False),
    Column("form", Text, nullable=False),
    Column("dosage", Text, nullable=False),
    Column("packaging", Text, nullable=False),
    Column("list_class", String(10), nullable=False),
    Column("community", Boolean, nullable=False),
    Column("hospital", Boolean, nullable=False),
    Column("generic", Boolean),
    Column("manufactured_locally", Boolean),
    Column("laboratory", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("registered_on", Date),
    Column("renewed_on", Date),
    Column("observation", Text, nullable=False),
    Column("substances", ARRAY(Text), nullable=False),
    PrimaryKeyConstraint("edition_id", "registration"),
)

#: what search-as-you-type matches: each product's brand, DCI and every word-start of
#: its DCI, normalised (`domain.nomenclature.normalise`), in the "C" collation so that
#: the primary key's b-tree serves `LIKE 'prefix%'`
nomenclature_terms = Table(
    "nomenclature_terms",
    metadata,
    Column("edition_id", Integer, nullable=False),
    Column("term", Text, nullable=False),
    Column("registration", String(40), nullable=False),
    PrimaryKeyConstraint("edition_id", "term", "registration"),
)

prescriptions = Table(
    "prescriptions",
    metadata,
    Column("prescription_id", UUID(as_uuid=True), primary_key=True),
    Column("facility_id", String(16), nullable=False),
    Column("visit_id", UUID(as_uuid=True), nullable=False),
    Column("ticket_id", UUID(as_uuid=True)),
    Column("patient_key", String(64)),
    Column("prescriber", String(128), nullable=False),
    Column("edition_id", Integer, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("status", String(24), nullable=False),
    Column("version", Integer, nullable=False),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("cancel_reason", String(48)),
    Column("content_digest", LargeBinary, nullable=False),
    Column("code", Text, nullable=False),
    #: the warnings overridden at signing, each with the doctor's reason
    Column("overrides", JSONB, nullable=False),
)

prescription_lines = Table(
    "prescription_lines",
    metadata,
    Column("prescription_id", UUID(as_uuid=True), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("coded_by", String(8), nullable=False),
    Column("code", String(8), nullable=False),
    Column("registration", String(40)),
    Column("dci", Text, nullable=False),
    Column("brand", Text),
    Column("form", Text, nullable=False),
    Column("dosage", Text, nullable=False),
    Column("list_class", String(10), nullable=False),
    Column("substances", ARRAY(Text), nullable=False),
    Column("dose", Numeric(12, 4), nullable=False),
    Column("dose_unit", String(12), nullable=False),
    Column("route", String(16), nullable=False),
    Column("frequency_per_day", Integer, nullable=False),
    Column("duration_days", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("quantity_in_words", Text),
    Column("renewals", Integer, nullable=False),
    Column("instructions", Text, nullable=False),
    Column("dispensed_quantity", Integer, nullable=False),
    PrimaryKeyConstraint("prescription_id", "line_no"),
    CheckConstraint("quantity > 0", name="prescription_lines_quantity_positive"),
    CheckConstraint(
        "dispensed_quantity >= 0 AND dispensed_quantity <= quantity",
        name="prescription_lines_dispensed_within_quantity",
    ),
)

prescription_dispenses = Table(
    "prescription_dispenses",
    metadata,
    Column("dispense_id", UUID(as_uuid=True), primary_key=True),
    Column("prescription_id", UUID(as_uuid=True), nullable=False),
    Column("pharmacy_id", String(16), nullable=False),
    Column("dispenser", String(128), nullable=False),
    Column("dispensed_at", DateTime(timezone=True), nullable=False),
)

prescription_dispense_items = Table(
    "prescription_dispense_items",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("dispense_id", UUID(as_uuid=True), nullable=False),
    Column("prescription_id", UUID(as_uuid=True), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("registration", String(40), nullable=False),
    Column("code", String(8), nullable=False),
    Column("brand", Text, nullable=False),
    Column("substituted", Boolean, nullable=False),
    CheckConstraint("quantity > 0", name="prescription_dispense_items_quantity_positive"),
)
