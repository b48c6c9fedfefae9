"""What the routes depend on: the context, the caller and their role, path parameters.

Each route names the least set of roles that needs it (docs/queue.md, "Who may do
what"): a kiosk issues tickets and reads its clinic's services, nothing else.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from pydantic import StringConstraints

from sihha_contracts.types import FacilityCode, ServiceCode
from sihha_kit.auth import Authorizer, Caller, Role
from sihha_queue.context import QueueContext

require = Authorizer()


def _pattern(annotated: object) -> str:
    """The pattern of a `sihha_contracts.types` string type (the one source of it)."""
    for constraint in getattr(annotated, "__metadata__", ()):
        if isinstance(constraint, StringConstraints) and constraint.pattern:
            return str(constraint.pattern)
    raise TypeError(f"{annotated} has no pattern")


#: an establishment code (`31-PC-001`): `sihha_contracts.types.FacilityCode`'s pattern,
#: also handed to the pages (`pages.py`)
FACILITY_PATTERN = _pattern(FacilityCode)
SERVICE_PATTERN = _pattern(ServiceCode)
FacilityPath = Annotated[str, Path(pattern=FACILITY_PATTERN, examples=["31-PC-001"])]
ServicePath = Annotated[str, Path(pattern=SERVICE_PATTERN, examples=["MG"])]

IDEMPOTENCY_KEY_MAX = 128
#: the `Idempotency-Key` header of the reception routes
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX,
        description="Retrying with the same key returns the first result (kept 24 hours)",
    ),
]


async def context(request: Request) -> QueueContext:
    ctx: QueueContext = request.app.state.context
    return ctx


ContextDep = Annotated[QueueContext, Depends(context)]

#: the clinic's staff at work (no device, no oversight role)
CLINIC_STAFF = (
    Role.receptionist,
    Role.counter_agent,
    Role.doctor,
    Role.nurse,
    Role.pharmacist,
)
#: the roles that call at a counter or in a consultation room
COUNTER_ROLES = (Role.counter_agent, Role.doctor, Role.nurse, Role.pharmacist)


def _clinic(*roles: Role, stream: bool = False) -> Any:
    """A caller holding one of `roles` who acts for the establishment of the path's
    `facility_id` (checked before the route runs: 403 `establishment-forbidden`)."""
    return Depends(require(*roles, establishment="facility_id", stream=stream))


#: who issues tickets and checks in booking codes: the reception desk and the kiosks
ReceptionDep = Annotated[Caller, _clinic(Role.receptionist, Role.kiosk, Role.admin)]
#: who sets an "urgent" priority: staff only, never a patient at the kiosk
URGENT_ROLES = (Role.receptionist, Role.admin)
#: who works at a counter or in a consultation room
CounterDep = Annotated[Caller, _clinic(*COUNTER_ROLES, Role.admin)]
#: who sends a patient on to another service
RoutingDep = Annotated[Caller, _clinic(Role.doctor, Role.counter_agent, Role.nurse, Role.admin)]
#: clinic staff: waiting lists, visit histories, cancellations (not kiosks, not boards)
StaffDep = Annotated[Caller, _clinic(*CLINIC_STAFF, Role.admin)]
#: what a clinic offers (services, hours, counters): its staff, its kiosks and boards
ClinicReaderDep = Annotated[Caller, _clinic(*CLINIC_STAFF, Role.kiosk, Role.display, Role.admin)]
#: who says a terminal is alive: the terminals (kiosk, board, counter) and the staff's
#: pages; a terminal's own token speaks for that terminal only (`board.heartbeat`)
TerminalDep = Annotated[Caller, _clinic(*CLINIC_STAFF, Role.kiosk, Role.display)]
#: who shows a clinic's display board: the read-only display role, its token from the
#: bearer header or the stream cookie (`POST /auth/stream-session`), never the URL
DisplayDep = Annotated[Caller, _clinic(Role.display, stream=True)]
#: a clinic's administrators
AdminDep = Annotated[Caller, _clinic(Role.admin)]
#: counts over every establishment of the wilaya (reporting's reconciliation): a wide
#: role holding the wildcard
MonitorDep = Annotated[
    Caller, Depends(require(Role.it_unit, Role.wilaya_group, Role.admin, wilaya_wide=True))
]
