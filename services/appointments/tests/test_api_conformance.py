"""The appointments service's API does what its OpenAPI document says (schemathesis over
every operation, with tokens for the roles each admits; see sihha_kit.testing.api_fuzz and
docs/testing.md)."""

from __future__ import annotations

import pytest

from sihha_appointments.bootstrap import create_app
from sihha_appointments.config import AppointmentsSettings
from sihha_kit.devtools import TokenIssuer
from sihha_kit.testing.api_fuzz import fuzz_api
from sihha_kit.testing.apps import FixedClock

from .conftest import CLINIC

pytestmark = pytest.mark.integration


async def test_the_api_does_what_its_document_says(
    appointments_settings: AppointmentsSettings, clock: FixedClock, token_issuer: TokenIssuer
) -> None:
    report = await fuzz_api(
        create_app(appointments_settings, clock=clock),
        issuer=token_issuer,
        establishments=[CLINIC],
        path_values={"facility_id": [CLINIC]},
    )
    assert report.failures == {}, str(report)
