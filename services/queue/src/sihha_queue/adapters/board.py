"""The display boards' live feed: the `queue_board` notifications fanned out to every
open board stream of this process.

Handlers `pg_notify` inside their transaction, so a board only ever hears a committed
call, and every replica of the service hears it (`Notifications`). Each open board has
a bounded queue; a stalled board misses messages (and gets them back from the history
when it reconnects with its last event id), the others do not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import Any

#: PostgreSQL channel of the display boards (NOTIFY is delivered on commit only)
BOARD_CHANNEL = "queue_board"


class BoardFeed:
    def __init__(self) -> None:
        self._boards: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def subscribe(self, facility_id: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=100)
        self._boards[facility_id].add(queue)
        return queue

    def unsubscribe(self, facility_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._boards[facility_id].discard(queue)

    def heard(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        for queue in list(self._boards.get(message.get("facility_id", ""), ())):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(message)
