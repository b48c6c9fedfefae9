"""Scheduled generation on the real database: the 1st of the month publishes the daily,
weekly, monthly and ministry reports once; running again publishes nothing new."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import algiers

from .conftest import query

pytestmark = pytest.mark.integration

FIRST_OF_DECEMBER = algiers(date(2026, 12, 1), 2)


@pytest.fixture
def clock() -> Any:
    return lambda: FIRST_OF_DECEMBER


async def test_the_first_of_the_month_publishes_each_report_once(
    reporting_app: tuple[FastAPI, httpx.AsyncClient], reporting_settings: ReportingSettings
) -> None:
    app, _ = reporting_app
    scheduler = app.state.context.scheduler
    done = await scheduler.run_due()
    assert {job.name for job in done} >= {
        "wilaya_daily",
        "wilaya_monthly",
        "ministry_monthly",
        "wilaya_weekly",
    }
    revisions = await query(
        reporting_settings,
        "SELECT report_kind, period_start, revision, trigger FROM report_revisions",
    )
    kinds = {(r["report_kind"], r["period_start"].isoformat()) for r in revisions}
    assert ("wilaya_daily", "2026-11-30") in kinds
    assert ("wilaya_monthly", "2026-11-01") in kinds and ("ministry_monthly", "2026-11-01") in kinds
    assert ("wilaya_weekly", "2026-11-22") in kinds
    assert {r["revision"] for r in revisions} == {1} and {r["trigger"] for r in revisions} == {
        "schedule"
    }
    assert await scheduler.run_due() == []  # once per period (and re-checks once a day)
    assert len(await query(reporting_settings, "SELECT * FROM report_revisions")) == len(revisions)
    events = await query(
        reporting_settings,
        "SELECT count(*) AS n FROM outbox WHERE event_type = 'reporting.report.published'",
    )
    assert events[0]["n"] == len(revisions)
