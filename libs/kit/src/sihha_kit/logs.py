"""Structured logs (structlog): JSON in production, readable on a console.

Every line carries the service name, the `trace_id` of the span it is written
under (an HTTP request's, a consumed event's) and, when known, `event_id` and
`facility_id` (bound with `structlog.contextvars.bound_contextvars`).
Never log a patient's name, NIN, phone or date of birth: log the pseudonymous
key if anything.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from sihha_kit.tracing import current_trace_id


def _add_trace_id(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if "trace_id" not in event_dict:
        trace_id = current_trace_id()
        if trace_id:
            event_dict["trace_id"] = trace_id
    return event_dict


def configure_logging(service_name: str, log_format: str = "console", level: str = "INFO") -> None:
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        numeric_level = logging.INFO
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_trace_id,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service_name)
    logging.basicConfig(level=max(numeric_level, logging.WARNING), stream=sys.stderr)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
