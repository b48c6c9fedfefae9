"""The composition root of the appointments service: real adapters wired once, here."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sihha_appointments.adapters.citizen_tokens import CitizenTokens
from sihha_appointments.adapters.phones import PhoneVault, load_or_create_secret
from sihha_appointments.adapters.ratelimit import RateLimiter
from sihha_appointments.adapters.sms import HttpSmsGateway, SinkSmsGateway, SmsGateway
from sihha_appointments.config import AppointmentsSettings
from sihha_appointments.context import AppointmentsContext
from sihha_appointments.domain.calendar import HolidayCalendar
from sihha_appointments.entrypoints.consumers import build_consumer
from sihha_appointments.entrypoints.workers import NotificationDispatcher, TimerWorker
from sihha_appointments.service_layer.handlers import Deps, Throttled
from sihha_appointments.service_layer.signin import SignInSettings
from sihha_appointments.service_layer.unit_of_work import AppointmentsUnitOfWork
from sihha_kit.app import create_service_app, install_auth
from sihha_kit.auth import Role
from sihha_kit.clock import Clock
from sihha_kit.i18n import Catalogue
from sihha_kit.problems import problem_response
from sihha_kit.registry import load_registry
from sihha_kit.runtime import ServiceRuntime

MIGRATIONS = Path(__file__).parent / "migrations"

#: the clinic terminals this service enrols (`sihha_kit.auth.enrolment`): a clinic's
#: scheduling desk, the `/scheduler` page, signed in with short-lived `scheduler` tokens
TERMINAL_ROLES = frozenset({Role.scheduler})


def sms_gateway(settings: AppointmentsSettings) -> SmsGateway:
    if settings.sms_gateway_url:
        token = settings.sms_gateway_token
        return HttpSmsGateway(
            settings.sms_gateway_url, token=token.get_secret_value() if token else None
        )
    return SinkSmsGateway(settings.sms_sink_path)


def build_context(
    settings: AppointmentsSettings, *, clock: Clock | None = None
) -> AppointmentsContext:
    runtime = ServiceRuntime(settings, migrations_dir=MIGRATIONS)
    deps = Deps(
        clock=clock or runtime.clock,
        rules=settings.rules(),
        calendar=HolidayCalendar(),
        registry=load_registry(settings.registry_path),
        pseudonym_key=settings.load_pseudonym_key(),
    )

    def uow() -> AppointmentsUnitOfWork:
        return AppointmentsUnitOfWork(runtime.sessions, runtime.producer)

    catalogue = Catalogue.of("sihha_appointments")
    context = AppointmentsContext(
        settings=settings,
        runtime=runtime,
        deps=deps,
        uow=uow,
        vault=PhoneVault(
            load_or_create_secret(settings.secret_path, create=settings.create_missing_keys)
        ),
        tokens=CitizenTokens.from_file(
            settings.signing_keys_file(settings.service_name),
            audience=settings.jwt_audience,
            ttl=timedelta(minutes=settings.citizen_token_minutes),
            terminal_roles=TERMINAL_ROLES,
        ),
        limiter=RateLimiter(settings.rate_limit_storage, settings.limits()),
        sms=sms_gateway(settings),
        sign_in=SignInSettings(
            code_lifetime=timedelta(minutes=settings.sign_in_code_minutes),
            max_attempts=settings.sign_in_max_attempts,
        ),
        catalogue=catalogue,
    )
    runtime.add_consumer(build_consumer(runtime, context))
    runtime.add_background("timers", TimerWorker(context).run)
    runtime.add_background("notifications", NotificationDispatcher(context).run)
    return context


async def _too_many(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Throttled)
    return problem_response(
        request,
        429,
        error.code,
        extra=error.extra,
        headers={"Retry-After": str(error.retry_after)},
    )


def create_app(
    settings: AppointmentsSettings | None = None, *, clock: Clock | None = None
) -> FastAPI:
    from sihha_appointments.entrypoints import http_citizen, http_clinic, pages

    settings = settings or AppointmentsSettings()
    context = build_context(settings, clock=clock)
    app = create_service_app(
        context.runtime,
        [http_citizen.router, http_clinic.router, pages.router],
        title="Sihha — rendez-vous de spécialistes / مواعيد الأخصائيين",
        description="Specialist schedules, slots, holds, bookings, waitlists and referrals "
        "of Oran's polyclinics; citizens book from home.",
        catalogue=context.catalogue,
    )
    install_auth(app, settings, signer=context.tokens.signer, terminals=TERMINAL_ROLES)
    app.add_exception_handler(Throttled, _too_many)
    app.state.context = context
    return app
