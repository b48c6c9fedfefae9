"""The demo's prescriptions: doctors in consultation write them, pharmacies of the
wilaya dispense them — through the queue service's public API, as the consultation
room's page and the pharmacy's page would.

A consultation (general medicine, paediatrics) ends with a prescription for most
patients: one to three products of the shipped nomenclature excerpt (the queue service
seeds it at start-up). About one in eight prescribes paracetamol twice (alone and with
codeine): the service warns, and the doctor overrides the warning with a reason.
Pharmacies (five, `31-OFF-0001` … `31-OFF-0005`) pick the prescriptions up later in the
day by their QR code, verify them and dispense: most fully, some partially (one box
fewer, or one line left for later), sometimes another brand of the same code.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from sihha_kit.auth import Role
from sihha_kit.devtools import TokenIssuer

#: services whose consultations end with a prescription, and how often
PRESCRIBING = {"MG": 0.7, "PED": 0.6}
PHARMACIES = tuple(f"31-OFF-{n:04d}" for n in range(1, 6))
#: (registration, dose, unit, per day, days, packs) of the excerpt (community products)
COMMON = (
    ("318/03 B 005/16/23", 1, "tablet", 3, 5, 1),  # paracetamol 500 mg (DOLI-BIEN)
    ("268/03 B 005/06/21", 1, "tablet", 3, 5, 1),  # paracetamol 500 mg (DOLYC)
    ("470/04 B 010/20/25", 1, "tablet", 3, 5, 1),  # ibuprofen 400 mg (ADFEN)
    ("352/01 A 003/06/22", 1, "tablet", 1, 10, 1),  # cetirizine 10 mg (ARTIZ)
    ("268/03 F 047/12/22", 1, "capsule", 2, 5, 1),  # tramadol 50 mg (DOLEX), Liste I
)
DUPLICATE = (
    ("318/03 B 005/16/23", 1, "tablet", 3, 5, 1),  # paracetamol 500 mg
    ("235/03 B 026/16/25", 1, "tablet", 2, 5, 1),  # paracetamol/codeine (COEXPANDOL)
)
OVERRIDE_REASON = "bénéfice attendu supérieur au risque, patient informé"


@dataclass
class PrescriptionStats:
    issued: int = 0
    with_override: int = 0
    dispensed_full: int = 0
    dispensed_partial: int = 0
    refused: int = 0
    codes: list[str] = field(default_factory=list)


class PrescriptionTraffic:
    def __init__(self, issuer: TokenIssuer, seed: int) -> None:
        self.rng = random.Random(seed + 15)
        self.pharmacists = {
            p: issuer.mint(f"pharmacist:{p}", [Role.pharmacist], [p]) for p in PHARMACIES
        }
        self.stats = PrescriptionStats()
        self.pending: asyncio.Queue[tuple[datetime, str]] = asyncio.Queue()
        #: set once the consultations are over: the pharmacies then serve what is left
        self.day_over = asyncio.Event()

    async def after_consultation(
        self,
        post: Callable[..., Awaitable[httpx.Response | None]],
        clinic: str,
        service: str,
        ticket_id: str,
        token: str,
        now: datetime,
    ) -> None:
        """The doctor of a consultation in progress writes and signs a prescription."""
        if self.rng.random() >= PRESCRIBING.get(service, 0.0):
            return
        if self.rng.random() < 0.125:
            chosen = list(DUPLICATE)
        else:
            chosen = self.rng.sample(COMMON, self.rng.randint(1, 3))
        body: dict[str, Any] = {
            "ticket_id": ticket_id,
            "lines": [
                {
                    "registration": registration,
                    "dose": dose,
                    "dose_unit": unit,
                    "route": "oral",
                    "frequency_per_day": per_day,
                    "duration_days": days,
                    "quantity": packs,
                }
                for registration, dose, unit, per_day, days, packs in chosen
            ],
        }
        path = f"/establishments/{clinic}/prescriptions"
        response = await post(path, token, body)
        if response is not None and response.status_code == 409:
            problem = response.json()
            if problem.get("code") == "prescription-warnings-pending":
                body["overrides"] = [
                    {"key": w["key"], "reason": OVERRIDE_REASON} for w in problem["warnings"]
                ]
                response = await post(path, token, body)
                if response is not None and response.status_code == 201:
                    self.stats.with_override += 1
        if response is None or response.status_code != 201:
            self.stats.refused += 1
            return
        self.stats.issued += 1
        prescription = response.json()
        # the patient goes to a pharmacy between half an hour and three hours later
        self.pending.put_nowait(
            (now + timedelta(minutes=self.rng.uniform(30, 180)), prescription["code"])
        )

    async def pharmacy(
        self,
        post: Callable[..., Awaitable[httpx.Response | None]],
        until: Callable[[datetime], Awaitable[None]],
        closes: datetime,
        clock: Callable[[], datetime],
    ) -> None:
        """The wilaya's pharmacies: each prescription is presented once, at its time (at
        the latest when the polyclinics close, so that the day's report has it), until
        `day_over` is set and nothing is left to present."""
        visits: list[asyncio.Task[None]] = []
        while not self.day_over.is_set() or not self.pending.empty():
            try:
                async with asyncio.timeout(1.0):
                    due, code = await self.pending.get()
            except TimeoutError:
                continue
            visits.append(asyncio.create_task(self._present(post, until, min(due, closes), code)))
        await asyncio.gather(*visits)

    async def _present(
        self,
        post: Callable[..., Awaitable[httpx.Response | None]],
        until: Callable[[datetime], Awaitable[None]],
        due: datetime,
        code: str,
    ) -> None:
        await until(due)
        pharmacy = self.rng.choice(PHARMACIES)
        token = self.pharmacists[pharmacy]
        verified = await post(f"/pharmacies/{pharmacy}/prescriptions/verify", token, {"code": code})
        if verified is None or verified.status_code != 200:
            return
        lines = verified.json()["lines"]
        partial = self.rng.random() < 0.3
        items = []
        for index, line in enumerate(lines):
            quantity = line["remaining"]
            if partial and index == len(lines) - 1:
                quantity -= 1  # one box (or the last line) left for later
            if quantity > 0:
                items.append({"line_no": line["line_no"], "quantity": quantity})
        if not items:
            items = [{"line_no": lines[0]["line_no"], "quantity": 1}]
        dispensed = await post(
            f"/pharmacies/{pharmacy}/dispenses", token, {"code": code, "items": items}
        )
        if dispensed is not None and dispensed.status_code == 201:
            if dispensed.json()["status"] == "dispensed":
                self.stats.dispensed_full += 1
            else:
                self.stats.dispensed_partial += 1
