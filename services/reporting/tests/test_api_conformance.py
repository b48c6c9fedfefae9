"""The reporting service's API does what its OpenAPI document says (schemathesis over
every operation, with tokens for the roles each admits; see sihha_kit.testing.api_fuzz
and docs/testing.md)."""

from __future__ import annotations

from typing import Any

from sihha_kit.devtools import TokenIssuer
from sihha_kit.testing.api_fuzz import Exclusion, fuzz_api
from sihha_reporting.bootstrap import create_app
from sihha_reporting.config import ReportingSettings

EXCLUDED = [
    Exclusion(
        "GET /monitor/stream",
        "a Server-Sent Events stream that never ends while the client stays; "
        "test_monitor.py reads it",
    ),
]


async def test_the_api_does_what_its_document_says(
    reporting_settings: ReportingSettings, clock: Any, token_issuer: TokenIssuer
) -> None:
    report = await fuzz_api(
        create_app(reporting_settings, clock=clock),
        issuer=token_issuer,
        establishments=["31-PC-001"],
        path_values={"facility_id": ["31-PC-001"]},
        exclude=EXCLUDED,
    )
    assert report.failures == {}, str(report)
