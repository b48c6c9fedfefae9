"""`python -m sihha_queue`: serve the queue service (settings from QUEUE_* variables).
`python -m sihha_queue relay`: its outbox relay alone, for serving processes started with
`QUEUE_OUTBOX_RELAY=separate` (`sihha_kit.runtime.run_relay`).
`python -m sihha_queue declare-inboxes`: declare the service's inbox (queue, bindings,
dead-letter path) and apply its policy where it may, then exit: run once before any
producer starts (`sihha_kit.runtime.declare_inboxes`, docs/messaging.md point 6); exits 1,
with an `inboxes.not_declared` log line, if the broker does not accept it in
`QUEUE_DECLARE_INBOXES_TIMEOUT_SECONDS`. Needs the broker only, not the database (but
the service's settings and keys, as serving does: its context is built to know its
consumer).

With `QUEUE_HTTP_WORKERS` above 1, uvicorn starts that many worker processes on the
one port, each a whole service process (its own pool, outbox relay, consumer and
LISTEN connection: the connection budget is per process). Nothing in the service
assumes a single process: relays claim outbox rows with SKIP LOCKED, the consumer's
inbox makes a second consumer harmless, the day's closing skips locked tickets, and
the boards and the clinic directory hear every replica's changes through PostgreSQL.
"""

import sys

from fastapi import FastAPI

from sihha_kit.runtime import declare_inboxes_main, relay_main
from sihha_kit.serve import serve
from sihha_queue.bootstrap import build_context, create_app
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
    elif sys.argv[1:] == ["declare-inboxes"]:
        raise SystemExit(declare_inboxes_main(settings, lambda: build_context(settings).runtime))
    elif sys.argv[1:]:
        raise SystemExit(
            f"usage: python -m sihha_queue [relay | declare-inboxes] (not {' '.join(sys.argv[1:])})"
        )
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
