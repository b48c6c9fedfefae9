"""A report's charts are drawn only when they can show something, in a form that fits
the period (issue 13, item 12): checked on the drawings as SVG and on the PDF's text."""

from __future__ import annotations

import io
import random
import re
from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader
from reportlab.graphics import renderSVG

from sihha_reporting.config import ReportingSettings
from sihha_reporting.rendering.pdf import charts, register_fonts
from sihha_reporting.synthetic import EventFactory, clinic_day

from .conftest import publish, wait_for_archive

pytestmark = pytest.mark.integration

DAYS = (date(2026, 10, 6), date(2026, 10, 7))
#: the fill of each rollout bar in ReportLab's SVG (rgb percentages of ROLLOUT_COLOURS)
FILLS = {
    "equipped": "rgb(56%,66%,76%)",
    "operating": "rgb(10%,41%,22%)",
    "silent_establishments": "rgb(64%,8%,10%)",
}


def bars(svg: str) -> dict[str, float]:
    """The height of each coloured bar of a drawing."""
    heights = {}
    for rect in re.findall(r"<rect [^>]*>", svg):
        for key, fill in FILLS.items():
            if f"fill: {fill}" in rect:
                heights[key] = float(re.search(r'height="([0-9.]+)"', rect)[1])  # type: ignore[index]
    return heights


async def test_one_day_gets_bars_several_days_a_line_and_no_data_no_chart(
    reporting_app: tuple[FastAPI, httpx.AsyncClient],
    reporting_settings: ReportingSettings,
    group: dict[str, str],
) -> None:
    _, client = reporting_app
    factory, rng = EventFactory(), random.Random(12)
    events = [
        event
        for day in DAYS
        for code in ("31-PC-001", "31-PC-002")
        for event in clinic_day(factory, code, day, tickets=4, rng=rng)
    ]
    await publish(reporting_settings, events)
    assert await wait_for_archive(reporting_settings, len(events), timeout=60) == len(events)
    response = await client.post(
        "/inspections",
        json={
            "facility_id": "31-PC-003",
            "visited_on": "2026-10-01",
            "inspector": "Inspection DSP",
            "equipped": True,
            "system_in_use": False,
        },
        headers=group,
    )
    assert response.status_code == 201, response.text
    register_fonts()

    one_day = (await client.get(f"/reports/wilaya/daily/{DAYS[0]}", headers=group)).json()
    [point] = one_day["rollout"]["series"]
    silent = len(one_day["silent"]["establishments"])
    drawn = charts(one_day, "fr")
    assert [title for title, _ in drawn] == [
        "Établissements équipés, en fonctionnement et silencieux ce jour-là",
        "Activité des polycliniques",
    ]
    heights = bars(renderSVG.drawToString(drawn[0][1]))
    # 31-PC-003 equipped and silent, 31-PC-001 and -002 operating: three bars, in proportion
    assert (point["equipped"], point["operating"], silent) == (1, 2, 1)
    assert set(heights) == set(FILLS)
    assert heights["operating"] == pytest.approx(2 * heights["equipped"])
    assert heights["silent_establishments"] == pytest.approx(heights["equipped"])

    pdf = await client.get(
        f"/reports/wilaya/daily/{DAYS[0]}", params={"format": "pdf", "lang": "fr"}, headers=group
    )
    first_page = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "silencieux ce jour-là" in first_page
    assert "Établissements en fonctionnement par jour" not in first_page
    assert {"Équipés", "En fonctionnement", "Silencieux"} <= set(first_page.split("\n"))

    two_days = (
        await client.get(
            "/reports/wilaya",
            params={"from": DAYS[0].isoformat(), "to": DAYS[1].isoformat()},
            headers=group,
        )
    ).json()
    drawn = charts(two_days, "ar")
    assert len(drawn) == 2 and drawn[0][0] == "المؤسسات العاملة حسب اليوم"
    svg = renderSVG.drawToString(drawn[0][1])
    [operating] = [
        line
        for line in re.findall(r'<polyline points="([^"]*)" style="([^"]*)"', svg)
        if f"stroke: {FILLS['operating']}" in line[1]
    ]
    assert operating[0].count(",") == 1  # a line through the two days' points

    nothing = (await client.get("/reports/wilaya/daily/2026-09-01", headers=group)).json()
    assert charts(nothing, "fr") == []
    pdf = await client.get(
        "/reports/wilaya/daily/2026-09-01", params={"format": "pdf"}, headers=group
    )
    assert "ce jour-là" not in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
