"""Tokens a service signs itself, and the key set it publishes for them.

A service that issues tokens (the queue service for its enrolled terminals, the
appointments service for signed-in citizens) holds a private key set
(`sihha_kit.auth.keys`; setting ``SIGNING_KEYS_PATH``), signs with its first key
under its own issuer name (``sihha-<service>``) and serves the public half at
``GET /.well-known/jwks.json`` (`jwks_router`), where other services — configured to
trust it for the roles it grants (`sihha_kit.auth.trust.TrustedIssuer`) — fetch it.
The service trusts its own keys without fetching them (`TokenSigner.trusted`).

Tokens are short-lived: a terminal's lasts minutes and is renewed with its device
credential (`sihha_kit.auth.enrolment`). Every token has a ``jti`` so that it can be
revoked alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sihha_kit.auth.claims import claims_problem
from sihha_kit.auth.keys import ALGORITHM, KeyPair, public_key_set_document, read_private_key_set
from sihha_kit.auth.roles import Role, parse_roles
from sihha_kit.auth.trust import IssuerKeys
from sihha_kit.auth.verification import DEFAULT_AUDIENCE

__all__ = ["JWKS_PATH", "TokenSigner", "jwks_router"]

JWKS_PATH = "/.well-known/jwks.json"


class TokenSigner:
    """Signs Sihha access tokens with the first of its keys (RS256, ``kid`` in the header)."""

    def __init__(
        self,
        keys: Sequence[KeyPair],
        *,
        issuer: str,
        audience: str = DEFAULT_AUDIENCE,
        grants: Iterable[Role] | None = None,
    ) -> None:
        if not keys:
            raise ValueError("a signer needs at least one key")
        self.keys = list(keys)
        self.issuer = issuer
        self.audience = audience
        #: the roles this signer issues (None: any); what verifiers should trust it for
        self.grants = frozenset(grants) if grants is not None else None

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        issuer: str,
        audience: str = DEFAULT_AUDIENCE,
        grants: Iterable[Role] | None = None,
    ) -> TokenSigner:
        """A signer whose keys are a private JWKS file (`sihha_kit.auth.keys`)."""
        return cls(read_private_key_set(path), issuer=issuer, audience=audience, grants=grants)

    @property
    def key_id(self) -> str:
        """The id of the key that signs."""
        return self.keys[0][0]

    def public_key_set(self) -> dict[str, Any]:
        """The JWKS to publish: every key's public half."""
        return public_key_set_document(self.keys)

    def trusted(self) -> IssuerKeys:
        """Its own keys, for the verifier of the service that signs."""
        return IssuerKeys.in_memory(
            self.issuer, {kid: key.public_key() for kid, key in self.keys}, self.grants
        )

    def issue(
        self,
        subject: str,
        roles: Iterable[Role | str],
        establishments: Iterable[str],
        *,
        ttl: timedelta,
        patient_key: str | None = None,
        now: datetime | None = None,
        token_id: str | None = None,
    ) -> str:
        """A signed token; ValueError if the claims would not pass `TokenVerifier` or name
        a role this signer does not grant. `now` (default: the current time) sets ``iat``."""
        if not subject or not subject.strip():
            raise ValueError("the subject must not be empty")
        if isinstance(roles, str) or isinstance(establishments, str):
            raise ValueError("roles and establishments are collections, not one string")
        role_set = parse_roles(roles)
        if self.grants is not None and not role_set <= self.grants:
            raise ValueError(f"{self.issuer} does not grant {sorted(role_set - self.grants)}")
        establishment_list = sorted(set(establishments))
        problem = claims_problem(role_set, frozenset(establishment_list), patient_key)
        if problem is not None:
            raise ValueError(problem[0])
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        issued = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
            "jti": token_id or uuid.uuid4().hex,
            "roles": sorted(role.value for role in role_set),
            "establishments": establishment_list,
        }
        if patient_key is not None:
            claims["patient_key"] = patient_key
        kid, key = self.keys[0]
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"typ": "JWT", "kid": kid})


def jwks_router(signer: TokenSigner) -> APIRouter:
    """``GET /.well-known/jwks.json``: the public key set of `signer` (public, cacheable
    for five minutes)."""
    router = APIRouter(tags=["auth"])
    document = signer.public_key_set()

    @router.get(
        JWKS_PATH,
        summary="The public keys that verify the tokens this service signs (JWKS, RFC 7517)",
    )
    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse(
            document,
            headers={"cache-control": "public, max-age=300"},
            media_type="application/json",
        )

    return router
