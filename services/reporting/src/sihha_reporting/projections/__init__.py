"""Projections: read models built from events, each rebuildable from the archive.

A projection is one small module with:

- `NAME` and `VERSION` (bump the version when the module's logic changes: the
  projection must then be rebuilt, `python -m sihha_reporting rebuild`);
- `HANDLES`: the event types it reads (`None`: every event, unknown ones included);
- `TABLES`: the tables it owns (emptied and refilled by a rebuild);
- `project(facts, context) -> list[Upsert]`: pure, no I/O; what to add to its
  tables for a batch of facts (see `sihha_reporting.domain.writes`).

Adding a projection is a new module listed in `PROJECTIONS`, its tables in
`adapters/tables.py` and a migration that creates them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType

from sihha_kit.registry import Registry
from sihha_reporting.domain.facts import Fact
from sihha_reporting.domain.hours import HoursBook
from sihha_reporting.domain.writes import Upsert, non_empty
from sihha_reporting.projections import (
    appointments,
    emergency,
    event_counts,
    polyclinic_activity,
    prescriptions,
    presence,
    records,
    tickets_per_day,
)

PROJECTIONS: tuple[ModuleType, ...] = (
    event_counts,
    tickets_per_day,
    polyclinic_activity,
    presence,
    appointments,
    emergency,
    records,
    prescriptions,
)


@dataclass
class ProjectionContext:
    """What projections may consult besides the events: the establishments' opening hours."""

    registry: Registry
    hours: HoursBook = field(init=False)

    def __post_init__(self) -> None:
        self.hours = HoursBook(self.registry)


def projection_tables(projections: Sequence[ModuleType] = PROJECTIONS) -> list[str]:
    return [table for projection in projections for table in projection.TABLES]


class Projector:
    """Dispatches a batch of facts to the projections that handle their types."""

    def __init__(
        self, context: ProjectionContext, projections: Sequence[ModuleType] = PROJECTIONS
    ) -> None:
        self.context = context
        self.projections = tuple(projections)
        self._all = [p for p in self.projections if p.HANDLES is None]
        self._by_type: dict[str, list[ModuleType]] = defaultdict(list)
        for projection in self.projections:
            for event_type in projection.HANDLES or ():
                self._by_type[event_type].append(projection)

    def project(self, facts: Sequence[Fact]) -> list[Upsert]:
        routed: dict[str, list[Fact]] = defaultdict(list)
        for fact in facts:
            if fact.payload is None:
                continue  # unknown type/version: only the projections of every event see it
            for projection in self._by_type.get(fact.event_type, ()):
                routed[projection.NAME].append(fact)
        upserts: list[Upsert] = []
        for projection in self._all:
            upserts.extend(projection.project(facts, self.context))
        for projection in self.projections:
            batch = routed.get(projection.NAME)
            if batch:
                upserts.extend(projection.project(batch, self.context))
        return non_empty(upserts)
