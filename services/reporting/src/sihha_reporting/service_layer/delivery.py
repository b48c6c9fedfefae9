"""Pushing published reports to outside endpoints: a delivery outbox and its worker.

A delivery row is written in the transaction that publishes the report's
revision (`publishing.py`), so a report is never published without its
delivery, nor delivered without being published. The worker claims due rows
(`FOR UPDATE SKIP LOCKED`: several replicas can run), POSTs the body with
`Idempotency-Key: <delivery id>` — the same key on every attempt, so the
receiver can drop a repeat if an acknowledgement was lost — and marks the
row delivered only on a 2xx answer. Failures are retried with exponential
backoff; a 4xx other than 408, 425 and 429 (the receiver refuses this body)
stops the retries at once, as does reaching the attempt limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx

from sihha_kit.logs import get_logger
from sihha_reporting.service_layer.unit_of_work import ReportingUnitOfWork

log = get_logger(__name__)

RETRYABLE_4XX = frozenset({408, 425, 429})


@dataclass(frozen=True)
class DeliveryPolicy:
    timeout_seconds: float = 15.0
    max_attempts: int = 30
    retry_base_seconds: float = 5.0
    poll_seconds: float = 5.0
    batch_size: int = 10

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.retry_base_seconds * 2 ** max(attempts - 1, 0), 3600.0))


class DeliveryWorker:
    def __init__(
        self,
        uow: Callable[[], ReportingUnitOfWork],
        policy: DeliveryPolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.uow = uow
        self.policy = policy
        self.transport = transport
        self.wake = asyncio.Event()

    async def run(self) -> None:
        async with httpx.AsyncClient(
            timeout=self.policy.timeout_seconds, transport=self.transport
        ) as client:
            while True:
                sent = await self.deliver_once(client)
                if sent == 0:
                    self.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        # asyncio.timeout: wait_for could swallow a cancel (Python 3.11)
                        async with asyncio.timeout(self.policy.poll_seconds):
                            await self.wake.wait()

    async def deliver_once(self, client: httpx.AsyncClient) -> int:
        """Attempt every due delivery once. Returns how many were attempted."""
        async with self.uow() as uow:
            due = await uow.deliveries.claim_due(self.policy.batch_size)
            for row in due:
                attempts = row["attempts"] + 1
                status: int | None = None
                try:
                    response = await client.post(
                        row["url"],
                        content=row["body"],
                        headers={
                            "content-type": row["content_type"],
                            "idempotency-key": str(row["delivery_id"]),
                            "user-agent": "sihha-reporting",
                        },
                    )
                    status = response.status_code
                    if 200 <= status < 300:
                        await uow.deliveries.delivered(row["delivery_id"], status)
                        log.info(
                            "delivery.delivered",
                            delivery_id=str(row["delivery_id"]),
                            destination=row["destination"],
                            attempts=attempts,
                        )
                        continue
                    error = f"HTTP {status}"
                except httpx.HTTPError as failure:
                    error = f"{type(failure).__name__}: {failure}"
                give_up = attempts >= self.policy.max_attempts or (
                    status is not None and 400 <= status < 500 and status not in RETRYABLE_4XX
                )
                await uow.deliveries.postpone(
                    row["delivery_id"],
                    status=status,
                    error=error,
                    delay=self.policy.delay(attempts),
                    give_up=give_up,
                )
                log.warning(
                    "delivery.failed",
                    delivery_id=str(row["delivery_id"]),
                    destination=row["destination"],
                    attempts=attempts,
                    error=error[:200],
                    gave_up=give_up,
                )
            await uow.commit()
            return len(due)
