"""Clinic terminals enrolled once (`sihha_kit.auth.enrolment`): a one-time code, a device
credential kept only as a keyed hash, short-lived access tokens, revocation that stops
the credential and the tokens already issued — on a real PostgreSQL database, the
tables created by the kit's migration helper."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import jwt
import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from fastapi import FastAPI
from sqlalchemy import select, text

from sihha_kit.auth import (
    TERMINAL_ROLES,
    IssuerKeys,
    Role,
    TokenSigner,
    TokenVerifier,
    install_verifier,
    jwks_router,
)
from sihha_kit.auth.enrolment import TerminalEnrolment, TerminalIn
from sihha_kit.auth.keys import generate_private_key, key_id
from sihha_kit.auth.schema import auth_terminals, create_auth_tables_v1, drop_auth_tables_v1
from sihha_kit.db import create_engine
from sihha_kit.devtools import TokenIssuer
from sihha_kit.problems import install_problem_handlers

pytestmark = pytest.mark.integration

CLINIC = "31-PC-001"
OTHER_CLINIC = "31-PC-002"
DEVICE_KEY = secrets.token_bytes(32)


class Service:
    """One process of a service that enrols terminals, as `install_auth` wires it."""

    def __init__(
        self,
        database_url: str,
        signer: TokenSigner,
        dev: TokenIssuer,
        roles: frozenset[Role] = TERMINAL_ROLES,
    ) -> None:
        self.engine = create_engine(database_url, pool_size=2)
        self.verifier = TokenVerifier(
            [
                IssuerKeys.in_memory(dev.issuer, dict(_public(dev.signer)), None),
                signer.trusted(),
            ]
        )
        self.enrolment = TerminalEnrolment(
            self.engine,
            signer,
            DEVICE_KEY,
            self.verifier.revocations,
            token_minutes=10,
            roles=roles,
        )
        app = FastAPI()
        install_problem_handlers(app)
        install_verifier(app, self.verifier)
        app.include_router(self.enrolment.router())
        app.include_router(jwks_router(signer))
        self.app = app
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://q")


def _public(signer: TokenSigner) -> list[tuple[str, Any]]:
    return [(kid, key.public_key()) for kid, key in signer.keys]


@pytest.fixture
async def database(make_database: Callable[[str], Awaitable[str]]) -> AsyncIterator[str]:
    url = await make_database("auth")
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as connection:

        def migrate(sync: Any) -> None:
            with Operations.context(MigrationContext.configure(sync)):
                create_auth_tables_v1()

        await connection.run_sync(migrate)
    await engine.dispose()
    yield url


@pytest.fixture
async def services(database: str) -> AsyncIterator[tuple[Service, Service, TokenIssuer]]:
    """Two replicas of the service (one database), and the development issuer."""
    key = generate_private_key()
    signer = TokenSigner([(key_id(key), key)], issuer="sihha-queue", grants=TERMINAL_ROLES)
    dev_key = generate_private_key()
    dev = TokenIssuer([(key_id(dev_key), dev_key)])
    one, two = Service(database, signer, dev), Service(database, signer, dev)
    yield one, two, dev
    for service in (one, two):
        await service.client.aclose()
        await service.engine.dispose()


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_a_terminal_is_enrolled_once_and_signs_in_with_its_credential(
    services: tuple[Service, Service, TokenIssuer],
) -> None:
    one, two, dev = services
    it_unit = _bearer(dev.mint("it:1", [Role.it_unit], [CLINIC]))
    body = {"facility_id": CLINIC, "role": "display", "label": "Salle d'attente"}

    # only the IT unit (or an admin), and only for its establishments
    receptionist = _bearer(dev.mint("r", [Role.receptionist], [CLINIC]))
    assert (await one.client.post("/auth/terminals", json=body, headers=receptionist)).json()[
        "code"
    ] == "role-forbidden"
    elsewhere = await one.client.post(
        "/auth/terminals", json={**body, "facility_id": OTHER_CLINIC}, headers=it_unit
    )
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "establishment-forbidden")
    bad_role = await one.client.post(
        "/auth/terminals", json={**body, "role": "admin"}, headers=it_unit
    )
    assert bad_role.status_code == 422

    registered = await one.client.post("/auth/terminals", json=body, headers=it_unit)
    assert registered.status_code == 201, registered.text
    enrolment = registered.json()
    code = enrolment["enrolment_code"]
    terminal_id = enrolment["terminal_id"]

    # the terminal claims its credential once; the code is then worthless
    claimed = await two.client.post("/auth/terminals/enrol", json={"enrolment_code": code})
    assert claimed.status_code == 200, claimed.text
    credential = claimed.json()["device_credential"]
    assert credential.startswith(f"{terminal_id}.")
    again = await one.client.post("/auth/terminals/enrol", json={"enrolment_code": code})
    assert (again.status_code, again.json()["code"]) == (401, "enrolment-code-invalid")
    assert again.json()["detail_ar"]

    # only a keyed hash of the secret is stored
    async with one.engine.connect() as connection:
        row = (
            await connection.execute(
                select(auth_terminals).where(auth_terminals.c.terminal_id == uuid.UUID(terminal_id))
            )
        ).one()
    secret = credential.split(".", 1)[1]
    assert row.credential_hash == hmac.new(DEVICE_KEY, secret.encode(), hashlib.sha256).digest()
    assert secret.encode() not in row.credential_hash and row.enrolment_code_hash is None
    assert row.credential_hash != hashlib.sha256(secret.encode()).digest()

    # the credential obtains a short-lived token of the terminal's one role and establishment
    issued = await two.client.post("/auth/terminal-token", json={"device_credential": credential})
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    assert issued.json()["expires_in"] == 600
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600 and claims["iss"] == "sihha-queue"
    caller = await one.verifier.verify(token)
    assert caller.subject == f"terminal:{terminal_id}"
    assert caller.roles == {Role.display} and caller.establishments == {CLINIC}

    # the service publishes the key that verifies it
    jwks = (await one.client.get("/.well-known/jwks.json")).json()
    assert [k["kid"] for k in jwks["keys"]] == [jwt.get_unverified_header(token)["kid"]]
    assert "d" not in jwks["keys"][0]

    for wrong in (credential[:-2] + "xx", f"{uuid.uuid4()}.{secret}", "not-a-credential" * 3):
        refused = await one.client.post("/auth/terminal-token", json={"device_credential": wrong})
        assert (refused.status_code, refused.json()["code"]) == (401, "device-credential-invalid")

    listed = await one.client.get(
        "/auth/terminals", params={"facility_id": CLINIC}, headers=it_unit
    )
    [terminal] = listed.json()
    assert terminal["terminal_id"] == terminal_id and terminal["enrolled_at"]
    assert terminal["last_token_at"] and not {"credential_hash", "enrolment_code"} & set(terminal)


async def test_revoking_a_terminal_stops_its_credential_and_its_tokens(
    services: tuple[Service, Service, TokenIssuer],
) -> None:
    one, two, dev = services
    it_unit = _bearer(dev.mint("it:1", [Role.it_unit], ["*"]))
    registered = await one.client.post(
        "/auth/terminals",
        json={"facility_id": CLINIC, "role": "kiosk", "label": "Borne"},
        headers=it_unit,
    )
    code = registered.json()["enrolment_code"]
    terminal_id = registered.json()["terminal_id"]
    credential = (
        await one.client.post("/auth/terminals/enrol", json={"enrolment_code": code})
    ).json()["device_credential"]
    token = (
        await one.client.post("/auth/terminal-token", json={"device_credential": credential})
    ).json()["access_token"]
    assert (await two.verifier.verify(token)).roles == {Role.kiosk}  # cached by replica two

    elsewhere = _bearer(dev.mint("it:2", [Role.it_unit], [OTHER_CLINIC]))
    refused = await one.client.post(f"/auth/terminals/{terminal_id}/revoke", headers=elsewhere)
    assert refused.json()["code"] == "establishment-forbidden"
    missing = await one.client.post(f"/auth/terminals/{uuid.uuid4()}/revoke", headers=it_unit)
    assert (missing.status_code, missing.json()["code"]) == (404, "terminal-not-found")

    revoked = await one.client.post(f"/auth/terminals/{terminal_id}/revoke", headers=it_unit)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    # at once in the process that revoked
    with pytest.raises(Exception) as caught:
        await one.verifier.verify(token)
    assert getattr(caught.value, "code", None) == "token-revoked"
    # in the other replica once it reloads its revocations (every 15 s in a service)
    await two.verifier.refresh()
    with pytest.raises(Exception) as caught:
        await two.verifier.verify(token)
    assert getattr(caught.value, "code", None) == "token-revoked"
    # and the credential obtains nothing any more
    again = await two.client.post("/auth/terminal-token", json={"device_credential": credential})
    assert (again.status_code, again.json()["code"]) == (401, "device-credential-invalid")


async def test_revocations_of_the_service_s_own_tokens(
    services: tuple[Service, Service, TokenIssuer],
) -> None:
    one, two, dev = services
    admin = _bearer(dev.mint("admin:1", [Role.admin], ["*"]))
    scoped_it = _bearer(dev.mint("it:1", [Role.it_unit], [CLINIC]))
    body = {"token_id": "jti-123", "reason": "tablette volée"}
    refused = await one.client.post("/auth/revocations", json=body, headers=scoped_it)
    assert refused.json()["code"] == "wilaya-scope-required"
    both = await one.client.post(
        "/auth/revocations", json={"token_id": "a", "subject": "b"}, headers=admin
    )
    assert (both.status_code, both.json()["code"]) == (422, "revocation-target")
    done = await one.client.post("/auth/revocations", json=body, headers=admin)
    assert done.status_code == 201 and done.json()[0]["kind"] == "token"
    await two.verifier.refresh()
    assert "jti-123" in two.verifier.revocations.current.tokens


async def test_the_tables_come_and_go_with_the_migration_helper(database: str) -> None:
    engine = create_engine(database, pool_size=1)
    try:
        async with engine.begin() as connection:

            def downgrade(sync: Any) -> None:
                with Operations.context(MigrationContext.configure(sync)):
                    drop_auth_tables_v1()

            await connection.run_sync(downgrade)
            names = await connection.execute(
                text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'auth_%'")
            )
            assert names.all() == []
    finally:
        await engine.dispose()


async def test_sihha_dev_enrols_a_terminal(
    database: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from sihha_kit.auth import TrustedIssuer
    from sihha_kit.devtools import main
    from sihha_kit.testing.apps import serving

    keys = tmp_path / "keys"
    assert main(["keys", "--dir", str(keys)]) == 0
    key = generate_private_key()
    signer = TokenSigner([(key_id(key), key)], issuer="sihha-queue", grants=TERMINAL_ROLES)
    service = Service(database, signer, TokenIssuer.from_directory(keys))
    service.verifier.issuers.pop("sihha-dev")
    trusted = IssuerKeys(TrustedIssuer(issuer="sihha-dev", jwks=str(keys / "jwks.json")))
    service.verifier.trust(trusted)
    service.verifier.load_now()
    capsys.readouterr()
    try:
        async with serving(service.app) as base:
            arguments = ["enrol", "--service", base, "--establishment", CLINIC, "--dir", str(keys)]
            status = await asyncio.to_thread(main, [*arguments, "--role", "display"])
            captured = capsys.readouterr()
            assert status == 0, captured.err
            code = captured.out.strip()
            assert len(code) >= 16 and "terminal" in captured.err
            claimed = await service.client.post(
                "/auth/terminals/enrol", json={"enrolment_code": code}
            )
            assert claimed.status_code == 200

            status = await asyncio.to_thread(main, [*arguments, "--role", "kiosk", "--claim"])
            credential = capsys.readouterr().out.strip()
            assert status == 0
            issued = await service.client.post(
                "/auth/terminal-token", json={"device_credential": credential}
            )
            caller = await service.verifier.verify(issued.json()["access_token"])
            assert caller.roles == {Role.kiosk} and caller.establishments == {CLINIC}

            with pytest.raises(SystemExit) as refused:  # not a terminal role
                main([*arguments, "--role", "admin"])
            assert refused.value.code == 2
    finally:
        await service.client.aclose()
        await service.engine.dispose()


def test_the_enrolment_api_offers_exactly_the_terminal_roles() -> None:
    from typing import get_args

    from sihha_kit.auth.enrolment import TerminalRole

    assert set(get_args(TerminalRole)) == {role.value for role in TERMINAL_ROLES}


async def test_a_service_enrols_only_the_terminal_roles_it_offers(database: str) -> None:
    """The queue offers its five roles and not `scheduler`; the appointments service only
    `scheduler`: each registration form names its own, and the service layer refuses
    the others too."""
    from sihha_kit.auth import Caller

    key = generate_private_key()
    dev_key = generate_private_key()
    dev = TokenIssuer([(key_id(dev_key), dev_key)])
    queue_roles = TERMINAL_ROLES - {Role.scheduler}
    queue_signer = TokenSigner([(key_id(key), key)], issuer="sihha-queue", grants=queue_roles)
    desk_signer = TokenSigner(
        [(key_id(key), key)], issuer="sihha-appointments", grants={Role.citizen, Role.scheduler}
    )
    queue = Service(database, queue_signer, dev, roles=queue_roles)
    desks = Service(database, desk_signer, dev, roles=frozenset({Role.scheduler}))
    it_unit = _bearer(dev.mint("it:1", [Role.it_unit], [CLINIC]))
    try:
        body = {"facility_id": CLINIC, "role": "scheduler", "label": "Bureau des rendez-vous"}
        refused = await queue.client.post("/auth/terminals", json=body, headers=it_unit)
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid-input")
        kiosk = await desks.client.post(
            "/auth/terminals", json={**body, "role": "kiosk"}, headers=it_unit
        )
        assert (kiosk.status_code, kiosk.json()["code"]) == (422, "invalid-input")

        def offered(service: Service) -> list[str]:
            schema = service.app.openapi()["components"]["schemas"]["TerminalIn"]
            role = schema["properties"]["role"]
            return sorted(role["enum"] if "enum" in role else [role["const"]])

        assert offered(queue) == sorted(role.value for role in queue_roles)
        assert offered(desks) == ["scheduler"]

        # the service layer refuses them too, whoever calls it
        caller = Caller("it:1", frozenset({Role.it_unit}), frozenset({CLINIC}))
        with pytest.raises(Exception) as caught:
            await queue.enrolment.register(TerminalIn(**body), caller)
        assert getattr(caught.value, "code", None) == "terminal-role-not-offered"
        assert "scheduler" in caught.value.detail_in("fr")  # type: ignore[attr-defined]

        # a scheduling desk enrols and signs in as a scheduler of its establishment
        registered = await desks.client.post("/auth/terminals", json=body, headers=it_unit)
        assert registered.status_code == 201, registered.text
        claimed = await desks.client.post(
            "/auth/terminals/enrol",
            json={"enrolment_code": registered.json()["enrolment_code"]},
        )
        assert claimed.json()["role"] == "scheduler"
        issued = await desks.client.post(
            "/auth/terminal-token", json={"device_credential": claimed.json()["device_credential"]}
        )
        caller = await desks.verifier.verify(issued.json()["access_token"])
        assert caller.roles == {Role.scheduler} and caller.establishments == {CLINIC}
    finally:
        for service in (queue, desks):
            await service.client.aclose()
            await service.engine.dispose()


def test_a_service_must_sign_the_terminal_roles_it_enrols() -> None:
    from sihha_kit.auth import RevocationList

    key = generate_private_key()
    citizens_only = TokenSigner(
        [(key_id(key), key)], issuer="sihha-appointments", grants={Role.citizen}
    )
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=1)
    with pytest.raises(ValueError, match="must grant"):
        TerminalEnrolment(
            engine, citizens_only, DEVICE_KEY, RevocationList([]), roles={Role.scheduler}
        )
    with pytest.raises(ValueError, match="terminal roles"):
        TerminalEnrolment(engine, citizens_only, DEVICE_KEY, RevocationList([]), roles={Role.admin})
