"""Every event, known or not, counted per Algiers day, establishment, type and version.

This is how unknown types and versions are "archived and counted, not lost":
they have no payload the other projections could read, but they are counted
here (with `known = false`) and kept whole in the archive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sihha_reporting.domain.facts import Fact
from sihha_reporting.domain.writes import OR, SUM, Upsert

if TYPE_CHECKING:
    from sihha_reporting.projections import ProjectionContext

NAME = "event_counts"
VERSION = 1
HANDLES = None  # every event
TABLES = ("event_counts",)


def project(facts: Sequence[Fact], context: ProjectionContext) -> list[Upsert]:
    counts = Upsert(
        "event_counts",
        ("day", "facility_id", "event_type", "schema_version"),
        {"events": SUM, "known": OR},
    )
    for fact in facts:
        counts.add(
            day=fact.day,
            facility_id=fact.facility_id,
            event_type=fact.event_type,
            schema_version=fact.schema_version,
            events=1,
            known=fact.payload is not None,
        )
    return [counts]
