"""The queue service's consumer: appointments it must expect at the kiosk.

It keeps the clinic's own list of expected arrivals from the appointments
service's events, so that a citizen checks in with a booking code even when
the appointments service is down. Per-appointment order is restored from the
envelope's `sequence`: an older event never overwrites a newer one.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sihha_contracts.envelope import Envelope, EventPayload
from sihha_contracts.events.appointments import (
    AppointmentBookedV1,
    AppointmentCancelledV1,
    AppointmentRescheduledV1,
)
from sihha_kit.consumer import EventConsumer
from sihha_kit.runtime import ServiceRuntime
from sihha_queue.adapters.arrivals import ArrivalRepository


async def on_booked(envelope: Envelope, payload: EventPayload, session: AsyncSession) -> None:
    assert isinstance(payload, AppointmentBookedV1)
    await ArrivalRepository(session).booked(
        payload.appointment_id,
        envelope.sequence,
        identity={
            "booking_code": payload.booking_code,
            "facility_id": envelope.facility_id,
            "specialty_code": payload.specialty_code,
            "patient_key": payload.patient_key,
        },
        state={"slot_start": payload.slot_start, "slot_end": payload.slot_end, "status": "booked"},
    )


async def on_cancelled(envelope: Envelope, payload: EventPayload, session: AsyncSession) -> None:
    assert isinstance(payload, AppointmentCancelledV1)
    await ArrivalRepository(session).change(
        payload.appointment_id, envelope.sequence, envelope.facility_id, {"status": "cancelled"}
    )


async def on_rescheduled(envelope: Envelope, payload: EventPayload, session: AsyncSession) -> None:
    assert isinstance(payload, AppointmentRescheduledV1)
    await ArrivalRepository(session).change(
        payload.appointment_id,
        envelope.sequence,
        envelope.facility_id,
        {"slot_start": payload.slot_start, "slot_end": payload.slot_end},
    )


def build_consumer(runtime: ServiceRuntime) -> EventConsumer:
    settings = runtime.settings
    return EventConsumer(
        "queue",
        runtime.broker,
        runtime.sessions,
        bindings={
            "appointments": [
                "appointments.appointment.booked",
                "appointments.appointment.cancelled",
                "appointments.appointment.rescheduled",
            ]
        },
        handlers={
            "appointments.appointment.booked": on_booked,
            "appointments.appointment.cancelled": on_cancelled,
            "appointments.appointment.rescheduled": on_rescheduled,
        },
        prefetch=settings.consumer_prefetch,
        batch_size=settings.consumer_batch_size,
        delivery_limit=settings.delivery_limit,
    )
