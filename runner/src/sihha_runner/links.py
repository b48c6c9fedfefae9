"""What the demo hands to a person at the end: links to the live pages and commands for
the API, each working when pasted (the demo's test opens every one of them).

A clinic terminal's page is enrolled once (docs/identity.md, "Clinic terminals"): the
IT unit registers the terminal with the service that serves its page and gets a
one-time enrolment code; the page, opened with `#enrol=<code>`, claims the terminal's
device credential with it, keeps it and renews its short-lived tokens by itself. The
demo registers so the waiting-room display of 31-PC-001 (queue service) and the
scheduling desk of 31-PC-002 (appointments service), each code valid
`LINK_TOKEN_HOURS` (the demo sets `QUEUE_ENROLMENT_CODE_MINUTES` and
`APPOINTMENTS_ENROLMENT_CODE_MINUTES`). The other tokens are the development issuer's
(`sihha-dev token` makes the same), valid as long.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx

from sihha_kit.auth import Role
from sihha_kit.devtools import TokenIssuer

#: how long the printed links, codes and token files stay valid
LINK_TOKEN_HOURS = 12
#: the clinic whose board the demo links to
BOARD_CLINIC = "31-PC-001"
#: the pilot polyclinic whose scheduling desk the demo links to (its day has the demo's
#: cancellations, waitlist offer and no-shows)
SCHEDULER_CLINIC = "31-PC-002"


def enrol_terminal(
    service_url: str, issuer: TokenIssuer, clinic: str, role: Role, label: str
) -> str:
    """Register a terminal of `clinic` with the service at `service_url` as the IT unit
    does (`POST /auth/terminals`) and return its one-time enrolment code."""
    it_unit = issuer.mint("it-unit:demo", [Role.it_unit], [clinic], ttl=timedelta(minutes=5))
    answer = httpx.post(
        f"{service_url}/auth/terminals",
        json={"facility_id": clinic, "role": role.value, "label": label},
        headers={"Authorization": f"Bearer {it_unit}"},
        timeout=30,
    )
    answer.raise_for_status()
    code: str = answer.json()["enrolment_code"]
    return code


def board_link(queue_url: str, issuer: TokenIssuer, clinic: str = BOARD_CLINIC) -> str:
    """The enrolment link of a new waiting-room display at `clinic`: the board page with
    the display's one-time code in the fragment (which never reaches the server)."""
    code = enrol_terminal(queue_url, issuer, clinic, Role.display, "Demo: waiting-room board")
    return f"{queue_url}/terminals/board#enrol={code}"


def scheduler_link(
    appointments_url: str, issuer: TokenIssuer, day: date, clinic: str = SCHEDULER_CLINIC
) -> str:
    """The enrolment link of a new scheduling desk at `clinic`: the scheduler's page on
    the demo's `day`, with the desk's one-time code in the fragment."""
    code = enrol_terminal(appointments_url, issuer, clinic, Role.scheduler, "Demo: scheduling desk")
    return f"{appointments_url}/scheduler?day={day.isoformat()}#enrol={code}"


@dataclass(frozen=True)
class Link:
    """One line of the printout: what it is, and a URL to open or a command to paste."""

    label: str
    url: str | None = None
    command: str | None = None
    note: str = ""


def demo_links(
    urls: dict[str, str], issuer: TokenIssuer, out: Path, day: date
) -> tuple[list[Link], dict[str, str]]:
    """The links and commands the demo prints, and the token files to write beside them
    (path → token): the wilaya group's for the reports, the IT unit's for the monitor."""
    ttl = timedelta(hours=LINK_TOKEN_HOURS)
    group_file = out / "wilaya-group.token"
    it_unit_file = out / "it-unit.token"
    tokens = {
        str(group_file): issuer.mint("wilaya-group:demo", [Role.wilaya_group], ["*"], ttl=ttl),
        str(it_unit_file): issuer.mint("it-unit:demo", [Role.it_unit], ["*"], ttl=ttl),
    }
    reporting = urls["reporting"]
    bearer = f'-H "Authorization: Bearer $(cat {shlex.quote(str(group_file))})"'

    def report(path: str, query: str, name: str) -> str:
        target = shlex.quote(str(out / name))
        return f"curl -fsS {bearer} -o {target} '{reporting}{path}?{query}'"

    links = [
        Link(
            "display board 31-PC-001",
            board_link(urls["queue"], issuer),
            note=f"enrols the browser as the clinic's board: a one-time code, valid "
            f"{LINK_TOKEN_HOURS} h; the browser then keeps the board's credential",
        ),
        Link(
            "IT monitor",
            f"{reporting}/monitor",
            note=f"paste the token of {it_unit_file} (role it_unit) into the page",
        ),
        Link("booking a specialist", f"{urls['appointments']}/book"),
        Link(
            f"scheduler's day {SCHEDULER_CLINIC}",
            scheduler_link(urls["appointments"], issuer, day),
            note=f"enrols the browser as the clinic's scheduling desk: a one-time code, "
            f"valid {LINK_TOKEN_HOURS} h",
        ),
        *(Link(f"API docs, {name}", f"{url}/docs") for name, url in urls.items()),
        Link(
            "wilaya report, PDF in Arabic",
            command=report(f"/reports/wilaya/daily/{day}", "format=pdf&lang=ar", "report.ar.pdf"),
        ),
        Link(
            "ministry report, DHIS2 payload",
            command=report(
                f"/reports/ministry/monthly/{day:%Y-%m}", "format=dhis2", "ministry.dhis2.json"
            ),
        ),
    ]
    return links, tokens
