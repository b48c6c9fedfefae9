"""One open ticket per counter, the day's closing, the kiosk's order, keyed idempotency.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

- `tickets_one_open_per_counter`: a counter holds at most one ticket called or in
  service (two simultaneous call-next of one counter: the second fails);
- `tickets_open_day`: the open tickets per service day, for the day's closing;
- `ticket_history_board`: a clinic's history by id, for a board that reconnects;
- `clinic_services.kiosk_rank`: where the kiosk shows a service;
- `service_keys`: secrets the service makes for itself (the idempotency HMAC key);
- `idempotency_keys`: the answers kept so far held an unkeyed SHA-256 of the request
  (NIN included): they are deleted (a retry comes within minutes), and the table gets
  the index its retention purge uses.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "tickets_one_open_per_counter",
        "tickets",
        ["counter_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('called', 'in_service')"),
    )
    op.create_index(
        "tickets_open_day",
        "tickets",
        ["service_day", "facility_id", "service_code"],
        postgresql_where=sa.text("status IN ('waiting', 'called', 'in_service')"),
    )
    op.create_index("ticket_history_board", "ticket_history", ["facility_id", "id"])
    op.add_column("clinic_services", sa.Column("kiosk_rank", sa.Integer))
    op.execute("UPDATE clinic_services SET kiosk_rank = 1 WHERE service_code = 'MG'")
    op.create_table(
        "service_keys",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("secret", sa.LargeBinary, nullable=False),
    )
    op.execute("DELETE FROM idempotency_keys")
    op.create_index("idempotency_keys_created", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("idempotency_keys_created", "idempotency_keys")
    op.drop_table("service_keys")
    op.drop_column("clinic_services", "kiosk_rank")
    op.drop_index("ticket_history_board", "ticket_history")
    op.drop_index("tickets_open_day", "tickets")
    op.drop_index("tickets_one_open_per_counter", "tickets")
