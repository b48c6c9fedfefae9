"""Who may call each route of the appointments service: the generated route × role ×
establishment matrix (`sihha_kit.testing.access`). A route without its row here fails,
and so does a row whose roles differ from what the route declares.

Each case is a request whose answer, for a caller let through, is known (an unknown
booking, hold, schedule or waiting-list entry answers 404); `ok` lists those answers, so
that a 403 or 401 can only mean the caller was refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from sihha_appointments.bootstrap import create_app
from sihha_appointments.config import AppointmentsSettings
from sihha_kit.auth import Role
from sihha_kit.testing.access import (
    AccessTable,
    Call,
    Case,
    CaseScope,
    Row,
    anywhere,
    check_access,
    establishment,
    get,
    post,
    public,
    wilaya,
)
from sihha_kit.testing.apps import FixedClock, serving
from sihha_kit.testing.plugin import bearer

pytestmark = pytest.mark.integration

E = "/establishments/{establishment}"
#: an id that names nothing: a route that lets its caller through answers 404
UNKNOWN = uuid.UUID("00000000-0000-4000-8000-000000000001")
DAY = "2026-12-06"
SCHEDULERS = {Role.scheduler, Role.admin}
TERMINAL_ADMINS = {Role.it_unit, Role.admin}
CITIZEN = {Role.citizen}
SCHEDULE = {
    "specialty_code": "DERMA",
    "practitioner_ref": "dr-matrix-01",
    "room": "B12",
    "periods": [{"weekday": "sun", "starts": "08:30", "ends": "09:30"}],
    "slot_minutes": 30,
    "places_per_slot": 1,
    "effective_from": DAY,
    "effective_to": "2026-12-13",
}


def public_answering(call: Call, *statuses: int) -> Row:
    """A public route whose answer to this request is one of `statuses` for anyone."""
    return Row(None, Case(call, CaseScope.public, frozenset(statuses)))


def mine(call: Call, *ok: int) -> Case:
    """A citizen's own business: no establishment involved."""
    return anywhere(call, ok=ok or (200, 201, 204))


def access_table(terminal_id: str) -> AccessTable:
    """The table, with `terminal_id` a scheduling desk registered at 31-PC-001."""
    return AccessTable({**ROWS, **terminal_rows(terminal_id)})


def terminal_rows(terminal_id: str) -> dict[tuple[str, str], Row]:
    """The scheduling desks' enrolment (`sihha_kit.auth.enrolment`)."""
    return {
        # a desk's own sign-in (public: the code or credential is the proof)
        ("POST", "/auth/terminals/enrol"): public_answering(
            post("/auth/terminals/enrol", {"enrolment_code": "not-a-code-at-all"}), 401
        ),
        ("POST", "/auth/terminal-token"): public_answering(
            post("/auth/terminal-token", {"device_credential": f"{UNKNOWN}.{'x' * 43}"}), 401
        ),
        # registered, listed and revoked by the IT unit of their establishment
        ("POST", "/auth/terminals"): Row(
            TERMINAL_ADMINS,
            establishment(
                post(
                    "/auth/terminals",
                    {"facility_id": "{establishment}", "role": "scheduler", "label": "matrix"},
                )
            ),
        ),
        ("GET", "/auth/terminals"): Row(
            TERMINAL_ADMINS, establishment(get("/auth/terminals", facility_id="{establishment}"))
        ),
        ("POST", "/auth/terminals/{terminal_id}/revoke"): Row(
            TERMINAL_ADMINS, establishment(post(f"/auth/terminals/{terminal_id}/revoke"))
        ),
        ("POST", "/auth/revocations"): Row(
            TERMINAL_ADMINS, wilaya(post("/auth/revocations", {"subject": "matrix:nobody"}))
        ),
    }


ROWS: dict[tuple[str, str], Row] = {
    # what anyone may read or start: health, texts, pages, the catalogue, signing in
    ("GET", "/health/live"): public(get("/health/live")),
    ("GET", "/health/ready"): public(get("/health/ready")),
    ("GET", "/metrics"): public(get("/metrics")),
    ("GET", "/i18n/{language}.json"): public(get("/i18n/ar.json")),
    ("GET", "/.well-known/jwks.json"): public(get("/.well-known/jwks.json")),
    ("GET", "/book"): public(get("/book")),
    ("GET", "/my-bookings"): public(get("/my-bookings")),
    ("GET", "/scheduler"): public(get("/scheduler")),
    ("GET", "/pages/static/{name}"): public(get("/pages/static/app.js")),
    ("GET", "/auth/terminal-client.js"): public(get("/auth/terminal-client.js")),
    ("GET", "/specialties"): public(get("/specialties")),
    ("GET", "/establishments"): public(get("/establishments")),
    # a NIN that is not one: refused for anyone, nothing sent
    ("POST", "/sign-in"): public_answering(post("/sign-in", {"nin": "12"}), 422),
    ("POST", "/sign-in/{challenge_id}/verify"): public_answering(
        post(f"/sign-in/{UNKNOWN}/verify", {"code": "123456"}), 404
    ),
    ("POST", "/auth/stream-session"): Row(set(), anywhere(post("/auth/stream-session"))),
    ("DELETE", "/auth/stream-session"): public(Call("DELETE", "/auth/stream-session")),
    # a citizen's own bookings, holds and waiting-list entries
    ("GET", "/slots"): Row(CITIZEN, mine(get("/slots", specialty="DERMA"))),
    ("POST", "/holds"): Row(CITIZEN, mine(post("/holds", {"slot_id": str(UNKNOWN)}), 404)),
    ("POST", "/holds/{hold_id}/confirm"): Row(
        CITIZEN, mine(post(f"/holds/{UNKNOWN}/confirm"), 404)
    ),
    ("DELETE", "/holds/{hold_id}"): Row(CITIZEN, mine(Call("DELETE", f"/holds/{UNKNOWN}"), 404)),
    ("GET", "/bookings/mine"): Row(CITIZEN, mine(get("/bookings/mine"))),
    ("GET", "/bookings/{booking_id}"): Row(CITIZEN, mine(get(f"/bookings/{UNKNOWN}"), 404)),
    ("GET", "/bookings/{booking_id}/qr.svg"): Row(
        CITIZEN, mine(get(f"/bookings/{UNKNOWN}/qr.svg"), 404)
    ),
    ("POST", "/bookings/{booking_id}/cancel"): Row(
        CITIZEN, mine(post(f"/bookings/{UNKNOWN}/cancel", {}), 404)
    ),
    ("POST", "/bookings/{booking_id}/reschedule"): Row(
        CITIZEN,
        mine(post(f"/bookings/{UNKNOWN}/reschedule", {"slot_id": str(UNKNOWN)}), 404),
    ),
    ("POST", "/waitlist"): Row(
        # the first request joins; the same citizen again is told they are waiting
        CITIZEN,
        mine(
            post(
                "/waitlist",
                {
                    "facility_id": "{establishment}",
                    "specialty_code": "DERMA",
                    "first_day": DAY,
                    "last_day": "2026-12-20",
                },
            ),
            201,
            409,
        ),
    ),
    ("GET", "/waitlist/mine"): Row(CITIZEN, mine(get("/waitlist/mine"))),
    ("DELETE", "/waitlist/{entry_id}"): Row(
        CITIZEN, mine(Call("DELETE", f"/waitlist/{UNKNOWN}"), 404)
    ),
    ("POST", "/waitlist/{entry_id}/accept"): Row(
        CITIZEN, mine(post(f"/waitlist/{UNKNOWN}/accept"), 404)
    ),
    ("POST", "/waitlist/{entry_id}/decline"): Row(
        CITIZEN, mine(post(f"/waitlist/{UNKNOWN}/decline"), 404)
    ),
    # the establishment's schedulers
    ("POST", "/establishments/{facility_id}/schedules"): Row(
        # the first publishes; the same practitioner's schedule again overlaps (409)
        SCHEDULERS,
        establishment(post(f"{E}/schedules", SCHEDULE), ok=(201, 409)),
    ),
    ("GET", "/establishments/{facility_id}/schedules"): Row(
        SCHEDULERS, establishment(get(f"{E}/schedules"))
    ),
    ("PATCH", "/establishments/{facility_id}/schedules/{schedule_id}"): Row(
        SCHEDULERS,
        establishment(
            Call("PATCH", f"{E}/schedules/{UNKNOWN}", json={"places_per_slot": 2}), ok=(404,)
        ),
    ),
    ("POST", "/establishments/{facility_id}/schedules/{schedule_id}/closed-days"): Row(
        SCHEDULERS,
        establishment(post(f"{E}/schedules/{UNKNOWN}/closed-days", {"day": DAY}), ok=(404,)),
    ),
    ("POST", "/establishments/{facility_id}/practitioners/{practitioner_ref}/absences"): Row(
        SCHEDULERS,
        establishment(
            post(f"{E}/practitioners/dr-nobody-01/absences", {"day": DAY, "bookings": "cancel"})
        ),
    ),
    ("GET", "/establishments/{facility_id}/days/{day}"): Row(
        SCHEDULERS, establishment(get(f"{E}/days/{DAY}"))
    ),
    ("GET", "/establishments/{facility_id}/no-show-rates"): Row(
        SCHEDULERS,
        establishment(get(f"{E}/no-show-rates", **{"from": "2026-11-01", "to": DAY})),
    ),
    ("POST", "/establishments/{facility_id}/bookings/{booking_id}/cancel"): Row(
        SCHEDULERS,
        establishment(
            post(f"{E}/bookings/{UNKNOWN}/cancel", {"reason": "clinic_decision"}), ok=(404,)
        ),
    ),
    ("POST", "/establishments/{facility_id}/bookings/{booking_id}/reschedule"): Row(
        SCHEDULERS,
        establishment(
            post(f"{E}/bookings/{UNKNOWN}/reschedule", {"slot_id": str(UNKNOWN)}), ok=(404,)
        ),
    ),
    # the desk and the kiosk look a booking code up
    ("GET", "/establishments/{facility_id}/bookings/by-code/{booking_code}"): Row(
        {Role.receptionist, Role.scheduler, Role.kiosk, Role.admin},
        establishment(get(f"{E}/bookings/by-code/ZZZZ9999"), ok=(404,)),
    ),
    # a general practitioner's referral
    ("POST", "/establishments/{facility_id}/referrals"): Row(
        {Role.doctor, Role.admin},
        establishment(
            post(f"{E}/referrals", {"specialty_code": "CARDIO", "nin": "109876543210987654"})
        ),
    ),
    # the whole wilaya's counts (reporting's reconciliation)
    ("GET", "/counts/appointments"): Row(
        {Role.it_unit, Role.wilaya_group, Role.ministry, Role.admin},
        wilaya(get("/counts/appointments", **{"from": "2026-11-01", "to": DAY})),
    ),
}


async def test_every_route_admits_exactly_the_roles_and_establishments_of_its_row(
    appointments_settings: AppointmentsSettings, clock: FixedClock, mint: Callable[..., str]
) -> None:
    # every role tries to sign in from this one address: the per-address limit is the
    # limiter's business (test_citizens.py), not the matrix's
    settings = appointments_settings.model_copy(update={"sign_ins_per_hour": 10_000})
    app = create_app(settings, clock=clock)
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        registered = await client.post(
            "/auth/terminals",
            json={"facility_id": "31-PC-001", "role": "scheduler", "label": "matrix"},
            headers=bearer(mint(Role.it_unit, establishments=["*"])),
        )
        assert registered.status_code == 201, registered.text
        table = access_table(registered.json()["terminal_id"])
        requests = await check_access(client, app, table, mint)
    assert requests > len(table.rows) * len(Role) * 3
