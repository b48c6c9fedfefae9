"""Request bodies of the prescription and pharmacy routes, and their problem answers."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sihha_kit.problems import problem_documentation
from sihha_queue.domain.prescription import Route
from sihha_queue.domain.prescription_warnings import DoseUnit

Registration = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9A-Z]{1,6}/[0-9]{2} ?[A-Z] ?[0-9]{3}/[0-9]{2}(/[0-9]{2})?$"),
    Field(examples=["352/01 A 003/06/22"]),
]
NomenclatureCode = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{2} [A-Z] [0-9]{3}$"), Field(examples=["01 A 003"])
]
WarningKey = Annotated[str, StringConstraints(min_length=3, max_length=160)]
Reason = Annotated[str, StringConstraints(min_length=3, max_length=300)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineRequest(Strict):
    """One line: `registration` (a product, this brand) or `code` (DCI, form and dosage:
    the pharmacy chooses the brand)."""

    registration: Registration | None = None
    code: NomenclatureCode | None = None
    dose: float = Field(gt=0, le=100000, examples=[1, 0.5], description="One dose, in `dose_unit`")
    dose_unit: DoseUnit
    route: Route
    frequency_per_day: int = Field(ge=1, le=24, description="Doses a day")
    duration_days: int = Field(ge=1, le=366, description="Days of treatment")
    quantity: int = Field(
        ge=0, le=99, description="Packs (boxes, bottles) to dispense; 0 is refused with a problem"
    )
    quantity_in_words: str | None = Field(
        default=None, max_length=120, description="The quantity in full: required for narcotics"
    )
    renewals: int = Field(default=0, ge=0, le=12)
    instructions: str = Field(default="", max_length=500)


class OverrideRequest(Strict):
    key: WarningKey = Field(description="The `key` of a warning the check returned")
    reason: Reason


class PrescriptionRequest(Strict):
    ticket_id: UUID = Field(description="The ticket being served: its visit and patient")
    lines: list[LineRequest] = Field(min_length=1, max_length=20)
    validity_days: int | None = Field(default=None, ge=1, le=366)
    overrides: list[OverrideRequest] = Field(default_factory=list, max_length=40)


class CancelPrescriptionRequest(Strict):
    reason: Annotated[
        str,
        StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,47}$"),
        Field(examples=["issued_in_error"]),
    ]


class VerifyRequest(Strict):
    code: str = Field(min_length=10, max_length=256, description="The text of the QR code")


class DispenseItemRequest(Strict):
    line_no: int = Field(ge=1, le=20)
    quantity: int = Field(ge=0, le=99, description="Packs handed over; 0 is refused")
    registration: Registration | None = Field(
        default=None,
        description="The product handed over; required for a line written by DCI, and for "
        "a substitution (same nomenclature code: same DCI, form and dosage)",
    )


class DispenseRequest(Strict):
    code: str = Field(min_length=10, max_length=256)
    items: list[DispenseItemRequest] = Field(min_length=1, max_length=20)


def problems(**statuses: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problems a route raises itself, each with what it means
    here: ``problems(s404="…", s422="…")`` (the kit's shared Problem schema)."""
    return {
        int(key[1:]): problem_documentation(int(key[1:]), text) for key, text in statuses.items()
    }
