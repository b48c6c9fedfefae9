"""A published revision of a report: its identity, and the event it records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sihha_contracts.events.reporting import ReportFormat, ReportKind, ReportPublishedV1
from sihha_kit.domain import Aggregate

#: the formats every published report can be fetched in
PUBLISHED_FORMATS = (ReportFormat.JSON, ReportFormat.CSV, ReportFormat.XLSX, ReportFormat.PDF)
STANDARD_KINDS = frozenset(kind.value for kind in ReportKind)


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(kw_only=True)
class ReportRevision(Aggregate):
    revision_id: UUID
    report_id: UUID
    report_kind: str
    period_start: date
    period_end: date
    revision: int
    content_hash: str

    def publish(self, *, facility_id: str, at: datetime, delivered_to: str | None) -> None:
        if self.report_kind not in STANDARD_KINDS:
            return  # on-demand periods are not published
        self.version = self.revision - 1
        self.record(
            ReportPublishedV1(
                report_id=self.report_id,
                report_kind=ReportKind(self.report_kind),
                period_start=self.period_start,
                period_end=self.period_end,
                revision=self.revision,
                formats=PUBLISHED_FORMATS,
                delivered_to=delivered_to,
            ),
            facility_id=facility_id,
            aggregate_id=f"{self.report_kind}:{self.period_start}:{self.period_end}",
            at=at,
        )
