"""The booking API end to end on the real database: publish, search, hold, confirm,
cancel, reschedule, the clinic's changes, and every bad input with its own problem."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from sihha_kit.auth import Role
from sihha_kit.testing.apps import FixedClock
from sihha_kit.testing.plugin import bearer

from .conftest import CLINIC, OTHER_CLINIC, book, free_slots, publish, schedule_body

pytestmark = pytest.mark.integration


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["detail_fr"] and body["detail_ar"] and body["detail_fr"] != body["detail_ar"]
    return body


async def test_publish_search_hold_confirm_and_my_bookings(
    client: httpx.AsyncClient,
    scheduler: dict[str, str],
    citizen: Callable[[str], dict[str, str]],
) -> None:
    published = await publish(client, scheduler)
    # four Sundays × 7 + four Tuesdays × 4 (Tuesday 1 December is past its start)
    assert published["slot_count"] == 4 * 7 + 4 * 4
    amina = citizen("amina")
    page = await client.get("/slots", params={"specialty": "DERMA", "limit": 5}, headers=amina)
    assert page.status_code == 200
    first = page.json()
    assert len(first["items"]) == 5 and first["next_cursor"]
    starts = [item["starts_at"] for item in first["items"]]
    assert starts == sorted(starts)  # soonest first
    assert first["items"][0]["establishment_fr"] == "Polyclinique Colonel Lotfi"
    second = await client.get(
        "/slots",
        params={"specialty": "DERMA", "limit": 5, "cursor": first["next_cursor"]},
        headers=amina,
    )
    assert second.json()["items"][0]["starts_at"] > starts[-1]
    by_commune = await free_slots(client, amina, commune="Oran")
    assert by_commune and all(s["commune"] == "Oran" for s in by_commune)
    assert await free_slots(client, amina, commune="Arzew") == []

    slot = first["items"][0]
    held = await client.post("/holds", json={"slot_id": slot["slot_id"]}, headers=amina)
    assert held.status_code == 201
    assert held.json()["status"] == "held" and held.json()["booking_code"] is None
    confirmed = await client.post(f"/holds/{held.json()['booking_id']}/confirm", headers=amina)
    booking = confirmed.json()
    assert booking["status"] == "booked" and len(booking["booking_code"]) == 8
    # confirming again answers the same booking
    again = await client.post(f"/holds/{held.json()['booking_id']}/confirm", headers=amina)
    assert again.json()["booking_code"] == booking["booking_code"]
    mine = (await client.get("/bookings/mine", headers=amina)).json()
    assert [b["booking_id"] for b in mine] == [booking["booking_id"]]
    # another citizen: 404, not 403
    problem(
        await client.get(f"/bookings/{booking['booking_id']}", headers=citizen("karim")),
        404,
        "booking-not-found",
    )
    # the reception finds the code at its establishment, not at another
    desk = bearer_of(Role.receptionist, CLINIC)
    found = await client.get(
        f"/establishments/{CLINIC}/bookings/by-code/{booking['booking_code']}", headers=desk
    )
    assert found.status_code == 200 and found.json()["booking_id"] == booking["booking_id"]
    other_desk = bearer_of(Role.receptionist, OTHER_CLINIC)
    problem(
        await client.get(
            f"/establishments/{OTHER_CLINIC}/bookings/by-code/{booking['booking_code']}",
            headers=other_desk,
        ),
        409,
        "booking-at-another-establishment",
    )


_TOKENS: dict[tuple[str, str], str] = {}


def bearer_of(role: Role, establishment: str) -> dict[str, str]:
    return bearer(_TOKENS[(role.value, establishment)])


@pytest.fixture(autouse=True)
def _tokens(mint: Callable[..., str]) -> None:
    for role in (Role.receptionist, Role.scheduler, Role.doctor, Role.it_unit):
        for establishment in (CLINIC, OTHER_CLINIC):
            _TOKENS[(role.value, establishment)] = mint(role, establishments=[establishment])


async def test_bad_input_gets_its_own_problem_and_changes_nothing(
    client: httpx.AsyncClient,
    scheduler: dict[str, str],
    citizen: Callable[[str], dict[str, str]],
    clock: FixedClock,
) -> None:
    await publish(client, scheduler)
    amina, karim = citizen("amina"), citizen("karim")
    slots = await free_slots(client, amina)
    # a slot that does not exist
    problem(
        await client.post(
            "/holds", json={"slot_id": "00000000-0000-0000-0000-000000000001"}, headers=amina
        ),
        404,
        "slot-not-found",
    )
    # someone else's hold: not theirs to confirm (404, as if it did not exist)
    held = await client.post("/holds", json={"slot_id": slots[0]["slot_id"]}, headers=amina)
    problem(
        await client.post(f"/holds/{held.json()['booking_id']}/confirm", headers=karim),
        404,
        "hold-not-found",
    )
    # a full slot
    problem(
        await client.post("/holds", json={"slot_id": slots[0]["slot_id"]}, headers=karim),
        409,
        "slot-full",
    )
    # an expired hold: its place was freed by the timer and may be gone
    clock.advance(minutes=11)
    problem(
        await client.post(f"/holds/{held.json()['booking_id']}/confirm", headers=amina),
        409,
        "hold-expired",
    )
    # a slot in the past
    past = slots[0]
    clock.now = clock.now + timedelta(days=6)
    problem(
        await client.post("/holds", json={"slot_id": past["slot_id"]}, headers=amina),
        409,
        "slot-in-past",
    )
    clock.now = clock.now - timedelta(days=6)
    # a slot length of zero, overlapping hours of the same practitioner
    zero = await client.post(
        f"/establishments/{CLINIC}/schedules",
        json=schedule_body(minutes=0, practitioner="dr-other-01"),
        headers=scheduler,
    )
    problem(zero, 422, "slot-length-zero")
    overlap = await client.post(
        f"/establishments/{CLINIC}/schedules",
        json=schedule_body(
            specialty="PED", periods=[{"weekday": "sun", "starts": "11:00", "ends": "13:00"}]
        ),
        headers=scheduler,
    )
    problem(overlap, 409, "schedule-overlap")
    # unknown fields, an unknown specialty, another establishment's scheduler
    unknown = await client.post(
        f"/establishments/{CLINIC}/schedules",
        json={**schedule_body(practitioner="dr-new-01"), "colour": "red"},
        headers=scheduler,
    )
    problem(unknown, 422, "invalid-input")
    problem(
        await client.post(
            f"/establishments/{CLINIC}/schedules",
            json=schedule_body(specialty="ZZZ", practitioner="dr-new-01"),
            headers=scheduler,
        ),
        422,
        "unknown-specialty",
    )
    forbidden = await client.post(
        f"/establishments/{OTHER_CLINIC}/schedules",
        json=schedule_body(practitioner="dr-new-01"),
        headers=scheduler,
    )
    problem(forbidden, 403, "establishment-forbidden")
    # a citizen cannot publish, a scheduler cannot hold
    problem(
        await client.post(
            f"/establishments/{CLINIC}/schedules", json=schedule_body(), headers=amina
        ),
        403,
        "role-forbidden",
    )
    problem(
        await client.post("/holds", json={"slot_id": slots[1]["slot_id"]}, headers=scheduler),
        403,
        "role-forbidden",
    )
    problem(await client.get("/slots", params={"specialty": "DERMA"}), 401, "token-missing")
    # nothing above changed the schedules
    listed = await client.get(f"/establishments/{CLINIC}/schedules", headers=scheduler)
    assert len(listed.json()) == 1


async def test_referrals_and_urgent_places(
    client: httpx.AsyncClient,
    scheduler: dict[str, str],
    citizen: Callable[[str], dict[str, str]],
    dev_keys: Any,
    clock: FixedClock,
) -> None:
    from sihha_kit.pseudonym import load_pseudonym_key, pseudonymise_nin

    nin = "109876543210987654"
    key = pseudonymise_nin(nin, load_pseudonym_key(dev_keys / "pseudonym.key"))
    await publish(client, scheduler, specialty="CARDIO", practitioner="dr-cardio-01")
    doctor = bearer_of(Role.doctor, CLINIC)
    holder = citizen("someone-else")
    headers = _citizen_with_key(key)
    slots = await free_slots(client, headers, specialty="CARDIO")
    problem(
        await client.post("/holds", json={"slot_id": slots[0]["slot_id"]}, headers=headers),
        409,
        "referral-required",
    )
    referral = await client.post(
        f"/establishments/{CLINIC}/referrals",
        json={"specialty_code": "CARDIO", "nin": nin},
        headers=doctor,
    )
    assert referral.status_code == 201, referral.text
    code = referral.json()["code"]
    # the referral code is for this patient only
    problem(
        await client.post(
            "/holds", json={"slot_id": slots[0]["slot_id"], "referral_code": code}, headers=holder
        ),
        404,
        "referral-not-found",
    )
    booked = await book(client, headers, slots[0]["slot_id"], referral_code=code)
    cancelled = await client.post(
        f"/bookings/{booked['booking_id']}/cancel", json={}, headers=headers
    )
    assert cancelled.status_code == 200
    problem(
        await client.post(
            "/holds", json={"slot_id": slots[1]["slot_id"], "referral_code": code}, headers=headers
        ),
        409,
        "referral-used",
    )
    # an urgent referral takes a place kept for urgent cases; others cannot until released
    day = await client.get(f"/establishments/{CLINIC}/days/2026-12-06", headers=scheduler)
    urgent_slot = next(s for s in day.json()["slots"] if s["urgent"])
    problem(
        await client.post(
            "/holds",
            json={"slot_id": urgent_slot["slot_id"], "referral_code": "AAAAAAAAAA"},
            headers=headers,
        ),
        404,
        "referral-not-found",
    )
    urgent = await client.post(
        f"/establishments/{CLINIC}/referrals",
        json={"specialty_code": "CARDIO", "nin": nin, "urgent": True},
        headers=doctor,
    )
    other = await client.post(
        f"/establishments/{CLINIC}/referrals",
        json={"specialty_code": "CARDIO", "nin": "209876543210987654"},
        headers=doctor,
    )
    other_key = pseudonymise_nin(
        "209876543210987654", load_pseudonym_key(dev_keys / "pseudonym.key")
    )
    refused = problem(
        await client.post(
            "/holds",
            json={"slot_id": urgent_slot["slot_id"], "referral_code": other.json()["code"]},
            headers=_citizen_with_key(other_key),
        ),
        409,
        "slot-reserved-urgent",
    )
    assert refused["next_free"]
    taken = await book(client, headers, urgent_slot["slot_id"], referral_code=urgent.json()["code"])
    assert taken["slot_id"] == urgent_slot["slot_id"]


_MINT: dict[str, Callable[..., str]] = {}


@pytest.fixture(autouse=True)
def _keep_mint(mint: Callable[..., str]) -> None:
    _MINT["mint"] = mint


def _citizen_with_key(key: str) -> dict[str, str]:
    return bearer(_MINT["mint"](Role.citizen, subject="citizen:nin", patient_key=key))


async def test_cancel_reschedule_and_the_clinic_changes(
    client: httpx.AsyncClient,
    scheduler: dict[str, str],
    citizen: Callable[[str], dict[str, str]],
    clock: FixedClock,
) -> None:
    published = await publish(client, scheduler)
    amina, karim = citizen("amina"), citizen("karim")
    slots = await free_slots(client, amina)
    mine = await book(client, amina, slots[0]["slot_id"])
    moved = await client.post(
        f"/bookings/{mine['booking_id']}/reschedule",
        json={"slot_id": slots[1]["slot_id"]},
        headers=amina,
    )
    assert moved.status_code == 200 and moved.json()["slot_id"] == slots[1]["slot_id"]
    # the first slot is free again
    assert slots[0]["slot_id"] in {s["slot_id"] for s in await free_slots(client, karim)}
    theirs = await book(client, karim, slots[2]["slot_id"])
    # the practitioner is away on Sunday 6 December: the change is refused, listing them
    absent = f"/establishments/{CLINIC}/practitioners/dr-derma-01/absences"
    refused = await client.post(
        f"/establishments/{CLINIC}/schedules/{published['schedule_id']}/closed-days",
        json={"day": "2026-12-06"},
        headers=scheduler,
    )
    listed = problem(refused, 409, "change-affects-bookings")
    assert {b["booking_id"] for b in listed["affected"]} == {
        mine["booking_id"],
        theirs["booking_id"],
    }
    # moved in one action: each to the nearest free slot, each patient told
    done = await client.post(
        absent, json={"day": "2026-12-06", "bookings": "move"}, headers=scheduler
    )
    assert done.status_code == 200, done.text
    assert sorted(done.json()["moved"]) == sorted([mine["booking_id"], theirs["booking_id"]])
    after = (await client.get(f"/bookings/{mine['booking_id']}", headers=amina)).json()
    assert after["starts_at"] > "2026-12-06T23:00:00+00:00"
    day = (await client.get(f"/establishments/{CLINIC}/days/2026-12-06", headers=scheduler)).json()
    assert day["totals"]["slots"] == 0
    # the citizen cancels; past the cut-off only the clinic can
    clock.now = clock.now + timedelta(days=6, hours=10)
    problem(
        await client.post(f"/bookings/{mine['booking_id']}/cancel", json={}, headers=amina),
        409,
        "citizen-cutoff-passed",
    )
    by_clinic = await client.post(
        f"/establishments/{CLINIC}/bookings/{mine['booking_id']}/cancel",
        json={"reason": "specialist_absent"},
        headers=scheduler,
    )
    assert by_clinic.status_code == 200 and by_clinic.json()["status"] == "cancelled"


async def test_too_many_active_bookings_is_429_with_retry_after(
    client: httpx.AsyncClient,
    scheduler: dict[str, str],
    citizen: Callable[[str], dict[str, str]],
) -> None:
    for specialty, who in (
        ("DERMA", "d1"),
        ("PED", "p1"),
        ("ORL", "o1"),
        ("GYN", "g1"),
        ("URO", "u1"),
    ):
        await publish(client, scheduler, specialty=specialty, practitioner=f"dr-{who}-x")
    amina = citizen("amina")
    for specialty in ("DERMA", "PED", "ORL", "GYN"):
        slot = (await free_slots(client, amina, specialty=specialty))[0]
        await book(client, amina, slot["slot_id"])
    slot = (await free_slots(client, amina, specialty="URO"))[0]
    refused = await client.post("/holds", json={"slot_id": slot["slot_id"]}, headers=amina)
    problem(refused, 429, "too-many-active-bookings")
    assert int(refused.headers["retry-after"]) > 0
