"""Turning bookings, slots and entries into the API's answers (no I/O)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from uuid import UUID

from sihha_appointments.domain.booking import Booking, BookingStatus
from sihha_appointments.domain.waitlist import WaitlistEntry
from sihha_kit.errors import BadRequest
from sihha_kit.registry import Registry


def names(registry: Registry, facility_id: str) -> tuple[str, str]:
    establishment = registry.by_code(facility_id)
    if establishment is None:
        return facility_id, facility_id
    return establishment.name_fr, establishment.name_ar


def booking_view(booking: Booking, registry: Registry) -> dict[str, Any]:
    fr, ar = names(registry, booking.facility_id)
    return {
        "booking_id": booking.booking_id,
        "booking_code": None if booking.status is BookingStatus.HELD else booking.booking_code,
        "status": booking.status.value,
        "facility_id": booking.facility_id,
        "establishment_fr": fr,
        "establishment_ar": ar,
        "specialty_code": booking.specialty_code,
        "slot_id": booking.slot.slot_id,
        "starts_at": booking.slot.starts_at,
        "ends_at": booking.slot.ends_at,
        "hold_expires_at": booking.hold_expires_at
        if booking.status is BookingStatus.HELD
        else None,
        "waitlist_entry_id": booking.waitlist_entry_id,
    }


def slot_view(row: dict[str, Any], registry: Registry) -> dict[str, Any]:
    fr, ar = names(registry, row["facility_id"])
    return {
        "slot_id": row["slot_id"],
        "facility_id": row["facility_id"],
        "establishment_fr": fr,
        "establishment_ar": ar,
        "commune": row["commune"],
        "specialty_code": row["specialty_code"],
        "room": row["room"],
        "starts_at": row["starts_at"],
        "ends_at": row["ends_at"],
        "free_places": row["free_places"],
    }


def entry_view(entry: WaitlistEntry) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "facility_id": entry.facility_id,
        "specialty_code": entry.specialty_code,
        "first_day": entry.first_day,
        "last_day": entry.last_day,
        "status": entry.status.value,
        "offer_booking_id": entry.offer_booking_id,
        "offer_expires_at": entry.offer_expires_at,
    }


def encode_cursor(starts_at: datetime, slot_id: UUID) -> str:
    raw = f"{starts_at.isoformat()}|{slot_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        starts, _, slot_id = raw.partition("|")
        instant = datetime.fromisoformat(starts)
        if instant.tzinfo is None:
            raise ValueError
        return instant, UUID(slot_id)
    except ValueError:
        raise BadRequest("invalid-cursor") from None
