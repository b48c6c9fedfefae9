"""Queries of the queue service, all in one place."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sihha_contracts.events.queue import IssueChannel, Priority
from sihha_kit.registry import Registry
from sihha_queue.adapters.tables import clinic_services, establishments, ticket_counters, tickets
from sihha_queue.domain.ticket import Ticket, TicketStatus


class ClinicRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def service(self, facility_id: str, service_code: str) -> dict[str, Any] | None:
        row = (
            (
                await self.session.execute(
                    select(clinic_services).where(
                        clinic_services.c.facility_id == facility_id,
                        clinic_services.c.service_code == service_code,
                    )
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def establishment_exists(self, facility_id: str) -> bool:
        found = await self.session.scalar(
            select(func.count())
            .select_from(establishments)
            .where(establishments.c.code == facility_id)
        )
        return bool(found)

    async def load_registry(self, registry: Registry) -> None:
        """Insert the registry's polyclinics and their standard services; keep local edits."""
        rows = [
            {
                "code": e.code,
                "kind": e.kind,
                "name_fr": e.name_fr,
                "name_ar": e.name_ar,
                "commune": e.commune,
            }
            for e in registry.polyclinics
        ]
        if rows:
            await self.session.execute(insert(establishments).values(rows).on_conflict_do_nothing())
        services = [
            {
                "facility_id": e.code,
                "service_code": s.code,
                "name_fr": s.name_fr,
                "name_ar": s.name_ar,
                "active": True,
            }
            for e in registry.polyclinics
            for s in registry.polyclinic_services
        ]
        if services:
            await self.session.execute(
                insert(clinic_services).values(services).on_conflict_do_nothing()
            )


class TicketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_number(self, facility_id: str, service_code: str, service_day: date) -> int:
        """The next ticket number of the day: the counter row stays locked until commit,
        so concurrent issuers wait for each other and a rollback gives the number back."""
        statement = (
            insert(ticket_counters)
            .values(
                facility_id=facility_id,
                service_code=service_code,
                service_day=service_day,
                last_number=1,
            )
            .on_conflict_do_update(
                index_elements=["facility_id", "service_code", "service_day"],
                set_={"last_number": ticket_counters.c.last_number + 1},
            )
            .returning(ticket_counters.c.last_number)
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def add(self, ticket: Ticket) -> None:
        await self.session.execute(
            insert(tickets).values(
                ticket_id=ticket.ticket_id,
                visit_id=ticket.visit_id,
                facility_id=ticket.facility_id,
                service_code=ticket.service_code,
                service_day=ticket.service_day,
                number=ticket.number,
                priority=ticket.priority.value,
                channel=ticket.channel.value,
                status=ticket.status.value,
                issued_at=ticket.issued_at,
                version=ticket.version,
            )
        )

    async def count_issued(self, facility_id: str | None = None) -> list[dict[str, Any]]:
        """Tickets issued per establishment and day (for reconciliation with reporting)."""
        query = select(
            tickets.c.facility_id, tickets.c.service_day, func.count().label("tickets_issued")
        ).group_by(tickets.c.facility_id, tickets.c.service_day)
        if facility_id:
            query = query.where(tickets.c.facility_id == facility_id)
        rows = (
            await self.session.execute(query.order_by(tickets.c.facility_id, tickets.c.service_day))
        ).all()
        return [dict(row._mapping) for row in rows]

    @staticmethod
    def to_domain(row: Any) -> Ticket:
        return Ticket(
            ticket_id=row.ticket_id,
            visit_id=row.visit_id,
            facility_id=row.facility_id,
            service_code=row.service_code,
            service_day=row.service_day,
            number=row.number,
            priority=Priority(row.priority),
            channel=IssueChannel(row.channel),
            issued_at=row.issued_at,
            status=TicketStatus(row.status),
            version=row.version,
        )
