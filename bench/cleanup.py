"""Removal of a benchmark's throwaway exchanges and queues, whatever state it ended in."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import aio_pika

from sihha_kit.logs import get_logger

log = get_logger(__name__)


async def delete_broker_names(
    amqp_url: str, *, queues: Iterable[str] = (), exchanges: Iterable[str] = ()
) -> None:
    """Delete the named queues and exchanges on a fresh connection (each on its own channel,
    since a failed delete closes its channel); a name already gone is not an error."""
    try:
        connection = await aio_pika.connect(
            amqp_url, timeout=10, client_properties={"connection_name": "bench-cleanup"}
        )
    except Exception as error:  # the broker is away: say what is left behind
        log.warning("bench.cleanup_failed", error=str(error), queues=list(queues))
        return
    async with connection:
        for queue in queues:
            with contextlib.suppress(Exception):
                channel = await connection.channel(publisher_confirms=False)
                await channel.queue_delete(queue)
                await channel.close()
        for exchange in exchanges:
            with contextlib.suppress(Exception):
                channel = await connection.channel(publisher_confirms=False)
                await channel.exchange_delete(exchange)
                await channel.close()
