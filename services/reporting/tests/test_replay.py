"""Replay: one command rebuilds every projection from the archive, equal to the live ones."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import uuid
from datetime import date, timedelta

import httpx
import pytest
from fastapi import FastAPI

from sihha_contracts.envelope import Envelope
from sihha_contracts.events.emergency import Disposition
from sihha_kit.db import create_engine
from sihha_reporting.adapters.report_queries import projection_snapshot
from sihha_reporting.config import ReportingSettings
from sihha_reporting.projections import projection_tables
from sihha_reporting.service_layer.replay import rebuild
from sihha_reporting.synthetic import EventFactory, algiers, clinic_day

from .conftest import publish, wait_for_archive

pytestmark = pytest.mark.integration


def mixed_events() -> list[Envelope]:
    """Two weeks of every kind of event, shuffled (out of order), with an unknown version."""
    factory, rng = EventFactory(), random.Random(11)
    events: list[Envelope] = []
    for offset in range(14):
        day = date(2026, 10, 4) + timedelta(days=offset)
        if day.weekday() == 4:
            continue
        events += clinic_day(factory, "31-PC-001", day, tickets=12, rng=rng)
        events += clinic_day(factory, "31-PC-002", day, tickets=8, rng=rng)
        events += factory.emergency_visit(
            "31-EPH-01",
            algiers(day, 11),
            triage_level=rng.randint(1, 5),
            disposition=rng.choice(list(Disposition)),
        )
        events += factory.appointment(
            "31-PC-001",
            algiers(day, 9) - timedelta(days=5),
            algiers(day, 10),
            attended=rng.random() < 0.7,
        )
        events += factory.encounter("31-EHS-02", algiers(day, 13))
    data = json.loads(events[0].model_dump_json())
    # a later event of the same aggregate (its own sequence: the same one under a new
    # event id would be a copy of events[0], a conflict the inbox does not apply)
    data.update(event_id=str(uuid.uuid4()), schema_version=3, sequence=data["sequence"] + 1000)
    events.append(Envelope.model_validate(data))
    rng.shuffle(events)
    return events


async def snapshot(settings: ReportingSettings) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            from sqlalchemy.ext.asyncio import AsyncSession

            async with AsyncSession(bind=connection) as session:
                return await projection_snapshot(session, projection_tables())
    finally:
        await engine.dispose()


async def test_rebuilt_projections_equal_the_live_ones(
    reporting_app: tuple[FastAPI, httpx.AsyncClient], reporting_settings: ReportingSettings
) -> None:
    app, _ = reporting_app
    events = mixed_events()
    await publish(reporting_settings, events + events[:50])  # and some redeliveries
    assert await wait_for_archive(reporting_settings, len(events), timeout=60) == len(events)
    await asyncio.sleep(0.5)
    live = await snapshot(reporting_settings)
    assert all(
        live[table]
        for table in (
            "polyclinic_daily",
            "polyclinic_tickets",
            "emergency_visits",
            "appointment_facts",
            "records_daily",
            "facility_milestones",
        )
    )
    context = app.state.context
    result = await rebuild(context.runtime.sessions, context.projector, chunk_size=500)
    assert result.events == len(events) and result.undecodable == 0
    assert await snapshot(reporting_settings) == live


async def test_the_rebuild_command_replays_the_archive(
    reporting_settings: ReportingSettings,
) -> None:
    from sihha_kit.testing.apps import running
    from sihha_reporting.bootstrap import create_app

    from .conftest import consumer_ready

    events = mixed_events()[:400]
    app = create_app(reporting_settings)
    async with running(app):
        await consumer_ready(app)
        await publish(reporting_settings, events)
        assert await wait_for_archive(reporting_settings, len(events)) == len(events)
        await asyncio.sleep(0.3)
    live = await snapshot(reporting_settings)
    environment = {
        **os.environ,
        "REPORTING_DATABASE_URL": reporting_settings.database_url,
        "REPORTING_AMQP_URL": reporting_settings.amqp_url,
        "REPORTING_BROKER_NAMESPACE": reporting_settings.broker_namespace,
        "REPORTING_PATIENT_REKEY_KEY_PATH": str(reporting_settings.patient_rekey_key_path),
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "sihha_reporting", "rebuild"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["events"] == len(events)
    assert await snapshot(reporting_settings) == live


async def test_readers_keep_the_old_projections_while_a_rebuild_runs(
    reporting_app: tuple[FastAPI, httpx.AsyncClient], reporting_settings: ReportingSettings
) -> None:
    from sihha_reporting.service_layer.replay import rebuild_in

    from .conftest import query

    app, _ = reporting_app
    events = mixed_events()[:300]
    await publish(reporting_settings, events)
    assert await wait_for_archive(reporting_settings, len(events)) == len(events)
    before = await query(
        reporting_settings, "SELECT * FROM daily_tickets ORDER BY facility_id, day"
    )
    context = app.state.context
    async with context.runtime.sessions() as session, session.begin():
        await rebuild_in(session, context.projector, chunk_size=100)
        # not committed yet: another reader is not blocked and sees the old rows
        during = await asyncio.wait_for(
            query(reporting_settings, "SELECT * FROM daily_tickets ORDER BY facility_id, day"), 10
        )
        assert during == before
    assert (
        await query(reporting_settings, "SELECT * FROM daily_tickets ORDER BY facility_id, day")
        == before
    )
