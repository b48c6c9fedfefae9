"""The authenticated caller, and the establishment checks every route makes."""

from __future__ import annotations

from dataclasses import dataclass

from sihha_kit.auth.errors import AccessDenied
from sihha_kit.auth.roles import WIDE_ROLES, WILDCARD, Role

__all__ = ["Caller", "ensure_establishment", "ensure_wilaya_wide"]


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller, as its token describes it."""

    subject: str
    roles: frozenset[Role]
    #: establishment codes; ``"*"`` = all of the wilaya (wide roles only)
    establishments: frozenset[str]
    #: for a citizen: the pseudonymous patient key
    patient_key: str | None = None
    #: the token's ``jti``, for audit and revocation
    token_id: str | None = None
    #: who signed the token (its ``iss``)
    issuer: str | None = None
    #: when the token was issued and when it stops being accepted (Unix times; the
    #: expiry includes the verifier's leeway)
    issued_at: float = 0.0
    expires_at: float = float("inf")

    def has_any(self, *roles: Role) -> bool:
        """Whether the caller holds at least one of `roles`."""
        return any(role in self.roles for role in roles)

    @property
    def wilaya_wide(self) -> bool:
        """Whether the caller may act for every establishment of the wilaya: the
        wildcard ``"*"`` held with a wide role (`WIDE_ROLES`)."""
        return WILDCARD in self.establishments and not self.roles.isdisjoint(WIDE_ROLES)

    def may_act_for(self, establishment: str) -> bool:
        """Whether the caller may act for the establishment with this code."""
        if not establishment or establishment == WILDCARD:
            return False
        return establishment in self.establishments or self.wilaya_wide


def ensure_establishment(caller: Caller, establishment_code: str) -> None:
    """AccessDenied(403, ``establishment-forbidden``) unless the caller may act for the
    establishment with this code."""
    if not caller.may_act_for(establishment_code):
        raise AccessDenied("establishment-forbidden", establishment=establishment_code)


def ensure_wilaya_wide(caller: Caller) -> None:
    """AccessDenied(403, ``wilaya-scope-required``) unless the caller may act for every
    establishment of the wilaya: a caller scoped to some establishments (even many, even
    with a wide role) must not read or change what covers the whole wilaya."""
    if not caller.wilaya_wide:
        raise AccessDenied("wilaya-scope-required")
