"""A prescription as FHIR resources: one ``MedicationRequest`` per line and one
``MedicationDispense`` per line of each dispense, in a ``collection`` Bundle.

FHIR R4 (4.0.1). The models that validate them are ``fhir.resources``' R4B
(4.3.0) ones: the package's only R4 line (6.0–6.1) requires pydantic 1, and R4B's
MedicationRequest and MedicationDispense have the same elements, cardinalities and
value sets as R4's (R4B changed the medication-definition, evidence and subscription
resources). Every resource built here is validated before it is returned.

Codes: the national nomenclature's CODE (``01 A 003``) in the code system
``https://sihha.sante.dz/fhir/CodeSystem/nomenclature-dz``; the patient only by the
pseudonymous key (or, without one, the visit); staff by their token subject.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from sihha_queue.domain.prescription import (
    DispensedItem,
    Prescription,
    PrescriptionLine,
)

BASE = "https://sihha.sante.dz/fhir"
NOMENCLATURE_SYSTEM = f"{BASE}/CodeSystem/nomenclature-dz"
REGISTRATION_SYSTEM = f"{BASE}/NamingSystem/registration-dz"
PRESCRIPTION_SYSTEM = f"{BASE}/NamingSystem/prescription"
PATIENT_KEY_SYSTEM = f"{BASE}/NamingSystem/patient-key"
VISIT_SYSTEM = f"{BASE}/NamingSystem/visit"
STAFF_SYSTEM = f"{BASE}/NamingSystem/staff-subject"
ESTABLISHMENT_SYSTEM = f"{BASE}/NamingSystem/establishment"
UCUM = "http://unitsofmeasure.org"
ROUTES = {
    # SNOMED CT route of administration codes (the FHIR example value set)
    "oral": ("26643006", "Oral route"),
    "sublingual": ("37839007", "Sublingual route"),
    "rectal": ("37161004", "Rectal route"),
    "cutaneous": ("6064005", "Topical route"),
    "nasal": ("46713006", "Nasal route"),
    "inhaled": ("18679011000001101", "Inhalation"),
    "ophthalmic": ("54485002", "Ophthalmic route"),
    "auricular": ("10547007", "Otic route"),
    "vaginal": ("16857009", "Vaginal route"),
    "intravenous": ("47625008", "Intravenous route"),
    "intramuscular": ("78421000", "Intramuscular route"),
    "subcutaneous": ("34206005", "Subcutaneous route"),
}
_STATUS = {
    "active": "active",
    "partially_dispensed": "active",
    "dispensed": "completed",
    "cancelled": "cancelled",
    "expired": "stopped",
}


def _medication(
    code: str, display: str, registration: str | None, brand: str | None
) -> dict[str, Any]:
    coding = [{"system": NOMENCLATURE_SYSTEM, "code": code, "display": display}]
    if registration:
        coding.append({"system": REGISTRATION_SYSTEM, "code": registration, "display": brand or ""})
    return {"coding": coding, "text": brand or display}


def _subject(prescription: Prescription) -> dict[str, Any]:
    if prescription.patient_key:
        return {"identifier": {"system": PATIENT_KEY_SYSTEM, "value": prescription.patient_key}}
    return {"identifier": {"system": VISIT_SYSTEM, "value": str(prescription.visit_id)}}


def request_id(prescription: Prescription, line: PrescriptionLine) -> str:
    return f"{prescription.prescription_id}-{line.line_no}"


def medication_request(
    prescription: Prescription, line: PrescriptionLine, status: str
) -> dict[str, Any]:
    item = line.item
    code, display = ROUTES[line.route.value]
    days = {"value": line.duration_days, "unit": "d", "system": UCUM, "code": "d"}
    return {
        "resourceType": "MedicationRequest",
        "id": request_id(prescription, line),
        "identifier": [
            {
                "system": PRESCRIPTION_SYSTEM,
                "value": f"{prescription.prescription_id}/{line.line_no}",
            }
        ],
        "groupIdentifier": {
            "system": PRESCRIPTION_SYSTEM,
            "value": str(prescription.prescription_id),
        },
        "status": _STATUS[status],
        "intent": "order",
        "medicationCodeableConcept": _medication(
            item.code, f"{item.dci} {item.form} {item.dosage}", item.registration, item.brand
        ),
        "subject": _subject(prescription),
        "encounter": {"identifier": {"system": VISIT_SYSTEM, "value": str(prescription.visit_id)}},
        "authoredOn": prescription.issued_at.isoformat(),
        "requester": {"identifier": {"system": STAFF_SYSTEM, "value": prescription.prescriber}},
        "dosageInstruction": [
            {
                "sequence": 1,
                **({"patientInstruction": line.instructions} if line.instructions else {}),
                "timing": {
                    "repeat": {
                        "frequency": line.frequency_per_day,
                        "period": 1,
                        "periodUnit": "d",
                        "boundsDuration": days,
                    }
                },
                "route": {
                    "coding": [
                        {"system": "http://snomed.info/sct", "code": code, "display": display}
                    ],
                    "text": line.route.value,
                },
                "doseAndRate": [
                    {"doseQuantity": {"value": float(line.dose), "unit": line.dose_unit.value}}
                ],
            }
        ],
        "dispenseRequest": {
            "validityPeriod": {
                "start": prescription.issued_at.isoformat(),
                "end": prescription.valid_until.isoformat(),
            },
            "numberOfRepeatsAllowed": line.renewals,
            "quantity": {"value": line.quantity, "unit": "pack"},
            "expectedSupplyDuration": days,
        },
        "substitution": {"allowedBoolean": True},
    }


def medication_dispense(
    prescription: Prescription,
    dispense_id: uuid.UUID,
    pharmacy_id: str,
    at: str,
    item: DispensedItem,
) -> dict[str, Any]:
    line = prescription.line(item.line_no)
    resource: dict[str, Any] = {
        "resourceType": "MedicationDispense",
        "id": f"{dispense_id}-{item.line_no}",
        "status": "completed",
        "medicationCodeableConcept": _medication(
            item.code,
            f"{line.item.dci} {line.item.form} {line.item.dosage}",
            item.registration,
            item.brand,
        ),
        "subject": _subject(prescription),
        "performer": [
            {"actor": {"identifier": {"system": ESTABLISHMENT_SYSTEM, "value": pharmacy_id}}}
        ],
        "authorizingPrescription": [
            {"reference": f"MedicationRequest/{request_id(prescription, line)}"}
        ],
        "quantity": {"value": item.quantity, "unit": "pack"},
        "whenHandedOver": at,
        "substitution": {"wasSubstituted": item.substituted},
    }
    return resource


def prescription_bundle(prescription: Prescription, status: str) -> dict[str, Any]:
    """The prescription's FHIR Bundle, validated; `status` is `Prescription.state_at`."""
    entries = [medication_request(prescription, line, status) for line in prescription.lines]
    for dispense in prescription.dispenses:
        for item in dispense.items:
            entries.append(
                medication_dispense(
                    prescription,
                    dispense.dispense_id,
                    dispense.pharmacy_id,
                    dispense.dispensed_at.isoformat(),
                    item,
                )
            )
    data = {
        "resourceType": "Bundle",
        "id": str(prescription.prescription_id),
        "type": "collection",
        "timestamp": prescription.issued_at.isoformat(),
        "entry": [
            {"fullUrl": f"{BASE}/{e['resourceType']}/{e['id']}", "resource": e} for e in entries
        ],
    }
    bundle = Bundle.model_validate(data)
    return json.loads(bundle.model_dump_json(exclude_none=True))
