"""The live event stream for the IT units: a fan-out of what the consumer committed.

The consumer hands each committed batch's summaries to `LiveHub.publish`
(after the commit, never before); every open Server-Sent Events stream has a
bounded queue with its filters. A subscriber too slow to keep up loses the
oldest summaries and is told how many it missed. Summaries carry no payload:
type, version, establishment and times only (never a patient key).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sihha_kit.clock import to_local
from sihha_reporting.domain.facts import Fact


def summary(fact: Fact) -> dict[str, Any]:
    return {
        "event_id": str(fact.event_id),
        "event_type": fact.event_type,
        "schema_version": fact.schema_version,
        "known": fact.payload is not None,
        "facility_id": fact.facility_id,
        "occurred_at": to_local(fact.occurred_at).isoformat(),
    }


@dataclass(eq=False)
class Subscription:
    facility_id: str | None
    event_types: frozenset[str]
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(1000))
    missed: int = 0

    def wants(self, item: dict[str, Any]) -> bool:
        if self.facility_id is not None and item["facility_id"] != self.facility_id:
            return False
        if not self.event_types:
            return True
        event_type: str = item["event_type"]
        return event_type in self.event_types or any(
            t.endswith(".*") and event_type.startswith(t[:-1]) for t in self.event_types
        )

    def offer(self, item: dict[str, Any]) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.missed += 1
        self.queue.put_nowait(item)


class LiveHub:
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self.published = 0

    @property
    def listening(self) -> bool:
        return bool(self._subscriptions)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, facility_id: str | None, event_types: Iterable[str]) -> Subscription:
        subscription = Subscription(facility_id, frozenset(event_types))
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def publish(self, items: Iterable[dict[str, Any]]) -> None:
        for item in items:
            self.published += 1
            for subscription in self._subscriptions:
                if subscription.wants(item):
                    subscription.offer(item)
