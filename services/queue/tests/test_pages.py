"""The terminals' pages (kiosk, counter, board, ticket status) and the ticket's QR code,
served by the real app on the real database."""

from __future__ import annotations

import html
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import zxingcpp

from sihha_contracts.events.queue import Priority
from sihha_kit.auth import Role
from sihha_kit.i18n import Catalogue
from sihha_kit.i18n_maintenance import missing_translations
from sihha_kit.testing.apps import FixedClock, running
from sihha_kit.testing.plugin import bearer
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings
from sihha_queue.domain.ticket import TicketStatus
from sihha_queue.entrypoints import pages

pytestmark = pytest.mark.integration

CLINIC = "31-PC-001"
PAGES = [
    "/terminals/kiosk",
    "/terminals/counter",
    "/terminals/board",
    f"/terminals/ticket/{uuid.uuid4()}",
]
TITLES = {
    "/terminals/kiosk": "kiosk_title",
    "/terminals/counter": "counter_title",
    "/terminals/board": "board_title",
    "/terminals/ticket": "ticket_page_title",
}
SVG = "{http://www.w3.org/2000/svg}"


def title_key(path: str) -> str:
    return TITLES[path if path in TITLES else "/terminals/ticket"]


def catalogue() -> dict[str, dict[str, str]]:
    texts = Catalogue.of("sihha_queue").texts
    return {"ar": texts["ar"], "fr": texts["fr"]}


async def test_every_page_is_arabic_right_to_left_by_default_and_french_on_request(
    queue_client: httpx.AsyncClient,
) -> None:
    strings = catalogue()
    for language in ("ar", "fr"):  # the scripts read the same catalogue as JSON
        served = await queue_client.get(f"/i18n/{language}.json")
        assert served.status_code == 200 and served.json() == dict(
            sorted(strings[language].items())
        )
    for path in PAGES:
        key = title_key(path)
        arabic = await queue_client.get(path)  # no token needed for the page itself
        assert arabic.status_code == 200, (path, arabic.text)
        assert arabic.headers["content-type"].startswith("text/html")
        assert '<html lang="ar" dir="rtl" data-facility-pattern=' in arabic.text, path
        assert f"<title>{strings['ar'][key]} · صحة</title>" in html.unescape(arabic.text)
        assert "صحة" in arabic.text and "مديرية الصحة" in arabic.text
        assert 'href="?lang=fr"' in arabic.text and "Français" in arabic.text

        french = await queue_client.get(path, params={"lang": "fr"})
        assert french.status_code == 200, path
        assert '<html lang="fr" dir="ltr" data-facility-pattern=' in french.text, path
        assert f"<title>{strings['fr'][key]} · Sihha</title>" in html.unescape(french.text)
        assert 'data-explicit-lang="true"' in french.text


async def test_an_unknown_language_falls_back_to_arabic_and_is_not_echoed(
    queue_client: httpx.AsyncClient,
) -> None:
    response = await queue_client.get("/terminals/kiosk", params={"lang": "<b>x"})
    assert response.status_code == 200
    assert '<html lang="ar" dir="rtl"' in response.text
    assert "<b>x" not in response.text


async def test_pages_load_nothing_from_outside_the_service(
    queue_client: httpx.AsyncClient,
) -> None:
    for path in PAGES:
        response = await queue_client.get(path)
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["referrer-policy"] == "no-referrer"
        assert not re.search(r'(src|href)="(https?:)?//', response.text), path
        assert "<script>" not in response.text  # no inline script (the CSP would block it)
        assets = re.findall(r'(?:src|href)="(/terminals/static/[^"]+)"', response.text)
        assert len(assets) == 3, path  # the stylesheet, the shared script, the page's script
        for asset in assets:
            served = await queue_client.get(asset)
            assert served.status_code == 200, asset
            kind = "text/css" if ".css" in asset else "javascript"
            assert kind in served.headers["content-type"]
        # and the kit's terminal client, at its versioned address (sihha_kit.auth)
        (client,) = re.findall(r'src="(/auth/terminal-client\.js\?v=[0-9a-f]+)"', response.text)
        served = await queue_client.get(client)
        assert served.status_code == 200 and "javascript" in served.headers["content-type"]


async def test_static_files_revalidate_by_etag_and_nothing_else_is_served(
    queue_client: httpx.AsyncClient,
) -> None:
    first = await queue_client.get("/terminals/static/terminal.js")
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
    again = await queue_client.get(
        "/terminals/static/terminal.js", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    for name in ("nope.js", "..%2Fpages.py", "strings.json", "%2e%2e%2fpages%2fbase.html"):
        refused = await queue_client.get(f"/terminals/static/{name}")
        assert refused.status_code == 404, name
        assert refused.headers["content-type"] == "application/problem+json"


async def test_a_malformed_ticket_id_is_a_problem_not_a_page(
    queue_client: httpx.AsyncClient,
) -> None:
    for path in ("/terminals/ticket/not-a-uuid", "/terminals/qr/not-a-uuid.svg"):
        response = await queue_client.get(path)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert "Traceback" not in response.text


def qr_modules(svg: bytes) -> list[list[bool]]:
    """The dark modules of the QR code drawn by the SVG (segno's path: M/m moves, h runs)."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    size = int(root.attrib["viewBox"].split()[2])
    grid = [[False] * size for _ in range(size)]
    (dark,) = [p for p in root.iter(f"{SVG}path") if p.attrib.get("stroke") == "#000"]
    x = y = 0.0
    for command, a, b in re.findall(r"([MmHh])(-?[\d.]+)(?: (-?[\d.]+))?", dark.attrib["d"]):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            end = float(a) if command == "H" else x + float(a)
            for column in range(round(x), round(end)):
                grid[int(y)][column] = True
            x = end
    return grid


def decode_qr(svg: bytes, pixels_per_module: int = 8) -> str:
    """Decode the SVG's QR code with an independent decoder (zxing-cpp)."""
    grid = qr_modules(svg)
    side = len(grid) * pixels_per_module
    image = bytearray()
    for row in grid:
        line = b"".join((b"\x00" if dark else b"\xff") * pixels_per_module for dark in row)
        image += line * pixels_per_module
    found = zxingcpp.read_barcode(memoryview(bytes(image)).cast("B", (side, side)))
    assert found is not None, "no QR code found in the SVG"
    assert found.format == zxingcpp.BarcodeFormat.QRCode
    return str(found.text)


async def test_the_tickets_qr_code_opens_its_status_page(
    queue_client: httpx.AsyncClient, mint: Callable[..., str]
) -> None:
    kiosk = bearer(mint(Role.kiosk, establishments=[CLINIC], subject="kiosk:31-PC-001:1"))
    issued = await queue_client.post(
        f"/establishments/{CLINIC}/tickets",
        json={"service_code": "MG", "channel": "kiosk"},
        headers=kiosk,
    )
    assert issued.status_code == 201, issued.text
    ticket_id = issued.json()["ticket_id"]

    qr = await queue_client.get(f"/terminals/qr/{ticket_id}.svg")
    assert qr.status_code == 200
    assert qr.headers["content-type"] == "image/svg+xml"
    url = f"http://testserver/terminals/ticket/{ticket_id}"
    root = ET.fromstring(qr.content)
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}title").text == url  # type: ignore[union-attr]
    assert decode_qr(qr.content) == url

    page = await queue_client.get(url)
    assert page.status_code == 200
    assert f'data-ticket-id="{ticket_id}"' in page.text
    status = await queue_client.get(f"/tickets/{ticket_id}/status")
    assert status.json()["label"] == "MG-001"


async def test_the_qr_code_carries_the_public_address_when_one_is_set(
    queue_settings: QueueSettings, clock: FixedClock, mint: Callable[..., str]
) -> None:
    settings = queue_settings.model_copy(
        update={"public_base_url": "https://sihha.sante-oran.dz/file/"}
    )
    async with running(create_app(settings, clock=clock)) as client:
        kiosk = bearer(mint(Role.kiosk, establishments=[CLINIC]))
        issued = await client.post(
            f"/establishments/{CLINIC}/tickets", json={"service_code": "MG"}, headers=kiosk
        )
        ticket_id = issued.json()["ticket_id"]
        qr = await client.get(f"/terminals/qr/{ticket_id}.svg")
    assert decode_qr(qr.content) == f"https://sihha.sante-oran.dz/file/terminals/ticket/{ticket_id}"


def test_every_string_the_pages_use_exists_in_both_languages() -> None:
    # the catalogue check (tests/test_translations.py) covers every literal key; the keys
    # the scripts build from a value must be in the catalogue too
    assert not missing_translations("sihha_queue")
    strings = catalogue()
    used = {f"priority_{p.value}" for p in Priority}
    used |= {f"status_{s.value}" for s in TicketStatus}
    used |= {f"reason_{r}" for r in (*pages.CANCEL_REASONS, *pages.CALL_REASONS)}
    used |= set(TITLES.values())
    for language in ("ar", "fr"):
        assert not sorted(used - set(strings[language])), language
    # the kiosk offers every priority but "urgent" (set by staff) and "appointment"
    # (the booking code's check-in gives it)
    assert set(pages.PRIORITIES) == {p.value for p in Priority} - {"urgent", "appointment"}


def test_reason_codes_are_valid_api_reason_codes() -> None:
    for reason in (*pages.CANCEL_REASONS, *pages.CALL_REASONS):
        assert re.fullmatch(r"[a-z][a-z0-9_]{1,47}", reason), reason


def test_static_files_are_all_served_and_templates_exist() -> None:
    names = {path.name for path in pages.STATIC.iterdir()}
    assert set(pages.assets()) == names
    for template in ("base.html", "kiosk.html", "counter.html", "board.html", "ticket.html"):
        assert (pages.TEMPLATES / template).is_file()
    # the module pages.py, not the folder of templates beside it, is what Python imports
    assert Path(pages.__file__).name == "pages.py"
