"""Clinic terminals enrolled once, then signed in with a device credential.

A kiosk, a counter terminal or a waiting-room board is not a person and cannot sign
in; a long-lived token in its enrolment link (the old ``#token=…``) could neither be
rotated nor revoked. Instead:

1. **Enrolment** (``POST /auth/terminals``, role ``it_unit`` or ``admin``, for an
   establishment the caller acts for): the IT unit registers the terminal — its
   establishment, its one role (``kiosk``, ``display``, ``counter_agent``, ``doctor``
   for a consultation room, ``pharmacist`` for a pharmacy's terminal, ``scheduler``
   for a clinic's scheduling desk: `sihha_kit.auth.roles.TERMINAL_ROLES`, of which each
   service offers its own, the queue the first five and the appointments service
   ``scheduler``) and a label — and gets a one-time **enrolment code** (valid
   `enrolment_code_minutes`, an hour by default), to type or scan on the terminal.
2. **Claim** (``POST /auth/terminals/enrol``, public): the terminal sends the code once
   and receives its **device credential** (``<terminal id>.<secret>``, 256 random
   bits), which it keeps (the browser's ``localStorage``). The service stores only an
   HMAC-SHA256 of the secret under a key of its own (`TokenIssuingSettings.
   device_credential_key_path`); a used or expired code is worthless.
3. **Access tokens** (``POST /auth/terminal-token``, public): the terminal exchanges
   its credential for an access token of `token_minutes` (ten by default) — subject
   ``terminal:<id>``, its role, its establishment, signed by the service
   (`sihha_kit.auth.signing`) — and renews it before it expires.
4. **Revocation** (``POST /auth/terminals/{id}/revoke``): the credential stops working
   and the subject ``terminal:<id>`` is revoked, so the tokens already issued are
   refused at once (`sihha_kit.auth.revocation`). A revoked terminal is enrolled anew.

``GET /auth/terminals?facility_id=…`` lists an establishment's terminals (never a
secret). ``POST /auth/revocations`` (``admin``, or ``it_unit`` for the whole wilaya)
revokes one token id or subject among those the service issued.

A service mounts all of it with `sihha_kit.app.install_auth(app, settings,
terminals=<the roles it enrols>)` and creates the tables with `sihha_kit.auth.schema`.
"""

# no `from __future__ import annotations`: the routes name dependency aliases defined
# in the function that builds them, which FastAPI could not resolve from strings
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from sihha_contracts.types import FACILITY_CODE_PATTERN
from sihha_kit.auth.callers import Caller, ensure_establishment
from sihha_kit.auth.dependencies import Authorizer
from sihha_kit.auth.errors import Unauthenticated
from sihha_kit.auth.revocation import RevocationList, Revocations
from sihha_kit.auth.roles import TERMINAL_ROLES, Role
from sihha_kit.auth.schema import auth_revocations, auth_terminals
from sihha_kit.auth.signing import TokenSigner
from sihha_kit.errors import BadRequest, NotFound
from sihha_kit.problems import problems

__all__ = ["TERMINAL_SUBJECT_PREFIX", "TerminalEnrolment"]

TERMINAL_SUBJECT_PREFIX: Final = "terminal:"
FACILITY_PATTERN: Final = FACILITY_CODE_PATTERN
_SECRET_BYTES: Final = 32
_CODE_BYTES: Final = 12

#: `sihha_kit.auth.roles.TERMINAL_ROLES`, as the API's schema names them (a service's
#: registration form names only the roles it offers: `TerminalEnrolment.router`)
TerminalRole = Literal["kiosk", "display", "counter_agent", "doctor", "pharmacist", "scheduler"]


class TerminalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facility_id: str = Field(pattern=FACILITY_PATTERN, examples=["31-PC-001"])
    role: TerminalRole = Field(description="the one role of the terminal's tokens")
    label: str = Field(min_length=1, max_length=120, examples=["Borne de l'entrée"])


class Terminal(BaseModel):
    terminal_id: uuid.UUID
    facility_id: str
    role: TerminalRole
    label: str
    created_at: datetime
    created_by: str
    enrolled_at: datetime | None
    last_token_at: datetime | None
    revoked_at: datetime | None


class Enrolment(BaseModel):
    terminal_id: uuid.UUID
    facility_id: str
    role: TerminalRole
    label: str
    enrolment_code: str = Field(description="one-time code the terminal claims its credential with")
    enrolment_expires_at: datetime


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enrolment_code: str = Field(min_length=8, max_length=64)


class DeviceCredential(BaseModel):
    terminal_id: uuid.UUID
    facility_id: str
    role: TerminalRole
    device_credential: str = Field(description="keep it on the device; shown once")


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_credential: str = Field(min_length=40, max_length=200)


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="seconds")


class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token_id: str | None = Field(default=None, min_length=1, max_length=200)
    subject: str | None = Field(default=None, min_length=1, max_length=200)
    #: for a token: when it expires (after that the entry may go); default: in a day
    expires_at: datetime | None = None
    reason: str | None = Field(default=None, max_length=200)


class Revoked(BaseModel):
    kind: Literal["token", "subject"]
    value: str
    moment: datetime


def _now() -> datetime:
    return datetime.now(UTC)


class TerminalEnrolment:
    """Enrolment, device credentials and the service's own revocations (see the module)."""

    def __init__(
        self,
        engine: AsyncEngine,
        signer: TokenSigner,
        credential_key: bytes,
        revocations: RevocationList,
        *,
        token_minutes: int = 10,
        code_minutes: int = 60,
        require: Authorizer | None = None,
        roles: Iterable[Role] = TERMINAL_ROLES,
    ) -> None:
        if len(credential_key) < 32:
            raise ValueError("the device-credential key must have at least 32 bytes")
        #: the terminal roles this service enrols (some of `TERMINAL_ROLES`)
        self.roles = frozenset(roles)
        if not self.roles or not self.roles <= TERMINAL_ROLES:
            raise ValueError(
                f"terminal roles must be some of {sorted(TERMINAL_ROLES)}, not {sorted(self.roles)}"
            )
        if signer.grants is not None and not self.roles <= signer.grants:
            raise ValueError(
                f"{signer.issuer} must grant the terminal roles it enrols: "
                f"{sorted(self.roles - signer.grants)} missing"
            )
        self.engine = engine
        self.signer = signer
        self._key = credential_key
        self.revocations = revocations
        self.token_ttl = timedelta(minutes=token_minutes)
        self.code_ttl = timedelta(minutes=code_minutes)
        self.require = require or Authorizer()
        revocations.add_reader(self.read_revocations)

    def _hash(self, secret: str) -> bytes:
        return hmac.new(self._key, secret.encode("utf-8"), hashlib.sha256).digest()

    # -- the service layer ---------------------------------------------------------------

    async def register(self, terminal: TerminalIn, by: Caller) -> Enrolment:
        ensure_establishment(by, terminal.facility_id)
        if terminal.role not in self.roles:
            offered = sorted(role.value for role in self.roles)
            raise BadRequest(
                "terminal-role-not-offered",
                role=terminal.role,
                roles=offered,
                params={"offered": ", ".join(offered)},
            )
        terminal_id = uuid.uuid4()
        code = secrets.token_urlsafe(_CODE_BYTES)
        expires = _now() + self.code_ttl
        async with self.engine.begin() as connection:
            await connection.execute(
                insert(auth_terminals).values(
                    terminal_id=terminal_id,
                    facility_id=terminal.facility_id,
                    role=terminal.role,
                    label=terminal.label,
                    enrolment_code_hash=self._hash(code),
                    enrolment_expires_at=expires,
                    created_by=by.subject[:200],
                )
            )
        return Enrolment(
            terminal_id=terminal_id,
            facility_id=terminal.facility_id,
            role=terminal.role,
            label=terminal.label,
            enrolment_code=code,
            enrolment_expires_at=expires,
        )

    async def claim(self, code: str) -> DeviceCredential:
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        now = _now()
        async with self.engine.begin() as connection:
            row = (
                await connection.execute(
                    update(auth_terminals)
                    .where(
                        auth_terminals.c.enrolment_code_hash == self._hash(code),
                        auth_terminals.c.enrolment_expires_at > now,
                        auth_terminals.c.revoked_at.is_(None),
                    )
                    .values(
                        enrolment_code_hash=None,
                        credential_hash=self._hash(secret),
                        enrolled_at=now,
                    )
                    .returning(
                        auth_terminals.c.terminal_id,
                        auth_terminals.c.facility_id,
                        auth_terminals.c.role,
                    )
                )
            ).first()
        if row is None:
            raise Unauthenticated("enrolment-code-invalid")
        return DeviceCredential(
            terminal_id=row.terminal_id,
            facility_id=row.facility_id,
            role=row.role,
            device_credential=f"{row.terminal_id}.{secret}",
        )

    async def token(self, credential: str) -> AccessToken:
        raw_id, _, secret = credential.partition(".")
        try:
            terminal_id = uuid.UUID(raw_id)
        except ValueError:
            raise Unauthenticated("device-credential-invalid") from None
        async with self.engine.begin() as connection:
            row = (
                await connection.execute(
                    select(
                        auth_terminals.c.facility_id,
                        auth_terminals.c.role,
                        auth_terminals.c.credential_hash,
                    ).where(
                        auth_terminals.c.terminal_id == terminal_id,
                        auth_terminals.c.revoked_at.is_(None),
                        auth_terminals.c.credential_hash.is_not(None),
                    )
                )
            ).first()
            if row is None or not hmac.compare_digest(row.credential_hash, self._hash(secret)):
                raise Unauthenticated("device-credential-invalid")
            await connection.execute(
                update(auth_terminals)
                .where(auth_terminals.c.terminal_id == terminal_id)
                .values(last_token_at=_now())
            )
        token = self.signer.issue(
            f"{TERMINAL_SUBJECT_PREFIX}{terminal_id}",
            [row.role],
            [row.facility_id],
            ttl=self.token_ttl,
        )
        return AccessToken(access_token=token, expires_in=int(self.token_ttl.total_seconds()))

    async def terminals_of(self, facility_id: str, by: Caller) -> list[Terminal]:
        ensure_establishment(by, facility_id)
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(*(auth_terminals.c[name] for name in Terminal.model_fields))
                .where(auth_terminals.c.facility_id == facility_id)
                .order_by(auth_terminals.c.created_at)
            )
            return [Terminal(**row._mapping) for row in rows]

    async def revoke_terminal(self, terminal_id: uuid.UUID, by: Caller) -> Terminal:
        async with self.engine.begin() as connection:
            row = (
                await connection.execute(
                    select(auth_terminals.c.facility_id).where(
                        auth_terminals.c.terminal_id == terminal_id
                    )
                )
            ).first()
            if row is None:
                raise NotFound("terminal-not-found", terminal_id=str(terminal_id))
            ensure_establishment(by, row.facility_id)
            now = _now()
            await connection.execute(
                update(auth_terminals)
                .where(
                    auth_terminals.c.terminal_id == terminal_id,
                    auth_terminals.c.revoked_at.is_(None),
                )
                .values(
                    revoked_at=now,
                    revoked_by=by.subject[:200],
                    enrolment_code_hash=None,
                    credential_hash=None,
                )
            )
            subject = f"{TERMINAL_SUBJECT_PREFIX}{terminal_id}"
            await self._store(connection, "subject", subject, now, by, "terminal revoked")
            result = (
                await connection.execute(
                    select(*(auth_terminals.c[name] for name in Terminal.model_fields)).where(
                        auth_terminals.c.terminal_id == terminal_id
                    )
                )
            ).one()
        self.revocations.add(Revocations(subjects={subject: now.timestamp()}))
        return Terminal(**result._mapping)

    async def revoke(self, revocation: RevocationIn, by: Caller) -> list[Revoked]:
        if (revocation.token_id is None) == (revocation.subject is None):
            raise BadRequest("revocation-target")
        now = _now()
        async with self.engine.begin() as connection:
            if revocation.token_id is not None:
                until = revocation.expires_at or now + timedelta(days=1)
                await self._store(
                    connection, "token", revocation.token_id, until, by, revocation.reason
                )
                self.revocations.add(Revocations(tokens={revocation.token_id: until.timestamp()}))
                return [Revoked(kind="token", value=revocation.token_id, moment=until)]
            assert revocation.subject is not None
            await self._store(connection, "subject", revocation.subject, now, by, revocation.reason)
        self.revocations.add(Revocations(subjects={revocation.subject: now.timestamp()}))
        return [Revoked(kind="subject", value=revocation.subject, moment=now)]

    async def _store(
        self,
        connection: Any,
        kind: str,
        value: str,
        moment: datetime,
        by: Caller,
        reason: str | None,
    ) -> None:
        statement = pg_insert(auth_revocations).values(
            kind=kind, value=value, moment=moment, revoked_by=by.subject[:200], reason=reason
        )
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=["kind", "value"],
                set_={
                    "moment": statement.excluded.moment,
                    "revoked_at": statement.excluded.revoked_at,
                    "revoked_by": statement.excluded.revoked_by,
                    "reason": statement.excluded.reason,
                },
            )
        )

    async def read_revocations(self) -> Revocations:
        """This service's revocations still in force (a `RevocationList` reader)."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(
                    auth_revocations.c.kind, auth_revocations.c.value, auth_revocations.c.moment
                ).where(
                    (auth_revocations.c.kind == "subject") | (auth_revocations.c.moment >= _now())
                )
            )
            tokens: dict[str, float] = {}
            subjects: dict[str, float] = {}
            for kind, value, moment in rows:
                (tokens if kind == "token" else subjects)[value] = moment.timestamp()
        return Revocations(tokens, subjects)

    # -- HTTP ----------------------------------------------------------------------------

    def router(self) -> APIRouter:
        """The routes of the module's docstring, under ``/auth``."""
        router = APIRouter(prefix="/auth", tags=["auth"])
        # the registration form offers the roles this service enrols, and only them
        offered: Any = Literal[tuple(sorted(role.value for role in self.roles))]
        ServiceTerminalIn = create_model(
            "TerminalIn",
            __base__=TerminalIn,
            role=(offered, Field(description="the one role of the terminal's tokens")),
        )
        ItUnit = Annotated[Caller, Depends(self.require(Role.it_unit, Role.admin))]
        Revoker = Annotated[
            Caller, Depends(self.require(Role.admin, Role.it_unit, wilaya_wide=True))
        ]

        @router.post(
            "/terminals",
            status_code=201,
            summary="Register a clinic terminal and get its one-time enrolment code",
        )
        async def register_terminal(body: ServiceTerminalIn, caller: ItUnit) -> Enrolment:
            return await self.register(body, caller)

        @router.get("/terminals", summary="The terminals of an establishment (never a secret)")
        async def list_terminals(
            caller: ItUnit,
            facility_id: Annotated[str, Query(pattern=FACILITY_PATTERN, examples=["31-PC-001"])],
        ) -> list[Terminal]:
            return await self.terminals_of(facility_id, caller)

        @router.post(
            "/terminals/enrol",
            summary="A terminal claims its device credential with its one-time enrolment code "
            "(public)",
            responses=problems(401),
        )
        async def claim_credential(body: ClaimIn) -> DeviceCredential:
            return await self.claim(body.enrolment_code)

        @router.post(
            "/terminal-token",
            summary="A terminal exchanges its device credential for a short-lived access token "
            "(public)",
            responses=problems(401),
        )
        async def terminal_token(body: TokenRequest) -> AccessToken:
            return await self.token(body.device_credential)

        @router.post(
            "/terminals/{terminal_id}/revoke",
            summary="Revoke a terminal: its credential and its current tokens stop working",
            responses=problems(404),
        )
        async def revoke_terminal(terminal_id: uuid.UUID, caller: ItUnit) -> Terminal:
            return await self.revoke_terminal(terminal_id, caller)

        @router.post(
            "/revocations",
            status_code=201,
            summary="Revoke one token id or subject among the tokens this service issued",
        )
        async def revoke(body: RevocationIn, caller: Revoker) -> list[Revoked]:
            return await self.revoke(body, caller)

        return router
