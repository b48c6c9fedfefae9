"""The appointments a clinic expects (from the appointments service's events)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert

from sihha_kit.uow import Repository
from sihha_queue.adapters.tables import expected_arrivals


class ArrivalRepository(Repository):
    """Appointments this clinic expects, kept from the appointments service's events."""

    async def booked(
        self, appointment_id: UUID, sequence: int, identity: dict[str, Any], state: dict[str, Any]
    ) -> None:
        """The booking's identity (code, clinic, specialty, patient) is always kept; its state
        (status, slot) only if no later event of the appointment was applied first."""
        statement = insert(expected_arrivals).values(
            appointment_id=appointment_id, last_sequence=sequence, **identity, **state
        )
        newer = expected_arrivals.c.last_sequence < sequence
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["appointment_id"],
                set_={
                    **{key: statement.excluded[key] for key in identity},
                    **{
                        key: case((newer, statement.excluded[key]), else_=expected_arrivals.c[key])
                        for key in state
                    },
                    "last_sequence": func.greatest(expected_arrivals.c.last_sequence, sequence),
                },
            )
        )

    async def change(
        self, appointment_id: UUID, sequence: int, facility_id: str, state: dict[str, Any]
    ) -> None:
        """A later change of a booking. If it overtook the booking itself on the way, keep
        it in a placeholder row that the booking event completes."""
        statement = insert(expected_arrivals).values(
            appointment_id=appointment_id,
            last_sequence=sequence,
            booking_code="",
            facility_id=facility_id,
            specialty_code="",
            slot_start=state.get("slot_start", datetime.min.replace(tzinfo=UTC)),
            slot_end=state.get("slot_end", datetime.min.replace(tzinfo=UTC)),
            status=state.get("status", "booked"),
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["appointment_id"],
                set_={**{key: statement.excluded[key] for key in state}, "last_sequence": sequence},
                where=expected_arrivals.c.last_sequence < sequence,
            )
        )

    async def by_code(self, facility_id: str, booking_code: str) -> dict[str, Any] | None:
        row = (
            (
                await self.session.execute(
                    select(expected_arrivals)
                    .where(
                        expected_arrivals.c.facility_id == facility_id,
                        expected_arrivals.c.booking_code == booking_code,
                    )
                    .with_for_update()
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def mark_checked_in(self, appointment_id: UUID, ticket_id: UUID) -> None:
        await self.session.execute(
            update(expected_arrivals)
            .where(expected_arrivals.c.appointment_id == appointment_id)
            .values(status="checked_in", ticket_id=ticket_id)
        )
