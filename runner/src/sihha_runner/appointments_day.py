"""The demo's appointments traffic: citizens booking specialists at the two pilot
polyclinics ("Colonel Lotfi" 31-PC-001 and "Front de Mer" 31-PC-002), through the
appointments service's public API, and checking in at the queue service's kiosks.

The days before (`days_before`, on Sunday 13 December, on a clock of its own): the
schedulers publish the specialists' schedules (dermatology, paediatrics, ENT;
08:30–12:00, 20-minute slots, from the demo day to the end of January) and citizens
book: every ENT place of the demo day at Front de Mer, and slots of the demo day and
the weeks after. On the demo day, before the clinics open (07:50), a few more citizens
book (the day's free places and later ones). During the day (`run`): most
patients with a booking today check in at the kiosk a few minutes before their slot
(`POST /establishments/{f}/check-in` on the queue service, which tells the appointments
service through the bus); the others become no-shows when the grace period has passed;
some citizens cancel later bookings, and others book. At 09:00 a citizen joins the ENT
waitlist at Front de Mer, where the day is full; at 09:30 an ENT patient cancels, the
freed place is offered to the waitlisted citizen, who accepts.

Eleven citizens (Front de Mer's ENT patients and the waitlisted one) sign in as on the
booking page, with a NIN and the code the SMS sink receives, so their confirmations,
reminders and the waitlist offer go out as text messages; the others' tokens are minted
with the development key (their pseudonymous keys random, no phone). Deterministic for a
seed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from sihha_kit.auth import Role
from sihha_kit.clock import ALGIERS, Clock
from sihha_kit.devtools import TokenIssuer

PILOTS = ("31-PC-001", "31-PC-002")
SPECIALTIES = ("DERMA", "PED", "ORL")


@dataclass
class AppointmentStats:
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class Booking:
    citizen: str
    booking_id: str
    code: str
    facility_id: str
    specialty: str
    starts_at: datetime


class AppointmentsDay:
    def __init__(
        self,
        *,
        appointments_url: str,
        queue_url: str,
        issuer: TokenIssuer,
        clock: Clock,
        speed: float,
        day: date,
        seed: int,
        sms_sink: Path,
        citizens: int = 60,
    ) -> None:
        self.appointments_url = appointments_url
        self.queue_url = queue_url
        self.issuer = issuer
        self.clock = clock
        self.speed = speed
        self.day = day
        self.rng = random.Random(seed * 14 + 1)
        self.citizens = citizens
        self.sms_sink = sms_sink
        self.stats = AppointmentStats()
        self.bookings: list[Booking] = []
        self._tokens: dict[str, str] = {}
        self._used: set[str] = set()

    # -- tokens -------------------------------------------------------------------------

    def citizen(self, name: str) -> dict[str, str]:
        if name not in self._tokens:
            key = hashlib.sha256(f"demo-citizen-{name}".encode()).hexdigest()
            self._tokens[name] = self.issuer.mint(
                f"citizen:{name}", [Role.citizen], [], patient_key=key, ttl=timedelta(hours=12)
            )
        return {"Authorization": f"Bearer {self._tokens[name]}"}

    async def sign_in(self, api: httpx.AsyncClient, name: str, number: int) -> None:
        """Sign a citizen in as the booking page does: NIN and phone, then the code that
        reached the SMS sink (the gateway's stand-in)."""
        nin = f"{199000000000000000 + number:018d}"
        phone = f"06612345{number:02d}"
        started = await api.post("/sign-in", json={"nin": nin, "phone": phone, "language": "ar"})
        if not self._count(started, "signed_in_started"):
            return
        for _ in range(120):
            code = self._code_for(phone)
            if code is not None:
                break
            await asyncio.sleep(0.1)
        else:
            self.stats.errors["sign-in-code-missing"] += 1
            return
        verified = await api.post(
            f"/sign-in/{started.json()['challenge_id']}/verify", json={"code": code}
        )
        if self._count(verified, "signed_in"):
            self._tokens[name] = verified.json()["token"]

    def _code_for(self, phone: str) -> str | None:
        if not self.sms_sink.is_file():
            return None
        for line in reversed(self.sms_sink.read_text(encoding="utf-8").splitlines()):
            message = json.loads(line)
            found = re.search(r"\b(\d{6})\b", message["text"])
            if (
                message["to"].endswith(phone[-2:])
                and found
                and message["reference"] not in self._used
            ):
                self._used.add(message["reference"])
                return found.group(1)
        return None

    def staff(self, role: Role, facility_id: str) -> dict[str, str]:
        token = self.issuer.mint(f"{role.value}:{facility_id}", [role], [facility_id])
        return {"Authorization": f"Bearer {token}"}

    async def until(self, moment: datetime) -> None:
        delay = (moment - self.clock()).total_seconds() / self.speed
        if delay > 0:
            await asyncio.sleep(delay)

    def at(self, hour: int, minute: int = 0) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, hour, minute, tzinfo=ALGIERS)

    # -- the day ------------------------------------------------------------------------

    async def days_before(self) -> AppointmentStats:
        """The days before the demo day, on the clock this object has then: schedules,
        sign-ins and most bookings (`booked_days_before` counts them)."""
        async with httpx.AsyncClient(base_url=self.appointments_url, timeout=30) as api:
            await self.publish(api)
            names = [f"orl-{n}" for n in range(10)] + ["waitlisted"]
            await asyncio.gather(*(self.sign_in(api, name, n) for n, name in enumerate(names)))
            await self.book_ahead(api)
        self.stats.counts["booked_days_before"] = self.stats.counts["booked"]
        return self.stats

    async def run(self) -> AppointmentStats:
        """The demo day itself (after `days_before`, on the day's clock)."""
        async with (
            httpx.AsyncClient(base_url=self.appointments_url, timeout=30) as api,
            httpx.AsyncClient(base_url=self.queue_url, timeout=30) as queue,
        ):
            await self.book_random(api, "m", self.citizens // 4)
            await asyncio.gather(
                *(self.check_in(queue, booking) for booking in self.today()),
                self.waitlist_story(api, queue),
                self.later_changes(api),
            )
        return self.stats

    def today(self) -> list[Booking]:
        return [b for b in self.bookings if b.starts_at.astimezone(ALGIERS).date() == self.day]

    async def publish(self, api: httpx.AsyncClient) -> None:
        last = date(self.day.year + (self.day.month == 12), (self.day.month % 12) + 1, 31)
        for facility_id in PILOTS:
            headers = self.staff(Role.scheduler, facility_id)
            for n, specialty in enumerate(SPECIALTIES):
                answer = await api.post(
                    f"/establishments/{facility_id}/schedules",
                    json={
                        "specialty_code": specialty,
                        "practitioner_ref": f"dr-{specialty.lower()}-{facility_id[-3:]}-{n}",
                        "room": f"C{n + 1}",
                        "periods": [
                            {"weekday": d, "starts": "08:30", "ends": "12:00"}
                            for d in ("sun", "mon", "tue", "wed", "thu")
                        ],
                        "slot_minutes": 20,
                        "places_per_slot": 1,
                        "effective_from": self.day.isoformat(),
                        "effective_to": last.isoformat(),
                    },
                    headers=headers,
                )
                self._count(answer, "schedules_published")

    async def book(
        self, api: httpx.AsyncClient, name: str, facility_id: str, specialty: str, *, pick: int
    ) -> Booking | None:
        headers = self.citizen(name)
        found = await api.get(
            "/slots",
            params={"specialty": specialty, "facility_id": facility_id, "limit": 40},
            headers=headers,
        )
        if found.status_code != 200 or not found.json()["items"]:
            self.stats.errors["no-slot"] += 1
            return None
        items = found.json()["items"]
        slot = items[min(pick, len(items) - 1)]
        held = await api.post("/holds", json={"slot_id": slot["slot_id"]}, headers=headers)
        if held.status_code != 201:
            self.stats.errors[held.json().get("code", str(held.status_code))] += 1
            return None
        confirmed = await api.post(f"/holds/{held.json()['booking_id']}/confirm", headers=headers)
        if not self._count(confirmed, "booked"):
            return None
        body = confirmed.json()
        booking = Booking(
            name,
            body["booking_id"],
            body["booking_code"],
            facility_id,
            specialty,
            datetime.fromisoformat(body["starts_at"]),
        )
        self.bookings.append(booking)
        return booking

    async def book_ahead(self, api: httpx.AsyncClient) -> None:
        """The days before: every slot of the demo day at Front de Mer's ENT (so that its
        day is full), and `citizens` others at random among the first free slots."""
        for n in range(10):  # Front de Mer's ENT morning: 08:30 … 11:40
            await self.book(api, f"orl-{n}", "31-PC-002", "ORL", pick=0)
        await self.book_random(api, "c", self.citizens)

    async def book_random(self, api: httpx.AsyncClient, prefix: str, count: int) -> None:
        """`count` citizens book dermatology or paediatrics at a pilot polyclinic, one of
        the 30 first free slots each."""
        choices = [
            (self.rng.choice(PILOTS), self.rng.choice(SPECIALTIES[:2]), self.rng.randrange(30))
            for _ in range(count)
        ]
        gate = asyncio.Semaphore(8)

        async def one(n: int, facility_id: str, specialty: str, pick: int) -> None:
            async with gate:
                await self.book(api, f"{prefix}-{n}", facility_id, specialty, pick=pick)

        await asyncio.gather(*(one(n, *choice) for n, choice in enumerate(choices)))

    async def check_in(self, queue: httpx.AsyncClient, booking: Booking) -> None:
        """Most come a few minutes early and check in at the kiosk; one in six never comes."""
        if booking.citizen == "orl-3" or self.rng.random() < 1 / 6:
            self.stats.counts["stayed_away"] += 1
            return
        await self.until(booking.starts_at - timedelta(minutes=self.rng.randint(3, 15)))
        if booking not in self.bookings and booking.citizen != "waitlisted":
            return  # cancelled meanwhile
        kiosk = self.staff(Role.kiosk, booking.facility_id)
        for _ in range(20):  # the queue may not have heard of a very recent booking yet
            answer = await queue.post(
                f"/establishments/{booking.facility_id}/check-in",
                json={"booking_code": booking.code},
                headers=kiosk,
            )
            if answer.status_code != 404:
                break
            await asyncio.sleep(0.5)
        self._count(answer, "checked_in")

    async def waitlist_story(self, api: httpx.AsyncClient, queue: httpx.AsyncClient) -> None:
        await self.until(self.at(9, 0))
        name = "waitlisted"
        joined = await api.post(
            "/waitlist",
            json={
                "facility_id": "31-PC-002",
                "specialty_code": "ORL",
                "first_day": self.day.isoformat(),
                "last_day": self.day.isoformat(),
            },
            headers=self.citizen(name),
        )
        if not self._count(joined, "waitlist_joined"):
            return
        # 09:30: the ENT patient booked last today phones the clinic, which cancels; the
        # place goes to the waitlist at once
        await self.until(self.at(9, 30))
        soon = self.clock() + timedelta(minutes=30)
        late = sorted(
            (
                b
                for b in self.today()
                if b.specialty == "ORL" and b.facility_id == "31-PC-002" and b.starts_at > soon
            ),
            key=lambda b: b.starts_at,
        )[-1:]
        if late:
            cancelled = await api.post(
                f"/establishments/31-PC-002/bookings/{late[0].booking_id}/cancel",
                json={"reason": "patient_request"},
                headers=self.staff(Role.scheduler, "31-PC-002"),
            )
            self._count(cancelled, "cancelled")
            self.bookings.remove(late[0])
        for _ in range(40):
            entries = (await api.get("/waitlist/mine", headers=self.citizen(name))).json()
            if entries and entries[0]["status"] == "offered":
                break
            await asyncio.sleep(0.25)
        else:
            self.stats.errors["no-offer"] += 1
            return
        self.stats.counts["waitlist_offered"] += 1
        accepted = await api.post(
            f"/waitlist/{entries[0]['entry_id']}/accept", headers=self.citizen(name)
        )
        if self._count(accepted, "waitlist_accepted"):
            body = accepted.json()
            await self.check_in(
                queue,
                Booking(
                    name,
                    body["booking_id"],
                    body["booking_code"],
                    "31-PC-002",
                    "ORL",
                    datetime.fromisoformat(body["starts_at"]),
                ),
            )

    async def later_changes(self, api: httpx.AsyncClient) -> None:
        """Through the day: a few citizens cancel a later booking, others book."""
        for hour in (10, 12, 14):
            await self.until(self.at(hour, 15))
            # a citizen cancels until 24 hours before the slot
            later = [b for b in self.bookings if b.starts_at > self.clock() + timedelta(hours=25)]
            for booking in self.rng.sample(later, min(2, len(later))):
                answer = await api.post(
                    f"/bookings/{booking.booking_id}/cancel",
                    json={"reason": "citizen_request"},
                    headers=self.citizen(booking.citizen),
                )
                if self._count(answer, "cancelled"):
                    self.bookings.remove(booking)
            for n in range(3):
                await self.book(
                    api,
                    f"d-{hour}-{n}",
                    self.rng.choice(PILOTS),
                    "DERMA",
                    pick=self.rng.randrange(20),
                )

    def _count(self, answer: httpx.Response, what: str) -> bool:
        if answer.is_success:
            self.stats.counts[what] += 1
            return True
        try:
            code: Any = answer.json().get("code", answer.status_code)
        except ValueError:
            code = answer.status_code
        self.stats.errors[f"{what}:{code}"] += 1
        return False
