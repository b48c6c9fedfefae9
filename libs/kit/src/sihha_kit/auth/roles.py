"""The roles a caller can hold, and which of them may act for the whole wilaya."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final

__all__ = ["TERMINAL_ROLES", "WIDE_ROLES", "WILDCARD", "Role", "parse_roles"]

#: in a token's `establishments`: every establishment of the wilaya (wide roles only)
WILDCARD: Final = "*"


class Role(StrEnum):
    """What a caller does. A token carries one or more; no role implies another."""

    receptionist = "receptionist"
    """Registers patients and issues tickets at a reception desk."""
    counter_agent = "counter_agent"
    """Calls and serves tickets at a counter or consultation door."""
    doctor = "doctor"
    pharmacist = "pharmacist"
    nurse = "nurse"
    scheduler = "scheduler"
    """Manages appointment calendars."""
    citizen = "citizen"
    """A patient acting for themself; the token carries their `patient_key`."""
    it_unit = "it_unit"
    """The directorate's IT unit (enrols terminals, watches the platform)."""
    wilaya_group = "wilaya_group"
    """The wilaya health directorate's oversight group."""
    ministry = "ministry"
    admin = "admin"
    kiosk = "kiosk"
    """A reception terminal acting without a person (a ticket kiosk in a waiting
    room): its subject names the terminal, its establishments are the one
    establishment it stands in, and it holds no other role."""
    display = "display"
    """A waiting-room display board: reads the board of its one establishment and
    nothing else (no list of patients, no change of any kind)."""


#: the roles for which the establishment wildcard ``"*"`` means something
WIDE_ROLES: Final = frozenset({Role.wilaya_group, Role.it_unit, Role.ministry, Role.admin})

#: the roles a clinic terminal (a device, not a person) may be enrolled with: a kiosk, a
#: waiting-room board, a counter, a consultation room's terminal (``doctor``: it calls,
#: serves and writes prescriptions), a pharmacy's dispensing terminal (``pharmacist``)
#: and a clinic's scheduling desk (``scheduler``: the appointments service's day view).
#: Each service that enrols terminals offers some of them (`sihha_kit.app.install_auth`'s
#: ``terminals``): the queue the first five, the appointments service ``scheduler``
TERMINAL_ROLES: Final = frozenset(
    {Role.kiosk, Role.display, Role.counter_agent, Role.doctor, Role.pharmacist, Role.scheduler}
)

ROLE_NAMES: Final = frozenset(role.value for role in Role)


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    """Roles from their names; ValueError names the first unknown one."""
    roles: set[Role] = set()
    for value in values:
        try:
            roles.add(Role(value))
        except ValueError:
            known = ", ".join(role.value for role in Role)
            raise ValueError(f"unknown role {value!r} (known roles: {known})") from None
    return frozenset(roles)
