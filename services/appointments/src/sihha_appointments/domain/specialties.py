"""The specialist consultations offered for remote booking (codes as in the contracts'
`SpecialtyCode`). Their names are in the catalogues under ``specialty.<code in lower case>``."""

from __future__ import annotations

from sihha_kit.i18n import N_

SPECIALTIES: dict[str, str] = {
    "CARDIO": N_("specialty.cardio"),
    "DERMA": N_("specialty.derma"),
    "ENDO": N_("specialty.endo"),
    "GASTRO": N_("specialty.gastro"),
    "GYN": N_("specialty.gyn"),
    "NEURO": N_("specialty.neuro"),
    "OPHTA": N_("specialty.ophta"),
    "ORL": N_("specialty.orl"),
    "PED": N_("specialty.ped"),
    "PNEUMO": N_("specialty.pneumo"),
    "PSY": N_("specialty.psy"),
    "RHUMA": N_("specialty.rhuma"),
    "TRAUMA": N_("specialty.trauma"),
    "URO": N_("specialty.uro"),
}


def is_specialty(code: str) -> bool:
    return code in SPECIALTIES
