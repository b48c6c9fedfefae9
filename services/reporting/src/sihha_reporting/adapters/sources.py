"""The producing services' own counts, read through their HTTP APIs (for reconciliation).

The appointments service answers `GET /counts/appointments?from=&to=` (per establishment
and Algiers day of each event: bookings made, cancelled, arrived, no-shows).

The queue service answers `GET /counts/activity?from=&to=` (per establishment and
Algiers day: tickets issued, called, no-shows, cancelled, routed, visits
completed); a queue service that does not have it yet answers 404, and then
`GET /counts/tickets-issued` (tickets issued only) is used instead. Its
`GET /counts/prescriptions?from=&to=` adds the electronic prescriptions
(issued, their lines, dispenses, cancelled); without it (404) they are not compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from sihha_kit.errors import Unavailable

ACTIVITY_METRICS = (
    "tickets_issued",
    "tickets_called",
    "no_shows",
    "cancelled",
    "routed",
    "visits_completed",
)


PRESCRIPTION_METRICS = (
    "prescriptions_issued",
    "prescription_lines_issued",
    "prescription_dispenses",
    "prescriptions_cancelled",
)


class SourceUnavailable(Unavailable):
    """503: the producing service could not be asked (down, refused, unexpected answer);
    `reason` says what happened (no personal data: an address and an error)."""

    def __init__(self, reason: str) -> None:
        super().__init__("source-unavailable", reason=reason[:200])


@dataclass(frozen=True)
class SourceCounts:
    source: str
    endpoint: str
    metrics: tuple[str, ...]
    #: (facility_id, day) -> metric -> count
    counts: dict[tuple[str, date], dict[str, int]]


class QueueCounts:
    def __init__(
        self, base_url: str, token: str | None, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"authorization": f"Bearer {token}"} if token else {}
        self.transport = transport

    async def fetch(self, start: date, end: date) -> SourceCounts:
        async with httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=30.0, transport=self.transport
        ) as client:
            try:
                response = await client.get(
                    "/counts/activity", params={"from": start.isoformat(), "to": end.isoformat()}
                )
                if response.status_code == 404:
                    return await self._tickets_issued(client, start, end)
                response.raise_for_status()
            except httpx.HTTPError as error:
                raise SourceUnavailable(f"queue: {error}") from error
            counts: dict[tuple[str, date], dict[str, int]] = {}
            for row in _rows(response):
                day = date.fromisoformat(row["day"])
                counts[(row["facility_id"], day)] = {
                    m: int(row.get(m) or 0) for m in ACTIVITY_METRICS
                }
            metrics = ACTIVITY_METRICS
            try:
                prescribed = await client.get(
                    "/counts/prescriptions",
                    params={"from": start.isoformat(), "to": end.isoformat()},
                )
                if prescribed.status_code != 404:
                    prescribed.raise_for_status()
                    metrics = ACTIVITY_METRICS + PRESCRIPTION_METRICS
                    for row in _rows(prescribed):
                        key = (row["facility_id"], date.fromisoformat(row["day"]))
                        entry = counts.setdefault(key, {m: 0 for m in ACTIVITY_METRICS})
                        entry.update({m: int(row.get(m) or 0) for m in PRESCRIPTION_METRICS})
            except httpx.HTTPError as error:
                raise SourceUnavailable(f"queue: {error}") from error
            for entry in counts.values():
                for metric in metrics:
                    entry.setdefault(metric, 0)
            return SourceCounts("queue", "/counts/activity", metrics, counts)

    async def _tickets_issued(
        self, client: httpx.AsyncClient, start: date, end: date
    ) -> SourceCounts:
        response = await client.get("/counts/tickets-issued")
        response.raise_for_status()
        counts: dict[tuple[str, date], dict[str, int]] = {}
        for row in _rows(response):
            day = date.fromisoformat(row["service_day"])
            if start <= day <= end:
                counts[(row["facility_id"], day)] = {"tickets_issued": int(row["tickets_issued"])}
        return SourceCounts("queue", "/counts/tickets-issued", ("tickets_issued",), counts)


#: what the appointments service counts per establishment and Algiers day of the event
#: (its `GET /counts/appointments`), and reporting from the same events
APPOINTMENT_METRICS = ("booked", "cancelled", "arrived", "no_shows")


class AppointmentsCounts:
    """The appointments service's own counts: `GET /counts/appointments?from=&to=`."""

    def __init__(
        self, base_url: str, token: str | None, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"authorization": f"Bearer {token}"} if token else {}
        self.transport = transport

    async def fetch(self, start: date, end: date) -> SourceCounts:
        async with httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=30.0, transport=self.transport
        ) as client:
            try:
                response = await client.get(
                    "/counts/appointments",
                    params={"from": start.isoformat(), "to": end.isoformat()},
                )
                response.raise_for_status()
            except httpx.HTTPError as error:
                raise SourceUnavailable(f"appointments: {error}") from error
        counts: dict[tuple[str, date], dict[str, int]] = {}
        for row in _rows(response):
            day = date.fromisoformat(row["day"])
            values = {m: int(row.get(m) or 0) for m in APPOINTMENT_METRICS}
            if any(values.values()):
                counts[(row["facility_id"], day)] = values
        return SourceCounts("appointments", "/counts/appointments", APPOINTMENT_METRICS, counts)


def _rows(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    if not isinstance(body, list):
        raise SourceUnavailable(f"unexpected answer from {response.request.url.path}")
    return body
