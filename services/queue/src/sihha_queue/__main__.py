"""`python -m sihha_queue`: serve the queue service (settings from QUEUE_* variables).
`python -m sihha_queue relay`: its outbox relay alone, for serving processes started with
`QUEUE_OUTBOX_RELAY=separate` (`sihha_kit.runtime.run_relay`).

With `QUEUE_HTTP_WORKERS` above 1, uvicorn starts that many worker processes on the
one port, each a whole service process (its own pool, outbox relay, consumer and
LISTEN connection: the connection budget is per process). Nothing in the service
assumes a single process: relays claim outbox rows with SKIP LOCKED, the consumer's
inbox makes a second consumer harmless, the day's closing skips locked tickets, and
the boards and the clinic directory hear every replica's changes through PostgreSQL.
"""

import sys

from fastapi import FastAPI

from sihha_kit.runtime import relay_main
from sihha_kit.serve import serve
from sihha_queue.bootstrap import create_app
from sihha_queue.config import QueueSettings


def served_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory when there are several)."""
    app = create_app(QueueSettings())
    app.state.settle_garbage_collector = True  # this process serves this app until it exits
    return app


if __name__ == "__main__":
    settings = QueueSettings()
    if sys.argv[1:] == ["relay"]:
        relay_main(settings)
    elif sys.argv[1:]:
        raise SystemExit(f"usage: python -m sihha_queue [relay] (not {' '.join(sys.argv[1:])})")
    elif settings.http_workers > 1:
        import uvicorn

        uvicorn.run(
            "sihha_queue.__main__:served_app",
            factory=True,
            workers=settings.http_workers,
            host=settings.http_host,
            port=settings.http_port,
            log_level=settings.log_level.lower(),
            access_log=False,
            proxy_headers=True,
            timeout_graceful_shutdown=10,
        )
    else:
        serve(create_app(settings), settings)
