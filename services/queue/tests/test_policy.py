"""The fair rule, alone (no I/O), and the SQL that applies it against the reference."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from sihha_contracts.events.queue import IssueChannel, Priority
from sihha_kit.db import create_engine, session_factory
from sihha_queue.adapters.tickets import TicketRepository
from sihha_queue.config import QueueSettings
from sihha_queue.domain.policy import CallPolicy
from sihha_queue.domain.ticket import Ticket

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@dataclass
class Waiting:
    priority: Priority
    arrived_at: datetime
    number: int


def test_ageing_lets_a_normal_ticket_overtake_a_newer_priority_ticket() -> None:
    policy = CallPolicy()
    normal = Waiting(Priority.NORMAL, NOW - timedelta(minutes=25), 1)
    elderly = Waiting(Priority.ELDERLY, NOW - timedelta(minutes=4), 2)  # 4 + 20 = 24 < 25
    choice = policy.choose_next([elderly, normal], NOW)
    assert choice is not None and choice.ticket is normal and choice.reason == "ageing:normal"
    fresher = Waiting(Priority.ELDERLY, NOW - timedelta(minutes=6), 3)  # 6 + 20 = 26 > 25
    choice = policy.choose_next([normal, fresher], NOW)
    assert (
        choice is not None
        and choice.ticket is fresher
        and choice.reason == "priority:elderly+ageing"
    )


def test_urgent_first_then_the_wait_cap_then_scores() -> None:
    policy = CallPolicy(wait_cap=timedelta(minutes=90))
    capped = Waiting(Priority.NORMAL, NOW - timedelta(minutes=95), 1)
    pregnant = Waiting(
        Priority.PREGNANT, NOW - timedelta(minutes=80), 2
    )  # score 110 > 95 but capped wins
    urgent = Waiting(Priority.URGENT, NOW - timedelta(minutes=1), 3)
    order = sorted([pregnant, capped, urgent], key=lambda t: policy.sort_key(t, NOW))
    assert order == [urgent, capped, pregnant]
    assert policy.explain(capped, NOW).reason == "wait_cap:normal"


def test_nobody_is_starved_by_a_stream_of_priority_arrivals() -> None:
    policy = CallPolicy()
    rng = random.Random(7)
    start = NOW
    waiting = [Waiting(Priority.NORMAL, start, 0)]
    now = start
    number = 1
    served_at = None
    for minute in range(600):  # ten hours, a priority patient every minute, one served every minute
        now = start + timedelta(minutes=minute)
        waiting.append(
            Waiting(
                rng.choice([Priority.PREGNANT, Priority.DISABILITY, Priority.ELDERLY]), now, number
            )
        )
        number += 1
        choice = policy.choose_next(waiting, now)
        assert choice is not None
        waiting.remove(choice.ticket)  # type: ignore[arg-type]
        if choice.ticket.number == 0:
            served_at = now
            break
    assert served_at is not None
    assert served_at - start <= policy.wait_cap


@pytest.mark.integration
async def test_the_repository_picks_what_the_policy_picks(
    queue_client: object, queue_settings: QueueSettings
) -> None:
    """`queue_client` runs the migrations; then random queues are compared, pick after pick."""
    policy = CallPolicy()
    rng = random.Random(31)
    engine = create_engine(queue_settings.database_url)
    sessions = session_factory(engine)
    try:
        for _round in range(5):
            tickets = []
            for _ in range(1, 40):  # numbered by the repository as they are added
                priority = rng.choice(list(Priority))
                arrived = NOW - timedelta(minutes=rng.randint(0, 130))
                ticket = Ticket.issue(
                    facility_id="31-PC-003",
                    service_code="MG",
                    service_day=date(2026, 11, 25),
                    priority=priority,
                    channel=IssueChannel.RECEPTION,
                    at=arrived,
                    effective_at=policy.effective_at(priority, arrived),
                )
                tickets.append(ticket)
            async with sessions() as session, session.begin():
                await session.execute(text("DELETE FROM tickets WHERE facility_id = '31-PC-003'"))
                await session.execute(
                    text("DELETE FROM ticket_history WHERE facility_id = '31-PC-003'")
                )
                repository = TicketRepository(session)
                for ticket in tickets:
                    await repository.add(ticket)
            remaining = list(tickets)
            while remaining:
                expected = policy.choose_next(remaining, NOW)
                assert expected is not None
                async with sessions() as session, session.begin():
                    picked = await TicketRepository(session).next_waiting(
                        "31-PC-003", "MG", date(2026, 11, 25), NOW, policy
                    )
                    assert picked is not None
                    assert picked.ticket_id == expected.ticket.ticket_id  # type: ignore[attr-defined]
                    await session.execute(
                        text("UPDATE tickets SET status = 'called' WHERE ticket_id = :id"),
                        {"id": picked.ticket_id},
                    )
                remaining = [t for t in remaining if t.ticket_id != picked.ticket_id]
    finally:
        await engine.dispose()
