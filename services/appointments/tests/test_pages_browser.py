"""The pages in a real browser: Debian's Chromium, headless, driven by Playwright,
against the real appointments and queue apps served by uvicorn on the real database and
broker (one namespace, so the services hear each other).

A citizen signs in with the code the SMS sink received, books a slot on the booking page
and gets the code with its QR; the kiosk checks them in through the queue service's API;
the scheduler's day view (open before) shows the arrival. The browser runs in UTC: the
pages must show Algiers time.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Page, async_playwright, expect

from sihha_appointments.adapters.sms import read_sink
from sihha_appointments.bootstrap import create_app
from sihha_appointments.config import AppointmentsSettings
from sihha_kit.auth import Role
from sihha_kit.clock import ALGIERS
from sihha_kit.testing.apps import FixedClock, serving, wait_until
from sihha_kit.testing.plugin import bearer, dev_auth_settings
from sihha_kit.testing.servers import Servers
from sihha_queue.bootstrap import create_app as create_queue_app
from sihha_queue.config import QueueSettings

from .conftest import CLINIC, publish

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("SIHHA_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
NIN = "123456789012345678"


def watch(page: Page, problems: list[str]) -> None:
    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"{page.url}: console: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))


async def test_a_citizen_books_the_kiosk_checks_in_the_scheduler_sees_the_arrival(
    appointments_settings: AppointmentsSettings,
    clock: FixedClock,
    scheduler: dict[str, str],
    mint: Callable[..., str],
    make_database: Callable[[str], Awaitable[str]],
    servers: Servers,
    dev_keys: Path,
    tmp_path: Path,
) -> None:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium"
    queue_clock = FixedClock(datetime(2026, 12, 6, 8, 30, tzinfo=ALGIERS))
    queue_settings = QueueSettings(
        database_url=await make_database("queue"),
        amqp_url=servers.amqp_url,
        broker_namespace=appointments_settings.broker_namespace,
        pseudonym_key_path=dev_keys / "pseudonym.key",
        outbox_poll_seconds=0.5,
        **dev_auth_settings(dev_keys, issuer="queue"),
    )
    kiosk = bearer(mint(Role.kiosk, establishments=[CLINIC], subject="kiosk:31-PC-001:1"))
    scheduler_token = scheduler["Authorization"].removeprefix("Bearer ")
    problems: list[str] = []
    screenshots = Path(os.environ.get("SIHHA_SCREENSHOTS") or tmp_path / "screenshots")
    await asyncio.to_thread(screenshots.mkdir, parents=True, exist_ok=True)

    async with (
        serving(create_app(appointments_settings, clock=clock)) as base,
        serving(create_queue_app(queue_settings, clock=queue_clock)) as queue,
        httpx.AsyncClient(base_url=base, timeout=30) as api,
        async_playwright() as playwright,
    ):
        await publish(
            api, scheduler, periods=[{"weekday": "sun", "starts": "08:30", "ends": "11:00"}]
        )
        # Sunday 6 December 2026, 07:30 in Algiers: the morning of the appointments
        clock.now = datetime(2026, 12, 6, 7, 30, tzinfo=ALGIERS)
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1100, "height": 900},
            timezone_id="UTC",
            locale="fr-FR",
        )
        try:
            # -- the scheduler's day, open before anything happens ---------------------------
            day = await browser.new_page()
            watch(day, problems)
            await day.goto(
                f"{base}/scheduler?lang=fr&day=2026-12-06#token={scheduler_token}&facility={CLINIC}"
            )
            await expect(day.locator("#day-card")).to_be_visible()
            assert "token" not in day.url
            await expect(day.locator("#day-rows tr")).to_have_count(5)  # five slots, free

            # -- the citizen books ------------------------------------------------------------
            page = await browser.new_page()
            watch(page, problems)
            await page.goto(f"{base}/book?lang=fr")
            await expect(page.locator("html")).to_have_attribute("dir", "ltr")
            await page.locator("#nin").fill(NIN)
            await page.locator("#phone").fill("0661234567")
            await page.locator("#signin-form button").click()
            await expect(page.locator("#code-sent")).to_contain_text("+213 6•• •• •• 67")

            async def code() -> str | None:
                for line in read_sink(appointments_settings.sms_sink_path):
                    found = re.search(r"\b(\d{6})\b", line["text"])
                    if found:
                        return found.group(1)
                return None

            received = await wait_until(code, timeout=10)
            assert received, "no sign-in code reached the SMS sink"
            await page.locator("#code").fill(received)
            await page.locator("#code-form button").click()
            await expect(page.locator("#choose")).to_be_visible()
            await page.locator("#specialty").select_option("DERMA")
            await page.locator("#facility").select_option(CLINIC)
            await page.locator("#search-form button").click()
            first = page.locator("#slots li").first
            # 08:30 in Algiers, though the browser runs in UTC
            await expect(first).to_contain_text("08:30")
            await expect(first).to_contain_text("Polyclinique Colonel Lotfi")
            await page.screenshot(path=screenshots / "book-slots-fr.png", full_page=True)
            await first.locator("button").click()
            await expect(page.locator("#held")).to_be_visible()
            await expect(page.locator("#held-until")).to_contain_text("07:40")
            await page.locator("#confirm").click()
            await expect(page.locator("#done")).to_be_visible()
            booking_code = (await page.locator("#booking-code").text_content() or "").strip()
            assert re.fullmatch(r"[A-Z0-9]{8}", booking_code), booking_code
            qr = page.locator("#booking-qr")
            await expect(qr).to_have_js_property("complete", True)
            assert await qr.evaluate("img => img.naturalWidth") > 0
            # the language switch works in place
            await page.locator(".lang-switch [data-lang='ar']").click()
            await expect(page.locator("html")).to_have_attribute("dir", "rtl")
            await expect(page.locator("#done h2")).to_have_text("تم تأكيد الموعد")
            await page.screenshot(path=screenshots / "book-done-ar.png", full_page=True)

            # -- the kiosk checks the citizen in, through the queue service ---------------------
            async with httpx.AsyncClient(base_url=queue, timeout=30) as queue_api:

                async def checked_in() -> httpx.Response | None:
                    answer = await queue_api.post(
                        f"/establishments/{CLINIC}/check-in",
                        json={"booking_code": booking_code},
                        headers=kiosk,
                    )
                    return answer if answer.status_code == 201 else None

                ticket = await wait_until(checked_in, timeout=30, interval=0.5)
                assert ticket is not None, "the queue never learnt of the booking"
                assert ticket.json()["priority"] == "appointment"

            # -- the scheduler sees the arrival -----------------------------------------------
            arrived = day.locator("#day-rows tr[data-status='arrived']")
            await expect(arrived).to_have_count(1, timeout=30_000)
            await expect(arrived).to_contain_text(booking_code)
            await expect(arrived).to_contain_text("Arrivé")
            await expect(day.locator("#totals")).to_contain_text("1 arrivés")
            await day.locator(".lang-switch [data-lang='ar']").click()
            await expect(day.locator("html")).to_have_attribute("dir", "rtl")
            await expect(arrived).to_contain_text("حضر")
            await day.screenshot(path=screenshots / "scheduler-ar.png", full_page=True)

            # -- my bookings (the same tab: the citizen's token lives in its session) ---------
            await page.goto(f"{base}/my-bookings?lang=fr")
            await expect(page.locator("#bookings li")).to_contain_text("Arrivé")
            await expect(page.locator("#bookings li")).to_contain_text(booking_code)
        finally:
            await browser.close()
    assert not problems, problems
