"""The terminals' pages: kiosk, counter, waiting-room board, and the ticket status page.

Plain HTML rendered here in Arabic (right-to-left) or French from the service's
message catalogue, with a little vanilla JavaScript that calls the JSON API with the
terminal's token and reads the same catalogue as JSON (`GET /i18n/{lang}.json`). Loading a
page needs no token: every data call is authenticated by the API itself. A terminal is
enrolled once: its enrolment link's URL fragment (which never reaches a server or a
log) carries a one-time code, exchanged for a device credential kept in the browser,
which obtains the 10-minute access tokens the page renews: the kit's terminal client
(``/auth/terminal-client.js``, `sihha_kit.auth.terminal_client`), which `Sihha.enrol` in
`static/terminal.js` drives and whose reports it shows from this catalogue
(docs/identity.md).

Nothing is loaded from outside the service: the scripts and styles are served
from `static/` (and the terminal client by the kit's route, in this service too), the
ticket's QR code is drawn here as SVG, and the board's chime is synthesised by the
browser.
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

from sihha_kit.auth.terminal_client import script_url as terminal_client_url
from sihha_kit.errors import NotFound
from sihha_kit.i18n import N_, Catalogue
from sihha_queue.entrypoints.deps import FACILITY_PATTERN

HERE = Path(__file__).parent
TEMPLATES = HERE / "pages"
STATIC = HERE / "static"

Language = Literal["ar", "fr"]
LANGUAGES: tuple[Language, ...] = ("ar", "fr")
DEFAULT_LANGUAGE: Language = "ar"

#: pages get nothing from anywhere but this service; no inline script, no framing
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

#: in the kiosk's order (the values of `Priority`) → the key of its name; "urgent" is
#: not offered at the kiosk: staff set it at reception
PRIORITIES = {
    "normal": N_("priority_normal"),
    "elderly": N_("priority_elderly"),
    "pregnant": N_("priority_pregnant"),
    "disability": N_("priority_disability"),
}
#: reason codes a counter offers for a cancellation and for calling out of order
CANCEL_REASONS = {
    "patient_left": N_("reason_patient_left"),
    "issued_in_error": N_("reason_issued_in_error"),
    "duplicate_ticket": N_("reason_duplicate_ticket"),
    "service_closed": N_("reason_service_closed"),
    "patient_request": N_("reason_patient_request"),
}
CALL_REASONS = {
    "patient_returned": N_("reason_patient_returned"),
    "medical_priority": N_("reason_medical_priority"),
    "same_family": N_("reason_same_family"),
    "agent_decision": N_("reason_agent_decision"),
}
#: keys the scripts build at run time ("status_" + status, "priority_" + priority)
SCRIPT_KEYS = (
    N_("priority_urgent"),
    N_("priority_appointment"),
    N_("status_waiting"),
    N_("status_called"),
    N_("status_in_service"),
    N_("status_completed"),
    N_("status_no_show"),
    N_("status_cancelled"),
    N_("status_expired"),
    N_("cancelled_msg"),
    N_("completed_msg"),
    N_("enrolment_invalid"),
    N_("enrolment_wrong_role"),
    N_("terminal_revoked"),
    N_("no_show_final"),
    N_("no_show_requeued"),
    N_("routed_done"),
    N_("unknown_counter"),
)

router = APIRouter(tags=["terminal pages"])


class _Asset:
    __slots__ = ("body", "etag", "media_type", "version")

    def __init__(self, body: bytes, media_type: str) -> None:
        self.body = body
        self.media_type = media_type
        self.version = hashlib.sha256(body).hexdigest()[:12]
        self.etag = f'"{self.version}"'


_ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(css|js|svg)$")


@cache
def assets() -> dict[str, _Asset]:
    """The static files, read once: a kiosk left open for months revalidates by ETag."""
    found: dict[str, _Asset] = {}
    for path in sorted(STATIC.iterdir()):
        if path.is_file() and _ASSET_NAME.match(path.name):
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type.endswith("javascript"):
                media_type += "; charset=utf-8"
            found[path.name] = _Asset(path.read_bytes(), media_type)
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
    environment.globals["asset"] = _asset_url
    # `tojson` stays HTML-safe (<, >, & and ' escaped) but keeps Arabic readable
    environment.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    return environment


def _asset_url(name: str) -> str:
    """`/terminals/static/<name>?v=<content hash>`: a new version is fetched at once."""
    return f"/terminals/static/{name}?v={assets()[name].version}"


LangQuery = Annotated[
    str | None,
    Query(
        description="`ar` (default, right-to-left) or `fr`; the page remembers the choice",
        max_length=8,
    ),
]


def render_page(template: str, lang: str | None, **values: Any) -> HTMLResponse:
    """A terminal page from `pages/<template>` in the asked language (Arabic by default),
    its texts from the service's catalogue (`t(key)` in the templates)."""
    language: Language = "fr" if lang == "fr" else DEFAULT_LANGUAGE
    catalogue = Catalogue.of("sihha_queue")

    def t(key: str) -> str:
        return catalogue.text(language, key)

    html = (
        _templates()
        .get_template(template)
        .render(
            lang=language,
            dir="rtl" if language == "ar" else "ltr",
            explicit_lang=lang in LANGUAGES,
            t=t,
            facility_pattern=FACILITY_PATTERN,
            **values,
        )
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get(
    "/terminals/kiosk",
    response_class=HTMLResponse,
    summary="Ticket kiosk page: pick a service and a priority, print the ticket",
)
async def kiosk_page(lang: LangQuery = None) -> HTMLResponse:
    return render_page(
        "kiosk.html",
        lang,
        kind="kiosk",
        script="kiosk.js",
        page_title=N_("kiosk_title"),
        priorities=PRIORITIES,
    )


@router.get(
    "/terminals/counter",
    response_class=HTMLResponse,
    summary="Counter or consultation-room page: call, serve, route, cancel",
)
async def counter_page(lang: LangQuery = None) -> HTMLResponse:
    return render_page(
        "counter.html",
        lang,
        kind="counter",
        script="counter.js",
        page_title=N_("counter_title"),
        cancel_reasons=CANCEL_REASONS,
        call_reasons=CALL_REASONS,
    )


@router.get(
    "/terminals/board",
    response_class=HTMLResponse,
    summary="Waiting-room display board (live from the board's event stream)",
)
async def board_page(lang: LangQuery = None) -> HTMLResponse:
    return render_page(
        "board.html", lang, kind="display", script="board.js", page_title=N_("board_title")
    )


@router.get(
    "/terminals/ticket/{ticket_id}",
    response_class=HTMLResponse,
    name="ticket_page",
    summary="A ticket's status for the patient's phone (what the ticket's QR code opens)",
)
async def ticket_page(ticket_id: UUID, lang: LangQuery = None) -> HTMLResponse:
    return render_page(
        "ticket.html",
        lang,
        kind="ticket",
        script="ticket.js",
        page_title=N_("ticket_page_title"),
        ticket_id=ticket_id,
    )


def ticket_page_url(request: Request, ticket_id: UUID) -> str:
    """The absolute address of a ticket's status page, as the patient's phone must reach it:
    the service's public address if the settings name one, else the one the kiosk used."""
    context = getattr(request.app.state, "context", None)
    public = getattr(getattr(context, "settings", None), "public_base_url", None)
    if public:
        return f"{str(public).rstrip('/')}/terminals/ticket/{ticket_id}"
    return str(request.url_for("ticket_page", ticket_id=str(ticket_id)))


def qr_svg(data: str, *, title: str) -> bytes:
    """A QR code (error correction M, quiet zone of 4) as a scalable SVG document."""
    code = segno.make(data, error="m", micro=False, boost_error=False)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        scale=1,
        border=4,
        xmldecl=False,
        omitsize=True,
        title=title,
        svgclass=None,
        lineclass=None,
        dark="#000",
        light="#fff",
    )
    return out.getvalue()


@router.get(
    "/terminals/qr/{ticket_id}.svg",
    summary="The QR code printed on a ticket: it opens the ticket's status page",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def ticket_qr(ticket_id: UUID, request: Request) -> Response:
    url = ticket_page_url(request, ticket_id)
    return Response(
        qr_svg(url, title=url),
        media_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/terminals/static/{name}", include_in_schema=False)
async def static_asset(name: str, request: Request) -> Response:
    asset = assets().get(name)
    if asset is None:
        raise NotFound("unknown-asset")
    headers = {
        "ETag": asset.etag,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
