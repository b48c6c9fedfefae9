"""No personal data on the bus: no field may name or describe a person.

Patients appear only as a pseudonymous `PatientKey`; age band and sex are
enough for statistics. These tests walk the exported schema of every event.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from sihha_contracts.envelope import EventPayload
from sihha_contracts.export import event_schema

#: words that, as a whole part of a snake_case name, mark personal data or free text
FORBIDDEN_WORDS = frozenset(
    {
        "nin", "nss", "cnas", "chifa", "ssn", "passport", "dob", "born", "tel",
        "mobile", "gsm", "fax", "contact", "note", "notes", "comment", "comments",
        "remark", "remarks", "text", "narrative", "complaint", "surname", "forename",
        "firstname", "lastname", "fullname", "nom", "prenom", "adresse", "ip",
    }
)  # fmt: skip
#: fragments that mark personal data wherever they appear in a name
FORBIDDEN_FRAGMENTS = ("name", "phone", "address", "birth", "mail", "street", "gps", "latitude")
#: an exact age identifies far more than an age band
EXACT_AGE = re.compile(r"^(exact_)?age(_in)?(_years|_months|_days)?$")
#: the envelope's producer name is a service's name, not a person's
ALLOWED = frozenset({"$defs/Producer/properties/name"})
#: the longest string a field may take without a pattern, enum or format
LONGEST_UNCONSTRAINED_STRING = 32


def looks_personal(name: str) -> bool:
    lowered = name.lower()
    return (
        bool(set(re.split(r"[_\W]+", lowered)) & FORBIDDEN_WORDS)
        or any(fragment in lowered for fragment in FORBIDDEN_FRAGMENTS)
        or bool(EXACT_AGE.match(lowered))
    )


def properties(schema: Any, path: str = "") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, property name, property schema) of every property, however deep."""
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            yield f"{path}properties/{name}", name, sub
        for key, value in schema.items():
            yield from properties(value, f"{path}{key}/")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from properties(item, f"{path}{index}/")


def personal_fields(schema: dict[str, Any]) -> list[str]:
    return sorted(
        path for path, name, _ in properties(schema) if looks_personal(name) and path not in ALLOWED
    )


def free_text_fields(schema: dict[str, Any]) -> list[str]:
    """String fields without pattern, enum, const or format and longer than a short label."""
    found = []
    for path, _, sub in properties(schema):
        for variant in sub.get("anyOf", [sub]):
            if variant.get("type") != "string" or {"pattern", "enum", "const", "format"} & set(
                variant
            ):
                continue
            if variant.get("maxLength", 10**9) > LONGEST_UNCONSTRAINED_STRING:
                found.append(path)
    return sorted(found)


def test_no_field_looks_like_personal_data(model: type[EventPayload]) -> None:
    assert personal_fields(event_schema(model)) == []


def test_no_payload_field_takes_free_text(model: type[EventPayload]) -> None:
    assert free_text_fields(event_schema(model)["$defs"][model.__name__]) == []


def test_patients_are_named_only_by_their_key(model: type[EventPayload]) -> None:
    schema = event_schema(model)
    for path, name, sub in properties(schema):
        if "patient" in name:
            assert name.endswith("patient_key"), path
            patterns = {variant.get("pattern") for variant in sub.get("anyOf", [sub])}
            assert "^[0-9a-f]{64}$" in patterns, path


class _Leaky(BaseModel):
    first_name: str
    phoneNumber: str
    date_of_birth: str
    nin: str
    age: int
    home_address: str
    clinical_notes: str
    age_band: str
    ticket_id: str


def test_the_checks_catch_a_leaky_model() -> None:
    schema = _Leaky.model_json_schema()
    assert [path.rsplit("/", 1)[1] for path in personal_fields(schema)] == sorted(
        ["first_name", "phoneNumber", "date_of_birth", "nin", "age", "home_address",
         "clinical_notes"]
    )  # fmt: skip
    assert len(free_text_fields(schema)) == len(_Leaky.model_fields) - 1  # all but `age`


@pytest.mark.parametrize(
    "name", ["age_band", "sex", "patient_key", "home_commune", "counter_label"]
)
def test_statistical_fields_are_allowed(name: str) -> None:
    assert not looks_personal(name)
