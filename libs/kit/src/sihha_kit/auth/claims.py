"""The claims of a Sihha access token, and the caller they describe.

- ``sub``: the person or terminal (``terminal:<uuid>``, ``dr-1``…), non-empty;
- ``roles``: a non-empty list of `Role` names; an unknown role makes the whole token
  invalid (a typo must not silently grant less, or more);
- ``establishments``: the establishment codes the caller may act for (``"31-PC-001"``);
  ``"*"`` means every establishment of the wilaya and is honoured only for the wide
  roles (`WIDE_ROLES`) — for anyone else it grants nothing;
- ``patient_key``: for a citizen (and only for a citizen), the pseudonymous patient key
  (64 lowercase hex digits, see `sihha_kit.pseudonym`);
- ``iss``, ``aud``, ``iat``, ``exp`` (all required) and ``jti`` (the token's id: what a
  revocation names; optional for tokens of an outside provider).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from sihha_kit.auth.callers import Caller
from sihha_kit.auth.errors import invalid_claims
from sihha_kit.auth.roles import ROLE_NAMES, Role, parse_roles
from sihha_kit.i18n import N_

__all__ = ["REQUIRED_CLAIMS", "caller_from_claims", "claims_problem"]

REQUIRED_CLAIMS: Final = ("exp", "iat", "sub", "iss", "aud")
MAX_ESTABLISHMENTS: Final = 500
MAX_CODE_CHARS: Final = 64
_PATIENT_KEY = re.compile(r"[0-9a-f]{64}")


def claims_problem(
    roles: frozenset[Role], establishments: frozenset[str], patient_key: str | None
) -> tuple[str, str] | None:
    """What is wrong with this combination of claims, or None: (English sentence for a
    programmer's ValueError, catalogue key of the ``claims-reason.*`` text)."""
    if not roles:
        return ("at least one role is required", N_("claims-reason.no-role"))
    if Role.citizen in roles and patient_key is None:
        return ("a citizen needs a patient_key", N_("claims-reason.citizen-without-key"))
    if patient_key is not None and Role.citizen not in roles:
        return ("only a citizen carries a patient_key", N_("claims-reason.key-without-citizen"))
    if patient_key is not None and not _PATIENT_KEY.fullmatch(patient_key):
        return (
            "patient_key must be 64 lowercase hexadecimal digits",
            N_("claims-reason.patient-key-format"),
        )
    if len(establishments) > MAX_ESTABLISHMENTS:
        return (
            f"at most {MAX_ESTABLISHMENTS} establishments",
            N_("claims-reason.too-many-establishments"),
        )
    for code in establishments:
        if not code or len(code) > MAX_CODE_CHARS or code != code.strip():
            return (
                "establishment codes must be non-empty, without surrounding spaces, "
                f"at most {MAX_CODE_CHARS} characters",
                N_("claims-reason.establishment-code"),
            )
    return None


def caller_from_claims(claims: Mapping[str, Any], *, expires_at: float = float("inf")) -> Caller:
    """The caller of verified claims; `Unauthenticated` (``token-claims-invalid``) if
    they do not describe one. `expires_at`: when the verifier stops accepting the token."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise invalid_claims("claims-reason.empty-subject")

    raw_roles = claims.get("roles")
    if not isinstance(raw_roles, list) or not all(isinstance(r, str) for r in raw_roles):
        raise invalid_claims("claims-reason.roles-not-list")
    unknown = [r for r in raw_roles if r not in ROLE_NAMES]
    if unknown:
        raise invalid_claims("claims-reason.unknown-role", role=unknown[0][:40])
    roles = parse_roles(raw_roles)

    raw_establishments = claims.get("establishments")
    if not isinstance(raw_establishments, list) or not all(
        isinstance(e, str) for e in raw_establishments
    ):
        raise invalid_claims("claims-reason.establishments-not-list")
    establishments = frozenset(raw_establishments)

    patient_key = claims.get("patient_key")
    if patient_key is not None and not isinstance(patient_key, str):
        raise invalid_claims("claims-reason.patient-key-not-string")

    problem = claims_problem(roles, establishments, patient_key)
    if problem is not None:
        raise invalid_claims(problem[1])

    token_id = claims.get("jti")
    issuer = claims.get("iss")
    issued_at = claims.get("iat")
    return Caller(
        subject=subject,
        roles=roles,
        establishments=establishments,
        patient_key=patient_key,
        token_id=token_id if isinstance(token_id, str) else None,
        issuer=issuer if isinstance(issuer, str) else None,
        issued_at=float(issued_at) if isinstance(issued_at, int | float) else 0.0,
        expires_at=expires_at,
    )
