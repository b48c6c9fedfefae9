"""The service's pages (the IT units' monitor), in French or Arabic.

HTML rendered here from the service's message catalogue (``t(key)`` in the templates
of `pages/`); the scripts in `static/` read the same catalogue as JSON
(``GET /i18n/{lang}.json``) and call the JSON API with the caller's token. Loading a
page needs no token and shows no data; nothing is loaded from elsewhere.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from sihha_kit.errors import NotFound
from sihha_kit.i18n import as_language, negotiate
from sihha_reporting.domain import texts
from sihha_reporting.entrypoints.deps import FACILITY_PATTERN

HERE = Path(__file__).parent
TEMPLATES = HERE / "pages"
STATIC = HERE / "static"
STATIC_PREFIX = "/monitor/static"

#: pages get nothing from anywhere but this service; no inline script, no framing
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


class _Asset:
    __slots__ = ("body", "etag", "media_type", "version")

    def __init__(self, body: bytes, media_type: str) -> None:
        self.body = body
        self.media_type = media_type
        self.version = hashlib.sha256(body).hexdigest()[:12]
        self.etag = f'"{self.version}"'


_ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(css|js)$")


@cache
def assets() -> dict[str, _Asset]:
    """The static files, read once; a page left open revalidates them by ETag."""
    found: dict[str, _Asset] = {}
    for path in sorted(STATIC.iterdir()):
        if path.is_file() and _ASSET_NAME.match(path.name):
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            found[path.name] = _Asset(path.read_bytes(), media_type + "; charset=utf-8")
    return found


@cache
def _templates() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["asset"] = lambda name: f"{STATIC_PREFIX}/{name}?v={assets()[name].version}"
    return environment


LangQuery = Annotated[
    str | None,
    Query(description="`fr` or `ar`; without it, the browser's Accept-Language", max_length=8),
]


def page_language(request: Request, lang: str | None) -> str:
    """The page's language: the one asked for, else the browser's preference (French
    when it names neither)."""
    if lang in ("fr", "ar"):
        return as_language(lang)
    return negotiate(request.headers.get("accept-language"))


def render_page(template: str, language: str, **values: Any) -> HTMLResponse:
    """`pages/<template>` in `language`, its texts from the service's catalogue."""

    def t(key: str) -> str:
        return texts.text(language, key)

    html = (
        _templates()
        .get_template(template)
        .render(
            lang=language,
            dir="rtl" if language == "ar" else "ltr",
            t=t,
            facility_pattern=FACILITY_PATTERN.strip("^$"),
            **values,
        )
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get(STATIC_PREFIX + "/{name}")
async def static_asset(name: str, request: Request) -> Response:
    asset = assets().get(name)
    if asset is None:
        raise NotFound("not-found")
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
