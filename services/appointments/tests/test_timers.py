"""Durable timers survive a killed process and fire once across replicas.

The restart test runs the real service as a process (`python -m sihha_appointments`) on
a simulated clock (20× real time), leaves a hold and a waitlist offer pending, kills the
process with SIGKILL, lets both expire while it is dead, starts it again: the hold lapses
and frees its slot, the offer lapses and the place is offered to the next patient in
line. The replicas test runs two apps on one database and counts the no-shows each
booking gets: one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from sihha_appointments.bootstrap import create_app
from sihha_appointments.config import AppointmentsSettings
from sihha_kit.db import asyncpg_dsn
from sihha_kit.devtools import dev_environment
from sihha_kit.testing.apps import FixedClock, running, wait_until

from .conftest import CLINIC, book, free_slots, publish

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[3]
SPEED = 20.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServiceProcess:
    """The service as a process of its own, on a simulated clock shared by its restarts."""

    def __init__(self, settings: AppointmentsSettings, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        start = datetime(2026, 12, 1, 9, 0).astimezone().isoformat()
        self.env = {
            **os.environ,
            "APPOINTMENTS_DATABASE_URL": settings.database_url,
            "APPOINTMENTS_AMQP_URL": settings.amqp_url,
            "APPOINTMENTS_BROKER_NAMESPACE": settings.broker_namespace,
            "APPOINTMENTS_HTTP_PORT": str(self.port),
            **dev_environment(
                "APPOINTMENTS_", settings.pseudonym_key_path.parent, issuer="appointments"
            ),
            "APPOINTMENTS_PSEUDONYM_KEY_PATH": str(settings.pseudonym_key_path),
            "APPOINTMENTS_SECRET_PATH": str(settings.secret_path),
            "APPOINTMENTS_SMS_SINK_PATH": str(settings.sms_sink_path),
            "APPOINTMENTS_CLOCK_START": start,
            "APPOINTMENTS_CLOCK_SPEED": str(SPEED),
            "APPOINTMENTS_CLOCK_ANCHOR": str(time.time()),
            "APPOINTMENTS_HOLD_MINUTES": "3",
            "APPOINTMENTS_OFFER_MINUTES": "5",
            "APPOINTMENTS_TIMER_POLL_SECONDS": "0.2",
            "APPOINTMENTS_LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "sihha_appointments"],
                cwd=REPOSITORY,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        self.process = await asyncio.to_thread(self._spawn)
        async with httpx.AsyncClient(base_url=self.url) as probe:
            for _ in range(300):
                if self.process.poll() is not None:
                    raise RuntimeError(self.log.read_text()[-3000:])
                try:
                    if (await probe.get("/health/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the service did not start: " + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup; whatever was in flight is lost."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def test_a_hold_and_a_waitlist_offer_expire_after_a_kill_and_restart(
    appointments_settings: AppointmentsSettings,
    scheduler: dict[str, str],
    citizen: Callable[[str], dict[str, str]],
    tmp_path: Path,
) -> None:
    service = ServiceProcess(appointments_settings, tmp_path / "service.log")
    await service.start()
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:
            # one ORL slot (Sunday 6 December, 08:30), and DERMA slots
            await publish(
                api,
                scheduler,
                specialty="ORL",
                practitioner="dr-orl-01",
                periods=[{"weekday": "sun", "starts": "08:30", "ends": "09:00"}],
            )
            await publish(api, scheduler)
            orl = (await free_slots(api, citizen("bilal"), specialty="ORL"))[0]
            booked = await book(api, citizen("bilal"), orl["slot_id"])
            waitlist = {
                "facility_id": CLINIC,
                "specialty_code": "ORL",
                "first_day": "2026-12-06",
                "last_day": "2026-12-06",
            }
            first = await api.post("/waitlist", json=waitlist, headers=citizen("chahra"))
            second = await api.post("/waitlist", json=waitlist, headers=citizen("djamel"))
            assert first.status_code == second.status_code == 201, (first.text, second.text)
            assert first.json()["status"] == second.json()["status"] == "waiting"
            # Bilal cancels: the place is offered to Chahra, first in line, for 5 minutes
            cancelled = await api.post(
                f"/bookings/{booked['booking_id']}/cancel", json={}, headers=citizen("bilal")
            )
            assert cancelled.status_code == 200, cancelled.text
            [chahra] = (await api.get("/waitlist/mine", headers=citizen("chahra"))).json()
            assert chahra["status"] == "offered"
            # Amel holds a DERMA slot for 3 minutes
            derma = (await free_slots(api, citizen("amel")))[0]
            hold = await api.post(
                "/holds", json={"slot_id": derma["slot_id"]}, headers=citizen("amel")
            )
            assert hold.status_code == 201
            hold_id = hold.json()["booking_id"]

        service.kill()
        # 5 simulated minutes and more pass while nothing runs
        await asyncio.sleep(6 * 60 / SPEED + 1)
        await service.start()

        async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:

            async def settled() -> Any:
                amel = await api.get(f"/bookings/{hold_id}", headers=citizen("amel"))
                entries = {
                    name: (await api.get("/waitlist/mine", headers=citizen(name))).json()[0]
                    for name in ("chahra", "djamel")
                }
                if amel.json()["status"] == "expired" and [
                    entries["chahra"]["status"],
                    entries["djamel"]["status"],
                ] == ["lapsed", "offered"]:
                    return amel.json(), entries
                return None

            result = await wait_until(settled, timeout=30)
            assert result, "the timers did not fire after the restart"
            _, entries = result
            assert entries["djamel"]["offer_booking_id"] != entries["chahra"]["offer_booking_id"]
            # the expired hold's slot is free again
            again = await free_slots(api, citizen("someone"))
            assert derma["slot_id"] in {s["slot_id"] for s in again}
            # Djamel accepts the place
            accepted = await api.post(
                f"/waitlist/{entries['djamel']['entry_id']}/accept", headers=citizen("djamel")
            )
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["slot_id"] == orl["slot_id"]
            assert accepted.json()["booking_code"]
    finally:
        service.stop()
    connection = await asyncpg.connect(asyncpg_dsn(appointments_settings.database_url))
    try:
        offers = await connection.fetchval(
            "SELECT count(*) FROM outbox WHERE event_type = 'appointments.waitlist.offered'"
        )
        assert offers == 2  # Chahra once, Djamel once
        left = await connection.fetchval(
            "SELECT count(*) FROM timers WHERE kind = 'hold_expiry' AND subject_id = $1::uuid",
            hold_id,
        )
        assert left == 0
    finally:
        await connection.close()


async def test_two_replicas_fire_each_timer_once(
    appointments_settings: AppointmentsSettings,
    scheduler: dict[str, str],
    citizen: Callable[[str], dict[str, str]],
    clock: FixedClock,
) -> None:
    async with (
        running(create_app(appointments_settings, clock=clock)) as one,
        running(create_app(appointments_settings, clock=clock)) as two,
    ):
        await publish(
            one, scheduler, periods=[{"weekday": "sun", "starts": "08:00", "ends": "12:00"}]
        )
        slots = await free_slots(one, citizen("x"))
        names = [f"patient-{n}" for n in range(12)]
        booked = [
            await book(two, citizen(name), slots[n]["slot_id"]) for n, name in enumerate(names)
        ]
        # Sunday 13 December in the afternoon: past every slot booked and its grace period
        clock.now = clock.now + timedelta(days=12, hours=6)

        async def no_shows() -> int:
            connection = await asyncpg.connect(asyncpg_dsn(appointments_settings.database_url))
            try:
                return int(
                    await connection.fetchval(
                        "SELECT count(*) FROM outbox "
                        "WHERE event_type = 'appointments.appointment.no_show'"
                    )
                )
            finally:
                await connection.close()

        assert await wait_until(lambda: _at_least(no_shows, len(booked)), timeout=30)
        await asyncio.sleep(1.0)  # both workers keep polling: nothing more may come
        assert await no_shows() == len(booked)
        statuses = {
            (await one.get(f"/bookings/{b['booking_id']}", headers=citizen(name))).json()["status"]
            for b, name in zip(booked, names, strict=True)
        }
        assert statuses == {"no_show"}


async def _at_least(count: Callable[[], Any], wanted: int) -> bool:
    return bool(await count() >= wanted)
