"""Slot search and "next free" offers read only what they return, in order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

`slots_bookable` gains `slot_id`, the tie-breaker of the search's order and of its
keyset cursor, so the index gives the rows in the exact order of a page and the cursor
`(starts_at, slot_id) > (…)` is an index condition. `slots_bookable_facility` serves the
searches by establishment and the next free slots offered with every `slot-full`
answer (same specialty, same establishment): before it, those scanned the specialty's
free slots of every establishment of the wilaya and dropped the others (178 of 184 rows
read for the first five, with a year of schedules at 36 polyclinics). Both are partial,
on open slots with a free place, so a booked or closed slot leaves them.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX slots_bookable")
    op.execute(
        "CREATE INDEX slots_bookable ON slots (specialty_code, starts_at, slot_id)"
        " WHERE open AND free_places > 0"
    )
    op.execute(
        "CREATE INDEX slots_bookable_facility"
        " ON slots (facility_id, specialty_code, starts_at, slot_id)"
        " WHERE open AND free_places > 0"
    )


def downgrade() -> None:
    op.execute("DROP INDEX slots_bookable_facility")
    op.execute("DROP INDEX slots_bookable")
    op.execute(
        "CREATE INDEX slots_bookable ON slots (specialty_code, starts_at)"
        " WHERE open AND free_places > 0"
    )
