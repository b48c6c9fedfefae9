"""The prescription in a real browser (Debian's Chromium, headless, Playwright) against
the real queue app on the real database: a doctor serves a patient at the consultation
room's counter page, opens the prescription from it, searches the nomenclature as they
type, meets a warning, overrides it with a reason, signs and prints; a pharmacist
verifies the code on the pharmacy page and dispenses part of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright, expect

from sihha_kit.auth import Role
from sihha_kit.clock import ALGIERS
from sihha_kit.testing.apps import FixedClock, serving
from sihha_kit.testing.plugin import bearer
from sihha_queue.adapters.nomenclature_import import excerpt_bytes
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings
from sihha_queue.service_layer.prescriptions import import_nomenclature

from .conftest import register_terminal
from .test_pages_browser import CHROMIUM, CHROMIUM_ARGS, MG_1, enrolment, watch

pytestmark = pytest.mark.integration

CLINIC = "31-PC-001"
PHARMACY = "31-OFF-0001"


async def test_a_doctor_prescribes_and_a_pharmacist_dispenses_in_chromium(
    queue_settings: QueueSettings, mint: Callable[..., str], tmp_path: Path
) -> None:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium"
    clock = FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=ALGIERS))
    settings = queue_settings.model_copy(update={"prescription_keys_dir": tmp_path / "keys"})
    app = create_app(settings, clock=clock)
    problems: list[str] = []
    async with serving(app) as base, async_playwright() as playwright:
        await import_nomenclature(app.state.context.uow(), excerpt_bytes(), clock())
        async with httpx.AsyncClient(base_url=base) as api:
            # the consultation room's terminal is enrolled as a doctor's, the pharmacy's
            # as a pharmacist's
            room = await register_terminal(api, mint, "doctor")
            dispensary = await register_terminal(api, mint, "pharmacist", PHARMACY)
            issued = await api.post(
                f"/establishments/{CLINIC}/tickets",
                json={"service_code": "MG"},
                headers=bearer(mint(Role.receptionist, establishments=[CLINIC])),
            )
            assert issued.status_code == 201
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            timezone_id="UTC",
            locale="fr-FR",
        )
        try:
            # -- the consultation room: call, start, then "prescribe" -------------------
            counter = await browser.new_page()
            watch(counter, problems)
            await counter.goto(f"{base}/terminals/counter?lang=fr{enrolment(room, MG_1)}")
            await counter.locator("#btn-call-next").click()
            await expect(counter.locator("#current-label")).to_have_text("MG-001")
            await counter.locator("#btn-start").click()
            prescribe = counter.locator("#btn-prescribe")
            await expect(prescribe).to_be_visible()
            await prescribe.click()
            await counter.wait_for_url("**/terminals/prescription?ticket=*")
            page = counter

            # -- search as one types (accents and case ignored), add two lines -------------
            await page.locator("#rx-search").press_sequentially("doli-b")
            first = page.locator(".rx-result", has_text="DOLI-BIEN")
            await expect(first.first).to_be_visible()
            await first.first.click()
            await page.locator("#rx-search").press_sequentially("coexpandol")
            await page.locator(".rx-result", has_text="COEXPANDOL").first.click()
            await expect(page.locator(".rx-line")).to_have_count(2)

            # -- signing is refused until the warning is overridden with a reason ----------
            await page.locator("#rx-sign").click()
            warning = page.locator(".rx-warning")
            await expect(warning).to_have_count(1)
            await expect(warning).to_contain_text("PARACETAMOL figure sur plusieurs lignes")
            await expect(page.locator("#banner")).to_be_visible()
            await warning.locator(".rx-reason").fill(
                "relais antalgique le soir, dose totale vérifiée"
            )
            await page.locator("#rx-sign").click()
            await expect(page.locator("#rx-signed")).to_be_visible()
            code = await page.locator("#rx-code").text_content()
            assert code and code.startswith("RX1.")

            # -- print: the A5 PDF opens ------------------------------------------------------
            async with page.expect_response(lambda r: "/pdf?lang=fr" in r.url) as printed:
                async with browser.expect_page() as opened:
                    await page.locator("#rx-print").click()
            assert (await printed.value).status == 200
            assert (await printed.value).headers["content-type"] == "application/pdf"
            await (await opened.value).close()

            # -- the pharmacy: verify the code, dispense one box of line 1 --------------------
            pharmacy = await browser.new_page()
            watch(pharmacy, problems)
            await pharmacy.goto(f"{base}/terminals/pharmacy?lang=ar{enrolment(dispensary)}")
            await expect(pharmacy.locator("html")).to_have_attribute("dir", "rtl")
            await pharmacy.locator("#ph-code").fill(code)
            await pharmacy.locator("#ph-code").press("Enter")
            await expect(pharmacy.locator("#ph-prescription")).to_be_visible()
            await expect(pharmacy.locator("#ph-status")).to_have_text("للصرف")
            rows = pharmacy.locator("#ph-lines tr")
            await expect(rows).to_have_count(2)
            await expect(rows.nth(0).locator(".ph-product option")).not_to_have_count(0)
            await rows.nth(0).locator(".ph-now").fill("1")
            await pharmacy.locator("#ph-dispense").click()
            await expect(pharmacy.locator("#ph-status")).to_have_text("مصروفة جزئيًا")
            await expect(rows.nth(0)).to_contain_text("0 / 1")
            await expect(rows.nth(1)).to_contain_text("1 / 1")

            # a forged code is refused on the page, in Arabic
            await pharmacy.locator("#ph-code").fill(
                code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
            )
            await pharmacy.locator("#ph-verify").click()
            await expect(pharmacy.locator("#banner-text")).to_contain_text(
                "توقيع هذا الرمز غير مطابق"
            )
        finally:
            await browser.close()
    # the forged code's 422 is the one expected console error (a failed fetch is logged)
    unexpected = [p for p in problems if "422" not in p and "409" not in p]
    assert unexpected == []
