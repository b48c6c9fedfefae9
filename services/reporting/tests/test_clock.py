"""One clock: a report's period, "generated at" and "data as of" all read the platform's
clock (issue 13, item 10). The demo simulates a December day while the machine says
November; every date a report or the monitor shows must be the simulated one."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from sihha_kit.clock import simulated_clock
from sihha_kit.testing.apps import running
from sihha_reporting.bootstrap import create_app
from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import EventFactory, algiers

from .conftest import consumer_ready, publish, wait_for_archive

pytestmark = pytest.mark.integration

#: the simulated day: weeks away from the machine's own date, in either direction
DAY = date(2027, 3, 16)


async def test_the_header_and_the_monitor_read_the_platform_clock(
    reporting_settings: ReportingSettings,
    group: dict[str, str],
    it_unit: dict[str, str],
) -> None:
    start = algiers(DAY, 11)
    clock = simulated_clock(start, speed=1.0, anchor_epoch=datetime.now().timestamp())
    app = create_app(reporting_settings, clock=clock)
    factory = EventFactory()
    events = factory.ticket_journey("31-PC-001", "MG", algiers(DAY, 9))
    async with running(app) as client:
        await consumer_ready(app)
        await publish(reporting_settings, events)
        assert await wait_for_archive(reporting_settings, len(events)) == len(events)
        daily = f"/reports/wilaya/daily/{DAY}"
        report = (await client.get(daily, headers=group)).json()
        header = report["report"]
        assert report["period"]["start"] == DAY.isoformat() and header["status"] == "provisional"
        generated = datetime.fromisoformat(header["generated_at"])
        as_of = datetime.fromisoformat(header["data_as_of"])
        # archived after the simulated 11:00, before the report was generated, same day
        assert start <= as_of <= generated < algiers(DAY, 12)
        assert header["data_as_of"].endswith("+01:00")

        status = (await client.get("/monitor/status", headers=it_unit)).json()
        assert status["data_as_of"] == header["data_as_of"]
        assert datetime.fromisoformat(status["now"]).date() == DAY

        pdf = await client.get(daily, params={"format": "pdf", "lang": "fr"}, headers=group)
        info = PdfReader(io.BytesIO(pdf.content)).metadata
        assert info is not None and info.creation_date is not None
        assert info.creation_date.date() == DAY
        cover = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
        assert f"{DAY:%d/%m/%Y} {as_of:%H:%M}" in cover  # "Données arrêtées au"

        xlsx = await client.get(daily, params={"format": "xlsx"}, headers=group)
        created = load_workbook(io.BytesIO(xlsx.content)).properties.created
        assert created is not None and created.date() == DAY
