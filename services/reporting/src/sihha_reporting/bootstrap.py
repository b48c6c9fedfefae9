"""The composition root of the reporting service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sihha_kit.app import create_service_app, install_auth
from sihha_kit.runtime import ServiceRuntime
from sihha_reporting.config import ReportingSettings
from sihha_reporting.context import ReportingContext
from sihha_reporting.entrypoints.consumers import build_consumer

MIGRATIONS = Path(__file__).parent / "migrations"


def build_context(settings: ReportingSettings) -> ReportingContext:
    runtime = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    runtime.add_consumer(build_consumer(runtime))
    return ReportingContext(settings=settings, runtime=runtime)


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    from sihha_reporting.entrypoints import http

    settings = settings or ReportingSettings()
    context = build_context(settings)
    app = create_service_app(
        context.runtime,
        [http.router],
        title="Sihha — rapports / التقارير",
        description="Event archive, projections and reports for the wilaya group and the ministry.",
    )
    install_auth(app, settings)
    app.state.context = context
    return app
