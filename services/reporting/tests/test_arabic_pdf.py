"""Arabic in the PDF (issue 13, item 11): a wrapped cell reads from its first line down,
and a date with its time stays one left-to-right unit inside Arabic. Checked on the text
pypdf extracts from the service's own PDF (it gives each drawn line back in reading
order), not by eye."""

from __future__ import annotations

import io
import random
import unicodedata
from datetime import date, datetime

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader

from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import EventFactory, clinic_day

from .conftest import publish, wait_for_archive

pytestmark = pytest.mark.integration

DAY = date(2026, 10, 6)
LOTFI = "العيادة متعددة الخدمات العقيد لطفي"  # 31-PC-001, wider than its column


def drawn_lines(pdf: bytes) -> list[str]:
    """Every line of text the PDF draws, in drawing order, letters back from their
    presentation forms (NFKC)."""
    lines: list[str] = []

    def visit(text: str, *_: object) -> None:
        if text.strip():
            lines.append(unicodedata.normalize("NFKC", text).strip())

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    return lines


async def test_wrapped_arabic_reads_top_down_and_dates_stay_whole(
    reporting_app: tuple[FastAPI, httpx.AsyncClient],
    reporting_settings: ReportingSettings,
    group: dict[str, str],
) -> None:
    _, client = reporting_app
    events = clinic_day(EventFactory(), "31-PC-001", DAY, tickets=4, rng=random.Random(3))
    await publish(reporting_settings, events)
    assert await wait_for_archive(reporting_settings, len(events)) == len(events)
    path = f"/reports/wilaya/daily/{DAY}"
    header = (await client.get(path, headers=group)).json()["report"]
    pdf = await client.get(path, params={"format": "pdf", "lang": "ar"}, headers=group)
    assert pdf.status_code == 200
    lines = drawn_lines(pdf.content)

    # the name, wrapped over consecutive lines of its cell, first words first
    wrapped = [
        lines[i : i + n]
        for n in (2, 3, 4)
        for i in range(len(lines) - n + 1)
        if " ".join(lines[i : i + n]) == LOTFI
    ]
    assert wrapped, [line for line in lines if "لطفي" in line]
    assert not any(" ".join(reversed(run)) == LOTFI for run in wrapped)

    # "data as of" and "generated at": the date then the time, as written (drawn leftmost,
    # the label to their right); unisolated, the time came first
    as_of = datetime.fromisoformat(header["data_as_of"])
    stamp, swapped = f"{as_of:%d/%m/%Y %H:%M}", f"{as_of:%H:%M} {as_of:%d/%m/%Y}"
    dated = [line for line in lines if stamp in line or swapped in line]
    assert dated and all(line.startswith(stamp) for line in dated), dated
