"""Tickets, their visits and their history: every query of the queue's tickets.

"Today's queue" of a service is its open tickets of the service day that is current
(`ServiceHours.queue_day`): every listing of waiting tickets below takes those days
(`queue_days`), so the list, the position, the estimate and call-next agree.
Nobody here commits: the unit of work does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, case, func, literal, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from sihha_contracts.events.queue import IssueChannel, Priority
from sihha_contracts.types import AgeBand, Sex
from sihha_kit.uow import Repository
from sihha_queue.adapters.tables import ticket_history, tickets, visits
from sihha_queue.domain.policy import CallPolicy
from sihha_queue.domain.ticket import Ticket, TicketStatus

#: the ticket columns a transition may change (everything else is fixed at issue)
_MUTABLE = (
    "status",
    "version",
    "counter_id",
    "counter_label",
    "called_at",
    "last_called_at",
    "recall_count",
    "no_show_count",
    "started_at",
    "completed_at",
    "call_reason",
)
_OPEN = [status.value for status in TicketStatus if status.is_open]
#: the unique index that keeps a counter to one open ticket (migration 0004)
ONE_OPEN_TICKET_PER_COUNTER = "tickets_one_open_per_counter"

# statements built once: a statement made per call costs more CPU than its round trip
_COLUMNS = (
    "ticket_id",
    "visit_id",
    "facility_id",
    "service_code",
    "service_day",
    "number",
    "priority",
    "channel",
    "status",
    "issued_at",
    "version",
    "arrived_at",
    "effective_at",
    "counter_id",
    "counter_label",
    "called_at",
    "last_called_at",
    "recall_count",
    "no_show_count",
    "started_at",
    "completed_at",
    "patient_key",
    "age_band",
    "sex",
    "appointment_ref",
    "routed_from_ticket_id",
    "call_reason",
)
_NUMBERED = tuple(column for column in _COLUMNS if column != "number")
#: a new ticket takes the next number of its service day (the counter row stays locked
#: until commit, so concurrent issuers wait for each other and a rollback gives the
#: number back) and is written with its visit (a routed ticket continues one) and its
#: first history row: one statement, which returns the number
_ADD = text(
    f"""
WITH n AS (
    INSERT INTO ticket_counters (facility_id, service_code, service_day, last_number)
    VALUES (:facility_id, :service_code, :service_day, 1)
    ON CONFLICT (facility_id, service_code, service_day)
    DO UPDATE SET last_number = ticket_counters.last_number + 1
    RETURNING last_number
), t AS (
    INSERT INTO tickets ({", ".join(_NUMBERED)}, number)
    SELECT {", ".join(":" + column for column in _NUMBERED)}, n.last_number FROM n
), v AS (
    INSERT INTO visits (visit_id, facility_id, arrived_at)
    VALUES (:visit_id, :facility_id, :arrived_at)
    ON CONFLICT (visit_id) DO NOTHING
), h AS (
    INSERT INTO ticket_history (ticket_id, visit_id, facility_id, at, action, service_code,
                                detail_fr, detail_ar)
    VALUES (:ticket_id, :visit_id, :facility_id, :issued_at, 'issued', :service_code,
            :detail_fr, :detail_ar)
)
SELECT last_number FROM n
"""
)
_UPDATE = (
    update(tickets)
    .where(tickets.c.ticket_id == bindparam("id"))
    .values({key: bindparam(f"new_{key}") for key in _MUTABLE})
)


def _today(days: Mapping[str, date]) -> Any:
    """Tickets of the current service day of their service (`days`: service → day)."""
    if not days:
        return literal(False)
    return tuple_(tickets.c.service_code, tickets.c.service_day).in_(
        [(service, day) for service, day in days.items()]
    )


class TicketRepository(Repository):
    async def add(self, ticket: Ticket, detail: Mapping[str, str] | None = None) -> None:
        """A new ticket enters its service's queue: it takes the next number of its service
        day (`Ticket.take_number`, which records `queue.ticket.issued`) and is written with
        its visit if it starts one and its `issued` history row (`detail`: the row's text
        per language). The one way a ticket is added, whatever issued it."""
        row = _row(ticket)
        del row["number"]
        row["version"] = ticket.version + 1  # with the `issued` event it is about to record
        result = await self.session.execute(
            _ADD,
            {
                **row,
                "detail_fr": detail["fr"] if detail else None,
                "detail_ar": detail["ar"] if detail else None,
            },
        )
        ticket.take_number(int(result.scalar_one()))
        assert ticket.version == row["version"]
        self.track(ticket)

    async def save(self, ticket: Ticket) -> None:
        self.track(ticket)
        row = _row(ticket)
        await self.session.execute(
            _UPDATE, {"id": ticket.ticket_id, **{f"new_{key}": row[key] for key in _MUTABLE}}
        )

    async def get(self, ticket_id: UUID, *, for_update: bool = False) -> Ticket | None:
        query = select(tickets).where(tickets.c.ticket_id == ticket_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return self.track(to_domain(row)) if row else None

    async def next_waiting(
        self,
        facility_id: str,
        service_code: str,
        service_day: date,
        now: datetime,
        policy: CallPolicy,
    ) -> Ticket | None:
        """The ticket `policy.choose_next` would pick among today's queue, locked; tickets
        another counter is calling at this instant are skipped rather than waited for."""
        tier = case(
            (tickets.c.priority == Priority.URGENT.value, literal(0)),
            (tickets.c.arrived_at <= now - policy.wait_cap, literal(1)),
            else_=literal(2),
        )
        moment = case((tier < 2, tickets.c.arrived_at), else_=tickets.c.effective_at)
        query = (
            select(tickets)
            .where(
                tickets.c.facility_id == facility_id,
                tickets.c.status == TicketStatus.WAITING.value,
                _today({service_code: service_day}),
            )
            .order_by(tier, moment, tickets.c.number)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        row = (await self.session.execute(query)).first()
        return self.track(to_domain(row)) if row else None

    async def open_at_counter(self, counter_id: UUID) -> Ticket | None:
        row = (
            await self.session.execute(
                select(tickets)
                .where(
                    tickets.c.counter_id == counter_id,
                    tickets.c.status.in_(
                        [TicketStatus.CALLED.value, TicketStatus.IN_SERVICE.value]
                    ),
                )
                .limit(1)
            )
        ).first()
        return self.track(to_domain(row)) if row else None

    async def others_open_in_visit(self, visit_id: UUID, ticket_id: UUID) -> int:
        value = await self.session.scalar(
            select(func.count())
            .select_from(tickets)
            .where(
                tickets.c.visit_id == visit_id,
                tickets.c.ticket_id != ticket_id,
                tickets.c.status.in_(_OPEN),
            )
        )
        return int(value or 0)

    async def finish_visit(self, visit_id: UUID, at: datetime) -> None:
        await self.session.execute(
            update(visits).where(visits.c.visit_id == visit_id).values(finished_at=at)
        )

    async def add_history(
        self, ticket: Ticket, action: str, at: datetime, detail: Mapping[str, str] | None = None
    ) -> int:
        """A row of the visit's history; returns its id (the board's event id)."""
        result = await self.session.execute(
            insert(ticket_history)
            .values(
                ticket_id=ticket.ticket_id,
                visit_id=ticket.visit_id,
                facility_id=ticket.facility_id,
                at=at,
                action=action,
                service_code=ticket.service_code,
                counter_label=ticket.counter_label,
                detail_fr=detail["fr"] if detail else None,
                detail_ar=detail["ar"] if detail else None,
            )
            .returning(ticket_history.c.id)
        )
        return int(result.scalar_one())

    async def visit_history(self, facility_id: str, visit_id: UUID) -> list[dict[str, Any]]:
        rows = (
            await self.session.execute(
                select(ticket_history, tickets.c.number)
                .join(tickets, tickets.c.ticket_id == ticket_history.c.ticket_id)
                .where(
                    ticket_history.c.visit_id == visit_id,
                    ticket_history.c.facility_id == facility_id,
                )
                .order_by(ticket_history.c.at, ticket_history.c.id)
            )
        ).mappings()
        return [dict(row) for row in rows]

    async def waiting(self, facility_id: str, days: Mapping[str, date]) -> list[Ticket]:
        """Today's waiting tickets of the clinic's services named in `days` (service → its
        current service day)."""
        query = select(tickets).where(
            tickets.c.facility_id == facility_id,
            tickets.c.status == TicketStatus.WAITING.value,
            _today(days),
        )
        return [to_domain(row) for row in (await self.session.execute(query)).all()]

    async def position(self, ticket: Ticket, now: datetime, policy: CallPolicy) -> int:
        """How many waiting tickets of the same service and day come before this one."""
        others = await self.waiting(ticket.facility_id, {ticket.service_code: ticket.service_day})
        mine = policy.sort_key(ticket, now)
        return sum(
            1
            for other in others
            if other.ticket_id != ticket.ticket_id and policy.sort_key(other, now) < mine
        )

    async def recent_service_seconds(
        self, facility_id: str, service_code: str, limit: int = 20
    ) -> list[float]:
        """Service times (start to completion, seconds) of the service's last completed
        tickets, newest first."""
        recent = (
            select(
                (func.extract("epoch", tickets.c.completed_at - tickets.c.started_at)).label("s")
            )
            .where(
                tickets.c.facility_id == facility_id,
                tickets.c.service_code == service_code,
                tickets.c.status == TicketStatus.COMPLETED.value,
                tickets.c.started_at.is_not(None),
            )
            .order_by(tickets.c.completed_at.desc())
            .limit(limit)
        )
        return [float(v) for v in (await self.session.execute(recent)).scalars().all()]

    async def calls_on_board(
        self, facility_id: str, since: datetime, limit: int = 10
    ) -> list[dict[str, Any]]:
        """The calls a board shows: tickets still called or in service, called since
        `since`, newest first, each with the id of its last call in the history."""
        last_call = (
            select(func.max(ticket_history.c.id))
            .where(
                ticket_history.c.ticket_id == tickets.c.ticket_id,
                ticket_history.c.action.in_(["called", "recalled"]),
            )
            .scalar_subquery()
        )
        rows = (
            await self.session.execute(
                select(
                    tickets.c.ticket_id,
                    tickets.c.service_code,
                    tickets.c.number,
                    tickets.c.counter_label,
                    tickets.c.last_called_at,
                    last_call.label("event_id"),
                )
                .where(
                    tickets.c.facility_id == facility_id,
                    tickets.c.last_called_at >= since,
                    tickets.c.status.in_(
                        [TicketStatus.CALLED.value, TicketStatus.IN_SERVICE.value]
                    ),
                )
                .order_by(tickets.c.last_called_at.desc())
                .limit(limit)
            )
        ).mappings()
        return [dict(row) for row in rows]

    async def calls_after(self, facility_id: str, event_id: int) -> list[dict[str, Any]]:
        """Calls and recalls of the clinic whose history id is above `event_id`, oldest
        first: what a board that reconnects with `Last-Event-ID` missed."""
        rows = (
            await self.session.execute(
                select(
                    ticket_history.c.id.label("event_id"),
                    ticket_history.c.action,
                    ticket_history.c.ticket_id,
                    ticket_history.c.service_code,
                    ticket_history.c.counter_label,
                    ticket_history.c.at,
                    tickets.c.number,
                )
                .join(tickets, tickets.c.ticket_id == ticket_history.c.ticket_id)
                .where(
                    ticket_history.c.facility_id == facility_id,
                    ticket_history.c.id > event_id,
                    ticket_history.c.action.in_(["called", "recalled"]),
                )
                .order_by(ticket_history.c.id)
                .limit(100)
            )
        ).mappings()
        return [dict(row) for row in rows]

    async def open_days(self, before: date) -> list[tuple[str, str, date]]:
        """(clinic, service, service day) of every day before `before` that still has open
        tickets: the days to close."""
        rows = await self.session.execute(
            select(tickets.c.facility_id, tickets.c.service_code, tickets.c.service_day)
            .where(tickets.c.status.in_(_OPEN), tickets.c.service_day < before)
            .distinct()
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def open_of_day(
        self, facility_id: str, service_code: str, service_day: date, limit: int = 200
    ) -> list[Ticket]:
        """Open tickets of one service day, locked (skipping any a counter holds now)."""
        rows = await self.session.execute(
            select(tickets)
            .where(
                tickets.c.facility_id == facility_id,
                tickets.c.service_code == service_code,
                tickets.c.service_day == service_day,
                tickets.c.status.in_(_OPEN),
            )
            .order_by(tickets.c.number)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [self.track(to_domain(row)) for row in rows]

    async def activity(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Counts per establishment and Algiers day from the service's own history: the
        service's one count of its tickets (`GET /counts/activity`)."""
        day = func.date(func.timezone("Africa/Algiers", ticket_history.c.at)).label("day")
        action = ticket_history.c.action
        columns = [
            func.count().filter(action == "issued").label("tickets_issued"),
            # distinct tickets called (a requeued ticket may be called twice), and every call
            func.count(ticket_history.c.ticket_id.distinct())
            .filter(action == "called")
            .label("tickets_called"),
            func.count().filter(action == "called").label("calls"),
            func.count().filter(action == "no_show").label("no_shows"),  # final, not requeued
            func.count().filter(action == "cancelled").label("cancelled"),
            func.count().filter(action == "expired").label("expired"),
            func.count().filter(action == "routed").label("routed"),
            func.count().filter(action == "completed").label("visits_completed"),
        ]
        rows = (
            await self.session.execute(
                select(ticket_history.c.facility_id, day, *columns)
                .where(and_(ticket_history.c.at >= start, ticket_history.c.at < end))
                .group_by(ticket_history.c.facility_id, day)
                .order_by(ticket_history.c.facility_id, day)
            )
        ).mappings()
        return [dict(row) for row in rows]


def _row(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.ticket_id,
        "visit_id": ticket.visit_id,
        "facility_id": ticket.facility_id,
        "service_code": ticket.service_code,
        "service_day": ticket.service_day,
        "number": ticket.number,
        "priority": ticket.priority.value,
        "channel": ticket.channel.value,
        "status": ticket.status.value,
        "issued_at": ticket.issued_at,
        "version": ticket.version,
        "arrived_at": ticket.arrived_at,
        "effective_at": ticket.effective_at,
        "counter_id": ticket.counter_id,
        "counter_label": ticket.counter_label,
        "called_at": ticket.called_at,
        "last_called_at": ticket.last_called_at,
        "recall_count": ticket.recall_count,
        "no_show_count": ticket.no_show_count,
        "started_at": ticket.started_at,
        "completed_at": ticket.completed_at,
        "patient_key": ticket.patient_key,
        "age_band": ticket.age_band.value if ticket.age_band else None,
        "sex": ticket.sex.value if ticket.sex else None,
        "appointment_ref": ticket.appointment_ref,
        "routed_from_ticket_id": ticket.routed_from_ticket_id,
        "call_reason": ticket.call_reason,
    }


def to_domain(row: Any) -> Ticket:
    return Ticket(
        ticket_id=row.ticket_id,
        visit_id=row.visit_id,
        facility_id=row.facility_id,
        service_code=row.service_code,
        service_day=row.service_day,
        number=row.number,
        priority=Priority(row.priority),
        channel=IssueChannel(row.channel),
        issued_at=row.issued_at,
        arrived_at=row.arrived_at,
        effective_at=row.effective_at,
        status=TicketStatus(row.status),
        version=row.version,
        counter_id=row.counter_id,
        counter_label=row.counter_label,
        called_at=row.called_at,
        last_called_at=row.last_called_at,
        recall_count=row.recall_count,
        no_show_count=row.no_show_count,
        started_at=row.started_at,
        completed_at=row.completed_at,
        patient_key=row.patient_key,
        age_band=AgeBand(row.age_band) if row.age_band else None,
        sex=Sex(row.sex) if row.sex else None,
        appointment_ref=row.appointment_ref,
        routed_from_ticket_id=row.routed_from_ticket_id,
        call_reason=row.call_reason,
    )
