"""The digital medical record in hospitals, per establishment and Algiers day.

`records_daily`: patients registered and merged, encounters opened (by kind)
and closed (deaths among them), coded diagnoses, and the sum and count of
lengths of stay of closed encounters (for the mean).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sihha_contracts.events.records import (
    DiagnosisRecordedV1,
    EncounterClosedV1,
    EncounterKind,
    EncounterOpenedV1,
    EncounterOutcome,
    PatientMergedV1,
    PatientRegisteredV1,
)
from sihha_reporting.domain.facts import Fact
from sihha_reporting.domain.writes import SUM, Upsert

if TYPE_CHECKING:
    from sihha_reporting.projections import ProjectionContext

NAME = "records"
VERSION = 1
HANDLES = frozenset(
    {
        "records.patient.registered",
        "records.patient.merged",
        "records.encounter.opened",
        "records.encounter.closed",
        "records.diagnosis.recorded",
    }
)
TABLES = ("records_daily",)

DAILY_COUNTS = (
    "patients_registered",
    "patients_merged",
    "encounters_opened",
    "inpatient_opened",
    "outpatient_opened",
    "emergency_opened",
    "encounters_closed",
    "deaths",
    "transfers",
    "diagnoses",
    "length_of_stay_hours",
    "stays_measured",
)

_OPENED_BY_KIND = {
    EncounterKind.INPATIENT: "inpatient_opened",
    EncounterKind.OUTPATIENT: "outpatient_opened",
    EncounterKind.EMERGENCY: "emergency_opened",
}


def project(facts: Sequence[Fact], context: ProjectionContext) -> list[Upsert]:
    daily = Upsert("records_daily", ("facility_id", "day"), {n: SUM for n in DAILY_COUNTS})
    for fact in facts:
        p, keys = fact.payload, {"facility_id": fact.facility_id, "day": fact.day}
        if isinstance(p, PatientRegisteredV1):
            daily.add(**keys, patients_registered=1)
        elif isinstance(p, PatientMergedV1):
            daily.add(**keys, patients_merged=1)
        elif isinstance(p, EncounterOpenedV1):
            daily.add(**keys, encounters_opened=1, **{_OPENED_BY_KIND[p.encounter_kind]: 1})
        elif isinstance(p, EncounterClosedV1):
            measured = p.length_of_stay_hours is not None
            daily.add(
                **keys,
                encounters_closed=1,
                deaths=1 if p.outcome is EncounterOutcome.DECEASED else 0,
                transfers=1 if p.outcome is EncounterOutcome.TRANSFERRED else 0,
                length_of_stay_hours=p.length_of_stay_hours or 0,
                stays_measured=1 if measured else 0,
            )
        elif isinstance(p, DiagnosisRecordedV1):
            daily.add(**keys, diagnoses=1)
    return [daily]
