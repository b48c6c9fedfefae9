"""Answers kept for requests sent with an `Idempotency-Key`, and the key that hashes them.

A retried request is recognised by (caller, key) and compared with the first by an
HMAC-SHA256 of its content under a secret of the queue's own (`service_keys`, made at
first start): the body may carry a patient's NIN, and an unkeyed hash of an 18-digit
number with a known structure falls to brute force. Records are kept
`IDEMPOTENCY_RETENTION` (a retry comes within minutes) and purged by `purge`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from sihha_kit.uow import Repository
from sihha_queue.adapters.tables import idempotency_keys, service_keys

IDEMPOTENCY_RETENTION = timedelta(hours=24)
_KEY_NAME = "idempotency-hmac"


def request_digest(secret: bytes, request: Any) -> str:
    """HMAC-SHA256 (hex) of a request's content (JSON, keys sorted)."""
    body = json.dumps(request, sort_keys=True, default=str).encode()
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


class IdempotencyRepository(Repository):
    async def find(self, subject: str, key: str) -> dict[str, Any] | None:
        row = (
            (
                await self.session.execute(
                    select(idempotency_keys).where(
                        idempotency_keys.c.subject == subject, idempotency_keys.c.key == key
                    )
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def remember(
        self,
        subject: str,
        key: str,
        request_hash: str,
        status_code: int,
        response: dict[str, Any],
        at: datetime,
    ) -> bool:
        """False if another request with the same key committed first."""
        inserted = await self.session.execute(
            insert(idempotency_keys)
            .values(
                subject=subject,
                key=key,
                request_hash=request_hash,
                status_code=status_code,
                response=response,
                created_at=at,
            )
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        return inserted.first() is not None

    async def purge(self, before: datetime) -> int:
        """Delete the answers kept since before `before` (index `idempotency_keys_created`)."""
        result = await self.session.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def secret(self) -> bytes:
        """The service's HMAC key for request digests, made (32 random bytes) if missing."""
        await self.session.execute(
            insert(service_keys)
            .values(name=_KEY_NAME, secret=secrets.token_bytes(32))
            .on_conflict_do_nothing()
        )
        value = await self.session.scalar(
            select(service_keys.c.secret).where(service_keys.c.name == _KEY_NAME)
        )
        assert value is not None
        return bytes(value)
