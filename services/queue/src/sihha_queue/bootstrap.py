"""The composition root of the queue service: real adapters wired once, here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from sihha_kit.app import create_service_app, install_auth
from sihha_kit.auth import Role
from sihha_kit.clock import Clock
from sihha_kit.i18n import Catalogue
from sihha_kit.logs import get_logger
from sihha_kit.registry import load_registry
from sihha_kit.runtime import ServiceRuntime
from sihha_queue.adapters.board import BOARD_CHANNEL, BoardFeed
from sihha_queue.adapters.directory import DIRECTORY_CHANNEL, ClinicDirectory
from sihha_queue.adapters.idempotency import IDEMPOTENCY_RETENTION
from sihha_queue.adapters.notifications import Notifications
from sihha_queue.adapters.prescription_keys import EstablishmentKeys
from sihha_queue.adapters.seeding import seed_registry
from sihha_queue.config import QueueSettings
from sihha_queue.context import QueueContext
from sihha_queue.domain.policy import CallPolicy
from sihha_queue.entrypoints.consumers import build_consumer
from sihha_queue.service_layer import handlers
from sihha_queue.service_layer.unit_of_work import QueueUnitOfWork

MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)

#: the clinic terminals the queue enrols (`sihha_kit.auth.enrolment`): kiosks,
#: waiting-room boards, counters, consultation rooms and pharmacies' dispensing terminals
TERMINAL_ROLES = frozenset(
    {Role.kiosk, Role.display, Role.counter_agent, Role.doctor, Role.pharmacist}
)


def _every(
    seconds: float, job: Callable[[], Awaitable[int]], name: str
) -> Callable[[], Awaitable[None]]:
    """A background loop that runs `job` now and then every `seconds`."""

    async def loop() -> None:
        while True:
            done = await job()
            if done:
                log.info(name, count=done)
            await asyncio.sleep(seconds)

    return loop


def build_context(settings: QueueSettings, *, clock: Clock | None = None) -> QueueContext:
    runtime = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    runtime.add_consumer(build_consumer(runtime))
    board = BoardFeed()
    directory = ClinicDirectory(runtime.engine)
    directory.grace = timedelta(minutes=settings.day_close_grace_minutes)
    notifications = Notifications(settings.database_url)
    notifications.listen(BOARD_CHANNEL, board.heard)
    notifications.listen(DIRECTORY_CHANNEL, directory.changed)
    notifications.on_connected(directory.changed)  # anything missed while not listening
    runtime.hold_connection("notifications (LISTEN queue_board, queue_directory)")
    runtime.add_background("notifications", notifications.run)
    runtime.add_background("clinic-directory", directory.run)
    context = QueueContext(
        settings=settings,
        runtime=runtime,
        clock=clock or runtime.clock,
        uow=lambda: QueueUnitOfWork(runtime.sessions, runtime.producer, directory),
        policy=CallPolicy(),
        board=board,
        directory=directory,
        pseudonym_key=settings.load_pseudonym_key(),
        prescription_keys=EstablishmentKeys(
            settings.prescription_keys_dir, create_missing=settings.prescription_keys_create
        ),
    )

    async def close_days() -> int:
        return await handlers.close_days(context.uow(), clock=context.clock)

    async def purge() -> int:
        return await handlers.purge_idempotency(
            context.uow(), clock=context.clock, keep=IDEMPOTENCY_RETENTION
        )

    runtime.add_background(
        "day-closing", _every(settings.day_close_every_seconds, close_days, "queue.days_closed")
    )
    runtime.add_background("idempotency-retention", _every(3600, purge, "queue.idempotency_purged"))
    return context


def create_app(settings: QueueSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    from sihha_queue.entrypoints import (
        admin,
        board,
        counter,
        counts,
        pages,
        pharmacy_http,
        prescription_pages,
        prescriptions_http,
        reception,
    )

    settings = settings or QueueSettings()
    context = build_context(settings, clock=clock)

    async def start() -> None:
        registry = load_registry(settings.registry_path)
        async with context.uow() as uow:
            if await seed_registry(uow.session, registry):
                await uow.clinics.announce_change()
            context.idempotency_secret = await uow.idempotency.secret()
            await uow.commit()
        await context.directory.reload()

    async def seed_nomenclature() -> None:
        from sihha_queue.adapters.nomenclature_import import excerpt_bytes
        from sihha_queue.service_layer.prescriptions import import_nomenclature

        async with context.uow() as uow:
            current = await uow.nomenclature.current_edition()
        if current is None and settings.nomenclature_seed_excerpt:
            await import_nomenclature(context.uow(), excerpt_bytes(), context.clock())

    app = create_service_app(
        context.runtime,
        [
            reception.router,
            counter.router,
            board.router,
            counts.router,
            admin.router,
            pages.router,
            prescriptions_http.router,
            pharmacy_http.router,
            prescription_pages.router,
        ],
        title="Sihha — file d'attente des polycliniques / طوابير العيادات متعددة الخدمات",
        description="Tickets, counters, routing and display boards of Oran's polyclinics.",
        on_startup=[start, seed_nomenclature],
        catalogue=Catalogue.of("sihha_queue"),
    )
    install_auth(app, settings, terminals=TERMINAL_ROLES)
    app.state.context = context
    return app
