"""Tickets issued per establishment and Algiers-local day, by `occurred_at`.

Late or out-of-order events land on the day they happened, not the day they
arrived.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sihha_contracts.envelope import Envelope, EventPayload
from sihha_kit.clock import local_day
from sihha_reporting.adapters.tables import daily_tickets

HANDLES = ("queue.ticket.issued",)


async def apply(envelope: Envelope, payload: EventPayload, session: AsyncSession) -> None:
    statement = insert(daily_tickets).values(
        facility_id=envelope.facility_id, day=local_day(envelope.occurred_at), tickets_issued=1
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["facility_id", "day"],
            set_={"tickets_issued": daily_tickets.c.tickets_issued + 1},
        )
    )
