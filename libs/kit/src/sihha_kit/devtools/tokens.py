"""Minting any token with the development keys: for developers, tests, the demo and
the benchmarks — never for a service (a service signs only its own kind of token,
`sihha_kit.auth.signing`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from sihha_kit.auth.keys import KeyPair, read_private_key_set
from sihha_kit.auth.roles import Role
from sihha_kit.auth.signing import TokenSigner
from sihha_kit.auth.verification import DEFAULT_AUDIENCE

__all__ = ["DEFAULT_ISSUER", "PRIVATE_KEY_SET_FILE", "PUBLIC_KEY_SET_FILE", "TokenIssuer"]

DEFAULT_ISSUER: Final = "sihha-dev"
PRIVATE_KEY_SET_FILE: Final = "jwks-private.json"
PUBLIC_KEY_SET_FILE: Final = "jwks.json"
DEFAULT_TTL: Final = timedelta(hours=12)


class TokenIssuer:
    """Mints tokens for any subject, role and establishment with the development key set."""

    def __init__(
        self,
        keys: list[KeyPair],
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
    ) -> None:
        self.signer = TokenSigner(keys, issuer=issuer, audience=audience)
        self.issuer = issuer
        self.audience = audience

    @classmethod
    def from_file(
        cls, path: str | Path, *, issuer: str = DEFAULT_ISSUER, audience: str = DEFAULT_AUDIENCE
    ) -> TokenIssuer:
        """From a private JWKS file (`sihha_kit.auth.keys`)."""
        return cls(read_private_key_set(path), issuer=issuer, audience=audience)

    @classmethod
    def from_directory(
        cls,
        directory: str | Path,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
    ) -> TokenIssuer:
        """From the keys `sihha-dev keys` wrote in `directory` (``.dev/keys``)."""
        return cls.from_file(
            Path(directory) / PRIVATE_KEY_SET_FILE, issuer=issuer, audience=audience
        )

    def mint(
        self,
        subject: str,
        roles: Iterable[Role | str],
        establishments: Iterable[str],
        patient_key: str | None = None,
        ttl: timedelta = DEFAULT_TTL,
        *,
        now: datetime | None = None,
        token_id: str | None = None,
    ) -> str:
        """A signed token; ValueError if the claims would not pass `TokenVerifier`. `now`
        (default: the current time) sets ``iat``; tests pass a past instant to get an
        expired token."""
        return self.signer.issue(
            subject,
            roles,
            establishments,
            ttl=ttl,
            patient_key=patient_key,
            now=now,
            token_id=token_id,
        )
