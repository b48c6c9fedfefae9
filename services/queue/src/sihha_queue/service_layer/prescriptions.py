"""Use cases of the electronic prescription: importing a nomenclature edition, checking
and signing a prescription, cancelling it, verifying its code, dispensing it.

Handlers take a command, the unit of work and what else they need; only the unit of
work commits, and the events the prescription records reach the outbox with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError

from sihha_contracts.events.queue import CodedBy, ListClass
from sihha_contracts.types import FACILITY_CODE_PATTERN
from sihha_kit.auth import Caller
from sihha_kit.errors import BadRequest, Conflict, Forbidden, NotFound, Unavailable
from sihha_kit.i18n import N_
from sihha_queue.adapters.prescription_keys import EstablishmentKeys
from sihha_queue.domain import prescription_code
from sihha_queue.domain.interactions import load_interactions
from sihha_queue.domain.nomenclature import (
    REASONS,
    EditionChanges,
    NomenclatureFileError,
    Product,
    compare_editions,
    decode,
    parse_edition,
)
from sihha_queue.domain.prescribing_rules import check_line, load_rules, validity_limit
from sihha_queue.domain.prescription import (
    Dispense,
    DispensedItem,
    DispenseRefused,
    PrescribedItem,
    Prescription,
    PrescriptionLine,
    Route,
)
from sihha_queue.domain.prescription_warnings import (
    CheckedLine,
    DoseUnit,
    Warning,
    load_dose_limits,
    warnings_for,
)
from sihha_queue.domain.ticket import TicketStatus
from sihha_queue.service_layer.unit_of_work import QueueUnitOfWork

# -- the nomenclature -------------------------------------------------------------------


class NomenclatureRefused(BadRequest):
    """422: the file is not a nomenclature the importer can take; nothing was imported."""

    def __init__(self, error: NomenclatureFileError) -> None:
        super().__init__(
            "nomenclature-file-invalid",
            params={"reason_text": _reason_message(error)},
            line=error.line,
            reason=error.reason,
            **dict(error.fields),
        )


def _reason_message(error: NomenclatureFileError) -> Any:
    from sihha_kit.i18n import Message

    return Message(REASONS[error.reason], **dict(error.fields))


@dataclass(frozen=True)
class ImportReport:
    edition_id: int
    published_on: Any
    product_count: int
    changes: EditionChanges | None
    already_imported: bool = False


async def import_nomenclature(
    uow: QueueUnitOfWork, data: bytes, now: datetime, *, published_on: Any = None
) -> ImportReport:
    """Import one file of the ministry's nomenclature as a new edition, whole or not at
    all. The same file again is not imported twice (its SHA-256 is kept). The changes
    from the latest edition before it are computed and stored with it."""
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        parsed = parse_edition(decode(data))
    except NomenclatureFileError as error:
        raise NomenclatureRefused(error) from None
    day = published_on or parsed.title_date or now.date()
    async with uow:
        known = await uow.nomenclature.edition_by_digest(sha256)
        if known is not None:
            return ImportReport(
                known["edition_id"], known["published_on"], known["product_count"], None, True
            )
        previous = await uow.nomenclature.current_edition()
        changes = None
        if previous is not None:
            before = await uow.nomenclature.products_of(previous["edition_id"])
            changes = compare_editions(before, parsed.products)
        edition_id = await uow.nomenclature.add_edition(
            published_on=day,
            title=parsed.title,
            sha256=sha256,
            imported_at=now,
            products=parsed.products,
            changes=changes.as_dict() if changes else None,
        )
        await uow.commit()
    return ImportReport(edition_id, day, len(parsed.products), changes)


async def current_edition_id(uow: QueueUnitOfWork) -> int:
    edition = await uow.nomenclature.current_edition()
    if edition is None:
        raise Unavailable("nomenclature-not-imported")
    return int(edition["edition_id"])


# -- writing and signing ------------------------------------------------------------------


@dataclass(frozen=True)
class LineDraft:
    """A line as the doctor writes it: `registration` (a product) or `code` (a DCI with
    its form and dosage, any brand), never both."""

    dose: Decimal
    dose_unit: DoseUnit
    route: Route
    frequency_per_day: int
    duration_days: int
    quantity: int
    registration: str | None = None
    code: str | None = None
    quantity_in_words: str | None = None
    renewals: int = 0
    instructions: str = ""


@dataclass(frozen=True)
class WritePrescription:
    facility_id: str
    ticket_id: UUID
    lines: Sequence[LineDraft]
    validity_days: int | None = None
    #: warning key → the doctor's reason for going on
    overrides: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Checked:
    lines: list[PrescriptionLine]
    warnings: list[Warning]
    edition_id: int
    visit_id: UUID
    patient_key: str | None
    validity_days: int


_STRICTNESS = [ListClass.NONE, ListClass.LIST_II, ListClass.LIST_I, ListClass.NARCOTIC]


async def _items(
    uow: QueueUnitOfWork, edition_id: int, drafts: Sequence[LineDraft]
) -> list[PrescribedItem]:
    """What each line prescribes, from the edition (one query for all the lines)."""
    for line_no, draft in enumerate(drafts, start=1):
        if (draft.registration is None) == (draft.code is None):
            raise BadRequest("prescription-line-coding", line=line_no)
    by_registration, by_code = await uow.nomenclature.products_named(
        edition_id,
        [d.registration for d in drafts if d.registration is not None],
        [d.code for d in drafts if d.code is not None],
    )
    items: list[PrescribedItem] = []
    for line_no, draft in enumerate(drafts, start=1):
        if draft.registration is not None:
            product = by_registration.get(draft.registration)
            if product is None:
                if await uow.nomenclature.known_in_earlier_edition(edition_id, draft.registration):
                    raise BadRequest(
                        "product-withdrawn", line=line_no, registration=draft.registration
                    )
                raise BadRequest(
                    "product-not-in-edition", line=line_no, registration=draft.registration
                )
            items.append(_item_of(CodedBy.PRODUCT, product))
            continue
        assert draft.code is not None
        products = by_code.get(draft.code)
        if not products:
            raise BadRequest("dci-code-not-in-edition", line=line_no, nomenclature_code=draft.code)
        strictest = max(products, key=lambda p: _STRICTNESS.index(p.list_class))
        items.append(_item_of(CodedBy.DCI, strictest))
    return items


def _item_of(coded_by: CodedBy, product: Product) -> PrescribedItem:
    return PrescribedItem(
        coded_by=coded_by,
        code=product.code,
        registration=product.registration if coded_by is CodedBy.PRODUCT else None,
        dci=product.dci,
        brand=product.brand if coded_by is CodedBy.PRODUCT else None,
        form=product.form,
        dosage=product.dosage,
        list_class=product.list_class,
        substances=product.substances,
    )


async def _ticket_in_service(
    uow: QueueUnitOfWork, facility_id: str, ticket_id: UUID
) -> tuple[UUID, str | None]:
    ticket = await uow.tickets.get(ticket_id)
    if ticket is None or ticket.facility_id != facility_id:
        raise NotFound("ticket-not-found", ticket_id=str(ticket_id))
    if ticket.status not in {TicketStatus.IN_SERVICE, TicketStatus.COMPLETED}:
        raise Conflict("prescription-ticket-not-served", current_status=ticket.status.value)
    return ticket.visit_id, ticket.patient_key


async def check(
    uow: QueueUnitOfWork, command: WritePrescription, caller: Caller, now: datetime
) -> Checked:
    """Resolve the lines against the current edition, apply the lists' rules (422 on
    the first broken one) and compute the warnings. Changes nothing."""
    rules = load_rules()
    if not command.lines:
        raise BadRequest("prescription-empty")
    if len(command.lines) > rules.max_lines:
        raise BadRequest("prescription-too-many-lines", max_lines=rules.max_lines)
    visit_id, patient_key = await _ticket_in_service(uow, command.facility_id, command.ticket_id)
    edition_id = await current_edition_id(uow)
    roles = frozenset(role.value for role in caller.roles)
    for line_no, draft in enumerate(command.lines, start=1):
        if draft.quantity < 1:
            raise BadRequest("quantity-not-positive", line=line_no, quantity=draft.quantity)
    items = await _items(uow, edition_id, command.lines)
    lines: list[PrescriptionLine] = []
    for line_no, (draft, item) in enumerate(zip(command.lines, items, strict=True), start=1):
        check_line(
            rules,
            line_no=line_no,
            list_class=item.list_class,
            form=item.form,
            duration_days=draft.duration_days,
            renewals=draft.renewals,
            quantity_in_words=draft.quantity_in_words,
            prescriber_roles=roles,
        )
        lines.append(
            PrescriptionLine(
                line_no=line_no,
                item=item,
                dose=draft.dose,
                dose_unit=draft.dose_unit,
                route=draft.route,
                frequency_per_day=draft.frequency_per_day,
                duration_days=draft.duration_days,
                quantity=draft.quantity,
                quantity_in_words=(draft.quantity_in_words or "").strip() or None,
                renewals=draft.renewals,
                instructions=draft.instructions.strip(),
            )
        )
    limit = validity_limit(rules, {line.item.list_class for line in lines})
    validity_days = command.validity_days or min(rules.default_validity_days, limit)
    if validity_days > limit:
        raise BadRequest("validity-above-maximum", validity_days=validity_days, max_days=limit)
    active = await uow.prescriptions.active_for_patient(patient_key, now) if patient_key else []
    warnings = warnings_for(
        [
            CheckedLine(
                line.line_no,
                line.item.substances,
                line.item.dosage,
                line.dose,
                line.dose_unit,
                line.frequency_per_day,
            )
            for line in lines
        ],
        active=active,
        interactions=load_interactions(),
        dose_limits=load_dose_limits(),
    )
    return Checked(lines, warnings, edition_id, visit_id, patient_key, validity_days)


async def check_prescription(
    uow: QueueUnitOfWork, command: WritePrescription, caller: Caller, now: datetime
) -> Checked:
    async with uow:
        return await check(uow, command, caller, now)


async def issue_prescription(
    uow: QueueUnitOfWork,
    command: WritePrescription,
    caller: Caller,
    now: datetime,
    keys: EstablishmentKeys,
) -> tuple[Prescription, str]:
    """Check, then sign and store: the prescription is frozen and gets its code."""
    key = keys.private_key(command.facility_id)
    async with uow:
        checked = await check(uow, command, caller, now)
        prescription = Prescription.issue(
            prescription_id=uuid4(),
            facility_id=command.facility_id,
            visit_id=checked.visit_id,
            ticket_id=command.ticket_id,
            patient_key=checked.patient_key,
            prescriber=caller.subject,
            edition_id=checked.edition_id,
            issued_at=now,
            valid_until=now + timedelta(days=checked.validity_days),
            lines=checked.lines,
            warnings=checked.warnings,
            overrides=command.overrides,
        )
        code = prescription_code.sign(code_fields(prescription), key)
        await uow.prescriptions.add(prescription, code=code)
        await uow.commit()
    return prescription, code


def code_fields(prescription: Prescription) -> prescription_code.PrescriptionCode:
    from sihha_kit.clock import local_day

    return prescription_code.PrescriptionCode(
        prescription_id=prescription.prescription_id,
        facility_id=prescription.facility_id,
        issued_on=local_day(prescription.issued_at),
        valid_until=local_day(prescription.valid_until),
        digest=prescription.content_digest(),
    )


async def prescription_for(
    uow: QueueUnitOfWork, facility_id: str, prescription_id: UUID
) -> Prescription:
    async with uow:
        prescription = await uow.prescriptions.get(prescription_id)
    if prescription is None or prescription.facility_id != facility_id:
        raise NotFound("prescription-not-found", prescription_id=str(prescription_id))
    return prescription


async def cancel_prescription(
    uow: QueueUnitOfWork, facility_id: str, prescription_id: UUID, reason: str, now: datetime
) -> Prescription:
    async with uow:
        prescription = await uow.prescriptions.get(prescription_id, for_update=True)
        if prescription is None or prescription.facility_id != facility_id:
            raise NotFound("prescription-not-found", prescription_id=str(prescription_id))
        prescription.cancel(reason, now)
        await uow.prescriptions.save(prescription)
        await uow.commit()
    return prescription


# -- verifying and dispensing ----------------------------------------------------------------


def _is_code(facility_id: str) -> bool:
    import re

    return re.fullmatch(FACILITY_CODE_PATTERN, facility_id) is not None


def same_wilaya(pharmacy_id: str, facility_id: str) -> bool:
    """A pharmacy dispenses prescriptions of any establishment of its wilaya (the first
    two digits of the establishment codes)."""
    return pharmacy_id[:2] == facility_id[:2]


async def verify(
    uow: QueueUnitOfWork, keys: EstablishmentKeys, text: str, pharmacy_id: str
) -> tuple[Prescription, prescription_code.PrescriptionCode]:
    """The prescription a code names, once its signature holds (offline check with the
    establishment's public key) and the stored prescription still has the signed
    content; a pharmacy of another wilaya is refused."""
    code, _, _ = prescription_code.read(text)
    if not same_wilaya(pharmacy_id, code.facility_id):
        raise Forbidden("prescription-other-wilaya", establishment=code.facility_id)
    key = keys.public_key(code.facility_id) if _is_code(code.facility_id) else None
    verified = prescription_code.verify(text, {code.facility_id: key} if key else {})
    async with uow:
        prescription = await uow.prescriptions.get(verified.prescription_id)
    if prescription is None or prescription.facility_id != verified.facility_id:
        raise NotFound("prescription-not-found", prescription_id=str(verified.prescription_id))
    if prescription.content_digest()[: prescription_code.DIGEST_BYTES] != verified.digest:
        raise prescription_code.CodeSignatureInvalid()
    return prescription, verified


@dataclass(frozen=True)
class ItemDraft:
    line_no: int
    quantity: int
    #: the product handed over (a registration number of the current edition); for a
    #: line coded by product, None means the prescribed product itself
    registration: str | None = None


@dataclass(frozen=True)
class DispensePrescription:
    pharmacy_id: str
    code: str
    items: Sequence[ItemDraft]


async def dispense_prescription(
    uow: QueueUnitOfWork,
    keys: EstablishmentKeys,
    command: DispensePrescription,
    caller: Caller,
    now: datetime,
) -> Prescription:
    """Dispense against a verified code. The prescription's row is locked for the
    transaction, and each line's CHECK refuses a total above the prescribed quantity,
    so two pharmacies at the same moment cannot dispense more than was prescribed."""
    prescription, _ = await verify(uow, keys, command.code, command.pharmacy_id)
    try:
        async with uow:
            edition_id = await current_edition_id(uow)
            locked = await uow.prescriptions.get(prescription.prescription_id, for_update=True)
            assert locked is not None
            items = [
                await _dispensed_item(uow, edition_id, locked, draft) for draft in command.items
            ]
            locked.dispense(Dispense(uuid4(), command.pharmacy_id, now, tuple(items)))
            await uow.prescriptions.save(locked, dispenser=caller.subject)
            await uow.commit()
    except IntegrityError:
        # only reachable if the row lock were bypassed: the database's own refusal
        raise DispenseRefused(N_("dispense-above-remaining")) from None
    return locked


async def _dispensed_item(
    uow: QueueUnitOfWork, edition_id: int, prescription: Prescription, draft: ItemDraft
) -> DispensedItem:
    line = prescription.line(draft.line_no)
    registration = draft.registration or line.item.registration
    if registration is None:
        raise BadRequest("dispense-product-required", line=draft.line_no)
    product = await uow.nomenclature.product(edition_id, registration)
    if product is None:
        raise BadRequest("product-not-in-edition", line=draft.line_no, registration=registration)
    if product.code != line.item.code:
        # same DCI, form and dosage = same nomenclature code
        raise BadRequest(
            "substitution-not-equivalent",
            line=draft.line_no,
            prescribed_code=line.item.code,
            dispensed_code=product.code,
        )
    substituted = line.item.registration is not None and registration != line.item.registration
    return DispensedItem(
        line_no=draft.line_no,
        quantity=draft.quantity,
        registration=product.registration,
        code=product.code,
        brand=product.brand,
        substituted=substituted,
    )
