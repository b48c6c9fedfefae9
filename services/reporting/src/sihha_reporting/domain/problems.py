"""The reporting service's refusals, each a problem+json (`sihha_kit.errors`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sihha_kit.errors import BadRequest, NotFound


class ImpossiblePeriod(BadRequest):
    def __init__(self, detail_fr: str, detail_ar: str, **extra: Any) -> None:
        super().__init__("impossible-period", detail_fr, detail_ar, **extra)


class UnknownEstablishment(NotFound):
    def __init__(self, facility_id: str) -> None:
        super().__init__(
            "unknown-establishment",
            f"Établissement inconnu du registre : {facility_id}.",
            f"مؤسسة غير موجودة في السجل: {facility_id}.",
            facility_id=facility_id,
        )


class UnknownFormat(BadRequest):
    def __init__(self, wanted: str, allowed: list[str]) -> None:
        super().__init__(
            "unknown-format",
            f"Format inconnu : {wanted}. Formats disponibles : {', '.join(allowed)}.",
            f"صيغة غير معروفة: {wanted}. الصيغ المتاحة: {', '.join(allowed)}.",
            allowed=allowed,
        )


class Dhis2MappingIncomplete(BadRequest):
    def __init__(self, missing: list[str]) -> None:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        super().__init__(
            "dhis2-mapping-incomplete",
            f"Le mapping DHIS2 ne couvre pas {len(missing)} élément(s) : {shown}. Rien n'a été envoyé.",
            f"ربط DHIS2 لا يغطي {len(missing)} عنصرًا: {shown}. لم يُرسل أي شيء.",
            missing=missing,
        )


class Dhis2MappingMissing(BadRequest):
    def __init__(self) -> None:
        super().__init__(
            "dhis2-mapping-missing",
            "Aucun mapping DHIS2 n'est configuré (REPORTING_DHIS2_MAPPING_PATH).",
            "لم يُضبط أي ربط DHIS2 (REPORTING_DHIS2_MAPPING_PATH).",
        )


class InvalidInspection(BadRequest):
    def __init__(self, visited_on: date, today: date) -> None:
        super().__init__(
            "inspection-in-future",
            f"La date de visite {visited_on} est postérieure à aujourd'hui ({today}).",
            f"تاريخ الزيارة {visited_on} لاحق لتاريخ اليوم ({today}).",
        )
