"""Who may call each route of the queue service: the generated route × role ×
establishment matrix (`sihha_kit.testing.access`). A route without its row here fails,
and so does a row whose roles differ from what the route declares.

Each case is a request whose answer, for a caller let through, is known: an unknown
ticket, visit, counter or prescription answers 404, a malformed prescription code 422,
a second counter of the same label 409; `ok` lists those answers, so that a 403 or 401
can only mean the caller was refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from sihha_kit.auth import Role
from sihha_kit.testing.access import (
    AccessTable,
    Call,
    Case,
    CaseScope,
    Row,
    anywhere,
    check_access,
    establishment,
    get,
    post,
    public,
    wilaya,
)
from sihha_kit.testing.apps import FixedClock, serving
from sihha_kit.testing.plugin import bearer
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings

pytestmark = pytest.mark.integration

E = "/establishments/{establishment}"
#: the registry's first counter of general medicine at 31-PC-001 ("MG 1")
MG1 = uuid.uuid5(uuid.NAMESPACE_URL, "sihha:31-PC-001:MG:1")
#: ids that name nothing: a route that lets its caller through answers 404
UNKNOWN = uuid.UUID("00000000-0000-4000-8000-000000000001")
PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}

CLINIC_STAFF = {Role.receptionist, Role.counter_agent, Role.doctor, Role.nurse, Role.pharmacist}
COUNTER = {Role.counter_agent, Role.doctor, Role.nurse, Role.pharmacist, Role.admin}
MONITOR = {Role.it_unit, Role.wilaya_group, Role.admin}
TERMINAL_ADMINS = {Role.it_unit, Role.admin}
NOMENCLATURE_READERS = {Role.doctor, Role.pharmacist, Role.admin, Role.it_unit}
PRESCRIPTION_READERS = {Role.doctor, Role.admin}

LINE = {
    "code": "01 A 003",
    "dose": 1,
    "dose_unit": "tablet",
    "route": "oral",
    "frequency_per_day": 1,
    "duration_days": 1,
    "quantity": 1,
}
PRESCRIPTION = {"ticket_id": str(UNKNOWN), "lines": [LINE]}
#: not a prescription's code: a pharmacist let through is told so (422)
NOT_A_CODE = "not-a-prescription-code"


def public_answering(call: Call, *statuses: int) -> Row:
    """A public route whose answer to this request is one of `statuses` for anyone."""
    return Row(None, Case(call, CaseScope.public, frozenset(statuses)))


def access_table(terminal_id: str) -> AccessTable:
    """The table, with `terminal_id` a terminal registered at 31-PC-001."""
    ticket = f"{E}/tickets/{UNKNOWN}"
    prescription = f"{E}/prescriptions/{UNKNOWN}"
    return AccessTable(
        {
            # what anyone may read: health, metrics, texts, pages, the ticket's status page
            ("GET", "/health/live"): public(get("/health/live")),
            ("GET", "/health/ready"): public(get("/health/ready")),
            ("GET", "/metrics"): public(get("/metrics")),
            ("GET", "/i18n/{language}.json"): public(get("/i18n/fr.json")),
            ("GET", "/.well-known/jwks.json"): public(get("/.well-known/jwks.json")),
            ("GET", "/terminals/kiosk"): public(get("/terminals/kiosk")),
            ("GET", "/terminals/counter"): public(get("/terminals/counter")),
            ("GET", "/terminals/board"): public(get("/terminals/board")),
            ("GET", "/terminals/prescription"): public(get("/terminals/prescription")),
            ("GET", "/terminals/pharmacy"): public(get("/terminals/pharmacy")),
            ("GET", "/terminals/static/{name}"): public(get("/terminals/static/terminal.js")),
            ("GET", "/auth/terminal-client.js"): public(get("/auth/terminal-client.js")),
            ("GET", "/terminals/ticket/{ticket_id}"): public(get(f"/terminals/ticket/{UNKNOWN}")),
            ("GET", "/terminals/qr/{ticket_id}.svg"): public(get(f"/terminals/qr/{UNKNOWN}.svg")),
            ("GET", "/tickets/{ticket_id}/status"): public_answering(
                get(f"/tickets/{UNKNOWN}/status"), 404
            ),
            # a terminal's own sign-in (public: the code or credential is the proof)
            ("POST", "/auth/terminals/enrol"): public_answering(
                post("/auth/terminals/enrol", {"enrolment_code": "not-a-code-at-all"}), 401
            ),
            ("POST", "/auth/terminal-token"): public_answering(
                post("/auth/terminal-token", {"device_credential": f"{UNKNOWN}.{'x' * 43}"}), 401
            ),
            ("POST", "/auth/stream-session"): Row(set(), anywhere(post("/auth/stream-session"))),
            ("DELETE", "/auth/stream-session"): public(Call("DELETE", "/auth/stream-session")),
            # terminals: registered, listed and revoked by the IT unit of their establishment
            ("POST", "/auth/terminals"): Row(
                TERMINAL_ADMINS,
                establishment(
                    post(
                        "/auth/terminals",
                        {"facility_id": "{establishment}", "role": "display", "label": "matrix"},
                    )
                ),
            ),
            ("GET", "/auth/terminals"): Row(
                TERMINAL_ADMINS,
                establishment(get("/auth/terminals", facility_id="{establishment}")),
            ),
            ("POST", "/auth/terminals/{terminal_id}/revoke"): Row(
                TERMINAL_ADMINS, establishment(post(f"/auth/terminals/{terminal_id}/revoke"))
            ),
            ("POST", "/auth/revocations"): Row(
                TERMINAL_ADMINS, wilaya(post("/auth/revocations", {"subject": "matrix:nobody"}))
            ),
            # reception and kiosk
            ("POST", "/establishments/{facility_id}/tickets"): Row(
                {Role.receptionist, Role.kiosk, Role.admin},
                establishment(post(f"{E}/tickets", {"service_code": "MG"})),
            ),
            ("POST", "/establishments/{facility_id}/check-in"): Row(
                {Role.receptionist, Role.kiosk, Role.admin},
                establishment(post(f"{E}/check-in", {"booking_code": "ZZZZ9999"}), ok=(404,)),
            ),
            ("GET", "/establishments/{facility_id}"): Row(
                {*CLINIC_STAFF, Role.kiosk, Role.display, Role.admin}, establishment(get(E))
            ),
            ("POST", "/establishments/{facility_id}/terminals/{terminal_id}/heartbeat"): Row(
                {*CLINIC_STAFF, Role.kiosk, Role.display},
                establishment(post(f"{E}/terminals/{UNKNOWN}/heartbeat", {"kind": "display"})),
            ),
            ("GET", "/establishments/{facility_id}/board"): Row(
                {Role.display}, establishment(get(f"{E}/board"))
            ),
            # the staff's lists, and what a counter does
            ("GET", "/establishments/{facility_id}/tickets"): Row(
                {*CLINIC_STAFF, Role.admin}, establishment(get(f"{E}/tickets"))
            ),
            ("GET", "/establishments/{facility_id}/visits/{visit_id}"): Row(
                {*CLINIC_STAFF, Role.admin}, establishment(get(f"{E}/visits/{UNKNOWN}"), ok=(404,))
            ),
            ("POST", "/establishments/{facility_id}/tickets/{ticket_id}/cancel"): Row(
                {*CLINIC_STAFF, Role.admin},
                establishment(post(f"{ticket}/cancel", {"reason": "patient_left"}), ok=(404,)),
            ),
            ("GET", "/establishments/{facility_id}/counters/{counter_id}/current"): Row(
                COUNTER, establishment(get(f"{E}/counters/{MG1}/current"))
            ),
            ("POST", "/establishments/{facility_id}/counters/{counter_id}/call-next"): Row(
                # the first caller may call a ticket; the counter is then busy (409)
                COUNTER,
                establishment(post(f"{E}/counters/{MG1}/call-next"), ok=(200, 409)),
            ),
            ("POST", "/establishments/{facility_id}/counters/{counter_id}/call"): Row(
                COUNTER,
                establishment(
                    post(
                        f"{E}/counters/{MG1}/call",
                        {"ticket_id": str(UNKNOWN), "reason": "agent_decision"},
                    ),
                    ok=(404,),
                ),
            ),
            **{
                ("POST", f"/establishments/{{facility_id}}/tickets/{{ticket_id}}/{action}"): Row(
                    COUNTER, establishment(post(f"{ticket}/{action}"), ok=(404,))
                )
                for action in ("recall", "no-show", "start", "complete")
            },
            ("POST", "/establishments/{facility_id}/tickets/{ticket_id}/route"): Row(
                {Role.doctor, Role.counter_agent, Role.nurse, Role.admin},
                establishment(post(f"{ticket}/route", {"to_service_code": "LAB"}), ok=(404,)),
            ),
            # a clinic's administration
            ("PATCH", "/admin/establishments/{facility_id}"): Row(
                {Role.admin},
                establishment(Call("PATCH", f"/admin{E}", json={"no_show_requeue_once": True})),
            ),
            ("PUT", "/admin/establishments/{facility_id}/services/{service_code}"): Row(
                {Role.admin},
                establishment(
                    Call(
                        "PUT",
                        f"/admin{E}/services/ZZ",
                        json={"name_fr": "Essai", "name_ar": "تجربة", "active": False},
                    )
                ),
            ),
            ("POST", "/admin/establishments/{facility_id}/counters"): Row(
                # the first admin adds it; the label is then taken (409)
                {Role.admin},
                establishment(
                    post(f"/admin{E}/counters", {"service_code": "MG", "label": "Matrice"}),
                    ok=(201, 409),
                ),
            ),
            ("DELETE", "/admin/establishments/{facility_id}/counters/{counter_id}"): Row(
                {Role.admin},
                establishment(Call("DELETE", f"/admin{E}/counters/{UNKNOWN}"), ok=(404,)),
            ),
            # counts over the whole wilaya (reporting's reconciliation)
            ("GET", "/counts/activity"): Row(MONITOR, wilaya(get("/counts/activity", **PERIOD))),
            ("GET", "/counts/prescriptions"): Row(
                MONITOR, wilaya(get("/counts/prescriptions", **PERIOD))
            ),
            # the national nomenclature and the keys that verify prescription codes
            ("GET", "/nomenclature/search"): Row(
                NOMENCLATURE_READERS, anywhere(get("/nomenclature/search", q="parac"))
            ),
            ("GET", "/nomenclature/codes/{code}/products"): Row(
                NOMENCLATURE_READERS, anywhere(get("/nomenclature/codes/01 A 003/products"))
            ),
            ("GET", "/nomenclature/editions"): Row(
                NOMENCLATURE_READERS, anywhere(get("/nomenclature/editions"))
            ),
            ("GET", "/prescription-keys"): Row(
                NOMENCLATURE_READERS, anywhere(get("/prescription-keys"))
            ),
            # the doctor's prescriptions, read by the establishment's doctors and admins
            ("POST", "/establishments/{facility_id}/prescriptions/check"): Row(
                {Role.doctor},
                establishment(post(f"{E}/prescriptions/check", PRESCRIPTION), ok=(404,)),
            ),
            ("POST", "/establishments/{facility_id}/prescriptions"): Row(
                {Role.doctor}, establishment(post(f"{E}/prescriptions", PRESCRIPTION), ok=(404,))
            ),
            ("POST", "/establishments/{facility_id}/prescriptions/{prescription_id}/cancel"): Row(
                {Role.doctor},
                establishment(
                    post(f"{prescription}/cancel", {"reason": "issued_in_error"}), ok=(404,)
                ),
            ),
            **{
                (
                    "GET",
                    f"/establishments/{{facility_id}}/prescriptions/{{prescription_id}}{tail}",
                ): (
                    Row(
                        PRESCRIPTION_READERS,
                        establishment(get(f"{prescription}{tail}"), ok=(404,)),
                    )
                )
                for tail in ("", "/pdf", "/fhir")
            },
            ("GET", "/establishments/{facility_id}/visits/{visit_id}/prescriptions"): Row(
                PRESCRIPTION_READERS, establishment(get(f"{E}/visits/{UNKNOWN}/prescriptions"))
            ),
            # the pharmacy (its own establishment code in the path)
            ("POST", "/pharmacies/{pharmacy_id}/prescriptions/verify"): Row(
                {Role.pharmacist},
                establishment(
                    post("/pharmacies/{establishment}/prescriptions/verify", {"code": NOT_A_CODE}),
                    ok=(422,),
                ),
            ),
            ("POST", "/pharmacies/{pharmacy_id}/dispenses"): Row(
                {Role.pharmacist},
                establishment(
                    post(
                        "/pharmacies/{establishment}/dispenses",
                        {"code": NOT_A_CODE, "items": [{"line_no": 1, "quantity": 1}]},
                    ),
                    ok=(422,),
                ),
            ),
        }
    )


async def test_every_route_admits_exactly_the_roles_and_establishments_of_its_row(
    queue_settings: QueueSettings, clock: FixedClock, mint: Callable[..., str]
) -> None:
    app = create_app(queue_settings, clock=clock)
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        registered = await client.post(
            "/auth/terminals",
            json={"facility_id": "31-PC-001", "role": "kiosk", "label": "matrix"},
            headers=bearer(mint(Role.it_unit, establishments=["*"])),
        )
        assert registered.status_code == 201, registered.text
        table = access_table(registered.json()["terminal_id"])
        requests = await check_access(client, app, table, mint)
    assert requests > len(table.rows) * len(Role) * 3
