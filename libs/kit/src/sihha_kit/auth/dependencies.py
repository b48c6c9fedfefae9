"""FastAPI: the dependency every protected route declares, and what it accepts.

A service builds one `Authorizer` and asks it for a dependency per route; the
dependency authenticates the caller (bearer token), checks the role and — where the
route says so — the establishment scope, and returns the `Caller`::

    require = Authorizer()

    Reception = Annotated[Caller, Depends(
        require(Role.receptionist, Role.kiosk, establishment="facility_id"))]
    Monitor = Annotated[Caller, Depends(require(Role.it_unit, Role.admin, wilaya_wide=True))]
    Board = Annotated[Caller, Depends(
        require(Role.display, establishment="facility_id", stream=True))]

- ``require(*roles)``: the caller holds any of `roles` (none given: any authenticated
  caller). No role implies another: ``admin`` gets exactly the routes that name it.
- ``establishment="facility_id"``: the path parameter of that name is an establishment
  the caller may act for (`ensure_establishment`: 403 ``establishment-forbidden``).
- ``wilaya_wide=True``: the route covers the whole wilaya, so the caller must hold the
  wildcard with a wide role (`ensure_wilaya_wide`: 403 ``wilaya-scope-required``).
- neither: the route checks the establishment itself once it knows it (from the body,
  a query parameter, the resource), with `ensure_establishment`/`ensure_wilaya_wide`.
- ``stream=True``: the token may also come from the stream cookie
  (`sihha_kit.auth.streams`), for ``EventSource``, which cannot send headers — never
  from the URL, where proxies log it.

Every dependency carries its `Access` declaration (`access_of(route)`), which the
route × role × establishment matrix test reads (`sihha_kit.testing.access`), and the
OpenAPI document declares the bearer scheme on every route that needs it
(`document_bearer_auth`).

The verifier is the app's (``install_verifier(app, verifier)``, done by
`sihha_kit.app.install_auth`), or one passed to ``Authorizer(verifier)``. A missing
verifier is a programming error and fails loudly, not with a 401. The authenticated
caller is also left on ``request.state.caller``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from sihha_kit.auth.callers import Caller, ensure_establishment, ensure_wilaya_wide
from sihha_kit.auth.errors import AccessDenied, Unauthenticated
from sihha_kit.auth.roles import Role
from sihha_kit.auth.verification import TokenVerifier
from sihha_kit.problems import declare_problems

__all__ = [
    "Access",
    "Authorizer",
    "Scope",
    "access_of",
    "bearer_security",
    "bearer_token",
    "document_bearer_auth",
    "install_verifier",
    "route_accesses",
]

#: the state attribute the verifier is read from
STATE_ATTRIBUTE: Final = "token_verifier"
#: the cookie a stream route also accepts its token from (`sihha_kit.auth.streams`)
STREAM_COOKIE: Final = "sihha_stream"

BEARER_SCHEME: Final = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "JWT signed with RS256 by a trusted issuer (`sihha-dev token` on a "
    "developer machine; a terminal's from `POST /auth/terminal-token`). An operation's "
    "security requirement lists the roles it admits: the caller's token must hold one of "
    "them (none listed: any valid token).",
}


class Scope(StrEnum):
    """Which establishments a route's dependency checks."""

    establishment = "establishment"
    """The establishment named by a path parameter: the caller must act for it."""
    wilaya = "wilaya"
    """The whole wilaya: the caller must hold the wildcard with a wide role."""
    route = "route"
    """The route checks itself, once it knows which establishment (or none applies)."""


@dataclass(frozen=True)
class Access:
    """What a route's caller dependency accepts."""

    #: any of these roles; empty: any authenticated caller
    roles: frozenset[Role]
    scope: Scope
    #: for `Scope.establishment`: the path parameter naming the establishment
    establishment_param: str | None = None
    #: whether the token may come from the stream cookie
    stream: bool = False


CallerDependency = Callable[..., Awaitable[Caller]]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def install_verifier(app: FastAPI, verifier: TokenVerifier) -> None:
    """Make `verifier` the one `Authorizer()` (without a verifier) uses for `app`."""
    setattr(app.state, STATE_ATTRIBUTE, verifier)


def verifier_of(request: Request) -> TokenVerifier:
    verifier = getattr(request.app.state, STATE_ATTRIBUTE, None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError(
            "no TokenVerifier: pass one to Authorizer(...) or call "
            "install_verifier(app, verifier) at start-up"
        )
    return verifier


class Authorizer:
    """Builds route dependencies that authenticate the caller and check what they may do."""

    def __init__(self, verifier: TokenVerifier | None = None) -> None:
        self._verifier = verifier

    def verifier_for(self, request: Request) -> TokenVerifier:
        return self._verifier if self._verifier is not None else verifier_of(request)

    async def authenticate(self, request: Request, token: str | None) -> Caller:
        """The caller of `token` (401 if there is none or it is not acceptable)."""
        if not token:
            raise Unauthenticated("token-missing")
        caller = await self.verifier_for(request).verify(token)
        request.state.caller = caller
        return caller

    def __call__(
        self,
        *roles: Role,
        establishment: str | None = None,
        wilaya_wide: bool = False,
        stream: bool = False,
    ) -> CallerDependency:
        """A dependency returning the caller, who must hold one of `roles` (if any given)
        and, with `establishment` or `wilaya_wide`, act for that scope."""
        if establishment is not None and wilaya_wide:
            raise ValueError("a route is about one establishment or the whole wilaya, not both")
        wanted = frozenset(Role(role) for role in roles)
        access = Access(
            roles=wanted,
            scope=Scope.establishment
            if establishment
            else Scope.wilaya
            if wilaya_wide
            else Scope.route,
            establishment_param=establishment,
            stream=stream,
        )
        required = sorted(role.value for role in wanted)
        names = ", ".join(required)

        # the token is read from the header here, not through an `HTTPBearer` sub-dependency:
        # that one cost ~20 µs a request (FastAPI's resolution and a pydantic model); the
        # OpenAPI document still declares the scheme (`document_bearer_auth`)
        async def caller_dependency(request: Request) -> Caller:
            token = bearer_token(request)
            if token is None and stream:
                token = request.cookies.get(STREAM_COOKIE)
            caller = await self.authenticate(request, token)
            if wanted and caller.roles.isdisjoint(wanted):
                raise AccessDenied(
                    "role-forbidden", params={"roles": names}, required_roles=required
                )
            if establishment is not None:
                ensure_establishment(caller, str(request.path_params.get(establishment, "")))
            elif wilaya_wide:
                ensure_wilaya_wide(caller)
            return caller

        caller_dependency.__name__ = f"require_{'_or_'.join(required) or 'caller'}"
        caller_dependency.access = access  # type: ignore[attr-defined]
        return caller_dependency


def _accesses(dependant: Dependant) -> Iterator[Access]:
    access = getattr(dependant.call, "access", None)
    if isinstance(access, Access):
        yield access
    for sub in dependant.dependencies:
        yield from _accesses(sub)


def access_of(route: APIRoute, dependant: Dependant | None = None) -> Access | None:
    """The access a route's caller dependency declares (in `dependant`, the route's own
    by default); None for a public route. ValueError if it declares two different ones
    (one route, one caller check)."""
    found = set(_accesses(dependant or route.dependant))
    if len(found) > 1:
        raise ValueError(f"{route.path} declares {len(found)} different caller checks")
    return next(iter(found), None)


def route_accesses(app: FastAPI) -> dict[tuple[str, str], Access | None]:
    """``{(method, path template): access}`` for every operation of the app (included
    routers too; HEAD and OPTIONS left out)."""
    table: dict[tuple[str, str], Access | None] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        # an included router's effective dependant has the router's own dependencies too
        access = access_of(route, getattr(context, "dependant", None))
        for method in sorted(route.methods or ()):
            if method in {"HEAD", "OPTIONS"}:
                continue
            table[(method, str(context.path_format))] = access
    return table


def document_bearer_auth(app: FastAPI) -> None:
    """Declare the bearer scheme in the app's OpenAPI document and, on every operation
    whose caller dependency needs a token, require it with the roles the dependency
    admits (OpenAPI 3.1 lets an HTTP scheme's requirement list role names: here the
    caller must hold one of them) and declare its problems, 401 and 403. An operation that
    declares its security itself (`bearer_security`) gets the problems too. The Authorize
    button of /docs keeps working."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = (
            BEARER_SCHEME
        )
        paths = schema.get("paths", {})
        for (method, path), access in route_accesses(app).items():
            operation = paths.get(path, {}).get(method.lower())
            if access is not None and operation is not None:
                operation["security"] = [{"bearer": sorted(access.roles)}]
        for operations in paths.values():
            for operation in operations.values():
                if any("bearer" in requirement for requirement in operation.get("security", ())):
                    declare_problems(schema, operation, 401, 403)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def bearer_security(dependency: CallerDependency) -> list[dict[str, list[str]]]:
    """The OpenAPI `security` of a route that calls an `Authorizer` dependency itself
    instead of declaring it (`openapi_extra={"security": bearer_security(reception)}`).
    Such a route's access is not readable from the app (`route_accesses` sees no caller
    check): prefer declaring the dependency."""
    access = getattr(dependency, "access", None)
    roles = access.roles if isinstance(access, Access) else frozenset()
    return [{"bearer": sorted(roles)}]
