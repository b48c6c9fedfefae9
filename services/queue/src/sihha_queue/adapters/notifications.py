"""The process's one LISTEN connection: PostgreSQL notifications to in-process callbacks.

The display boards' feed (`queue_board`) and the clinic directory (`queue_directory`)
both hear committed changes this way; one connection, re-opened with backoff when lost,
serves every channel. After each (re)connection the `on_connected` callbacks run: a
notification sent while the connection was down is lost, so a listener that must not
miss one re-reads what it keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable

import asyncpg

from sihha_kit.db import asyncpg_dsn
from sihha_kit.logs import get_logger

log = get_logger(__name__)


class Notifications:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._callbacks: dict[str, list[Callable[[str], None]]] = defaultdict(list)
        self._on_connected: list[Callable[[], None]] = []
        self.connected = asyncio.Event()

    def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback(payload)` for every notification on `channel` (before `run`)."""
        self._callbacks[channel].append(callback)

    def on_connected(self, callback: Callable[[], None]) -> None:
        self._on_connected.append(callback)

    def _heard(self, _connection: object, _pid: int, channel: str, payload: str) -> None:
        for callback in self._callbacks.get(channel, ()):
            try:
                callback(payload)
            except Exception as error:  # one listener's bug must not silence the others
                log.error("notifications.callback_failed", channel=channel, error=str(error))

    async def run(self) -> None:
        """Listen until cancelled, reconnecting when the connection drops."""
        delay = 0.5
        while True:
            try:
                connection = await asyncpg.connect(asyncpg_dsn(self.database_url))
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("notifications.connect_failed", error=str(error), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _, lost=lost: lost.set())
            try:
                for channel in self._callbacks:
                    await connection.add_listener(channel, self._heard)
                self.connected.set()
                for callback in self._on_connected:
                    callback()
                await lost.wait()
                log.warning("notifications.connection_lost")
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await connection.close()
