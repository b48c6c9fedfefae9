"""The OpenAPI document a service gets from the kit, and the fuzzer that holds a service
to it (`sihha_kit.testing.api_fuzz`): it passes an honest API, and it finds each kind of
lie the issue named (a 500, an undeclared status, validation the document does not
show, a path parameter that takes anything)."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Path, Query
from pydantic import AfterValidator, BaseModel

from sihha_kit.auth import (
    Authorizer,
    Caller,
    IssuerKeys,
    Role,
    TokenVerifier,
    TrustedIssuer,
    document_bearer_auth,
    ensure_establishment,
    install_verifier,
)
from sihha_kit.devtools import TokenIssuer
from sihha_kit.errors import Conflict, NotFound
from sihha_kit.problems import (
    PROBLEM_JSON,
    PROBLEM_REF,
    document_problems,
    install_problem_handlers,
    problems,
)
from sihha_kit.testing.api_fuzz import Exclusion, FuzzReport, fuzz_api

CLINIC = "31-PC-001"
FacilityPath = Annotated[str, Path(pattern=r"^[0-9]{2}-[A-Z]{2,5}-[0-9]{2,4}$")]
require = Authorizer()


def _long_enough(value: str) -> str:
    if len(value) < 3:  # a minLength the document does not show
        raise ValueError("at least 3 characters")
    return value


class Note(BaseModel):
    #: the server refuses what the document does not say it refuses
    text: Annotated[str, AfterValidator(_long_enough)]


def _app(verifier: TokenVerifier, *, honest: bool, seen: list[str]) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    document_problems(app)

    @app.get("/establishments/{facility_id}/queue-length", responses=problems(409))
    async def queue_length(
        facility_id: FacilityPath,
        caller: Annotated[Caller, Depends(require(Role.doctor, Role.it_unit))],
        service: Annotated[str, Query(pattern=r"^[A-Z]{2,8}$")] = "MG",
    ) -> dict[str, Any]:
        ensure_establishment(caller, facility_id)
        seen.extend(sorted(caller.roles))
        if service == "XX":
            raise Conflict("service-closed")
        return {"facility_id": facility_id, "service": service, "waiting": 3}

    if not honest:

        @app.post("/divide")
        async def divide(by: Annotated[int, Query(ge=-5, le=5)]) -> dict[str, float]:
            return {"result": 10 / by}  # by=0: a 500

        @app.post("/tickets/{ticket_id}/call")  # the 409 it raises is not declared
        async def call(ticket_id: Annotated[str, Path(pattern=r"^[0-9]+$")]) -> None:
            raise Conflict("already-called")

        @app.post("/notes")
        async def note(body: Note) -> Note:
            return body

        @app.get("/codes/{code}")
        async def code(code: str) -> dict[str, str]:
            raise NotFound("unknown-code")

    document_bearer_auth(app)
    install_verifier(app, verifier)
    return app


@pytest.fixture(scope="module")
def verifier(dev_keys: FilePath) -> TokenVerifier:
    verifier = TokenVerifier(
        [IssuerKeys(TrustedIssuer(issuer="sihha-dev", jwks=str(dev_keys / "jwks.json")))]
    )
    verifier.load_now()
    return verifier


def test_the_document_declares_the_kits_problems(verifier: TokenVerifier) -> None:
    doc = _app(verifier, honest=False, seen=[]).openapi()
    assert doc["components"]["schemas"]["Problem"]["required"][:3] == ["type", "title", "status"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    length = doc["paths"]["/establishments/{facility_id}/queue-length"]["get"]
    assert length["security"] == [{"bearer": ["doctor", "it_unit"]}]
    assert set(length["responses"]) == {
        "200",
        "401",
        "403",
        "404",
        "409",
        "413",
        "422",
        "500",
        "503",
    }
    for status in ("401", "403", "404", "409", "413", "422", "500", "503"):
        assert length["responses"][status]["content"] == {
            PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}
        }, status
    notes = doc["paths"]["/notes"]["post"]
    assert "security" not in notes
    assert set(notes["responses"]) == {"200", "400", "413", "422", "500", "503"}


async def test_an_honest_api_passes_with_a_token_for_each_admitted_role(
    verifier: TokenVerifier, token_issuer: TokenIssuer
) -> None:
    seen: list[str] = []
    report = await fuzz_api(
        _app(verifier, honest=True, seen=seen),
        issuer=token_issuer,
        establishments=[CLINIC],
        path_values={"facility_id": [CLINIC]},
        max_examples=30,
    )
    assert report.failures == {}, str(report)
    assert report.operations == ["GET /establishments/{facility_id}/queue-length"]
    assert report.cases >= 30
    assert {"doctor", "it_unit"} <= set(seen)  # both roles' tokens reached the handler


async def test_the_fuzzer_finds_what_the_document_hides(
    verifier: TokenVerifier, token_issuer: TokenIssuer
) -> None:
    report: FuzzReport = await fuzz_api(
        _app(verifier, honest=False, seen=[]),
        issuer=token_issuer,
        establishments=[CLINIC],
        exclude=[Exclusion("GET /establishments/{facility_id}/queue-length", "tested above")],
        max_examples=30,
    )
    failures = report.failures
    assert set(failures) == {
        "POST /divide",
        "POST /tickets/{ticket_id}/call",
        "POST /notes",
        "GET /codes/{code}",
    }, str(report)
    assert "Server error" in failures["POST /divide"]
    assert "Undocumented status code" in failures["POST /tickets/{ticket_id}/call"]
    assert "the server's validation refused it" in failures["POST /notes"]
    assert "path parameter(s) code accept any string" in failures["GET /codes/{code}"]
    assert "excluded GET /establishments/{facility_id}/queue-length: tested above" in str(report)


async def test_an_exclusion_must_name_an_operation(
    verifier: TokenVerifier, token_issuer: TokenIssuer
) -> None:
    with pytest.raises(ValueError, match="GET /nowhere"):
        await fuzz_api(
            _app(verifier, honest=True, seen=[]),
            issuer=token_issuer,
            establishments=[CLINIC],
            exclude=[Exclusion("GET /nowhere", "stale")],
        )
