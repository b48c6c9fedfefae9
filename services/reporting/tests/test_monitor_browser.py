"""The monitor page in a real browser (Debian's Chromium, headless, driven by Playwright)
against the real service: in Arabic, the "data as of" timestamp and the dates of the
tables stay whole, date then time, left to right, inside the right-to-left page (issue
13, item 11; checked on where Chromium lays out each character, not by eye); the live
events arrive through the browser's own EventSource."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect

from sihha_kit.testing.apps import serving
from sihha_reporting.bootstrap import create_app
from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import EventFactory, clinic_day

from .conftest import consumer_ready, publish, wait_for_archive

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("SIHHA_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]

#: the text of an element's first text node and the left edge of each of its characters
CHARACTERS = """(element) => {
  const node = element.firstChild, range = document.createRange(), lefts = [];
  for (let i = 0; i < node.length; i++) {
    range.setStart(node, i); range.setEnd(node, i + 1);
    lefts.push(range.getBoundingClientRect().left);
  }
  return { text: node.textContent, lefts: lefts };
}"""


async def laid_out(page: Page, selector: str) -> dict[str, Any]:
    return await page.locator(selector).first.evaluate(CHARACTERS)  # type: ignore[no-any-return]


def left_to_right(layout: dict[str, Any]) -> bool:
    """Each visible character of the text stands right of the one before it."""
    lefts = [x for ch, x in zip(layout["text"], layout["lefts"], strict=True) if ch != " "]
    return all(a < b for a, b in pairwise(lefts))


async def test_the_arabic_monitor_keeps_dates_whole(
    reporting_settings: ReportingSettings,
    clock: Callable[[], Any],
    it_unit: dict[str, str],
    tmp_path: Path,
) -> None:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium"
    app = create_app(reporting_settings, clock=clock)
    events = clinic_day(
        EventFactory(), "31-PC-001", date(2026, 10, 6), tickets=3, rng=random.Random(5)
    )
    problems: list[str] = []
    async with serving(app) as base, async_playwright() as playwright:
        await consumer_ready(app)
        await publish(reporting_settings, events)
        assert await wait_for_archive(reporting_settings, len(events)) == len(events)
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1200, "height": 900},
            timezone_id="UTC",
        )
        try:
            page = await browser.new_page()
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type == "error" else None,
            )
            await page.goto(f"{base}/monitor?lang=ar")
            await expect(page.locator("html")).to_have_attribute("dir", "rtl")
            await page.locator("#token").fill(it_unit["Authorization"].removeprefix("Bearer "))
            await page.locator("#follow button").click()
            await expect(page.locator("#asof")).to_have_text(
                "20/11/2026 10:00"  # the service's clock (conftest.NOW), in Algiers time
            )
            as_of = await laid_out(page, "#asof")
            assert left_to_right(as_of), as_of
            # the label stands right of its timestamp: the line runs right to left
            label = await page.locator("[data-i18n='monitor.data_as_of']").bounding_box()
            stamp = await page.locator("#asof").bounding_box()
            assert label and stamp and label["x"] > stamp["x"] + stamp["width"]
            # a date in a table: the last event of 31-PC-001
            row = page.locator("#facilities tr", has_text="31-PC-001")
            await expect(row).to_have_count(1)
            last_event = await laid_out(
                page, "#facilities tr:has-text('31-PC-001') td:nth-child(3) bdi"
            )
            assert last_event["text"].startswith("06/10/2026 ") and left_to_right(last_event)

            # the live events, through the browser's EventSource and the stream cookie
            await expect(page.locator("#state")).to_have_text("متصل")
            later = clinic_day(
                EventFactory(), "31-PC-002", date(2026, 10, 7), tickets=1, rng=random.Random(6)
            )
            await publish(reporting_settings, later)
            await expect(page.locator("#events")).to_contain_text("31-PC-002  queue.ticket.issued")
        finally:
            await browser.close()
    assert problems == []
