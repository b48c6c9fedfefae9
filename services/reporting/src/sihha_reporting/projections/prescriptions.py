"""Electronic prescriptions in polyclinics, per establishment and Algiers day.

`prescriptions_daily`: prescriptions issued, dispensed (wholly or in part),
fully dispensed and cancelled, with their line counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sihha_contracts.events.queue import (
    PrescriptionCancelledV1,
    PrescriptionDispensedV1,
    PrescriptionIssuedV1,
)
from sihha_reporting.domain.facts import Fact
from sihha_reporting.domain.writes import SUM, Upsert

if TYPE_CHECKING:
    from sihha_reporting.projections import ProjectionContext

NAME = "prescriptions"
VERSION = 1
HANDLES = frozenset(
    {"queue.prescription.issued", "queue.prescription.dispensed", "queue.prescription.cancelled"}
)
TABLES = ("prescriptions_daily",)

DAILY_COUNTS = (
    "issued",
    "lines_issued",
    "dispensed",
    "fully_dispensed",
    "lines_dispensed",
    "cancelled",
)


def project(facts: Sequence[Fact], context: ProjectionContext) -> list[Upsert]:
    daily = Upsert("prescriptions_daily", ("facility_id", "day"), {n: SUM for n in DAILY_COUNTS})
    for fact in facts:
        p, keys = fact.payload, {"facility_id": fact.facility_id, "day": fact.day}
        if isinstance(p, PrescriptionIssuedV1):
            daily.add(**keys, issued=1, lines_issued=p.line_count)
        elif isinstance(p, PrescriptionDispensedV1):
            daily.add(
                **keys,
                dispensed=1,
                fully_dispensed=1 if p.fully_dispensed else 0,
                lines_dispensed=p.line_count,
            )
        elif isinstance(p, PrescriptionCancelledV1):
            daily.add(**keys, cancelled=1)
    return [daily]
