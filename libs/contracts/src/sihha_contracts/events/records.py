"""Events of the records service (the patient index and the medical record).

The patient index maps a patient key to the record; nothing that identifies
the person leaves the service. Clinical content travels only as codes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self
from uuid import UUID

from pydantic import Field, model_validator

from sihha_contracts.catalogue import register
from sihha_contracts.envelope import EventPayload
from sihha_contracts.types import AgeBand, CommuneCode, Icd10Code, PatientKey, ServiceCode, Sex


class EncounterKind(StrEnum):
    INPATIENT = "inpatient"
    OUTPATIENT = "outpatient"
    EMERGENCY = "emergency"


class EncounterOutcome(StrEnum):
    DISCHARGED = "discharged"
    TRANSFERRED = "transferred"
    DECEASED = "deceased"
    LEFT_AGAINST_ADVICE = "left_against_advice"


class DiagnosisRank(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"


@register
class PatientRegisteredV1(EventPayload):
    event_type = "records.patient.registered"
    schema_version = 1
    summary = "A patient was added to the patient index."

    patient_key: PatientKey
    age_band: AgeBand
    sex: Sex
    home_commune: CommuneCode | None = Field(
        default=None, description="Official code of the commune of residence, for statistics"
    )


@register
class PatientMergedV1(EventPayload):
    event_type = "records.patient.merged"
    schema_version = 1
    summary = "Two index entries were found to be the same patient and merged into one."

    surviving_patient_key: PatientKey
    merged_patient_key: PatientKey = Field(
        description="The key that no longer exists; consumers re-attach its data to the survivor"
    )

    @model_validator(mode="after")
    def _two_patients(self) -> Self:
        if self.surviving_patient_key == self.merged_patient_key:
            raise ValueError("a patient cannot be merged into itself")
        return self


@register
class EncounterOpenedV1(EventPayload):
    event_type = "records.encounter.opened"
    schema_version = 1
    summary = "An encounter (a hospital stay, a consultation) was opened in a patient's record."

    encounter_id: UUID
    patient_key: PatientKey
    encounter_kind: EncounterKind
    department_code: ServiceCode
    origin_emergency_visit_id: UUID | None = Field(
        default=None, description="The emergency visit that led to this encounter, if any"
    )
    origin_appointment_id: UUID | None = Field(
        default=None, description="The appointment that led to this encounter, if any"
    )


@register
class EncounterClosedV1(EventPayload):
    event_type = "records.encounter.closed"
    schema_version = 1
    summary = "An encounter ended."

    encounter_id: UUID
    outcome: EncounterOutcome
    length_of_stay_hours: int | None = Field(
        default=None, ge=0, description="Whole hours from opening to closing, rounded down"
    )


@register
class DiagnosisRecordedV1(EventPayload):
    event_type = "records.diagnosis.recorded"
    schema_version = 1
    summary = "A coded (ICD-10) diagnosis was recorded for an encounter."

    diagnosis_id: UUID
    encounter_id: UUID
    icd10_code: Icd10Code
    rank: DiagnosisRank


__all__ = [
    "DiagnosisRank",
    "DiagnosisRecordedV1",
    "EncounterClosedV1",
    "EncounterKind",
    "EncounterOpenedV1",
    "EncounterOutcome",
    "PatientMergedV1",
    "PatientRegisteredV1",
]
