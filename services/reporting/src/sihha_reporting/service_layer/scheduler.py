"""Scheduled generation: the daily reports every morning, the monthly ones on the 1st,
and a daily re-check of recent closed periods for late data (a change → a new revision).

Each (job, period) is recorded once done (`schedule_runs`) and not run again after a
restart; a failed one is tried again at the next poll. Two replicas may both run a
job in the same minute: harmless, since issuing a report is idempotent (an unchanged
report keeps its revision, and a revision number is taken once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sihha_kit.clock import Clock, to_local
from sihha_kit.logs import get_logger
from sihha_reporting.domain import periods
from sihha_reporting.domain.periods import Period
from sihha_reporting.service_layer.publishing import ReportService
from sihha_reporting.service_layer.unit_of_work import ReportingUnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    family: str  # wilaya | ministry
    period: Period

    @property
    def key(self) -> str:
        return self.period.key


def plan(today: date, *, lookback_days: int) -> list[Job]:
    """What to (re)generate on `today` (Algiers), once the scheduled hour has passed."""
    jobs = [Job("wilaya_daily", "wilaya", periods.daily(today - timedelta(days=1), today))]
    for back in range(2, lookback_days + 2):
        jobs.append(
            Job("recheck_daily", "wilaya", periods.daily(today - timedelta(days=back), today))
        )
    last_week = periods.weekly(today - timedelta(days=7), today)
    if last_week.closed(today):
        jobs.append(Job("wilaya_weekly", "wilaya", last_week))
    previous_month = periods.monthly(periods.previous_month(today), today)
    if today.day == 1:
        jobs.append(Job("wilaya_monthly", "wilaya", previous_month))
        jobs.append(Job("ministry_monthly", "ministry", previous_month))
    elif today.day <= lookback_days + 1:
        jobs.append(Job("recheck_monthly", "wilaya", previous_month))
        jobs.append(Job("recheck_ministry", "ministry", previous_month))
    return jobs


class Scheduler:
    def __init__(
        self,
        reports: ReportService,
        uow: Callable[[], ReportingUnitOfWork],
        clock: Clock,
        *,
        hour: int,
        lookback_days: int,
        poll_seconds: float,
    ) -> None:
        self.reports = reports
        self.uow = uow
        self.clock = clock
        self.hour = hour
        self.lookback_days = lookback_days
        self.poll_seconds = poll_seconds

    async def run(self) -> None:
        while True:
            await self.run_due()
            await asyncio.sleep(self.poll_seconds)

    async def run_due(self) -> list[Job]:
        local = to_local(self.clock())
        if local.hour < self.hour:
            return []
        done = []
        for job in plan(local.date(), lookback_days=self.lookback_days):
            # re-checks run once a day; first generations once per period
            claim_key = f"{job.key}@{local.date()}" if job.name.startswith("recheck") else job.key
            async with self.uow() as uow:
                if await uow.schedule.ran(job.name, claim_key):
                    continue
            try:
                if job.family == "ministry":
                    await self.reports.ministry(job.period, trigger="schedule", publish=True)
                else:
                    await self.reports.wilaya(job.period, trigger="schedule", publish=True)
            except Exception as error:  # one failing report must not stop the others
                log.error(
                    "schedule.job_failed", job=job.name, period=job.key, error=str(error)[:300]
                )
                continue  # not recorded: tried again at the next poll
            async with self.uow() as uow:
                await uow.schedule.claim(job.name, claim_key)
                await uow.commit()
            done.append(job)
        return done
