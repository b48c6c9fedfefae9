"""Abuse limits with the `limits` library (sliding window counters), per citizen and per
client address.

The strategy is `limits`' sliding window counter: per identifier, the current and the
previous fixed window's counts, the previous weighted by how much of it still overlaps
the sliding window. Its moving-window strategy was exact but, on the async memory
storage, keeps a list of every hit per key and runs its expiry pass over every key with
one `asyncio.to_thread` each, after every hit: with a few thousand citizens within the
hour of the holds' window, that pass and its thread hops were about a sixth of the
service's CPU during the 200-way race (py-spy; bench/README.md "Appointments"). A
counter is O(1) per hit; the storage's expiry pass still walks every key (no thread).

The storage is `limits`' own, named by a URI (`APPOINTMENTS_RATE_LIMIT_STORAGE`):
``memory://`` keeps the windows in this process, right for one replica only (two
replicas would each allow the full rate); several replicas need a storage they share,
e.g. ``redis://host:6379`` (`limits` does not store in PostgreSQL). Windows are counted
on the wall clock. Identifiers are the pseudonymous patient key and the client address,
never a phone number or a NIN.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string


@dataclass(frozen=True)
class Limits:
    searches: str = "60/minute"
    holds: str = "10/hour"
    sign_ins: str = "5/hour"


class RateLimiter:
    def __init__(self, storage_uri: str, limits: Limits) -> None:
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        storage = storage_from_string(uri)
        assert isinstance(storage, Storage)
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self.items: dict[str, RateLimitItem] = {
            "search": parse(limits.searches),
            "hold": parse(limits.holds),
            "sign_in": parse(limits.sign_ins),
        }

    async def hit(self, action: str, *identifiers: str) -> int | None:
        """Count one `action` for each identifier (`"citizen:<key>"`, `"ip:<address>"`);
        None if all are within their limit, else the seconds until the first may retry
        (nothing is counted then)."""
        item = self.items[action]
        for identifier in identifiers:
            if not await self._limiter.test(item, action, identifier):
                stats = await self._limiter.get_window_stats(item, action, identifier)
                return max(1, math.ceil(stats.reset_time - time.time()))
        for identifier in identifiers:
            await self._limiter.hit(item, action, identifier)
        return None
