"""Projections: read models built from events, each rebuildable from the archive.

A projection is a module with `HANDLES` (event types) and `apply(envelope,
payload, session)`. Adding one is a new module listed in `PROJECTIONS`.
"""

from __future__ import annotations

from types import ModuleType

from sihha_reporting.projections import tickets_per_day

PROJECTIONS: tuple[ModuleType, ...] = (tickets_per_day,)
