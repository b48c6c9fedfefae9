"""What the routes and pages show of products and prescriptions (no patient data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sihha_kit.i18n import N_, Catalogue
from sihha_queue.domain.nomenclature import Product
from sihha_queue.domain.prescription import Prescription
from sihha_queue.domain.prescription_warnings import Warning

#: the status of a prescription as people read it (`Prescription.state_at`)
STATUS_TEXTS = {
    "active": N_("prescription.status.active"),
    "partially_dispensed": N_("prescription.status.partially_dispensed"),
    "dispensed": N_("prescription.status.dispensed"),
    "cancelled": N_("prescription.status.cancelled"),
    "expired": N_("prescription.status.expired"),
}


def product_view(product: Product) -> dict[str, Any]:
    return {
        "registration": product.registration,
        "code": product.code,
        "dci": product.dci,
        "brand": product.brand,
        "form": product.form,
        "dosage": product.dosage,
        "packaging": product.packaging,
        "list_class": product.list_class.value,
        "community": product.community,
        "substances": list(product.substances),
    }


def warning_view(warning: Warning, catalogue: Catalogue) -> dict[str, Any]:
    message = warning.message()
    return {**warning.as_dict(), "text": catalogue.both(message.key, **message.params)}


def prescription_view(
    prescription: Prescription, now: datetime, catalogue: Catalogue, *, code: str | None = None
) -> dict[str, Any]:
    return {
        "prescription_id": str(prescription.prescription_id),
        "facility_id": prescription.facility_id,
        "visit_id": str(prescription.visit_id),
        "ticket_id": str(prescription.ticket_id) if prescription.ticket_id else None,
        "status": prescription.state_at(now),
        "issued_at": prescription.issued_at.isoformat(),
        "valid_until": prescription.valid_until.isoformat(),
        "edition_id": prescription.edition_id,
        "code": code,
        "lines": [
            {
                "line_no": line.line_no,
                "coded_by": line.item.coded_by.value,
                "code": line.item.code,
                "registration": line.item.registration,
                "dci": line.item.dci,
                "brand": line.item.brand,
                "form": line.item.form,
                "dosage": line.item.dosage,
                "list_class": line.item.list_class.value,
                "substances": list(line.item.substances),
                "dose": f"{line.dose.normalize():f}",
                "dose_unit": line.dose_unit.value,
                "route": line.route.value,
                "frequency_per_day": line.frequency_per_day,
                "duration_days": line.duration_days,
                "quantity": line.quantity,
                "quantity_in_words": line.quantity_in_words,
                "renewals": line.renewals,
                "instructions": line.instructions,
                "dispensed_quantity": line.dispensed_quantity,
                "remaining": line.remaining,
            }
            for line in prescription.lines
        ],
        "overrides": [
            {**warning_view(o.warning, catalogue), "reason": o.reason}
            for o in prescription.overrides
        ],
        "dispenses": [
            {
                "dispense_id": str(d.dispense_id),
                "pharmacy_id": d.pharmacy_id,
                "dispensed_at": d.dispensed_at.isoformat(),
                "items": [
                    {
                        "line_no": i.line_no,
                        "quantity": i.quantity,
                        "registration": i.registration,
                        "code": i.code,
                        "brand": i.brand,
                        "substituted": i.substituted,
                    }
                    for i in d.items
                ],
            }
            for d in prescription.dispenses
        ],
    }
