"""What clinics trip on (issue 13): one counter and two tickets, yesterday's patients in
today's queue, estimates that jump, a kiosk that gives itself priority — and the unit of
work that writes every event without being told. On the real database, through the API."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from sihha_kit.auth import Role
from sihha_kit.db import create_engine
from sihha_kit.testing.apps import FixedClock
from sihha_kit.testing.plugin import bearer
from sihha_queue.bootstrap import build_context
from sihha_queue.config import QueueSettings
from sihha_queue.service_layer import handlers

from .test_counter_flow import CLINIC, act, call_next, counter_id, events, issue

pytestmark = pytest.mark.integration


async def _sql(settings: QueueSettings, statement: str, **params: Any) -> list[Any]:
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_two_simultaneous_calls_from_one_counter_never_leave_it_two_patients(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    agent: dict[str, str],
    queue_settings: QueueSettings,
) -> None:
    path = f"/establishments/{CLINIC}/counters/{counter_id('MG')}/call-next"
    for attempt in range(50):
        await issue(queue_client, reception)
        await issue(queue_client, reception)
        first, second = await asyncio.gather(
            queue_client.post(path, headers=agent), queue_client.post(path, headers=agent)
        )
        answers = sorted([first, second], key=lambda r: r.status_code)
        assert [r.status_code for r in answers] == [200, 409], (attempt, first.text, second.text)
        assert answers[1].json()["code"] == "counter-busy"
        called = answers[0].json()["ticket"]
        [[open_tickets]] = await _sql(
            queue_settings,
            "SELECT count(*) FROM tickets WHERE counter_id = :counter "
            "AND status IN ('called', 'in_service')",
            counter=counter_id("MG"),
        )
        assert open_tickets == 1, attempt
        await act(queue_client, agent, called, "start")
        await act(queue_client, agent, called, "complete")


async def test_yesterdays_waiting_patients_are_not_in_todays_queue_and_are_expired(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    agent: dict[str, str],
    clock: FixedClock,
    queue_settings: QueueSettings,
    mint: Any,
) -> None:
    leftovers = [await issue(queue_client, reception) for _ in range(3)]
    clock.advance(hours=24)  # the next morning, 08:30
    today = await issue(queue_client, reception)
    status = (await queue_client.get(f"/tickets/{today['ticket_id']}/status")).json()
    assert status["position"] == 1 and status["ahead"] == 0  # nobody from yesterday
    waiting = (await queue_client.get(f"/establishments/{CLINIC}/tickets", headers=agent)).json()
    assert [t["ticket_id"] for t in waiting] == [today["ticket_id"]]
    old = (await queue_client.get(f"/tickets/{leftovers[0]['ticket_id']}/status")).json()
    assert old["status"] == "expired" and old["position"] is None

    # the day's closing expires them, with an event reporting counts
    context = build_context(queue_settings, clock=clock)
    await context.directory.reload()
    try:
        assert await handlers.close_days(context.uow(), clock=clock) == 3
        assert await handlers.close_days(context.uow(), clock=clock) == 0
    finally:
        await context.runtime.engine.dispose()
    expired = [e for e in await events(queue_settings) if e["event_type"] == "queue.ticket.expired"]
    assert sorted(e["payload"]["ticket_id"] for e in expired) == sorted(
        t["ticket_id"] for t in leftovers
    )
    assert {e["payload"]["status_before"] for e in expired} == {"waiting"}
    called = await call_next(queue_client, agent)
    assert called["ticket"]["ticket_id"] == today["ticket_id"]
    activity = (
        await queue_client.get(
            "/counts/activity",
            params={"from": "2026-11-25", "to": "2026-11-26"},
            headers=bearer(mint(Role.it_unit, establishments=["*"])),
        )
    ).json()
    assert sum(row["expired"] for row in activity) == 3


async def test_a_one_second_service_does_not_drag_the_estimate_and_no_counter_means_no_estimate(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    agent: dict[str, str],
    admin: dict[str, str],
    clock: FixedClock,
) -> None:
    first = await issue(queue_client, reception)
    called = (await call_next(queue_client, agent))["ticket"]
    assert called["ticket_id"] == first["ticket_id"]
    await act(queue_client, agent, called, "start")
    clock.advance(seconds=1)
    await act(queue_client, agent, called, "complete")
    mine = await issue(queue_client, reception)
    await issue(queue_client, reception)
    status = (await queue_client.get(f"/tickets/{mine['ticket_id']}/status")).json()
    # one patient ahead? no: `mine` is next; 2 counters, 7 min a patient by default
    assert status["position"] == 1
    assert status["estimated_wait_minutes"] >= 4  # not "1 min" after a one-second ticket
    assert status["establishment_name_fr"] and status["service_name_ar"]
    for n in (1, 2):  # close both counters of the service
        gone = await queue_client.delete(
            f"/admin/establishments/{CLINIC}/counters/{counter_id('MG', n)}", headers=admin
        )
        assert gone.status_code == 204
    status = (await queue_client.get(f"/tickets/{mine['ticket_id']}/status")).json()
    assert status["position"] == 1
    assert status["estimated_wait_minutes"] is None and status["estimated_call_at"] is None


async def test_a_kiosk_cannot_give_urgent_priority_nor_cancel_nor_read_the_lists(
    queue_client: httpx.AsyncClient, mint: Any, reception: dict[str, str]
) -> None:
    kiosk = bearer(mint(Role.kiosk, establishments=[CLINIC]))
    refused = await queue_client.post(
        f"/establishments/{CLINIC}/tickets",
        json={"service_code": "MG", "priority": "urgent"},
        headers=kiosk,
    )
    assert refused.status_code == 403 and refused.json()["code"] == "urgent-by-staff-only"
    assert refused.json()["detail_ar"] and refused.json()["detail_fr"]
    urgent = await issue(queue_client, reception, priority="urgent")  # reception may
    ticket = await issue(queue_client, kiosk, priority="elderly")
    for method, path, body in [
        (
            "POST",
            f"/establishments/{CLINIC}/tickets/{ticket['ticket_id']}/cancel",
            {"reason": "patient_left"},
        ),
        ("GET", f"/establishments/{CLINIC}/tickets", None),
        ("GET", f"/establishments/{CLINIC}/visits/{urgent['visit_id']}", None),
    ]:
        answer = await queue_client.request(method, path, json=body, headers=kiosk)
        assert answer.status_code == 403, (path, answer.text)


async def test_idempotency_keeps_no_unkeyed_hash_of_the_request_and_is_purged(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    clock: FixedClock,
    queue_settings: QueueSettings,
) -> None:
    nin = "109870512345678901"
    body = {"service_code": "MG", "priority": "normal", "nin": nin}
    headers = {**reception, "Idempotency-Key": "kiosk-1-7"}
    first = await queue_client.post(f"/establishments/{CLINIC}/tickets", json=body, headers=headers)
    assert first.status_code == 201
    [[stored]] = await _sql(queue_settings, "SELECT request_hash FROM idempotency_keys")
    full = {
        "path": CLINIC,
        "service_code": "MG",
        "priority": "normal",
        "channel": "reception",
        "nin": nin,
        "age_band": None,
        "sex": None,
    }
    unkeyed = hashlib.sha256(json.dumps(full, sort_keys=True, default=str).encode()).hexdigest()
    assert stored != unkeyed and len(stored) == 64
    context = build_context(queue_settings, clock=clock)
    try:
        clock.advance(hours=25)
        assert (
            await handlers.purge_idempotency(context.uow(), clock=clock, keep=handlers_retention())
            == 1
        )
    finally:
        await context.runtime.engine.dispose()
    assert await _sql(queue_settings, "SELECT 1 FROM idempotency_keys") == []


def handlers_retention() -> Any:
    from sihha_queue.adapters.idempotency import IDEMPOTENCY_RETENTION

    return IDEMPOTENCY_RETENTION


async def test_routing_writes_the_events_of_both_tickets_though_nobody_passed_them(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    doctor: dict[str, str],
    agent: dict[str, str],
    queue_settings: QueueSettings,
) -> None:
    """`route_patient` names no aggregate to the unit of work: the repository tracked the
    ticket it loaded and the one it added, and both tickets' events are in the outbox."""
    await issue(queue_client, reception)
    called = (await call_next(queue_client, agent))["ticket"]
    await act(queue_client, agent, called, "start")
    routed = await act(queue_client, doctor, called, "route", {"to_service_code": "LAB"})
    kinds = [
        (e["event_type"], e["payload"].get("ticket_id") or e["payload"].get("from_ticket_id"))
        for e in await events(queue_settings)
    ]
    new = routed["routed"]["ticket_id"]
    assert ("queue.visit.completed", called["ticket_id"]) in kinds
    assert ("queue.patient.routed", called["ticket_id"]) in kinds
    assert ("queue.ticket.issued", new) in kinds


async def test_the_process_never_opens_more_connections_than_its_budget(
    queue_settings: QueueSettings, clock: FixedClock, mint: Any
) -> None:
    from sihha_kit.testing.apps import running
    from sihha_queue.bootstrap import create_app

    settings = queue_settings.model_copy(update={"database_pool_size": 4})
    app = create_app(settings, clock=clock)
    budget = app.state.context.runtime.connection_budget
    assert budget == 4 + 2 + 1 + 1  # pool + overflow, relay, LISTEN
    database = settings.database_url.rsplit("/", 1)[1]
    reception = bearer(mint(Role.receptionist, establishments=[CLINIC]))
    seen: list[int] = []
    async with running(app) as client:
        stop = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                [[count]] = await _sql(
                    queue_settings,
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :name "
                    "AND pid <> pg_backend_pid()",
                    name=database,
                )
                seen.append(int(count))  # the watcher's own is left out (its pid)
                await asyncio.sleep(0.02)

        watcher = asyncio.create_task(watch())
        answers = await asyncio.gather(
            *(
                client.post(
                    f"/establishments/{CLINIC}/tickets",
                    json={"service_code": "MG"},
                    headers=reception,
                )
                for _ in range(80)
            )
        )
        stop.set()
        await watcher
    assert all(a.status_code == 201 for a in answers)
    assert seen and max(seen) <= budget, (max(seen), budget)
