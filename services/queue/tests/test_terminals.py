"""Enrolled clinic terminals at work: each acts with its own role for itself only, and the
wilaya-wide counts ask for the whole wilaya."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sihha_kit.auth import Role
from sihha_kit.testing.plugin import bearer

from .conftest import register_terminal

pytestmark = pytest.mark.integration

CLINIC = "31-PC-001"


async def enrolled_token(
    client: httpx.AsyncClient, mint: Callable[..., str], role: str, facility: str = CLINIC
) -> tuple[str, dict[str, Any]]:
    """A terminal registered by the IT unit, its credential claimed with the one-time code,
    and an access token obtained with the credential: (terminal id, token answer)."""
    registered = await register_terminal(client, mint, role, facility)
    claimed = await client.post(
        "/auth/terminals/enrol", json={"enrolment_code": registered["enrolment_code"]}
    )
    assert claimed.status_code == 200, claimed.text
    token = await client.post(
        "/auth/terminal-token", json={"device_credential": claimed.json()["device_credential"]}
    )
    assert token.status_code == 200, token.text
    return registered["terminal_id"], token.json()


async def test_an_enrolled_terminal_beats_for_itself_only(
    queue_client: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    terminal, token = await enrolled_token(queue_client, mint, "display")
    headers = bearer(token["access_token"])
    own = await queue_client.post(
        f"/establishments/{CLINIC}/terminals/{terminal}/heartbeat",
        json={"kind": "display"},
        headers=headers,
    )
    assert own.status_code == 204
    other = await queue_client.post(
        f"/establishments/{CLINIC}/terminals/{uuid.uuid4()}/heartbeat",
        json={"kind": "display"},
        headers=headers,
    )
    assert (other.status_code, other.json()["code"]) == (403, "heartbeat-of-another-terminal")
    assert other.json()["detail_ar"] and other.json()["detail_fr"]


async def test_a_kiosk_issues_tickets_and_nothing_of_the_staffs(
    queue_client: httpx.AsyncClient, mint: Callable[..., str], reception: dict[str, str]
) -> None:
    _, token = await enrolled_token(queue_client, mint, "kiosk")
    kiosk = bearer(token["access_token"])
    issued = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=kiosk
    )
    assert issued.status_code == 201
    urgent = await queue_client.post(
        f"/establishments/{CLINIC}/tickets",
        json={"service_code": "MG", "priority": "urgent"},
        headers=kiosk,
    )
    assert (urgent.status_code, urgent.json()["code"]) == (403, "urgent-by-staff-only")
    ticket = issued.json()
    refused = [
        await queue_client.post(
            f"/establishments/{CLINIC}/tickets/{ticket['ticket_id']}/cancel",
            json={"reason": "patient_left"},
            headers=kiosk,
        ),
        await queue_client.get(f"/establishments/{CLINIC}/tickets", headers=kiosk),
        await queue_client.get(
            f"/establishments/{CLINIC}/visits/{ticket['visit_id']}", headers=kiosk
        ),
    ]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(403, "role-forbidden")] * 3
    # the ticket is still waiting: the reception desk sees it
    waiting = await queue_client.get(f"/establishments/{CLINIC}/tickets", headers=reception)
    assert [t["ticket_id"] for t in waiting.json()] == [ticket["ticket_id"]]


async def test_the_counts_cover_the_wilaya_and_ask_for_it(
    queue_client: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    period = {"from": "2026-11-01", "to": "2026-11-30"}
    one = bearer(mint(Role.it_unit, establishments=[CLINIC]))
    every = bearer(mint(Role.it_unit, establishments=["*"]))
    for path in ("/counts/activity", "/counts/prescriptions"):
        scoped = await queue_client.get(path, params=period, headers=one)
        assert (scoped.status_code, scoped.json()["code"]) == (403, "wilaya-scope-required")
        assert (await queue_client.get(path, params=period, headers=every)).status_code == 200
