"""Errors a service raises on purpose, each one an RFC 9457 problem.

A `DomainProblem` carries everything `sihha_kit.problems` needs to render an
`application/problem+json` body: the HTTP `status`, a stable machine-readable
`code` (kebab-case, part of the API contract: clients branch on it), a short
English `title`, and `extra` members added to the body (they must be
JSON-serialisable and must never carry personal data: no name, NIN, phone or
date of birth). The `detail` shown to people is not in the code: `code` is its key
in the message catalogues (`sihha_kit.i18n`), rendered in French and in Arabic
with the problem's `extra` members and `params` as its fields::

    raise NotFound("ticket-not-found", ticket_id=str(ticket_id))

    # locales/fr/LC_MESSAGES/messages.po
    msgid "ticket-not-found"
    msgstr "Ticket {ticket_id} introuvable."

`params` are fields for the text only, not members of the body (a label, a
`sihha_kit.i18n.Message` rendered in the same language). The generic subclasses fix
the status so that call sites read as what happened.

Authentication and authorisation errors are `sihha_kit.auth.AuthError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from sihha_kit.i18n import Catalogue

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
    extra: dict[str, Any]
    params: dict[str, Any]

    def __init__(
        self,
        status: int,
        code: str,
        *,
        title: str | None = None,
        params: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"a problem's status must be 4xx or 5xx, not {status}")
        if not code:
            raise ValueError("a problem needs a machine-readable code")
        # Exception.__init__ explicitly, not super(): subclasses may also derive from
        # exceptions whose constructors take other arguments (see middleware.BodyTooLarge).
        Exception.__init__(self, status, code)
        self.status = status
        self.code = code
        self.title = title or _title_from_code(code)
        self.extra = dict(extra)
        self.params = dict(params or {})

    def detail_in(self, language: str, catalogue: Catalogue | None = None) -> str:
        """The text people read, in `language` (``fr`` or ``ar``): the catalogue's text
        under this problem's code, with its fields."""
        catalogue = catalogue or Catalogue.of()
        return catalogue.text(language, self.code, **{**self.extra, **self.params})

    @property
    def detail_fr(self) -> str:
        return self.detail_in("fr")

    @property
    def detail_ar(self) -> str:
        return self.detail_in("ar")

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail_in('fr')}"

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
        *,
        title: str | None = None,
        params: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(self.fixed_status, code, title=title, params=params, **extra)


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
