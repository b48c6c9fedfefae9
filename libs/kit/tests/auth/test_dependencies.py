"""The caller dependency of routes: 401/403 by code, establishment and wilaya scopes, the
stream cookie, and the access every route declares (read back from the app).

No `from __future__ import annotations` here: the routes below are defined inside a
function and their `Depends(...)` annotations name local variables.
"""

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fastapi import Depends, FastAPI, Request

from sihha_kit.auth import (
    Access,
    Authorizer,
    Caller,
    IssuerKeys,
    Role,
    Scope,
    TokenVerifier,
    document_bearer_auth,
    ensure_establishment,
    install_verifier,
    route_accesses,
    stream_session_router,
)
from sihha_kit.auth.keys import generate_private_key, key_id
from sihha_kit.devtools import TokenIssuer
from sihha_kit.problems import install_problem_handlers

CLINIC = "31-PC-001"
OTHER_CLINIC = "31-PC-002"


@pytest.fixture(scope="module")
def key() -> RSAPrivateKey:
    return generate_private_key()


@pytest.fixture
def issuer(key: RSAPrivateKey) -> TokenIssuer:
    return TokenIssuer([(key_id(key), key)])


@pytest.fixture
def verifier(key: RSAPrivateKey) -> TokenVerifier:
    return TokenVerifier([IssuerKeys.in_memory("sihha-dev", {key_id(key): key.public_key()}, None)])


def _app(authorizer: Authorizer) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    front_desk = authorizer(Role.receptionist, Role.kiosk)
    per_clinic = authorizer(Role.receptionist, Role.kiosk, establishment="code")
    wilaya = authorizer(Role.it_unit, Role.wilaya_group, wilaya_wide=True)
    board = authorizer(Role.display, establishment="code", stream=True)

    @app.post("/establishments/{code}/tickets")
    async def take_ticket(code: str, caller: Annotated[Caller, Depends(front_desk)]) -> Any:
        ensure_establishment(caller, code)
        return {"subject": caller.subject, "establishment": code}

    @app.get("/establishments/{code}/queue")
    async def queue(code: str, caller: Annotated[Caller, Depends(per_clinic)]) -> Any:
        return {"establishment": code}

    @app.get("/wilaya/monitor")
    async def monitor(caller: Annotated[Caller, Depends(wilaya)]) -> Any:
        return {"ok": True}

    @app.get("/establishments/{code}/board")
    async def board_stream(code: str, caller: Annotated[Caller, Depends(board)]) -> Any:
        return {"board": code}

    @app.get("/me")
    async def me(request: Request, caller: Annotated[Caller, Depends(authorizer())]) -> Any:
        assert request.state.caller is caller
        return {"subject": caller.subject, "roles": sorted(caller.roles)}

    @app.get("/health")
    async def health() -> Any:
        return {"status": "alive"}

    app.include_router(stream_session_router(authorizer))
    return app


@pytest.fixture
async def client(verifier: TokenVerifier) -> AsyncIterator[httpx.AsyncClient]:
    app = _app(Authorizer(verifier))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="https://test"
    ) as client:
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_route_protection(issuer: TokenIssuer, client: httpx.AsyncClient) -> None:
    url = f"/establishments/{CLINIC}/tickets"
    response = await client.post(url)
    assert response.status_code == 401
    assert response.json()["code"] == "token-missing"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"

    response = await client.post(url, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert (response.status_code, response.json()["code"]) == (401, "token-missing")

    response = await client.post(url, headers=_bearer("not-a-token"))
    assert (response.status_code, response.json()["code"]) == (401, "token-invalid")

    doctor = issuer.mint("dr-1", [Role.doctor], [CLINIC])
    response = await client.post(url, headers=_bearer(doctor))
    body = response.json()
    assert (response.status_code, body["code"]) == (403, "role-forbidden")
    assert body["required_roles"] == ["kiosk", "receptionist"]
    assert "kiosk, receptionist" in body["detail_fr"] and "kiosk, receptionist" in body["detail_ar"]

    kiosk = issuer.mint(f"kiosk:{CLINIC}", [Role.kiosk], [CLINIC])
    response = await client.post(url, headers=_bearer(kiosk))
    assert response.status_code == 200
    assert response.json() == {"subject": f"kiosk:{CLINIC}", "establishment": CLINIC}

    other = f"/establishments/{OTHER_CLINIC}/tickets"
    response = await client.post(other, headers=_bearer(kiosk))
    assert (response.status_code, response.json()["code"]) == (403, "establishment-forbidden")

    response = await client.get("/me", headers=_bearer(doctor))
    assert response.json() == {"subject": "dr-1", "roles": ["doctor"]}
    assert (await client.get("/me")).status_code == 401


async def test_the_dependency_checks_the_establishment_of_the_path(
    issuer: TokenIssuer, client: httpx.AsyncClient
) -> None:
    kiosk = _bearer(issuer.mint("k", [Role.kiosk], [CLINIC]))
    assert (await client.get(f"/establishments/{CLINIC}/queue", headers=kiosk)).status_code == 200
    refused = await client.get(f"/establishments/{OTHER_CLINIC}/queue", headers=kiosk)
    assert (refused.status_code, refused.json()["code"]) == (403, "establishment-forbidden")
    assert OTHER_CLINIC in refused.json()["detail_ar"]


async def test_wilaya_routes_need_the_whole_wilaya(
    issuer: TokenIssuer, client: httpx.AsyncClient
) -> None:
    wide = _bearer(issuer.mint("it", [Role.it_unit], ["*"]))
    assert (await client.get("/wilaya/monitor", headers=wide)).status_code == 200
    for establishments in ([CLINIC], [CLINIC, OTHER_CLINIC]):
        scoped = _bearer(issuer.mint("it", [Role.it_unit], establishments))
        refused = await client.get("/wilaya/monitor", headers=scoped)
        assert (refused.status_code, refused.json()["code"]) == (403, "wilaya-scope-required")
    receptionist = _bearer(issuer.mint("r", [Role.receptionist], ["*"]))
    refused = await client.get("/wilaya/monitor", headers=receptionist)
    assert refused.json()["code"] == "role-forbidden"


async def test_streams_take_the_token_from_the_cookie_and_only_streams(
    issuer: TokenIssuer, client: httpx.AsyncClient
) -> None:
    board = issuer.mint("display:1", [Role.display], [CLINIC])
    assert (await client.get(f"/establishments/{CLINIC}/board")).status_code == 401
    opened = await client.post("/auth/stream-session", headers=_bearer(board))
    assert opened.status_code == 204
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith("sihha_stream=")
    for attribute in ("HttpOnly", "SameSite=strict", "Secure", "Path=/", "Max-Age="):
        assert attribute.lower() in cookie.lower(), cookie
    max_age = int(cookie.lower().split("max-age=")[1].split(";")[0])
    assert 12 * 3600 - 60 <= max_age <= 12 * 3600 + 30

    # the client now sends the cookie: the stream accepts it, without a header or a URL token
    assert (await client.get(f"/establishments/{CLINIC}/board")).json() == {"board": CLINIC}
    refused = await client.get(f"/establishments/{OTHER_CLINIC}/board")
    assert refused.json()["code"] == "establishment-forbidden"
    # every other route ignores the cookie
    assert (await client.get("/me")).status_code == 401
    assert (await client.get(f"/establishments/{CLINIC}/queue")).status_code == 401
    # a display token is refused everywhere but the board
    assert (await client.get("/me", headers=_bearer(board))).status_code == 200
    queue = await client.get(f"/establishments/{CLINIC}/queue", headers=_bearer(board))
    assert queue.json()["code"] == "role-forbidden"

    closed = await client.delete("/auth/stream-session")
    assert closed.status_code == 204 and "sihha_stream=" in closed.headers["set-cookie"]
    assert (await client.get(f"/establishments/{CLINIC}/board")).status_code == 401


async def test_verifier_from_app_state(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    app = _app(Authorizer())
    install_verifier(app, verifier)
    token = issuer.mint("desk-1", [Role.receptionist], [CLINIC])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        response = await c.post(f"/establishments/{CLINIC}/tickets", headers=_bearer(token))
        assert response.status_code == 200


async def test_missing_verifier_is_a_programming_error(issuer: TokenIssuer) -> None:
    token = issuer.mint("desk-1", [Role.receptionist], [CLINIC])
    app = _app(Authorizer())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app, raise_app_exceptions=True), base_url="http://t"
    ) as c:
        with pytest.raises(RuntimeError, match="TokenVerifier"):
            await c.get("/me", headers=_bearer(token))


def test_every_route_says_what_it_accepts(verifier: TokenVerifier) -> None:
    table = route_accesses(_app(Authorizer(verifier)))
    front = frozenset({Role.receptionist, Role.kiosk})
    assert table[("POST", "/establishments/{code}/tickets")] == Access(front, Scope.route)
    assert table[("GET", "/establishments/{code}/queue")] == Access(
        front, Scope.establishment, "code"
    )
    assert table[("GET", "/wilaya/monitor")] == Access(
        frozenset({Role.it_unit, Role.wilaya_group}), Scope.wilaya
    )
    assert table[("GET", "/establishments/{code}/board")] == Access(
        frozenset({Role.display}), Scope.establishment, "code", stream=True
    )
    assert table[("GET", "/me")] == Access(frozenset(), Scope.route)
    assert table[("POST", "/auth/stream-session")] == Access(frozenset(), Scope.route)
    assert table[("GET", "/health")] is None
    assert table[("DELETE", "/auth/stream-session")] is None


def test_openapi_declares_bearer_security(verifier: TokenVerifier) -> None:
    app = _app(Authorizer(verifier))
    document_bearer_auth(app)
    schema = app.openapi()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert schema["paths"]["/me"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/health"]["get"]


def test_route_declarations_are_checked(verifier: TokenVerifier) -> None:
    with pytest.raises(ValueError):
        Authorizer(verifier)("superuser")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not both"):
        Authorizer(verifier)(Role.admin, establishment="code", wilaya_wide=True)
