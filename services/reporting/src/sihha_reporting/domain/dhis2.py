"""The ministry report as a DHIS2 `dataValueSets` payload, through a configurable mapping.

The mapping (YAML or JSON) names, for every figure of the report, the DHIS2
data element (and category option combo), and for every row the org unit::

    dataSet: BfMAe6Itzgt                 # optional
    attributeOptionCombo: HllvX50cXC0    # optional
    orgUnits:                            # report row key -> org unit uid
      "31": ImspTQPwCqd                  # the wilaya (total rows)
      "31:PC": O6uvpzGd5pu               # the wilaya's polyclinics
    dataElements:                        # "<table>.<column>" -> data element
      polyclinic_outcomes.no_shows: {dataElement: fbfJHSPpUQD, categoryOptionCombo: HllvX50cXC0}
      # a row can have its own entry, e.g. a kind as a category option combo:
      polyclinic_outcomes.no_shows@31:PC: {dataElement: fbfJHSPpUQD, categoryOptionCombo: PT59n8BQbqM,
                                           orgUnit: ImspTQPwCqd}
    exclude: [rollout.*]                 # figures deliberately not sent (glob patterns)

Every figure must be covered (or excluded): `to_data_value_set` checks the whole
report first and refuses with the list of what is missing, before anything is
built or sent. Suppressed cells ("<5", "x", "—") are never sent.

A revision replaces what earlier revisions sent for the same period: a value they
sent and it no longer sends (a cell now suppressed, for instance) would otherwise
stay in DHIS2, and the suppressed count could be recomputed from it.
`removed_values` builds the `dataValueSets` import that deletes them, to be POSTed
with the import parameter `importStrategy=DELETE` (DELETE_STRATEGY).
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sihha_reporting.domain.problems import Dhis2MappingIncomplete

UID = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")
#: the `dataValueSets` import parameter that deletes the values of the payload
DELETE_STRATEGY = {"importStrategy": "DELETE"}
#: what identifies a data value in DHIS2
VALUE_IDENTITY = ("dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo")


class MappingError(ValueError):
    """The mapping file itself is malformed."""


@dataclass(frozen=True)
class Element:
    data_element: str
    category_option_combo: str | None = None
    org_unit: str | None = None


@dataclass(frozen=True)
class Mapping:
    org_units: dict[str, str]
    data_elements: dict[str, Element]
    data_set: str | None = None
    attribute_option_combo: str | None = None
    exclude: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Mapping:
        if not isinstance(data, dict):
            raise MappingError("the mapping must be a mapping (YAML/JSON object)")
        problems: list[str] = []

        def uid(value: Any, where: str) -> str:
            if not isinstance(value, str) or not UID.match(value):
                problems.append(
                    f"{where}: {value!r} is not a DHIS2 uid (11 characters, a letter first)"
                )
                return ""
            return value

        org_units = {
            str(k): uid(v, f"orgUnits[{k}]") for k, v in (data.get("orgUnits") or {}).items()
        }
        elements: dict[str, Element] = {}
        for key, value in (data.get("dataElements") or {}).items():
            if isinstance(value, str):
                value = {"dataElement": value}
            if not isinstance(value, dict) or "dataElement" not in value:
                problems.append(f"dataElements[{key}]: needs a dataElement")
                continue
            elements[str(key)] = Element(
                uid(value["dataElement"], f"dataElements[{key}].dataElement"),
                uid(value["categoryOptionCombo"], f"dataElements[{key}].categoryOptionCombo")
                if value.get("categoryOptionCombo")
                else None,
                uid(value["orgUnit"], f"dataElements[{key}].orgUnit")
                if value.get("orgUnit")
                else None,
            )
        data_set = uid(data["dataSet"], "dataSet") if data.get("dataSet") else None
        aoc = (
            uid(data["attributeOptionCombo"], "attributeOptionCombo")
            if data.get("attributeOptionCombo")
            else None
        )
        if problems:
            raise MappingError("; ".join(problems))
        return cls(org_units, elements, data_set, aoc, tuple(data.get("exclude") or ()))

    @classmethod
    def load(cls, path: Path) -> Mapping:
        text = path.read_text("utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        return cls.parse(data)

    def excluded(self, key: str) -> bool:
        return any(fnmatch.fnmatchcase(key, pattern) for pattern in self.exclude)


def figures(report: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """Every (figure key "<table>.<column>", row key, displayed value) of a ministry report."""
    out = []
    for table in report["tables"]:
        for row, cells in zip(table["rows"], table["cells"], strict=True):
            for column, value in zip(table["columns"], cells, strict=True):
                out.append((f"{table['id']}.{column['key']}", row["key"], value))
    return out


def _period(report: dict[str, Any]) -> str:
    start = str(report["period"]["start"])
    if report["period"]["kind"] != "monthly":
        raise MappingError("only monthly reports map to DHIS2 periods here (YYYYMM)")
    return start[:4] + start[5:7]


def to_data_value_set(
    report: dict[str, Any], mapping: Mapping, *, complete_date: str | None
) -> dict[str, Any]:
    """The DHIS2 payload; `Dhis2MappingIncomplete` (422) names every unmapped figure first.

    `complete_date` (ISO day) registers the data set as complete; None for a provisional
    report (a month still running), whose values are sent without that registration."""
    period = _period(report)
    missing: list[str] = []
    planned: list[tuple[Element, str, Any, str]] = []
    for key, row, value in figures(report):
        if mapping.excluded(key):
            continue
        element = mapping.data_elements.get(f"{key}@{row}") or mapping.data_elements.get(key)
        if element is None:
            missing.append(f"dataElements: {key}")
            continue
        org_unit = element.org_unit or mapping.org_units.get(row)
        if org_unit is None:
            missing.append(f"orgUnits: {row} (for {key})")
            continue
        planned.append((element, org_unit, value, f"{key}@{row}"))
    if missing:
        raise Dhis2MappingIncomplete(sorted(set(missing)))
    values = []
    for element, org_unit, value, key in planned:
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue  # suppressed or withheld: never sent
        entry: dict[str, Any] = {
            "dataElement": element.data_element,
            "period": period,
            "orgUnit": org_unit,
            "value": str(value),
            "comment": key,
        }
        if element.category_option_combo:
            entry["categoryOptionCombo"] = element.category_option_combo
        if mapping.attribute_option_combo:
            entry["attributeOptionCombo"] = mapping.attribute_option_combo
        values.append(entry)
    payload: dict[str, Any] = {"period": period, "dataValues": values}
    if complete_date is not None:
        payload["completeDate"] = complete_date
    if mapping.data_set:
        payload["dataSet"] = mapping.data_set
    return payload


def _identity(value: dict[str, Any]) -> tuple[str | None, ...]:
    return tuple(value.get(name) for name in VALUE_IDENTITY)


def removed_values(sent: list[dict[str, Any]], current: dict[str, Any]) -> dict[str, Any] | None:
    """The payload deleting every value one of the `sent` payloads (earlier revisions of the
    same report) holds and `current` no longer sends; None when nothing was removed."""
    kept = {_identity(value) for value in current["dataValues"]}
    removed: dict[tuple[str | None, ...], dict[str, Any]] = {}
    for payload in sent:
        for value in payload.get("dataValues", []):
            identity = _identity(value)
            if identity not in kept:
                removed[identity] = {k: value[k] for k in (*VALUE_IDENTITY, "value") if k in value}
    if not removed:
        return None
    deletion: dict[str, Any] = {
        "period": current["period"],
        "dataValues": [
            removed[k] for k in sorted(removed, key=lambda k: tuple(x or "" for x in k))
        ],
    }
    if "dataSet" in current:
        deletion["dataSet"] = current["dataSet"]
    return deletion
