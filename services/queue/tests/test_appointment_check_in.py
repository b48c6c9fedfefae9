"""Check-in with a booking code from the clinic's own list of expected arrivals, kept
from the appointments service's events (which travel through the real broker)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import aio_pika
import httpx
import pytest

from sihha_contracts.envelope import Producer
from sihha_contracts.events.appointments import AppointmentBookedV1, AppointmentCancelledV1
from sihha_kit.domain import RecordedEvent
from sihha_kit.outbox import build_envelope
from sihha_kit.testing.apps import FixedClock, wait_until
from sihha_kit.testing.servers import Servers
from sihha_queue.config import QueueSettings

pytestmark = pytest.mark.integration

CLINIC = "31-PC-001"
PATIENT = "a" * 64


async def publish(
    settings: QueueSettings,
    servers: Servers,
    payload: object,
    appointment_id: uuid.UUID,
    sequence: int,
    at: datetime,
) -> None:
    envelope = build_envelope(
        RecordedEvent(payload, CLINIC, str(appointment_id), sequence, at),  # type: ignore[arg-type]
        Producer(name="appointments", version="test"),
    )
    # mandatory: until the queue service's consumer has bound its inbox, the broker
    # returns the message; try again (the service starts its consumer in the background)
    for _ in range(100):
        try:
            connection = await aio_pika.connect(servers.amqp_url)
            async with connection:
                channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                exchange = await channel.declare_exchange(
                    f"{settings.broker_namespace}appointments.events",
                    aio_pika.ExchangeType.TOPIC,
                    durable=True,
                )
                await exchange.publish(
                    aio_pika.Message(
                        envelope.model_dump_json().encode(),
                        message_id=str(envelope.event_id),
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=envelope.event_type,
                    mandatory=True,
                )
                return
        except (aio_pika.exceptions.PublishError, aio_pika.exceptions.AMQPError, OSError):
            await asyncio.sleep(0.1)
    raise AssertionError("the queue service never bound its inbox")


def booked(appointment_id: uuid.UUID, code: str, slot: datetime) -> AppointmentBookedV1:
    return AppointmentBookedV1(
        appointment_id=appointment_id,
        booking_code=code,
        specialty_code="CARDIO",
        slot_start=slot,
        slot_end=slot + timedelta(minutes=20),
        patient_key=PATIENT,
        booked_via="web",
    )


async def check_in(client: httpx.AsyncClient, headers: dict[str, str], code: str) -> httpx.Response:
    return await client.post(
        f"/establishments/{CLINIC}/check-in", json={"booking_code": code}, headers=headers
    )


async def test_a_booked_citizen_checks_in_at_the_kiosk_with_the_appointments_service_down(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    queue_settings: QueueSettings,
    servers: Servers,
    clock: FixedClock,
) -> None:
    appointment = uuid.uuid4()
    slot = clock.now.astimezone(UTC) + timedelta(minutes=30)
    await publish(
        queue_settings, servers, booked(appointment, "K7M2Q9XA", slot), appointment, 1, clock.now
    )

    async def arrived() -> httpx.Response | None:
        response = await check_in(queue_client, reception, "k7m2q9xa")
        return response if response.status_code != 404 else None

    response = await wait_until(arrived, timeout=20)
    assert response is not None and response.status_code == 201, response and response.text
    ticket = response.json()
    assert ticket["priority"] == "appointment"
    assert (
        ticket["service_code"] == "SPEC"
    )  # the clinic has no CARDIO service: specialist consultations
    assert ticket["appointment_ref"] == "K7M2Q9XA"
    again = await check_in(queue_client, reception, "K7M2Q9XA")
    assert again.status_code == 201 and again.json()["ticket_id"] == ticket["ticket_id"]


async def test_a_cancellation_that_overtakes_its_booking_still_wins(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    queue_settings: QueueSettings,
    servers: Servers,
    clock: FixedClock,
) -> None:
    appointment = uuid.uuid4()
    slot = clock.now.astimezone(UTC) + timedelta(hours=1)
    cancelled = AppointmentCancelledV1(
        appointment_id=appointment, cancelled_by="citizen", reason="citizen_request"
    )
    await publish(queue_settings, servers, cancelled, appointment, 2, clock.now)
    await publish(
        queue_settings, servers, booked(appointment, "ZZ99YY88", slot), appointment, 1, clock.now
    )

    async def refused() -> httpx.Response | None:
        response = await check_in(queue_client, reception, "ZZ99YY88")
        return response if response.status_code == 409 else None

    response = await wait_until(refused, timeout=20)
    assert response is not None, "the booking never became known as cancelled"
    assert response.json()["code"] == "booking-cancelled"


async def test_unknown_and_other_day_bookings_are_refused(
    queue_client: httpx.AsyncClient,
    reception: dict[str, str],
    queue_settings: QueueSettings,
    servers: Servers,
    clock: FixedClock,
) -> None:
    unknown = await check_in(queue_client, reception, "NOPE1234")
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown-booking"
    appointment = uuid.uuid4()
    tomorrow = clock.now.astimezone(UTC) + timedelta(days=1)
    await publish(
        queue_settings,
        servers,
        booked(appointment, "TMRW2026", tomorrow),
        appointment,
        1,
        clock.now,
    )

    async def not_today() -> httpx.Response | None:
        response = await check_in(queue_client, reception, "TMRW2026")
        return response if response.status_code == 409 else None

    response = await wait_until(not_today, timeout=20)
    assert response is not None and response.json()["code"] == "booking-not-today"
    # the booking's day and time, each language in its own words (Africa/Algiers)
    problem = response.json()
    assert problem["detail_fr"] == (
        "Le rendez-vous TMRW2026 est prévu le jeudi 26 novembre 2026 à 08:30, pas aujourd'hui."
    )
    assert problem["detail_ar"] == (
        "الموعد TMRW2026 مقرر يوم الخميس، 26 نوفمبر 2026 على الساعة 08:30، وليس اليوم."
    )
    # the caller's language chooses `detail`
    arabic = await queue_client.post(
        f"/establishments/{CLINIC}/check-in",
        json={"booking_code": "TMRW2026"},
        headers={**reception, "Accept-Language": "ar"},
    )
    assert arabic.json()["detail"] == problem["detail_ar"]
