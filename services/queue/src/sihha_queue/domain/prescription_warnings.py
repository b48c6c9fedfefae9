"""Warnings a doctor sees before signing, computed offline from the repository's data.

- ``duplicate-dci``: the same active substance on two lines of the prescription
  (paracetamol alone and paracetamol/codeine count);
- ``duplicate-active``: a substance already on another still-active prescription of
  the same patient (by pseudonymous key);
- ``dose-above-maximum``: a substance's daily dose, summed over the lines, above the
  usual adult maximum of ``data/dose_limits.toml`` (where it gives one and the dose
  can be computed from the product's DOSAGE);
- ``interaction``: a pair of ``data/interactions.toml`` between two lines, or between
  a line and another still-active prescription of the patient.

Each warning has a stable `Warning.key`; the doctor overrides it by sending that key
with a reason, which is kept with the prescription.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Final

from sihha_contracts.events.queue import PrescriptionWarningKind
from sihha_kit.i18n import N_, Message
from sihha_queue.domain.interactions import EFFECTS, SEVERITIES, InteractionTable

DOSE_LIMITS_FILE: Final = "dose_limits.toml"


WarningKind = PrescriptionWarningKind


WARNING_TEXTS: Final = {
    WarningKind.DUPLICATE_DCI: N_("prescription.warning.duplicate-dci"),
    WarningKind.DUPLICATE_ACTIVE: N_("prescription.warning.duplicate-active"),
    WarningKind.DOSE_ABOVE_MAXIMUM: N_("prescription.warning.dose-above-maximum"),
    WarningKind.INTERACTION: N_("prescription.warning.interaction"),
}


class DoseUnit(StrEnum):
    """What one dose is counted in."""

    MG = "mg"
    G = "g"
    UG = "ug"
    ML = "ml"
    TABLET = "tablet"
    CAPSULE = "capsule"
    SACHET = "sachet"
    SUPPOSITORY = "suppository"
    AMPOULE = "ampoule"
    DROP = "drop"
    PUFF = "puff"
    APPLICATION = "application"


#: units that are one unit of the product as the DOSAGE column describes it
COUNTED_UNITS: Final = {
    DoseUnit.TABLET,
    DoseUnit.CAPSULE,
    DoseUnit.SACHET,
    DoseUnit.SUPPOSITORY,
    DoseUnit.AMPOULE,
}
_MASS_IN_MG: Final = {
    DoseUnit.MG: Decimal(1),
    DoseUnit.G: Decimal(1000),
    DoseUnit.UG: Decimal("0.001"),
}


@dataclass(frozen=True)
class Warning:
    kind: WarningKind
    #: the stable key a doctor's override names, e.g. ``interaction:nsaid-nsaid:DICLOFENAC+IBUPROFENE``
    key: str
    #: line numbers concerned (1-based)
    lines: tuple[int, ...]
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self) -> Message:
        params = dict(self.params)
        if self.kind is WarningKind.INTERACTION:
            params["effect"] = Message(EFFECTS[str(params["effect"])])
            params["severity"] = Message(SEVERITIES[str(params["severity"])])
        return Message(WARNING_TEXTS[self.kind], **params)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "key": self.key,
            "lines": list(self.lines),
            "params": {
                k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.params.items()
            },
        }


@dataclass(frozen=True)
class CheckedLine:
    """What the checks need of a line."""

    line_no: int
    substances: tuple[str, ...]
    dosage: str
    dose: Decimal
    dose_unit: DoseUnit
    frequency_per_day: int


@dataclass(frozen=True)
class ActivePrescription:
    """Another still-active prescription of the same patient."""

    prescription_id: str
    substances: frozenset[str]


@dataclass(frozen=True)
class DoseLimits:
    max_daily_mg: Mapping[str, Decimal]


@cache
def load_dose_limits() -> DoseLimits:
    text = resources.files("sihha_queue").joinpath("data", DOSE_LIMITS_FILE).read_text("utf-8")
    data = tomllib.loads(text)
    return DoseLimits({k: Decimal(str(v)) for k, v in data["max_daily_mg"].items()})


_MASS = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(MG|G|UG|µG|MCG)$")
_VOLUME = re.compile(r"^([0-9]+(?:\.[0-9]+)?)?ML$")
_UNIT_WORDS = frozenset({"GELULE", "COMPRIME", "SACHET", "SUPPOSITOIRE", "CP", "GEL", "STICK"})


@dataclass(frozen=True)
class Strength:
    """mg of each substance per unit of the product, or per ml for a solution."""

    mg: tuple[Decimal, ...]
    per_ml: bool


def parse_strength(dosage: str) -> Strength | None:
    """The strength a nomenclature DOSAGE states, where it is plain enough:
    ``500MG`` → (500,) per unit; ``325MG/37,5MG`` → (325, 37.5) per unit;
    ``2MG/5ML`` → (0.4,) per ml; ``10MG/ML`` → (10,) per ml. Anything else → None."""
    text = (
        re.sub(r"\(.*?\)", "", dosage.replace("µ", "U").upper()).replace(",", ".").replace(" ", "")
    )
    if not text:
        return None
    tokens = [t for t in text.split("/") if t not in _UNIT_WORDS]
    masses: list[Decimal] = []
    volume: Decimal | None = None
    for index, token in enumerate(tokens):
        mass = _MASS.match(token)
        vol = _VOLUME.match(token)
        try:
            if mass:
                factor = {"MG": 1, "G": 1000}.get(mass[2], Decimal("0.001"))
                masses.append(Decimal(mass[1]) * Decimal(factor))
            elif vol and index == len(tokens) - 1 and len(masses) == 1:
                volume = Decimal(vol[1] or "1")
            else:
                return None
        except InvalidOperation:
            return None
    if not masses:
        return None
    if volume is not None:
        if volume == 0:
            return None
        return Strength((masses[0] / volume,), per_ml=True)
    return Strength(tuple(masses), per_ml=False)


def daily_mg(line: CheckedLine) -> dict[str, Decimal]:
    """mg a day of each substance of the line, where it can be computed."""
    per_day = line.dose * line.frequency_per_day
    if line.dose_unit in _MASS_IN_MG:
        if len(line.substances) != 1:
            return {}  # a mass of a combination does not say of which substance
        return {line.substances[0]: per_day * _MASS_IN_MG[line.dose_unit]}
    strength = parse_strength(line.dosage)
    if strength is None or len(strength.mg) != len(line.substances):
        return {}
    if (line.dose_unit is DoseUnit.ML) != strength.per_ml:
        return {}
    if line.dose_unit is not DoseUnit.ML and line.dose_unit not in COUNTED_UNITS:
        return {}
    return {s: per_day * mg for s, mg in zip(line.substances, strength.mg, strict=True)}


def _fmt(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1')).normalize():f}"


def warnings_for(
    lines: Sequence[CheckedLine],
    *,
    active: Iterable[ActivePrescription] = (),
    interactions: InteractionTable,
    dose_limits: DoseLimits,
) -> list[Warning]:
    """Every warning of a prescription's lines, in a stable order."""
    found: list[Warning] = []
    # the same substance twice in this prescription
    where: dict[str, list[int]] = {}
    for line in lines:
        for substance in line.substances:
            where.setdefault(substance, []).append(line.line_no)
    for substance, numbers in where.items():
        if len(numbers) > 1:
            found.append(
                Warning(
                    WarningKind.DUPLICATE_DCI,
                    f"duplicate-dci:{substance}",
                    tuple(numbers),
                    {"substance": substance, "lines_text": ", ".join(map(str, numbers))},
                )
            )
    # already on another active prescription of the patient
    others = list(active)
    for substance, numbers in where.items():
        if any(substance in other.substances for other in others):
            found.append(
                Warning(
                    WarningKind.DUPLICATE_ACTIVE,
                    f"duplicate-active:{substance}",
                    tuple(numbers),
                    {"substance": substance},
                )
            )
    # daily dose above the usual maximum
    totals: dict[str, Decimal] = {}
    contributing: dict[str, list[int]] = {}
    for line in lines:
        for substance, mg in daily_mg(line).items():
            totals[substance] = totals.get(substance, Decimal(0)) + mg
            contributing.setdefault(substance, []).append(line.line_no)
    for substance, total in totals.items():
        limit = dose_limits.max_daily_mg.get(substance)
        if limit is not None and total > limit:
            found.append(
                Warning(
                    WarningKind.DOSE_ABOVE_MAXIMUM,
                    f"dose:{substance}",
                    tuple(contributing[substance]),
                    {"substance": substance, "daily_mg": _fmt(total), "max_mg": _fmt(limit)},
                )
            )
    # interactions between lines, then with the patient's other active prescriptions
    seen: set[str] = set()

    def add(interaction_id: str, x: str, y: str, numbers: tuple[int, ...], **params: Any) -> None:
        first, second = sorted((x, y))
        key = f"interaction:{interaction_id}:{first}+{second}"
        if key not in seen:
            seen.add(key)
            found.append(
                Warning(
                    WarningKind.INTERACTION,
                    key,
                    numbers,
                    {"first": first, "second": second, **params},
                )
            )

    for i, line in enumerate(lines):
        for other in lines[i + 1 :]:
            for interaction, x, y in interactions.find(line.substances, other.substances):
                add(
                    interaction.id,
                    x,
                    y,
                    (line.line_no, other.line_no),
                    effect=interaction.effect,
                    severity=interaction.severity,
                    source=interaction.source,
                )
        for prescription in others:
            for interaction, x, y in interactions.find(line.substances, prescription.substances):
                add(
                    interaction.id,
                    x,
                    y,
                    (line.line_no,),
                    effect=interaction.effect,
                    severity=interaction.severity,
                    source=interaction.source,
                )
    return found
