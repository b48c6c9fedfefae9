"""Reconciliation: the reports' counts against the producing services' own counts.

For every establishment and day of the period and every metric both sides
count, the difference source − reporting is listed when it is not zero. The
expected number of differences is zero; a difference means an event lost,
doubled, or not yet consumed (look at the consumer lag and the dead letters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sihha_reporting.adapters.sources import SourceCounts
from sihha_reporting.service_layer.unit_of_work import ReportingUnitOfWork


class CountSource(Protocol):
    async def fetch(self, start: date, end: date) -> SourceCounts: ...


@dataclass
class Reconciliation:
    start: date
    end: date
    source: str
    endpoint: str
    metrics: tuple[str, ...]
    compared: int
    differences: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "source": self.source,
            "endpoint": self.endpoint,
            "metrics": list(self.metrics),
            "compared": self.compared,
            "differences": self.differences,
            "ok": self.ok,
        }


async def reconcile(
    uow: Callable[[], ReportingUnitOfWork], source: CountSource, start: date, end: date
) -> Reconciliation:
    theirs = await source.fetch(start, end)
    async with uow() as work:
        if theirs.source == "appointments":
            ours_rows = await work.queries.appointment_counts(start, end)
        else:
            ours_rows = await work.queries.activity_counts(start, end)
    ours = {(r["facility_id"], r["day"]): r for r in ours_rows}
    result = Reconciliation(start, end, theirs.source, theirs.endpoint, theirs.metrics, 0)
    for key in sorted(set(ours) | set(theirs.counts)):
        facility_id, day = key
        for metric in theirs.metrics:
            expected = theirs.counts.get(key, {}).get(metric, 0)
            counted = int(ours.get(key, {}).get(metric, 0))
            result.compared += 1
            if expected != counted:
                result.differences.append(
                    {
                        "facility_id": facility_id,
                        "day": day.isoformat(),
                        "metric": metric,
                        "source": expected,
                        "reporting": counted,
                        "difference": expected - counted,
                    }
                )
    return result
