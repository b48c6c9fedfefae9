"""The services' JSONResponse writes what Starlette's writes, faster."""

from __future__ import annotations

import math
from datetime import date

from starlette.responses import JSONResponse as StarletteJSONResponse

from sihha_kit.responses import JSONResponse


def test_the_body_is_byte_for_byte_starlettes() -> None:
    content = {
        "label": "MG-042",
        "name_ar": "العيادة متعددة الخدمات العقيد لطفي",
        "name_fr": "Polyclinique Hai Es Sabah — étage 1",
        "number": 42,
        "wait_minutes": 12.5,
        "counter_label": None,
        "ok": True,
        "steps": [{"at": date(2026, 11, 25).isoformat()}, []],
    }
    ours = JSONResponse(content, status_code=201)
    theirs = StarletteJSONResponse(content, status_code=201)
    assert ours.body == theirs.body
    assert ours.headers["content-type"] == "application/json"
    assert ours.status_code == 201


def test_a_float_json_cannot_carry_becomes_null() -> None:
    assert JSONResponse({"a": math.nan, "b": math.inf}).body == b'{"a":null,"b":null}'
