"""The appointments service's consumer: arrivals, from the queue's tickets.

The queue service checks a patient in with their booking code at the kiosk (even while
this service is down) and publishes `queue.ticket.issued` with the code as
`appointment_ref`; here the booking becomes arrived (`appointments.appointment.arrived`),
written to the outbox in the consumer's own transaction, with the inbox row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from sihha_appointments.adapters.repository import BookingRepository, TimerRepository
from sihha_appointments.service_layer.commands import RecordArrival
from sihha_appointments.service_layer.handlers import apply_arrival
from sihha_contracts.envelope import Envelope, EventPayload
from sihha_contracts.events.queue import TicketIssuedV1
from sihha_kit.consumer import EventConsumer
from sihha_kit.outbox import Outbox
from sihha_kit.runtime import ServiceRuntime

if TYPE_CHECKING:
    from sihha_appointments.context import AppointmentsContext


class _ConsumerWork:
    """The repositories an arrival needs, on the consumer's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.bookings = BookingRepository(session)
        self.timers = TimerRepository(session)


def build_consumer(runtime: ServiceRuntime, context: AppointmentsContext) -> EventConsumer:
    async def on_ticket_issued(
        envelope: Envelope, payload: EventPayload, session: AsyncSession
    ) -> None:
        assert isinstance(payload, TicketIssuedV1)
        if not payload.appointment_ref:
            return
        work = _ConsumerWork(session)
        if await apply_arrival(
            work,
            RecordArrival(
                envelope.facility_id,
                payload.appointment_ref,
                payload.ticket_id,
                envelope.occurred_at,
            ),
        ):
            events = [e for booking in work.bookings.seen for e in booking.pop_events()]
            await Outbox(session, runtime.producer).add(events, causation_id=envelope.event_id)

    settings = runtime.settings
    return EventConsumer(
        "appointments",
        runtime.broker,
        runtime.sessions,
        bindings={"queue": ["queue.ticket.issued"]},
        handlers={"queue.ticket.issued": on_ticket_issued},
        prefetch=settings.consumer_prefetch,
        batch_size=settings.consumer_batch_size,
        delivery_limit=settings.delivery_limit,
    )
