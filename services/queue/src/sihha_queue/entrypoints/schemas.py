"""Request and response bodies of the queue service's HTTP API."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sihha_contracts.events.queue import IssueChannel, Priority


class IssueTicketRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_code: str = Field(pattern=r"^[A-Z]{2,8}$", examples=["MG"])
    priority: Priority = Priority.NORMAL
    channel: IssueChannel = IssueChannel.RECEPTION


class TicketResponse(BaseModel):
    ticket_id: UUID
    visit_id: UUID
    facility_id: str
    service_code: str
    number: int
    label: str = Field(examples=["MG-042"])
    service_day: date
    priority: Priority
    status: str
    issued_at: datetime


class IssuedCount(BaseModel):
    facility_id: str
    service_day: date
    tickets_issued: int
