"""Value types shared by payloads. None of them can carry personal data.

Identifiers of people never appear on the bus: a patient is a `PatientKey`
(a pseudonym), a member of staff at most a role. Codes are constrained by
patterns tight enough that a name, a phone number or a sentence does not fit.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

#: The pseudonymous patient key: hex HMAC-SHA256 of the national identification
#: number under a key shared by the services and never put on the bus.
PatientKey = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

#: The one pattern of an establishment code of the wilaya registry: the wilaya's
#: two digits, the kind (``PC`` polyclinic, ``EPSP``, ``CHU``...) and a number.
#: Everything that checks an establishment code (payloads, envelopes, HTTP
#: paths and queries) uses this constant or `FacilityCode`.
FACILITY_CODE_PATTERN = r"^[0-9]{2}-[A-Z]{2,5}-[0-9]{2,4}$"

#: An establishment code of the wilaya registry, e.g. ``31-PC-001``.
FacilityCode = Annotated[str, StringConstraints(pattern=FACILITY_CODE_PATTERN)]

#: The official two-digit code of a wilaya, e.g. ``31`` (Oran).
WILAYA_CODE_PATTERN = r"^[0-9]{2}$"
WilayaCode = Annotated[str, StringConstraints(pattern=WILAYA_CODE_PATTERN)]

#: Where an event happened, as an envelope names it: an establishment, or the
#: wilaya itself for what the health directorate does (a wilaya report).
ReportingUnit = FacilityCode | WilayaCode

#: The identity of an aggregate in an envelope: a UUID, or a key made of codes,
#: dates and separators (``wilaya_monthly:2026-10-01:2026-10-31``); never free
#: text, and never starting with a sign a spreadsheet would read as a formula.
AggregateId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]

#: The short code a citizen shows or types at the kiosk to check in, e.g. ``K7Q2M9XA``.
#: Random, so it tells nothing about the patient or the appointment.
BookingCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z0-9]{6,12}$"), Field(examples=["K7Q2M9XA"])
]

#: A service of a polyclinic or hospital, e.g. ``MG`` (general medicine);
#: a hospital department is a service too (``CARDIO``, ``PED``).
ServiceCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,8}$")]

#: A medical specialty offered for appointments, e.g. ``CARDIO``, ``ENDO``.
SpecialtyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,8}$")]

#: ICD-10 (CIM-10) code, e.g. ``J18.9``.
Icd10Code = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")]

#: A product code of the national nomenclature of pharmaceutical products
#: (column ``CODE`` of the ministry's file), e.g. ``01 A 003``.
DrugCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2} [A-Z] [0-9]{3}$")]

#: An active substance of a medicine, by its international nonproprietary name as the
#: national nomenclature writes it, upper case without accents or salt, e.g.
#: ``PARACETAMOL``, ``ACIDE ACETYLSALICYLIQUE``: a fact about a drug, never about a person.
Substance = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9 '-]{0,62}[A-Z0-9]$")]

#: A commune by its official (ONS) code: wilaya then commune, e.g. ``3101`` (Oran).
CommuneCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]

#: A machine-readable reason, snake_case, e.g. ``patient_left``; never free text.
#: Reasons are open vocabularies: a consumer must accept a code it does not know.
ReasonCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,47}$")]

#: An opaque reference to something outside the bus (a specialist, a delivery
#: destination): meaningful only to its owner, never a name, e.g. ``sp-7f3a91c2``.
OpaqueRef = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{3,63}$")]


class AgeBand(StrEnum):
    """Enough for statistics, too coarse to identify anyone."""

    UNDER_5 = "0-4"
    CHILD = "5-14"
    YOUTH = "15-24"
    ADULT = "25-44"
    MIDDLE = "45-64"
    ELDERLY = "65+"


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class Language(StrEnum):
    """The languages the platform speaks to citizens in."""

    ARABIC = "ar"
    FRENCH = "fr"
