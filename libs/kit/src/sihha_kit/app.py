"""The FastAPI application every service starts from.

`create_service_app` installs, once for all services: problem+json errors in
French and Arabic from the service's message catalogue, the request middleware
(tracing, metrics, body limit), `/health/live`, `/health/ready`, `/metrics`,
`/i18n/{language}.json` (the catalogue, for the pages), and a lifespan that prepares the database and
starts the runtime's background work (relay, consumers).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sihha_kit import metrics
from sihha_kit.auth import TokenVerifier, document_bearer_auth, install_verifier
from sihha_kit.i18n import Catalogue, Language
from sihha_kit.logs import configure_logging, get_logger
from sihha_kit.middleware import ServiceMiddleware
from sihha_kit.problems import catalogue_of, document_problems, install_problem_handlers
from sihha_kit.responses import JSONResponse
from sihha_kit.runtime import ServiceRuntime
from sihha_kit.settings import ServiceSettings
from sihha_kit.tracing import configure_tracing

log = get_logger(__name__)


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(
        "/health/live", summary="Liveness: the process answers (never depends on the broker)"
    )
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @router.get(
        "/health/ready",
        summary="Readiness: database reachable; broker state reported",
        responses={
            503: {
                "description": "Not ready (the database is unreachable): the same report",
                "content": {"application/json": {}},
            }
        },
    )
    async def ready(request: Request) -> JSONResponse:
        runtime: ServiceRuntime = request.app.state.runtime
        report = await runtime.readiness()
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    @router.get(
        "/i18n/{language}.json",
        summary="Every text of the service's message catalogue in one language, for its pages",
        tags=["i18n"],
    )
    async def catalogue(
        request: Request, language: Annotated[Language, PathParam(examples=["ar"])]
    ) -> dict[str, str]:
        return catalogue_of(request).as_json(language)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        runtime: ServiceRuntime = request.app.state.runtime
        await runtime.refresh_metrics()
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router


#: FastAPI's native OpenTelemetry is off: the server span is `ServiceMiddleware`'s
#: (it cost ~60 µs a request even unrecorded, bench/README.md); its HTTP metrics would
#: repeat our Prometheus ones; its log records would carry validation errors, request
#: bodies included.
TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "operation_spans": False,
    "metrics": False,
    "logs": False,
}


def settle_garbage_collector() -> None:
    """Once the service is up: what start-up built (modules, routes, schemas, pools) lives
    as long as the process, so it is moved out of the collector's sight (`gc.freeze`), and
    the youngest generation is collected every 10,000 allocations instead of 700. A request
    allocates a few thousand short-lived objects; with the defaults the collector ran
    several times per request and walked the whole start-up heap on every full pass: 25 %
    of a ticket's CPU in the queue benchmark (bench/README.md). Only for a process that
    serves one app until it exits (`sihha_kit.serve`): frozen objects are never freed."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(10_000, older, oldest)


def create_service_app(
    runtime: ServiceRuntime,
    routers: Sequence[APIRouter],
    *,
    title: str,
    description: str = "",
    prepare_database: bool = True,
    on_startup: Sequence[Callable[[], Awaitable[None]]] = (),
    catalogue: Catalogue | None = None,
) -> FastAPI:
    """The service's app; `catalogue` holds its user-facing texts (by default the kit's
    alone; a service passes ``Catalogue.of("sihha_<service>")``)."""
    settings = runtime.settings
    configure_logging(settings.service_name, settings.log_format, settings.log_level)
    configure_tracing(settings.service_name, settings.service_version, settings.otlp_endpoint)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if prepare_database:
            await runtime.prepare()
        for step in on_startup:
            await step()
        runtime.start_background()
        if app.state.settle_garbage_collector:
            settle_garbage_collector()
        log.info("service.started", port=settings.http_port)
        try:
            yield
        finally:
            await runtime.stop()
            log.info("service.stopped")

    app = FastAPI(
        title=title,
        description=description,
        version=settings.service_version,
        lifespan=lifespan,
        telemetry=TELEMETRY,
        default_response_class=JSONResponse,
    )
    app.state.runtime = runtime
    app.state.catalogue = catalogue or Catalogue.of()
    #: set by `sihha_kit.serve` for a service process; tests start many apps in one process
    app.state.settle_garbage_collector = False
    install_problem_handlers(app)
    document_problems(app)
    app.add_middleware(
        ServiceMiddleware, service=settings.service_name, max_body_bytes=settings.max_body_bytes
    )
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    return app


def install_auth(app: FastAPI, settings: ServiceSettings) -> None:
    """Load the JWT public key named by the settings and make routes verify with it."""
    path = settings.jwt_public_key_path
    if not path.is_file():
        raise RuntimeError(
            f"JWT public key not found at {path}: create a development key pair with "
            "`uv run sihha-dev keys`, or set <SERVICE>_JWT_PUBLIC_KEY_PATH"
        )
    document_bearer_auth(app)
    install_verifier(
        app,
        TokenVerifier.from_file(path, issuer=settings.jwt_issuer, audience=settings.jwt_audience),
    )
