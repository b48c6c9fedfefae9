"""The service's background work, supervised by the runtime: the timer worker and the
notification dispatcher. Both poll their due rows (`timer_poll_seconds`) and claim them
with `FOR UPDATE SKIP LOCKED`, so any number of replicas share the work and each row is
done once. A database that is down is waited for, with backoff."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from sihha_appointments.domain.notification import DeliveryStatus, Template
from sihha_appointments.service_layer.timers import fire_next_timer, sweep_waitlists
from sihha_kit.i18n import format_date, format_time
from sihha_kit.logs import get_logger

if TYPE_CHECKING:
    from sihha_appointments.context import AppointmentsContext

log = get_logger(__name__)

_UNAVAILABLE = (OSError, ConnectionError, OperationalError, InterfaceError, DBAPIError)
#: the waitlists are swept this often (wall clock) in case an offer was missed
SWEEP_EVERY = 60.0


class TimerWorker:
    def __init__(self, context: AppointmentsContext, *, batch: int = 200) -> None:
        self.context = context
        self.batch = batch
        self._last_sweep = 0.0

    async def run(self) -> None:
        delay = self.context.settings.timer_poll_seconds
        while True:
            try:
                fired = await self.run_once()
                delay = self.context.settings.timer_poll_seconds
            except _UNAVAILABLE as error:
                log.warning("timers.database_unavailable", error=str(error)[:200])
                delay = min(delay * 2, 30.0)
                fired = 0
            if fired < self.batch:
                await asyncio.sleep(delay)

    async def run_once(self) -> int:
        """Fire up to `batch` due timers (each in its own transaction); sweep the waitlists
        once a minute."""
        fired = 0
        while fired < self.batch:
            timer = await fire_next_timer(self.context.uow(), deps=self.context.deps)
            if timer is None:
                break
            fired += 1
        if time.monotonic() - self._last_sweep >= SWEEP_EVERY:
            self._last_sweep = time.monotonic()
            await sweep_waitlists(self.context.uow(), deps=self.context.deps)
        return fired


def backoff(attempts: int) -> timedelta:
    """Between two attempts at a text message: 10 s doubling, at most an hour."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 3600))


class NotificationDispatcher:
    """Sends the notification outbox through the SMS gateway and keeps each message's
    delivery status (sent, failed after `sms_max_attempts`, skipped without a phone)."""

    def __init__(self, context: AppointmentsContext, *, batch: int = 20) -> None:
        self.context = context
        self.batch = batch

    async def run(self) -> None:
        delay = self.context.settings.timer_poll_seconds
        while True:
            try:
                sent = await self.run_once()
                delay = self.context.settings.timer_poll_seconds
            except _UNAVAILABLE as error:
                log.warning("notifications.database_unavailable", error=str(error)[:200])
                delay = min(delay * 2, 30.0)
                sent = 0
            if sent < self.batch:
                await asyncio.sleep(delay)

    async def run_once(self) -> int:
        ctx = self.context
        async with ctx.uow() as uow:
            now = ctx.deps.clock()
            due = await uow.notifications.claim_due(now, self.batch)
            for row in due:
                await self._send(uow, row, now)
            await uow.commit()
        return len(due)

    async def _send(self, uow: Any, row: dict[str, Any], now: datetime) -> None:
        ctx = self.context
        attempts = row["attempts"] + 1
        ciphertext = row["phone_ciphertext"] or row["citizen_phone"]
        if ciphertext is None:
            await uow.notifications.settle(
                row["notification_id"], status=DeliveryStatus.SKIPPED, now=now, attempts=attempts
            )
            return
        text = self.render(row)
        result = await ctx.sms.send(
            to=ctx.vault.decrypt(ciphertext),
            text=text,
            idempotency_key=str(row["notification_id"]),
        )
        if result.accepted:
            status, retry_at = DeliveryStatus.SENT, None
        elif result.transient and attempts < ctx.settings.sms_max_attempts:
            status, retry_at = DeliveryStatus.PENDING, now + backoff(attempts)
        else:
            status, retry_at = DeliveryStatus.FAILED, None
        if not result.accepted:
            log.warning(
                "notifications.send_failed",
                notification_id=str(row["notification_id"]),
                attempts=attempts,
                final=status is DeliveryStatus.FAILED,
                status=result.status,
            )
        await uow.notifications.settle(
            row["notification_id"],
            status=status,
            now=now,
            attempts=attempts,
            gateway_message_id=result.message_id,
            gateway_status=result.status,
            error=result.error,
            retry_at=retry_at,
        )

    def render(self, row: dict[str, Any]) -> str:
        """The message in the patient's language: the establishment, the Algiers date and
        time, the code; never the specialty."""
        ctx = self.context
        language = row["language"]
        params = dict(row["params"])
        values: dict[str, Any] = {
            "code": params.get("code", ""),
            "minutes": params.get("minutes", ""),
        }
        establishment = ctx.deps.registry.by_code(row["facility_id"])
        if establishment is not None:
            values["establishment"] = (
                establishment.name_ar if language == "ar" else establishment.name_fr
            )
        if "slot_start" in params:
            start = datetime.fromisoformat(params["slot_start"])
            values["date"] = format_date(start, language, form="full")
            values["time"] = format_time(start, language)
        if "booking_code" in params:
            values["booking_code"] = params["booking_code"]
        if "expires_at" in params:
            values["expires"] = format_time(datetime.fromisoformat(params["expires_at"]), language)
        return ctx.catalogue.text(language, Template(row["template"]).key, **values)
