"""Payload models, one module per producing service."""

from sihha_contracts.events import queue  # noqa: F401
