"""The clinics' terminals and when each was last seen."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from sihha_contracts.events.queue import TerminalKind
from sihha_kit.uow import Repository
from sihha_queue.adapters.tables import terminals
from sihha_queue.domain.terminal import Terminal


class TerminalRepository(Repository):
    async def get(self, terminal_id: UUID) -> Terminal | None:
        """The terminal, locked until commit (its heartbeats are counted one at a time)."""
        row = (
            await self.session.execute(
                select(terminals).where(terminals.c.terminal_id == terminal_id).with_for_update()
            )
        ).first()
        if row is None:
            return None
        return self.track(
            Terminal(
                terminal_id=row.terminal_id,
                facility_id=row.facility_id,
                kind=TerminalKind(row.kind),
                last_seen_at=row.last_seen_at,
                last_event_at=row.last_event_at,
                version=row.version,
            )
        )

    async def save(self, terminal: Terminal) -> None:
        """Insert or update the terminal (a new one has no `last_seen_at` in the table)."""
        self.track(terminal)
        values = {
            "facility_id": terminal.facility_id,
            "kind": terminal.kind.value,
            "last_seen_at": terminal.last_seen_at,
            "last_event_at": terminal.last_event_at,
            "version": terminal.version,
        }
        statement = insert(terminals).values(terminal_id=terminal.terminal_id, **values)
        await self.session.execute(
            statement.on_conflict_do_update(index_elements=["terminal_id"], set_=values)
        )
