"""Polyclinic activity per establishment, day and service, and each ticket's timings.

Three tables:

- `polyclinic_daily` (establishment, day, service): events counted on the
  Algiers day they happened — tickets issued, calls, recalls, final no-shows
  (not requeued), requeued no-shows, cancellations, patients routed away and
  received, services started and completed, tickets expired at the day's
  closing (`queue.ticket.expired`: patients who left without being seen);
- `polyclinic_tickets` (one row per ticket, no patient key): arrival, issue,
  first call, start and end of service, outcome flags — waits and service
  times are computed from it (`docs/reporting.md`, metrics `wait_time` and
  `service_time`). The wait runs from the patient's *original* arrival
  (`arrived_at` of `queue.ticket.issued`, which a routed ticket carries over)
  to the first call; whichever of the two events arrives first, the row
  converges to the same values;
- `polyclinic_hourly` (establishment, day, local hour): tickets issued, for
  the busiest hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sihha_contracts.events.queue import (
    PatientRoutedV1,
    TicketCalledV1,
    TicketCancelledV1,
    TicketExpiredV1,
    TicketIssuedV1,
    TicketNoShowV1,
    TicketRecalledV1,
    VisitCompletedV1,
    VisitStartedV1,
)
from sihha_kit.clock import local_day
from sihha_reporting.domain.facts import Fact
from sihha_reporting.domain.writes import FIRST, MAX, MIN, OR, SUM, Upsert, earliest

if TYPE_CHECKING:
    from sihha_reporting.projections import ProjectionContext

NAME = "polyclinic_activity"
VERSION = 2  # 2: tickets expired at closing
HANDLES = frozenset(
    {
        "queue.ticket.issued",
        "queue.ticket.called",
        "queue.ticket.recalled",
        "queue.ticket.no_show",
        "queue.ticket.cancelled",
        "queue.ticket.expired",
        "queue.visit.started",
        "queue.patient.routed",
        "queue.visit.completed",
    }
)
TABLES = ("polyclinic_daily", "polyclinic_tickets", "polyclinic_hourly")

DAILY_COUNTS = (
    "tickets_issued",
    "calls",
    "recalls",
    "no_shows",
    "no_shows_requeued",
    "cancelled",
    "routed_out",
    "routed_in",
    "visits_started",
    "visits_completed",
    "visits_finished",
    "expired",
)


def _daily() -> Upsert:
    return Upsert(
        "polyclinic_daily",
        ("facility_id", "day", "service_code"),
        {name: SUM for name in DAILY_COUNTS},
    )


def _tickets() -> Upsert:
    return Upsert(
        "polyclinic_tickets",
        ("ticket_id",),
        {
            "facility_id": FIRST,
            "service_code": FIRST,
            "day": MIN,
            "priority": FIRST,
            "channel": FIRST,
            "routed_from": FIRST,
            "arrived_at": MIN,
            "issued_at": MIN,
            "first_called_at": MIN,
            "first_call_event": earliest("first_called_at", "first_call_event"),
            "reported_wait_seconds": earliest("first_called_at", "first_call_event"),
            "started_at": MIN,
            "completed_at": MAX,
            "service_seconds": MAX,
            "no_show": OR,
            "cancelled": OR,
            "routed": OR,
            "expired": OR,
        },
    )


def project(facts: Sequence[Fact], context: ProjectionContext) -> list[Upsert]:
    daily, tickets = _daily(), _tickets()
    hourly = Upsert("polyclinic_hourly", ("facility_id", "day", "hour"), {"tickets_issued": SUM})
    for fact in facts:
        p = fact.payload
        day, facility = fact.day, fact.facility_id
        if isinstance(p, TicketIssuedV1):
            daily.add(facility_id=facility, day=day, service_code=p.service_code, tickets_issued=1)
            arrived = p.arrived_at or fact.occurred_at
            tickets.add(
                ticket_id=p.ticket_id,
                facility_id=facility,
                service_code=p.service_code,
                day=local_day(arrived),
                priority=p.priority.value,
                channel=p.channel.value,
                routed_from=p.routed_from_ticket_id,
                arrived_at=arrived,
                issued_at=fact.occurred_at,
            )
            hourly.add(facility_id=facility, day=day, hour=fact.local.hour, tickets_issued=1)
        elif isinstance(p, TicketCalledV1):
            daily.add(facility_id=facility, day=day, service_code=p.service_code, calls=1)
            tickets.add(
                ticket_id=p.ticket_id,
                facility_id=facility,
                service_code=p.service_code,
                day=day,
                first_called_at=fact.occurred_at,
                first_call_event=fact.event_id,
                reported_wait_seconds=p.waited_seconds,
            )
        elif isinstance(p, TicketRecalledV1):
            daily.add(facility_id=facility, day=day, service_code=p.service_code, recalls=1)
        elif isinstance(p, TicketNoShowV1):
            if p.requeued:
                daily.add(
                    facility_id=facility, day=day, service_code=p.service_code, no_shows_requeued=1
                )
            else:
                daily.add(facility_id=facility, day=day, service_code=p.service_code, no_shows=1)
                tickets.add(
                    ticket_id=p.ticket_id,
                    facility_id=facility,
                    service_code=p.service_code,
                    day=day,
                    no_show=True,
                )
        elif isinstance(p, TicketCancelledV1):
            daily.add(facility_id=facility, day=day, service_code=p.service_code, cancelled=1)
            tickets.add(
                ticket_id=p.ticket_id,
                facility_id=facility,
                service_code=p.service_code,
                day=day,
                cancelled=True,
            )
        elif isinstance(p, TicketExpiredV1):
            daily.add(facility_id=facility, day=day, service_code=p.service_code, expired=1)
            tickets.add(
                ticket_id=p.ticket_id,
                facility_id=facility,
                service_code=p.service_code,
                day=day,
                expired=True,
            )
        elif isinstance(p, VisitStartedV1):
            daily.add(facility_id=facility, day=day, service_code=p.service_code, visits_started=1)
            tickets.add(
                ticket_id=p.ticket_id,
                facility_id=facility,
                service_code=p.service_code,
                day=day,
                started_at=fact.occurred_at,
            )
        elif isinstance(p, PatientRoutedV1):
            daily.add(facility_id=facility, day=day, service_code=p.from_service_code, routed_out=1)
            daily.add(facility_id=facility, day=day, service_code=p.to_service_code, routed_in=1)
            tickets.add(
                ticket_id=p.from_ticket_id,
                facility_id=facility,
                service_code=p.from_service_code,
                day=day,
                routed=True,
            )
        elif isinstance(p, VisitCompletedV1):
            daily.add(
                facility_id=facility,
                day=day,
                service_code=p.service_code,
                visits_completed=1,
                visits_finished=1 if p.visit_finished else 0,
            )
            tickets.add(
                ticket_id=p.ticket_id,
                facility_id=facility,
                service_code=p.service_code,
                day=day,
                completed_at=fact.occurred_at,
                service_seconds=p.service_seconds,
            )
    return [daily, tickets, hourly]
