"""What the entry points need at hand, built once by `bootstrap`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sihha_appointments.adapters.citizen_tokens import CitizenTokens
from sihha_appointments.adapters.phones import PhoneVault
from sihha_appointments.adapters.ratelimit import RateLimiter
from sihha_appointments.adapters.sms import SmsGateway
from sihha_appointments.config import AppointmentsSettings
from sihha_appointments.service_layer.handlers import Deps
from sihha_appointments.service_layer.signin import SignInSettings
from sihha_appointments.service_layer.unit_of_work import AppointmentsUnitOfWork
from sihha_kit.i18n import Catalogue
from sihha_kit.runtime import ServiceRuntime


@dataclass
class AppointmentsContext:
    settings: AppointmentsSettings
    runtime: ServiceRuntime
    deps: Deps
    uow: Callable[[], AppointmentsUnitOfWork]
    vault: PhoneVault
    tokens: CitizenTokens
    limiter: RateLimiter
    sms: SmsGateway
    sign_in: SignInSettings
    catalogue: Catalogue
