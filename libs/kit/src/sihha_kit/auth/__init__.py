"""Who is calling, and what they may do.

Callers present a JWT signed with RS256 (``Authorization: Bearer …``) by an issuer
the service trusts. The package, by what each module does:

- `roles`: the roles (`Role`), which of them may act for the whole wilaya;
- `callers`: the authenticated `Caller` and the establishment checks
  (`ensure_establishment`, `ensure_wilaya_wide`);
- `claims`: what a token's claims must say;
- `keys`, `trust`, `sources`: key sets (JWKS, a ``kid`` per key) from files or URLs,
  reloaded without restart, and the roles each issuer may grant;
- `revocation`: revoked token ids and subjects, checked on every request;
- `verification`: `TokenVerifier`, from a token to a `Caller` or a 401;
- `signing`: `TokenSigner`, for a service that issues tokens of its own, and the
  ``/.well-known/jwks.json`` it serves;
- `dependencies`: the FastAPI dependency every protected route declares
  (`Authorizer`), with its `Access` (roles, establishment scope) readable from the app;
- `streams`: the stream cookie that keeps tokens out of event-stream URLs;
- `enrolment`: clinic terminals enrolled once with a device credential that obtains
  short-lived access tokens;
- `errors`: `AuthError` and its codes (texts in the kit's message catalogue).

Minting arbitrary tokens is a development tool (`sihha_kit.devtools`), not part of
a service.
"""

from sihha_kit.auth.callers import Caller, ensure_establishment, ensure_wilaya_wide
from sihha_kit.auth.dependencies import (
    Access,
    Authorizer,
    Scope,
    access_of,
    bearer_security,
    bearer_token,
    document_bearer_auth,
    install_verifier,
    route_accesses,
)
from sihha_kit.auth.errors import AccessDenied, AuthError, Unauthenticated
from sihha_kit.auth.keys import ALGORITHM
from sihha_kit.auth.revocation import RevocationList, Revocations
from sihha_kit.auth.roles import TERMINAL_ROLES, WIDE_ROLES, WILDCARD, Role, parse_roles
from sihha_kit.auth.signing import TokenSigner, jwks_router
from sihha_kit.auth.streams import stream_session_router
from sihha_kit.auth.trust import IssuerKeys, TrustedIssuer
from sihha_kit.auth.verification import DEFAULT_AUDIENCE, TokenVerifier

__all__ = [
    "ALGORITHM",
    "DEFAULT_AUDIENCE",
    "TERMINAL_ROLES",
    "WIDE_ROLES",
    "WILDCARD",
    "Access",
    "AccessDenied",
    "AuthError",
    "Authorizer",
    "Caller",
    "IssuerKeys",
    "RevocationList",
    "Revocations",
    "Role",
    "Scope",
    "TokenSigner",
    "TokenVerifier",
    "TrustedIssuer",
    "Unauthenticated",
    "access_of",
    "bearer_security",
    "bearer_token",
    "document_bearer_auth",
    "ensure_establishment",
    "ensure_wilaya_wide",
    "install_verifier",
    "jwks_router",
    "parse_roles",
    "route_accesses",
    "stream_session_router",
]
