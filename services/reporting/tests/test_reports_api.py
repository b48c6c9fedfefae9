"""The reports through the HTTP API: content, formats, revisions, refusals, roles."""

from __future__ import annotations

import csv
import io
import json
import random
import re
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from sihha_contracts.envelope import Envelope
from sihha_kit.auth import Role
from sihha_kit.testing.plugin import bearer
from sihha_reporting.config import ReportingSettings
from sihha_reporting.synthetic import EventFactory, algiers, clinic_day

from .conftest import publish, query, wait_for_archive

pytestmark = pytest.mark.integration

OPERATING = ("31-PC-001", "31-PC-002", "31-PC-005")
EXAMPLE_MAPPING = Path(__file__).resolve().parents[1] / "dhis2-mapping.example.yaml"


def october() -> list[Envelope]:
    """Three polyclinics working every working day of October 2026 (Saturdays included)."""
    factory, rng = EventFactory(), random.Random(21)
    events: list[Envelope] = []
    for offset in range(31):
        day = date(2026, 10, 1) + timedelta(days=offset)
        if day.weekday() == 4:  # Friday
            continue
        for code in OPERATING:
            events += clinic_day(factory, code, day, tickets=6, rng=rng)
    return events


def patient_keys(events: list[Envelope]) -> set[str]:
    keys = {e.payload.get("patient_key") for e in events}
    keys.discard(None)
    assert keys  # the synthetic events do carry pseudonymous keys
    return keys  # type: ignore[return-value]


async def inspect(
    client: httpx.AsyncClient, headers: dict[str, str], code: str, *, equipped: bool, in_use: bool
) -> None:
    response = await client.post(
        "/inspections",
        json={
            "facility_id": code,
            "visited_on": "2026-10-05",
            "inspector": "Inspection DSP",
            "equipped": equipped,
            "system_in_use": in_use,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text


@pytest.fixture
async def loaded(
    reporting_app: tuple[FastAPI, httpx.AsyncClient],
    reporting_settings: ReportingSettings,
    group: dict[str, str],
) -> tuple[FastAPI, httpx.AsyncClient, list[Envelope]]:
    app, client = reporting_app
    events = october()
    await publish(reporting_settings, events)
    assert await wait_for_archive(reporting_settings, len(events), timeout=90) == len(events)
    for code, equipped, in_use in [
        ("31-PC-001", True, True),
        ("31-PC-002", True, True),
        ("31-PC-003", False, False),
        ("31-PC-004", True, True),
    ]:
        await inspect(client, group, code, equipped=equipped, in_use=in_use)
    return app, client, events


async def test_the_monthly_wilaya_report_shows_rollout_activity_and_gaps(
    loaded: tuple[FastAPI, httpx.AsyncClient, list[Envelope]], group: dict[str, str]
) -> None:
    _, client, events = loaded
    response = await client.get("/reports/wilaya/monthly/2026-10", headers=group)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["report"]["status"] == "published" and report["report"]["revision"] == 1
    assert report["report"]["data_as_of"].endswith("+01:00")  # Algiers time
    rollout = report["rollout"]
    assert rollout["summary"] == {
        "registered": 44,
        "equipped": 3,
        "operating": 3,
        "disagreements": 1,
    }
    by_code = {row["facility_id"]: row for row in rollout["establishments"]}
    assert by_code["31-PC-004"]["disagreement"] == "inspection_in_use_but_not_operating"
    assert by_code["31-PC-005"]["stage"] == "operating" and not by_code["31-PC-005"]["equipped"]
    assert [p["operating"] for p in rollout["series"]][:2] == [3, 3]
    assert (
        rollout["series"][3]["equipped"] == 0 and rollout["series"][4]["equipped"] == 3
    )  # inspected on the 5th
    issued = sum(1 for e in events if e.event_type == "queue.ticket.issued")
    assert report["activity"]["totals"]["tickets_issued"] == issued
    lotfi = next(r for r in report["activity"]["establishments"] if r["facility_id"] == "31-PC-001")
    assert lotfi["wait_minutes_median"] is not None and lotfi["busiest_hours"]
    assert report["completeness"]["expected"] == 4 and report["completeness"]["reporting"] == 3
    assert [m["facility_id"] for m in report["completeness"]["missing"]] == ["31-PC-004"]
    assert "31-PC-004" in {s["facility_id"] for s in report["silent"]["establishments"]}
    refs = {d["ref"] for d in report["definitions"]}
    assert {"tickets_issued@v1", "wait_time@v1", "establishments_operating@v1"} <= refs
    assert not patient_keys(events) & set(
        re.findall(r"[0-9a-f]{64}", response.text)
    )  # none in a report


@pytest.mark.parametrize("lang", ["fr", "ar"])
async def test_every_format_in_both_languages(
    loaded: tuple[FastAPI, httpx.AsyncClient, list[Envelope]], group: dict[str, str], lang: str
) -> None:
    _, client, _ = loaded
    path = "/reports/wilaya/monthly/2026-10"
    csv_response = await client.get(path, params={"format": "csv", "lang": lang}, headers=group)
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    lotfi = [
        r
        for r in rows
        if r["section"] == "activity"
        and r["row"] == "31-PC-001"
        and r["column"] == "tickets_issued"
    ]
    assert len(lotfi) == 1 and int(lotfi[0]["value"]) > 0
    labels = {r["column_label"] for r in rows if r["section"] == "activity"}
    assert ("التذاكر الصادرة" in labels) == (lang == "ar") and ("Tickets émis" in labels) == (
        lang == "fr"
    )

    xlsx = await client.get(path, params={"format": "xlsx", "lang": lang}, headers=group)
    book = load_workbook(io.BytesIO(xlsx.content))
    assert {"rollout", "activity", "silent", "completeness", "definitions"} <= set(book.sheetnames)
    assert bool(book["activity"].sheet_view.rightToLeft) == (lang == "ar")

    pdf = await client.get(path, params={"format": "pdf", "lang": lang}, headers=group)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert b"IBMPlexSansArabic" in pdf.content  # the embedded font with Arabic glyphs


async def test_late_data_for_a_closed_period_makes_a_new_revision(
    loaded: tuple[FastAPI, httpx.AsyncClient, list[Envelope]],
    reporting_settings: ReportingSettings,
    group: dict[str, str],
) -> None:
    _, client, events = loaded
    path = "/reports/wilaya/monthly/2026-10"
    first = (await client.get(path, headers=group)).json()
    again = (await client.get(path, headers=group)).json()
    assert (first["report"]["revision"], again["report"]["revision"]) == (1, 1)
    late = EventFactory().ticket_journey("31-PC-002", "MG", algiers(date(2026, 10, 14), 9))
    await publish(reporting_settings, late)
    assert await wait_for_archive(reporting_settings, len(events) + len(late)) == len(events) + len(
        late
    )
    revised = (await client.get(path, headers=group)).json()
    assert revised["report"]["revision"] == 2
    assert revised["report"]["report_id"] == first["report"]["report_id"]
    assert (
        revised["activity"]["totals"]["tickets_issued"]
        == first["activity"]["totals"]["tickets_issued"] + 1
    )
    published = await query(
        reporting_settings,
        "SELECT body FROM outbox WHERE event_type = 'reporting.report.published' ORDER BY id",
    )
    revisions = [json.loads(r["body"])["payload"] for r in published]
    assert [(p["report_kind"], p["revision"]) for p in revisions] == [
        ("wilaya_monthly", 1),
        ("wilaya_monthly", 2),
    ]
    history = (await client.get("/reports/revisions", headers=group)).json()
    assert [h["revision"] for h in history if h["report_kind"] == "wilaya_monthly"] == [2, 1]
    # a period still running is provisional and not stored
    current = (await client.get("/reports/wilaya/daily/2026-11-20", headers=group)).json()
    assert current["report"]["status"] == "provisional" and current["report"]["revision"] is None


async def test_the_ministry_report_is_aggregated_and_suppressed(
    loaded: tuple[FastAPI, httpx.AsyncClient, list[Envelope]], ministry: dict[str, str]
) -> None:
    _, client, events = loaded
    response = await client.get("/reports/ministry/monthly/2026-10", headers=ministry)
    assert response.status_code == 200, response.text
    report = response.json()
    tables = {t["id"]: t for t in report["tables"]}
    assert tables["rollout"]["cells"][0] == [36, 3, 3]  # PC: registered, equipped, operating
    assert [r["key"] for r in tables["polyclinic_outcomes"]["rows"]] == ["31:PC", "31"]
    for table in report["tables"]:
        for row in table["cells"]:
            for cell in row:
                assert cell in ("<5", "x", "—") or isinstance(cell, int | float)
                assert not (isinstance(cell, int) and 1 <= cell <= 4) or table["id"] == "rollout"
    assert not re.search(r"31-PC-\d{3}", response.text)  # aggregates only, no establishment
    assert not patient_keys(events) & set(re.findall(r"[0-9a-f]{64}", response.text))
    refs = {c["definition"] for t in report["tables"] for c in t["columns"]}
    assert refs <= {d["ref"] for d in report["definitions"]}


async def test_dhis2_export_with_a_complete_mapping_and_a_clear_error_without(
    loaded: tuple[FastAPI, httpx.AsyncClient, list[Envelope]],
    ministry: dict[str, str],
    tmp_path: Path,
) -> None:
    app, client, _ = loaded
    path = "/reports/ministry/monthly/2026-10"
    missing = await client.get(path, params={"format": "dhis2"}, headers=ministry)
    assert missing.status_code == 422 and missing.json()["code"] == "dhis2-mapping-missing"
    report = (await client.get(path, headers=ministry)).json()
    keys = sorted({f"{t['id']}.{c['key']}" for t in report["tables"] for c in t["columns"]})
    rows = sorted({r["key"] for t in report["tables"] for r in t["rows"]})
    uid = iter(f"A{n:010d}" for n in range(1, 10_000))
    mapping = {
        "orgUnits": {row: next(uid) for row in rows},
        "dataElements": {key: next(uid) for key in keys},
    }
    incomplete = {**mapping, "dataElements": dict(list(mapping["dataElements"].items())[1:])}
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(incomplete))
    app.state.context.reports.dhis2_mapping_path = mapping_file
    refused = await client.get(path, params={"format": "dhis2"}, headers=ministry)
    assert refused.status_code == 422
    assert refused.json()["code"] == "dhis2-mapping-incomplete"
    assert refused.json()["missing"] == [f"dataElements: {keys[0]}"]
    mapping_file.write_text(json.dumps(mapping))
    exported = await client.get(path, params={"format": "dhis2"}, headers=ministry)
    assert exported.status_code == 200, exported.text
    payload = exported.json()
    assert payload["period"] == "202610" and payload["dataValues"]
    # the example mapping shipped with the service covers the whole report
    example = EXAMPLE_MAPPING
    app.state.context.reports.dhis2_mapping_path = example
    assert (await client.get(path, params={"format": "dhis2"}, headers=ministry)).status_code == 200
    assert all(v["value"].replace(".", "").isdigit() for v in payload["dataValues"])


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/reports/wilaya", {"from": "2026-10-10", "to": "2026-10-01"}, 422, "impossible-period"),
        ("/reports/wilaya", {"from": "2026-12-01", "to": "2026-12-31"}, 422, "impossible-period"),
        ("/reports/wilaya", {"from": "2024-01-01", "to": "2026-10-01"}, 422, "impossible-period"),
        ("/reports/wilaya/monthly/2026-13", {}, 422, "impossible-period"),
        ("/reports/wilaya/daily/2026-02-30", {}, 422, "invalid-input"),
        (
            "/reports/wilaya/monthly/2026-10",
            {"facility_id": "31-PC-999"},
            404,
            "unknown-establishment",
        ),
        ("/reports/wilaya/monthly/2026-10", {"facility_id": "Lotfi"}, 422, "invalid-input"),
        ("/reports/wilaya/monthly/2026-10", {"format": "docx"}, 422, "unknown-format"),
        ("/reports/wilaya/monthly/2026-10", {"format": "dhis2"}, 422, "unknown-format"),
        ("/reports/wilaya/monthly/2026-10", {"lang": "en"}, 422, "invalid-input"),
    ],
)
async def test_bad_requests_get_a_problem_and_change_nothing(
    reporting_app: tuple[FastAPI, httpx.AsyncClient],
    reporting_settings: ReportingSettings,
    group: dict[str, str],
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
) -> None:
    _, client = reporting_app
    response = await client.get(path, params=params, headers={**group, "Accept-Language": "ar"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (
        problem["code"] == code
        and problem["detail"] == problem["detail_ar"]
        and problem["detail_fr"] not in ("", code)
        and "{" not in problem["detail_fr"] + problem["detail_ar"]
    )
    assert "Traceback" not in response.text
    assert await query(reporting_settings, "SELECT * FROM report_revisions") == []


async def test_roles_the_ministry_sees_only_its_report(
    reporting_app: tuple[FastAPI, httpx.AsyncClient],
    mint: object,
    ministry: dict[str, str],
    it_unit: dict[str, str],
) -> None:
    _, client = reporting_app
    wilaya = "/reports/wilaya/monthly/2026-10"
    assert (await client.get(wilaya)).status_code == 401
    assert (await client.get(wilaya, headers=ministry)).json()["code"] == "role-forbidden"
    assert (await client.get("/rollout", headers=ministry)).status_code == 403
    assert (await client.get("/monitor/status", headers=ministry)).status_code == 403
    assert (
        await client.get("/reports/ministry/monthly/2026-10", headers=ministry)
    ).status_code == 200
    assert (
        await client.get("/reports/ministry/monthly/2026-10", headers=it_unit)
    ).status_code == 403
    assert (await client.get(wilaya, headers=it_unit)).status_code == 200
    local = bearer(mint(Role.wilaya_group, establishments=["31-PC-001"]))  # type: ignore[operator]
    assert (await client.get(wilaya, headers=local)).json()["code"] == "wilaya-scope-required"
    own = await client.get(wilaya, params={"facility_id": "31-PC-001"}, headers=local)
    assert own.status_code == 200 and own.json()["report"]["status"] == "on_demand"
    other = await client.get(wilaya, params={"facility_id": "31-PC-002"}, headers=local)
    assert other.json()["code"] == "establishment-forbidden"


async def test_inspections_are_validated(
    reporting_app: tuple[FastAPI, httpx.AsyncClient], group: dict[str, str], it_unit: dict[str, str]
) -> None:
    _, client = reporting_app
    body = {
        "facility_id": "31-PC-001",
        "visited_on": "2026-11-06",
        "inspector": "Équipe DSP",
        "equipped": True,
        "system_in_use": False,
    }
    assert (await client.post("/inspections", json=body, headers=it_unit)).status_code == 403
    future = await client.post(
        "/inspections", json={**body, "visited_on": "2026-12-25"}, headers=group
    )
    assert future.status_code == 422 and future.json()["code"] == "inspection-in-future"
    unknown = await client.post(
        "/inspections", json={**body, "facility_id": "31-PC-999"}, headers=group
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown-establishment"
    assert (await client.post("/inspections", json=body, headers=group)).status_code == 201
    listed = (await client.get("/inspections", headers=group)).json()
    assert [(i["facility_id"], i["equipped"], i["system_in_use"]) for i in listed] == [
        ("31-PC-001", True, False)
    ]
