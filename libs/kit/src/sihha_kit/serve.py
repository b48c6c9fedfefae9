"""Run a service's app with uvicorn on its configured host and port."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from sihha_kit.settings import ServiceSettings


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    app.state.settle_garbage_collector = True  # this process serves this app until it exits
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,  # the middleware counts and traces every request
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
