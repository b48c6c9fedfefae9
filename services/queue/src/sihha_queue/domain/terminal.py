"""A clinic's terminal (kiosk, counter screen, display board) and its heartbeat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sihha_contracts.events.queue import TerminalHeartbeatV1, TerminalKind
from sihha_kit.domain import Aggregate


@dataclass(kw_only=True)
class Terminal(Aggregate):
    terminal_id: UUID
    facility_id: str
    kind: TerminalKind
    last_seen_at: datetime | None = None
    #: when its last heartbeat event went out
    last_event_at: datetime | None = None

    def heartbeat(
        self, *, at: datetime, kind: TerminalKind, every: timedelta, within_opening_hours: bool
    ) -> bool:
        """The terminal is alive at `at`; an event goes out at most once per `every`.
        Returns True if one was recorded."""
        self.kind = kind
        self.last_seen_at = at
        if self.last_event_at is not None and at - self.last_event_at < every:
            return False
        self.last_event_at = at
        self.record(
            TerminalHeartbeatV1(
                terminal_id=self.terminal_id,
                terminal_kind=kind,
                within_opening_hours=within_opening_hours,
            ),
            facility_id=self.facility_id,
            aggregate_id=str(self.terminal_id),
            at=at,
        )
        return True
