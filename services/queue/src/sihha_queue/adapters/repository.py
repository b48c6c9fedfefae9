"""Queries of the queue service, all in one place. Nobody here commits, except
`insert_issued_ticket`: one statement that is its own transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import and_, bindparam, case, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert

from sihha_contracts.envelope import Envelope
from sihha_contracts.events.queue import IssueChannel, Priority
from sihha_contracts.types import AgeBand, Sex
from sihha_kit.clock import local_day
from sihha_kit.db import Executor
from sihha_kit.registry import OpeningHours, Registry
from sihha_queue.adapters.directory import DIRECTORY_CHANNEL, ClinicDirectory
from sihha_queue.adapters.tables import (
    clinic_services,
    counters,
    establishments,
    expected_arrivals,
    idempotency_keys,
    terminals,
    ticket_counters,
    ticket_history,
    tickets,
    visits,
)
from sihha_queue.domain.policy import CallPolicy
from sihha_queue.domain.ticket import Counter, Ticket, TicketStatus

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


# built once: a statement made per call costs more CPU than its round trip
_INSERT_TICKET = insert(tickets)
_UPDATE_TICKET = (
    update(tickets)
    .where(tickets.c.ticket_id == bindparam("id"))
    .values({key: bindparam(f"new_{key}") for key in _MUTABLE})
)


_NOTIFY_DIRECTORY = text(f"SELECT pg_notify('{DIRECTORY_CHANNEL}', '')")

#: Issuing a ticket is this one statement, its own transaction (no BEGIN/COMMIT round
#: trips): it takes the day's number for the service (locking that counter row only until
#: its own commit), writes the ticket, its visit, the visit's first history row, the
#: `queue.ticket.issued` event into the outbox and, for a request with an Idempotency-Key,
#: the answer a retry gets. The event and the answer are built beforehand with a
#: placeholder number; the statement writes the number and the label into them
#: (`jsonb_set`). The label is `ticket_label`'s rule: the service code, a dash, at least
#: three digits. Returns the number.
_ISSUE = """
WITH n AS (
    INSERT INTO ticket_counters (facility_id, service_code, service_day, last_number)
    VALUES ($1::varchar, $2::varchar, $3::date, 1)
    ON CONFLICT (facility_id, service_code, service_day)
    DO UPDATE SET last_number = ticket_counters.last_number + 1
    RETURNING last_number AS number,
              $2::varchar || '-' || lpad(last_number::text, greatest(3, length(last_number::text)), '0')
              AS label
), t AS (
    INSERT INTO tickets (ticket_id, visit_id, facility_id, service_code, service_day, number,
                         priority, channel, status, issued_at, version, arrived_at,
                         effective_at, recall_count, no_show_count, patient_key, age_band, sex)
    SELECT $4::uuid, $5::uuid, $1::varchar, $2::varchar, $3::date, n.number,
           $6::varchar, $7::varchar, 'waiting', $8::timestamptz, 1, $8::timestamptz,
           $9::timestamptz, 0, 0, $10::varchar, $11::varchar, $12::varchar
    FROM n
    RETURNING ticket_id
), v AS (
    INSERT INTO visits (visit_id, facility_id, arrived_at)
    VALUES ($5::uuid, $1::varchar, $8::timestamptz)
), h AS (
    INSERT INTO ticket_history (ticket_id, visit_id, facility_id, at, action, service_code)
    SELECT ticket_id, $5::uuid, $1::varchar, $8::timestamptz, 'issued', $2::varchar FROM t
), o AS (
    INSERT INTO outbox (event_id, event_type, routing_key, body, traceparent)
    SELECT $13::uuid, $14::varchar, $15::varchar,
           convert_to(jsonb_set($16::jsonb, '{payload,ticket_number}', to_jsonb(n.label))::text,
                      'UTF8'),
           $17::varchar
    FROM n
), i AS (
    INSERT INTO idempotency_keys (subject, key, request_hash, status_code, response)
    SELECT $18::varchar, $19::varchar, $20::varchar, 201,
           jsonb_set(jsonb_set($21::jsonb, '{number}', to_jsonb(n.number)),
                     '{label}', to_jsonb(n.label))
    FROM n
    WHERE $19::varchar IS NOT NULL
)
SELECT number FROM n
"""

#: the constraint a second request with the same Idempotency-Key runs into
IDEMPOTENCY_KEY_CONSTRAINT = "idempotency_keys_pkey"


class IdempotencyKeyTaken(Exception):
    """Another request with the same (subject, Idempotency-Key) committed first."""


async def insert_issued_ticket(
    connection: asyncpg.Connection,
    ticket: Ticket,
    event: Envelope,
    *,
    idempotency: tuple[str, str, str] | None = None,
    response: dict[str, Any] | None = None,
) -> int:
    """Commit a new ticket with its visit, history, event and, given `idempotency`
    (subject, key, request hash), the `response` a retry gets: `_ISSUE`, one statement
    that is its own transaction, on a connection of the runtime's `StatementPool`.
    Returns the day's number it took. IdempotencyKeyTaken if the key was used first by
    another request (then nothing was written).
    """
    subject, key, request_hash = idempotency or (None, None, None)
    try:
        number = await connection.fetchval(
            _ISSUE,
            ticket.facility_id,
            ticket.service_code,
            ticket.service_day,
            ticket.ticket_id,
            ticket.visit_id,
            ticket.priority.value,
            ticket.channel.value,
            ticket.issued_at,
            ticket.effective_at,
            ticket.patient_key,
            ticket.age_band.value if ticket.age_band else None,
            ticket.sex.value if ticket.sex else None,
            event.event_id,
            event.event_type,
            event.routing_key,
            event.model_dump_json(),
            event.traceparent,
            subject,
            key,
            request_hash,
            json.dumps(response) if idempotency else None,
        )
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name == IDEMPOTENCY_KEY_CONSTRAINT:
            raise IdempotencyKeyTaken from None
        raise
    return int(number)


class ClinicRepository:
    """Clinics, their services and counters.

    Establishments and services are read from the process's `ClinicDirectory` (no query:
    they change a few times a year and every ticket reads them); counters from the
    database. A write to establishments or services announces itself on the directory's
    channel in the same transaction, and `changed` tells the unit of work to reload the
    directory after the commit.
    """

    def __init__(self, session: Executor, directory: ClinicDirectory) -> None:
        self.session = session
        self.directory = directory
        self.changed = False

    async def establishment(self, facility_id: str) -> dict[str, Any] | None:
        found = self.directory.establishment(facility_id)
        return dict(found) if found is not None else None

    async def service(self, facility_id: str, service_code: str) -> dict[str, Any] | None:
        found = self.directory.service(facility_id, service_code)
        return dict(found) if found is not None else None

    async def services(self, facility_id: str) -> list[dict[str, Any]]:
        return [dict(row) for row in self.directory.services(facility_id)]

    async def _announce_change(self) -> None:
        """Every replica's directory reloads once this transaction commits."""
        self.changed = True
        await self.session.execute(_NOTIFY_DIRECTORY)

    async def update_establishment(self, facility_id: str, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(establishments).where(establishments.c.code == facility_id).values(**values)
        )
        await self._announce_change()

    async def upsert_service(
        self, facility_id: str, service_code: str, values: dict[str, Any]
    ) -> None:
        statement = insert(clinic_services).values(
            facility_id=facility_id, service_code=service_code, **values
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["facility_id", "service_code"],
                set_={key: statement.excluded[key] for key in values},
            )
        )
        await self._announce_change()

    async def counter(self, counter_id: UUID) -> Counter | None:
        row = (
            await self.session.execute(
                select(counters).where(counters.c.counter_id == counter_id, counters.c.active)
            )
        ).first()
        return (
            Counter(row.counter_id, row.facility_id, row.service_code, row.label) if row else None
        )

    async def counters(self, facility_id: str) -> list[dict[str, Any]]:
        rows = (
            await self.session.execute(
                select(counters)
                .where(counters.c.facility_id == facility_id)
                .order_by(counters.c.label)
            )
        ).mappings()
        return [dict(row) for row in rows]

    async def add_counter(self, counter: Counter) -> bool:
        inserted = await self.session.execute(
            insert(counters)
            .values(
                counter_id=counter.counter_id,
                facility_id=counter.facility_id,
                service_code=counter.service_code,
                label=counter.label,
                active=True,
            )
            .on_conflict_do_nothing()
            .returning(counters.c.counter_id)
        )
        return inserted.first() is not None

    async def set_counter_active(self, counter_id: UUID, active: bool) -> None:
        await self.session.execute(
            update(counters).where(counters.c.counter_id == counter_id).values(active=active)
        )

    async def active_counters(self, facility_id: str, service_code: str) -> int:
        value = await self.session.scalar(
            select(func.count())
            .select_from(counters)
            .where(
                counters.c.facility_id == facility_id,
                counters.c.service_code == service_code,
                counters.c.active,
            )
        )
        return int(value or 0)

    async def load_registry(self, registry: Registry, counters_per_service: int = 2) -> None:
        """Insert the registry's polyclinics, their standard services and two counters per
        service; what the admin API changed since is kept."""
        default_hours = registry.default_opening_hours.as_dict()
        rows = [
            {
                "code": e.code,
                "kind": e.kind,
                "name_fr": e.name_fr,
                "name_ar": e.name_ar,
                "commune": e.commune,
                "opening_hours": (e.opening_hours.as_dict() if e.opening_hours else default_hours),
                "recall_window_seconds": 120,
                "no_show_requeue_once": True,
            }
            for e in registry.polyclinics
        ]
        if not rows:
            return
        created = (
            (
                await self.session.execute(
                    insert(establishments)
                    .values(rows)
                    .on_conflict_do_nothing()
                    .returning(establishments.c.code)
                )
            )
            .scalars()
            .all()
        )
        services = [
            {
                "facility_id": code,
                "service_code": s.code,
                "name_fr": s.name_fr,
                "name_ar": s.name_ar,
                "active": True,
                "routed_keeps_arrival": True,
            }
            for code in created
            for s in registry.polyclinic_services
        ]
        if services:
            await self.session.execute(
                insert(clinic_services).values(services).on_conflict_do_nothing()
            )
            import uuid

            desks = [
                {
                    "counter_id": uuid.uuid5(
                        uuid.NAMESPACE_URL, f"sihha:{row['facility_id']}:{row['service_code']}:{n}"
                    ),
                    "facility_id": row["facility_id"],
                    "service_code": row["service_code"],
                    "label": f"{row['service_code']} {n}",
                    "active": True,
                }
                for row in services
                for n in range(1, counters_per_service + 1)
            ]
            await self.session.execute(insert(counters).values(desks).on_conflict_do_nothing())
        await self._announce_change()


def hours_of(
    establishment: Mapping[str, Any], service: Mapping[str, Any] | None = None
) -> OpeningHours:
    """The service's own hours, else its clinic's: parsed once by `ClinicDirectory.reload`
    (a service without hours of its own carries its clinic's)."""
    hours: OpeningHours = (service or establishment)["hours"]
    return hours


class TicketRepository:
    def __init__(self, session: Executor) -> None:
        self.session = session

    async def next_number(self, facility_id: str, service_code: str, service_day: date) -> int:
        """The next ticket number of the day: the counter row stays locked until commit,
        so concurrent issuers wait for each other and a rollback gives the number back."""
        statement = (
            insert(ticket_counters)
            .values(
                facility_id=facility_id,
                service_code=service_code,
                service_day=service_day,
                last_number=1,
            )
            .on_conflict_do_update(
                index_elements=["facility_id", "service_code", "service_day"],
                set_={"last_number": ticket_counters.c.last_number + 1},
            )
            .returning(ticket_counters.c.last_number)
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def add(self, ticket: Ticket) -> None:
        await self.session.execute(_INSERT_TICKET, _row(ticket))

    async def save(self, ticket: Ticket) -> None:
        row = _row(ticket)
        await self.session.execute(
            _UPDATE_TICKET, {"id": ticket.ticket_id, **{f"new_{key}": row[key] for key in _MUTABLE}}
        )

    async def get(self, ticket_id: UUID, *, for_update: bool = False) -> Ticket | None:
        query = select(tickets).where(tickets.c.ticket_id == ticket_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return to_domain(row) if row else None

    async def next_waiting(
        self, facility_id: str, service_code: str, now: datetime, policy: CallPolicy
    ) -> Ticket | None:
        """The ticket `policy.choose_next` would pick, locked; tickets another counter is
        calling at this instant are skipped rather than waited for."""
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
                tickets.c.service_code == service_code,
                tickets.c.status == TicketStatus.WAITING.value,
                # a ticket left waiting at closing time is not called the next morning
                tickets.c.service_day == local_day(now),
            )
            .order_by(tier, moment, tickets.c.number)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        row = (await self.session.execute(query)).first()
        return to_domain(row) if row else None

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
        return to_domain(row) if row else None

    async def others_open_in_visit(self, visit_id: UUID, ticket_id: UUID) -> int:
        value = await self.session.scalar(
            select(func.count())
            .select_from(tickets)
            .where(
                tickets.c.visit_id == visit_id,
                tickets.c.ticket_id != ticket_id,
                tickets.c.status.in_([s.value for s in TicketStatus if s.is_open]),
            )
        )
        return int(value or 0)

    async def add_visit(self, visit_id: UUID, facility_id: str, arrived_at: datetime) -> None:
        await self.session.execute(
            insert(visits).values(visit_id=visit_id, facility_id=facility_id, arrived_at=arrived_at)
        )

    async def finish_visit(self, visit_id: UUID, at: datetime) -> None:
        await self.session.execute(
            update(visits).where(visits.c.visit_id == visit_id).values(finished_at=at)
        )

    async def add_history(
        self,
        ticket: Ticket,
        action: str,
        at: datetime,
        detail_fr: str | None = None,
        detail_ar: str | None = None,
    ) -> None:
        await self.session.execute(
            insert(ticket_history).values(
                ticket_id=ticket.ticket_id,
                visit_id=ticket.visit_id,
                facility_id=ticket.facility_id,
                at=at,
                action=action,
                service_code=ticket.service_code,
                counter_label=ticket.counter_label,
                detail_fr=detail_fr,
                detail_ar=detail_ar,
            )
        )

    async def visit_history(self, visit_id: UUID) -> list[dict[str, Any]]:
        rows = (
            await self.session.execute(
                select(ticket_history, tickets.c.number)
                .join(tickets, tickets.c.ticket_id == ticket_history.c.ticket_id)
                .where(ticket_history.c.visit_id == visit_id)
                .order_by(ticket_history.c.at, ticket_history.c.id)
            )
        ).mappings()
        return [dict(row) for row in rows]

    async def waiting(self, facility_id: str, service_code: str | None = None) -> list[Ticket]:
        query = select(tickets).where(
            tickets.c.facility_id == facility_id, tickets.c.status == TicketStatus.WAITING.value
        )
        if service_code:
            query = query.where(tickets.c.service_code == service_code)
        return [to_domain(row) for row in (await self.session.execute(query)).all()]

    async def position(self, ticket: Ticket, now: datetime, policy: CallPolicy) -> int:
        """How many waiting tickets of the same service come before this one."""
        others = await self.waiting(ticket.facility_id, ticket.service_code)
        mine = policy.sort_key(ticket, now)
        return sum(
            1
            for other in others
            if other.ticket_id != ticket.ticket_id and policy.sort_key(other, now) < mine
        )

    async def recent_service_seconds(
        self, facility_id: str, service_code: str, limit: int = 20
    ) -> list[float]:
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

    async def recent_calls(
        self, facility_id: str, since: datetime, limit: int = 10
    ) -> list[dict[str, Any]]:
        rows = (
            await self.session.execute(
                select(
                    tickets.c.ticket_id,
                    tickets.c.service_code,
                    tickets.c.number,
                    tickets.c.counter_label,
                    tickets.c.last_called_at,
                    tickets.c.status,
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

    async def count_issued(self, facility_id: str | None = None) -> list[dict[str, Any]]:
        query = select(
            tickets.c.facility_id, tickets.c.service_day, func.count().label("tickets_issued")
        ).group_by(tickets.c.facility_id, tickets.c.service_day)
        if facility_id:
            query = query.where(tickets.c.facility_id == facility_id)
        rows = (
            await self.session.execute(query.order_by(tickets.c.facility_id, tickets.c.service_day))
        ).all()
        return [dict(row._mapping) for row in rows]

    async def activity(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Counts per establishment and Algiers day from the service's own history."""
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


class IdempotencyRepository:
    def __init__(self, session: Executor) -> None:
        self.session = session

    async def find(self, subject: str, key: str) -> dict[str, Any] | None:
        row = (
            (
                await self.session.execute(
                    select(idempotency_keys).where(
                        idempotency_keys.c.subject == subject, idempotency_keys.c.key == key
                    )
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def remember(
        self, subject: str, key: str, request_hash: str, status_code: int, response: dict[str, Any]
    ) -> bool:
        """False if another request with the same key committed first."""
        inserted = await self.session.execute(
            insert(idempotency_keys)
            .values(
                subject=subject,
                key=key,
                request_hash=request_hash,
                status_code=status_code,
                response=response,
            )
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        return inserted.first() is not None


class ArrivalRepository:
    """Appointments this clinic expects, kept from the appointments service's events."""

    def __init__(self, session: Executor) -> None:
        self.session = session

    async def booked(
        self, appointment_id: UUID, sequence: int, identity: dict[str, Any], state: dict[str, Any]
    ) -> None:
        """The booking's identity (code, clinic, specialty, patient) is always kept; its state
        (status, slot) only if no later event of the appointment was applied first."""
        statement = insert(expected_arrivals).values(
            appointment_id=appointment_id, last_sequence=sequence, **identity, **state
        )
        newer = expected_arrivals.c.last_sequence < sequence
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["appointment_id"],
                set_={
                    **{key: statement.excluded[key] for key in identity},
                    **{
                        key: case((newer, statement.excluded[key]), else_=expected_arrivals.c[key])
                        for key in state
                    },
                    "last_sequence": func.greatest(expected_arrivals.c.last_sequence, sequence),
                },
            )
        )

    async def change(
        self, appointment_id: UUID, sequence: int, facility_id: str, state: dict[str, Any]
    ) -> None:
        """A later change of a booking. If it overtook the booking itself on the way, keep
        it in a placeholder row that the booking event completes."""
        statement = insert(expected_arrivals).values(
            appointment_id=appointment_id,
            last_sequence=sequence,
            booking_code="",
            facility_id=facility_id,
            specialty_code="",
            slot_start=state.get("slot_start", datetime.min.replace(tzinfo=UTC)),
            slot_end=state.get("slot_end", datetime.min.replace(tzinfo=UTC)),
            status=state.get("status", "booked"),
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["appointment_id"],
                set_={**{key: statement.excluded[key] for key in state}, "last_sequence": sequence},
                where=expected_arrivals.c.last_sequence < sequence,
            )
        )

    async def by_code(self, facility_id: str, booking_code: str) -> dict[str, Any] | None:
        row = (
            (
                await self.session.execute(
                    select(expected_arrivals)
                    .where(
                        expected_arrivals.c.facility_id == facility_id,
                        expected_arrivals.c.booking_code == booking_code,
                    )
                    .with_for_update()
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def mark_checked_in(self, appointment_id: UUID, ticket_id: UUID) -> None:
        await self.session.execute(
            update(expected_arrivals)
            .where(expected_arrivals.c.appointment_id == appointment_id)
            .values(status="checked_in", ticket_id=ticket_id)
        )


class TerminalRepository:
    def __init__(self, session: Executor) -> None:
        self.session = session

    async def seen(
        self, terminal_id: UUID, facility_id: str, kind: str, at: datetime, event_every: timedelta
    ) -> tuple[bool, int]:
        """Record a heartbeat; (emit an event?, the terminal's new sequence)."""
        row = (
            await self.session.execute(
                select(terminals).where(terminals.c.terminal_id == terminal_id).with_for_update()
            )
        ).first()
        if row is None:
            await self.session.execute(
                insert(terminals).values(
                    terminal_id=terminal_id,
                    facility_id=facility_id,
                    kind=kind,
                    last_seen_at=at,
                    last_event_at=at,
                    version=1,
                )
            )
            return True, 1
        emit = row.last_event_at is None or at - row.last_event_at >= event_every
        version = row.version + (1 if emit else 0)
        await self.session.execute(
            update(terminals)
            .where(terminals.c.terminal_id == terminal_id)
            .values(
                last_seen_at=at,
                kind=kind,
                facility_id=facility_id,
                version=version,
                **({"last_event_at": at} if emit else {}),
            )
        )
        return emit, version

    async def owner(self, terminal_id: UUID) -> str | None:
        value = await self.session.scalar(
            select(terminals.c.facility_id).where(terminals.c.terminal_id == terminal_id)
        )
        return str(value) if value else None


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
