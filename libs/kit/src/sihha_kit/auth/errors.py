"""Authentication and authorisation failures, as problems with stable codes.

Every failure is an `AuthError` (a `sihha_kit.errors.DomainProblem`), rendered as
problem+json by `sihha_kit.problems`; its text is the code's entry in the kit's
message catalogue (``sihha_kit/locales/{fr,ar}/LC_MESSAGES/messages.po``).

401 (`Unauthenticated`: who are you?) — ``token-missing``, ``token-expired``,
``token-invalid`` (with a ``reason``), ``token-claims-invalid`` (with a ``reason``),
``token-revoked``, ``device-credential-invalid``, ``enrolment-code-invalid``.

403 (`AccessDenied`: you may not) — ``role-forbidden`` (``required_roles``),
``establishment-forbidden`` (``establishment``), ``wilaya-scope-required``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sihha_kit.errors import DomainProblem
from sihha_kit.i18n import Message

__all__ = ["AccessDenied", "AuthError", "Unauthenticated", "invalid_claims", "invalid_token"]


class AuthError(DomainProblem):
    """401 (who are you?) or 403 (you may not), with a stable code and bilingual detail."""


class Unauthenticated(AuthError):
    """401: no acceptable credential. The response carries ``WWW-Authenticate: Bearer``."""

    def __init__(self, code: str, *, params: Mapping[str, Any] | None = None, **extra: Any) -> None:
        super().__init__(401, code, title="Unauthenticated", params=params, **extra)


class AccessDenied(AuthError):
    """403: the caller is known but their role or establishments do not allow this."""

    def __init__(self, code: str, *, params: Mapping[str, Any] | None = None, **extra: Any) -> None:
        super().__init__(403, code, title="Forbidden", params=params, **extra)


def invalid_token(reason: str, **fields: Any) -> Unauthenticated:
    """``token-invalid`` whose ``reason`` is the catalogue text under `reason`
    (a ``token-reason.*`` key)."""
    return Unauthenticated("token-invalid", params={"reason": Message(reason, **fields)})


def invalid_claims(reason: str, **fields: Any) -> Unauthenticated:
    """``token-claims-invalid`` whose ``reason`` is the catalogue text under `reason`
    (a ``claims-reason.*`` key)."""
    return Unauthenticated("token-claims-invalid", params={"reason": Message(reason, **fields)})
