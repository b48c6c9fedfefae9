"""What the routes depend on: the context, the caller with their roles, the limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from sihha_appointments.context import AppointmentsContext
from sihha_appointments.service_layer.handlers import RateLimited
from sihha_kit.auth import Authorizer, Caller, Role

require = Authorizer()

FacilityPath = Annotated[
    str, Path(pattern=r"^[0-9]{2}-[A-Z]{2,5}-[0-9]{2,4}$", examples=["31-PC-001"])
]


def context_of(request: Request) -> AppointmentsContext:
    ctx: AppointmentsContext = request.app.state.context
    return ctx


async def context(request: Request) -> AppointmentsContext:
    return context_of(request)


ContextDep = Annotated[AppointmentsContext, Depends(context)]
#: a citizen acting for themself (the token carries their pseudonymous key)
CitizenDep = Annotated[Caller, Depends(require(Role.citizen))]
#: the clinic's schedulers (and the admin)
SchedulerDep = Annotated[Caller, Depends(require(Role.scheduler, Role.admin))]
#: who looks a booking code up at the establishment
DeskDep = Annotated[
    Caller, Depends(require(Role.receptionist, Role.scheduler, Role.kiosk, Role.admin))
]
#: a general practitioner issuing referrals
DoctorDep = Annotated[Caller, Depends(require(Role.doctor, Role.admin))]
#: the counts reconciliation reads: every establishment of the wilaya, so a wide role
#: holding the wildcard (403 `wilaya-scope-required` for one scoped to some)
MonitorDep = Annotated[
    Caller,
    Depends(require(Role.it_unit, Role.wilaya_group, Role.ministry, Role.admin, wilaya_wide=True)),
]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def limit(request: Request, action: str, patient_key: str | None = None) -> None:
    """Count one `action` for the client address (and the citizen); 429 beyond the limit."""
    identifiers = [f"ip:{client_address(request)}"]
    if patient_key is not None:
        identifiers.append(f"citizen:{patient_key}")
    retry = await context_of(request).limiter.hit(action, *identifiers)
    if retry is not None:
        raise RateLimited(action, retry)
