"""Abuse limits with the `limits` library (moving windows), per citizen and per client
address.

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
from limits.aio.strategies import MovingWindowRateLimiter
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
        self._limiter = MovingWindowRateLimiter(storage)
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
