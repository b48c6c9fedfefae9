"""Electronic prescriptions in polyclinics, per establishment and Algiers day.

`prescriptions_daily`: prescriptions issued (and their lines; those signed with a
warning overridden, and the warnings overridden), dispenses (those that completed the
prescription; lines dispensed, lines dispensed by another brand) and cancellations.
`prescription_substances_daily`: per active substance, the lines and packs prescribed
and the packs dispensed (the top DCIs). Events written before the queue service sent
lines and warnings (version 1 without those optional fields) count in the first table
only.
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
VERSION = 2
HANDLES = frozenset(
    {"queue.prescription.issued", "queue.prescription.dispensed", "queue.prescription.cancelled"}
)
TABLES = ("prescriptions_daily", "prescription_substances_daily")

DAILY_COUNTS = (
    "issued",
    "lines_issued",
    "dispensed",
    "fully_dispensed",
    "lines_dispensed",
    "cancelled",
    "issued_with_override",
    "warnings_overridden",
    "lines_substituted",
)
SUBSTANCE_COUNTS = ("lines", "packs_prescribed", "packs_dispensed")


def project(facts: Sequence[Fact], context: ProjectionContext) -> list[Upsert]:
    daily = Upsert("prescriptions_daily", ("facility_id", "day"), {n: SUM for n in DAILY_COUNTS})
    substances = Upsert(
        "prescription_substances_daily",
        ("facility_id", "day", "substance"),
        {n: SUM for n in SUBSTANCE_COUNTS},
    )
    for fact in facts:
        p, keys = fact.payload, {"facility_id": fact.facility_id, "day": fact.day}
        if isinstance(p, PrescriptionIssuedV1):
            overridden = p.warnings_overridden or 0
            daily.add(
                **keys,
                issued=1,
                lines_issued=p.line_count,
                issued_with_override=1 if overridden else 0,
                warnings_overridden=overridden,
            )
            for line in p.lines or ():
                for substance in line.substances:
                    substances.add(
                        **keys, substance=substance, lines=1, packs_prescribed=line.quantity
                    )
        elif isinstance(p, PrescriptionDispensedV1):
            daily.add(
                **keys,
                dispensed=1,
                fully_dispensed=1 if p.fully_dispensed else 0,
                lines_dispensed=p.line_count,
                lines_substituted=sum(1 for line in p.lines or () if line.substituted),
            )
            for line in p.lines or ():
                for substance in line.substances:
                    substances.add(**keys, substance=substance, packs_dispensed=line.quantity)
        elif isinstance(p, PrescriptionCancelledV1):
            daily.add(**keys, cancelled=1)
    return [daily, substances]
