"""Every query of the nomenclature and of prescriptions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, insert, select, text, update

from sihha_contracts.events.queue import CodedBy, ListClass
from sihha_kit.db import Executor
from sihha_kit.uow import Repository
from sihha_queue.adapters.prescription_tables import (
    nomenclature_editions,
    nomenclature_products,
    nomenclature_terms,
    prescription_dispense_items,
    prescription_dispenses,
    prescription_lines,
    prescriptions,
)
from sihha_queue.domain.nomenclature import Product, normalise
from sihha_queue.domain.prescription import (
    Dispense,
    DispensedItem,
    Override,
    PrescribedItem,
    Prescription,
    PrescriptionLine,
    PrescriptionStatus,
    Route,
)
from sihha_queue.domain.prescription_warnings import (
    ActivePrescription,
    DoseUnit,
    Warning,
    WarningKind,
)

#: words that start no search term (a DCI's "DE TRAMADOL" is found as "TRAMADOL")
_STOP_WORDS = frozenset({"DE", "D", "DU", "DES", "ET", "EN", "A", "L", "LA", "LE"})
#: in the "C" collation every normalised term sorts below this character
_ABOVE_ALL = "~"


def search_terms(product: Product) -> set[str]:
    """The normalised prefixes a product is found by: its brand, its DCI, and every
    word-start of either (``CHLORHYDRATE DE TRAMADOL`` is found by ``TRAM``)."""
    terms: set[str] = set()
    for written in (product.brand, product.dci):
        words = normalise(written).split()
        for index, word in enumerate(words):
            if word not in _STOP_WORDS:
                terms.add(" ".join(words[index:])[:200])
    return terms


class NomenclatureRepository(Repository):
    """Editions and their products; nothing here records events."""

    def __init__(self, session: Executor) -> None:
        super().__init__(session)

    async def current_edition(self) -> dict[str, Any] | None:
        """The edition prescriptions are written against: the latest published."""
        row = (
            await self.session.execute(
                select(nomenclature_editions)
                .order_by(
                    nomenclature_editions.c.published_on.desc(),
                    nomenclature_editions.c.edition_id.desc(),
                )
                .limit(1)
            )
        ).first()
        return dict(row._mapping) if row else None

    async def editions(self) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(nomenclature_editions).order_by(nomenclature_editions.c.published_on.desc())
        )
        return [dict(r._mapping) for r in rows]

    async def edition_by_digest(self, sha256: str) -> dict[str, Any] | None:
        row = (
            await self.session.execute(
                select(nomenclature_editions).where(nomenclature_editions.c.file_sha256 == sha256)
            )
        ).first()
        return dict(row._mapping) if row else None

    async def products_of(self, edition_id: int) -> list[Product]:
        rows = await self.session.execute(
            select(nomenclature_products).where(nomenclature_products.c.edition_id == edition_id)
        )
        return [_product(r) for r in rows]

    async def add_edition(
        self,
        *,
        published_on: Any,
        title: str,
        sha256: str,
        imported_at: datetime,
        products: Sequence[Product],
        changes: dict[str, Any] | None,
    ) -> int:
        """Store an edition whole; its products and search terms in batches."""
        edition_id = int(
            (
                await self.session.execute(
                    insert(nomenclature_editions)
                    .values(
                        published_on=published_on,
                        title=title,
                        file_sha256=sha256,
                        imported_at=imported_at,
                        product_count=len(products),
                        changes=changes,
                    )
                    .returning(nomenclature_editions.c.edition_id)
                )
            ).scalar_one()
        )
        rows = [
            {
                "edition_id": edition_id,
                "registration": p.registration,
                "product_key": p.product_key,
                "code": p.code,
                "dci": p.dci,
                "brand": p.brand,
                "form": p.form,
                "dosage": p.dosage,
                "packaging": p.packaging,
                "list_class": p.list_class.value,
                "community": p.community,
                "hospital": p.hospital,
                "generic": p.generic,
                "manufactured_locally": p.manufactured_locally,
                "laboratory": p.laboratory,
                "country": p.country,
                "registered_on": p.registered_on,
                "renewed_on": p.renewed_on,
                "observation": p.observation,
                "substances": list(p.substances),
            }
            for p in products
        ]
        terms = [
            {"edition_id": edition_id, "term": term, "registration": p.registration}
            for p in products
            for term in search_terms(p)
        ]
        for chunk in _chunks(rows, 1000):
            await self.session.execute(insert(nomenclature_products), chunk)
        for chunk in _chunks(terms, 5000):
            await self.session.execute(insert(nomenclature_terms), chunk)
        return edition_id

    async def product(self, edition_id: int, registration: str) -> Product | None:
        row = (
            await self.session.execute(
                select(nomenclature_products).where(
                    nomenclature_products.c.edition_id == edition_id,
                    nomenclature_products.c.registration == registration,
                )
            )
        ).first()
        return _product(row) if row else None

    async def products_named(
        self, edition_id: int, registrations: Sequence[str], codes: Sequence[str]
    ) -> tuple[dict[str, Product], dict[str, list[Product]]]:
        """In one query: the products with these registration numbers, and every product of
        these codes (a prescription's lines are resolved together)."""
        rows = await self.session.execute(
            select(nomenclature_products).where(
                nomenclature_products.c.edition_id == edition_id,
                nomenclature_products.c.registration.in_(list(registrations))
                | nomenclature_products.c.code.in_(list(codes)),
            )
        )
        by_registration: dict[str, Product] = {}
        by_code: dict[str, list[Product]] = {}
        wanted_codes = set(codes)
        for row in rows:
            product = _product(row)
            by_registration[product.registration] = product
            if product.code in wanted_codes:
                by_code.setdefault(product.code, []).append(product)
        return by_registration, by_code

    async def products_with_code(self, edition_id: int, code: str) -> list[Product]:
        rows = await self.session.execute(
            select(nomenclature_products)
            .where(
                nomenclature_products.c.edition_id == edition_id,
                nomenclature_products.c.code == code,
            )
            .order_by(nomenclature_products.c.brand)
        )
        return [_product(r) for r in rows]

    async def known_in_earlier_edition(self, edition_id: int, registration: str) -> bool:
        """Whether the product was registered in an edition before `edition_id` (it has
        been withdrawn since, or renewed under another number)."""
        found = await self.session.execute(
            select(nomenclature_products.c.registration)
            .where(
                nomenclature_products.c.edition_id < edition_id,
                nomenclature_products.c.registration == registration,
            )
            .limit(1)
        )
        return found.first() is not None

    async def search(self, edition_id: int, text: str, limit: int = 20) -> list[Product]:
        """Products whose brand, DCI or a word of either starts with `text` (accents and
        case ignored), by DCI then brand. A range on the terms' primary key, so that a
        prepared (generic) plan still uses the index."""
        prefix = normalise(text)
        if not prefix:
            return []
        matching = (
            select(nomenclature_terms.c.registration)
            .where(
                nomenclature_terms.c.edition_id == edition_id,
                nomenclature_terms.c.term >= prefix,
                nomenclature_terms.c.term < prefix + _ABOVE_ALL,
            )
            .limit(400)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(nomenclature_products)
            .where(
                nomenclature_products.c.edition_id == edition_id,
                nomenclature_products.c.registration.in_(matching),
            )
            .order_by(nomenclature_products.c.dci, nomenclature_products.c.brand)
            .limit(limit)
        )
        return [_product(r) for r in rows]


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _product(row: Any) -> Product:
    return Product(
        registration=row.registration,
        code=row.code,
        dci=row.dci,
        brand=row.brand,
        form=row.form,
        dosage=row.dosage,
        packaging=row.packaging,
        list_class=ListClass(row.list_class),
        community=row.community,
        hospital=row.hospital,
        generic=row.generic,
        manufactured_locally=row.manufactured_locally,
        laboratory=row.laboratory,
        country=row.country,
        registered_on=row.registered_on,
        renewed_on=row.renewed_on,
        observation=row.observation,
    )


class PrescriptionRepository(Repository):
    """Prescriptions, their lines and dispenses; tracks what it loads and adds."""

    def __init__(self, session: Executor) -> None:
        super().__init__(session)
        #: dispenses already stored, per prescription (a save stores the others)
        self._stored: dict[UUID, set[UUID]] = {}

    async def add(self, prescription: Prescription, *, code: str) -> None:
        await self.session.execute(
            insert(prescriptions).values(
                prescription_id=prescription.prescription_id,
                facility_id=prescription.facility_id,
                visit_id=prescription.visit_id,
                ticket_id=prescription.ticket_id,
                patient_key=prescription.patient_key,
                prescriber=prescription.prescriber,
                edition_id=prescription.edition_id,
                issued_at=prescription.issued_at,
                valid_until=prescription.valid_until,
                status=prescription.status.value,
                version=prescription.version,
                content_digest=prescription.content_digest(),
                code=code,
                overrides=[
                    {**o.warning.as_dict(), "reason": o.reason} for o in prescription.overrides
                ],
            )
        )
        await self.session.execute(
            insert(prescription_lines),
            [_line_row(prescription.prescription_id, line) for line in prescription.lines],
        )
        self._stored[prescription.prescription_id] = set()
        self.track(prescription)

    async def get(self, prescription_id: UUID, *, for_update: bool = False) -> Prescription | None:
        """The prescription with its lines and dispenses; `for_update` locks its row
        until commit, so dispenses of one prescription happen one after the other."""
        query = select(prescriptions).where(prescriptions.c.prescription_id == prescription_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        lines = await self.session.execute(
            select(prescription_lines)
            .where(prescription_lines.c.prescription_id == prescription_id)
            .order_by(prescription_lines.c.line_no)
        )
        dispense_rows = (
            await self.session.execute(
                select(prescription_dispenses)
                .where(prescription_dispenses.c.prescription_id == prescription_id)
                .order_by(prescription_dispenses.c.dispensed_at)
            )
        ).all()
        item_rows = (
            await self.session.execute(
                select(prescription_dispense_items)
                .where(prescription_dispense_items.c.prescription_id == prescription_id)
                .order_by(prescription_dispense_items.c.id)
            )
        ).all()
        items: dict[UUID, list[DispensedItem]] = {}
        for item in item_rows:
            items.setdefault(item.dispense_id, []).append(
                DispensedItem(
                    line_no=item.line_no,
                    quantity=item.quantity,
                    registration=item.registration,
                    code=item.code,
                    brand=item.brand,
                    substituted=item.substituted,
                )
            )
        dispenses = [
            Dispense(
                dispense_id=d.dispense_id,
                pharmacy_id=d.pharmacy_id,
                dispensed_at=d.dispensed_at,
                items=tuple(items.get(d.dispense_id, [])),
            )
            for d in dispense_rows
        ]
        prescription = Prescription(
            prescription_id=row.prescription_id,
            facility_id=row.facility_id,
            visit_id=row.visit_id,
            ticket_id=row.ticket_id,
            patient_key=row.patient_key,
            prescriber=row.prescriber,
            edition_id=row.edition_id,
            issued_at=row.issued_at,
            valid_until=row.valid_until,
            status=PrescriptionStatus(row.status),
            version=row.version,
            lines=[_line(r) for r in lines],
            overrides=[_override(o) for o in row.overrides],
            cancelled_at=row.cancelled_at,
            cancel_reason=row.cancel_reason,
            dispenses=dispenses,
        )
        self._stored[prescription.prescription_id] = {d.dispense_id for d in dispenses}
        return self.track(prescription)

    async def code_of(self, prescription_id: UUID) -> tuple[str, bytes] | None:
        """The signed code and the content digest stored with the prescription."""
        row = (
            await self.session.execute(
                select(prescriptions.c.code, prescriptions.c.content_digest).where(
                    prescriptions.c.prescription_id == prescription_id
                )
            )
        ).first()
        return (row.code, bytes(row.content_digest)) if row else None

    async def save(self, prescription: Prescription, *, dispenser: str | None = None) -> None:
        """Store a change of status and any new dispense. A dispensed quantity is added
        to the line in SQL (``dispensed_quantity + n``), so the line's CHECK sees the
        committed total even if the row was not locked."""
        await self.session.execute(
            update(prescriptions)
            .where(prescriptions.c.prescription_id == prescription.prescription_id)
            .values(
                status=prescription.status.value,
                version=prescription.version,
                cancelled_at=prescription.cancelled_at,
                cancel_reason=prescription.cancel_reason,
            )
        )
        stored = self._stored.setdefault(prescription.prescription_id, set())
        for dispense in prescription.dispenses:
            if dispense.dispense_id in stored:
                continue
            await self.session.execute(
                insert(prescription_dispenses).values(
                    dispense_id=dispense.dispense_id,
                    prescription_id=prescription.prescription_id,
                    pharmacy_id=dispense.pharmacy_id,
                    dispenser=dispenser or "-",
                    dispensed_at=dispense.dispensed_at,
                )
            )
            for item in dispense.items:
                await self.session.execute(
                    insert(prescription_dispense_items).values(
                        dispense_id=dispense.dispense_id,
                        prescription_id=prescription.prescription_id,
                        line_no=item.line_no,
                        quantity=item.quantity,
                        registration=item.registration,
                        code=item.code,
                        brand=item.brand,
                        substituted=item.substituted,
                    )
                )
                await self.session.execute(
                    update(prescription_lines)
                    .where(
                        prescription_lines.c.prescription_id == prescription.prescription_id,
                        prescription_lines.c.line_no == item.line_no,
                    )
                    .values(
                        dispensed_quantity=prescription_lines.c.dispensed_quantity + item.quantity
                    )
                )
            stored.add(dispense.dispense_id)

    async def active_for_patient(
        self, patient_key: str, now: datetime, *, exclude: UUID | None = None
    ) -> list[ActivePrescription]:
        """The patient's other prescriptions still to dispense and still valid."""
        query = (
            select(
                prescriptions.c.prescription_id,
                func.array_agg(func.array_to_string(prescription_lines.c.substances, "|")).label(
                    "substances"
                ),
            )
            .join(
                prescription_lines,
                prescription_lines.c.prescription_id == prescriptions.c.prescription_id,
            )
            .where(
                prescriptions.c.patient_key == patient_key,
                prescriptions.c.status.in_(("active", "partially_dispensed")),
                prescriptions.c.valid_until > now,
                and_(prescription_lines.c.dispensed_quantity < prescription_lines.c.quantity),
            )
            .group_by(prescriptions.c.prescription_id)
        )
        if exclude is not None:
            query = query.where(prescriptions.c.prescription_id != exclude)
        rows = await self.session.execute(query)
        return [
            ActivePrescription(
                str(r.prescription_id),
                frozenset(s for joined in r.substances for s in joined.split("|") if s),
            )
            for r in rows
        ]

    async def for_visit(self, visit_id: UUID) -> list[UUID]:
        rows = await self.session.execute(
            select(prescriptions.c.prescription_id)
            .where(prescriptions.c.visit_id == visit_id)
            .order_by(prescriptions.c.issued_at)
        )
        return [r.prescription_id for r in rows]

    async def daily_counts(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Per establishment (the prescriber's) and Algiers day, in [start, end): the
        prescriptions issued and their lines, the dispenses and the cancellations, each
        on the day it happened — what reporting's projection counts from the events."""
        result = await self.session.execute(
            text(
                """
                WITH happened AS (
                    SELECT p.facility_id, (p.issued_at AT TIME ZONE 'Africa/Algiers')::date AS day,
                           1 AS issued, (SELECT count(*) FROM prescription_lines l
                                         WHERE l.prescription_id = p.prescription_id) AS lines,
                           0 AS dispenses, 0 AS cancelled
                    FROM prescriptions p WHERE p.issued_at >= :start AND p.issued_at < :end
                    UNION ALL
                    SELECT p.facility_id, (d.dispensed_at AT TIME ZONE 'Africa/Algiers')::date,
                           0, 0, 1, 0
                    FROM prescription_dispenses d
                    JOIN prescriptions p ON p.prescription_id = d.prescription_id
                    WHERE d.dispensed_at >= :start AND d.dispensed_at < :end
                    UNION ALL
                    SELECT p.facility_id, (p.cancelled_at AT TIME ZONE 'Africa/Algiers')::date,
                           0, 0, 0, 1
                    FROM prescriptions p
                    WHERE p.cancelled_at >= :start AND p.cancelled_at < :end
                )
                SELECT facility_id, day, sum(issued) AS prescriptions_issued,
                       sum(lines) AS prescription_lines_issued,
                       sum(dispenses) AS prescription_dispenses,
                       sum(cancelled) AS prescriptions_cancelled
                FROM happened GROUP BY facility_id, day ORDER BY facility_id, day
                """
            ),
            {"start": start, "end": end},
        )
        return [
            {
                "facility_id": r.facility_id,
                "day": r.day.isoformat(),
                "prescriptions_issued": int(r.prescriptions_issued),
                "prescription_lines_issued": int(r.prescription_lines_issued),
                "prescription_dispenses": int(r.prescription_dispenses),
                "prescriptions_cancelled": int(r.prescriptions_cancelled),
            }
            for r in result
        ]


def _line_row(prescription_id: UUID, line: PrescriptionLine) -> dict[str, Any]:
    item = line.item
    return {
        "prescription_id": prescription_id,
        "line_no": line.line_no,
        "coded_by": item.coded_by.value,
        "code": item.code,
        "registration": item.registration,
        "dci": item.dci,
        "brand": item.brand,
        "form": item.form,
        "dosage": item.dosage,
        "list_class": item.list_class.value,
        "substances": list(item.substances),
        "dose": line.dose,
        "dose_unit": line.dose_unit.value,
        "route": line.route.value,
        "frequency_per_day": line.frequency_per_day,
        "duration_days": line.duration_days,
        "quantity": line.quantity,
        "quantity_in_words": line.quantity_in_words,
        "renewals": line.renewals,
        "instructions": line.instructions,
        "dispensed_quantity": line.dispensed_quantity,
    }


def _line(row: Any) -> PrescriptionLine:
    return PrescriptionLine(
        line_no=row.line_no,
        item=PrescribedItem(
            coded_by=CodedBy(row.coded_by),
            code=row.code,
            registration=row.registration,
            dci=row.dci,
            brand=row.brand,
            form=row.form,
            dosage=row.dosage,
            list_class=ListClass(row.list_class),
            substances=tuple(row.substances),
        ),
        dose=Decimal(row.dose),
        dose_unit=DoseUnit(row.dose_unit),
        route=Route(row.route),
        frequency_per_day=row.frequency_per_day,
        duration_days=row.duration_days,
        quantity=row.quantity,
        quantity_in_words=row.quantity_in_words,
        renewals=row.renewals,
        instructions=row.instructions,
        dispensed_quantity=row.dispensed_quantity,
    )


def _override(data: dict[str, Any]) -> Override:
    return Override(
        Warning(
            WarningKind(data["kind"]),
            data["key"],
            tuple(data["lines"]),
            data.get("params", {}),
        ),
        data["reason"],
    )
