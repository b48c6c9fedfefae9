"""The merge rules of projections: any order of contributions gives the same row."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sihha_reporting.domain.writes import FIRST, MAX, MIN, OR, SUM, Upsert, earliest, latest

COMBINE = {
    "n": SUM,
    "first_at": MIN,
    "last_at": MAX,
    "flag": OR,
    "kind": FIRST,
    "latest_event": latest("last_at", "latest_event"),
    "latest_value": latest("last_at", "latest_event"),
    "early_at": MIN,
    "early_event": earliest("early_at", "early_event"),
    "early_value": earliest("early_at", "early_event"),
}


def contributions() -> list[dict[str, object]]:
    base = datetime(2026, 10, 5, 8, tzinfo=UTC)
    rows = []
    for i in range(6):
        at = base + timedelta(minutes=(i * 7) % 5)  # ties on purpose
        event = UUID(int=1000 + (i * 37) % 11)
        rows.append(
            {
                "k": "x",
                "n": i,
                "first_at": at,
                "last_at": at,
                "flag": i == 3,
                "kind": "same",
                "latest_event": event,
                "latest_value": f"v{i}",
                "early_at": at if i % 2 else None,
                "early_event": event if i % 2 else None,
                "early_value": f"e{i}" if i % 2 else None,
            }
        )
    return rows


def folded(rows: list[dict[str, object]]) -> dict[str, object]:
    upsert = Upsert("t", ("k",), COMBINE)
    for row in rows:
        upsert.add(**row)
    return upsert.rows[("x",)]


def test_every_order_of_contributions_gives_the_same_row() -> None:
    rows = contributions()
    expected = folded(rows)
    for order in itertools.islice(itertools.permutations(rows), 0, 720, 7):
        assert folded(list(order)) == expected
    assert expected["n"] == sum(range(6))
    assert expected["flag"] is True
    assert expected["kind"] == "same"


def test_merging_partial_rows_in_two_batches_equals_one_batch() -> None:
    rows = contributions()
    rng = random.Random(4)
    for _ in range(50):
        rng.shuffle(rows)
        cut = rng.randrange(1, len(rows))
        first, second = folded(rows[:cut]), folded(rows[cut:])
        merged = Upsert("t", ("k",), COMBINE)
        merged.add(**first)
        merged.add(**second)
        assert merged.rows[("x",)] == folded(rows)


def test_latest_carries_the_value_of_the_greatest_instant() -> None:
    at = datetime(2026, 10, 5, 8, tzinfo=UTC)
    upsert = Upsert(
        "t", ("k",), {"last_at": MAX, "tb": latest("last_at", "tb"), "v": latest("last_at", "tb")}
    )
    upsert.add(k=1, last_at=at + timedelta(hours=1), tb=UUID(int=1), v="later")
    upsert.add(k=1, last_at=at, tb=UUID(int=9), v="earlier")
    upsert.add(k=1, last_at=None, tb=None, v="no instant")
    assert upsert.rows[(1,)]["v"] == "later"
