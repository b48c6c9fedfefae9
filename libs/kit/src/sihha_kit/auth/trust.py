"""Whom a service trusts: issuers, each with its key set and the roles it may grant.

A service verifies tokens from one or more issuers (setting ``TRUSTED_ISSUERS``):
the development key set (``sihha-dev``), a service that signs tokens of its own (the
queue service's terminal tokens, the appointments service's citizen tokens), later
an OpenID Connect provider — for each, only the URL (or file) of its JWKS is needed::

    [{"issuer": "sihha-dev", "jwks": ".dev/keys/jwks.json"},
     {"issuer": "sihha-appointments",
      "jwks": "http://127.0.0.1:8102/.well-known/jwks.json",
      "roles": ["citizen"]}]

``roles`` bounds what the issuer may grant: a token of ``sihha-appointments`` that
claims ``admin`` is refused even when its signature is good, so a service that signs
citizen tokens cannot become anything else.

Key sets are reloaded periodically (`IssuerKeys.refresh`, run by the verifier's
background task) and at once when a token names a key id the set does not have
(at most once per `UNKNOWN_KID_REFRESH_SECONDS`, so that forged key ids cannot make
the service hammer its issuers). A source that cannot be read keeps the keys it had.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from pydantic import BaseModel, ConfigDict, Field

from sihha_kit.auth.keys import parse_public_key_set
from sihha_kit.auth.roles import Role
from sihha_kit.auth.sources import DocumentSource, SourceUnavailable
from sihha_kit.logs import get_logger

__all__ = ["UNKNOWN_KID_REFRESH_SECONDS", "IssuerKeys", "TrustedIssuer"]

log = get_logger(__name__)

UNKNOWN_KID_REFRESH_SECONDS: Final = 30.0


class TrustedIssuer(BaseModel):
    """An issuer whose tokens a service accepts (one entry of ``TRUSTED_ISSUERS``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: the tokens' ``iss``
    issuer: str = Field(min_length=1, max_length=200)
    #: its public key set: a file path, or an http(s) URL (``…/.well-known/jwks.json``)
    jwks: str = Field(min_length=1, max_length=2000)
    #: the roles its tokens may carry (None: any)
    roles: frozenset[Role] | None = None


class IssuerKeys:
    """The current public keys of one trusted issuer."""

    def __init__(
        self,
        trusted: TrustedIssuer,
        *,
        keys: Mapping[str, RSAPublicKey] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.trusted = trusted
        self.issuer = trusted.issuer
        self.roles = trusted.roles
        #: None for keys given in memory (a service's own signing keys)
        self.source = None if keys is not None else DocumentSource(trusted.jwks)
        self.keys: dict[str, RSAPublicKey] = dict(keys or {})
        self._client = client
        self._last_attempt = float("-inf")
        self.error: str | None = None

    @classmethod
    def in_memory(
        cls, issuer: str, keys: Mapping[str, RSAPublicKey], roles: frozenset[Role] | None
    ) -> IssuerKeys:
        """Keys known without reading anything: a service trusting its own signing keys."""
        return cls(TrustedIssuer(issuer=issuer, jwks="memory:", roles=roles), keys=keys)

    def load_now(self) -> None:
        """Read a file source at once (start-up); ValueError naming the file if it is
        missing or holds no usable key. URL sources are left to `refresh`."""
        if self.source is None or self.source.is_url:
            return
        try:
            document = self.source.read_file(force=True)
        except SourceUnavailable as error:
            raise ValueError(
                f"the key set of issuer {self.issuer!r} cannot be read: {error}"
            ) from None
        self.keys = parse_public_key_set(document)

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload the key set if its source changed; whether the keys changed. A source
        that cannot be read, or holds no usable key, keeps the keys already known."""
        if self.source is None:
            return False
        self._last_attempt = time.monotonic()
        try:
            document = await self.source.read(self._client, force=force)
            if document is None:
                return False
            keys = parse_public_key_set(document)
        except (SourceUnavailable, ValueError) as error:
            if self.error != str(error):
                log.warning("auth.jwks_unavailable", issuer=self.issuer, error=str(error)[:300])
            self.error = str(error)
            return False
        self.error = None
        changed = keys.keys() != self.keys.keys()
        if changed:
            log.info("auth.jwks_loaded", issuer=self.issuer, key_ids=sorted(keys))
        self.keys = keys
        return changed

    async def key(self, kid: str) -> RSAPublicKey | None:
        """The key with this id; an unknown id reloads the set first (rate-limited)."""
        found = self.keys.get(kid)
        if found is not None or self.source is None:
            return found
        if time.monotonic() - self._last_attempt >= UNKNOWN_KID_REFRESH_SECONDS:
            await self.refresh(force=True)
        return self.keys.get(kid)
