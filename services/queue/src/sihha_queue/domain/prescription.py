"""The electronic prescription: written by a doctor during a visit, checked, signed,
then dispensed by pharmacies line by line.

Pure domain. A `Prescription` is frozen once issued (signing is issuing: there is no
editable draft on the server; the doctor's page checks as they type). It records
``queue.prescription.issued``, ``.dispensed`` and ``.cancelled``; the unit of work
writes them to the outbox.

States: ``active`` → ``partially_dispensed`` → ``dispensed``; ``active`` →
``cancelled`` (only before anything was dispensed). A prescription past its
``valid_until`` is *expired*: nothing more is dispensed against it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from sihha_contracts.events.queue import (
    CodedBy,
    DispensedLine,
    ListClass,
    PrescribedLine,
    PrescriptionCancelledV1,
    PrescriptionDispensedV1,
    PrescriptionIssuedV1,
)
from sihha_kit.domain import Aggregate
from sihha_kit.errors import BadRequest, Conflict
from sihha_kit.i18n import N_
from sihha_queue.domain.prescription_warnings import DoseUnit, Warning


class PrescriptionStatus(StrEnum):
    ACTIVE = "active"
    PARTIALLY_DISPENSED = "partially_dispensed"
    DISPENSED = "dispensed"
    CANCELLED = "cancelled"


class Route(StrEnum):
    """Route of administration (the usual routes of a community prescription)."""

    ORAL = "oral"
    SUBLINGUAL = "sublingual"
    RECTAL = "rectal"
    CUTANEOUS = "cutaneous"
    NASAL = "nasal"
    INHALED = "inhaled"
    OPHTHALMIC = "ophthalmic"
    AURICULAR = "auricular"
    VAGINAL = "vaginal"
    INTRAVENOUS = "intravenous"
    INTRAMUSCULAR = "intramuscular"
    SUBCUTANEOUS = "subcutaneous"


@dataclass(frozen=True)
class PrescribedItem:
    """What a line prescribes, copied from the nomenclature edition it was written
    against (the prescription stays readable whatever later editions say)."""

    coded_by: CodedBy
    code: str
    registration: str | None
    dci: str
    brand: str | None
    form: str
    dosage: str
    list_class: ListClass
    substances: tuple[str, ...]


@dataclass
class PrescriptionLine:
    line_no: int
    item: PrescribedItem
    dose: Decimal
    dose_unit: DoseUnit
    route: Route
    frequency_per_day: int
    duration_days: int
    #: packs (boxes, bottles) to dispense
    quantity: int
    quantity_in_words: str | None = None
    renewals: int = 0
    instructions: str = ""
    dispensed_quantity: int = 0

    @property
    def remaining(self) -> int:
        return self.quantity - self.dispensed_quantity

    def facts(self) -> PrescribedLine:
        return PrescribedLine(
            drug_code=self.item.code,
            substances=self.item.substances,
            list_class=self.item.list_class,
            coded_by=self.item.coded_by,
            quantity=self.quantity,
        )


@dataclass(frozen=True)
class Override:
    """A warning the doctor saw and overrode, with their reason."""

    warning: Warning
    reason: str


@dataclass(frozen=True)
class DispensedItem:
    """One line of a dispense: how many packs of which product."""

    line_no: int
    quantity: int
    registration: str
    code: str
    brand: str
    substituted: bool


@dataclass(frozen=True)
class Dispense:
    dispense_id: UUID
    #: the establishment (pharmacy) that dispensed
    pharmacy_id: str
    dispensed_at: datetime
    items: tuple[DispensedItem, ...]


class DispenseRefused(Conflict):
    """409: the prescription cannot be dispensed (expired, cancelled, nothing left)."""


def quantity_positive(line_no: int, quantity: int) -> None:
    if quantity < 1:
        raise BadRequest("quantity-not-positive", line=line_no, quantity=quantity)


@dataclass(kw_only=True)
class Prescription(Aggregate):
    prescription_id: UUID
    facility_id: str
    visit_id: UUID
    ticket_id: UUID | None
    patient_key: str | None
    #: the doctor's token subject (who signed)
    prescriber: str
    edition_id: int
    issued_at: datetime
    valid_until: datetime
    status: PrescriptionStatus
    lines: list[PrescriptionLine]
    overrides: list[Override] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    dispenses: list[Dispense] = field(default_factory=list)

    # -- issuing ---------------------------------------------------------------------

    @classmethod
    def issue(
        cls,
        *,
        prescription_id: UUID,
        facility_id: str,
        visit_id: UUID,
        ticket_id: UUID | None,
        patient_key: str | None,
        prescriber: str,
        edition_id: int,
        issued_at: datetime,
        valid_until: datetime,
        lines: Sequence[PrescriptionLine],
        warnings: Sequence[Warning],
        overrides: dict[str, str],
    ) -> Prescription:
        """A signed prescription, once every warning has an override with a reason.

        Raises `WarningsNotOverridden` (409, with the warnings) if one has none, and
        `BadRequest("override-unknown")` for an override of a warning that is not there
        (the doctor overrode something else than what is now checked)."""
        if not lines:
            raise BadRequest("prescription-empty")
        for line in lines:
            quantity_positive(line.line_no, line.quantity)
        pending = [w for w in warnings if not (overrides.get(w.key) or "").strip()]
        if pending:
            raise WarningsNotOverridden(pending)
        unknown = sorted(set(overrides) - {w.key for w in warnings})
        if unknown:
            raise BadRequest("override-unknown", keys=unknown)
        if valid_until <= issued_at:
            raise BadRequest("validity-not-positive")
        prescription = cls(
            prescription_id=prescription_id,
            facility_id=facility_id,
            visit_id=visit_id,
            ticket_id=ticket_id,
            patient_key=patient_key,
            prescriber=prescriber,
            edition_id=edition_id,
            issued_at=issued_at,
            valid_until=valid_until,
            status=PrescriptionStatus.ACTIVE,
            lines=list(lines),
            overrides=[Override(w, overrides[w.key].strip()) for w in warnings],
        )
        prescription.record(
            PrescriptionIssuedV1(
                prescription_id=prescription_id,
                visit_id=visit_id,
                patient_key=patient_key,
                line_count=len(lines),
                drug_codes=tuple(line.item.code for line in lines),
                lines=tuple(line.facts() for line in lines),
                warnings_overridden=len(prescription.overrides),
                warning_kinds=tuple(sorted({o.warning.kind.value for o in prescription.overrides})),
                valid_until=valid_until,
            ),
            facility_id=facility_id,
            aggregate_id=str(prescription_id),
            at=issued_at,
        )
        return prescription

    # -- state -----------------------------------------------------------------------

    def expired(self, now: datetime) -> bool:
        return now >= self.valid_until

    def state_at(self, now: datetime) -> str:
        """The status people see: ``expired`` once past validity with packs left."""
        if self.status in {PrescriptionStatus.ACTIVE, PrescriptionStatus.PARTIALLY_DISPENSED}:
            if self.expired(now):
                return "expired"
        return self.status.value

    def line(self, line_no: int) -> PrescriptionLine:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        raise BadRequest("prescription-line-unknown", line=line_no)

    def content_digest(self) -> bytes:
        """SHA-256 of what was signed: the prescription as issued (identifiers, patient
        key, prescriber, dates, every line as written), canonical JSON."""
        content = {
            "id": str(self.prescription_id),
            "facility": self.facility_id,
            "visit": str(self.visit_id),
            "patient": self.patient_key,
            "prescriber": self.prescriber,
            "edition": self.edition_id,
            "issued_at": self.issued_at.astimezone(UTC).isoformat(),
            "valid_until": self.valid_until.astimezone(UTC).isoformat(),
            "lines": [
                {
                    "n": line.line_no,
                    "coded_by": line.item.coded_by.value,
                    "code": line.item.code,
                    "registration": line.item.registration,
                    "dci": line.item.dci,
                    "brand": line.item.brand,
                    "form": line.item.form,
                    "dosage": line.item.dosage,
                    "dose": f"{line.dose.normalize():f}",
                    "unit": line.dose_unit.value,
                    "route": line.route.value,
                    "per_day": line.frequency_per_day,
                    "days": line.duration_days,
                    "quantity": line.quantity,
                    "in_words": line.quantity_in_words,
                    "renewals": line.renewals,
                    "instructions": line.instructions,
                }
                for line in self.lines
            ],
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).digest()

    # -- cancelling ------------------------------------------------------------------

    def cancel(self, reason: str, at: datetime) -> None:
        if self.status is not PrescriptionStatus.ACTIVE:
            raise Conflict("prescription-not-cancellable", current_status=self.status.value)
        self.status = PrescriptionStatus.CANCELLED
        self.cancelled_at = at
        self.cancel_reason = reason
        self.record(
            PrescriptionCancelledV1(
                prescription_id=self.prescription_id,
                visit_id=self.visit_id,
                patient_key=self.patient_key,
                line_count=len(self.lines),
                drug_codes=tuple(line.item.code for line in self.lines),
                reason=reason,
                lines=tuple(line.facts() for line in self.lines),
            ),
            facility_id=self.facility_id,
            aggregate_id=str(self.prescription_id),
            at=at,
        )

    # -- dispensing ------------------------------------------------------------------

    def dispense(self, dispense: Dispense) -> None:
        """Dispense some packs of some lines. Refused whole (nothing changes) if the
        prescription is cancelled, fully dispensed or expired, if a line is named twice,
        or if a quantity is not positive or above what remains of its line. The
        database enforces the last rule again (a CHECK on each line), so that two
        pharmacies dispensing at the same moment cannot exceed it."""
        at = dispense.dispensed_at
        if self.status is PrescriptionStatus.CANCELLED:
            raise DispenseRefused(N_("prescription-cancelled"))
        if self.status is PrescriptionStatus.DISPENSED:
            raise DispenseRefused(N_("prescription-already-dispensed"))
        if self.expired(at):
            raise DispenseRefused(
                N_("prescription-expired"), valid_until=self.valid_until.isoformat()
            )
        if not dispense.items:
            raise BadRequest("dispense-empty")
        named = [item.line_no for item in dispense.items]
        if len(set(named)) != len(named):
            raise BadRequest("dispense-line-repeated")
        for item in dispense.items:
            line = self.line(item.line_no)
            quantity_positive(item.line_no, item.quantity)
            if item.quantity > line.remaining:
                raise DispenseRefused(
                    N_("dispense-above-remaining"),
                    line=item.line_no,
                    quantity=item.quantity,
                    remaining=line.remaining,
                )
        for item in dispense.items:
            self.line(item.line_no).dispensed_quantity += item.quantity
        self.dispenses.append(dispense)
        full = all(line.remaining == 0 for line in self.lines)
        self.status = (
            PrescriptionStatus.DISPENSED if full else PrescriptionStatus.PARTIALLY_DISPENSED
        )
        self.record(
            PrescriptionDispensedV1(
                prescription_id=self.prescription_id,
                visit_id=self.visit_id,
                patient_key=self.patient_key,
                line_count=len(dispense.items),
                drug_codes=tuple(item.code for item in dispense.items),
                fully_dispensed=full,
                dispense_id=dispense.dispense_id,
                dispensing_facility_id=dispense.pharmacy_id,
                lines=tuple(
                    DispensedLine(
                        drug_code=item.code,
                        substances=self.line(item.line_no).item.substances,
                        quantity=item.quantity,
                        quantity_remaining=self.line(item.line_no).remaining,
                        substituted=item.substituted,
                    )
                    for item in dispense.items
                ),
            ),
            facility_id=self.facility_id,
            aggregate_id=str(self.prescription_id),
            at=at,
        )


class WarningsNotOverridden(Conflict):
    """409: warnings the doctor has not overridden; each with its key and texts."""

    def __init__(self, warnings: Sequence[Warning]) -> None:
        super().__init__(
            "prescription-warnings-pending",
            count=len(warnings),
            warnings=[w.as_dict() for w in warnings],
        )
        self.warnings = list(warnings)


def warnings_payload(warnings: Sequence[Warning], render: Any) -> list[dict[str, Any]]:
    """Warnings with their texts in both languages (`render(message) -> {fr, ar}`)."""
    return [{**w.as_dict(), "text": render(w.message())} for w in warnings]
