"""Queries of the reporting service."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sihha_reporting.adapters.tables import daily_tickets


class ActivityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tickets_per_day(
        self, start: date, end: date, facility_id: str | None = None
    ) -> list[dict[str, Any]]:
        query = select(daily_tickets).where(
            daily_tickets.c.day >= start, daily_tickets.c.day <= end
        )
        if facility_id:
            query = query.where(daily_tickets.c.facility_id == facility_id)
        rows = (
            await self.session.execute(
                query.order_by(daily_tickets.c.day, daily_tickets.c.facility_id)
            )
        ).mappings()
        return [dict(row) for row in rows]
