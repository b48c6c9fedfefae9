"""The fair rule that decides which waiting ticket a counter calls next.

Documented in docs/queue.md ("Who is called next"). In short, for the waiting
tickets of the counter's service:

1. **urgent** tickets first, oldest arrival first;
2. then any ticket that has waited **at least `wait_cap`** (90 minutes by
   default) since the patient's original arrival, oldest first — the cap that
   guarantees nobody is starved whatever keeps arriving;
3. then the highest **score = minutes waited + priority bonus** (elderly 20,
   pregnant 30, disability 30, appointment holder 30, normal 0). Because
   every waiting ticket gains one point a minute, a normal ticket overtakes a
   newer priority ticket once it has waited the bonus longer: ageing.

Score order is the same as ordering by `effective_at = arrived_at − bonus`
ascending, which the repository uses in SQL; `choose_next` is the reference
implementation that tests compare the SQL with, and that explains the choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sihha_contracts.events.queue import Priority
from sihha_kit.i18n import N_, Message

#: the catalogue key of each priority's name (the pages' own keys)
PRIORITY_NAMES: dict[Priority, str] = {
    Priority.NORMAL: N_("priority_normal"),
    Priority.ELDERLY: N_("priority_elderly"),
    Priority.PREGNANT: N_("priority_pregnant"),
    Priority.DISABILITY: N_("priority_disability"),
    Priority.URGENT: N_("priority_urgent"),
    Priority.APPOINTMENT: N_("priority_appointment"),
}

DEFAULT_BONUS_MINUTES: dict[Priority, int] = {
    Priority.NORMAL: 0,
    Priority.ELDERLY: 20,
    Priority.PREGNANT: 30,
    Priority.DISABILITY: 30,
    Priority.APPOINTMENT: 30,
    Priority.URGENT: 0,  # urgent tickets have their own tier
}


class Waiting(Protocol):
    @property
    def priority(self) -> Priority: ...

    @property
    def arrived_at(self) -> datetime: ...

    @property
    def number(self) -> int: ...


@dataclass(frozen=True)
class Choice:
    ticket: Waiting
    #: machine-readable, for the event (`CallReason`)
    reason: str
    #: for people (the history of the visit and the counter screen), in their language
    explanation: Message


@dataclass(frozen=True)
class CallPolicy:
    wait_cap: timedelta = timedelta(minutes=90)
    bonus_minutes: dict[Priority, int] = field(default_factory=lambda: dict(DEFAULT_BONUS_MINUTES))

    def bonus(self, priority: Priority) -> timedelta:
        return timedelta(minutes=self.bonus_minutes.get(priority, 0))

    def effective_at(self, priority: Priority, arrived_at: datetime) -> datetime:
        """The instant the ticket competes from: arrival moved earlier by its bonus."""
        return arrived_at - self.bonus(priority)

    def tier(self, ticket: Waiting, now: datetime) -> int:
        if ticket.priority is Priority.URGENT:
            return 0
        if now - ticket.arrived_at >= self.wait_cap:
            return 1
        return 2

    def sort_key(self, ticket: Waiting, now: datetime) -> tuple[int, datetime, int]:
        tier = self.tier(ticket, now)
        moment = (
            ticket.arrived_at if tier < 2 else self.effective_at(ticket.priority, ticket.arrived_at)
        )
        return (tier, moment, ticket.number)

    def choose_next(self, waiting: Iterable[Waiting], now: datetime) -> Choice | None:
        candidates: Sequence[Waiting] = sorted(waiting, key=lambda t: self.sort_key(t, now))
        if not candidates:
            return None
        return self.explain(candidates[0], now)

    def explain(self, ticket: Waiting, now: datetime) -> Choice:
        waited = max(0, int((now - ticket.arrived_at).total_seconds() // 60))
        tier = self.tier(ticket, now)
        priority = ticket.priority.value
        if tier == 0:
            return Choice(ticket, "urgent:first", Message("call.reason.urgent"))
        if tier == 1:
            cap = int(self.wait_cap.total_seconds() // 60)
            return Choice(
                ticket,
                f"wait_cap:{priority}",
                Message("call.reason.wait_cap", waited=waited, cap=cap),
            )
        bonus = self.bonus_minutes.get(ticket.priority, 0)
        score = waited + bonus
        if bonus:
            return Choice(
                ticket,
                f"priority:{priority}+ageing",
                Message(
                    "call.reason.priority",
                    score=score,
                    waited=waited,
                    bonus=bonus,
                    priority_name=Message(PRIORITY_NAMES[ticket.priority]),
                ),
            )
        return Choice(
            ticket, "ageing:normal", Message("call.reason.ageing", score=score, waited=waited)
        )
