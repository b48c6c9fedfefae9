"""What the demo hands to a person at the end: links to the live pages and commands for
the API, each working when pasted (the demo's test opens every one of them).

A page that acts for a clinic needs what its enrolment link carries: the waiting-room
board reads `#token=…&facility=…&terminal=<uuid>` once from its address, keeps it and
removes it (docs/queue.md, "Terminal pages"); the fragment never reaches the server.
The tokens are the development issuer's (`sihha-dev token` makes the same), valid
`LINK_TOKEN_HOURS`.
"""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sihha_kit.auth import Role
from sihha_kit.devtools import TokenIssuer

#: how long the tokens in the printed links and files stay valid
LINK_TOKEN_HOURS = 12
#: the clinic whose board the demo links to
BOARD_CLINIC = "31-PC-001"


def display_terminal(clinic: str) -> uuid.UUID:
    """The id of the demo's waiting-room display at `clinic` (its heartbeats use it)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"sihha-demo:{clinic}:display")


def board_link(queue_url: str, issuer: TokenIssuer, clinic: str = BOARD_CLINIC) -> str:
    """The enrolment link of `clinic`'s display board: the page, and in the fragment the
    board's token (the one role the board stream and the clinic's services both admit
    to a display terminal), the clinic and the terminal's id."""
    token = issuer.mint(
        f"display:{clinic}:1",
        [Role.kiosk],
        [clinic],
        ttl=timedelta(hours=LINK_TOKEN_HOURS),
    )
    return (
        f"{queue_url}/terminals/board#token={token}&facility={clinic}"
        f"&terminal={display_terminal(clinic)}"
    )


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
            note=f"enrols the browser as the clinic's board for {LINK_TOKEN_HOURS} h",
        ),
        Link(
            "IT monitor",
            f"{reporting}/monitor",
            note=f"paste the token of {it_unit_file} (role it_unit) into the page",
        ),
        Link("booking a specialist", f"{urls['appointments']}/book"),
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
