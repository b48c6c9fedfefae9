"""Handlers: one plain function per command, `handler(command, uow, **deps)`."""

from __future__ import annotations

from collections.abc import Callable

from sihha_kit.clock import Clock, local_day
from sihha_kit.errors import Conflict, NotFound
from sihha_queue.domain.ticket import Ticket
from sihha_queue.service_layer.commands import IssueTicket
from sihha_queue.service_layer.unit_of_work import QueueUnitOfWork


async def issue_ticket(command: IssueTicket, uow: QueueUnitOfWork, *, clock: Clock) -> Ticket:
    async with uow:
        service = await uow.clinics.service(command.facility_id, command.service_code)
        if service is None:
            if not await uow.clinics.establishment_exists(command.facility_id):
                raise NotFound(
                    "unknown-establishment",
                    f"Établissement inconnu : {command.facility_id}.",
                    f"مؤسسة غير معروفة: {command.facility_id}.",
                )
            raise NotFound(
                "unknown-service",
                f"Le service {command.service_code} n'existe pas dans cet établissement.",
                f"المصلحة {command.service_code} غير موجودة في هذه المؤسسة.",
            )
        if not service["active"]:
            raise Conflict(
                "service-closed",
                f"Le service {service['name_fr']} est fermé.",
                f"المصلحة {service['name_ar']} مغلقة.",
            )
        now = clock()
        day = local_day(now)
        number = await uow.tickets.next_number(command.facility_id, command.service_code, day)
        ticket = Ticket.issue(
            facility_id=command.facility_id,
            service_code=command.service_code,
            service_day=day,
            number=number,
            priority=command.priority,
            channel=command.channel,
            at=now,
        )
        await uow.tickets.add(ticket)
        uow.seen(ticket)
        await uow.commit()
        return ticket


HANDLERS: dict[type, Callable[..., object]] = {IssueTicket: issue_ticket}
