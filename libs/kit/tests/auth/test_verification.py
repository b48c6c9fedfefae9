"""Tokens and callers: what `TokenVerifier` accepts and refuses, and why (by code)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sihha_kit.auth import (
    AuthError,
    Caller,
    IssuerKeys,
    RevocationList,
    Role,
    TokenSigner,
    TokenVerifier,
    TrustedIssuer,
    ensure_establishment,
    ensure_wilaya_wide,
)
from sihha_kit.auth.keys import (
    generate_private_key,
    key_id,
    parse_public_key_set,
    private_key_set_document,
    public_key,
    public_key_set_document,
    read_private_key_set,
)
from sihha_kit.devtools import TokenIssuer
from sihha_kit.errors import BadRequest, Conflict, DomainProblem, NotFound
from sihha_kit.i18n import Catalogue

CLINIC = "31-PC-001"
OTHER_CLINIC = "31-PC-002"
PATIENT_KEY = "ab" * 32


@pytest.fixture(scope="module")
def key() -> RSAPrivateKey:
    return generate_private_key()


@pytest.fixture(scope="module")
def other_key() -> RSAPrivateKey:
    return generate_private_key()


@pytest.fixture
def issuer(key: RSAPrivateKey) -> TokenIssuer:
    return TokenIssuer([(key_id(key), key)])


def _verifier(*keys: RSAPrivateKey, **options: Any) -> TokenVerifier:
    trusted = IssuerKeys.in_memory("sihha-dev", {key_id(k): k.public_key() for k in keys}, None)
    return TokenVerifier([trusted], **options)


@pytest.fixture
def verifier(key: RSAPrivateKey) -> TokenVerifier:
    return _verifier(key)


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
    return {name: value for name, value in claims.items() if value is not None}


def _signed(key: RSAPrivateKey, claims: dict[str, Any], kid: str | None = None) -> str:
    """A correctly signed RS256 token with arbitrary claims (bypassing the signer's checks)."""
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid or key_id(key)})


async def _reject(verifier: TokenVerifier, token: str, code: str, status: int = 401) -> AuthError:
    with pytest.raises(AuthError) as caught:
        await verifier.verify(token)
    error = caught.value
    assert (error.status, error.code) == (status, code), error
    catalogue = Catalogue.of()
    for language in ("fr", "ar"):
        text = error.detail_in(language, catalogue)
        assert text and text != code and "{" not in text, text
    return error


def _text(error: AuthError, language: str = "fr") -> str:
    return error.detail_in(language, Catalogue.of())


# -- round trip ----------------------------------------------------------------------------------


async def test_minted_token_round_trips(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token = issuer.mint("desk-7", [Role.receptionist, "counter_agent"], [CLINIC])
    caller = await verifier.verify(token)
    assert caller.subject == "desk-7"
    assert caller.roles == {Role.receptionist, Role.counter_agent}
    assert caller.establishments == {CLINIC}
    assert caller.patient_key is None
    assert caller.token_id and caller.issuer == "sihha-dev"

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "sihha-dev" and claims["aud"] == "sihha"
    assert claims["exp"] - claims["iat"] == 12 * 3600
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"] == issuer.signer.key_id


async def test_citizen_token_carries_patient_key(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    caller = await verifier.verify(issuer.mint("citizen-1", [Role.citizen], [], PATIENT_KEY))
    assert caller.roles == {Role.citizen}
    assert caller.patient_key == PATIENT_KEY
    assert caller.establishments == frozenset()


async def test_display_role_round_trips(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    caller = await verifier.verify(issuer.mint("display:31-PC-001:1", [Role.display], [CLINIC]))
    assert caller.roles == {Role.display} and caller.may_act_for(CLINIC)


def test_key_sets_round_trip_through_files(tmp_path: Path, key: RSAPrivateKey) -> None:
    private = tmp_path / "private.json"
    private.write_text(json.dumps(private_key_set_document([key])))
    [(kid, loaded)] = read_private_key_set(private)
    assert kid == key_id(key) and len(kid) == 43
    document = public_key_set_document([(kid, loaded)])
    assert set(document["keys"][0]) == {"kty", "kid", "alg", "use", "n", "e"}, "no private part"
    assert list(parse_public_key_set(document)) == [kid]


def test_keys_must_be_rsa_of_2048_bits_or_more(tmp_path: Path) -> None:
    short = generate_private_key(1024)
    with pytest.raises(ValueError, match="too short"):
        public_key(
            short.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    document = public_key_set_document([(key_id(short), short)])
    with pytest.raises(ValueError, match="no usable key"):
        parse_public_key_set(document)
    ec_public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="RSA"):
        public_key(ec_public)
    with pytest.raises(ValueError, match="PEM"):
        public_key("not a key")
    with pytest.raises(ValueError, match="JWKS"):
        parse_public_key_set({"no": "keys"})
    (tmp_path / "junk.json").write_text('{"keys": [{"kty": "oct", "k": "AAAA", "kid": "x"}]}')
    with pytest.raises(ValueError):
        read_private_key_set(tmp_path / "junk.json")


# -- refused tokens ------------------------------------------------------------------------------


async def test_expired_token(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    past = datetime.now(UTC) - timedelta(hours=13)
    token = issuer.mint("desk-7", [Role.receptionist], [CLINIC], now=past)
    error = await _reject(verifier, token, "token-expired")
    assert "expiré" in _text(error)


async def test_leeway_tolerates_small_clock_skew(issuer: TokenIssuer, key: RSAPrivateKey) -> None:
    just_expired = datetime.now(UTC) - timedelta(hours=12, seconds=10)
    token = issuer.mint("desk-7", [Role.receptionist], [CLINIC], now=just_expired)
    assert (await _verifier(key, leeway=30).verify(token)).subject == "desk-7"
    await _reject(_verifier(key, leeway=0), token, "token-expired")


async def test_an_accepted_token_is_verified_once_then_expires_on_time(
    issuer: TokenIssuer, key: RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = _verifier(key, leeway=0)
    expires_soon = datetime.now(UTC) - timedelta(hours=12) + timedelta(seconds=1.5)
    token = issuer.mint("desk-7", [Role.receptionist], [CLINIC], now=expires_soon)
    first = await verifier.verify(token)
    # the second request with the same token does not check the signature again
    checked: list[str] = []
    real_decode = verifier._decode

    async def counting(t: str) -> dict[str, Any]:
        checked.append(t)
        return await real_decode(t)

    monkeypatch.setattr(verifier, "_decode", counting)
    assert await verifier.verify(token) is first
    assert await verifier.verify(f"  {token} ") is first
    assert checked == []
    # once the token's own expiry has passed, it is refused as if never seen
    await asyncio.sleep(1.6)
    await _reject(verifier, token, "token-expired")
    assert checked == [token]


async def test_the_accepted_tokens_kept_are_bounded(
    issuer: TokenIssuer, key: RSAPrivateKey
) -> None:
    verifier = _verifier(key, cache_size=3)
    tokens = [issuer.mint(f"desk-{n}", [Role.receptionist], [CLINIC]) for n in range(5)]
    for token in tokens:
        await verifier.verify(token)
    assert list(verifier._accepted) == tokens[2:]
    # a token that falls out of the cache is still accepted, checked again
    assert (await verifier.verify(tokens[0])).subject == "desk-0"


async def test_a_refused_token_is_refused_every_time(
    other_key: RSAPrivateKey, key: RSAPrivateKey, verifier: TokenVerifier
) -> None:
    forged = _signed(other_key, _claims(), kid=key_id(key))  # our key's id, another key
    for _ in range(2):
        await _reject(verifier, forged, "token-invalid")
    assert verifier._accepted == {}


async def test_token_from_the_future(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    future = datetime.now(UTC) + timedelta(hours=1)
    token = issuer.mint("s", [Role.doctor], [CLINIC], now=future)
    await _reject(verifier, token, "token-invalid")


async def test_token_signed_with_another_key(
    other_key: RSAPrivateKey, key: RSAPrivateKey, verifier: TokenVerifier
) -> None:
    # under our key's id: the signature is wrong
    error = await _reject(verifier, _signed(other_key, _claims(), kid=key_id(key)), "token-invalid")
    assert "signature" in _text(error)
    # under its own id: the key is unknown to the issuer
    error = await _reject(verifier, _signed(other_key, _claims()), "token-invalid")
    assert "clé de signature inconnue" in _text(error)


async def test_a_token_must_name_its_key(key: RSAPrivateKey, verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(), key, algorithm="RS256")  # no kid
    error = await _reject(verifier, token, "token-invalid")
    assert "kid" in _text(error) and "kid" in _text(error, "ar")


async def test_an_unknown_issuer_is_refused(key: RSAPrivateKey, verifier: TokenVerifier) -> None:
    error = await _reject(verifier, _signed(key, _claims(iss="someone-else")), "token-invalid")
    assert "émetteur inconnu" in _text(error)


async def test_an_issuer_grants_only_its_roles(
    key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    appointments = TokenSigner(
        [(key_id(other_key), other_key)], issuer="sihha-appointments", grants={Role.citizen}
    )
    verifier = _verifier(key)
    verifier.trust(appointments.trusted())
    citizen = appointments.issue(
        "citizen:1", [Role.citizen], [], patient_key=PATIENT_KEY, ttl=timedelta(minutes=5)
    )
    assert (await verifier.verify(citizen)).issuer == "sihha-appointments"
    with pytest.raises(ValueError, match="does not grant"):
        appointments.issue("x", [Role.admin], ["*"], ttl=timedelta(minutes=5))
    # a forged claim under that issuer's key: refused although the signature is good
    forged = _signed(
        other_key, _claims(iss="sihha-appointments", roles=["admin"], establishments=["*"])
    )
    error = await _reject(verifier, forged, "token-claims-invalid")
    assert "admin" in _text(error) and "admin" in _text(error, "ar")
    with pytest.raises(ValueError, match="twice"):
        verifier.trust(appointments.trusted())


async def test_tampered_payload(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    header, _, signature = issuer.mint("s", [Role.receptionist], [CLINIC]).split(".")
    forged = _b64(json.dumps(_claims(roles=["admin"], establishments=["*"])).encode())
    await _reject(verifier, f"{header}.{forged}.{signature}", "token-invalid")


async def test_tampered_signature(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    header, payload, signature = issuer.mint("s", [Role.receptionist], [CLINIC]).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[10] ^= 0x01
    await _reject(verifier, f"{header}.{payload}.{_b64(bytes(raw))}", "token-invalid")


async def test_alg_none_is_refused(key: RSAPrivateKey, verifier: TokenVerifier) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": key_id(key)}).encode())
    payload = _b64(json.dumps(_claims(roles=["admin"])).encode())
    error = await _reject(verifier, f"{header}.{payload}.", "token-invalid")
    assert "RS256" in _text(error)
    await _reject(verifier, f"{header}.{payload}", "token-invalid")


@pytest.mark.parametrize("alg", ["HS256", "HS512"])
async def test_hmac_tokens_are_refused_even_keyed_with_the_public_key(
    alg: str, key: RSAPrivateKey, verifier: TokenVerifier
) -> None:
    # the classic key-confusion forgery: HMAC "signed" with the (public) verification key
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256 if alg == "HS256" else hashlib.sha512
    header = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": key_id(key)}).encode())
    payload = _b64(json.dumps(_claims(roles=["admin"], establishments=["*"])).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = _b64(hmac.new(public_pem, signing_input, digest).digest())
    await _reject(verifier, f"{header}.{payload}.{signature}", "token-invalid")


async def test_other_rsa_algorithms_are_refused(
    key: RSAPrivateKey, verifier: TokenVerifier
) -> None:
    token = jwt.encode(_claims(), key, algorithm="RS512", headers={"kid": key_id(key)})
    await _reject(verifier, token, "token-invalid")


@pytest.mark.parametrize("token", ["", "   ", "abc", "a.b.c", "x" * 9000])
async def test_garbage(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(AuthError) as caught:
        await verifier.verify(token)
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
async def test_invalid_claims(
    key: RSAPrivateKey, verifier: TokenVerifier, overrides: dict[str, Any], code: str
) -> None:
    claims = _claims()
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    await _reject(verifier, _signed(key, claims), code)


async def test_unknown_role_is_named(key: RSAPrivateKey, verifier: TokenVerifier) -> None:
    error = await _reject(
        verifier, _signed(key, _claims(roles=["superuser"])), "token-claims-invalid"
    )
    assert "superuser" in _text(error) and "superuser" in _text(error, "ar")


async def test_missing_jti_is_tolerated(key: RSAPrivateKey, verifier: TokenVerifier) -> None:
    caller = await verifier.verify(_signed(key, _claims()))
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
    error = AuthError(401, "token-expired")
    assert isinstance(error, DomainProblem)
    assert error.title == "Token expired"
    assert error.extra == {}
    assert str(error).startswith("401 token-expired: Le jeton d'accès a expiré")
    assert "انتهت صلاحية" in error.detail_ar
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.status, copy.code, copy.detail_ar) == (
        AuthError,
        401,
        "token-expired",
        error.detail_ar,
    )
    missing = NotFound("ticket-not-found", ticket="T-1")
    assert (missing.status, missing.extra) == (404, {"ticket": "T-1"})
    assert Conflict("already-called").status == 409
    assert BadRequest("bad", title="Bad thing").title == "Bad thing"
    assert BadRequest("bad").status == 422
    # texts come from the catalogues only: a pair of literals is no longer accepted
    with pytest.raises(TypeError):
        NotFound("ticket-not-found", "Introuvable.", "غير موجود.")  # type: ignore[misc]
    with pytest.raises(ValueError):
        DomainProblem(200, "ok")


# -- key sets that change ------------------------------------------------------------------------


async def test_a_key_set_file_is_reloaded_on_an_unknown_key_id(
    tmp_path: Path, key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(public_key_set_document([(key_id(key), key)])))
    issuer_keys = IssuerKeys(TrustedIssuer(issuer="sihha-dev", jwks=str(jwks)))
    verifier = TokenVerifier([issuer_keys])
    verifier.load_now()
    old = TokenIssuer([(key_id(key), key)]).mint("a", [Role.doctor], [CLINIC])
    assert (await verifier.verify(old)).subject == "a"

    # rotation: the new key is published beside the old one, then signs
    jwks.write_text(
        json.dumps(public_key_set_document([(key_id(other_key), other_key), (key_id(key), key)]))
    )
    new = TokenIssuer([(key_id(other_key), other_key)]).mint("b", [Role.doctor], [CLINIC])
    assert (await verifier.verify(new)).subject == "b", "unknown kid: the set was reloaded"

    # the old key retired: its tokens are refused once the set is reloaded, cached or not
    jwks.write_text(json.dumps(public_key_set_document([(key_id(other_key), other_key)])))
    await verifier.refresh()
    await _reject(verifier, old, "token-invalid")
    assert (await verifier.verify(new)).subject == "b"


async def test_unknown_key_ids_reload_at_most_every_thirty_seconds(
    tmp_path: Path, key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(public_key_set_document([(key_id(key), key)])))
    verifier = TokenVerifier([IssuerKeys(TrustedIssuer(issuer="sihha-dev", jwks=str(jwks)))])
    verifier.load_now()
    stranger = _signed(other_key, _claims())
    await _reject(verifier, stranger, "token-invalid")  # one reload, the key is not there
    jwks.write_text(
        json.dumps(public_key_set_document([(key_id(other_key), other_key), (key_id(key), key)]))
    )
    # forged key ids must not make the service re-read its sources on every request
    await _reject(verifier, stranger, "token-invalid")
    await verifier.refresh()  # the periodic reload finds it
    assert (await verifier.verify(stranger)).subject == "user-1"


def test_a_missing_key_set_file_stops_the_start(tmp_path: Path) -> None:
    verifier = TokenVerifier(
        [IssuerKeys(TrustedIssuer(issuer="sihha-dev", jwks=str(tmp_path / "none.json")))]
    )
    with pytest.raises(ValueError, match=r"none\.json"):
        verifier.load_now()


# -- revocation ----------------------------------------------------------------------------------


async def test_revoked_tokens_and_subjects_are_refused_on_every_request(
    tmp_path: Path, issuer: TokenIssuer, key: RSAPrivateKey
) -> None:
    revoked = tmp_path / "revoked.json"
    verifier = _verifier(key, revocations=RevocationList([str(revoked)]))
    await verifier.refresh()  # a missing list revokes nothing
    stolen = issuer.mint("dr-1", [Role.doctor], [CLINIC], token_id="stolen-phone")
    other = issuer.mint("dr-1", [Role.doctor], [CLINIC])
    kiosk = issuer.mint("terminal:7", [Role.kiosk], [CLINIC])
    for token in (stolen, other, kiosk):
        await verifier.verify(token)  # accepted, and kept as verified

    revoked.write_text(
        json.dumps(
            {
                "tokens": {"stolen-phone": "2099-01-01T00:00:00+00:00"},
                "subjects": {"terminal:7": datetime.now(UTC).isoformat()},
            }
        )
    )
    await verifier.refresh()
    error = await _reject(verifier, stolen, "token-revoked")
    assert "révoqué" in _text(error)
    assert (await verifier.verify(other)).subject == "dr-1", "only that token"
    await _reject(verifier, kiosk, "token-revoked")
    # a token of the revoked subject issued after the revocation is accepted
    await asyncio.sleep(1.1)  # iat has a one-second resolution
    fresh = issuer.mint("terminal:7", [Role.kiosk], [CLINIC])
    assert (await verifier.verify(fresh)).subject == "terminal:7"
    # a malformed list keeps the last good one
    revoked.write_text("{not json")
    await verifier.refresh()
    await _reject(verifier, stolen, "token-revoked")
    assert str(revoked) in verifier.revocations.errors


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
    ensure_wilaya_wide(caller)


@pytest.mark.parametrize("role", [Role.receptionist, Role.kiosk, Role.display, Role.citizen])
def test_wildcard_grants_nothing_to_other_roles(role: Role) -> None:
    caller = _caller({role}, {"*"})
    assert not caller.wilaya_wide
    assert not caller.may_act_for(CLINIC)


@pytest.mark.parametrize("establishments", [{CLINIC}, {CLINIC, OTHER_CLINIC}])
def test_a_wide_role_scoped_to_some_establishments_is_not_wilaya_wide(
    establishments: set[str],
) -> None:
    it_unit = _caller({Role.it_unit}, establishments)
    ensure_establishment(it_unit, CLINIC)
    with pytest.raises(AuthError) as caught:
        ensure_wilaya_wide(it_unit)
    assert (caught.value.status, caught.value.code) == (403, "wilaya-scope-required")
    assert "wilaya" in caught.value.detail_fr and caught.value.detail_ar


def test_wildcard_and_empty_are_not_establishments() -> None:
    caller = _caller({Role.wilaya_group}, {"*"})
    assert not caller.may_act_for("*")
    assert not caller.may_act_for("")


async def test_wilaya_group_token_round_trip(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    caller = await verifier.verify(issuer.mint("dsp-oran", [Role.wilaya_group], ["*"]))
    ensure_establishment(caller, OTHER_CLINIC)


async def test_a_key_set_is_fetched_from_its_issuer_s_url(
    key: RSAPrivateKey, other_key: RSAPrivateKey
) -> None:
    from fastapi import FastAPI

    from sihha_kit.auth import jwks_router
    from sihha_kit.testing.apps import serving

    appointments = TokenSigner(
        [(key_id(other_key), other_key)], issuer="sihha-appointments", grants={Role.citizen}
    )
    app = FastAPI()
    app.include_router(jwks_router(appointments))
    citizen = appointments.issue(
        "citizen:1", [Role.citizen], [], patient_key=PATIENT_KEY, ttl=timedelta(minutes=5)
    )
    async with serving(app) as base:
        trusted = IssuerKeys(
            TrustedIssuer(
                issuer="sihha-appointments",
                jwks=f"{base}/.well-known/jwks.json",
                roles=frozenset({Role.citizen}),
            )
        )
        verifier = _verifier(key)
        verifier.trust(trusted)
        verifier.load_now()  # a URL is not read at start-up: the service starts without it
        assert trusted.keys == {}
        # the first token naming an unknown key fetches the set
        assert (await verifier.verify(citizen)).patient_key == PATIENT_KEY
        assert list(trusted.keys) == [appointments.key_id]
    # the issuer away: the keys already known are kept, the error is reported
    await verifier.refresh()
    assert list(trusted.keys) == [appointments.key_id] and trusted.error
    assert verifier.status()["issuers"]["sihha-appointments"]["error"]
    assert (await verifier.verify(citizen)).subject == "citizen:1"
