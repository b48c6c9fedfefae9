"""Events of the emergency service (emergency-department visits, triage, dispositions).

An emergency visit runs: arrived → triaged (possibly again) → seen by a
doctor → disposition decided → departed. An admission decided here is what
makes the records service open an inpatient encounter.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self
from uuid import UUID

from pydantic import Field, StringConstraints, model_validator

from sihha_contracts.catalogue import register
from sihha_contracts.envelope import EventPayload
from sihha_contracts.types import AgeBand, FacilityCode, PatientKey, ServiceCode, Sex

#: A zone of the emergency department, e.g. ``resuscitation``, ``acute``, ``fast_track``.
ZoneCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$"),
    Field(examples=["resuscitation", "acute", "fast_track"]),
]

#: Five-level triage scale (as CIMU/ESI): 1 immediate (life at stake, resuscitation),
#: 2 very urgent (within 20 min), 3 urgent (within 60 min), 4 less urgent
#: (within 120 min), 5 non-urgent (within 240 min).
TriageLevel = Annotated[
    int,
    Field(
        ge=1,
        le=5,
        description=(
            "1 immediate, 2 very urgent (≤20 min), 3 urgent (≤60 min), "
            "4 less urgent (≤120 min), 5 non-urgent (≤240 min)"
        ),
    ),
]


class ArrivalMode(StrEnum):
    WALK_IN = "walk_in"
    AMBULANCE = "ambulance"
    POLICE = "police"
    TRANSFER = "transfer"


class Disposition(StrEnum):
    DISCHARGED = "discharged"
    ADMITTED = "admitted"
    TRANSFERRED = "transferred"
    LEFT_WITHOUT_BEING_SEEN = "left_without_being_seen"
    LEFT_AGAINST_ADVICE = "left_against_advice"
    DECEASED = "deceased"


class AlertKind(StrEnum):
    """`overcrowding`: `value` patients present against a `threshold` of patients;
    `long_wait`: the longest current wait, `value` minutes against `threshold` minutes."""

    OVERCROWDING = "overcrowding"
    LONG_WAIT = "long_wait"


class AlertLevel(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@register
class EmergencyVisitArrivedV1(EventPayload):
    event_type = "emergency.visit.arrived"
    schema_version = 1
    summary = "A patient was admitted to the emergency department."

    visit_id: UUID
    arrival_mode: ArrivalMode
    patient_key: PatientKey | None = Field(
        default=None, description="Null while the patient is not identified"
    )
    age_band: AgeBand
    sex: Sex


@register
class EmergencyVisitTriagedV1(EventPayload):
    event_type = "emergency.visit.triaged"
    schema_version = 1
    summary = "A triage nurse assessed an emergency patient (again, if re-triaged)."

    visit_id: UUID
    triage_level: TriageLevel
    zone: ZoneCode = Field(description="The zone the patient was sent to")


@register
class EmergencyVisitSeenByDoctorV1(EventPayload):
    event_type = "emergency.visit.seen_by_doctor"
    schema_version = 1
    summary = "An emergency patient was first seen by a doctor."

    visit_id: UUID
    minutes_since_arrival: int | None = Field(default=None, ge=0)


@register
class EmergencyVisitDispositionDecidedV1(EventPayload):
    event_type = "emergency.visit.disposition_decided"
    schema_version = 1
    summary = "The outcome of an emergency visit was decided (discharge, admission, ...)."

    visit_id: UUID
    disposition: Disposition
    patient_key: PatientKey | None = Field(
        default=None, description="So that an admission can open the patient's encounter"
    )
    admitting_department_code: ServiceCode | None = Field(
        default=None, description="Only for `admitted`: the department that takes the patient"
    )
    transfer_facility_id: FacilityCode | None = Field(
        default=None, description="Only for `transferred`: the receiving establishment"
    )

    @model_validator(mode="after")
    def _details_fit_disposition(self) -> Self:
        if self.admitting_department_code is not None and self.disposition != Disposition.ADMITTED:
            raise ValueError("admitting_department_code applies only to 'admitted'")
        if self.transfer_facility_id is not None and self.disposition != Disposition.TRANSFERRED:
            raise ValueError("transfer_facility_id applies only to 'transferred'")
        return self


@register
class EmergencyVisitDepartedV1(EventPayload):
    event_type = "emergency.visit.departed"
    schema_version = 1
    summary = "An emergency patient left the department."

    visit_id: UUID
    length_of_stay_minutes: int = Field(ge=0, description="From arrival to departure")
    disposition: Disposition | None = None


@register
class EmergencyAlertRaisedV1(EventPayload):
    event_type = "emergency.alert.raised"
    schema_version = 1
    summary = "An emergency department crossed an alert threshold (overcrowding, long waits)."

    alert_kind: AlertKind
    level: AlertLevel
    value: float = Field(description="The measured value, in the unit of `alert_kind`")
    threshold: float = Field(description="The threshold it crossed, in the same unit")
    zone: ZoneCode | None = Field(default=None, description="Null for the whole department")


__all__ = [
    "AlertKind",
    "AlertLevel",
    "ArrivalMode",
    "Disposition",
    "EmergencyAlertRaisedV1",
    "EmergencyVisitArrivedV1",
    "EmergencyVisitDepartedV1",
    "EmergencyVisitDispositionDecidedV1",
    "EmergencyVisitSeenByDoctorV1",
    "EmergencyVisitTriagedV1",
    "TriageLevel",
    "ZoneCode",
]
