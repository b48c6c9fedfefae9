"""Queries of the reporting service that are not report figures: activity API, inspections,
report revisions, deliveries, scheduled runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sihha_kit.uow import Repository
from sihha_reporting.adapters.tables import (
    daily_tickets,
    deliveries,
    inspections,
    projection_state,
    report_revisions,
    schedule_runs,
)
from sihha_reporting.domain.revision import ReportRevision


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


class InspectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(inspections).values(**values))

    async def list(self, facility_id: str | None = None) -> list[dict[str, Any]]:
        query = select(inspections).order_by(inspections.c.visited_on, inspections.c.facility_id)
        if facility_id:
            query = query.where(inspections.c.facility_id == facility_id)
        return [dict(row) for row in (await self.session.execute(query)).mappings()]


class RevisionRepository(Repository):
    """Report revisions; a revision added here is tracked, so the unit of work writes the
    event its publication records."""

    async def latest(self, kind: str, start: date, end: date) -> dict[str, Any] | None:
        row = (
            (
                await self.session.execute(
                    select(report_revisions)
                    .where(
                        report_revisions.c.report_kind == kind,
                        report_revisions.c.period_start == start,
                        report_revisions.c.period_end == end,
                    )
                    .order_by(report_revisions.c.revision.desc())
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def add(self, revision: ReportRevision, values: dict[str, Any]) -> None:
        self.track(revision)
        await self.session.execute(insert(report_revisions).values(**values))

    async def history(self, kind: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = select(
            report_revisions.c.revision_id,
            report_revisions.c.report_id,
            report_revisions.c.report_kind,
            report_revisions.c.period_start,
            report_revisions.c.period_end,
            report_revisions.c.revision,
            report_revisions.c.content_hash,
            report_revisions.c.data_as_of,
            report_revisions.c.published_at,
            report_revisions.c.trigger,
        ).order_by(report_revisions.c.published_at.desc(), report_revisions.c.revision.desc())
        if kind:
            query = query.where(report_revisions.c.report_kind == kind)
        rows = (await self.session.execute(query.limit(limit))).mappings()
        return [dict(row) for row in rows]


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> bool:
        """Insert once per (revision, destination, purpose); False if it was already there."""
        result = await self.session.execute(
            insert(deliveries)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(deliveries.c.delivery_id)
        )
        return result.first() is not None

    async def claim_due(self, limit: int) -> list[dict[str, Any]]:
        """Due deliveries, each only once every earlier delivery to its destination is done
        (delivered or given up): a receiver gets them in the order they were written."""
        earlier = deliveries.alias("earlier")
        rows = (
            await self.session.execute(
                select(deliveries)
                .where(
                    deliveries.c.delivered_at.is_(None),
                    deliveries.c.failed_at.is_(None),
                    deliveries.c.next_attempt_at <= func.now(),
                    ~exists().where(
                        earlier.c.destination == deliveries.c.destination,
                        earlier.c.position < deliveries.c.position,
                        earlier.c.delivered_at.is_(None),
                        earlier.c.failed_at.is_(None),
                    ),
                )
                .order_by(deliveries.c.position)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).mappings()
        return [dict(row) for row in rows]

    async def sent_bodies(self, report_id: UUID, destination: str) -> list[bytes]:
        """The value bodies written for a report's earlier revisions to a destination, in
        order (written: delivered, or to be delivered before anything written later)."""
        rows = await self.session.execute(
            select(deliveries.c.body)
            .join(report_revisions, report_revisions.c.revision_id == deliveries.c.revision_id)
            .where(
                report_revisions.c.report_id == report_id,
                deliveries.c.destination == destination,
                deliveries.c.purpose == "values",
            )
            .order_by(deliveries.c.position)
        )
        return [bytes(body) for body in rows.scalars()]

    async def delivered(self, delivery_id: UUID, status: int) -> None:
        await self.session.execute(
            update(deliveries)
            .where(deliveries.c.delivery_id == delivery_id)
            .values(
                delivered_at=func.now(),
                last_status=status,
                attempts=deliveries.c.attempts + 1,
                last_error=None,
            )
        )

    async def postpone(
        self, delivery_id: UUID, *, status: int | None, error: str, delay: timedelta, give_up: bool
    ) -> None:
        await self.session.execute(
            update(deliveries)
            .where(deliveries.c.delivery_id == delivery_id)
            .values(
                attempts=deliveries.c.attempts + 1,
                last_status=status,
                last_error=error[:500],
                next_attempt_at=datetime.now(UTC) + delay,
                failed_at=func.now() if give_up else None,
            )
        )

    async def list(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = (
            await self.session.execute(
                select(
                    deliveries.c.delivery_id,
                    deliveries.c.revision_id,
                    deliveries.c.destination,
                    deliveries.c.purpose,
                    deliveries.c.created_at,
                    deliveries.c.attempts,
                    deliveries.c.next_attempt_at,
                    deliveries.c.delivered_at,
                    deliveries.c.failed_at,
                    deliveries.c.last_status,
                    deliveries.c.last_error,
                )
                .order_by(deliveries.c.position.desc())
                .limit(limit)
            )
        ).mappings()
        return [dict(row) for row in rows]

    async def pending(self) -> int:
        value = await self.session.scalar(
            select(func.count())
            .select_from(deliveries)
            .where(and_(deliveries.c.delivered_at.is_(None), deliveries.c.failed_at.is_(None)))
        )
        return int(value or 0)


class ScheduleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ran(self, job: str, period_key: str) -> bool:
        found = await self.session.scalar(
            select(func.count())
            .select_from(schedule_runs)
            .where(schedule_runs.c.job == job, schedule_runs.c.period_key == period_key)
        )
        return bool(found)

    async def claim(self, job: str, period_key: str) -> bool:
        """Record that (job, period) runs now; False if it already ran."""
        result = await self.session.execute(
            insert(schedule_runs)
            .values(job=job, period_key=period_key)
            .on_conflict_do_nothing()
            .returning(schedule_runs.c.job)
        )
        return result.first() is not None


class ProjectionStateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(projection_state.c.projection, projection_state.c.version)
        )
        return {row[0]: row[1] for row in rows}

    async def record(self, name: str, version: int, events: int) -> None:
        statement = insert(projection_state).values(
            projection=name, version=version, rebuilt_at=func.now(), events=events
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["projection"],
                set_={"version": version, "rebuilt_at": func.now(), "events": events},
            )
        )
