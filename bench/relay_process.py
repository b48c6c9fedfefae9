"""The outbox relay alone in a process of its own: `python -m bench pipeline --relay-process`
runs the pipeline with its relay here and its consumer in the benchmark's process (the
structural answer to the relay's CPU: issue 12), until SIGTERM.

Usage: `python -m bench.relay_process DATABASE_URL AMQP_URL NAMESPACE BATCH`
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from sihha_kit.broker import Broker, Topology
from sihha_kit.db import create_engine
from sihha_kit.outbox import OutboxRelay


async def relay_until_terminated(
    database_url: str, amqp_url: str, namespace: str, batch: int
) -> None:
    engine = create_engine(database_url, pool_size=2)
    broker = Broker(amqp_url, Topology(namespace), client_name="bench-relay")
    relay = OutboxRelay(engine, database_url, broker, "queue", batch_size=batch, poll_seconds=0.5)
    task = asyncio.create_task(relay.run())
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await broker.close()
        await engine.dispose()


def main(argv: list[str]) -> None:
    database_url, amqp_url, namespace, batch = argv
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    runner(relay_until_terminated(database_url, amqp_url, namespace, int(batch)))


if __name__ == "__main__":
    main(sys.argv[1:])
