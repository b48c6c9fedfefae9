"""Citizens sign in with their NIN and a code sent by SMS; the phone number stays
encrypted in this service's database; the SMS gateway adapter talks HTTP to a real local
server (retries with backoff, one idempotency key per message, delivery status kept)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from sihha_appointments.adapters.sms import HttpSmsGateway, read_sink
from sihha_appointments.bootstrap import create_app
from sihha_appointments.config import AppointmentsSettings
from sihha_contracts.envelope import Envelope, Producer
from sihha_contracts.events.queue import TicketIssuedV1
from sihha_kit.db import asyncpg_dsn
from sihha_kit.testing.apps import FixedClock, running, wait_until
from sihha_kit.testing.plugin import bearer

from .conftest import CLINIC, book, free_slots, publish

pytestmark = pytest.mark.integration

NIN = "123456789012345678"
PHONE = "0661 23 45 67"


@dataclass
class Gateway:
    """A local SMS gateway: records requests; answers `script` statuses, then 202."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            state.requests.append(
                {
                    "body": body,
                    "idempotency_key": self.headers.get("idempotency-key"),
                    "authorization": self.headers.get("authorization"),
                }
            )
            status = state.script.pop(0) if state.script else 202
            payload = (
                {"message_id": f"gw-{len(state.requests)}", "status": "queued"}
                if status < 300
                else {"error": "try later"}
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/messages"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


async def test_the_http_gateway_adapter_against_a_real_server(gateway: Gateway) -> None:
    sms = HttpSmsGateway(gateway.url, token="secret-token", timeout=5)
    try:
        gateway.script = [503, 400]
        first = await sms.send(to="+213661234567", text="Bonjour", idempotency_key="n-1")
        assert not first.accepted and first.transient and first.status == "http-503"
        second = await sms.send(to="+213661234567", text="Bonjour", idempotency_key="n-1")
        assert not second.accepted and not second.transient  # a 400 is final
        third = await sms.send(to="+213661234567", text="Bonjour", idempotency_key="n-1")
        assert third.accepted and third.message_id == "gw-3" and third.status == "queued"
        assert [r["idempotency_key"] for r in gateway.requests] == ["n-1"] * 3
        assert gateway.requests[0]["authorization"] == "Bearer secret-token"
        assert gateway.requests[0]["body"] == {
            "to": "+213661234567",
            "text": "Bonjour",
            "reference": "n-1",
        }
    finally:
        await sms.close()
    down = HttpSmsGateway("http://127.0.0.1:9/messages", timeout=2)
    try:
        refused = await down.send(to="+213661234567", text="x", idempotency_key="n-2")
        assert not refused.accepted and refused.transient
    finally:
        await down.close()


@pytest.fixture
async def gateway_client(
    appointments_settings: AppointmentsSettings, clock: FixedClock, gateway: Gateway
) -> AsyncIterator[httpx.AsyncClient]:
    settings = appointments_settings.model_copy(update={"sms_gateway_url": gateway.url})
    async with running(create_app(settings, clock=clock)) as api:
        yield api


async def test_sign_in_with_a_code_by_sms_through_the_gateway_with_retries(
    gateway_client: httpx.AsyncClient,
    gateway: Gateway,
    clock: FixedClock,
    appointments_settings: AppointmentsSettings,
) -> None:
    api = gateway_client
    gateway.script = [503]  # the gateway's first answer: try later
    started = await api.post("/sign-in", json={"nin": NIN, "phone": PHONE, "language": "fr"})
    assert started.status_code == 202, started.text
    challenge = started.json()
    assert challenge["phone_hint"] == "+213 6•• •• •• 67"
    assert await wait_until(lambda: _count(gateway, 1), timeout=10)
    clock.advance(seconds=11)  # the retry's backoff (10 s) has passed
    assert await wait_until(lambda: _count(gateway, 2), timeout=10)
    first, second = gateway.requests
    assert first["idempotency_key"] == second["idempotency_key"]  # one message, twice
    assert second["body"]["to"] == "+213661234567"
    text = second["body"]["text"]
    code = next(word for word in text.split() if word.isdigit() and len(word) == 6)
    assert "valable 10 min" in text

    wrong = await api.post(
        f"/sign-in/{challenge['challenge_id']}/verify",
        json={"code": "000000" if code != "000000" else "111111"},
    )
    assert wrong.status_code == 422 and wrong.json()["attempts_left"] == 4
    verified = await api.post(f"/sign-in/{challenge['challenge_id']}/verify", json={"code": code})
    assert verified.status_code == 200, verified.text
    token = verified.json()["token"]
    # the token is the service's own, accepted by its routes, its key published
    mine = await api.get("/bookings/mine", headers=bearer(token))
    assert mine.status_code == 200 and mine.json() == []
    keys = (await api.get("/.well-known/jwks.json")).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["kid"]
    reused = await api.post(f"/sign-in/{challenge['challenge_id']}/verify", json={"code": code})
    assert reused.status_code == 409 and reused.json()["code"] == "sign-in-challenge-used"

    # next time the NIN alone: the code goes to the phone bound, whatever is typed
    again = await api.post("/sign-in", json={"nin": NIN, "phone": "0550000000"})
    assert again.json()["phone_hint"] == "+213 6•• •• •• 67"
    assert await wait_until(lambda: _count(gateway, 3), timeout=10)
    assert gateway.requests[2]["body"]["to"] == "+213661234567"

    # the number is encrypted at rest: its digits are nowhere in the database in clear
    connection = await asyncpg.connect(asyncpg_dsn(appointments_settings.database_url))
    try:
        stored = await connection.fetchrow("SELECT * FROM citizens")
        assert b"661234567" not in bytes(stored["phone_ciphertext"])
        statuses = await connection.fetch(
            "SELECT status, attempts, gateway_message_id FROM notifications ORDER BY created_at"
        )
        assert [tuple(r) for r in statuses][:1] == [("sent", 2, "gw-2")]
        dump = await connection.fetchval(
            "SELECT string_agg(t::text, '') FROM (SELECT * FROM notifications) t"
        )
        assert "661234567" not in dump
    finally:
        await connection.close()


async def _count(gateway: Gateway, wanted: int) -> bool:
    return len(gateway.requests) >= wanted


async def test_sign_in_problems(
    client: httpx.AsyncClient, clock: FixedClock, appointments_settings: AppointmentsSettings
) -> None:
    first = await client.post("/sign-in", json={"nin": NIN})
    assert first.status_code == 422 and first.json()["code"] == "phone-required"
    bad_nin = await client.post("/sign-in", json={"nin": "12345", "phone": PHONE})
    assert bad_nin.status_code == 422 and bad_nin.json()["code"] == "invalid-nin"
    bad_phone = await client.post("/sign-in", json={"nin": NIN, "phone": "0123456789"})
    assert bad_phone.status_code == 422 and bad_phone.json()["code"] == "invalid-phone"
    started = (await client.post("/sign-in", json={"nin": NIN, "phone": PHONE})).json()
    url = f"/sign-in/{started['challenge_id']}/verify"
    for left in (4, 3, 2, 1, 0):
        wrong = await client.post(url, json={"code": "999999"})
        if wrong.json()["code"] != "sign-in-code-wrong":  # 1 chance in a million: right
            break
        assert wrong.json()["attempts_left"] == left
    exhausted = await client.post(url, json={"code": "999999"})
    assert exhausted.status_code == 429
    # the development sink recorded the code's message, the number masked
    assert await wait_until(lambda: _sink(appointments_settings.sms_sink_path), timeout=10)
    [line] = read_sink(appointments_settings.sms_sink_path)
    assert line["to"] == "+213 6•• •• •• 67" and "صحة" in line["text"]
    later = (await client.post("/sign-in", json={"nin": NIN, "phone": PHONE})).json()
    clock.advance(minutes=11)
    expired = await client.post(f"/sign-in/{later['challenge_id']}/verify", json={"code": "123456"})
    assert expired.status_code == 409 and expired.json()["code"] == "sign-in-code-expired"


async def _sink(path: Path) -> bool:
    return bool(read_sink(path))


async def test_a_kiosk_check_in_marks_the_booking_arrived_and_others_become_no_shows(
    client: httpx.AsyncClient,
    scheduler: dict[str, str],
    citizen: Callable[[str], dict[str, str]],
    clock: FixedClock,
    appointments_settings: AppointmentsSettings,
    servers: Any,
) -> None:
    import aio_pika

    await publish(
        client, scheduler, periods=[{"weekday": "sun", "starts": "08:30", "ends": "10:00"}]
    )
    slots = await free_slots(client, citizen("a"))
    came = await book(client, citizen("amina"), slots[0]["slot_id"])
    missed = await book(client, citizen("karim"), slots[1]["slot_id"])
    # Sunday 6 December 08:20: Amina checks in at the kiosk; the queue publishes the ticket
    clock.now = datetime(2026, 12, 6, 7, 20, tzinfo=UTC)
    issued = Envelope(
        event_id=uuid.uuid4(),
        event_type="queue.ticket.issued",
        schema_version=1,
        occurred_at=clock.now,
        recorded_at=clock.now,
        producer=Producer(name="queue", version="test"),
        facility_id=CLINIC,
        aggregate_id=str(uuid.uuid4()),
        sequence=1,
        correlation_id=uuid.uuid4(),
        payload=TicketIssuedV1(
            ticket_id=uuid.uuid4(),
            visit_id=uuid.uuid4(),
            service_code="SPEC",
            ticket_number="SPEC-001",
            service_day=clock.now.date(),
            appointment_ref=came["booking_code"],
        ).model_dump(mode="json"),
    )
    async with await aio_pika.connect(servers.amqp_url) as connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            f"{appointments_settings.broker_namespace}queue.events",
            aio_pika.ExchangeType.TOPIC,
            durable=True,
        )

        async def arrived() -> bool:
            # published again until the consumer's queue exists and takes it (a duplicate
            # is absorbed by the inbox)
            await exchange.publish(
                aio_pika.Message(
                    issued.model_dump_json().encode(), message_id=str(issued.event_id)
                ),
                routing_key="queue.ticket.issued",
            )
            answer = await client.get(f"/bookings/{came['booking_id']}", headers=citizen("amina"))
            return bool(answer.json()["status"] == "arrived")

        assert await wait_until(arrived, timeout=30, interval=0.5)
    clock.now = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)

    async def no_show() -> bool:
        answer = await client.get(f"/bookings/{missed['booking_id']}", headers=citizen("karim"))
        return bool(answer.json()["status"] == "no_show")

    assert await wait_until(no_show, timeout=10)
    rates = await client.get(
        f"/establishments/{CLINIC}/no-show-rates",
        params={"from": "2026-12-06", "to": "2026-12-06"},
        headers=scheduler,
    )
    assert rates.json() == [
        {"specialty_code": "DERMA", "arrived": 1, "no_shows": 1, "no_show_rate": 0.5}
    ]
    day = (await client.get(f"/establishments/{CLINIC}/days/2026-12-06", headers=scheduler)).json()
    assert day["totals"]["arrived"] == 1 and day["totals"]["no_show"] == 1
    connection = await asyncpg.connect(asyncpg_dsn(appointments_settings.database_url))
    try:
        arrivals = await connection.fetchval(
            "SELECT count(*) FROM outbox WHERE event_type = 'appointments.appointment.arrived'"
        )
    finally:
        await connection.close()
    assert arrivals == 1
