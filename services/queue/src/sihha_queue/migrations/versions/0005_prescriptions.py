"""Electronic prescriptions: the national nomenclature's editions and products, the
search terms, prescriptions, their lines and dispenses.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

A line's dispensed quantity can never exceed its prescribed quantity: a CHECK on the
row, so that two pharmacies dispensing at the same moment cannot both succeed.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nomenclature_editions",
        sa.Column("edition_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("published_on", sa.Date, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("product_count", sa.Integer, nullable=False),
        sa.Column("changes", JSONB),
    )
    op.create_table(
        "nomenclature_products",
        sa.Column("edition_id", sa.Integer, nullable=False),
        sa.Column("registration", sa.String(40), nullable=False),
        sa.Column("product_key", sa.String(40), nullable=False),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("dci", sa.Text, nullable=False),
        sa.Column("brand", sa.Text, nullable=False),
        sa.Column("form", sa.Text, nullable=False),
        sa.Column("dosage", sa.Text, nullable=False),
        sa.Column("packaging", sa.Text, nullable=False),
        sa.Column("list_class", sa.String(10), nullable=False),
        sa.Column("community", sa.Boolean, nullable=False),
        sa.Column("hospital", sa.Boolean, nullable=False),
        sa.Column("generic", sa.Boolean),
        sa.Column("manufactured_locally", sa.Boolean),
        sa.Column("laboratory", sa.Text, nullable=False),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("registered_on", sa.Date),
        sa.Column("renewed_on", sa.Date),
        sa.Column("observation", sa.Text, nullable=False),
        sa.Column("substances", ARRAY(sa.Text), nullable=False),
        sa.PrimaryKeyConstraint("edition_id", "registration"),
    )
    op.create_index(
        "nomenclature_products_by_code", "nomenclature_products", ["edition_id", "code"]
    )
    op.create_index(
        "nomenclature_products_by_key", "nomenclature_products", ["product_key", "edition_id"]
    )
    op.create_table(
        "nomenclature_terms",
        sa.Column("edition_id", sa.Integer, nullable=False),
        sa.Column("term", sa.Text(collation="C"), nullable=False),
        sa.Column("registration", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("edition_id", "term", "registration"),
    )
    op.create_table(
        "prescriptions",
        sa.Column("prescription_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("facility_id", sa.String(16), nullable=False),
        sa.Column("visit_id", UUID(as_uuid=True), nullable=False),
        sa.Column("ticket_id", UUID(as_uuid=True)),
        sa.Column("patient_key", sa.String(64)),
        sa.Column("prescriber", sa.String(128), nullable=False),
        sa.Column("edition_id", sa.Integer, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Column("cancel_reason", sa.String(48)),
        sa.Column("content_digest", sa.LargeBinary, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("overrides", JSONB, nullable=False),
    )
    op.create_index("prescriptions_by_visit", "prescriptions", ["visit_id"])
    op.create_index(
        "prescriptions_active_by_patient",
        "prescriptions",
        ["patient_key", "valid_until"],
        postgresql_where=sa.text("status IN ('active', 'partially_dispensed')"),
    )
    op.create_table(
        "prescription_lines",
        sa.Column("prescription_id", UUID(as_uuid=True), nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("coded_by", sa.String(8), nullable=False),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("registration", sa.String(40)),
        sa.Column("dci", sa.Text, nullable=False),
        sa.Column("brand", sa.Text),
        sa.Column("form", sa.Text, nullable=False),
        sa.Column("dosage", sa.Text, nullable=False),
        sa.Column("list_class", sa.String(10), nullable=False),
        sa.Column("substances", ARRAY(sa.Text), nullable=False),
        sa.Column("dose", sa.Numeric(12, 4), nullable=False),
        sa.Column("dose_unit", sa.String(12), nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("frequency_per_day", sa.Integer, nullable=False),
        sa.Column("duration_days", sa.Integer, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("quantity_in_words", sa.Text),
        sa.Column("renewals", sa.Integer, nullable=False),
        sa.Column("instructions", sa.Text, nullable=False),
        sa.Column("dispensed_quantity", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("prescription_id", "line_no"),
        sa.CheckConstraint("quantity > 0", name="prescription_lines_quantity_positive"),
        sa.CheckConstraint(
            "dispensed_quantity >= 0 AND dispensed_quantity <= quantity",
            name="prescription_lines_dispensed_within_quantity",
        ),
    )
    op.create_table(
        "prescription_dispenses",
        sa.Column("dispense_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("prescription_id", UUID(as_uuid=True), nullable=False),
        sa.Column("pharmacy_id", sa.String(16), nullable=False),
        sa.Column("dispenser", sa.String(128), nullable=False),
        sa.Column("dispensed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "prescription_dispenses_by_prescription", "prescription_dispenses", ["prescription_id"]
    )
    op.create_table(
        "prescription_dispense_items",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("dispense_id", UUID(as_uuid=True), nullable=False),
        sa.Column("prescription_id", UUID(as_uuid=True), nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("registration", sa.String(40), nullable=False),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("brand", sa.Text, nullable=False),
        sa.Column("substituted", sa.Boolean, nullable=False),
        sa.CheckConstraint("quantity > 0", name="prescription_dispense_items_quantity_positive"),
    )
    op.create_index(
        "prescription_dispense_items_by_prescription",
        "prescription_dispense_items",
        ["prescription_id"],
    )


def downgrade() -> None:
    for table in (
        "prescription_dispense_items",
        "prescription_dispenses",
        "prescription_lines",
        "prescriptions",
        "nomenclature_terms",
        "nomenclature_products",
        "nomenclature_editions",
    ):
        op.drop_table(table)
