"""The clinics' reference data, held in each process: establishments and their services.

Every ticket reads its clinic (opening hours, policies) and its service (open or closed,
hours). That was two queries per ticket for data that changes a few times a year. Each
process keeps a snapshot instead:

- loaded at start-up, after the registry file is applied;
- the admin API's writes `NOTIFY queue_directory` inside their transaction, so every
  replica reloads once the change is committed, and the replica that wrote reloads
  before it answers (`QueueUnitOfWork.commit`), so its next request already sees it;
- reloaded after every (re)connection of the process's LISTEN connection
  (`Notifications`) and at least once a minute, so a notification lost with a dropped
  connection only delays a change.

Counters are not kept here: they are read with the ticket they serve, in the same
transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from sihha_kit.clock import to_local
from sihha_kit.logs import get_logger
from sihha_queue.adapters.tables import clinic_services, establishments
from sihha_queue.domain.hours import DEFAULT_GRACE, ServiceHours

log = get_logger(__name__)

#: PostgreSQL channel on which the admin API's writes announce a change
DIRECTORY_CHANNEL = "queue_directory"


class ClinicDirectory:
    def __init__(self, engine: AsyncEngine, *, refresh_seconds: float = 60.0) -> None:
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        #: how long a service day's queue stays current after closing
        self.grace = DEFAULT_GRACE
        self._establishments: dict[str, dict[str, Any]] = {}
        self._services: dict[str, dict[str, dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        self.loaded = False

    # -- reads (no I/O) ----------------------------------------------------------------

    def establishment(self, facility_id: str) -> Mapping[str, Any] | None:
        return self._establishments.get(facility_id)

    def service(self, facility_id: str, service_code: str) -> Mapping[str, Any] | None:
        return self._services.get(facility_id, {}).get(service_code)

    def services(self, facility_id: str) -> list[Mapping[str, Any]]:
        """The clinic's services in the kiosk's order: by `kiosk_rank`, then by code."""
        services = self._services.get(facility_id, {}).values()
        return sorted(
            services,
            key=lambda s: (s["kiosk_rank"] is None, s["kiosk_rank"] or 0, s["service_code"]),
        )

    def hours(self, facility_id: str, service_code: str | None = None) -> ServiceHours:
        """The service's own hours, else its clinic's (closed if the clinic is unknown)."""
        row = self.service(facility_id, service_code) if service_code else None
        row = row or self.establishment(facility_id)
        return row["hours"] if row is not None else ServiceHours()  # type: ignore[no-any-return]

    def queue_day(self, facility_id: str, service_code: str, now: datetime) -> date:
        """The service day whose queue is current at `now` (`ServiceHours.queue_day`)."""
        return self.hours(facility_id, service_code).queue_day(to_local(now), self.grace)

    def queue_days(self, facility_id: str, now: datetime) -> dict[str, date]:
        """`queue_day` of every service of the clinic."""
        return {
            code: self.queue_day(facility_id, code, now)
            for code in self._services.get(facility_id, {})
        }

    # -- keeping it fresh ----------------------------------------------------------------

    async def reload(self) -> None:
        """Replace the snapshot with what the database holds now (one swap, no gap)."""
        async with self.engine.connect() as connection:
            clinics = (await connection.execute(select(establishments))).mappings().all()
            services = (await connection.execute(select(clinic_services))).mappings().all()
        # each row also gets its opening hours parsed once (`hours`): a service without
        # hours of its own keeps its clinic's
        kept = {row["code"]: dict(row) for row in clinics}
        for row in kept.values():
            row["hours"] = ServiceHours.parse(row["opening_hours"] or {})
        by_clinic: dict[str, dict[str, dict[str, Any]]] = {code: {} for code in kept}
        for service in services:
            row = dict(service)
            clinic = kept.get(row["facility_id"])
            if row["opening_hours"]:
                row["hours"] = ServiceHours.parse(row["opening_hours"])
            else:
                row["hours"] = clinic["hours"] if clinic else ServiceHours()
            by_clinic.setdefault(row["facility_id"], {})[row["service_code"]] = row
        self._establishments = kept
        self._services = by_clinic
        self.loaded = True

    def changed(self, *_: object) -> None:
        """Something changed (a notification, a reconnection): reload soon."""
        self._changed.set()

    async def run(self) -> None:
        """Reload on every change and at least every `refresh_seconds`, until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.refresh_seconds):  # wait_for could swallow a cancel
                    await self._changed.wait()
            self._changed.clear()
            try:
                await self.reload()
            except (OSError, asyncpg.PostgresError, SQLAlchemyError) as error:
                log.warning("directory.reload_failed", error=str(error))
                await asyncio.sleep(2)
                self._changed.set()
