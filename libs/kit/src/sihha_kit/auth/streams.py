"""Tokens for event streams, kept out of URLs.

A browser's ``EventSource`` cannot send an ``Authorization`` header, and a token in
the stream's query string ends up in every proxy's access log. Instead, the page
first calls ``POST /auth/stream-session`` with its bearer token (an ordinary
``fetch``); the answer sets the cookie ``sihha_stream`` holding that same token:
``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page sends
it), ``Secure`` over HTTPS, lasting as long as the token. The stream routes — and only
they: dependencies declared with ``stream=True`` — accept the token from that cookie.
The page calls the route again whenever it renews its token (a terminal: every few
minutes), and ``DELETE /auth/stream-session`` forgets it.

A stream outlives the token it was opened with only until the token expires or is
revoked: the stream helper (`sihha_kit.sse`) then ends it, and the browser
reconnects with the renewed cookie (``Last-Event-ID`` carrying on where it stopped).
"""

# no `from __future__ import annotations`: the routes name dependency aliases defined
# in the function that builds them, which FastAPI could not resolve from strings
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from sihha_kit.auth.callers import Caller
from sihha_kit.auth.dependencies import STREAM_COOKIE, Authorizer, bearer_token

__all__ = ["STREAM_COOKIE", "stream_session_router"]

#: a cookie never outlives this, whatever the token's own lifetime
MAX_COOKIE_SECONDS = 12 * 3600


def stream_session_router(require: Authorizer | None = None) -> APIRouter:
    """``POST`` and ``DELETE /auth/stream-session`` (see the module's docstring)."""
    require = require or Authorizer()
    router = APIRouter(prefix="/auth", tags=["auth"])
    AnyCaller = Annotated[Caller, Depends(require())]

    @router.post(
        "/stream-session",
        status_code=204,
        summary="Keep the bearer token in an HttpOnly cookie that event streams accept "
        "(EventSource sends no headers; a token in a URL is logged)",
    )
    async def open_stream_session(request: Request, caller: AnyCaller) -> Response:
        token = bearer_token(request) or ""
        seconds = int(min(caller.expires_at - time.time(), MAX_COOKIE_SECONDS))
        response = Response(status_code=204)
        response.set_cookie(
            STREAM_COOKIE,
            token,
            max_age=max(seconds, 1),
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        response.headers["cache-control"] = "no-store"
        return response

    @router.delete("/stream-session", status_code=204, summary="Forget the stream cookie (public)")
    async def close_stream_session(request: Request) -> Response:
        response = Response(status_code=204)
        response.delete_cookie(
            STREAM_COOKIE,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    return router
