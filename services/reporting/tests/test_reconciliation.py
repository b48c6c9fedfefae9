"""Reconciliation against the producing service's own counts, through its API."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sihha_kit.clock import local_day
from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import EventFactory, algiers

from .conftest import http_server, publish, wait_for_archive

pytestmark = pytest.mark.integration
DAY = date(2026, 10, 6)


def journeys() -> list[Any]:
    factory = EventFactory()
    events = []
    for hour, outcome in [
        (8, "served"),
        (9, "no_show"),
        (10, "cancelled"),
        (11, "served"),
        (12, "expired"),  # still waiting when the day closed: left without being seen
    ]:
        events += factory.ticket_journey("31-PC-001", "MG", algiers(DAY, hour), outcome=outcome)
    events += factory.ticket_journey("31-PC-002", "PED", algiers(DAY, 9), routed_to="LAB")
    return events


def source_counts(events: list[Any]) -> list[dict[str, Any]]:
    """What a correct queue service would count in its own tables."""
    counts: dict[str, Counter[str]] = {}
    names = {
        "queue.ticket.issued": "tickets_issued",
        "queue.ticket.called": "tickets_called",
        "queue.ticket.no_show": "no_shows",
        "queue.ticket.cancelled": "cancelled",
        "queue.patient.routed": "routed",
        "queue.visit.completed": "visits_completed",
        "queue.ticket.expired": "expired",
    }
    for e in events:
        if e.event_type in names:
            counts.setdefault(e.facility_id, Counter())[names[e.event_type]] += 1
    return [
        {"facility_id": code, "day": DAY.isoformat(), **{m: c[m] for m in names.values()}}
        for code, c in sorted(counts.items())
    ]


def queue_stub(rows: list[dict[str, Any]], *, has_activity: bool) -> Starlette:
    async def activity(request: Request) -> Response:
        if not has_activity:
            return JSONResponse({"title": "Not Found"}, status_code=404)
        assert request.headers["authorization"].startswith("Bearer ")
        return JSONResponse(rows)

    async def issued(request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "facility_id": r["facility_id"],
                    "service_day": r["day"],
                    "tickets_issued": r["tickets_issued"],
                }
                for r in rows
            ]
        )

    return Starlette(
        routes=[Route("/counts/activity", activity), Route("/counts/tickets-issued", issued)]
    )


async def test_reconciliation_lists_differences_and_falls_back_to_tickets_issued(
    reporting_app: tuple[FastAPI, httpx.AsyncClient],
    reporting_settings: ReportingSettings,
    group: dict[str, str],
) -> None:
    app, client = reporting_app
    events = journeys()
    await publish(reporting_settings, events)
    assert await wait_for_archive(reporting_settings, len(events)) == len(events)
    rows = source_counts(events)
    params = {"from": "2026-10-01", "to": "2026-10-31"}
    async with http_server(queue_stub(rows, has_activity=True)) as base:
        app.state.context.settings = reporting_settings.model_copy(update={"queue_url": base})
        clean = (await client.get("/reconciliation", params=params, headers=group)).json()
    assert clean["endpoint"] == "/counts/activity" and clean["ok"] and clean["differences"] == []
    assert clean["compared"] == 2 * 7 and "expired" in clean["metrics"]
    assert rows[0]["expired"] == 1  # counted on both sides, and equal
    report = (await client.get(f"/reports/wilaya/daily/{DAY}", headers=group)).json()
    lotfi = next(r for r in report["activity"]["establishments"] if r["facility_id"] == "31-PC-001")
    assert lotfi["left_without_being_seen"] == 1
    assert report["activity"]["totals"]["left_without_being_seen"] == 1
    assert "left_without_being_seen@v1" in report["activity"]["definitions"]
    rows[0]["expired"] += 1  # the queue expired one more ticket than reporting heard of
    rows[0]["no_shows"] += 1  # the source counted one more than reporting received
    async with http_server(queue_stub(rows, has_activity=True)) as base:
        app.state.context.settings = reporting_settings.model_copy(update={"queue_url": base})
        found = (await client.get("/reconciliation", params=params, headers=group)).json()
    assert found["differences"] == [
        {
            "facility_id": "31-PC-001",
            "day": "2026-10-06",
            "metric": metric,
            "source": 2,
            "reporting": 1,
            "difference": 1,
        }
        for metric in ("no_shows", "expired")
    ]
    async with http_server(queue_stub(rows, has_activity=False)) as base:
        app.state.context.settings = reporting_settings.model_copy(update={"queue_url": base})
        fallback = (await client.get("/reconciliation", params=params, headers=group)).json()
        environment = {
            **os.environ,
            "REPORTING_DATABASE_URL": reporting_settings.database_url,
            "REPORTING_QUEUE_URL": base,
            "REPORTING_JWT_PRIVATE_KEY_PATH": str(reporting_settings.jwt_private_key_path),
            "REPORTING_PATIENT_REKEY_KEY_PATH": str(reporting_settings.patient_rekey_key_path),
        }
        command = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "sihha_reporting",
                "reconcile",
                "--from",
                "2026-10-01",
                "--to",
                "2026-10-31",
            ],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert fallback["endpoint"] == "/counts/tickets-issued" and fallback["metrics"] == [
        "tickets_issued"
    ]
    assert fallback["ok"]
    assert command.returncode == 0, command.stderr[-2000:]
    assert json.loads(command.stdout)["ok"] is True
    assert local_day(algiers(DAY, 23, 59)) == DAY


def appointments_stub(rows: list[dict[str, Any]]) -> Starlette:
    async def counts(request: Request) -> Response:
        assert request.headers["authorization"].startswith("Bearer ")
        return JSONResponse(rows)

    return Starlette(routes=[Route("/counts/appointments", counts)])


async def test_reconciliation_of_the_appointments_service_counts(
    reporting_app: tuple[FastAPI, httpx.AsyncClient],
    reporting_settings: ReportingSettings,
    group: dict[str, str],
) -> None:
    app, client = reporting_app
    factory = EventFactory()
    events = factory.appointment("31-PC-001", algiers(date(2026, 10, 1), 10), algiers(DAY, 9))
    events += factory.appointment(
        "31-PC-001", algiers(date(2026, 10, 1), 11), algiers(DAY, 10), attended=False
    )
    await publish(reporting_settings, events)
    assert await wait_for_archive(reporting_settings, len(events)) == len(events)
    # what a correct appointments service counts: per day of each event
    rows = [
        {"facility_id": "31-PC-001", "day": "2026-10-01", "booked": 2, "cancelled": 0,
         "arrived": 0, "no_shows": 0, "places_offered": 40},
        {"facility_id": "31-PC-001", "day": DAY.isoformat(), "booked": 0, "cancelled": 0,
         "arrived": 1, "no_shows": 1, "places_offered": 40},
    ]  # fmt: skip
    params = {"from": "2026-10-01", "to": "2026-10-31", "source": "appointments"}
    async with http_server(appointments_stub(rows)) as base:
        app.state.context.settings = reporting_settings.model_copy(
            update={"appointments_url": base}
        )
        clean = (await client.get("/reconciliation", params=params, headers=group)).json()
        rows[1]["arrived"] = 2
        found = (await client.get("/reconciliation", params=params, headers=group)).json()
    assert clean["source"] == "appointments" and clean["ok"], clean
    assert clean["compared"] == 2 * 4
    assert found["differences"] == [
        {
            "facility_id": "31-PC-001",
            "day": DAY.isoformat(),
            "metric": "arrived",
            "source": 2,
            "reporting": 1,
            "difference": 1,
        }
    ]
