"""The composition root of the reporting service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from sihha_kit.app import create_service_app, install_auth
from sihha_kit.clock import Clock
from sihha_kit.logs import get_logger
from sihha_kit.registry import load_registry
from sihha_kit.runtime import ServiceRuntime
from sihha_reporting.config import ReportingSettings
from sihha_reporting.context import ReportingContext
from sihha_reporting.domain import texts
from sihha_reporting.entrypoints.consumers import CONSUMER, build_consumer
from sihha_reporting.projections import ProjectionContext, Projector
from sihha_reporting.service_layer.archive import Ingestor
from sihha_reporting.service_layer.delivery import DeliveryPolicy, DeliveryWorker
from sihha_reporting.service_layer.monitor import LiveHub
from sihha_reporting.service_layer.publishing import DeliveryTarget, ReportService
from sihha_reporting.service_layer.reports import RolloutRules
from sihha_reporting.service_layer.scheduler import Scheduler
from sihha_reporting.service_layer.unit_of_work import ReportingUnitOfWork

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)


def build_context(settings: ReportingSettings, *, clock: Clock | None = None) -> ReportingContext:
    runtime = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    registry = load_registry(settings.registry_path)
    projector = Projector(ProjectionContext(registry))
    hub = LiveHub()
    #: one clock for everything the service dates: the period, "generated at", "data as of"
    clock = clock or runtime.clock
    consumer = runtime.add_consumer(
        build_consumer(runtime, Ingestor(projector, consumer=CONSUMER, clock=clock, hub=hub))
    )

    def uow() -> ReportingUnitOfWork:
        return ReportingUnitOfWork(runtime.sessions, runtime.producer)

    delivery_target = (
        DeliveryTarget(
            settings.ministry_destination,
            settings.ministry_endpoint_url,
            settings.ministry_delivery_format,
        )
        if settings.ministry_endpoint_url
        else None
    )
    reports = ReportService(
        registry=registry,
        rules=RolloutRules(settings.silent_after_hours, settings.operating_min_heartbeats),
        uow=uow,
        clock=clock,
        delivery=delivery_target,
        dhis2_mapping_path=settings.dhis2_mapping_path,
    )
    delivery = DeliveryWorker(
        uow,
        DeliveryPolicy(
            timeout_seconds=settings.delivery_timeout_seconds,
            max_attempts=settings.delivery_max_attempts,
            retry_base_seconds=settings.delivery_retry_base_seconds,
            poll_seconds=settings.delivery_poll_seconds,
        ),
    )
    scheduler = Scheduler(
        reports,
        uow,
        clock,
        hour=settings.schedule_hour,
        lookback_days=settings.revision_lookback_days,
        poll_seconds=settings.schedule_poll_seconds,
    )
    return ReportingContext(
        settings=settings,
        runtime=runtime,
        registry=registry,
        projector=projector,
        hub=hub,
        consumer=consumer,
        clock=clock,
        uow=uow,
        reports=reports,
        delivery=delivery,
        scheduler=scheduler,
    )


async def _supervise(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run a background loop; restart it with backoff if it dies (never silently stop)."""
    delay = 0.5
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.error(
                "reporting.task_failed", task=name, error=f"{type(error).__name__}: {error}"[:300]
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


def _with_workers(app: FastAPI, context: ReportingContext) -> None:
    """Start the delivery worker and the scheduler after the kit's start-up, stop them first."""
    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with original(application) as state:
            tasks = [
                asyncio.create_task(_supervise("delivery", context.delivery.run), name="delivery")
            ]
            if context.settings.schedule_enabled:
                tasks.append(
                    asyncio.create_task(
                        _supervise("scheduler", context.scheduler.run), name="scheduler"
                    )
                )
            try:
                yield state
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    app.router.lifespan_context = lifespan


def create_app(settings: ReportingSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    from sihha_reporting.entrypoints import http, monitor_http, pages, reports_http

    settings = settings or ReportingSettings()
    context = build_context(settings, clock=clock)
    app = create_service_app(
        context.runtime,
        [http.router, reports_http.router, monitor_http.router, pages.router],
        title="Sihha — rapports / التقارير",
        description="Event archive, projections and reports for the wilaya group and the ministry; "
        "the IT units' monitor.",
        catalogue=texts.catalogue(),
    )
    install_auth(app, settings)
    app.state.context = context
    _with_workers(app, context)
    return app
