"""The terminals' browser script (`sihha_kit.auth.terminal_client`): served by a service
that enrols terminals (`install_auth(..., terminals=...)`), at a versioned address kept a
year, and by no other service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from sihha_kit.app import create_service_app, install_auth
from sihha_kit.auth import Role
from sihha_kit.auth.terminal_client import SCRIPT_PATH, script_body, script_url
from sihha_kit.runtime import ServiceRuntime
from sihha_kit.settings import ServiceSettings, TokenIssuingSettings
from sihha_kit.testing.plugin import dev_auth_settings


class IssuingSettings(TokenIssuingSettings, ServiceSettings):
    pass


def _app(dev_keys: Path, *, terminals: bool) -> FastAPI:
    settings: ServiceSettings
    if terminals:
        settings = IssuingSettings(
            service_name="queue", **dev_auth_settings(dev_keys, issuer="queue")
        )
    else:
        settings = ServiceSettings(service_name="reporting", **dev_auth_settings(dev_keys))
    runtime = ServiceRuntime(settings, migrations_dir=dev_keys, publishes=False)
    app = create_service_app(runtime, [], title="t", prepare_database=False)
    install_auth(app, settings, terminals=[Role.kiosk] if terminals else ())
    return app


@pytest.fixture
async def clients(dev_keys: Path) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    enrolling = _app(dev_keys, terminals=True)
    other = _app(dev_keys, terminals=False)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(enrolling), base_url="http://q") as one,
        httpx.AsyncClient(transport=httpx.ASGITransport(other), base_url="http://r") as two,
    ):
        yield one, two
    for app in (enrolling, other):
        await app.state.runtime.engine.dispose()


async def test_a_service_that_enrols_terminals_serves_the_script_kept_a_year(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    enrolling, _ = clients
    url = script_url()
    assert url.startswith(f"{SCRIPT_PATH}?v=")
    served = await enrolling.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "text/javascript; charset=utf-8"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.content == script_body() and b"window.SihhaTerminal" in served.content
    # any other address (no or an old version) revalidates, by ETag
    for stale in (SCRIPT_PATH, f"{SCRIPT_PATH}?v=000000000000"):
        answer = await enrolling.get(stale)
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-cache"
    again = await enrolling.get(SCRIPT_PATH, headers={"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    # a static file, outside the API's description like the services' own
    schema = (await enrolling.get("/openapi.json")).json()
    assert SCRIPT_PATH not in schema["paths"] and "/auth/terminals/enrol" in schema["paths"]


async def test_a_service_that_enrols_no_terminal_does_not_serve_it(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    _, other = clients
    answer = await other.get(script_url())
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_the_script_keeps_no_string_for_the_user_and_no_code_in_an_address() -> None:
    script = script_body().decode()
    # the pages say what it reports, from their catalogues (French and Arabic)
    assert not any("\u0600" <= character <= "\u06ff" for character in script)
    assert "replaceState" in script and "localStorage" in script
    # the code and the credential travel in bodies, never in a query string
    assert "?enrol" not in script and "?device_credential" not in script
