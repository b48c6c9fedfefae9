"""The terminals in a real browser: Debian's Chromium, headless, driven by Playwright,
against the real queue app served by uvicorn (on a free loopback port, in the test's
event loop) on the real database and broker.

A kiosk issues a ticket, a counter calls it, and the waiting-room board (open before
the call) shows it within seconds. The browser runs in UTC on purpose: the pages must
show Algiers time whatever the terminal's own setting.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import ConsoleMessage, Page, async_playwright, expect

from sihha_kit.auth import Role
from sihha_kit.testing.apps import FixedClock, serving
from sihha_kit.testing.plugin import bearer
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings

from .conftest import register_terminal

pytestmark = pytest.mark.integration

#: window.print replaced by a counter of the prints, kept in <html data-printed>
PRINT_COUNTER = (
    "window.print = () => { const html = document.documentElement;"
    " html.dataset.printed = String(Number(html.dataset.printed || 0) + 1); };"
)
CLINIC = "31-PC-001"
CHROMIUM = os.environ.get("SIHHA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: the counter the registry loader creates for MG ("MG 1")
MG_1 = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sihha:{CLINIC}:MG:1"))


def enrolment(registered: dict[str, Any], counter: str | None = None) -> str:
    """The enrolment link's fragment of a registered terminal: its one-time code (and, for
    a counter, which counter it is)."""
    fragment = f"#enrol={registered['enrolment_code']}"
    return fragment + (f"&counter={counter}" if counter else "")


def watch(page: Page, problems: list[str]) -> None:
    """Collect the page's script errors and console errors: there must be none."""

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"{page.url}: console: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the pages' screenshots go (SIHHA_SCREENSHOTS to keep them somewhere)."""
    folder = Path(os.environ.get("SIHHA_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_kiosk_counter_and_board_in_chromium(
    queue_settings: QueueSettings,
    clock: FixedClock,
    mint: Callable[..., str],
    tmp_path: Path,
    screenshots: Path,
) -> None:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium"
    agent_token = mint(Role.counter_agent, establishments=[CLINIC], subject="agent:31-PC-001:7")
    problems: list[str] = []
    #: every address the pages asked for: no token may be in one
    addresses: list[str] = []

    async with (
        serving(create_app(queue_settings, clock=clock)) as base,
        async_playwright() as playwright,
        httpx.AsyncClient(base_url=base) as api,
    ):
        # the IT unit registers the three terminals; each gets its one-time code
        display = await register_terminal(api, mint, "display")
        kiosk_terminal = await register_terminal(api, mint, "kiosk")
        counter_terminal = await register_terminal(api, mint, "counter_agent")
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
            timezone_id="UTC",
            locale="fr-FR",
        )
        try:
            # kiosks print without a dialog (Chromium's --kiosk-printing); here, count them
            # in an attribute a locator can wait for (waiting on a JavaScript expression
            # polls with eval, which the pages' Content-Security-Policy refuses)
            await browser.add_init_script(PRINT_COUNTER)

            # -- the board, open before anything is called -------------------------------
            board = await browser.new_page()
            watch(board, problems)
            board.on("request", lambda request: addresses.append(request.url))
            await board.goto(f"{base}/terminals/board?lang=ar{enrolment(display)}")
            await expect(board.locator("body[data-feed='live']")).to_be_attached(timeout=10_000)
            assert "#" not in board.url and "enrol" not in board.url  # the fragment is gone
            # the board's stream went out with its cookie, not a token in its address
            assert any(f"/establishments/{CLINIC}/board" in url for url in addresses)
            await expect(board.locator("html")).to_have_attribute("dir", "rtl")
            await expect(board.locator("#now-empty")).to_be_visible()
            await expect(board.locator("#clinic-name")).to_have_text(
                "العيادة متعددة الخدمات العقيد لطفي"
            )

            # -- the kiosk issues an MG ticket (a double tap issues one) -------------------
            kiosk = await browser.new_page()
            watch(kiosk, problems)
            kiosk.on("request", lambda request: addresses.append(request.url))
            await kiosk.goto(f"{base}/terminals/kiosk?lang=ar{enrolment(kiosk_terminal)}")
            assert "#" not in kiosk.url
            await expect(kiosk.locator("[data-service]")).to_have_count(10)
            await kiosk.screenshot(path=screenshots / "kiosk-services-ar.png", full_page=True)
            await kiosk.locator("[data-service='MG']").click()
            await expect(kiosk.locator("#chosen-service")).to_have_text("الطب العام")
            await kiosk.locator("[data-priority='elderly']").dblclick()
            ticket = kiosk.locator("#ticket-print")
            await expect(ticket.locator(".t-number")).to_have_text("MG-001", timeout=10_000)
            await expect(ticket.locator(".t-time")).to_have_text("25/11/2026 08:30")
            await expect(ticket).to_contain_text("Médecine générale")
            await expect(ticket).to_contain_text("الطب العام")
            await expect(ticket).to_contain_text("Personne âgée")
            qr = ticket.locator("img.t-qr")
            await expect(qr).to_have_js_property("complete", True)
            assert await qr.evaluate("img => img.naturalWidth") > 0
            qr_src = await qr.get_attribute("src")
            assert qr_src is not None
            ticket_id = qr_src.removeprefix("/terminals/qr/").removesuffix(".svg")
            await expect(kiosk.locator("html")).to_have_attribute("data-printed", "1")
            await kiosk.screenshot(path=screenshots / "kiosk-ticket-ar.png", full_page=True)

            waiting = await api.get(
                f"/establishments/{CLINIC}/tickets", headers=bearer(agent_token)
            )
            assert [t["label"] for t in waiting.json()] == ["MG-001"]

            # -- the counter calls the next ticket --------------------------------------------
            counter = await browser.new_page()
            watch(counter, problems)
            counter.on("request", lambda request: addresses.append(request.url))
            await counter.goto(
                f"{base}/terminals/counter?lang=fr{enrolment(counter_terminal, MG_1)}"
            )
            await expect(counter.locator("html")).to_have_attribute("dir", "ltr")
            await expect(counter.locator("#counter-label")).to_have_text("MG 1")
            await expect(counter.locator("#waiting-rows")).to_contain_text("MG-001")
            await expect(counter.locator("#waiting-rows")).to_contain_text("08:30")
            await counter.locator("#btn-call-next").click()
            await expect(counter.locator("#current-label")).to_have_text("MG-001")
            await expect(counter.locator("#current-status")).to_have_text("Appelé")
            await expect(counter.locator("#current-why-text")).to_contain_text("Score")
            await expect(counter.locator("#btn-start")).to_be_enabled()
            await expect(counter.locator("#btn-call-next")).to_be_disabled()

            # -- the board shows the call within seconds ---------------------------------------
            await expect(board.locator("#now-label")).to_have_text("MG-001", timeout=5_000)
            await expect(board.locator("#now-counter")).to_have_text("MG 1")
            await expect(board.locator("#now-service")).to_have_text("الطب العام")
            await board.screenshot(path=screenshots / "board-ar.png")
            # the switch changes the language in place: the live feed stays open
            await board.locator(".lang-switch [data-lang='fr']").click()
            await expect(board.locator("#h-now")).to_have_text("Appel en cours")
            await expect(board.locator("#now-service")).to_have_text("Médecine générale")
            await expect(board.locator("body[data-feed='live']")).to_be_attached()

            # a reload of the counter keeps the ticket at the counter; the switch keeps French
            await counter.reload()
            await expect(counter.locator("#current-label")).to_have_text("MG-001")
            await expect(counter.locator("html")).to_have_attribute("lang", "fr")
            await counter.screenshot(path=screenshots / "counter-fr.png", full_page=True)
            # a counter page that does not know its open ticket (the answer to its call was
            # lost, or another browser) asks the server which one its counter has
            await counter.evaluate(
                f"window.localStorage.removeItem('sihha.counter.current.{MG_1}')"
            )
            await counter.reload()
            await expect(counter.locator("#current-label")).to_have_text("MG-001")
            await expect(counter.locator("#btn-start")).to_be_enabled()

            # -- the patient's phone: the page the QR code opens ------------------------------
            phone = await browser.new_page()
            await phone.set_viewport_size({"width": 400, "height": 760})
            watch(phone, problems)
            await phone.goto(f"{base}/terminals/ticket/{ticket_id}?lang=ar")
            await expect(phone.locator("#st-label")).to_have_text("MG-001")
            await expect(phone.locator("#st-status")).to_have_text("تمت مناداته")
            await expect(phone.locator("#st-call")).to_have_text("توجّه إلى الشباك MG 1")
            await phone.screenshot(path=screenshots / "ticket-ar.png", full_page=True)

            # the language switch works in place and is remembered
            await phone.locator(".lang-switch [data-lang='fr']").click()
            await expect(phone.locator("html")).to_have_attribute("dir", "ltr")
            await expect(phone.locator("#st-status")).to_have_text("Appelé")
            await phone.goto(f"{base}/terminals/ticket/{ticket_id}")
            await expect(phone.locator("html")).to_have_attribute("lang", "fr")

            # -- the IT unit revokes the kiosk: on its next sign-in it says so, and stops ------
            before_revocation = len(problems)
            revoked = await api.post(
                f"/auth/terminals/{kiosk_terminal['terminal_id']}/revoke",
                headers=bearer(mint(Role.it_unit, establishments=[CLINIC])),
            )
            assert revoked.status_code == 200
            await kiosk.reload()
            await expect(kiosk.locator("#banner-text")).to_have_text(
                "يجب إعادة تسجيل الجهاز: سُحب تسجيله أو لم يعد صالحًا."
            )
            await expect(kiosk.locator("#not-enrolled")).to_be_visible()
            # the enrolment code worked once: the same link enrols nothing now
            await kiosk.goto(f"{base}/terminals/kiosk?lang=fr{enrolment(kiosk_terminal)}")
            await expect(kiosk.locator("#not-enrolled")).to_be_visible()

            # -- the counter, revoked while open: its next data call is refused (401), which
            # renews its token at once: refused too, the counter says so, forgets its
            # credential and stops (it does not wait for its next renewal)
            revoked = await api.post(
                f"/auth/terminals/{counter_terminal['terminal_id']}/revoke",
                headers=bearer(mint(Role.it_unit, establishments=[CLINIC])),
            )
            assert revoked.status_code == 200
            await counter.locator("#btn-start").click()
            await expect(counter.locator("#banner-text")).to_have_text(
                "Terminal à réenrôler : son enregistrement a été retiré ou n'est plus valide."
            )
            await expect(counter.locator("#not-enrolled")).to_be_visible()
            assert await counter.evaluate(
                "window.localStorage.getItem('sihha.terminal.counter') === null"
            )
        finally:
            await browser.close()
    # the access tokens travelled in headers and the stream cookie only, never in an address
    assert addresses and not [
        url for url in addresses if "token" in urlsplit(url).query or "eyJ" in url
    ]
    # no error but the browser's report of the refused sign-ins after the revocation
    assert not problems[:before_revocation], problems
    assert all("401" in problem for problem in problems[before_revocation:]), problems


async def test_the_kiosk_fits_a_1280x800_screen_busiest_first_and_prints_who_is_ahead(
    queue_settings: QueueSettings,
    clock: FixedClock,
    mint: Callable[..., str],
    tmp_path: Path,
    screenshots: Path,
) -> None:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium"
    reception = bearer(mint(Role.receptionist, establishments=[CLINIC]))
    problems: list[str] = []
    async with (
        serving(create_app(queue_settings, clock=clock)) as base,
        async_playwright() as playwright,
    ):
        async with httpx.AsyncClient(base_url=base) as api:
            kiosk_terminal = await register_terminal(api, mint, "kiosk")
            for _ in range(2):  # two patients already waiting at general medicine
                issued = await api.post(
                    f"/establishments/{CLINIC}/tickets",
                    json={"service_code": "MG"},
                    headers=reception,
                )
                assert issued.status_code == 201
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800},
            timezone_id="UTC",
            locale="fr-FR",
        )
        try:
            await browser.add_init_script(PRINT_COUNTER)
            for lang in ("ar", "fr"):
                kiosk = await browser.new_page()
                watch(kiosk, problems)
                # enrolled by the first page; the second signs in with the kept credential
                link = enrolment(kiosk_terminal) if lang == "ar" else ""
                await kiosk.goto(f"{base}/terminals/kiosk?lang={lang}{link}")
                services = kiosk.locator("[data-service]")
                await expect(services).to_have_count(10)
                # general medicine, the busiest, first
                assert await services.first.get_attribute("data-service") == "MG"
                for target in [*await services.all(), kiosk.locator("#to-booking")]:
                    box = await target.bounding_box()
                    assert box is not None and box["y"] + box["height"] <= 800, (lang, box)
                await kiosk.screenshot(path=screenshots / f"kiosk-1280x800-{lang}.png")
            await kiosk.locator("[data-service='MG']").click()
            await kiosk.locator("[data-priority='normal']").click()
            ticket = kiosk.locator("#ticket-print")
            await expect(ticket.locator(".t-number")).to_have_text("MG-003", timeout=10_000)
            await expect(ticket).to_contain_text("Personnes avant vous : 2")
            await expect(ticket).to_contain_text("عدد الأشخاص قبلك: 2")
            await expect(kiosk.locator("html")).to_have_attribute("data-printed", "1")
        finally:
            await browser.close()
    assert not problems, problems


async def test_a_board_renews_its_token_and_its_stream_cookie_and_keeps_showing_calls(
    queue_settings: QueueSettings, clock: FixedClock, mint: Callable[..., str], tmp_path: Path
) -> None:
    """Tokens of one minute: the page renews at its floor of ten seconds, hands the new
    token to the stream cookie, and the board still shows the next call."""
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium"
    settings = queue_settings.model_copy(update={"terminal_token_minutes": 1})
    reception = bearer(mint(Role.receptionist, establishments=[CLINIC]))
    agent = bearer(mint(Role.counter_agent, establishments=[CLINIC]))
    problems: list[str] = []
    async with (
        serving(create_app(settings, clock=clock)) as base,
        async_playwright() as playwright,
        httpx.AsyncClient(base_url=base) as api,
    ):
        display = await register_terminal(api, mint, "display")
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            timezone_id="UTC",
        )
        try:
            board = await browser.new_page()
            watch(board, problems)
            signed_in: list[str] = []
            board.on(
                "request",
                lambda request: (
                    signed_in.append(request.url.rsplit("/", 1)[-1])
                    if request.url.endswith(("/auth/terminal-token", "/auth/stream-session"))
                    else None
                ),
            )
            await board.goto(f"{base}/terminals/board?lang=fr{enrolment(display)}")
            await expect(board.locator("body[data-feed='live']")).to_be_attached(timeout=10_000)
            # the renewal, ten seconds on: a second token, then the stream cookie again
            for _ in range(60):
                if signed_in.count("stream-session") >= 2:
                    break
                await board.wait_for_timeout(500)
            assert signed_in.count("terminal-token") >= 2, signed_in
            assert signed_in.count("stream-session") >= 2, signed_in

            issued = await api.post(
                f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=reception
            )
            assert issued.status_code == 201
            called = await api.post(
                f"/establishments/{CLINIC}/counters/{MG_1}/call-next", headers=agent
            )
            assert called.json()["ticket"]["label"] == "MG-001"
            await expect(board.locator("#now-label")).to_have_text("MG-001", timeout=5_000)
        finally:
            await browser.close()
    assert not problems, problems
