"""The reporting service's refusals, each a problem+json (`sihha_kit.errors`).

Each code is also the key of its text in the service's catalogues
(``locales/{fr,ar}/LC_MESSAGES/messages.po``); its brace fields come from the
problem's members and parameters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sihha_kit.errors import BadRequest, NotFound
from sihha_kit.i18n import Message


class ImpossiblePeriod(BadRequest):
    """422 ``impossible-period``; `reason` says which rule the period breaks (a catalogue
    key of ``period.refused.*``, rendered in the reader's language with `fields`)."""

    def __init__(self, reason: str, **fields: Any) -> None:
        super().__init__("impossible-period", params={"reason": Message(reason, **fields)})


class UnknownEstablishment(NotFound):
    def __init__(self, facility_id: str) -> None:
        super().__init__("unknown-establishment", facility_id=facility_id)


class UnknownFormat(BadRequest):
    def __init__(self, wanted: str, allowed: list[str]) -> None:
        super().__init__(
            "unknown-format",
            params={"wanted": wanted, "formats": ", ".join(allowed)},
            allowed=allowed,
        )


class Dhis2MappingIncomplete(BadRequest):
    def __init__(self, missing: list[str]) -> None:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        super().__init__(
            "dhis2-mapping-incomplete",
            params={"count": len(missing), "shown": shown},
            missing=missing,
        )


class Dhis2MappingMissing(BadRequest):
    def __init__(self) -> None:
        super().__init__("dhis2-mapping-missing")


class InvalidInspection(BadRequest):
    def __init__(self, visited_on: date, today: date) -> None:
        super().__init__(
            "inspection-in-future",
            params={"visited_on": visited_on.isoformat(), "today": today.isoformat()},
        )
