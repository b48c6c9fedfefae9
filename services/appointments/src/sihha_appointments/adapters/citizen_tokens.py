"""Citizens' tokens: signed by this service's own keys (`sihha_kit.auth.TokenSigner`).

A citizen who signed in with their NIN and a code sent to their phone gets a short-lived
RS256 token (role `citizen` only, their pseudonymous patient key), issuer
``sihha-appointments``, signed with the first key of this service's key set
(`APPOINTMENTS_SIGNING_KEYS_PATH`; `sihha-dev keys` makes the development one). The
kit serves its public half at `GET /.well-known/jwks.json`; this service trusts its own
keys, and the other services accept these tokens once configured to trust
``sihha-appointments`` for the `citizen` role (`<SERVICE>_TRUSTED_ISSUERS`).

The same key set signs the tokens of the clinics' enrolled scheduling desks (role
`scheduler`, `sihha_kit.auth.enrolment`), which only this service accepts: another
service must trust ``sihha-appointments`` with ``"roles": ["citizen"]``, never without
roles.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from sihha_kit.auth import Role, TokenSigner

CITIZEN_ISSUER = "sihha-appointments"


class CitizenTokens:
    def __init__(self, signer: TokenSigner, *, ttl: timedelta) -> None:
        self.signer = signer
        self.ttl = ttl

    @classmethod
    def from_file(
        cls, path: Path, *, audience: str, ttl: timedelta, terminal_roles: Iterable[Role] = ()
    ) -> CitizenTokens:
        """The signer of `path`'s key set; it grants `citizen` and the roles of the
        terminals this service enrols (`terminal_roles`)."""
        if not path.is_file():
            raise RuntimeError(
                f"signing keys not found at {path}: `.venv/bin/sihha-dev keys` (development), "
                "or set APPOINTMENTS_SIGNING_KEYS_PATH"
            )
        signer = TokenSigner.from_file(
            path, issuer=CITIZEN_ISSUER, audience=audience, grants={Role.citizen, *terminal_roles}
        )
        return cls(signer, ttl=ttl)

    def mint(self, patient_key: str) -> str:
        return self.signer.issue(
            f"citizen:{patient_key[:12]}",
            [Role.citizen],
            [],
            ttl=self.ttl,
            patient_key=patient_key,
        )
