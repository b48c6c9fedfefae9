"""Tokens, callers, roles and establishments; the FastAPI dependency.

No `from __future__ import annotations` here: the routes below are defined inside a
function and their `Depends(...)` annotations name local variables.
"""

import base64
import hashlib
import hmac
import json
import pickle
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from sihha_kit.auth import (
    AuthError,
    Authorizer,
    Caller,
    Role,
    TokenIssuer,
    TokenVerifier,
    document_bearer_auth,
    ensure_establishment,
    install_verifier,
    load_private_key,
    load_public_key,
)
from sihha_kit.errors import BadRequest, Conflict, DomainProblem, NotFound

CLINIC = "31-PC-001"
OTHER_CLINIC = "31-PC-002"
PATIENT_KEY = "ab" * 32


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public_pem: bytes


def _key_pair(bits: int = 2048) -> KeyPair:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return KeyPair(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return _key_pair()


@pytest.fixture(scope="module")
def other_keys() -> KeyPair:
    return _key_pair()


@pytest.fixture
def issuer(keys: KeyPair) -> TokenIssuer:
    return TokenIssuer(keys.private_pem)


@pytest.fixture
def verifier(keys: KeyPair) -> TokenVerifier:
    return TokenVerifier(keys.public_pem)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, Any] = {
        "iss": "sihha-dev",
        "aud": "sihha",
        "sub": "user-1",
        "iat": now,
        "exp": now + 3600,
        "roles": ["receptionist"],
        "establishments": [CLINIC],
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def _signed(keys: KeyPair, claims: dict[str, Any]) -> str:
    """A correctly signed RS256 token with arbitrary claims (bypassing TokenIssuer's checks)."""
    return jwt.encode(claims, keys.private_pem, algorithm="RS256")


def _reject(verifier: TokenVerifier, token: str, code: str, status: int = 401) -> AuthError:
    with pytest.raises(AuthError) as caught:
        verifier.verify(token)
    error = caught.value
    assert (error.status, error.code) == (status, code), error
    assert error.detail_fr and error.detail_ar
    return error


# -- round trip ----------------------------------------------------------------------------------


def test_minted_token_round_trips(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.mint("desk-7", [Role.receptionist, "counter_agent"], [CLINIC])
    caller = verifier.verify(token)
    assert caller.subject == "desk-7"
    assert caller.roles == {Role.receptionist, Role.counter_agent}
    assert caller.establishments == {CLINIC}
    assert caller.patient_key is None
    assert caller.token_id

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "sihha-dev" and claims["aud"] == "sihha"
    assert claims["exp"] - claims["iat"] == 12 * 3600
    assert jwt.get_unverified_header(token)["alg"] == "RS256"


def test_citizen_token_carries_patient_key(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    caller = verifier.verify(issuer.mint("citizen-1", [Role.citizen], [], PATIENT_KEY))
    assert caller.roles == {Role.citizen}
    assert caller.patient_key == PATIENT_KEY
    assert caller.establishments == frozenset()


def test_keys_load_from_files(tmp_path: Path, keys: KeyPair) -> None:
    (tmp_path / "private.pem").write_bytes(keys.private_pem)
    (tmp_path / "public.pem").write_bytes(keys.public_pem)
    issuer = TokenIssuer(load_private_key(tmp_path / "private.pem"), issuer="x", audience="y")
    verifier = TokenVerifier(load_public_key(tmp_path / "public.pem"), issuer="x", audience="y")
    assert verifier.verify(issuer.mint("s", [Role.doctor], [CLINIC])).subject == "s"
    from_files = TokenVerifier.from_file(tmp_path / "public.pem")
    minted = TokenIssuer.from_file(tmp_path / "private.pem").mint("t", [Role.nurse], [CLINIC])
    assert from_files.verify(minted).roles == {Role.nurse}


def test_keys_must_be_rsa_of_2048_bits_or_more(tmp_path: Path) -> None:
    short = _key_pair(1024)
    with pytest.raises(ValueError, match="too short"):
        TokenVerifier(short.public_pem)
    with pytest.raises(ValueError, match="too short"):
        TokenIssuer(short.private_pem)
    ec_public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="RSA"):
        TokenVerifier(ec_public)
    with pytest.raises(ValueError, match="PEM"):
        TokenVerifier("not a key")
    (tmp_path / "junk.pem").write_text("junk")
    with pytest.raises(ValueError):
        load_public_key(tmp_path / "junk.pem")


# -- refused tokens ------------------------------------------------------------------------------


def test_expired_token(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    past = datetime.now(UTC) - timedelta(hours=13)
    token = issuer.mint("desk-7", [Role.receptionist], [CLINIC], now=past)
    error = _reject(verifier, token, "token-expired")
    assert "expiré" in error.detail_fr


def test_leeway_tolerates_small_clock_skew(issuer: TokenIssuer, keys: KeyPair) -> None:
    just_expired = datetime.now(UTC) - timedelta(hours=12, seconds=10)
    token = issuer.mint("desk-7", [Role.receptionist], [CLINIC], now=just_expired)
    assert TokenVerifier(keys.public_pem, leeway=30).verify(token).subject == "desk-7"
    _reject(TokenVerifier(keys.public_pem, leeway=0), token, "token-expired")


def test_an_accepted_token_is_verified_once_then_expires_on_time(
    issuer: TokenIssuer, keys: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = TokenVerifier(keys.public_pem, leeway=0)
    expires_soon = datetime.now(UTC) - timedelta(hours=12) + timedelta(seconds=1.5)
    token = issuer.mint("desk-7", [Role.receptionist], [CLINIC], now=expires_soon)
    first = verifier.verify(token)
    # the second request with the same token does not check the signature again
    checked: list[str] = []
    real_decode = verifier._decode
    monkeypatch.setattr(verifier, "_decode", lambda t: checked.append(t) or real_decode(t))
    assert verifier.verify(token) is first
    assert verifier.verify(f"  {token} ") is first
    assert checked == []
    # once the token's own expiry has passed, it is refused as if never seen
    time.sleep(1.6)
    _reject(verifier, token, "token-expired")
    assert checked == [token]


def test_the_accepted_tokens_kept_are_bounded(issuer: TokenIssuer, keys: KeyPair) -> None:
    verifier = TokenVerifier(keys.public_pem, cache_size=3)
    tokens = [issuer.mint(f"desk-{n}", [Role.receptionist], [CLINIC]) for n in range(5)]
    for token in tokens:
        verifier.verify(token)
    assert list(verifier._accepted) == tokens[2:]
    # a token that falls out of the cache is still accepted, checked again
    assert verifier.verify(tokens[0]).subject == "desk-0"


def test_a_refused_token_is_refused_every_time(
    other_keys: KeyPair, verifier: TokenVerifier
) -> None:
    forged = _signed(other_keys, _claims())
    for _ in range(2):
        _reject(verifier, forged, "token-invalid")
    assert verifier._accepted == {}


def test_token_from_the_future(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    future = datetime.now(UTC) + timedelta(hours=1)
    _reject(verifier, issuer.mint("s", [Role.doctor], [CLINIC], now=future), "token-invalid")


def test_token_signed_with_another_key(other_keys: KeyPair, verifier: TokenVerifier) -> None:
    token = TokenIssuer(other_keys.private_pem).mint("s", [Role.admin], ["*"])
    error = _reject(verifier, token, "token-invalid")
    assert "signature" in error.detail_fr


def test_tampered_payload(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    header, _, signature = issuer.mint("s", [Role.receptionist], [CLINIC]).split(".")
    forged = _b64(json.dumps(_claims(roles=["admin"], establishments=["*"])).encode())
    _reject(verifier, f"{header}.{forged}.{signature}", "token-invalid")


def test_tampered_signature(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    header, payload, signature = issuer.mint("s", [Role.receptionist], [CLINIC]).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[10] ^= 0x01
    _reject(verifier, f"{header}.{payload}.{_b64(bytes(raw))}", "token-invalid")


def test_alg_none_is_refused(verifier: TokenVerifier) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(roles=["admin"])).encode())
    error = _reject(verifier, f"{header}.{payload}.", "token-invalid")
    assert "RS256" in error.detail_fr
    _reject(verifier, f"{header}.{payload}", "token-invalid")


@pytest.mark.parametrize("alg", ["HS256", "HS512"])
def test_hmac_tokens_are_refused_even_keyed_with_the_public_key(
    alg: str, keys: KeyPair, verifier: TokenVerifier
) -> None:
    # the classic key-confusion forgery: HMAC "signed" with the (public) verification key
    digest = hashlib.sha256 if alg == "HS256" else hashlib.sha512
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(roles=["admin"], establishments=["*"])).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = _b64(hmac.new(keys.public_pem, signing_input, digest).digest())
    _reject(verifier, f"{header}.{payload}.{signature}", "token-invalid")


def test_other_rsa_algorithms_are_refused(keys: KeyPair, verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(), keys.private_pem, algorithm="RS512")
    _reject(verifier, token, "token-invalid")


@pytest.mark.parametrize("token", ["", "   ", "abc", "a.b.c", "x" * 9000])
def test_garbage(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(AuthError) as caught:
        verifier.verify(token)
    assert caught.value.status == 401
    assert caught.value.code in {"token-missing", "token-invalid"}


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"roles": ["receptionist", "superuser"]}, "token-claims-invalid"),
        ({"roles": "receptionist"}, "token-claims-invalid"),
        ({"roles": [1]}, "token-claims-invalid"),
        ({"roles": []}, "token-claims-invalid"),
        ({"roles": None}, "token-claims-invalid"),
        ({"establishments": None}, "token-claims-invalid"),
        ({"establishments": CLINIC}, "token-claims-invalid"),
        ({"establishments": [1]}, "token-claims-invalid"),
        ({"establishments": [""]}, "token-claims-invalid"),
        ({"exp": None}, "token-claims-invalid"),
        ({"iat": None}, "token-claims-invalid"),
        ({"sub": None}, "token-claims-invalid"),
        ({"sub": "  "}, "token-claims-invalid"),
        ({"sub": 42}, "token-invalid"),
        ({"iss": "someone-else"}, "token-invalid"),
        ({"iss": None}, "token-claims-invalid"),
        ({"aud": "other-platform"}, "token-invalid"),
        ({"aud": None}, "token-claims-invalid"),
        ({"roles": ["citizen"], "establishments": []}, "token-claims-invalid"),
        ({"roles": ["citizen"], "patient_key": "AB" * 32}, "token-claims-invalid"),
        ({"roles": ["citizen"], "patient_key": "ab" * 31}, "token-claims-invalid"),
        ({"roles": ["citizen"], "patient_key": 12}, "token-claims-invalid"),
        ({"roles": ["doctor"], "patient_key": PATIENT_KEY}, "token-claims-invalid"),
    ],
)
def test_invalid_claims(
    keys: KeyPair, verifier: TokenVerifier, overrides: dict[str, Any], code: str
) -> None:
    claims = _claims()
    for key, value in overrides.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    _reject(verifier, _signed(keys, claims), code)


def test_unknown_role_is_named(keys: KeyPair, verifier: TokenVerifier) -> None:
    error = _reject(verifier, _signed(keys, _claims(roles=["superuser"])), "token-claims-invalid")
    assert "superuser" in error.detail_fr and "superuser" in error.detail_ar


def test_missing_jti_is_tolerated(keys: KeyPair, verifier: TokenVerifier) -> None:
    caller = verifier.verify(_signed(keys, _claims()))
    assert caller.token_id is None


def test_issuer_refuses_what_the_verifier_would(issuer: TokenIssuer) -> None:
    with pytest.raises(ValueError, match="unknown role"):
        issuer.mint("s", ["superuser"], [CLINIC])
    with pytest.raises(ValueError, match="at least one role"):
        issuer.mint("s", [], [CLINIC])
    with pytest.raises(ValueError, match="patient_key"):
        issuer.mint("s", [Role.citizen], [])
    with pytest.raises(ValueError, match="patient_key"):
        issuer.mint("s", [Role.doctor], [CLINIC], patient_key=PATIENT_KEY)
    with pytest.raises(ValueError, match="64 lowercase"):
        issuer.mint("s", [Role.citizen], [], patient_key="XYZ")
    with pytest.raises(ValueError, match="subject"):
        issuer.mint(" ", [Role.doctor], [CLINIC])
    with pytest.raises(ValueError, match="ttl"):
        issuer.mint("s", [Role.doctor], [CLINIC], ttl=timedelta(0))
    with pytest.raises(ValueError, match="collections"):
        issuer.mint("s", "doctor", [CLINIC])


def test_errors_are_bilingual_problems() -> None:
    error = AuthError(401, "token-expired", "Expiré.", "منتهي.")
    assert isinstance(error, DomainProblem)
    assert error.title == "Token expired"
    assert error.extra == {}
    assert str(error) == "401 token-expired: Expiré."
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.status, copy.code, copy.detail_ar) == (
        AuthError,
        401,
        "token-expired",
        "منتهي.",
    )
    missing = NotFound("ticket-not-found", "Introuvable.", "غير موجود.", ticket="T-1")
    assert (missing.status, missing.extra) == (404, {"ticket": "T-1"})
    assert Conflict("already-called", "Déjà appelé.", "تم النداء.").status == 409
    assert BadRequest("bad", "Mauvais.", "سيء.", title="Bad thing").title == "Bad thing"
    assert BadRequest("bad", "Mauvais.", "سيء.").status == 422
    with pytest.raises(ValueError):
        DomainProblem(200, "ok", "", "")


# -- roles and establishments --------------------------------------------------------------------


def _caller(roles: set[Role], establishments: set[str]) -> Caller:
    return Caller("s", frozenset(roles), frozenset(establishments))


def test_has_any() -> None:
    caller = _caller({Role.receptionist, Role.counter_agent}, {CLINIC})
    assert caller.has_any(Role.doctor, Role.receptionist)
    assert not caller.has_any(Role.doctor, Role.admin)
    assert not caller.has_any()


def test_a_clinic_terminal_cannot_act_for_another_clinic() -> None:
    kiosk = _caller({Role.kiosk}, {CLINIC})
    assert kiosk.may_act_for(CLINIC)
    assert not kiosk.may_act_for(OTHER_CLINIC)
    ensure_establishment(kiosk, CLINIC)
    with pytest.raises(AuthError) as caught:
        ensure_establishment(kiosk, OTHER_CLINIC)
    assert (caught.value.status, caught.value.code) == (403, "establishment-forbidden")
    assert OTHER_CLINIC in caught.value.detail_fr and OTHER_CLINIC in caught.value.detail_ar


@pytest.mark.parametrize("role", [Role.wilaya_group, Role.it_unit, Role.ministry, Role.admin])
def test_wildcard_for_wide_roles(role: Role) -> None:
    caller = _caller({role}, {"*"})
    assert caller.wilaya_wide
    assert caller.may_act_for(CLINIC) and caller.may_act_for(OTHER_CLINIC)
    ensure_establishment(caller, OTHER_CLINIC)


@pytest.mark.parametrize("role", [Role.receptionist, Role.kiosk, Role.doctor, Role.citizen])
def test_wildcard_grants_nothing_to_other_roles(role: Role) -> None:
    caller = _caller({role}, {"*"})
    assert not caller.wilaya_wide
    assert not caller.may_act_for(CLINIC)


def test_wildcard_and_empty_are_not_establishments() -> None:
    caller = _caller({Role.wilaya_group}, {"*"})
    assert not caller.may_act_for("*")
    assert not caller.may_act_for("")


def test_wilaya_group_token_round_trip(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    caller = verifier.verify(issuer.mint("dsp-oran", [Role.wilaya_group], ["*"]))
    ensure_establishment(caller, OTHER_CLINIC)


# -- FastAPI -------------------------------------------------------------------------------------


async def _render(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AuthError)
    return JSONResponse(
        {"code": error.code, "detail_fr": error.detail_fr, "detail_ar": error.detail_ar},
        status_code=error.status,
    )


def _app(authorizer: Authorizer) -> FastAPI:
    app = FastAPI()
    app.add_exception_handler(AuthError, _render)
    front_desk = authorizer(Role.receptionist, Role.kiosk)

    @app.post("/establishments/{code}/tickets")
    async def take_ticket(code: str, caller: Annotated[Caller, Depends(front_desk)]) -> Any:
        ensure_establishment(caller, code)
        return {"subject": caller.subject, "establishment": code}

    @app.get("/me")
    async def me(request: Request, caller: Annotated[Caller, Depends(authorizer())]) -> Any:
        assert request.state.caller is caller
        return {"subject": caller.subject, "roles": sorted(caller.roles)}

    return app


@pytest.fixture
def client_factory() -> Iterator[Any]:
    def make(app: FastAPI) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test")

    yield make


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_route_protection(
    issuer: TokenIssuer, verifier: TokenVerifier, client_factory: Any
) -> None:
    url = f"/establishments/{CLINIC}/tickets"
    async with client_factory(_app(Authorizer(verifier))) as client:
        response = await client.post(url)
        assert response.status_code == 401
        assert response.json()["code"] == "token-missing"

        response = await client.post(url, headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert (response.status_code, response.json()["code"]) == (401, "token-missing")

        response = await client.post(url, headers=_bearer("not-a-token"))
        assert (response.status_code, response.json()["code"]) == (401, "token-invalid")

        doctor = issuer.mint("dr-1", [Role.doctor], [CLINIC])
        response = await client.post(url, headers=_bearer(doctor))
        assert (response.status_code, response.json()["code"]) == (403, "role-forbidden")
        assert response.json()["detail_ar"]

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


async def test_verifier_from_app_state(
    issuer: TokenIssuer, verifier: TokenVerifier, client_factory: Any
) -> None:
    app = _app(Authorizer())
    install_verifier(app, verifier)
    token = issuer.mint("desk-1", [Role.receptionist], [CLINIC])
    async with client_factory(app) as client:
        response = await client.post(f"/establishments/{CLINIC}/tickets", headers=_bearer(token))
        assert response.status_code == 200


async def test_missing_verifier_is_a_programming_error(
    issuer: TokenIssuer, client_factory: Any
) -> None:
    token = issuer.mint("desk-1", [Role.receptionist], [CLINIC])
    async with client_factory(_app(Authorizer())) as client:
        with pytest.raises(RuntimeError, match="TokenVerifier"):
            await client.get("/me", headers=_bearer(token))


def test_openapi_declares_bearer_security(verifier: TokenVerifier) -> None:
    app = _app(Authorizer(verifier))
    document_bearer_auth(app)
    schema = app.openapi()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_unknown_role_in_route_declaration(verifier: TokenVerifier) -> None:
    with pytest.raises(ValueError):
        Authorizer(verifier)("superuser")  # type: ignore[arg-type]
