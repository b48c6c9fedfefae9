"""The clinics' reference data, held in each process: establishments and their services.

Every ticket reads its clinic (opening hours, policies) and its service (open or closed,
hours). That was two queries per ticket for data that changes a few times a year. Each
process keeps a snapshot instead:

- loaded at start-up, after the registry file is applied;
- the admin API's writes `NOTIFY queue_directory` inside their transaction, so every
  replica reloads once the change is committed, and the replica that wrote reloads
  before it answers (`QueueUnitOfWork.commit`), so its next request already sees it;
- reloaded after every (re)connection of its LISTEN connection and at least once a
  minute, so a notification lost with a dropped connection only delays a change.

Counters are not kept here: they are read with the ticket they serve, in the same
transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from sihha_kit.db import asyncpg_dsn
from sihha_kit.logs import get_logger
from sihha_kit.registry import OpeningHours
from sihha_queue.adapters.tables import clinic_services, establishments

log = get_logger(__name__)

#: PostgreSQL channel on which the admin API's writes announce a change
DIRECTORY_CHANNEL = "queue_directory"


class ClinicDirectory:
    def __init__(
        self, engine: AsyncEngine, database_url: str, *, refresh_seconds: float = 60.0
    ) -> None:
        self.engine = engine
        self.database_url = database_url
        self.refresh_seconds = refresh_seconds
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
        services = self._services.get(facility_id, {})
        return [services[code] for code in sorted(services)]

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
            row["hours"] = OpeningHours.parse(row["opening_hours"] or {})
        by_clinic: dict[str, dict[str, dict[str, Any]]] = {code: {} for code in kept}
        for service in services:
            row = dict(service)
            clinic = kept.get(row["facility_id"])
            if row["opening_hours"]:
                row["hours"] = OpeningHours.parse(row["opening_hours"])
            else:
                row["hours"] = clinic["hours"] if clinic else OpeningHours.parse({})
            by_clinic.setdefault(row["facility_id"], {})[row["service_code"]] = row
        self._establishments = kept
        self._services = by_clinic
        self.loaded = True

    def _heard(self, *_: object) -> None:
        self._changed.set()

    async def run(self) -> None:
        """Listen for changes until cancelled; reconnect and reload when the connection drops."""
        while True:
            try:
                connection = await asyncpg.connect(asyncpg_dsn(self.database_url))
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("directory.listen_failed", error=str(error))
                await asyncio.sleep(2)
                continue
            lost = asyncio.Event()

            def on_lost(_: object, lost: asyncio.Event = lost) -> None:
                lost.set()
                self._changed.set()

            connection.add_termination_listener(on_lost)
            try:
                await connection.add_listener(DIRECTORY_CHANNEL, self._heard)
                self._changed.set()  # anything missed while not listening
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), self.refresh_seconds)
                    self._changed.clear()
                    try:
                        await self.reload()
                    except (OSError, asyncpg.PostgresError, SQLAlchemyError) as error:
                        log.warning("directory.reload_failed", error=str(error))
                        await asyncio.sleep(2)
                        self._changed.set()
                log.warning("directory.listen_lost")
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()
