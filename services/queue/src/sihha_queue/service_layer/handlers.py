"""Handlers: one plain function per command, `handler(command, uow, **deps)`.

Each opens the unit of work, checks the rules, changes the aggregates through the
repositories, writes a history row for every change (the visit's history and the
service's own counts), and commits: the unit of work writes the events of every
aggregate its repositories loaded or took in, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy.exc import IntegrityError

from sihha_contracts.events.queue import CallMode, IssueChannel, Priority
from sihha_kit.clock import Clock, to_local
from sihha_kit.errors import BadRequest, Conflict, Forbidden, NotFound
from sihha_kit.i18n import Catalogue, Localized, Message, format_date, format_time
from sihha_kit.pseudonym import pseudonymise_nin, validate_nin
from sihha_queue.adapters.tickets import ONE_OPEN_TICKET_PER_COUNTER
from sihha_queue.domain.policy import CallPolicy
from sihha_queue.domain.terminal import Terminal
from sihha_queue.domain.ticket import Counter, Ticket
from sihha_queue.service_layer import commands
from sihha_queue.service_layer.unit_of_work import QueueUnitOfWork
from sihha_queue.service_layer.views import counter_of, ticket_summary

#: a terminal's heartbeat reaches the bus at most this often (the rest is local)
HEARTBEAT_EVENT_EVERY = timedelta(minutes=1)


def texts() -> Catalogue:
    """The queue's message catalogue (the kit's generic texts under it)."""
    return Catalogue.of("sihha_queue")


def _both(message: Message) -> dict[str, str]:
    """A history row's text in both languages."""
    return dict(texts().both(message.key, **message.params))


# -- checks shared by the handlers ---------------------------------------------------


def _establishment(uow: QueueUnitOfWork, facility_id: str) -> Mapping[str, Any]:
    establishment = uow.directory.establishment(facility_id)  # no I/O: open or not
    if establishment is None:
        raise NotFound("unknown-establishment", facility_id=facility_id)
    return establishment


def _open_service(
    uow: QueueUnitOfWork, facility_id: str, service_code: str, now: datetime
) -> tuple[Mapping[str, Any], date]:
    """The service, open now, and the service day a ticket taken now belongs to."""
    service = uow.directory.service(facility_id, service_code)  # no I/O
    if service is None:
        raise NotFound("unknown-service", service_code=service_code)
    if not service["active"]:
        raise Conflict(
            "service-closed",
            params={"why": Message("service-closed.inactive", service_code=service_code)},
        )
    hours = uow.directory.hours(facility_id, service_code)
    day = hours.service_day(to_local(now))
    if day is None:
        raise Conflict(
            "service-closed",
            params={
                "why": Message(
                    "service-closed.hours", service_code=service_code, time=f"{to_local(now):%H:%M}"
                )
            },
            opening_hours=hours.as_dict(),
        )
    return service, day


async def _ticket(uow: QueueUnitOfWork, facility_id: str, ticket_id: Any) -> Ticket:
    ticket = await uow.tickets.get(ticket_id, for_update=True)
    if ticket is None:
        raise NotFound("unknown-ticket")
    if ticket.facility_id != facility_id:
        raise Forbidden("ticket-of-another-establishment")
    return ticket


async def _counter_free(uow: QueueUnitOfWork, counter: Counter) -> None:
    busy = await uow.tickets.open_at_counter(counter.counter_id)
    if busy is not None:
        raise _counter_busy(counter, busy.label)


def _counter_busy(counter: Counter, label: str | None) -> Conflict:
    return Conflict(
        "counter-busy",
        params={"counter": counter.label, "ticket": label or "?"},
        current_ticket=label,
    )


def _is_second_open_ticket(error: IntegrityError) -> bool:
    cause = error.orig.__cause__ if error.orig is not None else None
    return (
        isinstance(cause, asyncpg.UniqueViolationError)
        and cause.constraint_name == ONE_OPEN_TICKET_PER_COUNTER
    )


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's `Idempotency-Key`: a retried request returns the first result."""

    subject: str
    key: str
    #: HMAC of the request under the service's key (`adapters.idempotency.request_digest`)
    request_hash: str


class RequestAlreadyDone(Exception):
    """Another request with the same idempotency key committed first."""


async def _remember(
    uow: QueueUnitOfWork, idempotency: IdempotencyKey | None, ticket: Ticket, now: datetime
) -> None:
    if idempotency is None:
        return
    stored = await uow.idempotency.remember(
        idempotency.subject,
        idempotency.key,
        idempotency.request_hash,
        201,
        ticket_summary(ticket),
        now,
    )
    if not stored:
        raise RequestAlreadyDone


# -- issuing -------------------------------------------------------------------------


async def _issue(
    uow: QueueUnitOfWork,
    *,
    facility_id: str,
    service_code: str,
    priority: Priority,
    channel: IssueChannel,
    now: datetime,
    policy: CallPolicy,
    detail: Mapping[str, str] | None = None,
    **fields: Any,
) -> Ticket:
    """A new ticket (walk-in, appointment check-in) for a service open now, added to its
    queue: `tickets.add` numbers it, the one way a ticket enters a queue (routing too)."""
    _, day = _open_service(uow, facility_id, service_code, now)
    ticket = Ticket.issue(
        facility_id=facility_id,
        service_code=service_code,
        service_day=day,
        priority=priority,
        channel=channel,
        at=now,
        effective_at=policy.effective_at(priority, now),
        **fields,
    )
    await uow.tickets.add(ticket, detail)
    return ticket


async def issue_ticket(
    command: commands.IssueTicket,
    uow: QueueUnitOfWork,
    *,
    clock: Clock,
    policy: CallPolicy,
    pseudonym_key: bytes | None,
    idempotency: IdempotencyKey | None = None,
) -> Ticket:
    patient_key = None
    if command.nin is not None:
        try:
            nin = validate_nin(command.nin)
        except ValueError:
            raise BadRequest("invalid-nin") from None
        if pseudonym_key is None:
            raise Conflict("pseudonymisation-unavailable")
        patient_key = pseudonymise_nin(nin, pseudonym_key)
    now = clock()
    _establishment(uow, command.facility_id)
    _open_service(uow, command.facility_id, command.service_code, now)  # before a connection
    async with uow:
        ticket = await _issue(
            uow,
            facility_id=command.facility_id,
            service_code=command.service_code,
            priority=command.priority,
            channel=command.channel,
            now=now,
            policy=policy,
            patient_key=patient_key,
            age_band=command.age_band,
            sex=command.sex,
        )
        await _remember(uow, idempotency, ticket, now)
        await uow.commit()
        return ticket


async def check_in(
    command: commands.CheckIn,
    uow: QueueUnitOfWork,
    *,
    clock: Clock,
    policy: CallPolicy,
    idempotency: IdempotencyKey | None = None,
) -> Ticket:
    """A citizen with a booking code gets an appointment-holder ticket, from the clinic's
    own list of expected arrivals: the appointments service may be down."""
    code = command.booking_code.strip().upper()
    async with uow:
        now = clock()
        arrival = await uow.arrivals.by_code(command.facility_id, code)
        if arrival is None:
            raise NotFound("unknown-booking", booking_code=code)
        if arrival["status"] == "checked_in" and arrival["ticket_id"] is not None:
            existing = await uow.tickets.get(arrival["ticket_id"])
            assert existing is not None
            return existing
        if arrival["status"] != "booked":
            raise Conflict("booking-cancelled", booking_code=code)
        slot = arrival["slot_start"]
        if to_local(slot).date() != to_local(now).date():
            # the booking's day and time, written in each language of the problem
            raise Conflict(
                "booking-not-today",
                params={
                    "day": Localized(partial(format_date, slot, form="full")),
                    "time": Localized(partial(format_time, slot)),
                },
                booking_code=code,
            )
        _establishment(uow, command.facility_id)
        specialty = arrival["specialty_code"]
        service_code = (
            specialty if uow.directory.service(command.facility_id, specialty) else "SPEC"
        )
        ticket = await _issue(
            uow,
            facility_id=command.facility_id,
            service_code=service_code,
            priority=Priority.APPOINTMENT,
            channel=IssueChannel.KIOSK,
            now=now,
            policy=policy,
            detail=_both(Message("history.appointment", booking_code=code)),
            patient_key=arrival["patient_key"],
            appointment_ref=code,
        )
        await uow.arrivals.mark_checked_in(arrival["appointment_id"], ticket.ticket_id)
        await _remember(uow, idempotency, ticket, now)
        await uow.commit()
        return ticket


# -- at the counter ------------------------------------------------------------------


async def _announce(
    uow: QueueUnitOfWork, ticket: Ticket, kind: str, at: datetime, event_id: int
) -> None:
    """Tell the clinic's boards (once committed); `event_id` is the call's history row."""
    await uow.notify_board(
        {
            "id": event_id,
            "facility_id": ticket.facility_id,
            "kind": kind,
            "ticket_id": str(ticket.ticket_id),
            "label": ticket.label,
            "service_code": ticket.service_code,
            "counter_label": ticket.counter_label,
            "at": at.isoformat(),
        }
    )


async def call_next(
    command: commands.CallNext, uow: QueueUnitOfWork, *, clock: Clock, policy: CallPolicy
) -> Ticket | None:
    """Call the next ticket of today's queue by the fair rule. A counter has at most one
    open ticket, whatever the concurrency: the database refuses a second (unique index),
    and the request that loses gets `counter-busy`."""
    try:
        async with uow:
            now = clock()
            counter = await counter_of(uow, command.facility_id, command.counter_id)
            await _counter_free(uow, counter)
            day = uow.directory.queue_day(command.facility_id, counter.service_code, now)
            ticket = await uow.tickets.next_waiting(
                command.facility_id, counter.service_code, day, now, policy
            )
            if ticket is None:
                return None
            choice = policy.explain(ticket, now)
            ticket.call(counter, at=now, reason=choice.reason, by_role=command.by_role)
            await uow.tickets.save(ticket)
            event_id = await uow.tickets.add_history(
                ticket,
                "called",
                now,
                _both(choice.explanation),
            )
            await _announce(uow, ticket, "called", now, event_id)
            await uow.commit()
            return ticket
    except IntegrityError as error:
        if not _is_second_open_ticket(error):
            raise
    async with uow:
        busy = await uow.tickets.open_at_counter(command.counter_id)
    raise _counter_busy(counter, busy.label if busy else None)


async def call_ticket(
    command: commands.CallTicket, uow: QueueUnitOfWork, *, clock: Clock
) -> Ticket:
    try:
        async with uow:
            now = clock()
            counter = await counter_of(uow, command.facility_id, command.counter_id)
            ticket = await _ticket(uow, command.facility_id, command.ticket_id)
            if ticket.service_code != counter.service_code:
                raise Conflict(
                    "counter-of-another-service",
                    params={
                        "counter": counter.label,
                        "counter_service": counter.service_code,
                        "ticket_service": ticket.service_code,
                    },
                )
            await _counter_free(uow, counter)
            ticket.call(
                counter,
                at=now,
                reason="specific:by_agent",
                mode=CallMode.SPECIFIC,
                mode_reason=command.reason,
                by_role=command.by_role,
            )
            await uow.tickets.save(ticket)
            event_id = await uow.tickets.add_history(
                ticket,
                "called",
                now,
                _both(
                    Message("history.called-directly", reason=Message(f"reason_{command.reason}"))
                ),
            )
            await _announce(uow, ticket, "called", now, event_id)
            await uow.commit()
            return ticket
    except IntegrityError as error:
        if not _is_second_open_ticket(error):
            raise
    raise _counter_busy(counter, None)


async def recall(command: commands.Recall, uow: QueueUnitOfWork, *, clock: Clock) -> Ticket:
    async with uow:
        now = clock()
        ticket = await _ticket(uow, command.facility_id, command.ticket_id)
        ticket.recall(at=now)
        await uow.tickets.save(ticket)
        event_id = await uow.tickets.add_history(ticket, "recalled", now)
        await _announce(uow, ticket, "recalled", now, event_id)
        await uow.commit()
        return ticket


async def mark_no_show(
    command: commands.MarkNoShow, uow: QueueUnitOfWork, *, clock: Clock
) -> Ticket:
    async with uow:
        now = clock()
        establishment = _establishment(uow, command.facility_id)
        ticket = await _ticket(uow, command.facility_id, command.ticket_id)
        requeued = ticket.no_show(
            at=now,
            recall_window=timedelta(seconds=establishment["recall_window_seconds"]),
            requeue_once=establishment["no_show_requeue_once"],
        )
        await uow.tickets.save(ticket)
        await uow.tickets.add_history(
            ticket,
            "requeued" if requeued else "no_show",
            now,
            _both(Message("history.no-show-requeued") if requeued else Message("history.no-show")),
        )
        if not requeued:
            await _finish_visit_if_done(uow, ticket, now)
        await uow.commit()
        return ticket


async def start_service(
    command: commands.StartService, uow: QueueUnitOfWork, *, clock: Clock
) -> Ticket:
    async with uow:
        now = clock()
        ticket = await _ticket(uow, command.facility_id, command.ticket_id)
        ticket.start(at=now)
        await uow.tickets.save(ticket)
        await uow.tickets.add_history(ticket, "started", now)
        await uow.commit()
        return ticket


async def complete_service(
    command: commands.CompleteService, uow: QueueUnitOfWork, *, clock: Clock
) -> Ticket:
    async with uow:
        now = clock()
        ticket = await _ticket(uow, command.facility_id, command.ticket_id)
        finished = await uow.tickets.others_open_in_visit(ticket.visit_id, ticket.ticket_id) == 0
        ticket.complete(at=now, visit_finished=finished)
        await uow.tickets.save(ticket)
        await uow.tickets.add_history(ticket, "completed", now)
        if finished:
            await uow.tickets.finish_visit(ticket.visit_id, now)
        await uow.commit()
        return ticket


async def cancel_ticket(
    command: commands.CancelTicket, uow: QueueUnitOfWork, *, clock: Clock
) -> Ticket:
    async with uow:
        now = clock()
        ticket = await _ticket(uow, command.facility_id, command.ticket_id)
        ticket.cancel(at=now, reason=command.reason)
        await uow.tickets.save(ticket)
        await uow.tickets.add_history(
            ticket, "cancelled", now, _both(Message(f"reason_{command.reason}"))
        )
        await _finish_visit_if_done(uow, ticket, now)
        await uow.commit()
        return ticket


async def route_patient(
    command: commands.RoutePatient, uow: QueueUnitOfWork, *, clock: Clock, policy: CallPolicy
) -> tuple[Ticket, Ticket]:
    """From a consultation, send the patient on to another service of the clinic in the
    same visit. Returns (the finished ticket, the new one)."""
    async with uow:
        now = clock()
        _establishment(uow, command.facility_id)
        ticket = await _ticket(uow, command.facility_id, command.ticket_id)
        service, day = _open_service(uow, command.facility_id, command.to_service_code, now)
        keeps = bool(service["routed_keeps_arrival"])
        arrival = ticket.arrived_at if keeps else now
        routed = ticket.route_to(
            command.to_service_code,
            at=now,
            service_day=day,
            keeps_original_arrival=keeps,
            effective_at=policy.effective_at(ticket.priority, arrival),
        )
        await uow.tickets.save(ticket)
        await uow.tickets.add_history(ticket, "completed", now)
        await uow.tickets.add_history(
            ticket,
            "routed",
            now,
            _both(Message("history.routed", service_code=command.to_service_code)),
        )
        await uow.tickets.add(routed)  # numbered here; after the routed step in the history
        await uow.commit()
        return ticket, routed


async def _finish_visit_if_done(uow: QueueUnitOfWork, ticket: Ticket, now: datetime) -> None:
    if await uow.tickets.others_open_in_visit(ticket.visit_id, ticket.ticket_id) == 0:
        await uow.tickets.finish_visit(ticket.visit_id, now)


# -- closing the day -------------------------------------------------------------------


async def close_days(uow: QueueUnitOfWork, *, clock: Clock, batch: int = 200) -> int:
    """Expire the tickets still open from service days that are over (`queue_day` has
    moved on): the patients left unseen. Each gets a history row and a
    `queue.ticket.expired` event; its visit ends. Returns how many were expired."""
    now = clock()
    async with uow:
        days = await uow.tickets.open_days(before=to_local(now).date() + timedelta(days=1))
    expired = 0
    for facility_id, service_code, day in days:
        if day >= uow.directory.queue_day(facility_id, service_code, now):
            continue
        while True:
            async with uow:
                tickets = await uow.tickets.open_of_day(facility_id, service_code, day, batch)
                for ticket in tickets:
                    ticket.expire(at=now)
                    await uow.tickets.save(ticket)
                    await uow.tickets.add_history(
                        ticket, "expired", now, _both(Message("history.expired"))
                    )
                    await _finish_visit_if_done(uow, ticket, now)
                await uow.commit()
            expired += len(tickets)
            if len(tickets) < batch:
                break
    return expired


async def purge_idempotency(uow: QueueUnitOfWork, *, clock: Clock, keep: timedelta) -> int:
    """Forget the answers kept for Idempotency-Keys older than `keep`."""
    async with uow:
        purged = await uow.idempotency.purge(clock() - keep)
        await uow.commit()
        return purged


# -- terminals -------------------------------------------------------------------------


async def heartbeat(command: commands.Heartbeat, uow: QueueUnitOfWork, *, clock: Clock) -> bool:
    """Record that a terminal is alive; at most one event a minute per terminal.
    Returns True if an event was emitted."""
    async with uow:
        now = clock()
        _establishment(uow, command.facility_id)
        terminal = await uow.terminals.get(command.terminal_id)
        if terminal is None:
            terminal = Terminal(
                terminal_id=command.terminal_id, facility_id=command.facility_id, kind=command.kind
            )
        elif terminal.facility_id != command.facility_id:
            raise Forbidden("terminal-of-another-establishment")
        emitted = terminal.heartbeat(
            at=now,
            kind=command.kind,
            every=HEARTBEAT_EVENT_EVERY,
            within_opening_hours=uow.directory.hours(command.facility_id).is_open(to_local(now)),
        )
        await uow.terminals.save(terminal)
        await uow.commit()
        return emitted
