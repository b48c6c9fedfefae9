"""Issuing tickets through the HTTP API, on the real database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import text

from sihha_kit.auth import Role
from sihha_kit.db import create_engine
from sihha_kit.testing.plugin import bearer
from sihha_queue.config import QueueSettings

pytestmark = pytest.mark.integration

CLINIC = "31-PC-001"


async def outbox_rows(settings: QueueSettings) -> list[dict]:  # type: ignore[type-arg]
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT event_type, body FROM outbox ORDER BY id"))
            return [{"event_type": r[0], "body": json.loads(r[1])} for r in rows]
    finally:
        await engine.dispose()


async def test_a_ticket_gets_the_services_prefix_and_the_days_number(
    queue_client: httpx.AsyncClient, reception: dict[str, str], queue_settings: QueueSettings
) -> None:
    first = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=reception
    )
    second = await queue_client.post(
        f"/establishments/{CLINIC}/tickets",
        json={"service_code": "MG", "priority": "elderly"},
        headers=reception,
    )
    other = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "PED"}, headers=reception
    )
    assert first.status_code == 201, first.text
    assert (first.json()["label"], second.json()["label"], other.json()["label"]) == (
        "MG-001",
        "MG-002",
        "PED-001",
    )
    assert second.json()["priority"] == "elderly"
    events = await outbox_rows(queue_settings)
    assert [e["event_type"] for e in events] == ["queue.ticket.issued"] * 3
    envelope = events[0]["body"]
    assert envelope["facility_id"] == CLINIC
    assert envelope["payload"]["ticket_number"] == "MG-001"
    assert envelope["sequence"] == 1


async def test_concurrent_issuing_is_gap_free_and_never_duplicated(
    queue_client: httpx.AsyncClient, reception: dict[str, str]
) -> None:
    async def issue() -> httpx.Response:
        return await queue_client.post(
            f"/establishments/{CLINIC}/tickets", json={"service_code": "LAB"}, headers=reception
        )

    responses = await asyncio.gather(*(issue() for _ in range(60)))
    assert all(r.status_code == 201 for r in responses), [
        r.text for r in responses if r.status_code != 201
    ]
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == list(range(1, 61))


async def test_numbers_past_999_keep_every_digit_in_the_ticket_its_event_and_its_replay(
    queue_client: httpx.AsyncClient, reception: dict[str, str], queue_settings: QueueSettings
) -> None:
    """The statement that issues takes the number and writes the label into the event and
    the kept answer; it must agree with `ticket_label` (at least three digits, never cut)."""
    first = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=reception
    )
    assert first.json()["label"] == "MG-001"
    engine = create_engine(queue_settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE ticket_counters SET last_number = 998"))
    finally:
        await engine.dispose()
    headers = {**reception, "Idempotency-Key": "kiosk-3-1000"}
    labels = []
    for _ in range(2):
        answer = await queue_client.post(
            f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=headers
        )
        assert answer.status_code == 201, answer.text
        headers = {**reception, "Idempotency-Key": "kiosk-3-1001"}
        labels.append((answer.json()["number"], answer.json()["label"]))
    assert labels == [(999, "MG-999"), (1000, "MG-1000")]
    replay = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=headers
    )
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert (replay.json()["number"], replay.json()["label"]) == (1000, "MG-1000")
    events = [e["body"]["payload"] for e in await outbox_rows(queue_settings)]
    assert [e["ticket_number"] for e in events] == ["MG-001", "MG-999", "MG-1000"]
    assert events[-1]["ticket_id"] == replay.json()["ticket_id"]


async def test_the_callers_trace_continues_into_the_ticket_event(
    queue_client: httpx.AsyncClient, reception: dict[str, str], queue_settings: QueueSettings
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    issued = await queue_client.post(
        f"/establishments/{CLINIC}/tickets",
        json={"service_code": "MG"},
        headers={**reception, "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
    )
    assert issued.status_code == 201, issued.text
    untraced = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=reception
    )
    assert untraced.status_code == 201, untraced.text
    engine = create_engine(queue_settings.database_url)
    try:
        async with engine.connect() as connection:
            stored = (
                await connection.execute(text("SELECT traceparent, body FROM outbox ORDER BY id"))
            ).all()
    finally:
        await engine.dispose()
    first, second = (row[0].split("-") for row in stored)
    assert first[1] == trace_id and first[2] != "00f067aa0ba902b7"  # our span, their trace
    assert second[1] not in (trace_id, "0" * 32)  # a request without one starts a new trace
    assert json.loads(stored[0][1])["traceparent"] == stored[0][0]


async def test_the_same_idempotency_key_sent_twice_at_once_issues_one_ticket(
    queue_client: httpx.AsyncClient, reception: dict[str, str], queue_settings: QueueSettings
) -> None:
    headers = {**reception, "Idempotency-Key": "kiosk-9-0001"}

    async def issue() -> httpx.Response:
        return await queue_client.post(
            f"/establishments/{CLINIC}/tickets", json={"service_code": "PED"}, headers=headers
        )

    answers = await asyncio.gather(*(issue() for _ in range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["ticket_id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 7
    assert [e["event_type"] for e in await outbox_rows(queue_settings)] == ["queue.ticket.issued"]


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        (
            "/establishments/31-PC-999/tickets",
            {"service_code": "MG"},
            403,
            "establishment-forbidden",
        ),
        (f"/establishments/{CLINIC}/tickets", {"service_code": "XRAY"}, 404, "unknown-service"),
        (f"/establishments/{CLINIC}/tickets", {"service_code": "mg"}, 422, "invalid-input"),
        (
            f"/establishments/{CLINIC}/tickets",
            {"service_code": "MG", "priority": "vip"},
            422,
            "invalid-input",
        ),
        (
            f"/establishments/{CLINIC}/tickets",
            {"service_code": "MG", "nin": "1"},
            422,
            "invalid-nin",
        ),
        (
            f"/establishments/{CLINIC}/tickets",
            {"service_code": "MG", "nin": "12345678901234567X"},
            422,
            "invalid-nin",
        ),
        (
            f"/establishments/{CLINIC}/tickets",
            {"service_code": "MG", "name": "x"},
            422,
            "invalid-input",
        ),
        # the caller's establishment is checked before the path's form: no caller acts for it
        (
            "/establishments/not-a-code/tickets",
            {"service_code": "MG"},
            403,
            "establishment-forbidden",
        ),
    ],
)
async def test_bad_input_gets_a_problem_and_changes_nothing(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    queue_settings: QueueSettings,
    path: str,
    body: dict,
    status: int,
    code: str,  # type: ignore[type-arg]
) -> None:
    response = await queue_client.post(
        path, json=body, headers={**reception, "Accept-Language": "ar"}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code
    assert problem["detail"] == problem["detail_ar"] and problem["detail_fr"]
    assert "Traceback" not in response.text
    assert await outbox_rows(queue_settings) == []


async def test_unknown_establishment_for_a_wilaya_wide_caller(
    queue_client: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    admin = bearer(mint(Role.admin, establishments=["*"]))
    response = await queue_client.post(
        "/establishments/31-PC-999/tickets", json={"service_code": "MG"}, headers=admin
    )
    assert response.status_code == 404
    assert response.json()["code"] == "unknown-establishment"


async def test_callers_without_a_token_or_the_role_are_refused(
    queue_client: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    anonymous = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "token-missing"
    pharmacist = bearer(mint(Role.pharmacist, establishments=[CLINIC]))
    refused = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=pharmacist
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "role-forbidden"


async def test_an_oversized_body_is_refused_before_it_is_read(
    queue_client: httpx.AsyncClient, reception: dict[str, str], queue_settings: QueueSettings
) -> None:
    huge = b'{"service_code": "MG", "pad": "' + b"x" * (queue_settings.max_body_bytes + 10) + b'"}'
    response = await queue_client.post(
        f"/establishments/{CLINIC}/tickets",
        content=huge,
        headers={**reception, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body-too-large"
    assert await outbox_rows(queue_settings) == []


async def test_health_and_metrics(queue_client: httpx.AsyncClient) -> None:
    assert (await queue_client.get("/health/live")).json() == {"status": "alive"}
    ready = await queue_client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["database"] == "up"
    metrics = await queue_client.get("/metrics")
    assert "sihha_http_requests_total" in metrics.text
    assert "sihha_outbox_backlog" in metrics.text


async def test_the_api_document_says_which_operations_need_a_bearer_token(
    queue_client: httpx.AsyncClient,
) -> None:
    document = (await queue_client.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    paths = document["paths"]
    issue = paths["/establishments/{facility_id}/tickets"]["post"]
    assert issue["security"] == [{"bearer": ["admin", "kiosk", "receptionist"]}]
    # declared by the route's own parameters (FastAPI), not patched into the document
    assert {"name": "facility_id", "in": "path"}.items() <= issue["parameters"][0].items()
    assert issue["parameters"][0]["schema"]["pattern"] == r"^[0-9]{2}-[A-Z]{2,5}-[0-9]{2,4}$"
    [key] = [p for p in issue["parameters"] if p["name"] == "Idempotency-Key"]
    [string] = [s for s in key["schema"].get("anyOf", [key["schema"]]) if s.get("type") == "string"]
    assert key["in"] == "header" and string["maxLength"] == 128
    for status in (401, 403, 404, 409, 422):
        assert "application/problem+json" in issue["responses"][str(status)]["content"]
    assert issue["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IssueTicketRequest"
    }
    check_in = paths["/establishments/{facility_id}/check-in"]["post"]
    assert check_in["security"] == [{"bearer": ["admin", "kiosk", "receptionist"]}]
    assert "Idempotency-Key" in [p["name"] for p in check_in["parameters"]]
    assert "security" not in paths["/tickets/{ticket_id}/status"]["get"]  # public (QR code)
    assert "security" not in paths["/health/ready"]["get"]
