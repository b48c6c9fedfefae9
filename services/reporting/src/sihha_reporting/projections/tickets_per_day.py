"""Tickets issued per establishment and Algiers-local day, by `occurred_at`.

Late or out-of-order events land on the day they happened, not the day they
arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sihha_reporting.domain.facts import Fact
from sihha_reporting.domain.writes import SUM, Upsert

if TYPE_CHECKING:
    from sihha_reporting.projections import ProjectionContext

NAME = "tickets_per_day"
VERSION = 1
HANDLES = frozenset({"queue.ticket.issued"})
TABLES = ("daily_tickets",)


def project(facts: Sequence[Fact], context: ProjectionContext) -> list[Upsert]:
    daily = Upsert("daily_tickets", ("facility_id", "day"), {"tickets_issued": SUM})
    for fact in facts:
        daily.add(facility_id=fact.facility_id, day=fact.day, tickets_issued=1)
    return [daily]
