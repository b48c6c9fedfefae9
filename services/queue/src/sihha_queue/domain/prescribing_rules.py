"""The rules of the nomenclature's lists (Liste I, Liste II, stupéfiants), as data.

The figures are in ``sihha_queue/data/prescribing_rules.toml`` with the texts they come
from and what could not be verified; this module reads them and applies them to a line.
A line that breaks a rule is refused (a `RuleViolation`, 422); rules are not warnings
and cannot be overridden.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from sihha_contracts.events.queue import ListClass
from sihha_kit.errors import BadRequest
from sihha_kit.i18n import N_

RULES_FILE: Final = "prescribing_rules.toml"


@dataclass(frozen=True)
class ListRule:
    list_class: ListClass
    label: str
    prescriber_roles: frozenset[str]
    max_duration_days: int
    injectable_max_duration_days: int | None
    renewal_allowed: bool
    max_renewals: int
    quantity_in_words: bool
    max_validity_days: int
    verified: bool

    def max_duration_for(self, form: str) -> int:
        """The longest treatment a line of this form may cover, in days (0: no limit)."""
        if self.injectable_max_duration_days is not None and is_injectable(form):
            return self.injectable_max_duration_days
        return self.max_duration_days


@dataclass(frozen=True)
class PrescribingRules:
    lists: Mapping[ListClass, ListRule]
    default_validity_days: int
    max_validity_days: int
    max_lines: int

    def for_list(self, list_class: ListClass) -> ListRule:
        return self.lists[list_class]


def is_injectable(form: str) -> bool:
    """Whether a nomenclature FORME is injectable (``SOLUTION INJECTABLE``, ``SOL.INJ``…)."""
    upper = form.upper()
    return "INJ" in upper or "PERF" in upper


def parse_rules(data: Mapping[str, Any]) -> PrescribingRules:
    """The rules from the TOML document's data; ValueError names a missing list."""
    lists: dict[ListClass, ListRule] = {}
    for list_class in ListClass:
        entry = data["lists"].get(list_class.value)
        if entry is None:
            raise ValueError(f"{RULES_FILE}: no rule for list {list_class.value}")
        lists[list_class] = ListRule(
            list_class=list_class,
            label=str(entry["label"]),
            prescriber_roles=frozenset(entry["prescriber_roles"]),
            max_duration_days=int(entry["max_duration_days"]),
            injectable_max_duration_days=(
                int(entry["injectable_max_duration_days"])
                if "injectable_max_duration_days" in entry
                else None
            ),
            renewal_allowed=bool(entry["renewal_allowed"]),
            max_renewals=int(entry["max_renewals"]),
            quantity_in_words=bool(entry["quantity_in_words"]),
            max_validity_days=int(entry["max_validity_days"]),
            verified=bool(entry.get("verified", False)),
        )
    default = data["default"]
    return PrescribingRules(
        lists=lists,
        default_validity_days=int(default["default_validity_days"]),
        max_validity_days=int(default["max_validity_days"]),
        max_lines=int(default["max_lines"]),
    )


@cache
def load_rules() -> PrescribingRules:
    """The rules shipped with the service (read once)."""
    text = resources.files("sihha_queue").joinpath("data", RULES_FILE).read_text("utf-8")
    return parse_rules(tomllib.loads(text))


class RuleViolation(BadRequest):
    """A line breaks a rule of its product's list: 422, nothing is written."""


def check_line(
    rules: PrescribingRules,
    *,
    line_no: int,
    list_class: ListClass,
    form: str,
    duration_days: int,
    renewals: int,
    quantity_in_words: str | None,
    prescriber_roles: frozenset[str],
) -> None:
    """Raise `RuleViolation` for the first rule of its list that the line breaks."""
    rule = rules.for_list(list_class)
    if not rule.prescriber_roles & prescriber_roles:
        raise RuleViolation(N_("prescriber-not-allowed"), line=line_no, list_class=list_class.value)
    longest = rule.max_duration_for(form)
    if longest and duration_days > longest:
        raise RuleViolation(
            N_("duration-above-maximum"),
            line=line_no,
            list_class=list_class.value,
            duration_days=duration_days,
            max_duration_days=longest,
        )
    if renewals and not rule.renewal_allowed:
        raise RuleViolation(N_("renewal-not-allowed"), line=line_no, list_class=list_class.value)
    if renewals > rule.max_renewals:
        raise RuleViolation(
            N_("too-many-renewals"), line=line_no, renewals=renewals, max_renewals=rule.max_renewals
        )
    if rule.quantity_in_words and not (quantity_in_words or "").strip():
        raise RuleViolation(N_("quantity-in-words-required"), line=line_no)


def validity_limit(rules: PrescribingRules, list_classes: set[ListClass]) -> int:
    """The longest validity, in days, that a prescription with these lists may have."""
    return min(
        [rules.max_validity_days, *(rules.for_list(c).max_validity_days for c in list_classes)]
    )
