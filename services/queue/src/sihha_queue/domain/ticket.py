"""Tickets: a patient's place in the queue of one service of a polyclinic.

Pure domain: no database, no web, no broker. A ticket records the events of
its changes; the unit of work writes them to the outbox.

States: waiting → called (→ recalled, still called) → in_service → completed;
called → no_show (or back to waiting once, by the clinic's policy);
waiting/called → cancelled; waiting/called/in_service → expired when its service day
closes with the ticket still open (the patient left unseen). Anything else is an
`IllegalTransition`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from sihha_contracts.events.queue import (
    CallMode,
    IssueChannel,
    PatientRoutedV1,
    Priority,
    StaffRole,
    TicketCalledV1,
    TicketCancelledV1,
    TicketExpiredV1,
    TicketIssuedV1,
    TicketNoShowV1,
    TicketRecalledV1,
    VisitCompletedV1,
    VisitStartedV1,
)
from sihha_contracts.types import AgeBand, Sex
from sihha_kit.domain import Aggregate
from sihha_queue.domain.errors import IllegalTransition, RecallWindowOpen, SameService


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def is_open(self) -> bool:
        return self in {TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.IN_SERVICE}


#: the number of a ticket not yet in a queue (numbers start at 1)
UNNUMBERED = 0


def ticket_label(service_code: str, number: int) -> str:
    """`MG-042`: the service's prefix and the day's number, at least three digits (the
    one place this rule is written: the API, the board and the history all show it)."""
    return f"{service_code}-{number:03d}"


@dataclass(frozen=True)
class Counter:
    counter_id: UUID
    facility_id: str
    service_code: str
    label: str


@dataclass(kw_only=True)
class Ticket(Aggregate):
    ticket_id: UUID
    visit_id: UUID
    facility_id: str
    service_code: str
    service_day: date
    number: int
    priority: Priority
    channel: IssueChannel
    issued_at: datetime
    #: the patient's original arrival in the clinic (kept when routed)
    arrived_at: datetime
    #: arrival moved earlier by the priority bonus: the call order (see policy.py)
    effective_at: datetime
    status: TicketStatus = TicketStatus.WAITING
    counter_id: UUID | None = None
    counter_label: str | None = None
    called_at: datetime | None = None
    last_called_at: datetime | None = None
    recall_count: int = 0
    no_show_count: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    patient_key: str | None = None
    age_band: AgeBand | None = None
    sex: Sex | None = None
    appointment_ref: str | None = None
    routed_from_ticket_id: UUID | None = None
    call_reason: str | None = None

    @property
    def label(self) -> str:
        return ticket_label(self.service_code, self.number)

    def _check(self, action: str, *allowed: TicketStatus) -> None:
        if self.status not in allowed:
            raise IllegalTransition(self.label, action, self.status.value)

    def _record(self, payload: object, at: datetime) -> None:
        self.record(payload, facility_id=self.facility_id, aggregate_id=str(self.ticket_id), at=at)  # type: ignore[arg-type]

    # -- issuing -------------------------------------------------------------

    @classmethod
    def issue(
        cls,
        *,
        facility_id: str,
        service_code: str,
        service_day: date,
        priority: Priority,
        channel: IssueChannel,
        at: datetime,
        number: int | None = None,
        effective_at: datetime | None = None,
        arrived_at: datetime | None = None,
        visit_id: UUID | None = None,
        patient_key: str | None = None,
        age_band: AgeBand | None = None,
        sex: Sex | None = None,
        appointment_ref: str | None = None,
        routed_from_ticket_id: UUID | None = None,
        ticket_id: UUID | None = None,
    ) -> Ticket:
        arrival = arrived_at or at
        ticket = cls(
            ticket_id=ticket_id or uuid4(),
            visit_id=visit_id or uuid4(),
            facility_id=facility_id,
            service_code=service_code,
            service_day=service_day,
            number=UNNUMBERED,
            priority=priority,
            channel=channel,
            issued_at=at,
            arrived_at=arrival,
            effective_at=effective_at or arrival,
            patient_key=patient_key,
            age_band=age_band,
            sex=sex,
            appointment_ref=appointment_ref,
            routed_from_ticket_id=routed_from_ticket_id,
        )
        if number is not None:
            ticket.take_number(number)
        return ticket

    def take_number(self, number: int) -> None:
        """The day's number of its service, given as the ticket enters the queue (the
        repository takes it in the statement that adds the ticket): the ticket is issued."""
        if self.number != UNNUMBERED or number < 1:
            raise ValueError(f"ticket {self.ticket_id} cannot take number {number}")
        self.number = number
        self._record(
            TicketIssuedV1(
                ticket_id=self.ticket_id,
                visit_id=self.visit_id,
                service_code=self.service_code,
                ticket_number=self.label,
                service_day=self.service_day,
                priority=self.priority,
                channel=self.channel,
                arrived_at=self.arrived_at,
                patient_key=self.patient_key,
                age_band=self.age_band,
                sex=self.sex,
                appointment_ref=self.appointment_ref,
                routed_from_ticket_id=self.routed_from_ticket_id,
            ),
            self.issued_at,
        )

    # -- at the counter ------------------------------------------------------

    def call(
        self,
        counter: Counter,
        *,
        at: datetime,
        reason: str,
        mode: CallMode = CallMode.NEXT,
        mode_reason: str | None = None,
        by_role: StaffRole | None = None,
    ) -> None:
        self._check("call", TicketStatus.WAITING)
        self.status = TicketStatus.CALLED
        self.counter_id, self.counter_label = counter.counter_id, counter.label
        self.called_at = self.last_called_at = at
        self.recall_count = 0
        self.call_reason = reason
        self._record(
            TicketCalledV1(
                ticket_id=self.ticket_id,
                visit_id=self.visit_id,
                service_code=self.service_code,
                ticket_number=self.label,
                counter_id=counter.counter_id,
                counter_label=counter.label,
                called_by_role=by_role,
                reason=reason,
                waited_seconds=max(0, int((at - self.arrived_at).total_seconds())),
                call_mode=mode,
                call_mode_reason=mode_reason if mode is CallMode.SPECIFIC else None,
            ),
            at,
        )

    def recall(self, *, at: datetime) -> None:
        self._check("recall", TicketStatus.CALLED)
        assert self.counter_id is not None and self.counter_label is not None
        self.recall_count += 1
        self.last_called_at = at
        self._record(
            TicketRecalledV1(
                ticket_id=self.ticket_id,
                visit_id=self.visit_id,
                service_code=self.service_code,
                ticket_number=self.label,
                counter_id=self.counter_id,
                counter_label=self.counter_label,
                recall_count=self.recall_count,
            ),
            at,
        )

    def no_show(self, *, at: datetime, recall_window: timedelta, requeue_once: bool) -> bool:
        """The patient did not come. Returns True if the ticket went back into the queue."""
        self._check("no_show", TicketStatus.CALLED)
        assert self.last_called_at is not None
        left = recall_window - (at - self.last_called_at)
        if left > timedelta(0):
            raise RecallWindowOpen(self.label, int(left.total_seconds()) + 1)
        requeued = requeue_once and self.no_show_count == 0
        self.no_show_count += 1
        self.counter_id = self.counter_label = None
        self.status = TicketStatus.WAITING if requeued else TicketStatus.NO_SHOW
        if not requeued:
            self.completed_at = at
        self._record(
            TicketNoShowV1(
                ticket_id=self.ticket_id,
                visit_id=self.visit_id,
                service_code=self.service_code,
                ticket_number=self.label,
                requeued=requeued,
            ),
            at,
        )
        return requeued

    def start(self, *, at: datetime) -> None:
        self._check("start", TicketStatus.CALLED)
        assert self.counter_id is not None
        self.status = TicketStatus.IN_SERVICE
        self.started_at = at
        self._record(
            VisitStartedV1(
                ticket_id=self.ticket_id,
                visit_id=self.visit_id,
                counter_id=self.counter_id,
                service_code=self.service_code,
            ),
            at,
        )

    def complete(self, *, at: datetime, visit_finished: bool) -> None:
        self._check("complete", TicketStatus.IN_SERVICE)
        assert self.started_at is not None
        self.status = TicketStatus.COMPLETED
        self.completed_at = at
        self._record(
            VisitCompletedV1(
                visit_id=self.visit_id,
                ticket_id=self.ticket_id,
                service_code=self.service_code,
                service_seconds=max(0, int((at - self.started_at).total_seconds())),
                visit_finished=visit_finished,
            ),
            at,
        )

    def cancel(self, *, at: datetime, reason: str) -> None:
        self._check("cancel", TicketStatus.WAITING, TicketStatus.CALLED)
        self.status = TicketStatus.CANCELLED
        self.completed_at = at
        self.counter_id = self.counter_label = None
        self._record(
            TicketCancelledV1(
                ticket_id=self.ticket_id,
                visit_id=self.visit_id,
                service_code=self.service_code,
                reason=reason,
            ),
            at,
        )

    def expire(self, *, at: datetime) -> None:
        """The ticket's service day closed with it still open: it leaves the queue."""
        self._check("expire", TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.IN_SERVICE)
        before = self.status
        self.status = TicketStatus.EXPIRED
        self.completed_at = at
        self.counter_id = self.counter_label = None
        self._record(
            TicketExpiredV1(
                ticket_id=self.ticket_id,
                visit_id=self.visit_id,
                service_code=self.service_code,
                ticket_number=self.label,
                service_day=self.service_day,
                status_before=before.value,
            ),
            at,
        )

    def route_to(
        self,
        service_code: str,
        *,
        at: datetime,
        service_day: date,
        keeps_original_arrival: bool,
        effective_at: datetime,
    ) -> Ticket:
        """End this service and continue the same visit at another service of the clinic:
        the new ticket, to be numbered as it enters that service's queue (`take_number`)."""
        self._check("route", TicketStatus.IN_SERVICE)
        if service_code == self.service_code:
            raise SameService(service_code)
        self.complete(at=at, visit_finished=False)
        arrival = self.arrived_at if keeps_original_arrival else at
        routed = Ticket.issue(
            facility_id=self.facility_id,
            service_code=service_code,
            service_day=service_day,
            priority=self.priority,
            channel=IssueChannel.ROUTING,
            at=at,
            arrived_at=arrival,
            effective_at=effective_at,
            visit_id=self.visit_id,
            patient_key=self.patient_key,
            age_band=self.age_band,
            sex=self.sex,
            appointment_ref=self.appointment_ref,
            routed_from_ticket_id=self.ticket_id,
        )
        self._record(
            PatientRoutedV1(
                visit_id=self.visit_id,
                from_ticket_id=self.ticket_id,
                to_ticket_id=routed.ticket_id,
                from_service_code=self.service_code,
                to_service_code=service_code,
                keeps_original_arrival=keeps_original_arrival,
            ),
            at,
        )
        return routed
