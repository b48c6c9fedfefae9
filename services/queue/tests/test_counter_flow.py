"""A day at the counter: calling, recalls, no-shows, service, routing, cancelling —
through the HTTP API, on the real database, with the clock moved by the test."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from sihha_kit.auth import Role
from sihha_kit.db import create_engine
from sihha_kit.testing.apps import FixedClock, running, wait_until
from sihha_kit.testing.plugin import bearer
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings

pytestmark = pytest.mark.integration

CLINIC = "31-PC-001"
OTHER = "31-PC-002"


def counter_id(service: str, n: int = 1, clinic: str = CLINIC) -> str:
    """The counters the registry loader creates: two per service, `MG 1`, `MG 2`, ..."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sihha:{clinic}:{service}:{n}"))


async def issue(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    service: str = "MG",
    priority: str = "normal",
    clinic: str = CLINIC,
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(
        f"/establishments/{clinic}/tickets",
        json={"service_code": service, "priority": priority, **extra},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def act(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    ticket: dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    response = await client.post(
        f"/establishments/{CLINIC}/tickets/{ticket['ticket_id']}/{action}",
        json=body,
        headers=headers,
    )
    assert response.status_code == expect, response.text
    return response.json()


async def call_next(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    service: str = "MG",
    n: int = 1,
    expect: int = 200,
) -> dict[str, Any]:
    response = await client.post(
        f"/establishments/{CLINIC}/counters/{counter_id(service, n)}/call-next", headers=headers
    )
    assert response.status_code == expect, response.text
    return response.json()


async def events(settings: QueueSettings) -> list[dict[str, Any]]:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT body FROM outbox ORDER BY id"))
            return [json.loads(row[0]) for row in rows]
    finally:
        await engine.dispose()


async def test_call_next_follows_the_fair_rule_and_says_why(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    agent: dict[str, str],
    clock: FixedClock,
) -> None:
    first = await issue(queue_client, reception)  # 08:30, normal
    clock.advance(minutes=10)
    elderly = await issue(queue_client, reception, priority="elderly")  # 08:40, +20 min bonus
    clock.advance(minutes=5)
    urgent = await issue(queue_client, reception, priority="urgent")  # 08:45
    clock.advance(minutes=1)

    called = await call_next(queue_client, agent)
    assert called["ticket"]["label"] == urgent["label"]
    assert called["ticket"]["call_reason"] == "urgent:first"
    await act(queue_client, agent, called["ticket"], "start")
    await act(queue_client, agent, called["ticket"], "complete")

    # first has waited 16 min (score 16), elderly 6 min + 20 (score 26): elderly goes first
    called = await call_next(queue_client, agent)
    assert called["ticket"]["label"] == elderly["label"]
    assert called["ticket"]["call_reason"] == "priority:elderly+ageing"
    assert "26" in called["explanation_fr"] and "26" in called["explanation_ar"]
    await act(queue_client, agent, called["ticket"], "start")
    await act(queue_client, agent, called["ticket"], "complete")

    called = await call_next(queue_client, agent)
    assert called["ticket"]["label"] == first["label"]
    assert called["ticket"]["call_reason"] == "ageing:normal"


async def test_nobody_waits_past_the_cap_whatever_keeps_arriving(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    agent: dict[str, str],
    clock: FixedClock,
) -> None:
    patient = await issue(queue_client, reception)
    clock.advance(minutes=91)
    for _ in range(3):
        await issue(queue_client, reception, priority="pregnant")
    called = await call_next(queue_client, agent)
    assert called["ticket"]["label"] == patient["label"]
    assert called["ticket"]["call_reason"] == "wait_cap:normal"


async def test_an_empty_queue_is_not_an_error(
    queue_client: httpx.AsyncClient, agent: dict[str, str]
) -> None:
    assert await call_next(queue_client, agent) == {
        "ticket": None,
        "explanation_fr": None,
        "explanation_ar": None,
    }


async def test_recall_then_no_show_requeues_once_at_the_same_place(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    agent: dict[str, str],
    clock: FixedClock,
    queue_settings: QueueSettings,
) -> None:
    late = await issue(queue_client, reception)
    clock.advance(minutes=1)
    later = await issue(queue_client, reception)
    called = (await call_next(queue_client, agent))["ticket"]
    assert called["label"] == late["label"]

    clock.advance(seconds=30)
    too_soon = await act(queue_client, agent, late, "no-show", expect=409)
    assert too_soon["code"] == "recall-window-open"
    recalled = await act(queue_client, agent, late, "recall")
    assert recalled["status"] == "called"
    clock.advance(minutes=2, seconds=1)
    back = await act(queue_client, agent, late, "no-show")
    assert back["status"] == "waiting"  # requeued once, with its original arrival

    assert (await call_next(queue_client, agent))["ticket"]["label"] == late["label"]
    clock.advance(minutes=3)
    gone = await act(queue_client, agent, late, "no-show")
    assert gone["status"] == "no_show"  # the second time is final
    assert (await call_next(queue_client, agent))["ticket"]["label"] == later["label"]

    types = [
        e["event_type"]
        for e in await events(queue_settings)
        if e["payload"].get("ticket_id") == late["ticket_id"]
    ]
    assert types == [
        "queue.ticket.issued",
        "queue.ticket.called",
        "queue.ticket.recalled",
        "queue.ticket.no_show",
        "queue.ticket.called",
        "queue.ticket.no_show",
    ]
    no_shows = [
        e for e in await events(queue_settings) if e["event_type"] == "queue.ticket.no_show"
    ]
    assert [e["payload"]["requeued"] for e in no_shows] == [True, False]
    sequences = [
        e["sequence"]
        for e in await events(queue_settings)
        if e["aggregate_id"] == late["ticket_id"]
    ]
    assert sequences == [1, 2, 3, 4, 5, 6]


async def test_routing_keeps_the_place_of_the_original_arrival_and_the_visit_tells_the_story(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    agent: dict[str, str],
    doctor: dict[str, str],
    clock: FixedClock,
    queue_settings: QueueSettings,
) -> None:
    patient = await issue(queue_client, reception)  # 08:30 at general medicine
    clock.advance(minutes=20)
    lab_walk_in = await issue(queue_client, reception, service="LAB")  # 08:50 straight to the lab
    clock.advance(minutes=1)
    called = (await call_next(queue_client, doctor))["ticket"]
    assert called["label"] == patient["label"]
    await act(queue_client, doctor, patient, "start")
    clock.advance(minutes=10)
    routed = await act(queue_client, doctor, patient, "route", {"to_service_code": "LAB"})
    assert routed["finished"]["status"] == "completed"
    assert routed["routed"]["label"] == "LAB-002"
    assert routed["routed"]["visit_id"] == patient["visit_id"]
    assert datetime.fromisoformat(routed["routed"]["arrived_at"]) == datetime.fromisoformat(
        patient["arrived_at"]
    )

    # the routed patient arrived at 08:30, before the lab walk-in of 08:50: called first
    clock.advance(minutes=1)
    lab = (await call_next(queue_client, agent, service="LAB"))["ticket"]
    assert lab["label"] == "LAB-002"
    await act(queue_client, agent, lab, "start")
    clock.advance(minutes=4)
    await act(queue_client, agent, lab, "complete")

    history = await queue_client.get(
        f"/establishments/{CLINIC}/visits/{patient['visit_id']}", headers=reception
    )
    steps = [(h["action"], h["ticket_label"]) for h in history.json()["history"]]
    assert steps == [
        ("issued", "MG-001"),
        ("called", "MG-001"),
        ("started", "MG-001"),
        ("completed", "MG-001"),
        ("routed", "MG-001"),
        ("issued", "LAB-002"),
        ("called", "LAB-002"),
        ("started", "LAB-002"),
        ("completed", "LAB-002"),
    ]
    completed = [
        e["payload"]
        for e in await events(queue_settings)
        if e["event_type"] == "queue.visit.completed"
    ]
    assert [(c["service_code"], c["visit_finished"], c["service_seconds"]) for c in completed] == [
        ("MG", False, 600),
        ("LAB", True, 240),
    ]
    called_event = next(
        e["payload"]
        for e in await events(queue_settings)
        if e["event_type"] == "queue.ticket.called" and e["payload"]["ticket_number"] == "LAB-002"
    )
    assert called_event["waited_seconds"] == 32 * 60  # measured from the original arrival
    assert lab_walk_in["label"] == "LAB-001"


async def test_illegal_transitions_are_refused_and_change_nothing(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    agent: dict[str, str],
    queue_settings: QueueSettings,
    mint: Callable[..., str],
) -> None:
    ticket = await issue(queue_client, reception)
    before = len(await events(queue_settings))
    never_called = await act(queue_client, agent, ticket, "complete", expect=409)
    assert never_called["code"] == "illegal-transition"
    assert "MG-001" in never_called["detail_fr"] and never_called["detail_ar"]
    await act(queue_client, reception, ticket, "cancel", {"reason": "patient_left"})
    call_cancelled = await queue_client.post(
        f"/establishments/{CLINIC}/counters/{counter_id('MG')}/call",
        json={"ticket_id": ticket["ticket_id"], "reason": "called_by_name"},
        headers=agent,
    )
    assert call_cancelled.status_code == 409
    assert call_cancelled.json()["code"] == "illegal-transition"

    lab = await issue(queue_client, reception, service="LAB")
    wrong_counter = await queue_client.post(
        f"/establishments/{CLINIC}/counters/{counter_id('MG')}/call",
        json={"ticket_id": lab["ticket_id"], "reason": "called_by_name"},
        headers=agent,
    )
    assert wrong_counter.status_code == 409
    assert wrong_counter.json()["code"] == "counter-of-another-service"

    other_agent = bearer(mint(Role.counter_agent, establishments=[OTHER]))
    other_clinic = await queue_client.post(
        f"/establishments/{OTHER}/tickets/{lab['ticket_id']}/start", headers=other_agent
    )
    assert other_clinic.status_code == 403
    assert other_clinic.json()["code"] == "ticket-of-another-establishment"
    forbidden = await queue_client.post(
        f"/establishments/{CLINIC}/tickets/{lab['ticket_id']}/start", headers=other_agent
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "establishment-forbidden"
    # only the cancel and the LAB ticket's issue were recorded
    assert [e["event_type"] for e in (await events(queue_settings))[before:]] == [
        "queue.ticket.cancelled",
        "queue.ticket.issued",
    ]


async def test_a_busy_counter_must_finish_before_calling_again(
    queue_client: httpx.AsyncClient, reception: dict[str, str], agent: dict[str, str]
) -> None:
    await issue(queue_client, reception)
    await issue(queue_client, reception)
    await call_next(queue_client, agent)
    busy = await call_next(queue_client, agent, expect=409)
    assert busy["code"] == "counter-busy"
    other = await call_next(queue_client, agent, n=2)
    assert other["ticket"]["label"] == "MG-002"


async def test_closed_services_refuse_tickets(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    admin: dict[str, str],
    clock: FixedClock,
) -> None:
    closed = await queue_client.put(
        f"/admin/establishments/{CLINIC}/services/DENT",
        json={"name_fr": "Chirurgie dentaire", "name_ar": "طب الأسنان", "active": False},
        headers=admin,
    )
    assert closed.status_code == 200, closed.text
    refused = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "DENT"}, headers=reception
    )
    assert refused.status_code == 409 and refused.json()["code"] == "service-closed"
    clock.advance(hours=9)  # 17:30 in Algiers: the clinic is closed
    late = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=reception
    )
    assert late.status_code == 409 and late.json()["code"] == "service-closed"
    assert "17:30" in late.json()["detail_fr"]


async def test_every_replica_sees_an_admin_change_without_restarting(
    queue_client: httpx.AsyncClient,
    queue_settings: QueueSettings,
    reception: dict[str, str],
    admin: dict[str, str],
    clock: FixedClock,
) -> None:
    """Clinics and services are kept in each process: a change made through one replica
    reaches the others by NOTIFY, without a restart."""
    async with running(create_app(queue_settings, clock=clock)) as other_replica:
        issue = {"json": {"service_code": "DENT"}, "headers": reception}
        path = f"/establishments/{CLINIC}/tickets"
        assert (await other_replica.post(path, **issue)).status_code == 201
        closed = await queue_client.put(
            f"/admin/establishments/{CLINIC}/services/DENT",
            json={"name_fr": "Chirurgie dentaire", "name_ar": "طب الأسنان", "active": False},
            headers=admin,
        )
        assert closed.status_code == 200, closed.text

        async def refused() -> bool:
            answer = await other_replica.post(path, **issue)
            assert answer.status_code in (201, 409), answer.text
            return answer.status_code == 409 and answer.json()["code"] == "service-closed"

        assert await wait_until(refused, timeout=10)
        # and the same for a clinic's hours: closed from 12:00 today
        hours = {day: ["08:00-12:00"] for day in ("sun", "mon", "tue", "wed", "thu")}
        changed = await queue_client.patch(
            f"/admin/establishments/{CLINIC}", json={"opening_hours": hours}, headers=admin
        )
        assert changed.status_code == 200, changed.text
        clock.advance(hours=4)  # 12:30 in Algiers
        mg = {"json": {"service_code": "MG"}, "headers": reception}

        async def closed_at_noon() -> bool:
            return (await other_replica.post(path, **mg)).status_code == 409

        assert await wait_until(closed_at_noon, timeout=10)
        assert (await queue_client.post(path, **mg)).status_code == 409


async def test_a_retry_with_the_same_idempotency_key_returns_the_first_ticket(
    queue_client: httpx.AsyncClient, reception: dict[str, str], queue_settings: QueueSettings
) -> None:
    headers = {**reception, "Idempotency-Key": "kiosk-1-0042"}
    first = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=headers
    )
    again = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=headers
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    reused = await queue_client.post(
        f"/establishments/{CLINIC}/tickets", json={"service_code": "PED"}, headers=headers
    )
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency-key-reused"
    assert [e["event_type"] for e in await events(queue_settings)] == ["queue.ticket.issued"]


async def test_an_idempotency_key_over_128_characters_is_refused_and_issues_nothing(
    queue_client: httpx.AsyncClient, reception: dict[str, str], queue_settings: QueueSettings
) -> None:
    for path, body in [
        (f"/establishments/{CLINIC}/tickets", {"service_code": "MG"}),
        (f"/establishments/{CLINIC}/check-in", {"booking_code": "K7M2Q9XA"}),
    ]:
        answer = await queue_client.post(
            path, json=body, headers={**reception, "Idempotency-Key": "k" * 129}
        )
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["code"] == "invalid-input"  # the header's declared limit, checked by FastAPI
        assert ["header", "Idempotency-Key"] in [e["location"] for e in problem["errors"]]
        assert "Idempotency-Key" in problem["detail_fr"] and problem["detail_ar"]
    assert await events(queue_settings) == []
    at_limit = await queue_client.post(
        f"/establishments/{CLINIC}/tickets",
        json={"service_code": "MG"},
        headers={**reception, "Idempotency-Key": "k" * 128},
    )
    assert at_limit.status_code == 201


async def test_a_nin_never_leaves_the_service_only_its_pseudonymous_key(
    queue_client: httpx.AsyncClient, reception: dict[str, str], queue_settings: QueueSettings
) -> None:
    nin = "109870512345678901"
    await issue(queue_client, reception, nin=nin, age_band="65+", sex="F", priority="elderly")
    [event] = await events(queue_settings)
    body = json.dumps(event)
    assert nin not in body
    assert len(event["payload"]["patient_key"]) == 64
    assert event["payload"]["age_band"] == "65+"
    engine = create_engine(queue_settings.database_url)
    try:
        async with engine.connect() as connection:
            dump = await connection.execute(text("SELECT t::text FROM tickets t"))
            assert all(nin not in row[0] for row in dump)
    finally:
        await engine.dispose()


async def test_the_ticket_status_page_gives_position_and_estimate(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    agent: dict[str, str],
    clock: FixedClock,
) -> None:
    tickets = [await issue(queue_client, reception) for _ in range(9)]
    # teach the service its pace: four patients served in 6 minutes each (enough to
    # outweigh the 7-minute default the estimate starts from)
    for _ in range(4):
        served = (await call_next(queue_client, agent))["ticket"]
        await act(queue_client, agent, served, "start")
        clock.advance(minutes=6)
        await act(queue_client, agent, served, "complete")
    status = (await queue_client.get(f"/tickets/{tickets[8]['ticket_id']}/status")).json()
    # 4 ahead + itself = 5 patients, 2 counters of MG, 6 min each → 15 min after 08:54
    assert status["position"] == 5 and status["ahead"] == 4
    assert status["estimated_wait_minutes"] == 15
    assert status["estimated_call_at"] == "09:09"
    assert status["establishment_name_fr"] and status["establishment_name_ar"]
    assert status["service_name_ar"] == "الطب العام"
    missing = await queue_client.get(f"/tickets/{uuid.uuid4()}/status")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(
        "application/problem+json"
    )


async def test_heartbeats_reach_the_bus_at_most_once_a_minute_per_terminal(
    queue_client: httpx.AsyncClient,
    mint: Callable[..., str],
    clock: FixedClock,
    queue_settings: QueueSettings,
) -> None:
    kiosk = bearer(mint(Role.kiosk, establishments=[CLINIC]))
    terminal = uuid.uuid4()
    for _ in range(4):
        response = await queue_client.post(
            f"/establishments/{CLINIC}/terminals/{terminal}/heartbeat",
            json={"kind": "kiosk"},
            headers=kiosk,
        )
        assert response.status_code == 204
        clock.advance(seconds=25)
    beats = [
        e for e in await events(queue_settings) if e["event_type"] == "queue.terminal.heartbeat"
    ]
    assert len(beats) == 2  # at 0 s and 75 s; those at 25 s and 50 s stayed local
    assert [b["sequence"] for b in beats] == [1, 2]
    assert beats[0]["payload"]["within_opening_hours"] is True
    stolen = await queue_client.post(
        f"/establishments/{OTHER}/terminals/{terminal}/heartbeat",
        json={"kind": "kiosk"},
        headers=bearer(mint(Role.kiosk, establishments=[OTHER])),
    )
    assert stolen.status_code == 403


async def test_a_counter_learns_its_open_ticket_after_a_lost_answer(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    agent: dict[str, str],
    mint: Callable[..., str],
) -> None:
    """The answer to a call-next may never reach the counter's page; the page then asks
    which ticket its counter has open instead of being refused as busy forever."""
    current = f"/establishments/{CLINIC}/counters/{counter_id('MG')}/current"
    assert (await queue_client.get(current, headers=agent)).json() == {
        "ticket": None,
        "explanation_fr": None,
        "explanation_ar": None,
    }
    ticket = await issue(queue_client, reception)
    await call_next(queue_client, agent)  # its answer "lost"
    assert (await call_next(queue_client, agent, expect=409))["code"] == "counter-busy"
    opened = (await queue_client.get(current, headers=agent)).json()["ticket"]
    assert (opened["ticket_id"], opened["status"]) == (ticket["ticket_id"], "called")
    await act(queue_client, agent, ticket, "start")
    assert (await queue_client.get(current, headers=agent)).json()["ticket"]["status"] == (
        "in_service"
    )
    await act(queue_client, agent, ticket, "complete")
    assert (await queue_client.get(current, headers=agent)).json()["ticket"] is None
    # the other counter of the service has nothing open; a counter of another clinic is
    # refused, an unknown one not found; a receptionist does not work at a counter
    other = f"/establishments/{CLINIC}/counters/{counter_id('MG', 2)}/current"
    assert (await queue_client.get(other, headers=agent)).json()["ticket"] is None
    foreign = f"/establishments/{CLINIC}/counters/{counter_id('MG', 1, OTHER)}/current"
    refused = await queue_client.get(foreign, headers=agent)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "counter-of-another-establishment"
    unknown = f"/establishments/{CLINIC}/counters/{uuid.uuid4()}/current"
    missing = await queue_client.get(unknown, headers=agent)
    assert missing.status_code == 404 and missing.json()["code"] == "unknown-counter"
    assert (await queue_client.get(current, headers=reception)).status_code == 403
    outsider = bearer(mint(Role.counter_agent, establishments=[OTHER]))
    assert (await queue_client.get(current, headers=outsider)).status_code == 403
