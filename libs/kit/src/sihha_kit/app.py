"""The FastAPI application every service starts from.

`create_service_app` installs, once for all services: problem+json errors in
French and Arabic from the service's message catalogue, the request middleware
(tracing, metrics, body limit), `/health/live`, `/health/ready`, `/metrics`,
`/i18n/{language}.json` (the catalogue, for the pages), and a lifespan that prepares the database and
starts the runtime's background work (relay, consumers).
"""

from __future__ import annotations

import gc
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    MutableMapping,
    Sequence,
)
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sihha_kit import metrics
from sihha_kit.auth import (
    IssuerKeys,
    RevocationList,
    Role,
    TokenSigner,
    TokenVerifier,
    document_bearer_auth,
    install_verifier,
    jwks_router,
    stream_session_router,
)
from sihha_kit.i18n import Catalogue, Language
from sihha_kit.logs import configure_logging, get_logger
from sihha_kit.middleware import ServiceMiddleware
from sihha_kit.problems import catalogue_of, document_problems, install_problem_handlers
from sihha_kit.responses import JSONResponse
from sihha_kit.runtime import ServiceRuntime
from sihha_kit.settings import ServiceSettings, TokenIssuingSettings
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


def _untraced(scope: MutableMapping[str, Any]) -> bool:
    """Probes and scrapes make no spans (a trace every few seconds per replica)."""
    path = str(scope.get("path", ""))
    return path == "/metrics" or path.startswith("/health/")


#: FastAPI's own OpenTelemetry makes the server span: it continues the caller's W3C
#: ``traceparent`` and is named after the route template (``POST /establishments/
#: {facility_id}/tickets``); its trace id is on every log line written under it
#: (`sihha_kit.logs`) and stored with the request's events. Its per-operation spans
#: (dependencies, serialisation) are off, and so are its metrics (ours are Prometheus,
#: `sihha_kit.middleware`) and its log records (they would carry validation errors'
#: input, request bodies with a NIN included). Cost per request: bench/tracing_bench.py.
TELEMETRY: TelemetryConfig = {
    "tracing": True,
    "operation_spans": False,
    "metrics": False,
    "logs": False,
    "exclude": _untraced,
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


def install_auth(
    app: FastAPI,
    settings: ServiceSettings,
    *,
    signer: TokenSigner | None = None,
    terminals: Iterable[Role] = (),
) -> TokenVerifier:
    """Make the app's routes verify their callers' tokens, as the settings say
    (`sihha_kit.auth`): the trusted issuers' key sets (a file must be readable now:
    RuntimeError otherwise), the revocation lists, both reloaded in the background;
    the bearer scheme in the OpenAPI document; ``/auth/stream-session``.

    A service that signs tokens of its own passes its `signer`: it trusts its own keys
    and serves them at ``/.well-known/jwks.json``. ``terminals`` (settings mixing in
    `TokenIssuingSettings`), the roles the service enrols clinic terminals with (some of
    `TERMINAL_ROLES`: the queue's kiosks, boards, counters, consultation rooms and
    pharmacies, the appointments service's scheduling desks), mounts the enrolment
    (`sihha_kit.auth.enrolment`): the service signs their tokens as
    ``sihha-<service_name>`` with its signing keys (a `signer` passed in must grant those
    roles: ValueError otherwise), and its database needs the tables of
    `sihha_kit.auth.schema`; it also serves the terminals' browser script at
    ``/auth/terminal-client.js`` (`sihha_kit.auth.terminal_client`). None (the default):
    the service enrols no terminal."""
    runtime: ServiceRuntime = app.state.runtime
    verifier = TokenVerifier(
        [IssuerKeys(trusted) for trusted in settings.trusted_issuers],
        audience=settings.jwt_audience,
        revocations=RevocationList(settings.revocation_lists),
        jwks_refresh_seconds=settings.jwks_refresh_seconds,
        revocation_refresh_seconds=settings.revocation_refresh_seconds,
    )
    roles = frozenset(terminals)
    if roles:
        from sihha_kit.auth.enrolment import TerminalEnrolment
        from sihha_kit.auth.terminal_client import terminal_client_router
        from sihha_kit.pseudonym import load_pseudonym_key

        if not isinstance(settings, TokenIssuingSettings):
            raise TypeError("enrolling terminals needs settings that mix in TokenIssuingSettings")
        name = settings.service_name
        signer = signer or _signer(settings, name, roles)
        key_path = settings.device_credential_key_file(name)
        if not key_path.is_file():
            raise RuntimeError(
                f"device-credential key not found at {key_path}: create the development keys "
                f"with `sihha-dev keys --issuer {name}`, or set the DEVICE_CREDENTIAL_KEY_PATH "
                "setting"
            )
        enrolment = TerminalEnrolment(
            runtime.engine,
            signer,
            load_pseudonym_key(key_path),  # the same format: 32+ bytes as hex
            verifier.revocations,
            token_minutes=settings.terminal_token_minutes,
            code_minutes=settings.enrolment_code_minutes,
            roles=roles,
        )
        app.include_router(enrolment.router())
        app.include_router(terminal_client_router())
        app.state.terminal_enrolment = enrolment
    if signer is not None:
        verifier.trust(signer.trusted())
        app.include_router(jwks_router(signer))
        app.state.token_signer = signer
    try:
        verifier.load_now()
    except ValueError as error:
        raise RuntimeError(
            f"{error}. On a developer machine: `.venv/bin/sihha-dev keys`; otherwise set "
            "<SERVICE>_TRUSTED_ISSUERS"
        ) from None
    app.include_router(stream_session_router())
    document_bearer_auth(app)
    install_verifier(app, verifier)
    runtime.add_background("auth-keys", verifier.keep_fresh)
    return verifier


def _signer(settings: TokenIssuingSettings, name: str, grants: frozenset[Role]) -> TokenSigner:
    path = settings.signing_keys_file(name)
    if not path.is_file():
        raise RuntimeError(
            f"signing keys not found at {path}: create the development keys with "
            f"`sihha-dev keys --issuer {name}`, or set the SIGNING_KEYS_PATH setting"
        )
    return TokenSigner.from_file(path, issuer=f"sihha-{name}", grants=grants)
