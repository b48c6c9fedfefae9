"""Who may call each route of the reporting service: the generated route × role ×
establishment matrix (`sihha_kit.testing.access`). A route without its row here fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sihha_kit.auth import Role
from sihha_kit.testing.access import (
    AccessTable,
    Call,
    Row,
    anywhere,
    check_access,
    establishment,
    get,
    post,
    public,
    wilaya,
)
from sihha_kit.testing.apps import serving
from sihha_reporting.bootstrap import create_app
from sihha_reporting.config import ReportingSettings

from .conftest import consumer_ready

pytestmark = pytest.mark.integration

#: the wilaya's readers: the oversight group, the IT unit, the administrators
READERS = {Role.wilaya_group, Role.it_unit, Role.admin}
DAY = "2026-11-19"
INSPECTION = {
    "facility_id": "{establishment}",
    "visited_on": "2026-11-10",
    "inspector": "Inspection DSP",
    "equipped": True,
    "system_in_use": True,
}


def _both(path: str, **params: Any) -> tuple[Any, Any]:
    """A read of the whole wilaya, and the same read for one establishment."""
    return (
        wilaya(get(path, **params)),
        establishment(get(path, **params, facility_id="{establishment}")),
    )


ACCESS = AccessTable(
    {
        # what anyone may read: health, metrics, the texts and the monitor's empty page
        ("GET", "/health/live"): public(get("/health/live")),
        ("GET", "/health/ready"): public(get("/health/ready")),
        ("GET", "/metrics"): public(get("/metrics")),
        ("GET", "/i18n/{language}.json"): public(get("/i18n/ar.json")),
        ("GET", "/monitor"): public(get("/monitor")),
        ("GET", "/monitor/static/{name}"): public(get("/monitor/static/monitor.js")),
        ("DELETE", "/auth/stream-session"): public(Call("DELETE", "/auth/stream-session")),
        ("POST", "/auth/stream-session"): Row(set(), anywhere(post("/auth/stream-session"))),
        # the wilaya's views, for the whole wilaya or one establishment
        ("GET", "/activity/tickets-per-day"): Row(READERS, *_both("/activity/tickets-per-day")),
        ("GET", "/rollout"): Row(READERS, *_both("/rollout")),
        ("GET", "/inspections"): Row(READERS, *_both("/inspections")),
        ("POST", "/inspections"): Row(
            {Role.wilaya_group, Role.admin}, establishment(post("/inspections", INSPECTION))
        ),
        ("GET", "/reports/wilaya"): Row(
            READERS, *_both("/reports/wilaya", **{"from": "2026-11-01", "to": DAY})
        ),
        ("GET", "/reports/wilaya/daily/{day}"): Row(
            READERS, *_both(f"/reports/wilaya/daily/{DAY}")
        ),
        ("GET", "/reports/wilaya/weekly/{day}"): Row(
            READERS, *_both(f"/reports/wilaya/weekly/{DAY}")
        ),
        ("GET", "/reports/wilaya/monthly/{month}"): Row(
            READERS, *_both("/reports/wilaya/monthly/2026-10")
        ),
        # what always covers the whole wilaya
        ("GET", "/reports/ministry/monthly/{month}"): Row(
            {Role.ministry, Role.wilaya_group, Role.admin},
            wilaya(get("/reports/ministry/monthly/2026-10")),
        ),
        ("GET", "/reports/revisions"): Row(READERS, wilaya(get("/reports/revisions"))),
        ("GET", "/reports/deliveries"): Row(READERS, wilaya(get("/reports/deliveries"))),
        # the queue service is not running here: reconciliation answers that it cannot ask
        ("GET", "/reconciliation"): Row(READERS, wilaya(get("/reconciliation"), ok=(200, 503))),
        # the IT units' monitor: the whole wilaya's queues, dead letters and events
        ("GET", "/monitor/status"): Row({Role.it_unit, Role.admin}, wilaya(get("/monitor/status"))),
        ("GET", "/monitor/stream"): Row({Role.it_unit, Role.admin}, wilaya(get("/monitor/stream"))),
        ("POST", "/monitor/dead-letters/replay"): Row(
            {Role.it_unit, Role.admin}, wilaya(post("/monitor/dead-letters/replay"))
        ),
    }
)


async def test_every_route_admits_exactly_the_roles_and_establishments_of_its_row(
    reporting_settings: ReportingSettings, clock: Callable[[], Any], mint: Callable[..., str]
) -> None:
    app = create_app(reporting_settings, clock=clock)
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        await consumer_ready(app)
        requests = await check_access(client, app, ACCESS, mint)
    assert requests > len(ACCESS.rows) * len(Role) * 3
