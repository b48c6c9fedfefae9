"""What the routes depend on: the context, the caller with their roles."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from sihha_kit.auth import Authorizer, Caller, Role
from sihha_queue.context import QueueContext

require = Authorizer()

FacilityPath = Annotated[
    str, Path(pattern=r"^[0-9]{2}-[A-Z]{2,5}-[0-9]{2,4}$", examples=["31-PC-001"])
]


def context_of(request: Request) -> QueueContext:
    ctx: QueueContext = request.app.state.context
    return ctx


async def context(request: Request) -> QueueContext:
    return context_of(request)


ContextDep = Annotated[QueueContext, Depends(context)]
#: who issues tickets: the reception desk and the kiosks
reception = require(Role.receptionist, Role.kiosk, Role.admin)
ReceptionDep = Annotated[Caller, Depends(reception)]
#: who works at a counter or in a consultation room
CounterDep = Annotated[
    Caller,
    Depends(require(Role.counter_agent, Role.doctor, Role.nurse, Role.pharmacist, Role.admin)),
]
#: who sends a patient on to another service
RoutingDep = Annotated[
    Caller, Depends(require(Role.doctor, Role.counter_agent, Role.nurse, Role.admin))
]
#: anyone working in the clinic (lists, visit history, cancel)
StaffDep = Annotated[
    Caller,
    Depends(
        require(
            Role.receptionist,
            Role.counter_agent,
            Role.doctor,
            Role.nurse,
            Role.pharmacist,
            Role.kiosk,
            Role.admin,
        )
    ),
]
AdminDep = Annotated[Caller, Depends(require(Role.admin))]
MonitorDep = Annotated[Caller, Depends(require(Role.it_unit, Role.wilaya_group, Role.admin))]
