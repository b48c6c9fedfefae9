"""Checking bearer tokens: signature against the issuer's key set, claims, revocation.

A token is accepted when all of these hold:

1. it is a JWT of at most `MAX_TOKEN_CHARS` characters whose header says ``RS256``
   (``alg: none``, HS256 or any other algorithm is refused, whatever the signature)
   and names its key (``kid``);
2. its ``iss`` is a trusted issuer (`sihha_kit.auth.trust`) whose key set has that key
   (an unknown key id reloads the set first), and the signature verifies with it;
3. ``aud`` is the platform's audience, ``exp``/``iat`` are present and current (with
   `leeway` seconds of clock skew), ``nbf`` if present has passed;
4. the claims describe a caller (`sihha_kit.auth.claims`), with roles the issuer may
   grant;
5. neither its ``jti`` nor its subject is revoked (`sihha_kit.auth.revocation`) — checked
   on every request, also for a token verified before.

Failures raise `Unauthenticated` (401) with the codes of `sihha_kit.auth.errors`.

A terminal sends the same token with every request: checking its RSA signature again
each time cost 0.2 ms of a 0.5 ms request, so accepted tokens are kept (at most
`cache_size`, the oldest going first) until their ``exp`` plus the leeway; the
revocation check still runs each time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

import jwt

from sihha_kit.auth.callers import Caller
from sihha_kit.auth.claims import REQUIRED_CLAIMS, caller_from_claims
from sihha_kit.auth.errors import Unauthenticated, invalid_claims, invalid_token
from sihha_kit.auth.keys import ALGORITHM
from sihha_kit.auth.revocation import RevocationList
from sihha_kit.auth.trust import IssuerKeys
from sihha_kit.logs import get_logger

__all__ = ["DEFAULT_AUDIENCE", "MAX_TOKEN_CHARS", "TokenVerifier"]

log = get_logger(__name__)

DEFAULT_AUDIENCE: Final = "sihha"
#: tokens longer than this are refused before any parsing
MAX_TOKEN_CHARS: Final = 8192


class TokenVerifier:
    """Turns bearer tokens into `Caller`s, or refuses them."""

    def __init__(
        self,
        issuers: Iterable[IssuerKeys],
        *,
        audience: str = DEFAULT_AUDIENCE,
        leeway: float = 30.0,
        cache_size: int = 4096,
        revocations: RevocationList | None = None,
        jwks_refresh_seconds: float = 300.0,
        revocation_refresh_seconds: float = 15.0,
    ) -> None:
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        self.issuers: dict[str, IssuerKeys] = {}
        for issuer in issuers:
            self.trust(issuer)
        self.audience = audience
        self.leeway = leeway
        self.cache_size = cache_size
        self.revocations = revocations or RevocationList()
        self.jwks_refresh_seconds = jwks_refresh_seconds
        self.revocation_refresh_seconds = revocation_refresh_seconds
        #: accepted tokens → their caller (who knows its expiry)
        self._accepted: dict[str, Caller] = {}

    def trust(self, issuer: IssuerKeys) -> None:
        """Accept the tokens of one more issuer (a service trusting its own keys)."""
        if issuer.issuer in self.issuers:
            raise ValueError(f"issuer {issuer.issuer!r} is trusted twice")
        self.issuers[issuer.issuer] = issuer

    # -- the request path ---------------------------------------------------------------

    async def verify(self, token: str) -> Caller:
        """The caller a token describes; `Unauthenticated` (401) if it is not acceptable."""
        if not token or not token.strip():
            raise Unauthenticated("token-missing")
        if len(token) > MAX_TOKEN_CHARS:
            raise invalid_token("token-reason.too-long")
        token = token.strip()
        known = self._accepted.get(token)
        if known is not None:
            if time.time() < known.expires_at:
                self.check_revocation(known)
                return known
            del self._accepted[token]
        claims = await self._decode(token)
        caller = caller_from_claims(claims, expires_at=float(claims["exp"]) + self.leeway)
        issuer = self.issuers[caller.issuer or ""]
        if issuer.roles is not None and not caller.roles <= issuer.roles:
            refused = sorted(caller.roles - issuer.roles)[0]
            raise invalid_claims("claims-reason.role-not-granted", role=refused)
        self.check_revocation(caller)
        if self.cache_size > 0:
            if len(self._accepted) >= self.cache_size:
                del self._accepted[next(iter(self._accepted))]
            self._accepted[token] = caller
        return caller

    def check_revocation(self, caller: Caller) -> None:
        """`Unauthenticated` (``token-revoked``) if the caller's token or subject is revoked."""
        if self.revocations.is_revoked(caller.subject, caller.token_id, caller.issued_at):
            raise Unauthenticated("token-revoked")

    def still_valid(self, caller: Caller) -> bool:
        """Whether the caller's token is neither expired nor revoked now (a long-lived
        stream checks this from time to time)."""
        return time.time() < caller.expires_at and not self.revocations.is_revoked(
            caller.subject, caller.token_id, caller.issued_at
        )

    async def _decode(self, token: str) -> dict[str, Any]:
        try:
            # the header (its key id) and the issuer, read once before the key is known
            unread = jwt.decode_complete(token, options={"verify_signature": False})
            header, unverified = unread["header"], unread["payload"]
        except jwt.InvalidTokenError:
            raise invalid_token("token-reason.unreadable") from None
        if header.get("alg") != ALGORITHM:
            raise invalid_token("token-reason.algorithm", algorithm=ALGORITHM)
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise invalid_token("token-reason.no-key-id")
        issuer_name = unverified.get("iss")
        if issuer_name is None:
            raise invalid_claims("claims-reason.missing", claim="iss")
        issuer = self.issuers.get(issuer_name) if isinstance(issuer_name, str) else None
        if issuer is None:
            raise invalid_token("token-reason.unknown-issuer")
        known_ids = issuer.keys.keys()
        key = await issuer.key(kid)
        if issuer.keys.keys() != known_ids:
            self._forget(issuer.issuer)
        if key is None:
            raise invalid_token("token-reason.unknown-key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=issuer.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token-expired") from None
        except jwt.InvalidSignatureError:
            raise invalid_token("token-reason.signature") from None
        except jwt.InvalidIssuerError:
            raise invalid_token("token-reason.unknown-issuer") from None
        except jwt.InvalidAudienceError:
            raise invalid_token("token-reason.audience") from None
        except jwt.ImmatureSignatureError:
            raise invalid_token("token-reason.not-yet-valid") from None
        except jwt.MissingRequiredClaimError as error:
            raise invalid_claims("claims-reason.missing", claim=error.claim) from None
        except jwt.InvalidTokenError:
            raise invalid_token("token-reason.malformed") from None
        return claims

    # -- keeping keys and revocations current ------------------------------------------------

    def load_now(self) -> None:
        """Read file key sets at once (start-up): ValueError naming a missing or unusable
        one, so that a service with no way to check its callers does not start."""
        for issuer in self.issuers.values():
            issuer.load_now()
        self.revocations.load_files_now()

    def _forget(self, issuer: str) -> None:
        """Drop the verified tokens of an issuer whose keys changed: a retired key's
        tokens must be refused, not served from the cache until they expire."""
        self._accepted = {
            token: caller for token, caller in self._accepted.items() if caller.issuer != issuer
        }

    async def _refresh_keys(self) -> None:
        for issuer in self.issuers.values():
            if await issuer.refresh():
                self._forget(issuer.issuer)

    async def refresh(self) -> None:
        """Reload every key set and the revocation list now."""
        await self._refresh_keys()
        await self.revocations.refresh()

    async def keep_fresh(self) -> None:
        """Run until cancelled: reload the revocation list every
        `revocation_refresh_seconds` and the key sets every `jwks_refresh_seconds`."""
        next_keys = 0.0
        while True:
            now = time.monotonic()
            if now >= next_keys:
                await self._refresh_keys()
                next_keys = now + self.jwks_refresh_seconds
            await self.revocations.refresh()
            await asyncio.sleep(self.revocation_refresh_seconds)

    def status(self) -> Mapping[str, Any]:
        """What readiness and the monitor may show: key ids per issuer, source errors."""
        return {
            "issuers": {
                name: {"key_ids": sorted(issuer.keys), "error": issuer.error}
                for name, issuer in self.issuers.items()
            },
            "revocations": {
                "tokens": len(self.revocations.current.tokens),
                "subjects": len(self.revocations.current.subjects),
                "errors": dict(self.revocations.errors),
            },
        }
