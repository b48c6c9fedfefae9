"""Double booking is impossible, and PostgreSQL is what makes it so.

200 citizens try, at the same moment, to take the last place of a slot: exactly one
gets it, the 199 others a 409 `slot-full` that offers the next free slots; and a place
inserted behind the service's back into a full slot is refused by the database itself.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import asyncpg
import httpx
import pytest

from sihha_appointments.config import AppointmentsSettings
from sihha_kit.db import asyncpg_dsn

from .conftest import book, free_slots, publish

pytestmark = pytest.mark.integration


async def test_two_hundred_citizens_race_for_the_last_place(
    client: httpx.AsyncClient,
    scheduler: dict[str, str],
    citizen: Callable[[str], dict[str, str]],
    appointments_settings: AppointmentsSettings,
) -> None:
    await publish(client, scheduler, places=3)
    slot = (await free_slots(client, citizen("first")))[0]
    await book(client, citizen("first"), slot["slot_id"])
    await book(client, citizen("second"), slot["slot_id"])

    async def attempt(number: int) -> httpx.Response:
        return await client.post(
            "/holds", json={"slot_id": slot["slot_id"]}, headers=citizen(f"racer-{number}")
        )

    answers = await asyncio.gather(*(attempt(n) for n in range(200)))
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: 1, 409: 199}, statuses
    refused = [answer.json() for answer in answers if answer.status_code == 409]
    assert {problem["code"] for problem in refused} == {"slot-full"}
    assert all(problem["next_free"] for problem in refused)
    assert all(n["slot_id"] != slot["slot_id"] for n in refused[0]["next_free"])
    assert refused[0]["detail_ar"] and refused[0]["detail_fr"]

    winner = next(answer for answer in answers if answer.status_code == 201)
    number = answers.index(winner)
    confirmed = await client.post(
        f"/holds/{winner.json()['booking_id']}/confirm", headers=citizen(f"racer-{number}")
    )
    assert confirmed.status_code == 200, confirmed.text

    connection = await asyncpg.connect(asyncpg_dsn(appointments_settings.database_url))
    try:
        free = await connection.fetchval(
            "SELECT free_places FROM slots WHERE slot_id = $1::uuid", slot["slot_id"]
        )
        holding = await connection.fetchval(
            "SELECT count(*) FROM bookings WHERE slot_id = $1::uuid AND holds_place",
            slot["slot_id"],
        )
        assert (free, holding) == (0, 3)
        # the database refuses a fourth place, whoever asks: not a check in Python
        with pytest.raises(asyncpg.CheckViolationError) as refused_by_database:
            await connection.execute(
                """
                INSERT INTO bookings (booking_id, booking_code, patient_key, slot_id,
                    facility_id, specialty_code, status, holds_place, one_per_specialty,
                    channel, held_at, hold_expires_at, language, version)
                SELECT gen_random_uuid(), 'BYPASS01', repeat('a', 64), slot_id, facility_id,
                    specialty_code, 'booked', true, true, 'web', now(), now(), 'fr', 1
                FROM slots WHERE slot_id = $1::uuid
                """,
                slot["slot_id"],
            )
        assert refused_by_database.value.constraint_name == "slots_free_places"
    finally:
        await connection.close()
    # the slot no longer shows in a search
    assert slot["slot_id"] not in {s["slot_id"] for s in await free_slots(client, citizen("x"))}


async def test_one_active_booking_per_specialty_under_concurrency(
    client: httpx.AsyncClient,
    scheduler: dict[str, str],
    citizen: Callable[[str], dict[str, str]],
    appointments_settings: AppointmentsSettings,
) -> None:
    await publish(client, scheduler)
    slots = (await free_slots(client, citizen("one")))[:20]
    headers = citizen("one")
    answers = await asyncio.gather(
        *(client.post("/holds", json={"slot_id": s["slot_id"]}, headers=headers) for s in slots)
    )
    assert {a.status_code for a in answers} <= {201, 409}
    assert any(a.status_code == 201 for a in answers)
    connection = await asyncpg.connect(asyncpg_dsn(appointments_settings.database_url))
    try:
        active = await connection.fetchval(
            "SELECT count(*) FROM bookings WHERE specialty_code = 'DERMA' "
            "AND status IN ('held', 'booked')"
        )
    finally:
        await connection.close()
    assert active == 1
    # and once booked, a second slot of the specialty is refused with its own problem
    mine = {a.json()["booking_id"] for a in answers if a.status_code == 201}
    # the hold that survived: each hold that got a 201 let the citizen's earlier one go,
    # so it is the last to commit — not necessarily the last in the list
    [last] = [
        b
        for b in (await client.get("/bookings/mine", headers=headers)).json()
        if b["status"] == "held"
    ]
    assert last["booking_id"] in mine
    confirmed = await client.post(f"/holds/{last['booking_id']}/confirm", headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    other = next(s for s in slots if s["slot_id"] != last["slot_id"])
    again = await client.post("/holds", json={"slot_id": other["slot_id"]}, headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "active-booking-in-specialty"
