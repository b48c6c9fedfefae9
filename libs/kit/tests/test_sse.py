"""Server-Sent Events (`sihha_kit.sse`): retry and ids, resuming after Last-Event-ID, and a
stream that ends when its caller's token expires or is revoked — over a real uvicorn.

No `from __future__ import annotations`: the route names dependency aliases defined
in the function that builds the app.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fastapi import Depends, FastAPI, Request

from sihha_kit.auth import (
    Authorizer,
    Caller,
    IssuerKeys,
    Revocations,
    Role,
    TokenVerifier,
    install_verifier,
    stream_session_router,
)
from sihha_kit.auth.keys import generate_private_key, key_id
from sihha_kit.devtools import TokenIssuer
from sihha_kit.problems import install_problem_handlers
from sihha_kit.sse import Event, EventSourceResponse, ServerSentEvent, event_stream, last_event_id
from sihha_kit.testing.apps import serving

CLINIC = "31-PC-001"


@pytest.fixture(scope="module")
def key() -> RSAPrivateKey:
    return generate_private_key()


def _app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_verifier(app, verifier)
    require = Authorizer()
    Board = Annotated[Caller, Depends(require(Role.display, establishment="code", stream=True))]

    @app.get("/establishments/{code}/board", response_class=EventSourceResponse)
    async def board(request: Request, code: str, caller: Board) -> AsyncIterator[ServerSentEvent]:
        start = int(last_event_id(request) or 0) + 1

        async def calls() -> AsyncIterator[Event]:
            number = start
            while True:
                yield Event({"ticket": f"MG-{number:03d}"}, event="called", id=str(number))
                number += 1
                await asyncio.sleep(0.05 if number < start + 3 else 3600)

        async for event in event_stream(request, caller, calls(), check_seconds=0.2):
            yield event

    app.include_router(stream_session_router())
    return app


async def _read(response: httpx.Response, limit: float = 10.0) -> list[dict[str, str]]:
    """The events of a stream until it ends (or `limit` seconds), fields by name."""
    events: list[dict[str, str]] = []

    async def collect() -> None:
        block: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line:
                name, _, value = line.partition(": ") if ": " in line else line.partition(":")
                block[name] = value
                continue
            if block:
                events.append(block)
            block = {}

    try:
        await asyncio.wait_for(collect(), limit)
    except TimeoutError:
        pass
    return events


async def test_a_stream_has_retry_ids_and_resumes_after_the_last_id(key: RSAPrivateKey) -> None:
    issuer = TokenIssuer([(key_id(key), key)])
    verifier = TokenVerifier(
        [IssuerKeys.in_memory("sihha-dev", {key_id(key): key.public_key()}, None)]
    )
    display = issuer.mint("display:1", [Role.display], [CLINIC])
    async with serving(_app(verifier)) as base, httpx.AsyncClient(base_url=base) as client:
        url = f"/establishments/{CLINIC}/board"
        async with client.stream("GET", url, headers={"authorization": f"Bearer {display}"}) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            assert r.headers["cache-control"] == "no-cache"
            events = await _read(r, limit=1.5)
        assert events[0] == {"retry": "3000"}
        assert [e.get("id") for e in events[1:4]] == ["1", "2", "3"]
        assert events[1]["event"] == "called" and json.loads(events[1]["data"]) == {
            "ticket": "MG-001"
        }

        # an EventSource that reconnects sends Last-Event-ID; the cookie carries the token
        await client.post("/auth/stream-session", headers={"authorization": f"Bearer {display}"})
        async with client.stream("GET", url, headers={"last-event-id": "2"}) as r:
            resumed = await _read(r, limit=1.0)
        assert [e.get("id") for e in resumed[1:3]] == ["3", "4"]

        refused = await client.get("/establishments/31-PC-002/board")
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"


async def test_a_stream_ends_when_its_token_expires_or_is_revoked(key: RSAPrivateKey) -> None:
    issuer = TokenIssuer([(key_id(key), key)])
    verifier = TokenVerifier(
        [IssuerKeys.in_memory("sihha-dev", {key_id(key): key.public_key()}, None)], leeway=0
    )
    soon = datetime.now(UTC) - timedelta(hours=12) + timedelta(seconds=2)
    expiring = issuer.mint("display:1", [Role.display], [CLINIC], now=soon)
    lasting = issuer.mint("display:2", [Role.display], [CLINIC])
    async with serving(_app(verifier)) as base, httpx.AsyncClient(base_url=base) as client:
        url = f"/establishments/{CLINIC}/board"
        started = time.monotonic()
        async with client.stream("GET", url, headers={"authorization": f"Bearer {expiring}"}) as r:
            events = await _read(r, limit=15)
        ended = time.monotonic() - started
        assert 1.0 < ended < 5.0, f"ended after {ended:.1f} s, its token expired after ~2 s"
        assert [e.get("id") for e in events if "id" in e] == ["1", "2", "3"]

        async with client.stream("GET", url, headers={"authorization": f"Bearer {lasting}"}) as r:
            await asyncio.sleep(0.5)
            verifier.revocations.add(Revocations(subjects={"display:2": time.time()}))
            started = time.monotonic()
            await _read(r, limit=15)
            assert time.monotonic() - started < 2.0, "a revoked board stops at once"
