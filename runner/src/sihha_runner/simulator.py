"""A working day of Oran's polyclinics, played through the services' public APIs.

Every action is an HTTP call a clinic terminal would make — the kiosk issues
tickets, each counter calls the next ticket, starts, completes or routes, the
terminals send heartbeats — at the simulated time it happens. The services run
on the same simulated clock (`<SERVICE>_CLOCK_START/SPEED/ANCHOR`), so a day of
8 h 50 min passes in a couple of minutes and every timestamp is that day's.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import httpx

from sihha_kit.auth import Role
from sihha_kit.clock import ALGIERS, Clock
from sihha_kit.devtools import TokenIssuer
from sihha_runner.prescription_traffic import PrescriptionTraffic
from sihha_runner.traffic import LATEST_START_MINUTES, Patient, staffed_counters

#: counters each service of a polyclinic has from the registry (`sihha:<f>:<s>:<n>` ids)
REGISTRY_COUNTERS = 2
RECALL_WINDOW = timedelta(minutes=2, seconds=5)
#: a request that takes longer than this on the simulated clock is slow: the machine
#: does not keep up with the speed, and waits stretch beyond the traffic model's
SLOW_REQUEST = timedelta(minutes=1)


@dataclass
class DayStats:
    #: first tickets (a patient's arrival) per clinic, at the kiosk or the reception desk
    issued: Counter[str] = field(default_factory=Counter)
    #: first tickets per channel ("kiosk", "reception")
    channels: Counter[str] = field(default_factory=Counter)
    #: first tickets per Algiers hour of issue
    hours: Counter[int] = field(default_factory=Counter)
    called: int = 0
    completed: int = 0
    routed: int = 0
    #: no-show marks: the first one of a ticket puts it back in the queue (`requeued`),
    #: the second closes it
    no_shows: int = 0
    no_shows_requeued: int = 0
    heartbeats: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    refusal_examples: list[str] = field(default_factory=list)
    #: how far behind the simulated clock the kiosks fell at worst (machine too slow if large)
    max_arrival_lag_minutes: float = 0.0
    #: requests answered, and those slower than SLOW_REQUEST on the simulated clock
    requests: int = 0
    slow_requests: int = 0
    worst_lag_at: datetime | None = None


@dataclass
class Visit:
    patient: Patient
    step: int = 0
    called_times: int = 0


class Day:
    def __init__(
        self,
        *,
        queue_url: str,
        issuer: TokenIssuer,
        clock: Clock,
        speed: float,
        day: datetime,
        clinics: list[str],
        services: list[str],
        patients: list[Patient],
        seed: int,
        on_progress: Callable[[str, int, int], None] | None = None,
        opens: datetime | None = None,
        closes: datetime | None = None,
        staffing: dict[str, dict[str, int]] | None = None,
    ) -> None:
        """`day`'s polyclinics open at 08:00 and close at 16:30 unless `opens`/`closes`
        say otherwise (a shorter window of traffic, as the fault matrix plays); patients
        arrive `arrives_after` seconds after the opening. `staffing`: counters staffed
        per clinic and service (default: what `traffic.staffed_counters` gives for each
        clinic's number of patients); counters beyond the registry's two are added
        through the admin API before the day."""
        self.queue_url = queue_url
        self.clock = clock
        self.speed = speed
        self.day = day
        self.clinics = clinics
        self.services = services
        self.patients = patients
        self.rng = random.Random(seed)
        self.staffing = staffing or {
            c: staffed_counters(sum(p.clinic == c for p in patients)) for c in clinics
        }
        self.on_progress = on_progress or (lambda *_: None)
        self.stats = DayStats()
        self.visits: dict[str, Visit] = {}
        self.opens = opens or datetime.combine(day.date(), time(8, 0), ALGIERS)
        self.closes = closes or datetime.combine(day.date(), time(16, 30), ALGIERS)
        self.kiosk = {c: issuer.mint(f"kiosk:{c}:1", [Role.kiosk], [c]) for c in clinics}
        # an urgent patient is given the priority by the reception desk, never at a kiosk
        self.reception = {
            c: issuer.mint(f"reception:{c}", [Role.receptionist], [c]) for c in clinics
        }
        self.staff = {
            c: issuer.mint(f"counter:{c}", [Role.counter_agent, Role.doctor], [c]) for c in clinics
        }
        self.admin = {c: issuer.mint(f"admin:{c}", [Role.admin], [c]) for c in clinics}
        self.terminals = {
            c: [uuid.uuid5(uuid.NAMESPACE_URL, f"sihha-demo:{c}:{k}") for k in ("kiosk", "display")]
            for c in clinics
        }
        self.client: httpx.AsyncClient | None = None
        #: consultations' prescriptions and pharmacies' dispensing (`prescription_traffic`)
        self.prescriptions: PrescriptionTraffic | None = PrescriptionTraffic(issuer, seed)
        # tickets known to wait per (clinic, service): counters sleep until there is one,
        # instead of polling the service (a real counter agent looks at the screen)
        self.waiting: dict[tuple[str, str], asyncio.Semaphore] = {}

    def _waiting(self, clinic: str, service: str) -> asyncio.Semaphore:
        return self.waiting.setdefault((clinic, service), asyncio.Semaphore(0))

    # -- time --------------------------------------------------------------------------

    def at(self, seconds_after_opening: float) -> datetime:
        return self.opens + timedelta(seconds=seconds_after_opening)

    async def until(self, moment: datetime) -> None:
        delay = (moment - self.clock()).total_seconds() / self.speed
        if delay > 0:
            await asyncio.sleep(delay)

    async def wait(self, minutes: float) -> None:
        await asyncio.sleep(minutes * 60 / self.speed)

    # -- HTTP --------------------------------------------------------------------------

    async def post(
        self,
        path: str,
        token: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        assert self.client is not None
        for attempt in range(5):
            sent = self.clock()
            try:
                response = await self.client.post(
                    path, json=body, headers={"Authorization": f"Bearer {token}", **(headers or {})}
                )
            except httpx.HTTPError as error:
                self.stats.errors[type(error).__name__] += 1
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            self.stats.requests += 1
            if self.clock() - sent > SLOW_REQUEST:
                self.stats.slow_requests += 1
            if response.status_code >= 500:
                self.stats.errors[str(response.status_code)] += 1
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            return response
        return None

    # -- the actors --------------------------------------------------------------------

    async def arrivals(self) -> None:
        total = len(self.patients)
        for n, patient in enumerate(self.patients, 1):
            await self.until(self.at(patient.arrives_after))
            late = (self.clock() - self.at(patient.arrives_after)).total_seconds() / 60
            if late > self.stats.max_arrival_lag_minutes:
                self.stats.max_arrival_lag_minutes = late
                self.stats.worst_lag_at = self.clock()
            asyncio.get_running_loop().create_task(self.arrive(patient))
            if n % 25 == 0 or n == total:
                self.on_progress("patients", n, total)

    async def arrive(self, patient: Patient) -> None:
        arrived = self.clock()
        # the kiosk retries with the same idempotency key: never two tickets for one tap
        at_reception = patient.priority == "urgent"
        response = await self.post(
            f"/establishments/{patient.clinic}/tickets",
            (self.reception if at_reception else self.kiosk)[patient.clinic],
            {
                "service_code": patient.service_code,
                "priority": patient.priority,
                "channel": "reception" if at_reception else "kiosk",
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        if response is None:
            return
        if response.status_code != 201:
            problem = response.json()
            self.stats.refused[problem.get("code", str(response.status_code))] += 1
            if len(self.stats.refusal_examples) < 3:
                self.stats.refusal_examples.append(problem.get("detail_fr", ""))
            return
        ticket = response.json()
        self.visits[ticket["ticket_id"]] = Visit(patient)
        self.stats.issued[patient.clinic] += 1
        self.stats.channels["reception" if at_reception else "kiosk"] += 1
        self.stats.hours[arrived.astimezone(ALGIERS).hour] += 1
        self._waiting(patient.clinic, patient.service_code).release()

    async def counters(self) -> list[tuple[str, str, str]]:
        """(clinic, service, counter id) of every staffed counter; the ones the registry
        does not have are added through the admin API (a clinic opening more rooms)."""
        staffed = []
        for clinic in self.clinics:
            for service in self.services:
                for n in range(1, self.staffing[clinic].get(service, 1) + 1):
                    if n <= REGISTRY_COUNTERS:
                        counter_id = str(
                            uuid.uuid5(uuid.NAMESPACE_URL, f"sihha:{clinic}:{service}:{n}")
                        )
                    else:
                        added = await self.post(
                            f"/admin/establishments/{clinic}/counters",
                            self.admin[clinic],
                            {"service_code": service, "label": f"{service} {n}"},
                        )
                        if added is None or added.status_code != 201:
                            self.stats.errors["counter-not-added"] += 1
                            continue
                        counter_id = added.json()["counter_id"]
                    staffed.append((clinic, service, counter_id))
        return staffed

    async def counter(self, clinic: str, service: str, counter_id: str) -> None:
        token = self.staff[clinic]
        base = f"/establishments/{clinic}"
        # the doctor or agent reaches the room some minutes after opening
        late = self.rng.uniform(0, LATEST_START_MINUTES * 60)
        await self.until(self.opens + timedelta(seconds=late))
        waiting = self._waiting(clinic, service)
        while self.clock() < self.closes:
            # a ticket to call, or a look at the queue every hour anyway (at the latest
            # at closing, when the counter stops)
            idle = min(60 * 60.0, (self.closes - self.clock()).total_seconds())
            try:
                async with asyncio.timeout(max(idle, 0.0) / self.speed):
                    await waiting.acquire()
            except TimeoutError:
                pass
            # the walk and the consultation last their simulated minutes from the call and
            # the start, however long the requests take (a slow machine's requests must
            # not lengthen every consultation)
            called_at = self.clock()
            response = await self.post(f"{base}/counters/{counter_id}/call-next", token)
            ticket = (
                response.json().get("ticket")
                if response is not None and response.status_code == 200
                else None
            )
            if ticket is None:
                continue
            self.stats.called += 1
            visit = self.visits.get(ticket["ticket_id"])
            ticket_path = f"{base}/tickets/{ticket['ticket_id']}"
            if visit is None:  # issued, but the answer was lost on the way: serve it plainly
                visit = Visit(Patient(0, clinic, service, "normal", service_minutes=(5.0,)))
            visit.called_times += 1
            if visit.patient.no_show and visit.step == 0:
                await self.wait(RECALL_WINDOW.total_seconds() / 60)
                gone = await self.post(f"{ticket_path}/no-show", token)
                if gone is not None and gone.status_code == 200:
                    self.stats.no_shows += 1
                    if gone.json()["status"] == "waiting":  # requeued once
                        self.stats.no_shows_requeued += 1
                        waiting.release()
                continue
            await self.until(called_at + timedelta(minutes=0.5))  # the walk to the counter
            started_at = self.clock()
            await self.post(f"{ticket_path}/start", token)
            if self.prescriptions is not None:  # the doctor writes the prescription
                await self.prescriptions.after_consultation(
                    self.post, clinic, service, ticket["ticket_id"], token, self.clock()
                )
            minutes = visit.patient.service_minutes[
                min(visit.step, len(visit.patient.service_minutes) - 1)
            ]
            await self.until(started_at + timedelta(minutes=minutes))
            if visit.step < len(visit.patient.routes):
                target = visit.patient.routes[visit.step]
                routed = await self.post(f"{ticket_path}/route", token, {"to_service_code": target})
                if routed is not None and routed.status_code == 200:
                    self.stats.routed += 1
                    new = routed.json()["routed"]
                    self.visits[new["ticket_id"]] = Visit(visit.patient, visit.step + 1)
                    self._waiting(clinic, target).release()
                    continue
            done = await self.post(f"{ticket_path}/complete", token)
            if done is not None and done.status_code == 200:
                self.stats.completed += 1

    async def heartbeats(self, clinic: str) -> None:
        await self.until(self.opens - timedelta(minutes=5))
        while self.clock() < self.closes:
            for terminal, kind in zip(self.terminals[clinic], ("kiosk", "display"), strict=True):
                response = await self.post(
                    f"/establishments/{clinic}/terminals/{terminal}/heartbeat",
                    self.kiosk[clinic],
                    {"kind": kind},
                )
                if response is not None and response.status_code == 204:
                    self.stats.heartbeats += 1
            await self.wait(15)

    async def clock_ticker(self) -> None:
        start = self.opens - timedelta(minutes=10)
        span = (self.closes - start).total_seconds()
        while self.clock() < self.closes:
            elapsed = (self.clock() - start).total_seconds()
            self.on_progress("day", int(max(0, min(elapsed, span))), int(span))
            await asyncio.sleep(0.5)
        self.on_progress("day", int(span), int(span))

    async def run(self, extra: list[Awaitable[None]] | None = None) -> DayStats:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=self.queue_url, timeout=30, limits=limits) as client:
            self.client = client
            actors = [self.arrivals(), self.clock_ticker()]
            actors += [self.heartbeats(c) for c in self.clinics]
            pharmacies = (
                asyncio.create_task(
                    self.prescriptions.pharmacy(self.post, self.until, self.closes, self.clock)
                )
                if self.prescriptions is not None
                else None
            )
            actors += [self.counter(*staffed) for staffed in await self.counters()]
            await asyncio.gather(*actors, *(extra or []))
            if pharmacies is not None and self.prescriptions is not None:
                self.prescriptions.day_over.set()  # the last consultations' too
                await pharmacies
            self.client = None
        return self.stats
