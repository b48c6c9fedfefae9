"""A clinic's scheduling desk is a terminal enrolled once (`sihha_kit.auth.enrolment`):
the IT unit registers it, the desk claims its device credential with the one-time code
and obtains short-lived `scheduler` tokens for its establishment; revoking it refuses at
once the token it holds and the credential it renews with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from sihha_kit.auth import Role
from sihha_kit.testing.plugin import bearer

from .conftest import CLINIC, OTHER_CLINIC

pytestmark = pytest.mark.integration

DAY = "2026-12-06"


async def register_desk(
    client: httpx.AsyncClient, mint: Callable[..., str], facility: str = CLINIC
) -> dict[str, Any]:
    """What the IT unit does for a new scheduling desk: its id and one-time code."""
    registered = await client.post(
        "/auth/terminals",
        json={"facility_id": facility, "role": "scheduler", "label": "Bureau des rendez-vous"},
        headers=bearer(mint(Role.it_unit, establishments=[facility])),
    )
    assert registered.status_code == 201, registered.text
    desk: dict[str, Any] = registered.json()
    return desk


async def enrolled_desk(
    client: httpx.AsyncClient, mint: Callable[..., str]
) -> tuple[dict[str, Any], str, str]:
    """A desk registered and enrolled: (its registration, device credential, token)."""
    desk = await register_desk(client, mint)
    claimed = await client.post(
        "/auth/terminals/enrol", json={"enrolment_code": desk["enrolment_code"]}
    )
    assert claimed.status_code == 200, claimed.text
    credential = claimed.json()["device_credential"]
    issued = await client.post("/auth/terminal-token", json={"device_credential": credential})
    assert issued.status_code == 200, issued.text
    return desk, credential, issued.json()["access_token"]


async def test_an_enrolled_desk_is_its_clinic_s_scheduler_and_nothing_else(
    client: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    desk, _, token = await enrolled_desk(client, mint)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "sihha-appointments" and claims["roles"] == ["scheduler"]
    assert claims["sub"] == f"terminal:{desk['terminal_id']}"
    assert claims["exp"] - claims["iat"] == 600
    headers = bearer(token)
    assert (await client.get(f"/establishments/{CLINIC}/days/{DAY}", headers=headers)).is_success
    elsewhere = await client.get(f"/establishments/{OTHER_CLINIC}/days/{DAY}", headers=headers)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "establishment-forbidden")
    citizen_route = await client.get("/bookings/mine", headers=headers)
    assert (citizen_route.status_code, citizen_route.json()["code"]) == (403, "role-forbidden")
    # a desk is the only terminal this service enrols
    kiosk = await client.post(
        "/auth/terminals",
        json={"facility_id": CLINIC, "role": "kiosk", "label": "Borne"},
        headers=bearer(mint(Role.it_unit, establishments=[CLINIC])),
    )
    assert (kiosk.status_code, kiosk.json()["code"]) == (422, "invalid-input")


async def test_a_revoked_desk_is_refused_at_once(
    client: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    desk, credential, token = await enrolled_desk(client, mint)
    day = f"/establishments/{CLINIC}/days/{DAY}"
    assert (await client.get(day, headers=bearer(token))).status_code == 200

    revoked = await client.post(
        f"/auth/terminals/{desk['terminal_id']}/revoke",
        headers=bearer(mint(Role.it_unit, establishments=[CLINIC])),
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]

    # the token it holds (ten minutes left) is refused now, in French and in Arabic
    refused = await client.get(day, headers={**bearer(token), "Accept-Language": "ar"})
    assert (refused.status_code, refused.json()["code"]) == (401, "token-revoked")
    assert refused.json()["detail_ar"] and refused.json()["detail_fr"]
    # and its credential obtains no new one
    again = await client.post("/auth/terminal-token", json={"device_credential": credential})
    assert (again.status_code, again.json()["code"]) == (401, "device-credential-invalid")
    # nor does its enrolment code, used already
    code = await client.post(
        "/auth/terminals/enrol", json={"enrolment_code": desk["enrolment_code"]}
    )
    assert (code.status_code, code.json()["code"]) == (401, "enrolment-code-invalid")
