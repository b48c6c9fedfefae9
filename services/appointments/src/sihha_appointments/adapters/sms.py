"""Sending text messages: an SMS gateway over HTTP, and a local sink for development.

`HttpSmsGateway` posts one message per request to the configured URL::

    POST <url>            Idempotency-Key: <notification id>   Authorization: Bearer <token>
    {"to": "+213661234567", "text": "…", "reference": "<notification id>"}
    → 2xx {"message_id": "…", "status": "queued"}

The idempotency key is the notification's id: a retry after a lost answer is the same
message to the gateway, not a second one. Each attempt is one request with a timeout;
the dispatcher (`entrypoints/workers.py`) keeps the delivery status in the notification
row and retries transient failures (network, 5xx, 408, 429) with backoff; any other 4xx
is final.

`SinkSmsGateway` sends nothing: it appends what would be sent to a JSON-lines file (the
number masked, the text whole), which `make demo` prints and the tests read.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import httpx

from sihha_appointments.adapters.phones import mask_phone


@dataclass(frozen=True)
class SmsResult:
    #: accepted by the gateway (sent); otherwise `transient` says whether to retry
    accepted: bool
    transient: bool = False
    message_id: str | None = None
    status: str | None = None
    error: str | None = None


class SmsGateway(Protocol):
    async def send(self, *, to: str, text: str, idempotency_key: str) -> SmsResult: ...

    async def close(self) -> None: ...


_TRANSIENT = {408, 425, 429}


class HttpSmsGateway:
    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.url = url
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout, transport=transport)

    async def send(self, *, to: str, text: str, idempotency_key: str) -> SmsResult:
        try:
            response = await self._client.post(
                self.url,
                json={"to": to, "text": text, "reference": idempotency_key},
                headers={"idempotency-key": idempotency_key},
            )
        except httpx.HTTPError as error:
            return SmsResult(False, transient=True, error=f"{type(error).__name__}: {error}")
        if response.is_success:
            try:
                body = response.json()
            except ValueError:
                body = {}
            body = body if isinstance(body, dict) else {}
            return SmsResult(
                True,
                message_id=str(body.get("message_id") or "") or None,
                status=str(body.get("status") or "accepted")[:64],
            )
        transient = response.status_code >= 500 or response.status_code in _TRANSIENT
        return SmsResult(
            False,
            transient=transient,
            status=f"http-{response.status_code}",
            error=response.text[:300],
        )

    async def close(self) -> None:
        await self._client.aclose()


class SinkSmsGateway:
    """Development and demo: what would be sent, appended to `path` (JSON lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()

    async def send(self, *, to: str, text: str, idempotency_key: str) -> SmsResult:
        line = json.dumps(
            {
                "at": datetime.now(UTC).isoformat(),
                "to": mask_phone(to),
                "text": text,
                "reference": idempotency_key,
            },
            ensure_ascii=False,
        )
        async with self._lock:
            await asyncio.to_thread(self._append, line)
        return SmsResult(True, message_id=f"sink-{idempotency_key}", status="sink")

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as sink:
            sink.write(line + "\n")

    async def close(self) -> None:
        return None


def read_sink(path: Path) -> list[dict[str, str]]:
    """What a sink recorded, oldest first (for the demo's printout and the tests)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
