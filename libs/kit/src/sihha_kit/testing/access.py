"""The route × role × establishment matrix: every route's access, declared and tried.

Each service keeps an expected-access table: one `Row` per operation of its app
(method and path template, as FastAPI routes them) saying which roles it admits and
how it is scoped. `check_access` then

1. fails on any route of the app without a row, and on any row without its route
   (a new route cannot be added without saying who may call it);
2. compares each row with what the route's dependency declares
   (`sihha_kit.auth.access_of`): the same roles, a compatible scope;
3. calls every case of every row without a token (401 expected, unless public) and
   with a token of every `Role` × three establishment scopes — the case's own
   establishment, another establishment, the whole wilaya (``"*"``) — and asserts the
   outcome the table implies: allowed (a status of the case's `ok`), forbidden
   (403 with an authorisation code) or not found (404, where a row says so).

Expected outcomes, for a role the row admits:

==============  =====================  ====================  ========================
case            own establishment      other establishment   whole wilaya (``"*"``)
==============  =====================  ====================  ========================
`establishment`  allowed               403                   allowed for a wide role,
                                                             403 for any other
`wilaya`         403                   403                   as above
`anywhere`       allowed               allowed               allowed
==============  =====================  ====================  ========================

and 403 for every scope for a role it does not admit. `Row.expect` overrides one
cell (``{(Role.kiosk, OTHER): NOT_FOUND}``) where a route answers 404 to keep
another establishment's resources unknown. A `public` row is allowed for everyone,
token or not.

A case's request names the establishment it is about as ``{establishment}`` in its
path, query or JSON body::

    ACCESS = AccessTable({
        ("GET", "/reports/revisions"): Row(WILAYA_READERS, wilaya(get("/reports/revisions"))),
        ("GET", "/activity/tickets-per-day"): Row(
            WILAYA_READERS,
            wilaya(get("/activity/tickets-per-day")),
            establishment(get("/activity/tickets-per-day?facility_id={establishment}")),
        ),
        ("GET", "/health/live"): public(get("/health/live")),
    })

    async def test_route_access(client, app, mint):
        await check_access(client, app, ACCESS, mint)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import httpx
from fastapi import FastAPI

from sihha_kit.auth import WIDE_ROLES, Role, Scope, route_accesses

__all__ = [
    "ALLOWED",
    "FORBIDDEN",
    "NOT_FOUND",
    "OTHER",
    "OWN",
    "WILAYA",
    "AccessTable",
    "Call",
    "Case",
    "Row",
    "anywhere",
    "check_access",
    "establishment",
    "get",
    "post",
    "public",
    "wilaya",
]


class Outcome(StrEnum):
    allowed = "allowed"
    forbidden = "403"
    not_found = "404"
    unauthenticated = "401"


ALLOWED: Final = Outcome.allowed
FORBIDDEN: Final = Outcome.forbidden
NOT_FOUND: Final = Outcome.not_found

#: the establishment scopes a token is minted with
OWN: Final = "own establishment"
OTHER: Final = "other establishment"
WILAYA: Final = "whole wilaya"
TOKEN_SCOPES: Final = (OWN, OTHER, WILAYA)

#: the problem codes that mean "authenticated, but not allowed"
AUTHORISATION_CODES: Final = frozenset(
    {"role-forbidden", "establishment-forbidden", "wilaya-scope-required"}
)
#: differences listed in a failure (the rest are counted)
MAX_SHOWN: Final = 60
#: a citizen's token needs a patient key; any well-formed one does here
PATIENT_KEY: Final = "0" * 64


@dataclass(frozen=True)
class Call:
    """An HTTP request; ``{establishment}`` in `path`, `params` or `json` string values is
    replaced by the establishment the case is about."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None

    def bound(self, code: str) -> tuple[str, str, dict[str, Any] | None, Any]:
        def fill(value: Any) -> Any:
            if isinstance(value, str):
                return value.replace("{establishment}", code)
            if isinstance(value, dict):
                return {key: fill(item) for key, item in value.items()}
            if isinstance(value, list):
                return [fill(item) for item in value]
            return value

        params = fill(dict(self.params)) if self.params is not None else None
        return self.method, fill(self.path), params, fill(self.json)


def get(path: str, **params: Any) -> Call:
    return Call("GET", path, params or None)


def post(path: str, json: Any = None, **params: Any) -> Call:
    return Call("POST", path, params or None, json)


class CaseScope(StrEnum):
    establishment = "establishment"
    wilaya = "wilaya"
    anywhere = "anywhere"
    public = "public"


@dataclass(frozen=True)
class Case:
    """One way a route is called, and which establishments it is about."""

    call: Call
    scope: CaseScope
    #: the statuses that mean the caller was let through
    ok: frozenset[int] = frozenset({200, 201, 204})


def establishment(call: Call, *, ok: Iterable[int] = (200, 201, 204)) -> Case:
    """The request is about one establishment (``{establishment}``)."""
    return Case(call, CaseScope.establishment, frozenset(ok))


def wilaya(call: Call, *, ok: Iterable[int] = (200, 201, 204)) -> Case:
    """The request covers the whole wilaya."""
    return Case(call, CaseScope.wilaya, frozenset(ok))


def anywhere(call: Call, *, ok: Iterable[int] = (200, 201, 204)) -> Case:
    """The request concerns no establishment (the caller's own session, say)."""
    return Case(call, CaseScope.anywhere, frozenset(ok))


@dataclass(frozen=True)
class Row:
    """Who may call one route: `roles` (empty: any authenticated caller; None: public,
    no token needed), tried with each of `cases`."""

    roles: frozenset[Role] | None
    cases: tuple[Case, ...]
    #: cells that differ from what `roles` and the case's scope imply
    expect: Mapping[tuple[Role, str], Outcome] = field(default_factory=dict)

    def __init__(
        self,
        roles: Iterable[Role] | None,
        *cases: Case,
        expect: Mapping[tuple[Role, str], Outcome] | None = None,
    ) -> None:
        if not cases:
            raise ValueError("a row needs at least one case")
        object.__setattr__(self, "roles", None if roles is None else frozenset(roles))
        object.__setattr__(self, "cases", cases)
        object.__setattr__(self, "expect", dict(expect or {}))

    def outcome(self, case: Case, role: Role, token_scope: str) -> Outcome:
        if (role, token_scope) in self.expect:
            return self.expect[(role, token_scope)]
        if self.roles is None or case.scope is CaseScope.public:
            return ALLOWED
        if self.roles and role not in self.roles:
            return FORBIDDEN
        wide = role in WIDE_ROLES and token_scope == WILAYA
        if case.scope is CaseScope.anywhere:
            return ALLOWED
        if case.scope is CaseScope.wilaya:
            return ALLOWED if wide else FORBIDDEN
        return ALLOWED if token_scope == OWN or wide else FORBIDDEN


def public(*calls: Call) -> Row:
    """A route anyone may call, with a token or without (health, pages, catalogues)."""
    return Row(None, *(Case(call, CaseScope.public) for call in calls))


@dataclass(frozen=True)
class AccessTable:
    """A service's expected access: ``{(method, path template): Row}``."""

    rows: Mapping[tuple[str, str], Row]
    #: the establishment the cases are about, and another one
    establishment: str = "31-PC-001"
    other: str = "31-PC-002"


def _declared_problems(app: FastAPI, table: AccessTable) -> list[str]:
    declared = route_accesses(app)
    problems = [
        f"{method} {path}: a route without a row in the access table"
        for method, path in sorted(declared.keys() - table.rows.keys())
    ]
    problems += [
        f"{method} {path}: a row without its route"
        for method, path in sorted(table.rows.keys() - declared.keys())
    ]
    for key in sorted(declared.keys() & table.rows.keys()):
        access, row = declared[key], table.rows[key]
        where = f"{key[0]} {key[1]}"
        if (access is None) != (row.roles is None):
            problems.append(
                f"{where}: the table says {'public' if row.roles is None else 'protected'}, "
                f"the route {'declares no caller check' if access is None else 'checks its caller'}"
            )
            continue
        if access is None or row.roles is None:
            continue
        if access.roles != row.roles:
            problems.append(
                f"{where}: the route admits {sorted(access.roles)}, the table {sorted(row.roles)}"
            )
        scopes = {case.scope for case in row.cases}
        if access.scope is Scope.wilaya and scopes != {CaseScope.wilaya}:
            problems.append(f"{where}: the route is wilaya-wide, its cases are not")
        if access.scope is Scope.establishment and scopes != {CaseScope.establishment}:
            problems.append(f"{where}: the route is about one establishment, its cases are not")
    return problems


def _classify(response: httpx.Response, case: Case) -> Outcome | str:
    if response.status_code in case.ok:
        return ALLOWED
    code = ""
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        code = str(response.json().get("code", ""))
    if response.status_code == 403 and code in AUTHORISATION_CODES:
        return FORBIDDEN
    if response.status_code == 404:
        return NOT_FOUND
    if response.status_code == 401:
        return Outcome.unauthenticated
    return f"{response.status_code} {code}".strip()


async def _send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    params: dict[str, Any] | None,
    body: Any,
    headers: dict[str, str],
) -> httpx.Response:
    """The response, its body read unless it is an event stream (which never ends: its
    status and headers say enough, and leaving closes it)."""
    async with client.stream(method, url, params=params, json=body, headers=headers) as response:
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            await response.aread()
    return response


async def check_access(
    client: httpx.AsyncClient,
    app: FastAPI,
    table: AccessTable,
    mint: Callable[..., str],
) -> int:
    """Check the table against the app's routes and against what the routes answer (see
    the module's docstring); AssertionError listing every difference. Returns the number
    of requests made. `client` talks to the app served for real (`sihha_kit.testing.apps.
    serving`) when the app has event streams: an in-process transport waits for a
    response's end, and a stream has none."""
    problems = _declared_problems(app, table)
    requests = 0
    tokens: dict[tuple[Role, str, str], str] = {}

    def token(role: Role, scope: str, code: str) -> str:
        key = (role, scope, code)
        if key not in tokens:
            establishments = {
                OWN: [code],
                OTHER: [table.other if code != table.other else table.establishment],
                WILAYA: ["*"],
            }[scope]
            tokens[key] = mint(
                role,
                establishments=establishments,
                subject=f"matrix:{role}:{scope}",
                patient_key=PATIENT_KEY if role is Role.citizen else None,
            )
        return tokens[key]

    for (method, path), row in sorted(table.rows.items()):
        for case in row.cases:
            verb, url, params, body = case.call.bound(table.establishment)
            label = f"{method} {path} [{verb} {url}{'?' + str(params) if params else ''}]"
            anonymous = await _send(client, verb, url, params, body, {})
            requests += 1
            seen = _classify(anonymous, case)
            wanted = ALLOWED if row.roles is None else Outcome.unauthenticated
            if seen != wanted:
                problems.append(f"{label} without a token: {seen}, expected {wanted}")
            for role in Role:
                for scope in TOKEN_SCOPES:
                    headers = {"authorization": f"Bearer {token(role, scope, table.establishment)}"}
                    response = await _send(client, verb, url, params, body, headers)
                    requests += 1
                    seen = _classify(response, case)
                    wanted = row.outcome(case, role, scope)
                    if seen != wanted:
                        problems.append(
                            f"{label} as {role} ({scope}): {seen}, expected {wanted}"
                            + ("" if isinstance(seen, Outcome) else f" — {response.text[:160]}")
                        )
    if problems:
        shown = "\n".join(problems[:MAX_SHOWN])
        more = f"\n… and {len(problems) - MAX_SHOWN} more" if len(problems) > MAX_SHOWN else ""
        raise AssertionError(
            f"route access differs from the table ({len(problems)} differences):\n{shown}{more}"
        )
    return requests
