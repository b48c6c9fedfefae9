"""The curated table of clinically important drug–drug interactions, as data.

``sihha_queue/data/interactions.toml`` holds the pairs (by substance or by class of
substances) with their sources (Phansalkar et al. 2012, the ONC high-priority list;
the ANSM interaction thesaurus); this module reads it and finds the pairs present in
a set of substances. No external service is called.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from sihha_kit.i18n import N_

INTERACTIONS_FILE: Final = "interactions.toml"

#: what an interaction does, as the doctor reads it (texts in the catalogues)
EFFECTS: Final = {
    "hypertensive-crisis": N_("interaction.effect.hypertensive-crisis"),
    "reduced-antiviral-effect": N_("interaction.effect.reduced-antiviral-effect"),
    "bone-marrow-toxicity": N_("interaction.effect.bone-marrow-toxicity"),
    "serotonin-syndrome": N_("interaction.effect.serotonin-syndrome"),
    "increased-toxicity": N_("interaction.effect.increased-toxicity"),
    "rhabdomyolysis": N_("interaction.effect.rhabdomyolysis"),
    "ergotism": N_("interaction.effect.ergotism"),
    "hypotension-sedation": N_("interaction.effect.hypotension-sedation"),
    "opioid-antagonism": N_("interaction.effect.opioid-antagonism"),
    "gastrointestinal-bleeding": N_("interaction.effect.gastrointestinal-bleeding"),
    "mutual-antagonism": N_("interaction.effect.mutual-antagonism"),
}
SEVERITIES: Final = {
    "contraindicated": N_("interaction.severity.contraindicated"),
    "avoid": N_("interaction.severity.avoid"),
}


@dataclass(frozen=True)
class Interaction:
    id: str
    source: str
    severity: str
    effect: str
    a: frozenset[str]
    #: empty with `within`: any two different members of `a`
    b: frozenset[str]
    within: bool = False

    def between(self, first: str, second: str) -> bool:
        """Whether substances `first` and `second` (of two different lines) interact."""
        if self.within:
            return first != second and first in self.a and second in self.a
        return (first in self.a and second in self.b) or (first in self.b and second in self.a)


@dataclass(frozen=True)
class InteractionTable:
    interactions: tuple[Interaction, ...]

    @property
    def substances(self) -> frozenset[str]:
        return frozenset(s for i in self.interactions for s in i.a | i.b)

    def find(
        self, first: Iterable[str], second: Iterable[str]
    ) -> list[tuple[Interaction, str, str]]:
        """Every (interaction, substance of `first`, substance of `second`) that applies."""
        found: list[tuple[Interaction, str, str]] = []
        seconds = list(second)
        for x in first:
            for y in seconds:
                for interaction in self.interactions:
                    if interaction.between(x, y):
                        found.append((interaction, x, y))
        return found


def parse_table(data: Mapping[str, Any]) -> InteractionTable:
    classes: Mapping[str, list[str]] = data.get("classes", {})

    def members(value: Any) -> frozenset[str]:
        if isinstance(value, str):
            return frozenset(classes[value])
        return frozenset(str(v) for v in value)

    interactions = []
    for entry in data["interaction"]:
        if entry["effect"] not in EFFECTS or entry["severity"] not in SEVERITIES:
            raise ValueError(f"{INTERACTIONS_FILE}: {entry['id']}: unknown effect or severity")
        interactions.append(
            Interaction(
                id=str(entry["id"]),
                source=str(entry["source"]),
                severity=str(entry["severity"]),
                effect=str(entry["effect"]),
                a=members(entry["a"]),
                b=members(entry.get("b", [])),
                within=bool(entry.get("within", False)),
            )
        )
    return InteractionTable(tuple(interactions))


@cache
def load_interactions() -> InteractionTable:
    """The table shipped with the service (read once)."""
    text = resources.files("sihha_queue").joinpath("data", INTERACTIONS_FILE).read_text("utf-8")
    return parse_table(tomllib.loads(text))
