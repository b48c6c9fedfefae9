"""Electronic prescriptions in the reports: the projection (lines, overridden warnings,
substitutions, top DCIs), the wilaya report's section, and reconciliation against the
queue service's own `/counts/prescriptions`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sihha_contracts.events.queue import (
    CodedBy,
    DispensedLine,
    ListClass,
    PrescribedLine,
    PrescriptionCancelledV1,
    PrescriptionDispensedV1,
    PrescriptionIssuedV1,
    PrescriptionWarningKind,
)
from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import EventFactory, algiers

from .conftest import http_server, publish, wait_for_archive

pytestmark = pytest.mark.integration
DAY = date(2026, 10, 6)
CLINIC = "31-PC-001"


def line(code: str, substances: tuple[str, ...], quantity: int) -> PrescribedLine:
    return PrescribedLine(
        drug_code=code,
        substances=substances,
        list_class=ListClass.NONE,
        coded_by=CodedBy.PRODUCT,
        quantity=quantity,
    )


def prescriptions() -> list[Any]:
    factory = EventFactory()
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    visit = uuid.uuid4()
    lines = (line("03 B 005", ("PARACETAMOL",), 2), line("03 B 026", ("PARACETAMOL", "CODEINE"), 1))
    return [
        factory.envelope(
            PrescriptionIssuedV1(
                prescription_id=first,
                visit_id=visit,
                line_count=2,
                drug_codes=("03 B 005", "03 B 026"),
                lines=lines,
                warnings_overridden=1,
                warning_kinds=(PrescriptionWarningKind.DUPLICATE_DCI,),
            ),
            CLINIC,
            first,
            algiers(DAY, 9),
        ),
        factory.envelope(
            PrescriptionDispensedV1(
                prescription_id=first,
                visit_id=visit,
                line_count=1,
                drug_codes=("03 B 005",),
                fully_dispensed=False,
                lines=(
                    DispensedLine(
                        drug_code="03 B 005",
                        substances=("PARACETAMOL",),
                        quantity=1,
                        quantity_remaining=1,
                        substituted=True,
                    ),
                ),
            ),
            CLINIC,
            first,
            algiers(DAY, 11),
        ),
        factory.envelope(
            PrescriptionIssuedV1(
                prescription_id=second,
                visit_id=visit,
                line_count=1,
                drug_codes=("03 F 047",),
                lines=(line("03 F 047", ("TRAMADOL",), 1),),
                warnings_overridden=0,
            ),
            CLINIC,
            second,
            algiers(DAY, 10),
        ),
        # an event of version 1 without the optional fields still counts
        factory.envelope(
            PrescriptionIssuedV1(
                prescription_id=third, visit_id=visit, line_count=1, drug_codes=("01 A 003",)
            ),
            "31-PC-002",
            third,
            algiers(DAY, 10),
        ),
        factory.envelope(
            PrescriptionCancelledV1(
                prescription_id=third,
                visit_id=visit,
                line_count=1,
                drug_codes=("01 A 003",),
                reason="issued_in_error",
            ),
            "31-PC-002",
            third,
            algiers(DAY, 12),
        ),
    ]


QUEUE_ROWS = [
    {
        "facility_id": CLINIC,
        "day": DAY.isoformat(),
        "prescriptions_issued": 2,
        "prescription_lines_issued": 3,
        "prescription_dispenses": 1,
        "prescriptions_cancelled": 0,
    },
    {
        "facility_id": "31-PC-002",
        "day": DAY.isoformat(),
        "prescriptions_issued": 1,
        "prescription_lines_issued": 1,
        "prescription_dispenses": 0,
        "prescriptions_cancelled": 1,
    },
]


def queue_stub(rows: list[dict[str, Any]]) -> Starlette:
    async def activity(request: Request) -> Response:
        return JSONResponse([])

    async def prescribed(request: Request) -> Response:
        assert request.query_params["from"] == "2026-10-01"
        return JSONResponse(rows)

    return Starlette(
        routes=[Route("/counts/activity", activity), Route("/counts/prescriptions", prescribed)]
    )


async def test_prescriptions_are_reported_and_reconciled(
    reporting_app: tuple[FastAPI, httpx.AsyncClient],
    reporting_settings: ReportingSettings,
    group: dict[str, str],
) -> None:
    app, client = reporting_app
    events = prescriptions()
    await publish(reporting_settings, events)
    assert await wait_for_archive(reporting_settings, len(events)) == len(events)

    report = await client.get("/reports/wilaya/daily/2026-10-06", headers=group)
    assert report.status_code == 200, report.text
    rows = {r["facility_id"]: r for r in report.json()["prescriptions"]}
    clinic = rows[CLINIC]
    assert (clinic["issued"], clinic["lines_issued"], clinic["dispensed"]) == (2, 3, 1)
    assert clinic["issued_with_override"] == 1 and clinic["warnings_overridden"] == 1
    assert clinic["share_overridden"] == 0.5 and clinic["share_fully_dispensed"] == 0.0
    assert clinic["lines_substituted"] == 1
    assert rows["31-PC-002"]["cancelled"] == 1
    top = report.json()["prescription_top_substances"]
    assert top[0] == {
        "substance": "PARACETAMOL",
        "lines": 2,
        "packs_prescribed": 3,
        "packs_dispensed": 1,
    }
    assert {t["substance"] for t in top} == {"PARACETAMOL", "CODEINE", "TRAMADOL"}
    pdf = await client.get("/reports/wilaya/daily/2026-10-06?format=pdf&lang=ar", headers=group)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    params = {"from": "2026-10-01", "to": "2026-10-31"}
    async with http_server(queue_stub(QUEUE_ROWS)) as base:
        app.state.context.settings = reporting_settings.model_copy(update={"queue_url": base})
        clean = (await client.get("/reconciliation", params=params, headers=group)).json()
    assert clean["ok"], clean["differences"]
    assert "prescription_dispenses" in clean["metrics"]
    assert clean["compared"] == 2 * len(clean["metrics"])

    lost = [dict(QUEUE_ROWS[0], prescription_dispenses=2), QUEUE_ROWS[1]]
    async with http_server(queue_stub(lost)) as base:
        app.state.context.settings = reporting_settings.model_copy(update={"queue_url": base})
        found = (await client.get("/reconciliation", params=params, headers=group)).json()
    assert found["differences"] == [
        {
            "facility_id": CLINIC,
            "day": "2026-10-06",
            "metric": "prescription_dispenses",
            "source": 2,
            "reporting": 1,
            "difference": 1,
        }
    ]
