"""The pages people use, in Arabic (right-to-left, the default) and French, with a switch:

- `/book`: a citizen signs in (NIN, then the code sent by SMS), chooses a specialty, a
  polyclinic and a slot, holds it, confirms it, and gets the booking code with its QR;
- `/my-bookings`: their bookings (cancel, reschedule) and their waitlist entries (join,
  accept or decline a place offered, leave);
- `/scheduler`: the clinic scheduler's day: slots, bookings, arrivals and no-shows, the
  no-show rates, and marking a practitioner absent. The clinic's scheduling desk is a
  terminal (`sihha_kit.auth.enrolment`, role `scheduler`) enrolled once: the IT unit
  registers it and its enrolment link, `/scheduler#enrol=<one-time code>` (the fragment
  never reaches a server, and the page removes it from the address at once), claims
  the desk's device credential, kept in the browser, which obtains the 10-minute
  access tokens the page renews: the kit's terminal client (``/auth/terminal-client.js``,
  `sihha_kit.auth.terminal_client`), which `Appt.enrol` in `static/app.js` drives and
  whose reports it shows from this catalogue (docs/identity.md).

HTML rendered here from the service's message catalogue; the scripts take their texts
from `GET /i18n/{lang}.json` and call the JSON API. Nothing is loaded from elsewhere.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from sihha_appointments.domain.errors import BookingNotFound
from sihha_appointments.domain.specialties import SPECIALTIES
from sihha_appointments.entrypoints.deps import CitizenDep, ContextDep
from sihha_contracts.types import FACILITY_CODE_PATTERN
from sihha_kit.auth.terminal_client import script_url as terminal_client_url
from sihha_kit.errors import NotFound
from sihha_kit.i18n import N_

HERE = Path(__file__).parent
TEMPLATES = HERE / "pages"
STATIC = HERE / "static"

Language = Literal["ar", "fr"]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

#: the pages and their titles
PAGES = {
    "book": N_("page.book.title"),
    "mine": N_("page.mine.title"),
    "scheduler": N_("page.scheduler.title"),
}

#: keys the scripts show by name (`Appt.showMessage(key)`), listed here where the
#: catalogue check finds them: a clinic terminal's enrolment (`Appt.enrol`)
SCRIPT_KEYS = (
    N_("terminal.enrolment_invalid"),
    N_("terminal.revoked"),
    N_("terminal.wrong_role"),
)

router = APIRouter(tags=["pages"])


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
    environment.globals["terminal_client"] = terminal_client_url()
    environment.globals["asset"] = lambda name: f"/pages/static/{name}?v={assets()[name].version}"
    return environment


LangQuery = Annotated[
    str | None, Query(description="`ar` (default, right-to-left) or `fr`", max_length=8)
]


def _page(request: Request, page: str, lang: str | None, **values: Any) -> HTMLResponse:
    language: Language = "fr" if lang == "fr" else "ar"
    catalogue = request.app.state.catalogue

    def t(key: str) -> str:
        return str(catalogue.text(language, key))

    html = (
        _templates()
        .get_template(f"{page}.html")
        .render(
            lang=language,
            dir="rtl" if language == "ar" else "ltr",
            page=page,
            title_key=PAGES[page],
            t=t,
            facility_pattern=FACILITY_CODE_PATTERN,
            **values,
        )
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/book", response_class=HTMLResponse, summary="The citizen's booking page")
async def book_page(request: Request, ctx: ContextDep, lang: LangQuery = None) -> HTMLResponse:
    return _page(request, "book", lang, specialties=list(SPECIALTIES.items()))


@router.get("/my-bookings", response_class=HTMLResponse, summary="The citizen's bookings")
async def my_bookings_page(request: Request, lang: LangQuery = None) -> HTMLResponse:
    return _page(request, "mine", lang)


@router.get("/scheduler", response_class=HTMLResponse, summary="The scheduler's day view")
async def scheduler_page(request: Request, lang: LangQuery = None) -> HTMLResponse:
    return _page(request, "scheduler", lang)


def qr_svg(data: str) -> bytes:
    code = segno.make(data, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=4, border=4, xmldecl=False, dark="#000", light="#fff")
    return out.getvalue()


@router.get(
    "/bookings/{booking_id}/qr.svg",
    summary="The QR code of one's booking code (what the kiosk reads)",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
    tags=["booking"],
)
async def booking_qr(booking_id: UUID, ctx: ContextDep, caller: CitizenDep) -> Response:
    async with ctx.uow() as uow:
        booking = await uow.bookings.get(booking_id)
    if (
        booking is None
        or booking.patient_key != caller.patient_key
        or booking.status.value == "held"
    ):
        raise BookingNotFound()
    return Response(
        qr_svg(booking.booking_code),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/pages/static/{name}", include_in_schema=False)
async def static_asset(name: str, request: Request) -> Response:
    asset = assets().get(name)
    if asset is None:
        raise NotFound("not-found")
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
