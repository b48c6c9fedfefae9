"""Reporting beside the real queue service: tickets issued at clinic terminals reach the
reports, the live stream and the monitor, and the reconciliation finds no difference."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from sihha_kit.auth import Role
from sihha_kit.clock import local_day
from sihha_kit.testing.apps import running, wait_until
from sihha_kit.testing.plugin import bearer
from sihha_queue.bootstrap import create_app as create_queue_app
from sihha_queue.config import QueueSettings
from sihha_reporting.bootstrap import create_app as create_reporting_app
from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import algiers

pytestmark = pytest.mark.integration


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """The app behind a real HTTP server on a free loopback port (lifespan included)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(600):
            if server.started or task.done():
                break
            await asyncio.sleep(0.05)
        assert server.started, "the queue service did not start"
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def test_tickets_reach_the_reports_and_reconcile_with_the_queue_service(
    platform_settings: tuple[QueueSettings, ReportingSettings],
    mint: Callable[..., str],
    dev_keys: Path,
) -> None:
    queue_settings, reporting_settings = platform_settings
    reception = bearer(mint(Role.receptionist, establishments=["31-PC-001"]))
    kiosk = bearer(mint(Role.kiosk, establishments=["31-PC-002"]))
    group = bearer(mint(Role.wilaya_group, establishments=["*"]))
    it_unit = bearer(mint(Role.it_unit, establishments=["*"]))
    # a working morning, fixed: the queue service issues tickets only during opening hours
    morning = algiers(date(2026, 11, 25), 10)
    async with served(create_queue_app(queue_settings, clock=lambda: morning)) as queue_url:
        reporting_settings = reporting_settings.model_copy(
            update={
                "queue_url": queue_url,
                "jwt_private_key_path": dev_keys / "jwks-private.json",
                "schedule_enabled": False,
            }
        )
        async with (
            httpx.AsyncClient(base_url=queue_url, timeout=30) as queue,
            running(create_reporting_app(reporting_settings, clock=lambda: morning)) as reporting,
        ):
            issued = [
                queue.post(
                    "/establishments/31-PC-001/tickets",
                    json={"service_code": "MG"},
                    headers=reception,
                )
                for _ in range(5)
            ] + [
                queue.post(
                    "/establishments/31-PC-002/tickets",
                    json={"service_code": "PED", "channel": "kiosk"},
                    headers=kiosk,
                )
                for _ in range(3)
            ]
            responses = await asyncio.gather(*issued)
            assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
            today = local_day(morning)

            async def counted() -> dict[str, Any]:
                response = await reporting.get(f"/reports/wilaya/daily/{today}", headers=group)
                report = response.json()
                return report if report["activity"]["totals"]["tickets_issued"] >= 8 else {}

            report = await wait_until(counted, timeout=30)
            assert report["report"]["status"] == "provisional"
            by_code = {
                r["facility_id"]: r["tickets_issued"] for r in report["activity"]["establishments"]
            }
            assert by_code == {"31-PC-001": 5, "31-PC-002": 3}
            reconciliation = (
                await reporting.get(
                    "/reconciliation", params={"from": str(today), "to": str(today)}, headers=group
                )
            ).json()
            assert reconciliation["ok"], reconciliation["differences"]
            assert reconciliation["endpoint"] in ("/counts/activity", "/counts/tickets-issued")
            assert reconciliation["compared"] >= 2
            status = (await reporting.get("/monitor/status", headers=it_unit)).json()
            last = {e["facility_id"]: e["last_event_type"] for e in status["establishments"]}
            assert last["31-PC-001"] == "queue.ticket.issued"
