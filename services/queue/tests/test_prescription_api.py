"""The electronic prescription through the HTTP API, on the real database: written
during a served visit, checked, signed with warnings overridden, verified and dispensed
by a pharmacy (partially, with a substitution, concurrently), cancelled, expired; its
FHIR resources validated by fhir.resources; its PDF; its events in the outbox."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from sihha_kit.auth import Role
from sihha_kit.clock import ALGIERS
from sihha_kit.testing.apps import FixedClock, running
from sihha_kit.testing.plugin import bearer
from sihha_queue.adapters.nomenclature_import import excerpt_bytes, synthetic_edition
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings
from sihha_queue.context import QueueContext
from sihha_queue.domain import prescription_code
from sihha_queue.service_layer.prescriptions import import_nomenclature

pytestmark = pytest.mark.integration

CLINIC = "31-PC-001"
OTHER = "31-PC-002"
PHARMACY = "31-OFF-0001"
PHARMACY_2 = "31-OFF-0002"
FAR_PHARMACY = "16-OFF-0001"
NIN = "109870123456789012"

DOLI_BIEN = "318/03 B 005/16/23"  # paracetamol 500 mg tablet, no list
DOLYC = "268/03 B 005/06/21"  # another brand of the same code (03 B 005)
COEXPANDOL = "235/03 B 026/16/25"  # paracetamol 400 mg / codeine 20 mg, Liste I
DOLEX = "268/03 F 047/12/22"  # tramadol 50 mg capsule, Liste I
BUPRENAL = "003/03 F 013/09/24"  # buprenorphine injectable, Liste I
SKENAN = "017/03 B 119/14"  # morphine 10 mg LP, stupéfiant
ADFEN = "470/04 B 010/20/25"  # ibuprofen 400 mg, another code


def line(registration: str | None = None, code: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dose": 1,
        "dose_unit": "tablet",
        "route": "oral",
        "frequency_per_day": 3,
        "duration_days": 5,
        "quantity": 2,
    }
    if registration:
        body["registration"] = registration
    if code:
        body["code"] = code
    return {**body, **extra}


@dataclass
class Clinic:
    client: httpx.AsyncClient
    context: QueueContext
    clock: FixedClock
    doctor: dict[str, str]
    pharmacist: dict[str, str]
    pharmacist_2: dict[str, str]
    reception: dict[str, str]

    async def served_ticket(self, nin: str | None = None) -> str:
        body: dict[str, Any] = {"service_code": "MG"}
        if nin:
            body["nin"] = nin
        issued = await self.client.post(
            f"/establishments/{CLINIC}/tickets", json=body, headers=self.reception
        )
        assert issued.status_code == 201, issued.text
        counter = uuid.uuid5(uuid.NAMESPACE_URL, f"sihha:{CLINIC}:MG:1")
        called = await self.client.post(
            f"/establishments/{CLINIC}/counters/{counter}/call-next", headers=self.doctor
        )
        assert called.status_code == 200, called.text
        ticket_id = called.json()["ticket"]["ticket_id"]
        started = await self.client.post(
            f"/establishments/{CLINIC}/tickets/{ticket_id}/start", headers=self.doctor
        )
        assert started.status_code == 200, started.text
        return str(ticket_id)

    async def finish(self, ticket_id: str) -> None:
        done = await self.client.post(
            f"/establishments/{CLINIC}/tickets/{ticket_id}/complete", headers=self.doctor
        )
        assert done.status_code == 200, done.text

    async def prescribe(
        self, ticket_id: str, lines: list[dict[str, Any]], expect: int = 201, **extra: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"/establishments/{CLINIC}/prescriptions",
            json={"ticket_id": ticket_id, "lines": lines, **extra},
            headers=self.doctor,
        )
        assert response.status_code == expect, response.text
        return dict(response.json())

    async def dispense(
        self,
        code: str,
        items: list[dict[str, Any]],
        expect: int = 201,
        pharmacy: str = PHARMACY,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"/pharmacies/{pharmacy}/dispenses",
            json={"code": code, "items": items},
            headers=headers or self.pharmacist,
        )
        assert response.status_code == expect, response.text
        return dict(response.json())


@pytest.fixture
async def clinic(
    queue_settings: QueueSettings, mint: Callable[..., str], tmp_path: Path
) -> AsyncIterator[Clinic]:
    clock = FixedClock(datetime(2026, 11, 25, 9, 0, tzinfo=ALGIERS))
    settings = queue_settings.model_copy(update={"prescription_keys_dir": tmp_path / "keys"})
    app = create_app(settings, clock=clock)
    async with running(app) as client:
        context: QueueContext = app.state.context
        await import_nomenclature(context.uow(), excerpt_bytes(), clock())
        yield Clinic(
            client,
            context,
            clock,
            doctor=bearer(mint(Role.doctor, establishments=[CLINIC], subject="doctor:dr-31-0042")),
            pharmacist=bearer(mint(Role.pharmacist, establishments=[PHARMACY], subject="ph:1")),
            pharmacist_2=bearer(mint(Role.pharmacist, establishments=[PHARMACY_2], subject="ph:2")),
            reception=bearer(mint(Role.receptionist, establishments=[CLINIC])),
        )


async def outbox(context: QueueContext, event_type: str) -> list[dict[str, Any]]:
    async with context.runtime.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT body FROM outbox WHERE event_type = :t ORDER BY id"), {"t": event_type}
        )
        return [json.loads(bytes(r.body)) for r in rows]


async def test_a_doctor_signs_with_warnings_overridden_and_a_pharmacy_dispenses(
    clinic: Clinic,
) -> None:
    ticket = await clinic.served_ticket(nin=NIN)
    lines = [
        line(DOLI_BIEN, dose=2, frequency_per_day=4),  # paracetamol 4 g a day
        line(COEXPANDOL, dose=2, frequency_per_day=3),  # + 2.4 g paracetamol, codeine
        line(DOLEX, dose=1, frequency_per_day=2, instructions="au coucher"),  # tramadol
        line(BUPRENAL, dose=1, dose_unit="ml", route="intramuscular", frequency_per_day=1),
    ]
    checked = await clinic.client.post(
        f"/establishments/{CLINIC}/prescriptions/check",
        json={"ticket_id": ticket, "lines": lines},
        headers=clinic.doctor,
    )
    assert checked.status_code == 200, checked.text
    warnings = {w["key"]: w for w in checked.json()["warnings"]}
    assert set(warnings) == {
        "duplicate-dci:PARACETAMOL",
        "dose:PARACETAMOL",
        "interaction:opioid-agonist-mixed-agonist-antagonist:BUPRENORPHINE+CODEINE",
        "interaction:opioid-agonist-mixed-agonist-antagonist:BUPRENORPHINE+TRAMADOL",
    }
    dose = warnings["dose:PARACETAMOL"]
    assert dose["params"] == {"substance": "PARACETAMOL", "daily_mg": "6400", "max_mg": "4000"}
    assert "6400 mg" in dose["text"]["fr"] and "6400" in dose["text"]["ar"]
    assert (
        "sevrage"
        in warnings["interaction:opioid-agonist-mixed-agonist-antagonist:BUPRENORPHINE+TRAMADOL"][
            "text"
        ]["fr"]
    )

    # signing without overriding every warning is refused, and writes nothing
    pending = await clinic.prescribe(ticket, lines, expect=409)
    assert pending["code"] == "prescription-warnings-pending"
    assert {w["key"] for w in pending["warnings"]} == set(warnings)
    assert pending["detail_ar"] and pending["detail_fr"]
    assert await outbox(clinic.context, "queue.prescription.issued") == []

    overrides = [
        {"key": key, "reason": "douleur post-opératoire, surveillance"} for key in warnings
    ]
    issued = await clinic.prescribe(ticket, lines, overrides=overrides)
    assert issued["status"] == "active"
    assert len(issued["overrides"]) == 4
    assert {o["reason"] for o in issued["overrides"]} == {"douleur post-opératoire, surveillance"}
    code = issued["code"]
    assert code.startswith("RX1.")
    # Liste I and the default validity: 90 days
    assert issued["valid_until"].startswith("2027-02-23")

    # the event: DCIs and quantities, the pseudonymous key, nothing else about the patient
    [event] = await outbox(clinic.context, "queue.prescription.issued")
    payload = event["payload"]
    assert payload["line_count"] == 4
    assert payload["drug_codes"] == ["03 B 005", "03 B 026", "03 F 047", "03 F 013"]
    assert payload["lines"][1]["substances"] == ["PARACETAMOL", "CODEINE"]
    assert payload["lines"][1]["list_class"] == "list_i"
    assert payload["warnings_overridden"] == 4
    assert sorted(payload["warning_kinds"]) == [
        "dose-above-maximum",
        "duplicate-dci",
        "interaction",
    ]
    assert len(payload["patient_key"]) == 64 and NIN not in json.dumps(event)

    # a pharmacy of the wilaya verifies the code: the lines and what remains
    verified = await clinic.client.post(
        f"/pharmacies/{PHARMACY}/prescriptions/verify",
        json={"code": code},
        headers=clinic.pharmacist,
    )
    assert verified.status_code == 200, verified.text
    assert [ln["remaining"] for ln in verified.json()["lines"]] == [2, 2, 2, 2]

    # partial dispense: one box of line 1, substituted by another brand of the same code
    partial = await clinic.dispense(
        code, [{"line_no": 1, "quantity": 1, "registration": DOLYC}, {"line_no": 3, "quantity": 2}]
    )
    assert partial["status"] == "partially_dispensed"
    assert [ln["remaining"] for ln in partial["lines"]] == [1, 2, 0, 2]
    [dispense] = partial["dispenses"]
    assert dispense["items"][0]["substituted"] is True and dispense["items"][0]["brand"] == "DOLYC"
    assert dispense["items"][1]["substituted"] is False

    # refused, changing nothing: above what remains, zero, another DCI/form/dosage
    above = await clinic.dispense(code, [{"line_no": 3, "quantity": 1}], expect=409)
    assert above["code"] == "dispense-above-remaining"
    assert above["remaining"] == 0
    zero = await clinic.dispense(code, [{"line_no": 1, "quantity": 0}], expect=422)
    assert zero["code"] == "quantity-not-positive"
    other = await clinic.dispense(
        code, [{"line_no": 1, "quantity": 1, "registration": ADFEN}], expect=422
    )
    assert other["code"] == "substitution-not-equivalent"

    # the rest, at another pharmacy: fully dispensed
    full = await clinic.dispense(
        code,
        [
            {"line_no": 1, "quantity": 1},
            {"line_no": 2, "quantity": 2},
            {"line_no": 4, "quantity": 2},
        ],
        pharmacy=PHARMACY_2,
        headers=clinic.pharmacist_2,
    )
    assert full["status"] == "dispensed"
    again = await clinic.dispense(code, [{"line_no": 1, "quantity": 1}], expect=409)
    assert again["code"] == "prescription-already-dispensed"
    dispensed = await outbox(clinic.context, "queue.prescription.dispensed")
    assert [e["payload"]["fully_dispensed"] for e in dispensed] == [False, True]
    assert dispensed[0]["payload"]["lines"][0] == {
        "drug_code": "03 B 005",
        "substances": ["PARACETAMOL"],
        "quantity": 1,
        "quantity_remaining": 1,
        "substituted": True,
    }
    assert dispensed[1]["payload"]["dispensing_facility_id"] == PHARMACY_2

    # FHIR R4: one MedicationRequest per line, one MedicationDispense per dispensed line
    fhir = await clinic.client.get(
        f"/establishments/{CLINIC}/prescriptions/{issued['prescription_id']}/fhir",
        headers=clinic.doctor,
    )
    assert fhir.status_code == 200
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(fhir.json())
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert kinds.count("MedicationRequest") == 4 and kinds.count("MedicationDispense") == 5
    request = fhir.json()["entry"][0]["resource"]
    assert request["status"] == "completed"
    assert request["dispenseRequest"]["validityPeriod"]["end"].startswith("2027-02-2")
    assert request["medicationCodeableConcept"]["coding"][0]["code"] == "03 B 005"
    assert request["subject"]["identifier"]["value"] == payload["patient_key"]
    substituted = [
        e["resource"]
        for e in fhir.json()["entry"]
        if e["resource"]["resourceType"] == "MedicationDispense"
        and e["resource"]["substitution"]["wasSubstituted"]
    ]
    assert len(substituted) == 1

    # the printable prescription, in both languages
    for lang in ("fr", "ar"):
        pdf = await clinic.client.get(
            f"/establishments/{CLINIC}/prescriptions/{issued['prescription_id']}/pdf?lang={lang}",
            headers=clinic.doctor,
        )
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-type"] == "application/pdf"


async def test_a_tampered_or_forged_code_is_refused(
    clinic: Clinic, mint: Callable[..., str]
) -> None:
    ticket = await clinic.served_ticket()
    issued = await clinic.prescribe(ticket, [line(DOLI_BIEN)])
    code = issued["code"]
    prefix, payload, signature = code.split(".")
    # one character of the payload changed (another prescription id, say)
    tampered = f"{prefix}.{payload[:5]}{'A' if payload[5] != 'A' else 'B'}{payload[6:]}.{signature}"
    # the same fields signed by a key that is not the establishment's
    fields, _, _ = prescription_code.read(code)
    forged = prescription_code.sign(fields, Ed25519PrivateKey.generate())
    for bad, problem in (
        (tampered, "prescription-code-invalid"),
        (forged, "prescription-code-invalid"),
        ("RX1.not-base64!.x", "prescription-code-malformed"),
    ):
        response = await clinic.client.post(
            f"/pharmacies/{PHARMACY}/prescriptions/verify",
            json={"code": bad},
            headers=clinic.pharmacist,
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == problem
        assert response.json()["detail_ar"]
        refused = await clinic.dispense(bad, [{"line_no": 1, "quantity": 1}], expect=422)
        assert refused["code"] == problem
    # offline: the public key alone verifies the genuine code
    keys = await clinic.client.get("/prescription-keys", headers=clinic.pharmacist)
    assert CLINIC in keys.json()
    public = clinic.context.prescription_keys.public_keys()
    assert prescription_code.verify(code, public).prescription_id == uuid.UUID(
        issued["prescription_id"]
    )
    # a pharmacy of another wilaya is refused
    far = await clinic.client.post(
        f"/pharmacies/{FAR_PHARMACY}/prescriptions/verify",
        json={"code": code},
        headers=bearer(mint(Role.pharmacist, establishments=[FAR_PHARMACY])),
    )
    assert far.status_code == 403 and far.json()["code"] == "prescription-other-wilaya"


async def test_two_pharmacies_at_the_same_moment_never_exceed_the_quantity(clinic: Clinic) -> None:
    ticket = await clinic.served_ticket()
    issued = await clinic.prescribe(ticket, [line(DOLI_BIEN, quantity=3)])
    code = issued["code"]

    async def attempt(pharmacy: str, headers: dict[str, str]) -> httpx.Response:
        return await clinic.client.post(
            f"/pharmacies/{pharmacy}/dispenses",
            json={"code": code, "items": [{"line_no": 1, "quantity": 2}]},
            headers=headers,
        )

    for _ in range(3):
        results = await asyncio.gather(
            attempt(PHARMACY, clinic.pharmacist), attempt(PHARMACY_2, clinic.pharmacist_2)
        )
        statuses = sorted(r.status_code for r in results)
        if statuses != [201, 409]:
            break
        # put the line back for another round only through a new prescription
        issued = await clinic.prescribe(ticket, [line(DOLI_BIEN, quantity=3)])
        code = issued["code"]
    assert statuses == [201, 409], [r.text for r in results]
    async with clinic.context.runtime.engine.connect() as connection:
        total = (
            await connection.execute(
                text("SELECT sum(dispensed_quantity), sum(quantity) FROM prescription_lines")
            )
        ).one()
    assert total[0] <= total[1]

    # the database itself refuses a total above the prescribed quantity
    async with clinic.context.runtime.engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await connection.execute(
                text(
                    "UPDATE prescription_lines SET dispensed_quantity = dispensed_quantity + 5 "
                    "WHERE prescription_id = :p"
                ),
                {"p": uuid.UUID(issued["prescription_id"])},
            )


async def test_rules_of_the_lists_and_bad_input_are_refused(clinic: Clinic) -> None:
    ticket = await clinic.served_ticket()
    narcotic = line(SKENAN, dose=1, dose_unit="capsule", frequency_per_day=2)

    async def refused(
        lines: list[dict[str, Any]], status: int, problem: str, **extra: Any
    ) -> dict[str, Any]:
        body = await clinic.prescribe(ticket, lines, expect=status, **extra)
        assert body["code"] == problem, body
        assert body["detail_fr"] and body["detail_ar"]
        return body

    await refused([narcotic], 422, "quantity-in-words-required")
    narcotic["quantity_in_words"] = "deux boîtes"
    over = await refused([{**narcotic, "duration_days": 30}], 422, "duration-above-maximum")
    assert over["max_duration_days"] == 28
    await refused([{**narcotic, "renewals": 1}], 422, "renewal-not-allowed")
    await refused([narcotic], 422, "validity-above-maximum", validity_days=10)
    ok = await clinic.prescribe(ticket, [narcotic])
    assert ok["valid_until"].startswith("2026-11-28")  # a narcotic prescription: 3 days
    await refused([line(DOLI_BIEN, quantity=0)], 422, "quantity-not-positive")
    await refused([line("999/03 B 005/20")], 422, "product-not-in-edition")
    await refused([line(code="09 Z 999")], 422, "dci-code-not-in-edition")
    await refused([line(DOLI_BIEN, code="03 B 005")], 422, "prescription-line-coding")
    await refused(
        [line(DOLI_BIEN)],
        422,
        "override-unknown",
        overrides=[{"key": "dose:X", "reason": "because"}],
    )
    await refused([line(DOLI_BIEN, renewals=12)], 422, "too-many-renewals")
    # a DCI line: any brand of the code, the pharmacy chooses (and must say which)
    by_dci = await clinic.prescribe(ticket, [line(code="03 B 005")])
    assert by_dci["lines"][0]["coded_by"] == "dci" and by_dci["lines"][0]["brand"] is None
    needs = await clinic.dispense(by_dci["code"], [{"line_no": 1, "quantity": 1}], expect=422)
    assert needs["code"] == "dispense-product-required"
    chose = await clinic.dispense(
        by_dci["code"], [{"line_no": 1, "quantity": 1, "registration": DOLYC}]
    )
    assert chose["dispenses"][0]["items"][0]["substituted"] is False
    # nothing about these refusals reached the outbox
    issued = await outbox(clinic.context, "queue.prescription.issued")
    assert len(issued) == 2


async def test_roles_and_establishments(clinic: Clinic, mint: Callable[..., str]) -> None:
    ticket = await clinic.served_ticket()
    body = {"ticket_id": ticket, "lines": [line(DOLI_BIEN)]}
    for headers, status in (
        (clinic.pharmacist, 403),
        (clinic.reception, 403),
        (bearer(mint(Role.doctor, establishments=[OTHER])), 403),
        ({}, 401),
    ):
        response = await clinic.client.post(
            f"/establishments/{CLINIC}/prescriptions", json=body, headers=headers
        )
        assert response.status_code == status, response.text
    issued = await clinic.prescribe(ticket, [line(DOLI_BIEN)])
    # a doctor dispenses nothing; a pharmacist reads nothing by id
    denied = await clinic.client.post(
        f"/pharmacies/{PHARMACY}/dispenses",
        json={"code": issued["code"], "items": [{"line_no": 1, "quantity": 1}]},
        headers=clinic.doctor,
    )
    assert denied.status_code == 403
    by_id = await clinic.client.get(
        f"/establishments/{CLINIC}/prescriptions/{issued['prescription_id']}",
        headers=clinic.pharmacist,
    )
    assert by_id.status_code == 403
    # a pharmacist acts only for their own pharmacy
    elsewhere = await clinic.dispense(
        issued["code"], [{"line_no": 1, "quantity": 1}], expect=403, pharmacy=PHARMACY_2
    )
    assert elsewhere["code"] == "establishment-forbidden"
    search = await clinic.client.get("/nomenclature/search?q=x", headers=clinic.reception)
    assert search.status_code == 403


async def test_cancelled_and_expired_prescriptions_are_refused(clinic: Clinic) -> None:
    ticket = await clinic.served_ticket()
    first = await clinic.prescribe(ticket, [line(DOLI_BIEN)])
    cancel = f"/establishments/{CLINIC}/prescriptions/{first['prescription_id']}/cancel"
    cancelled = await clinic.client.post(
        cancel, json={"reason": "issued_in_error"}, headers=clinic.doctor
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    refused = await clinic.dispense(first["code"], [{"line_no": 1, "quantity": 1}], expect=409)
    assert refused["code"] == "prescription-cancelled"
    [event] = await outbox(clinic.context, "queue.prescription.cancelled")
    assert event["payload"]["reason"] == "issued_in_error" and event["payload"]["lines"]

    second = await clinic.prescribe(ticket, [line(DOLI_BIEN)])
    await clinic.dispense(second["code"], [{"line_no": 1, "quantity": 1}])
    again = await clinic.client.post(
        f"/establishments/{CLINIC}/prescriptions/{second['prescription_id']}/cancel",
        json={"reason": "issued_in_error"},
        headers=clinic.doctor,
    )
    assert again.status_code == 409 and again.json()["code"] == "prescription-not-cancellable"

    clinic.clock.advance(days=91)
    expired = await clinic.dispense(second["code"], [{"line_no": 1, "quantity": 1}], expect=409)
    assert expired["code"] == "prescription-expired"
    shown = await clinic.client.get(
        f"/establishments/{CLINIC}/prescriptions/{second['prescription_id']}", headers=clinic.doctor
    )
    assert shown.json()["status"] == "expired"


async def test_the_same_dci_on_another_active_prescription_is_a_warning(clinic: Clinic) -> None:
    ticket = await clinic.served_ticket(nin=NIN)
    await clinic.prescribe(ticket, [line(DOLI_BIEN)])
    await clinic.finish(ticket)
    later = await clinic.served_ticket(nin=NIN)
    pending = await clinic.prescribe(later, [line(COEXPANDOL)], expect=409)
    assert [w["key"] for w in pending["warnings"]] == ["duplicate-active:PARACETAMOL"]
    await clinic.finish(later)
    # another patient (no NIN given): no such warning
    stranger = await clinic.served_ticket()
    await clinic.prescribe(stranger, [line(COEXPANDOL)])


async def test_a_later_edition_withdraws_products_and_old_prescriptions_stay_readable(
    clinic: Clinic,
) -> None:
    ticket = await clinic.served_ticket()
    before = await clinic.prescribe(ticket, [line(DOLI_BIEN)])
    # the next edition (dated later) leaves out every 10th product of the excerpt
    later = synthetic_edition(386, withdraw_every=10).replace(b"30 JUIN 2026", b"31 DECEMBRE 2026")
    report = await import_nomenclature(clinic.context.uow(), later, clinic.clock())
    assert report.changes is not None and len(report.changes.withdrawn) == 39
    # the same file again is not a new edition
    again = await import_nomenclature(clinic.context.uow(), later, clinic.clock())
    assert again.already_imported and again.edition_id == report.edition_id
    editions = await clinic.client.get("/nomenclature/editions", headers=clinic.doctor)
    assert [e["published_on"] for e in editions.json()] == ["2026-12-31", "2026-06-30"]
    assert editions.json()[0]["changes"]["withdrawn"] == 39

    withdrawn = await clinic.prescribe(ticket, [line("352/01 A 003/06/22")], expect=422)
    assert withdrawn["code"] == "product-withdrawn"
    old = await clinic.client.get(
        f"/establishments/{CLINIC}/prescriptions/{before['prescription_id']}", headers=clinic.doctor
    )
    assert (
        old.json()["lines"][0]["brand"] == "DOLI-BIEN"
        and old.json()["edition_id"] == before["edition_id"]
    )

    # a malformed file is refused with its line, importing nothing
    from sihha_kit.errors import DomainProblem

    broken = excerpt_bytes().replace(b"01 A 003;CETIRIZINE", b"1A3;CETIRIZINE", 1)
    with pytest.raises(DomainProblem) as refused:
        await import_nomenclature(clinic.context.uow(), broken, clinic.clock())
    assert refused.value.code == "nomenclature-file-invalid"
    assert refused.value.extra["line"] == 15 and refused.value.extra["reason"] == "bad-code"
    from sihha_kit.i18n import Catalogue

    assert "ligne 15" in refused.value.detail_in("fr", Catalogue.of("sihha_queue"))


async def test_search_as_you_type_ignores_accents_and_case(clinic: Clinic) -> None:
    async def search(q: str) -> list[dict[str, Any]]:
        response = await clinic.client.get(
            "/nomenclature/search", params={"q": q}, headers=clinic.doctor
        )
        assert response.status_code == 200, response.text
        return list(response.json()["products"])

    by_dci = await search("paracétamol")
    assert by_dci and all("PARACETAMOL" in p["substances"] for p in by_dci)
    assert {p["brand"] for p in await search("DOLI")} >= {"DOLI-BIEN"}
    # a word inside the DCI: "CHLORHYDRATE DE TRAMADOL" is found by "tram"
    assert any(p["dci"] == "CHLORHYDRATE DE TRAMADOL" for p in await search("tram"))
    assert await search("zzzz") == []
    brands = await clinic.client.get(
        "/nomenclature/codes/03 B 005/products", headers=clinic.pharmacist
    )
    assert {"DOLI-BIEN", "DOLYC"} <= {p["brand"] for p in brands.json()["products"]}


async def test_the_service_counts_its_prescriptions_for_reconciliation(
    clinic: Clinic, mint: Callable[..., str]
) -> None:
    ticket = await clinic.served_ticket()
    kept = await clinic.prescribe(ticket, [line(DOLI_BIEN), line(DOLEX)])
    dropped = await clinic.prescribe(ticket, [line(DOLI_BIEN)])
    await clinic.dispense(kept["code"], [{"line_no": 1, "quantity": 1}])
    await clinic.dispense(kept["code"], [{"line_no": 2, "quantity": 1}])
    await clinic.client.post(
        f"/establishments/{CLINIC}/prescriptions/{dropped['prescription_id']}/cancel",
        json={"reason": "issued_in_error"},
        headers=clinic.doctor,
    )
    it_unit = bearer(mint(Role.it_unit, establishments=["*"]))
    counts = await clinic.client.get(
        "/counts/prescriptions", params={"from": "2026-11-25", "to": "2026-11-25"}, headers=it_unit
    )
    assert counts.status_code == 200, counts.text
    assert counts.json() == [
        {
            "facility_id": CLINIC,
            "day": "2026-11-25",
            "prescriptions_issued": 2,
            "prescription_lines_issued": 3,
            "prescription_dispenses": 2,
            "prescriptions_cancelled": 1,
        }
    ]
    # the same figures as the events the service sent
    assert len(await outbox(clinic.context, "queue.prescription.dispensed")) == 2
    refused = await clinic.client.get(
        "/counts/prescriptions", params={"from": "2026-11-25", "to": "2026-11-01"}, headers=it_unit
    )
    assert refused.status_code == 422 and refused.json()["code"] == "prescription-counts-period"
    denied = await clinic.client.get(
        "/counts/prescriptions",
        params={"from": "2026-11-25", "to": "2026-11-25"},
        headers=clinic.doctor,
    )
    assert denied.status_code == 403
