"""Citizens' tokens: signed by a key of this service, published as a JWK set.

A citizen who signed in with their NIN and a code sent to their phone gets a short-lived
RS256 token (role `citizen`, their pseudonymous patient key, issuer
`CITIZEN_ISSUER`), signed with this service's own key: the platform's key stays with
the directorate. `GET /.well-known/jwks.json` publishes the public half (RFC 7517, its
`kid` the RFC 7638 thumbprint), for the other services to accept these tokens.

`CitizenAwareVerifier` lets this service's routes accept both the platform's tokens and
its own citizens' (transitional: the kit's key-set verifier takes this over).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from sihha_kit.auth import AuthError, Caller, Role, TokenIssuer, TokenVerifier

CITIZEN_ISSUER = "sihha-appointments"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def load_or_create_signing_key(path: Path, *, create: bool) -> RSAPrivateKey:
    if not path.is_file():
        if not create:
            raise RuntimeError(f"the citizens' signing key {path} is missing")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, RSAPrivateKey):
        raise RuntimeError(f"{path} is not an RSA private key")
    return loaded


class CitizenTokens:
    def __init__(self, key: RSAPrivateKey, *, audience: str, ttl: timedelta) -> None:
        self._issuer = TokenIssuer(key, issuer=CITIZEN_ISSUER, audience=audience)
        self.public_key = key.public_key()
        self.audience = audience
        self.ttl = ttl
        numbers = self.public_key.public_numbers()
        self._jwk = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
        thumbprint = json.dumps(self._jwk, separators=(",", ":"), sort_keys=True).encode()
        self.kid = (
            base64.urlsafe_b64encode(hashlib.sha256(thumbprint).digest()).rstrip(b"=").decode()
        )

    def mint(self, patient_key: str) -> str:
        return self._issuer.mint(
            f"citizen:{patient_key[:12]}", [Role.citizen], [], patient_key=patient_key, ttl=self.ttl
        )

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self._jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(self.public_key, issuer=CITIZEN_ISSUER, audience=self.audience)


class CitizenAwareVerifier(TokenVerifier):
    """The platform's verifier, which also accepts this service's citizen tokens (and only
    citizen tokens: a token of this key claiming another role is refused)."""

    def __init__(self, platform: TokenVerifier, citizens: TokenVerifier, platform_key: Any) -> None:
        super().__init__(platform_key, issuer=platform.issuer, audience=platform.audience)
        self._citizens = citizens

    def verify(self, token: str) -> Caller:
        try:
            return super().verify(token)
        except AuthError as error:
            if error.code != "token-invalid":
                raise
            try:
                caller = self._citizens.verify(token)
            except AuthError:
                raise error from None
            if caller.roles != frozenset({Role.citizen}):
                raise error from None
            return caller
