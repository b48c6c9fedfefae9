"""The composition root of the queue service: real adapters wired once, here."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sihha_kit.app import create_service_app, install_auth
from sihha_kit.clock import Clock
from sihha_kit.registry import load_registry
from sihha_kit.runtime import ServiceRuntime
from sihha_queue.adapters.board import BoardFeed
from sihha_queue.adapters.directory import ClinicDirectory
from sihha_queue.config import QueueSettings
from sihha_queue.context import QueueContext
from sihha_queue.domain.policy import CallPolicy
from sihha_queue.entrypoints.consumers import build_consumer
from sihha_queue.service_layer.unit_of_work import QueueUnitOfWork

MIGRATIONS = Path(__file__).parent / "migrations"


def build_context(settings: QueueSettings, *, clock: Clock | None = None) -> QueueContext:
    runtime = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    runtime.add_consumer(build_consumer(runtime))
    board = BoardFeed(settings.database_url)
    runtime.add_background("board-feed", board.run)
    directory = ClinicDirectory(runtime.engine, settings.database_url)
    runtime.add_background("clinic-directory", directory.run)
    return QueueContext(
        settings=settings,
        runtime=runtime,
        clock=clock or runtime.clock,
        uow=lambda: QueueUnitOfWork(
            runtime.sessions, runtime.producer, directory, runtime.statements
        ),
        policy=CallPolicy(),
        board=board,
        directory=directory,
        pseudonym_key=settings.load_pseudonym_key(),
    )


def create_app(settings: QueueSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    from sihha_queue.entrypoints import http, http_admin, pages

    settings = settings or QueueSettings()
    context = build_context(settings, clock=clock)

    async def load_establishments() -> None:
        registry = load_registry(settings.registry_path)
        async with context.uow() as uow:
            await uow.clinics.load_registry(registry)
            await uow.commit()
        await context.directory.reload()

    app = create_service_app(
        context.runtime,
        [http.router, http_admin.router, pages.router],
        title="Sihha — file d'attente des polycliniques / طوابير العيادات متعددة الخدمات",
        description="Tickets, counters, routing and display boards of Oran's polyclinics.",
        on_startup=[load_establishments],
    )
    install_auth(app, settings, terminals=True)
    app.state.context = context
    return app
