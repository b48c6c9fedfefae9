"""The consumer: every event archived once, unknown ones kept and counted, undecodable ones
dead-lettered, projections exact; dead letters replayed with one command."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from datetime import date

import aio_pika
import httpx
import pytest
from fastapi import FastAPI

from sihha_contracts.envelope import Envelope
from sihha_kit.broker import Topology
from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import EventFactory, algiers, clinic_day

from .conftest import publish, query, wait_for_archive

pytestmark = pytest.mark.integration
DAY = date(2026, 10, 6)


def foreign(envelope: Envelope, **changes: object) -> Envelope:
    """The same envelope with another type/version, as a newer producer would send it."""
    data = json.loads(envelope.model_dump_json())
    data.update(changes, event_id=str(uuid.uuid4()))
    return Envelope.model_validate(data)


async def test_every_event_is_archived_once_and_counted_once(
    reporting_app: tuple[FastAPI, httpx.AsyncClient], reporting_settings: ReportingSettings
) -> None:
    events = clinic_day(EventFactory(), "31-PC-001", DAY, tickets=40, rng=random.Random(3))
    redelivered = random.Random(5).sample(events, 25)
    await publish(reporting_settings, events + redelivered)
    assert await wait_for_archive(reporting_settings, len(events)) == len(events)
    await asyncio.sleep(0.5)  # let the redeliveries through too
    [archived] = await query(
        reporting_settings, "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM event_archive"
    )
    assert archived == {"n": len(events), "d": len(events)}
    expected = Counter(e.event_type for e in events)
    counted = {
        r["event_type"]: r["events"]
        for r in await query(
            reporting_settings,
            "SELECT event_type, sum(events) AS events FROM event_counts GROUP BY 1",
        )
    }
    assert counted == dict(expected)
    [daily] = await query(
        reporting_settings,
        "SELECT sum(tickets_issued) AS issued, sum(calls) AS calls, sum(no_shows) AS no_shows, "
        "sum(cancelled) AS cancelled, sum(visits_completed) AS completed FROM polyclinic_daily",
    )
    assert daily == {
        "issued": expected["queue.ticket.issued"],
        "calls": expected["queue.ticket.called"],
        "no_shows": expected["queue.ticket.no_show"],
        "cancelled": expected["queue.ticket.cancelled"],
        "completed": expected["queue.visit.completed"],
    }
    # an envelope carries no personal data into the projections: no patient key anywhere
    [row] = await query(reporting_settings, "SELECT count(*) AS n FROM polyclinic_tickets")
    assert row["n"] == expected["queue.ticket.issued"]


async def test_unknown_types_and_versions_are_archived_and_counted_not_lost(
    reporting_app: tuple[FastAPI, httpx.AsyncClient], reporting_settings: ReportingSettings
) -> None:
    [issued, *_] = EventFactory().ticket_journey("31-PC-003", "MG", algiers(DAY, 9))
    # later events of the same ticket (their own sequences: the same aggregate and
    # sequence under a new event id would be a copy of `issued`, a conflict)
    newer_version = foreign(issued, schema_version=7, sequence=issued.sequence + 1)
    new_type = foreign(issued, event_type="queue.ticket.teleported", sequence=issued.sequence + 2)
    await publish(reporting_settings, [issued, newer_version, new_type])
    assert await wait_for_archive(reporting_settings, 3) == 3
    archived = await query(
        reporting_settings,
        "SELECT event_type, schema_version, known FROM event_archive ORDER BY 1, 2",
    )
    assert archived == [
        {"event_type": "queue.ticket.issued", "schema_version": 1, "known": True},
        {"event_type": "queue.ticket.issued", "schema_version": 7, "known": False},
        {"event_type": "queue.ticket.teleported", "schema_version": 1, "known": False},
    ]
    counts = await query(
        reporting_settings,
        "SELECT event_type, schema_version, events, known FROM event_counts ORDER BY 1, 2",
    )
    assert [(c["event_type"], c["schema_version"], c["events"], c["known"]) for c in counts] == [
        ("queue.ticket.issued", 1, 1, True),
        ("queue.ticket.issued", 7, 1, False),
        ("queue.ticket.teleported", 1, 1, False),
    ]
    [tickets] = await query(
        reporting_settings, "SELECT sum(tickets_issued) AS n FROM daily_tickets"
    )
    assert tickets["n"] == 1  # only the version this build understands is projected


async def dead_letters(settings: ReportingSettings) -> int:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            Topology(settings.broker_namespace).dead_letter_queue("reporting"), passive=True
        )
        return int(queue.declaration_result.message_count or 0)


async def test_undecodable_messages_are_dead_lettered_and_replayed_after_a_fix(
    reporting_app: tuple[FastAPI, httpx.AsyncClient],
    reporting_settings: ReportingSettings,
    it_unit: dict[str, str],
) -> None:
    _, client = reporting_app
    await publish(reporting_settings, [b"{not json", b'{"event_id": "broken"}'])
    for _ in range(100):
        if await dead_letters(reporting_settings) == 2:
            break
        await asyncio.sleep(0.1)
    assert await dead_letters(reporting_settings) == 2
    status = (await client.get("/monitor/status", headers=it_unit)).json()
    [own] = [c for c in status["consumers"] if c["consumer"] == "reporting"]
    assert own["dead_letters"] == 2
    assert await query(reporting_settings, "SELECT * FROM event_archive") == []

    # a valid event that was dead-lettered while something was broken, then fixed
    [good] = EventFactory().ticket_journey("31-PC-004", "MG", algiers(DAY, 9))[:1]
    connection = await aio_pika.connect(reporting_settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(
                good.model_dump_json().encode(),
                message_id=str(good.event_id),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=Topology(reporting_settings.broker_namespace).dead_letter_queue(
                "reporting"
            ),
        )
    assert await dead_letters(reporting_settings) == 3
    replayed = await client.post("/monitor/dead-letters/replay", headers=it_unit)
    assert replayed.status_code == 200 and replayed.json()["replayed"] == 3
    assert await wait_for_archive(reporting_settings, 1) == 1
    for _ in range(100):  # the two broken ones are back where they were, not looping
        if await dead_letters(reporting_settings) == 2:
            break
        await asyncio.sleep(0.1)
    assert await dead_letters(reporting_settings) == 2


async def test_identifiers_that_are_not_codes_are_dead_lettered_not_filed(
    reporting_app: tuple[FastAPI, httpx.AsyncClient], reporting_settings: ReportingSettings
) -> None:
    """Data from the bus is untrusted: an establishment code or an aggregate id that does not
    match its pattern (here, spreadsheet formulas) never reaches the archive or a report."""
    good, second = EventFactory().ticket_journey("31-PC-004", "MG", algiers(DAY, 9))[:2]
    forged = []
    for envelope, changes in [
        (good, {"facility_id": '=HYPERLINK("//x.example","ok")'}),
        (second, {"aggregate_id": "@SUM(1+1)*cmd|' /C calc'!A0"}),
    ]:
        data = json.loads(envelope.model_dump_json())
        data.update(changes, event_id=str(uuid.uuid4()))
        forged.append(json.dumps(data).encode())
    await publish(reporting_settings, forged, routing_key=good.event_type)
    await publish(reporting_settings, [good])
    assert await wait_for_archive(reporting_settings, 1) == 1
    for _ in range(100):
        if await dead_letters(reporting_settings) == 2:
            break
        await asyncio.sleep(0.1)
    assert await dead_letters(reporting_settings) == 2
    archived = await query(
        reporting_settings, "SELECT facility_id, aggregate_id FROM event_archive"
    )
    assert archived == [{"facility_id": "31-PC-004", "aggregate_id": good.aggregate_id}]
