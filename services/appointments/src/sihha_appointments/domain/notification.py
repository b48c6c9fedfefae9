"""Messages to patients (SMS): what is said, never to whom on the bus.

A notification names a template (a key of the catalogues, ``sms.<template>``), the
patient's language and the values the text needs: the establishment, the local date and
time, the booking code. Never the specialty or anything medical: a text message is read
on a lock screen. The unit of work records `appointments.notification.requested`
(without contact details); the dispatcher renders the text and sends it through the SMS
gateway with the phone number from this service's database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from sihha_contracts.events.appointments import NotificationChannel, NotificationRequestedV1
from sihha_contracts.types import Language
from sihha_kit.domain import Aggregate
from sihha_kit.i18n import N_


class Template(StrEnum):
    """Each template's text is the catalogue key ``sms.<value>``."""

    BOOKED = "booked"
    REMINDER = "reminder"
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"
    OFFERED = "offered"
    SIGN_IN_CODE = "sign_in_code"

    @property
    def key(self) -> str:
        return TEMPLATE_KEYS[self]


TEMPLATE_KEYS = {
    Template.BOOKED: N_("sms.booked"),
    Template.REMINDER: N_("sms.reminder"),
    Template.CANCELLED: N_("sms.cancelled"),
    Template.RESCHEDULED: N_("sms.rescheduled"),
    Template.OFFERED: N_("sms.offered"),
    Template.SIGN_IN_CODE: N_("sms.sign_in_code"),
}


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for the dispatcher (or for its retry)
    SENT = "sent"  # the gateway accepted it
    DELIVERED = "delivered"  # the gateway reported delivery to the phone
    FAILED = "failed"  # refused for good, or every attempt failed
    SKIPPED = "skipped"  # nothing to send any more (no phone, booking changed)


@dataclass(kw_only=True)
class Notification(Aggregate):
    notification_id: UUID
    patient_key: str
    template: Template
    language: str
    #: the text's values: facility_id, slot_start (ISO), booking_code, expires_at, code…
    params: dict[str, Any] = field(default_factory=dict)
    booking_id: UUID | None = None
    waitlist_entry_id: UUID | None = None
    facility_id: str = "-"
    #: send no earlier than this (a reminder's due time); None: at once
    not_before: datetime | None = None

    @classmethod
    def request(
        cls,
        *,
        patient_key: str,
        template: Template,
        language: str,
        params: dict[str, Any],
        at: datetime,
        facility_id: str,
        booking_id: UUID | None = None,
        waitlist_entry_id: UUID | None = None,
        publish: bool = True,
    ) -> Notification:
        """A message to send; `publish` records `appointments.notification.requested`
        (not for a sign-in code: it concerns no appointment)."""
        notification = cls(
            notification_id=uuid4(),
            patient_key=patient_key,
            template=template,
            language=language,
            params=params,
            booking_id=booking_id,
            waitlist_entry_id=waitlist_entry_id,
            facility_id=facility_id,
        )
        if publish and (booking_id is not None or waitlist_entry_id is not None):
            notification.record(
                NotificationRequestedV1(
                    notification_id=notification.notification_id,
                    channel=NotificationChannel.SMS,
                    template_code=f"appointment.{template.value}",
                    patient_key=patient_key,
                    appointment_id=booking_id,
                    waitlist_entry_id=waitlist_entry_id,
                    language=Language(language) if language in ("ar", "fr") else None,
                ),
                facility_id=facility_id,
                aggregate_id=str(notification.notification_id),
                at=at,
            )
        return notification
