"""The display boards' live feed: PostgreSQL NOTIFY fanned out to every open stream.

Handlers `pg_notify` inside their transaction, so a board only ever shows a
committed call, and every replica of the service hears it. Each process keeps
one LISTEN connection (re-opened if lost) and a bounded queue per open board.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import Any

import asyncpg

from sihha_kit.db import asyncpg_dsn
from sihha_kit.logs import get_logger
from sihha_queue.service_layer.unit_of_work import BOARD_CHANNEL

log = get_logger(__name__)


class BoardFeed:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._boards: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def subscribe(self, facility_id: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
        self._boards[facility_id].add(queue)
        return queue

    def unsubscribe(self, facility_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._boards[facility_id].discard(queue)

    def _heard(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        for queue in list(self._boards.get(message.get("facility_id", ""), ())):
            with contextlib.suppress(asyncio.QueueFull):  # a stalled board misses, others don't
                queue.put_nowait(message)

    async def run(self) -> None:
        """Listen until cancelled, reconnecting when the database connection drops."""
        while True:
            try:
                connection = await asyncpg.connect(asyncpg_dsn(self.database_url))
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("board.listen_failed", error=str(error))
                await asyncio.sleep(2)
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _, lost=lost: lost.set())
            try:
                await connection.add_listener(BOARD_CHANNEL, self._heard)
                await lost.wait()
                log.warning("board.listen_lost")
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()
