"""Commands: what a terminal asks the queue service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass

from sihha_contracts.events.queue import IssueChannel, Priority


@dataclass(frozen=True)
class IssueTicket:
    facility_id: str
    service_code: str
    priority: Priority = Priority.NORMAL
    channel: IssueChannel = IssueChannel.RECEPTION
