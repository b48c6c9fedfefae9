"""The reporting service's unit of work: the kit's (outbox included), with its repositories."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sihha_kit.uow import SqlUnitOfWork
from sihha_reporting.adapters.archive import ArchiveRepository
from sihha_reporting.adapters.report_queries import ReportQueries
from sihha_reporting.adapters.repository import (
    ActivityRepository,
    DeliveryRepository,
    InspectionRepository,
    ProjectionStateRepository,
    RevisionRepository,
    ScheduleRepository,
)


class ReportingUnitOfWork(SqlUnitOfWork):
    activity: ActivityRepository
    archive: ArchiveRepository
    deliveries: DeliveryRepository
    inspections: InspectionRepository
    projections: ProjectionStateRepository
    queries: ReportQueries
    revisions: RevisionRepository
    schedule: ScheduleRepository

    def open_repositories(self, session: AsyncSession) -> None:
        self.activity = ActivityRepository(session)
        self.archive = ArchiveRepository(session)
        self.deliveries = DeliveryRepository(session)
        self.inspections = InspectionRepository(session)
        self.projections = ProjectionStateRepository(session)
        self.queries = ReportQueries(session)
        self.revisions = RevisionRepository(session)
        self.schedule = ScheduleRepository(session)
