"""The browser's side of the terminal enrolment, one script for every service.

`static/terminal-client.js` (``window.SihhaTerminal``) takes the enrolment link's
fragment from the address at once, claims the device credential with its one-time code,
keeps it in ``localStorage`` and keeps the page signed in with short-lived tokens
(`sihha_kit.auth.enrolment`). A service that enrols terminals
(`sihha_kit.app.install_auth(..., terminals=...)`) serves it at ``GET
/auth/terminal-client.js``; its pages load it from `script_url` (``?v=<content hash>``):
that address's answer may be kept a year, since a new script has a new address. The
script shows nothing itself: each page tells the user what it reports, in French or
Arabic, from its service's catalogue.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

__all__ = ["SCRIPT_PATH", "script_body", "script_url", "terminal_client_router"]

SCRIPT_PATH: Final = "/auth/terminal-client.js"
_FILE: Final = Path(__file__).parent / "static" / "terminal-client.js"
_MEDIA_TYPE: Final = "text/javascript; charset=utf-8"
#: the versioned address's answer never changes: kept a year, never revalidated
IMMUTABLE: Final = "public, max-age=31536000, immutable"


@cache
def script_body() -> bytes:
    """The script, read once."""
    return _FILE.read_bytes()


@cache
def _version() -> str:
    return hashlib.sha256(script_body()).hexdigest()[:12]


def script_url() -> str:
    """The script's address for a page: ``/auth/terminal-client.js?v=<content hash>``."""
    return f"{SCRIPT_PATH}?v={_version()}"


def terminal_client_router() -> APIRouter:
    """``GET /auth/terminal-client.js`` (public, outside the OpenAPI document like the
    services' other static files). Asked with the current version (`script_url`), it may
    be kept a year; any other address revalidates by ETag."""
    router = APIRouter()

    @router.get(SCRIPT_PATH, include_in_schema=False)
    async def terminal_client_script(request: Request) -> Response:
        version = _version()
        etag = f'"{version}"'
        headers = {
            "ETag": etag,
            "Cache-Control": IMMUTABLE if request.query_params.get("v") == version else "no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(script_body(), media_type=_MEDIA_TYPE, headers=headers)

    return router
