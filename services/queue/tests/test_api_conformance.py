"""The queue service's API does what its OpenAPI document says (schemathesis over every
operation, with tokens for the roles each admits; see sihha_kit.testing.api_fuzz and
docs/testing.md)."""

from __future__ import annotations

from sihha_kit.devtools import TokenIssuer
from sihha_kit.testing.api_fuzz import Exclusion, fuzz_api
from sihha_kit.testing.apps import FixedClock
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings

from .conftest import CLINIC

EXCLUDED = [
    Exclusion(
        "GET /establishments/{facility_id}/board",
        "a Server-Sent Events stream that never ends while the board stays; "
        "test_board_and_outage.py reads it",
    ),
]


async def test_the_api_does_what_its_document_says(
    queue_settings: QueueSettings, clock: FixedClock, token_issuer: TokenIssuer
) -> None:
    report = await fuzz_api(
        create_app(queue_settings, clock=clock),
        issuer=token_issuer,
        establishments=[CLINIC],
        path_values={"facility_id": [CLINIC]},
        exclude=EXCLUDED,
    )
    assert report.failures == {}, str(report)
