"""Projections on their own (no database): a ticket's row converges whatever the order."""

from __future__ import annotations

import random
from datetime import date

from sihha_kit.registry import load_registry
from sihha_reporting.domain.facts import Fact
from sihha_reporting.domain.writes import Upsert
from sihha_reporting.projections import PROJECTIONS, ProjectionContext, Projector
from sihha_reporting.synthetic import EventFactory, algiers


def _facts(envelopes: list) -> list[Fact]:  # type: ignore[type-arg]
    from sihha_contracts.catalogue import decode

    out = []
    for envelope in envelopes:
        decoded, payload = decode(envelope.model_dump_json())
        out.append(Fact.from_envelope(decoded, payload))
    return out


def _state(projector: Projector, batches: list[list[Fact]]) -> dict[str, dict]:  # type: ignore[type-arg]
    tables: dict[str, Upsert] = {}
    for batch in batches:
        for upsert in projector.project(batch):
            target = tables.setdefault(
                upsert.table, Upsert(upsert.table, upsert.key, upsert.combine)
            )
            for row in upsert.rows.values():
                target.add(**row)
    return {name: upsert.rows for name, upsert in tables.items()}


def test_every_projection_is_a_small_module_with_its_tables() -> None:
    names = [p.NAME for p in PROJECTIONS]
    assert len(names) == len(set(names))
    for projection in PROJECTIONS:
        assert projection.TABLES and isinstance(projection.VERSION, int)
        assert projection.HANDLES is None or all(t.count(".") == 2 for t in projection.HANDLES)


def test_ticket_timings_converge_whatever_the_order_and_the_batching() -> None:
    factory = EventFactory()
    day = date(2026, 10, 6)
    events = factory.ticket_journey(
        "31-PC-001", "MG", algiers(day, 9), wait_seconds=900, routed_to="LAB"
    )
    events += factory.ticket_journey("31-PC-001", "PED", algiers(day, 10), outcome="no_show")
    facts = _facts(events)
    projector = Projector(ProjectionContext(load_registry()))
    expected = _state(projector, [facts])
    rng = random.Random(7)
    for _ in range(20):
        shuffled = facts[:]
        rng.shuffle(shuffled)
        cuts = sorted(rng.sample(range(1, len(shuffled)), 3))
        batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
        assert _state(projector, batches) == expected
    tickets = expected["polyclinic_tickets"]
    first = next(row for row in tickets.values() if row["service_code"] == "MG")
    assert (first["first_called_at"] - first["arrived_at"]).total_seconds() == 900
    routed = next(row for row in tickets.values() if row["service_code"] == "LAB")
    assert routed["arrived_at"] == first["arrived_at"]  # waits run from the original arrival
    daily = expected["polyclinic_daily"]
    assert daily[("31-PC-001", day, "MG")]["routed_out"] == 1
    assert daily[("31-PC-001", day, "LAB")]["routed_in"] == 1
    assert daily[("31-PC-001", day, "PED")]["no_shows"] == 1


def test_a_late_event_lands_on_the_day_it_happened() -> None:
    factory = EventFactory()
    early = factory.ticket_journey(
        "31-PC-002", "MG", algiers(date(2026, 10, 1), 23, 30)
    )  # Algiers time
    facts = _facts(early[:1])
    projector = Projector(ProjectionContext(load_registry()))
    state = _state(projector, [facts])
    assert ("31-PC-002", date(2026, 10, 1)) in state["daily_tickets"]  # 22:30 UTC, 23:30 in Algiers
