"""Events of the reporting service (reports built from the event archive)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Self
from uuid import UUID

from pydantic import Field, model_validator

from sihha_contracts.catalogue import register
from sihha_contracts.envelope import EventPayload
from sihha_contracts.types import OpaqueRef


class ReportKind(StrEnum):
    WILAYA_DAILY = "wilaya_daily"
    WILAYA_WEEKLY = "wilaya_weekly"
    WILAYA_MONTHLY = "wilaya_monthly"
    MINISTRY_MONTHLY = "ministry_monthly"


class ReportFormat(StrEnum):
    PDF = "pdf"
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"


@register
class ReportPublishedV1(EventPayload):
    event_type = "reporting.report.published"
    schema_version = 1
    summary = "A report (aggregates only) was published for a period, possibly as a revision."

    report_id: UUID
    report_kind: ReportKind
    period_start: date = Field(description="First local day covered")
    period_end: date = Field(description="Last local day covered (inclusive)")
    revision: int = Field(ge=1, description="1 for the first publication of this period")
    formats: tuple[ReportFormat, ...] = Field(min_length=1)
    delivered_to: OpaqueRef | None = Field(
        default=None, description="Name of the delivery destination, e.g. `ministry-portal`"
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        if len(set(self.formats)) != len(self.formats):
            raise ValueError("formats must not repeat")
        return self


__all__ = ["ReportFormat", "ReportKind", "ReportPublishedV1"]
