"""The push of the ministry report through the delivery outbox: retries, one key, no duplicates."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sihha_kit.testing.apps import running
from sihha_reporting.bootstrap import create_app
from sihha_reporting.config import ReportingSettings
from sihha_reporting.domain.suppression import (
    PRIMARY_MARK,
    SECONDARY_MARK,
    Grid,
    Mark,
    can_change,
)
from sihha_reporting.synthetic import EventFactory, algiers, clinic_day

from .conftest import consumer_ready, http_server, publish, query, wait_for_archive

pytestmark = pytest.mark.integration


class MinistryPortal:
    """A receiving endpoint that fails its first `failures` requests with 503."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[dict[str, Any]] = []
        self.accepted: dict[str, bytes] = {}

    async def receive(self, request: Request) -> JSONResponse:
        body = await request.body()
        key = request.headers.get("idempotency-key", "")
        self.requests.append({"key": key, "body": body})
        if len(self.requests) <= self.failures:
            return JSONResponse({"error": "busy"}, status_code=503)
        duplicate = key in self.accepted
        self.accepted.setdefault(key, body)
        return JSONResponse({"duplicate": duplicate}, status_code=200)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/reports", self.receive, methods=["POST"])])


async def wait_delivered(
    settings: ReportingSettings, count: int, timeout: float = 30
) -> list[dict[str, Any]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await query(settings, "SELECT * FROM deliveries WHERE delivered_at IS NOT NULL")
        if len(rows) >= count or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.1)


def some_october(seed: int = 1) -> list[Any]:
    factory, rng = EventFactory(), random.Random(seed)
    events = []
    for offset in range(3):
        events += clinic_day(
            factory, "31-PC-001", date(2026, 10, 4) + timedelta(days=offset), tickets=10, rng=rng
        )
    return events


async def test_the_ministry_report_is_pushed_once_despite_failures(
    reporting_settings: ReportingSettings,
    clock: Any,
    ministry: dict[str, str],
    group: dict[str, str],
) -> None:
    portal = MinistryPortal(failures=2)
    async with http_server(portal.app()) as base:
        settings = reporting_settings.model_copy(
            update={"ministry_endpoint_url": f"{base}/reports", "delivery_retry_base_seconds": 0.2}
        )
        app = create_app(settings, clock=clock)
        async with running(app) as client:
            await consumer_ready(app)
            events = some_october()
            await publish(settings, events)
            assert await wait_for_archive(settings, len(events)) == len(events)
            path = "/reports/ministry/monthly/2026-10"
            # a read by the ministry (or anyone) publishes nothing and queues nothing
            read = await client.get(path, headers=ministry)
            assert read.status_code == 200 and read.json()["report"]["revision"] is None
            assert await query(settings, "SELECT * FROM deliveries") == []
            assert await query(settings, "SELECT * FROM report_revisions") == []
            assert (await client.post(f"{path}/publish", headers=ministry)).status_code == 403
            first = await client.post(f"{path}/publish", headers=group)
            assert first.json()["report"]["revision"] == 1
            app.state.context.delivery.wake.set()
            [delivered] = await wait_delivered(settings, 1)
            assert delivered["attempts"] == 3 and delivered["last_status"] == 200
            assert len(portal.requests) == 3
            assert {r["key"] for r in portal.requests} == {str(delivered["delivery_id"])}
            assert len({r["body"] for r in portal.requests}) == 1
            body = json.loads(portal.requests[0]["body"])
            assert body["report"]["revision"] == 1 and body["kind"] == "ministry_monthly"
            # reading the unchanged report again publishes nothing and sends nothing
            again = await client.get("/reports/ministry/monthly/2026-10", headers=ministry)
            assert again.json()["report"]["revision"] == 1
            await asyncio.sleep(0.5)
            assert len(portal.requests) == 3
            # late data: a new revision, delivered under a new key
            late = EventFactory().ticket_journey("31-PC-001", "MG", algiers(date(2026, 10, 20), 9))
            await publish(settings, late)
            assert await wait_for_archive(settings, len(events) + len(late)) == len(events) + len(
                late
            )
            stale = await client.get(path, headers=ministry)
            assert stale.json()["report"]["revision"] == 1
            assert stale.json()["report"]["pending_revision"]
            assert len(await query(settings, "SELECT * FROM deliveries")) == 1
            revised = await client.post(f"{path}/publish", headers=group)
            assert revised.json()["report"]["revision"] == 2
            app.state.context.delivery.wake.set()
            assert len(await wait_delivered(settings, 2)) == 2
            assert len(portal.accepted) == 2
            assert (await client.get("/reports/deliveries", headers=ministry)).status_code == 403
            deliveries = await client.get("/reports/deliveries", headers=group)
            assert deliveries.status_code == 200 and len(deliveries.json()) == 2


async def test_a_dhis2_push_with_an_incomplete_mapping_is_refused_before_anything_is_written(
    reporting_settings: ReportingSettings, clock: Any, group: dict[str, str], tmp_path: Path
) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("orgUnits: {'31': ImspTQPwCqd}\ndataElements: {}\n")
    settings = reporting_settings.model_copy(
        update={
            "ministry_endpoint_url": "http://127.0.0.1:9/never",
            "ministry_delivery_format": "dhis2",
            "dhis2_mapping_path": mapping,
        }
    )
    app = create_app(settings, clock=clock)
    async with running(app) as client:
        refused = await client.post("/reports/ministry/monthly/2026-10/publish", headers=group)
        assert refused.status_code == 422 and refused.json()["code"] == "dhis2-mapping-incomplete"
        assert refused.json()["missing"]
    assert await query(settings, "SELECT * FROM deliveries") == []
    assert await query(settings, "SELECT * FROM report_revisions") == []
    assert await query(settings, "SELECT * FROM outbox") == []


async def test_a_refusing_endpoint_stops_the_retries(
    reporting_settings: ReportingSettings, clock: Any, group: dict[str, str]
) -> None:
    async def refuse(request: Request) -> JSONResponse:
        return JSONResponse({"error": "schema"}, status_code=400)

    async with http_server(Starlette(routes=[Route("/r", refuse, methods=["POST"])])) as base:
        settings = reporting_settings.model_copy(
            update={"ministry_endpoint_url": f"{base}/r", "delivery_retry_base_seconds": 0.1}
        )
        app = create_app(settings, clock=clock)
        async with running(app) as client:
            await client.post("/reports/ministry/monthly/2026-10/publish", headers=group)
            app.state.context.delivery.wake.set()
            for _ in range(100):
                rows = await query(settings, "SELECT * FROM deliveries WHERE failed_at IS NOT NULL")
                if rows:
                    break
                await asyncio.sleep(0.1)
    assert rows and rows[0]["attempts"] == 1 and rows[0]["last_status"] == 400
    assert uuid.UUID(str(rows[0]["delivery_id"]))


class Dhis2Server:
    """A receiving DHIS2 `dataValueSets` endpoint that keeps data values as DHIS2 does: an
    import adds or updates them, an import with `importStrategy=DELETE` removes them."""

    def __init__(self) -> None:
        self.imports: list[tuple[str | None, dict[str, Any]]] = []
        self.values: dict[tuple[Any, ...], str] = {}

    async def receive(self, request: Request) -> JSONResponse:
        strategy = request.query_params.get("importStrategy")
        payload = json.loads(await request.body())
        self.imports.append((strategy, payload))
        for value in payload["dataValues"]:
            key = (value["dataElement"], value["period"], value["orgUnit"])
            if strategy == "DELETE":
                self.values.pop(key, None)
            else:
                self.values[key] = value["value"]
        return JSONResponse({"status": "SUCCESS"})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/dataValueSets", self.receive, methods=["POST"])])


EXAMPLE_MAPPING = Path(__file__).resolve().parents[1] / "dhis2-mapping.example.yaml"


async def test_a_revision_deletes_in_dhis2_what_it_suppresses_and_resists_subtraction(
    reporting_settings: ReportingSettings,
    clock: Any,
    ministry: dict[str, str],
    group: dict[str, str],
) -> None:
    """Issue 13 item 8: revision 1 sends the polyclinics' tickets by service (all of them 5 or
    more); a late ticket makes a new cell of 1, suppressed in revision 2. Revision 2 deletes
    in DHIS2 every value it no longer sends, and its suppression holds against everything
    revision 1 sent: no "<5" cell can be recomputed from the union of both."""
    dhis2 = Dhis2Server()
    factory = EventFactory()
    events = []
    for n, service in enumerate(["MG"] * 30 + ["PED"] * 8):
        day = date(2026, 10, 4) + timedelta(days=n % 5)
        events += factory.ticket_journey("31-PC-001", service, algiers(day, 8 + n % 6))
    async with http_server(dhis2.app()) as base:
        settings = reporting_settings.model_copy(
            update={
                "ministry_endpoint_url": f"{base}/api/dataValueSets",
                "ministry_delivery_format": "dhis2",
                "dhis2_mapping_path": EXAMPLE_MAPPING,
                "delivery_retry_base_seconds": 0.2,
            }
        )
        app = create_app(settings, clock=clock)
        async with running(app) as client:
            await consumer_ready(app)
            await publish(settings, events)
            assert await wait_for_archive(settings, len(events)) == len(events)
            path = "/reports/ministry/monthly/2026-10"
            assert (await client.post(f"{path}/publish", headers=group)).status_code == 200
            first = (await client.get(path, headers=ministry)).json()
            assert first["report"]["revision"] == 1
            app.state.context.delivery.wake.set()
            assert len(await wait_delivered(settings, 1)) == 1
            sent_first = dict(dhis2.values)

            late = factory.ticket_journey("31-PC-001", "GYN", algiers(date(2026, 10, 21), 10))
            await publish(settings, late)
            total = len(events) + len(late)
            assert await wait_for_archive(settings, total) == total
            assert (await client.post(f"{path}/publish", headers=group)).status_code == 200
            second = (await client.get(path, headers=ministry)).json()
            assert second["report"]["revision"] == 2
            app.state.context.delivery.wake.set()
            assert len(await wait_delivered(settings, 3)) == 3

    # the receiver got revision 1's values, then revision 2's deletions, then its values
    assert [strategy for strategy, _ in dhis2.imports] == [None, "DELETE", None]
    kept = {
        (v["dataElement"], v["period"], v["orgUnit"]) for v in dhis2.imports[2][1]["dataValues"]
    }
    deleted = {
        (v["dataElement"], v["period"], v["orgUnit"]) for v in dhis2.imports[1][1]["dataValues"]
    }
    assert deleted and deleted == set(sent_first) - kept
    assert set(dhis2.values) == kept  # DHIS2 holds exactly what revision 2 sends

    [table] = [t for t in second["tables"] if t["id"] == "polyclinic_tickets_by_service"]
    truth = {"MG": 30, "PED": 8, "GYN": 1}
    columns = [c["key"] for c in table["columns"]]
    assert columns[-1] == "total"
    inner = [[truth.get(key, 0) for key in columns[:-1]]] * (len(table["rows"]) - 1)
    earlier = {
        (row["key"], column): value
        for t in first["tables"]
        if t["id"] == table["id"]
        for row, line in zip(t["rows"], t["cells"], strict=True)
        for column, value in zip(columns, line, strict=True)
        if isinstance(value, int)
    }
    grid = Grid(inner, row_totals=True, column_totals=True)
    public = frozenset(
        (r, c)
        for r, row in enumerate(table["rows"])
        for c, column in enumerate(columns)
        if earlier.get((row["key"], column)) == grid.values[r][c]
    )
    known = Grid(inner, row_totals=True, column_totals=True, public=public)
    marks = {
        (r, c): Mark.PRIMARY if value == PRIMARY_MARK else Mark.SECONDARY
        for r, line in enumerate(table["cells"])
        for c, value in enumerate(line)
        if value in (PRIMARY_MARK, SECONDARY_MARK)
    }
    small = [cell for cell, mark in marks.items() if mark is Mark.PRIMARY]
    assert small  # the late ticket's cell is suppressed
    for cell in small:  # and cannot be recomputed from what both revisions published
        assert can_change(known, marks, cell), cell
