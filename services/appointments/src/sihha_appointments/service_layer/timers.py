"""Durable timers: due-time rows in the service's own database, fired exactly once.

`fire_next_timer` claims the most overdue timer with `FOR UPDATE SKIP LOCKED`, applies
its effect and deletes it **in the same transaction**: another replica skips the locked
row, a crash rolls both back (the timer fires after the restart), a commit makes both
happen. Nothing sleeps in a process: the worker polls (`entrypoints/workers.py`).

Kinds: a hold (or waitlist offer) that lapses, a booking not arrived by the grace period
(no-show), a reminder due, the urgent places of a day released to everybody.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sihha_appointments.adapters.repository import TimerKind
from sihha_appointments.domain.booking import BookingStatus
from sihha_appointments.domain.notification import Template
from sihha_appointments.service_layer.handlers import (
    Deps,
    _after_hold_ended,
    notify,
    serve_waitlist,
)
from sihha_appointments.service_layer.unit_of_work import AppointmentsUnitOfWork
from sihha_kit.logs import get_logger

log = get_logger(__name__)


def retry_delay(attempts: int) -> timedelta:
    """After a failed attempt: 1 s doubling, at most 5 minutes."""
    return timedelta(seconds=min(2 ** max(attempts, 0), 300))


async def fire_next_timer(uow: AppointmentsUnitOfWork, *, deps: Deps) -> dict[str, Any] | None:
    """Fire the most overdue timer, if any; returns it (None when nothing is due). A timer
    whose effect fails is postponed with backoff in a transaction of its own."""
    async with uow:
        now = deps.clock()
        timer = await uow.timers.claim_due(now)
        if timer is None:
            return None
        try:
            await _fire(uow, deps, timer, now)
            await uow.timers.done(timer["timer_id"])
            await uow.commit()
        except Exception as error:
            await uow.rollback()
            log.error(
                "timer.failed",
                kind=timer["kind"],
                timer_id=timer["timer_id"],
                attempts=timer["attempts"] + 1,
                error=f"{type(error).__name__}: {error}"[:300],
            )
            await uow.timers.postpone(
                timer["timer_id"], now + retry_delay(timer["attempts"]), f"{type(error).__name__}"
            )
            await uow.commit()
        return timer


async def _fire(
    uow: AppointmentsUnitOfWork, deps: Deps, timer: dict[str, Any], now: datetime
) -> None:
    kind = timer["kind"]
    if kind == TimerKind.URGENT_RELEASE:
        payload = timer["payload"]
        await serve_waitlist(uow, deps, payload["facility_id"], payload["specialty"], now)
        return
    booking = await uow.bookings.get(timer["subject_id"], for_update=True)
    if booking is None:
        return
    if kind == TimerKind.HOLD_EXPIRY:
        if booking.expire(now):
            await uow.bookings.save(booking)
            await _after_hold_ended(uow, deps, booking, now)
    elif kind == TimerKind.NO_SHOW:
        if booking.mark_no_show(at=now, grace=deps.rules.no_show_grace):
            await uow.bookings.save(booking)
    elif kind == TimerKind.REMINDER:
        if (
            booking.status is BookingStatus.BOOKED
            and booking.slot.starts_at.isoformat() == timer["payload"].get("slot_start")
            and now < booking.slot.starts_at
        ):
            await notify(uow, booking, Template.REMINDER, now)
    else:
        log.error("timer.unknown_kind", kind=kind, timer_id=timer["timer_id"])


async def sweep_waitlists(uow: AppointmentsUnitOfWork, *, deps: Deps) -> int:
    """Offer every free place someone waits for (the safety net behind the offers made in
    the transactions that free places)."""
    async with uow:
        queues = await uow.waitlist.waiting_queues()
    offers = 0
    for facility_id, specialty_code in queues:
        async with uow:
            offers += await serve_waitlist(uow, deps, facility_id, specialty_code, deps.clock())
            await uow.commit()
    return offers
