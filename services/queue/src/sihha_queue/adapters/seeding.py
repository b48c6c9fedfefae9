"""The registry's polyclinics written into the queue's tables at start-up."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert

from sihha_kit.db import Executor
from sihha_kit.registry import Registry
from sihha_queue.adapters.tables import clinic_services, counters, establishments

#: where the kiosk shows the registry's standard services: general medicine, the
#: busiest, first (a clinic changes it with the admin API)
KIOSK_RANKS = {"MG": 1}


async def seed_registry(
    session: Executor, registry: Registry, counters_per_service: int = 2
) -> bool:
    """Insert the registry's polyclinics that are new, their standard services and two
    counters per service; what the admin API changed since is kept. True if any clinic
    was added."""
    default_hours = registry.default_opening_hours.as_dict()
    rows = [
        {
            "code": e.code,
            "kind": e.kind,
            "name_fr": e.name_fr,
            "name_ar": e.name_ar,
            "commune": e.commune,
            "opening_hours": (e.opening_hours.as_dict() if e.opening_hours else default_hours),
            "recall_window_seconds": 120,
            "no_show_requeue_once": True,
        }
        for e in registry.polyclinics
    ]
    if not rows:
        return False
    created = (
        (
            await session.execute(
                insert(establishments)
                .values(rows)
                .on_conflict_do_nothing()
                .returning(establishments.c.code)
            )
        )
        .scalars()
        .all()
    )
    services = [
        {
            "facility_id": code,
            "service_code": s.code,
            "name_fr": s.name_fr,
            "name_ar": s.name_ar,
            "active": True,
            "routed_keeps_arrival": True,
            "kiosk_rank": KIOSK_RANKS.get(s.code),
        }
        for code in created
        for s in registry.polyclinic_services
    ]
    if not services:
        return False
    await session.execute(insert(clinic_services).values(services).on_conflict_do_nothing())
    desks = [
        {
            "counter_id": uuid.uuid5(
                uuid.NAMESPACE_URL, f"sihha:{row['facility_id']}:{row['service_code']}:{n}"
            ),
            "facility_id": row["facility_id"],
            "service_code": row["service_code"],
            "label": f"{row['service_code']} {n}",
            "active": True,
        }
        for row in services
        for n in range(1, counters_per_service + 1)
    ]
    await session.execute(insert(counters).values(desks).on_conflict_do_nothing())
    return True
