"""Handlers: one plain function per command, `handler(command, uow, **deps)`.

Each opens the unit of work, checks the rules, changes the aggregates, writes
a history row for every event (the visit's history and the service's own
counts), and commits — the events go to the outbox in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sihha_contracts.events.queue import CallMode, IssueChannel, Priority, TerminalHeartbeatV1
from sihha_kit.clock import Clock, local_day, to_local
from sihha_kit.domain import Aggregate
from sihha_kit.errors import BadRequest, Conflict, Forbidden, NotFound
from sihha_kit.pseudonym import pseudonymise_nin, validate_nin
from sihha_queue.adapters.repository import IdempotencyKeyTaken, hours_of
from sihha_queue.domain.policy import CallPolicy
from sihha_queue.domain.ticket import NUMBER_PENDING, Counter, Ticket
from sihha_queue.service_layer import commands
from sihha_queue.service_layer.unit_of_work import QueueUnitOfWork
from sihha_queue.service_layer.views import counter_of, ticket_summary

#: a terminal's heartbeat reaches the bus at most this often (the rest is local)
HEARTBEAT_EVENT_EVERY = timedelta(minutes=1)


# -- checks shared by the handlers ---------------------------------------------------


async def _establishment(uow: QueueUnitOfWork, facility_id: str) -> Mapping[str, Any]:
    establishment = uow.directory.establishment(facility_id)  # no I/O: the unit of work
    # need not be open
    if establishment is None:
        raise NotFound(
            "unknown-establishment",
            f"Établissement inconnu : {facility_id}.",
            f"مؤسسة غير معروفة: {facility_id}.",
        )
    return establishment


async def _open_service(
    uow: QueueUnitOfWork, establishment: Mapping[str, Any], service_code: str, now: datetime
) -> Mapping[str, Any]:
    service = uow.directory.service(establishment["code"], service_code)
    if service is None:
        raise NotFound(
            "unknown-service",
            f"Le service {service_code} n'existe pas dans cet établissement.",
            f"المصلحة {service_code} غير موجودة في هذه المؤسسة.",
        )
    if not service["active"]:
        raise Conflict(
            "service-closed",
            f"Le service {service['name_fr']} est fermé.",
            f"المصلحة {service['name_ar']} مغلقة.",
        )
    if not hours_of(establishment, service).is_open(to_local(now)):
        raise Conflict(
            "service-closed",
            f"Le service {service['name_fr']} est fermé à cette heure "
            f"({to_local(now):%H:%M}, heure d'Alger).",
            f"المصلحة {service['name_ar']} مغلقة في هذه الساعة ({to_local(now):%H:%M} بتوقيت الجزائر).",
            opening_hours=hours_of(establishment, service).as_dict(),
        )
    return service


async def _ticket(uow: QueueUnitOfWork, facility_id: str, ticket_id: Any) -> Ticket:
    ticket = await uow.tickets.get(ticket_id, for_update=True)
    if ticket is None:
        raise NotFound("unknown-ticket", "Ticket introuvable.", "التذكرة غير موجودة.")
    if ticket.facility_id != facility_id:
        raise Forbidden(
            "ticket-of-another-establishment",
            "Ce ticket appartient à un autre établissement.",
            "هذه التذكرة تابعة لمؤسسة أخرى.",
        )
    return ticket


async def _counter_free(uow: QueueUnitOfWork, counter: Counter) -> None:
    busy = await uow.tickets.open_at_counter(counter.counter_id)
    if busy is not None:
        raise Conflict(
            "counter-busy",
            f"Le guichet {counter.label} a encore le ticket {busy.label} en cours : "
            "terminez-le, orientez-le ou déclarez-le absent d'abord.",
            f"الشباك {counter.label} لا يزال يخدم التذكرة {busy.label}: "
            "أنهِها أو وجّهها أو سجّل غيابها أولًا.",
            current_ticket=busy.label,
        )


async def _commit(uow: QueueUnitOfWork, *aggregates: Aggregate) -> None:
    for aggregate in aggregates:
        uow.seen(aggregate)
    await uow.commit()


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's `Idempotency-Key`: a retried request returns the first result."""

    subject: str
    key: str
    request_hash: str


class RequestAlreadyDone(Exception):
    """Another request with the same idempotency key committed first."""


async def _remember(
    uow: QueueUnitOfWork, idempotency: IdempotencyKey | None, ticket: Ticket
) -> None:
    if idempotency is None:
        return
    stored = await uow.idempotency.remember(
        idempotency.subject,
        idempotency.key,
        idempotency.request_hash,
        201,
        ticket_summary(ticket),
    )
    if not stored:
        raise RequestAlreadyDone


# -- issuing -------------------------------------------------------------------------


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
            raise BadRequest(
                "invalid-nin",
                "Le numéro d'identification nationale (NIN) doit compter 18 chiffres.",
                "يجب أن يتكون رقم التعريف الوطني من 18 رقمًا.",
            ) from None
        if pseudonym_key is None:
            raise Conflict(
                "pseudonymisation-unavailable",
                "La clé de pseudonymisation n'est pas configurée : ticket sans NIN seulement.",
                "مفتاح إخفاء الهوية غير مُعد: تذكرة بدون رقم التعريف فقط.",
            )
        patient_key = pseudonymise_nin(nin, pseudonym_key)
    # no `async with uow`: the clinic and its service come from the process's directory
    # and the ticket is committed by one statement on a connection of its own
    now = clock()
    establishment = await _establishment(uow, command.facility_id)
    await _open_service(uow, establishment, command.service_code, now)
    day = local_day(now)
    # the number is taken by the statement that commits the ticket (`uow.commit_issued`):
    # until then the ticket and its event carry a placeholder
    ticket = Ticket.issue(
        facility_id=command.facility_id,
        service_code=command.service_code,
        service_day=day,
        number=NUMBER_PENDING,
        priority=command.priority,
        channel=command.channel,
        at=now,
        effective_at=policy.effective_at(command.priority, now),
        patient_key=patient_key,
        age_band=command.age_band,
        sex=command.sex,
    )
    try:
        await uow.commit_issued(
            ticket,
            idempotency=(idempotency.subject, idempotency.key, idempotency.request_hash)
            if idempotency
            else None,
            response=ticket_summary(ticket) if idempotency else None,
        )
    except IdempotencyKeyTaken:
        raise RequestAlreadyDone from None
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
            raise NotFound(
                "unknown-booking",
                f"Aucun rendez-vous {code} n'est attendu dans cet établissement.",
                f"لا يوجد موعد {code} منتظر في هذه المؤسسة.",
            )
        if arrival["status"] == "checked_in" and arrival["ticket_id"] is not None:
            existing = await uow.tickets.get(arrival["ticket_id"])
            assert existing is not None
            return existing
        if arrival["status"] != "booked":
            raise Conflict(
                "booking-cancelled",
                f"Le rendez-vous {code} a été annulé.",
                f"تم إلغاء الموعد {code}.",
            )
        if local_day(arrival["slot_start"]) != local_day(now):
            raise Conflict(
                "booking-not-today",
                f"Le rendez-vous {code} est prévu le {to_local(arrival['slot_start']):%d/%m/%Y à %H:%M}.",
                f"الموعد {code} مقرر يوم {to_local(arrival['slot_start']):%d/%m/%Y على الساعة %H:%M}.",
            )
        establishment = await _establishment(uow, command.facility_id)
        specialty = arrival["specialty_code"]
        service_code = (
            specialty if await uow.clinics.service(command.facility_id, specialty) else "SPEC"
        )
        await _open_service(uow, establishment, service_code, now)
        day = local_day(now)
        number = await uow.tickets.next_number(command.facility_id, service_code, day)
        ticket = Ticket.issue(
            facility_id=command.facility_id,
            service_code=service_code,
            service_day=day,
            number=number,
            priority=Priority.APPOINTMENT,
            channel=IssueChannel.KIOSK,
            at=now,
            effective_at=policy.effective_at(Priority.APPOINTMENT, now),
            patient_key=arrival["patient_key"],
            appointment_ref=code,
        )
        await uow.tickets.add(ticket)
        await uow.tickets.add_visit(ticket.visit_id, ticket.facility_id, now)
        await uow.tickets.add_history(ticket, "issued", now, f"Rendez-vous {code}", f"موعد {code}")
        await uow.arrivals.mark_checked_in(arrival["appointment_id"], ticket.ticket_id)
        await _remember(uow, idempotency, ticket)
        await _commit(uow, ticket)
        return ticket


# -- at the counter ------------------------------------------------------------------


async def _announce(uow: QueueUnitOfWork, ticket: Ticket, kind: str, at: datetime) -> None:
    await uow.notify_board(
        {
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
    async with uow:
        now = clock()
        counter = await counter_of(uow, command.facility_id, command.counter_id)
        await _counter_free(uow, counter)
        ticket = await uow.tickets.next_waiting(
            command.facility_id, counter.service_code, now, policy
        )
        if ticket is None:
            return None
        choice = policy.explain(ticket, now)
        ticket.call(counter, at=now, reason=choice.reason, by_role=command.by_role)
        await uow.tickets.save(ticket)
        await uow.tickets.add_history(
            ticket, "called", now, choice.explanation_fr, choice.explanation_ar
        )
        await _announce(uow, ticket, "called", now)
        await _commit(uow, ticket)
        return ticket


async def call_ticket(
    command: commands.CallTicket, uow: QueueUnitOfWork, *, clock: Clock
) -> Ticket:
    async with uow:
        now = clock()
        counter = await counter_of(uow, command.facility_id, command.counter_id)
        ticket = await _ticket(uow, command.facility_id, command.ticket_id)
        if ticket.service_code != counter.service_code:
            raise Conflict(
                "counter-of-another-service",
                f"Le guichet {counter.label} sert {counter.service_code}, pas {ticket.service_code}.",
                f"الشباك {counter.label} يخدم {counter.service_code} وليس {ticket.service_code}.",
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
        await uow.tickets.add_history(
            ticket,
            "called",
            now,
            f"Appel direct : {command.reason}",
            f"مناداة مباشرة: {command.reason}",
        )
        await _announce(uow, ticket, "called", now)
        await _commit(uow, ticket)
        return ticket


async def recall(command: commands.Recall, uow: QueueUnitOfWork, *, clock: Clock) -> Ticket:
    async with uow:
        now = clock()
        ticket = await _ticket(uow, command.facility_id, command.ticket_id)
        ticket.recall(at=now)
        await uow.tickets.save(ticket)
        await uow.tickets.add_history(ticket, "recalled", now)
        await _announce(uow, ticket, "recalled", now)
        await _commit(uow, ticket)
        return ticket


async def mark_no_show(
    command: commands.MarkNoShow, uow: QueueUnitOfWork, *, clock: Clock
) -> Ticket:
    async with uow:
        now = clock()
        establishment = await _establishment(uow, command.facility_id)
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
            "Absent : remis une fois dans la file (à sa place)" if requeued else "Absent",
            "غائب: أعيد مرة واحدة إلى الطابور (في مكانه)" if requeued else "غائب",
        )
        if not requeued:
            await _finish_visit_if_done(uow, ticket, now)
        await _commit(uow, ticket)
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
        await _commit(uow, ticket)
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
        await _commit(uow, ticket)
        return ticket


async def cancel_ticket(
    command: commands.CancelTicket, uow: QueueUnitOfWork, *, clock: Clock
) -> Ticket:
    async with uow:
        now = clock()
        ticket = await _ticket(uow, command.facility_id, command.ticket_id)
        ticket.cancel(at=now, reason=command.reason)
        await uow.tickets.save(ticket)
        await uow.tickets.add_history(ticket, "cancelled", now, command.reason, command.reason)
        await _finish_visit_if_done(uow, ticket, now)
        await _commit(uow, ticket)
        return ticket


async def route_patient(
    command: commands.RoutePatient, uow: QueueUnitOfWork, *, clock: Clock, policy: CallPolicy
) -> tuple[Ticket, Ticket]:
    """From a consultation, send the patient on to another service of the clinic in the
    same visit. Returns (the finished ticket, the new one)."""
    async with uow:
        now = clock()
        establishment = await _establishment(uow, command.facility_id)
        ticket = await _ticket(uow, command.facility_id, command.ticket_id)
        service = await _open_service(uow, establishment, command.to_service_code, now)
        keeps = bool(service["routed_keeps_arrival"])
        arrival = ticket.arrived_at if keeps else now
        day = local_day(now)
        number = await uow.tickets.next_number(command.facility_id, command.to_service_code, day)
        routed = ticket.route_to(
            command.to_service_code,
            at=now,
            number=number,
            service_day=day,
            keeps_original_arrival=keeps,
            effective_at=policy.effective_at(ticket.priority, arrival),
        )
        await uow.tickets.save(ticket)
        await uow.tickets.add(routed)
        await uow.tickets.add_history(ticket, "completed", now)
        await uow.tickets.add_history(
            ticket,
            "routed",
            now,
            f"Orienté vers {command.to_service_code} ({routed.label})",
            f"وُجّه إلى {command.to_service_code} ({routed.label})",
        )
        await uow.tickets.add_history(routed, "issued", now)
        await _commit(uow, ticket, routed)
        return ticket, routed


async def _finish_visit_if_done(uow: QueueUnitOfWork, ticket: Ticket, now: datetime) -> None:
    if await uow.tickets.others_open_in_visit(ticket.visit_id, ticket.ticket_id) == 0:
        await uow.tickets.finish_visit(ticket.visit_id, now)


# -- terminals -------------------------------------------------------------------------


class _Terminal(Aggregate):
    pass


async def heartbeat(command: commands.Heartbeat, uow: QueueUnitOfWork, *, clock: Clock) -> bool:
    """Record that a terminal is alive; at most one event a minute per terminal.
    Returns True if an event was emitted."""
    async with uow:
        now = clock()
        establishment = await _establishment(uow, command.facility_id)
        owner = await uow.terminals.owner(command.terminal_id)
        if owner is not None and owner != command.facility_id:
            raise Forbidden(
                "terminal-of-another-establishment",
                "Ce terminal est enregistré dans un autre établissement.",
                "هذه المحطة مسجلة في مؤسسة أخرى.",
            )
        emit, version = await uow.terminals.seen(
            command.terminal_id, command.facility_id, command.kind.value, now, HEARTBEAT_EVENT_EVERY
        )
        if emit:
            terminal = _Terminal(version=version - 1)
            terminal.record(
                TerminalHeartbeatV1(
                    terminal_id=command.terminal_id,
                    terminal_kind=command.kind,
                    within_opening_hours=hours_of(establishment).is_open(to_local(now)),
                ),
                facility_id=command.facility_id,
                aggregate_id=str(command.terminal_id),
                at=now,
            )
            uow.seen(terminal)
        await uow.commit()
        return emit
