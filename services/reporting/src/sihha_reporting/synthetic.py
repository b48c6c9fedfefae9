"""Synthetic but contract-true activity: real envelopes of real payload models.

Used by the tests, the benchmarks and the demo to play a clinic's day
without the producing services: a ticket's journey (issued → called →
started → completed, or a no-show, a cancellation, a routing), terminal
heartbeats, emergency visits, appointments and medical-record encounters.
Every event is built with the kit's `build_envelope`, exactly as an outbox
would send it; patient keys are random hex (never derived from anything).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID, uuid4

from sihha_contracts.envelope import Envelope, EventPayload, Producer
from sihha_contracts.events.appointments import (
    AppointmentArrivedV1,
    AppointmentBookedV1,
    AppointmentNoShowV1,
    BookingChannel,
)
from sihha_contracts.events.emergency import (
    ArrivalMode,
    Disposition,
    EmergencyVisitArrivedV1,
    EmergencyVisitDepartedV1,
    EmergencyVisitDispositionDecidedV1,
    EmergencyVisitSeenByDoctorV1,
    EmergencyVisitTriagedV1,
)
from sihha_contracts.events.queue import (
    CallMode,
    PatientRoutedV1,
    TerminalHeartbeatV1,
    TerminalKind,
    TicketCalledV1,
    TicketCancelledV1,
    TicketExpiredV1,
    TicketIssuedV1,
    TicketNoShowV1,
    VisitCompletedV1,
    VisitStartedV1,
)
from sihha_contracts.events.records import (
    EncounterClosedV1,
    EncounterKind,
    EncounterOpenedV1,
    EncounterOutcome,
)
from sihha_contracts.types import AgeBand, Sex
from sihha_kit.clock import ALGIERS
from sihha_kit.domain import RecordedEvent
from sihha_kit.outbox import build_envelope


def algiers(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An Algiers wall-clock time as a UTC instant."""
    return datetime.combine(day, time(hour, minute, second), ALGIERS).astimezone(UTC)


@dataclass
class EventFactory:
    """Builds envelopes; keeps each aggregate's sequence like a producer would."""

    version: str = "synthetic"
    _sequences: dict[str, int] = field(default_factory=dict)
    _numbers: dict[tuple[str, str, date], int] = field(default_factory=dict)

    def envelope(
        self, payload: EventPayload, facility_id: str, aggregate_id: object, at: datetime
    ) -> Envelope:
        aggregate = str(aggregate_id)
        sequence = self._sequences.get(aggregate, 0) + 1
        self._sequences[aggregate] = sequence
        return build_envelope(
            RecordedEvent(payload, facility_id, aggregate, sequence, at),
            Producer(name=payload.service(), version=self.version),
            recorded_at=at,
        )

    def ticket_number(self, facility_id: str, service_code: str, day: date) -> str:
        key = (facility_id, service_code, day)
        self._numbers[key] = self._numbers.get(key, 0) + 1
        return f"{service_code}-{self._numbers[key]:03d}"

    # -- polyclinic ---------------------------------------------------------------------

    def ticket_journey(
        self,
        facility_id: str,
        service_code: str,
        arrived_at: datetime,
        *,
        wait_seconds: int = 600,
        service_seconds: int = 300,
        outcome: str = "served",
        routed_to: str | None = None,
        visit_id: UUID | None = None,
        original_arrival: datetime | None = None,
    ) -> list[Envelope]:
        """One ticket from issue to its outcome: served, no_show, cancelled, expired (still
        waiting at the day's closing), or routed."""
        ticket_id, visit_id = uuid4(), visit_id or uuid4()
        day = arrived_at.astimezone(ALGIERS).date()
        number = self.ticket_number(facility_id, service_code, day)
        arrival = original_arrival or arrived_at
        events = [
            self.envelope(
                TicketIssuedV1(
                    ticket_id=ticket_id,
                    visit_id=visit_id,
                    service_code=service_code,
                    ticket_number=number,
                    service_day=day,
                    arrived_at=arrival,
                    patient_key=secrets.token_hex(32),
                    age_band=AgeBand.ADULT,
                    sex=Sex.FEMALE,
                ),
                facility_id,
                ticket_id,
                arrived_at,
            )
        ]
        if outcome == "cancelled":
            events.append(
                self.envelope(
                    TicketCancelledV1(
                        ticket_id=ticket_id,
                        visit_id=visit_id,
                        service_code=service_code,
                        reason="patient_left",
                    ),
                    facility_id,
                    ticket_id,
                    arrived_at + timedelta(seconds=wait_seconds),
                )
            )
            return events
        if outcome == "expired":  # still waiting when the day closed (at 18:00, Algiers)
            closing = datetime.combine(day, time(18, 0), ALGIERS)
            events.append(
                self.envelope(
                    TicketExpiredV1(
                        ticket_id=ticket_id,
                        visit_id=visit_id,
                        service_code=service_code,
                        ticket_number=number,
                        service_day=day,
                        status_before="waiting",
                    ),
                    facility_id,
                    ticket_id,
                    max(closing, arrived_at + timedelta(minutes=1)),
                )
            )
            return events
        called_at = arrival + timedelta(seconds=wait_seconds)
        counter = uuid4()
        events.append(
            self.envelope(
                TicketCalledV1(
                    ticket_id=ticket_id,
                    visit_id=visit_id,
                    service_code=service_code,
                    ticket_number=number,
                    counter_id=counter,
                    counter_label="Box 1",
                    reason="fifo",
                    waited_seconds=wait_seconds,
                    call_mode=CallMode.NEXT,
                ),
                facility_id,
                ticket_id,
                called_at,
            )
        )
        if outcome == "no_show":
            events.append(
                self.envelope(
                    TicketNoShowV1(
                        ticket_id=ticket_id,
                        visit_id=visit_id,
                        service_code=service_code,
                        ticket_number=number,
                        requeued=False,
                    ),
                    facility_id,
                    ticket_id,
                    called_at + timedelta(minutes=3),
                )
            )
            return events
        started_at = called_at + timedelta(seconds=60)
        ended_at = started_at + timedelta(seconds=service_seconds)
        events.append(
            self.envelope(
                VisitStartedV1(
                    ticket_id=ticket_id,
                    visit_id=visit_id,
                    counter_id=counter,
                    service_code=service_code,
                ),
                facility_id,
                ticket_id,
                started_at,
            )
        )
        events.append(
            self.envelope(
                VisitCompletedV1(
                    visit_id=visit_id,
                    ticket_id=ticket_id,
                    service_code=service_code,
                    service_seconds=service_seconds,
                    visit_finished=routed_to is None,
                ),
                facility_id,
                ticket_id,
                ended_at,
            )
        )
        if routed_to is not None:
            next_events = self.ticket_journey(
                facility_id,
                routed_to,
                ended_at + timedelta(seconds=5),
                wait_seconds=wait_seconds + service_seconds + 65 + 300,
                service_seconds=service_seconds,
                visit_id=visit_id,
                original_arrival=arrival,
            )
            to_ticket = UUID(next_events[0].payload["ticket_id"])
            events.append(
                self.envelope(
                    PatientRoutedV1(
                        visit_id=visit_id,
                        from_ticket_id=ticket_id,
                        to_ticket_id=to_ticket,
                        from_service_code=service_code,
                        to_service_code=routed_to,
                        keeps_original_arrival=True,
                    ),
                    facility_id,
                    visit_id,
                    ended_at + timedelta(seconds=4),
                )
            )
            events.extend(next_events)
        return events

    def heartbeat(
        self,
        facility_id: str,
        at: datetime,
        terminal_id: UUID | None = None,
        *,
        open_now: bool | None = None,
    ) -> Envelope:
        terminal = terminal_id or uuid4()
        return self.envelope(
            TerminalHeartbeatV1(
                terminal_id=terminal,
                terminal_kind=TerminalKind.COUNTER,
                within_opening_hours=open_now,
            ),
            facility_id,
            terminal,
            at,
        )

    # -- hospitals and appointments ----------------------------------------------------

    def emergency_visit(
        self,
        facility_id: str,
        arrived_at: datetime,
        *,
        triage_level: int = 3,
        minutes_to_doctor: int = 30,
        stay_minutes: int = 180,
        disposition: Disposition = Disposition.DISCHARGED,
    ) -> list[Envelope]:
        visit = uuid4()
        events = [
            self.envelope(
                EmergencyVisitArrivedV1(
                    visit_id=visit,
                    arrival_mode=ArrivalMode.WALK_IN,
                    age_band=AgeBand.MIDDLE,
                    sex=Sex.MALE,
                ),
                facility_id,
                visit,
                arrived_at,
            ),
            self.envelope(
                EmergencyVisitTriagedV1(visit_id=visit, triage_level=triage_level, zone="acute"),
                facility_id,
                visit,
                arrived_at + timedelta(minutes=5),
            ),
        ]
        if disposition is not Disposition.LEFT_WITHOUT_BEING_SEEN:
            events.append(
                self.envelope(
                    EmergencyVisitSeenByDoctorV1(
                        visit_id=visit, minutes_since_arrival=minutes_to_doctor
                    ),
                    facility_id,
                    visit,
                    arrived_at + timedelta(minutes=minutes_to_doctor),
                )
            )
        events.append(
            self.envelope(
                EmergencyVisitDispositionDecidedV1(visit_id=visit, disposition=disposition),
                facility_id,
                visit,
                arrived_at + timedelta(minutes=stay_minutes - 10),
            )
        )
        events.append(
            self.envelope(
                EmergencyVisitDepartedV1(
                    visit_id=visit, length_of_stay_minutes=stay_minutes, disposition=disposition
                ),
                facility_id,
                visit,
                arrived_at + timedelta(minutes=stay_minutes),
            )
        )
        return events

    def appointment(
        self, facility_id: str, booked_at: datetime, slot_start: datetime, *, attended: bool = True
    ) -> list[Envelope]:
        appointment = uuid4()
        events = [
            self.envelope(
                AppointmentBookedV1(
                    appointment_id=appointment,
                    booking_code=secrets.token_hex(4).upper(),
                    specialty_code="CARDIO",
                    slot_start=slot_start,
                    slot_end=slot_start + timedelta(minutes=20),
                    patient_key=secrets.token_hex(32),
                    booked_via=BookingChannel.WEB,
                ),
                facility_id,
                appointment,
                booked_at,
            )
        ]
        if attended:
            events.append(
                self.envelope(
                    AppointmentArrivedV1(appointment_id=appointment),
                    facility_id,
                    appointment,
                    slot_start - timedelta(minutes=10),
                )
            )
        else:
            events.append(
                self.envelope(
                    AppointmentNoShowV1(appointment_id=appointment, slot_start=slot_start),
                    facility_id,
                    appointment,
                    slot_start + timedelta(minutes=30),
                )
            )
        return events

    def encounter(
        self, facility_id: str, opened_at: datetime, *, hours: int = 48
    ) -> list[Envelope]:
        encounter = uuid4()
        return [
            self.envelope(
                EncounterOpenedV1(
                    encounter_id=encounter,
                    patient_key=secrets.token_hex(32),
                    encounter_kind=EncounterKind.INPATIENT,
                    department_code="CARDIO",
                ),
                facility_id,
                encounter,
                opened_at,
            ),
            self.envelope(
                EncounterClosedV1(
                    encounter_id=encounter,
                    outcome=EncounterOutcome.DISCHARGED,
                    length_of_stay_hours=hours,
                ),
                facility_id,
                encounter,
                opened_at + timedelta(hours=hours),
            ),
        ]


SERVICES = ("MG", "PED", "DENT", "LAB", "VAC", "SOIN")


def clinic_day(
    factory: EventFactory,
    facility_id: str,
    day: date,
    *,
    tickets: int,
    rng: random.Random,
    heartbeat_minutes: int = 30,
) -> list[Envelope]:
    """A polyclinic's working day: tickets spread over the morning, heartbeats all day."""
    events: list[Envelope] = []
    terminal = UUID(int=rng.getrandbits(128))
    minute = 0
    while minute < 8 * 60:
        events.append(
            factory.heartbeat(facility_id, algiers(day, 8) + timedelta(minutes=minute), terminal)
        )
        minute += heartbeat_minutes
    for _ in range(tickets):
        arrived = algiers(day, 8) + timedelta(seconds=rng.randrange(0, 6 * 3600))
        draw = rng.random()
        outcome = "served"
        routed_to = None
        if draw < 0.06:
            outcome = "no_show"
        elif draw < 0.09:
            outcome = "cancelled"
        elif draw < 0.2:
            routed_to = "LAB"
        events.extend(
            factory.ticket_journey(
                facility_id,
                rng.choice(SERVICES),
                arrived,
                wait_seconds=rng.randrange(60, 3600),
                service_seconds=rng.randrange(120, 1200),
                outcome=outcome,
                routed_to=routed_to,
            )
        )
    return events
