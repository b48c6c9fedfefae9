"""The pages in a real browser: Debian's Chromium, headless, driven by Playwright,
against the real appointments and queue apps served by uvicorn on the real database and
broker (one namespace, so the services hear each other).

A citizen signs in with the code the SMS sink received, books a slot on the booking page
and gets the code with its QR; the kiosk checks them in through the queue service's API;
the scheduler's day view (open before, on the clinic's scheduling desk enrolled with a
one-time code) shows the arrival. No token is ever in an address the pages ask for, and
a revoked desk says so and stops. The browser runs in UTC: the pages must show Algiers
time.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

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
    it_unit = bearer(mint(Role.it_unit, establishments=[CLINIC]))
    problems: list[str] = []
    #: every address the pages asked for: no token, code or credential may be in one
    addresses: list[str] = []
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
        # the IT unit registers the clinic's scheduling desk: its one-time enrolment code
        registered = await api.post(
            "/auth/terminals",
            json={"facility_id": CLINIC, "role": "scheduler", "label": "Bureau des RDV"},
            headers=it_unit,
        )
        assert registered.status_code == 201, registered.text
        desk = registered.json()
        enrolment_code = desk["enrolment_code"]
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
            day.on("request", lambda request: addresses.append(request.url))
            await day.goto(f"{base}/scheduler?lang=fr&day=2026-12-06#enrol={enrolment_code}")
            await expect(day.locator("#day-card")).to_be_visible()
            # the one-time code left the address at once (and the history with it)
            assert "#" not in day.url and "enrol" not in day.url
            await expect(day.locator("#terminal-id")).to_have_text(
                f"{CLINIC} · {desk['terminal_id'][:8]}"
            )
            await expect(day.locator("#day-rows tr")).to_have_count(5)  # five slots, free
            # the desk signed in with its device credential: a short-lived token
            assert any(url.endswith("/auth/terminal-token") for url in addresses)
            stored = await day.evaluate(
                "JSON.parse(window.localStorage.getItem('sihha.terminal.scheduler'))"
            )
            assert stored["role"] == "scheduler" and stored["facility"] == CLINIC
            assert stored["credential"].startswith(f"{desk['terminal_id']}.")

            # -- the citizen books ------------------------------------------------------------
            page = await browser.new_page()
            watch(page, problems)
            page.on("request", lambda request: addresses.append(request.url))
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

            # -- the IT unit revokes the desk: on its next refresh it says so, and stops -------
            before_revocation = len(problems)
            revoked = await api.post(
                f"/auth/terminals/{desk['terminal_id']}/revoke", headers=it_unit
            )
            assert revoked.status_code == 200, revoked.text
            await expect(day.locator("#not-enrolled")).to_be_visible(timeout=15_000)
            await expect(day.locator("#day-card")).to_be_hidden()
            await expect(day.locator("#banner-text")).to_have_text(
                "يجب إعادة تسجيل الجهاز: سُحب تسجيله أو لم يعد صالحًا. "
                "اطلب رابطًا جديدًا من وحدة الإعلام الآلي."
            )
            await day.screenshot(path=screenshots / "scheduler-revoked-ar.png", full_page=True)
            await day.locator(".lang-switch [data-lang='fr']").click()
            await expect(day.locator("#banner-text")).to_contain_text("Poste à réenregistrer")
            assert await day.evaluate(
                "window.localStorage.getItem('sihha.terminal.scheduler') === null"
            )
            # the enrolment link worked once: opened again, it enrols nothing
            await day.goto(f"{base}/scheduler?lang=fr#enrol={enrolment_code}")
            await expect(day.locator("#not-enrolled")).to_be_visible()
            await expect(day.locator("#banner")).to_have_attribute(
                "data-code", "enrolment-code-invalid"
            )
            await expect(day.locator("#banner-text")).to_contain_text("Code d'enrôlement invalide")
            assert "#" not in day.url
        finally:
            await browser.close()
    # the tokens travelled in headers only, never in an address; nor did the code
    assert addresses and not [
        url
        for url in addresses
        if "token" in urlsplit(url).query or "eyJ" in url or enrolment_code in url
    ]
    # no error but the browser's reports of the refused calls after the revocation
    assert not problems[:before_revocation], problems
    assert all("401" in problem for problem in problems[before_revocation:]), problems


async def test_the_desk_renews_its_short_lived_token_and_an_old_token_link_enrols_nothing(
    appointments_settings: AppointmentsSettings,
    clock: FixedClock,
    scheduler: dict[str, str],
    mint: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Tokens of one minute: the desk renews at its floor of ten seconds and keeps
    showing its day with the new token. A link of the old kind (`#token=…`) is taken
    out of the address and kept nowhere."""
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium"
    settings = appointments_settings.model_copy(update={"terminal_token_minutes": 1})
    problems: list[str] = []
    addresses: list[str] = []
    old_token = scheduler["Authorization"].removeprefix("Bearer ")
    async with (
        serving(create_app(settings, clock=clock)) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as api,
        async_playwright() as playwright,
    ):
        await publish(
            api, scheduler, periods=[{"weekday": "sun", "starts": "08:30", "ends": "09:30"}]
        )
        registered = await api.post(
            "/auth/terminals",
            json={"facility_id": CLINIC, "role": "scheduler", "label": "Bureau des RDV"},
            headers=bearer(mint(Role.it_unit, establishments=[CLINIC])),
        )
        assert registered.status_code == 201, registered.text
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            timezone_id="UTC",
        )
        try:
            day = await browser.new_page()
            watch(day, problems)
            day.on("request", lambda request: addresses.append(request.url))
            # the old enrolment link: refused, and gone from the address at once
            await day.goto(f"{base}/scheduler?lang=fr#token={old_token}&facility={CLINIC}")
            await expect(day.locator("#not-enrolled")).to_be_visible()
            await expect(day.locator("#banner-text")).to_contain_text(
                "Lien d'enregistrement invalide"
            )
            assert "#" not in day.url
            assert await day.evaluate("window.localStorage.length") == 1  # the language only

            code = registered.json()["enrolment_code"]
            await day.goto(f"{base}/scheduler?lang=fr&day=2026-12-06#enrol={code}")
            await expect(day.locator("#day-rows tr")).to_have_count(2)
            await expect(day.locator("#banner")).to_be_hidden()
            renewals = [url for url in addresses if url.endswith("/auth/terminal-token")]
            assert len(renewals) == 1
            for _ in range(40):  # the renewal, ten seconds on
                if sum(url.endswith("/auth/terminal-token") for url in addresses) >= 2:
                    break
                await day.wait_for_timeout(500)
            assert sum(url.endswith("/auth/terminal-token") for url in addresses) >= 2
            # the day view is still refreshed (every 5 s) with the renewed token
            seen = len(addresses)
            await day.wait_for_timeout(6_000)
            assert any("/days/2026-12-06" in url for url in addresses[seen:])
            await expect(day.locator("#banner")).to_be_hidden()
            await expect(day.locator("#day-card")).to_be_visible()
        finally:
            await browser.close()
    assert not [url for url in addresses if old_token in url or "eyJ" in url]
    assert not problems, problems
