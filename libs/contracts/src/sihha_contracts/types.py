"""Value types shared by payloads. None of them can carry personal data."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints

#: The pseudonymous patient key: hex HMAC-SHA256 of the national identification
#: number under a key shared by the services and never put on the bus.
PatientKey = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

#: An establishment code of the wilaya registry, e.g. ``31-PC-001``.
FacilityCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}-[A-Z]{2,5}-[0-9]{2,4}$")]

#: A service of a polyclinic or hospital, e.g. ``MG`` (general medicine).
ServiceCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,8}$")]

#: ICD-10 (CIM-10) code, e.g. ``J18.9``.
Icd10Code = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")]


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
