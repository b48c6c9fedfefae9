"""Errors a service raises on purpose, each one an RFC 9457 problem.

A `DomainProblem` carries everything `sihha_kit.problems` needs to render an
`application/problem+json` body: the HTTP `status`, a stable machine-readable
`code` (kebab-case, part of the API contract: clients branch on it), a short
English `title`, the `detail` in French and in Arabic, and `extra` members
added to the body (they must be JSON-serialisable and must never carry
personal data: no name, NIN, phone or date of birth).

The generic subclasses fix the status so that call sites read as what
happened::

    raise NotFound("ticket-not-found", "Ticket introuvable.", "التذكرة غير موجودة.",
                   ticket_id=str(ticket_id))

Authentication and authorisation errors are `sihha_kit.auth.AuthError`.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "BadRequest",
    "Conflict",
    "DomainProblem",
    "Forbidden",
    "NotFound",
    "TooManyRequests",
    "Unavailable",
]


def _title_from_code(code: str) -> str:
    return code.replace("-", " ").capitalize()


class DomainProblem(Exception):
    """An expected failure that becomes a problem+json response with `status`."""

    status: int
    code: str
    title: str
    detail_fr: str
    detail_ar: str
    extra: dict[str, Any]

    def __init__(
        self,
        status: int,
        code: str,
        detail_fr: str,
        detail_ar: str,
        *,
        title: str | None = None,
        **extra: Any,
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"a problem's status must be 4xx or 5xx, not {status}")
        if not code:
            raise ValueError("a problem needs a machine-readable code")
        # Exception.__init__ explicitly, not super(): subclasses may also derive from
        # exceptions whose constructors take other arguments (see middleware.BodyTooLarge).
        Exception.__init__(self, status, code, detail_fr)
        self.status = status
        self.code = code
        self.title = title or _title_from_code(code)
        self.detail_fr = detail_fr
        self.detail_ar = detail_ar
        self.extra = dict(extra)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail_fr}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # subclasses have other constructor signatures: rebuild from the attributes
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(
    cls: type[DomainProblem], args: tuple[Any, ...], state: dict[str, Any]
) -> DomainProblem:
    problem = cls.__new__(cls)
    problem.args = args
    problem.__dict__.update(state)
    return problem


class _FixedStatus(DomainProblem):
    """A problem whose status is set by its class."""

    fixed_status: ClassVar[int] = 500

    def __init__(
        self,
        code: str,
        detail_fr: str,
        detail_ar: str,
        *,
        title: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(self.fixed_status, code, detail_fr, detail_ar, title=title, **extra)


class BadRequest(_FixedStatus):
    """422: the request is well-formed but its content is refused (a rule of the domain,
    a value out of range, an unknown code). Nothing was changed."""

    fixed_status = 422


class Forbidden(_FixedStatus):
    """403: the caller is known but may not do this."""

    fixed_status = 403


class NotFound(_FixedStatus):
    """404: the resource does not exist (or the caller may not know that it does)."""

    fixed_status = 404


class Conflict(_FixedStatus):
    """409: the request contradicts the current state (already called, already closed...)."""

    fixed_status = 409


class TooManyRequests(_FixedStatus):
    """429: the caller must slow down."""

    fixed_status = 429


class Unavailable(_FixedStatus):
    """503: a dependency is down; the request can be retried later."""

    fixed_status = 503
