"""Clinics, their services and counters.

Establishments and services are read from the process's `ClinicDirectory` (no query:
they change a few times a year and every ticket reads them); counters from the
database. A write to establishments or services announces itself on the directory's
channel in the same transaction (`announce_change`), and `changed` tells the unit of
work to reload the directory after the commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from sihha_kit.db import Executor
from sihha_kit.uow import Repository
from sihha_queue.adapters.directory import DIRECTORY_CHANNEL, ClinicDirectory
from sihha_queue.adapters.tables import clinic_services, counters, establishments
from sihha_queue.domain.ticket import Counter

_NOTIFY_DIRECTORY = text(f"SELECT pg_notify('{DIRECTORY_CHANNEL}', '')")


class ClinicRepository(Repository):
    def __init__(self, session: Executor, directory: ClinicDirectory) -> None:
        super().__init__(session)
        self.directory = directory
        self.changed = False

    def establishment(self, facility_id: str) -> Mapping[str, Any] | None:
        return self.directory.establishment(facility_id)

    def service(self, facility_id: str, service_code: str) -> Mapping[str, Any] | None:
        return self.directory.service(facility_id, service_code)

    def services(self, facility_id: str) -> list[Mapping[str, Any]]:
        return self.directory.services(facility_id)

    async def announce_change(self) -> None:
        """Every replica's directory reloads once this transaction commits."""
        self.changed = True
        await self.session.execute(_NOTIFY_DIRECTORY)

    async def update_establishment(self, facility_id: str, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(establishments).where(establishments.c.code == facility_id).values(**values)
        )
        await self.announce_change()

    async def upsert_service(
        self, facility_id: str, service_code: str, values: dict[str, Any]
    ) -> None:
        statement = insert(clinic_services).values(
            facility_id=facility_id, service_code=service_code, **values
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["facility_id", "service_code"],
                set_={key: statement.excluded[key] for key in values},
            )
        )
        await self.announce_change()

    async def counter(self, counter_id: UUID) -> Counter | None:
        row = (
            await self.session.execute(
                select(counters).where(counters.c.counter_id == counter_id, counters.c.active)
            )
        ).first()
        return (
            Counter(row.counter_id, row.facility_id, row.service_code, row.label) if row else None
        )

    async def counters(self, facility_id: str) -> list[dict[str, Any]]:
        rows = (
            await self.session.execute(
                select(counters)
                .where(counters.c.facility_id == facility_id)
                .order_by(counters.c.label)
            )
        ).mappings()
        return [dict(row) for row in rows]

    async def add_counter(self, counter: Counter) -> bool:
        inserted = await self.session.execute(
            insert(counters)
            .values(
                counter_id=counter.counter_id,
                facility_id=counter.facility_id,
                service_code=counter.service_code,
                label=counter.label,
                active=True,
            )
            .on_conflict_do_nothing()
            .returning(counters.c.counter_id)
        )
        return inserted.first() is not None

    async def set_counter_active(self, counter_id: UUID, active: bool) -> None:
        await self.session.execute(
            update(counters).where(counters.c.counter_id == counter_id).values(active=active)
        )

    async def active_counters(self, facility_id: str, service_code: str) -> int:
        value = await self.session.scalar(
            select(func.count())
            .select_from(counters)
            .where(
                counters.c.facility_id == facility_id,
                counters.c.service_code == service_code,
                counters.c.active,
            )
        )
        return int(value or 0)
