"""The citizens' API: sign-in, finding a slot, hold → confirm, my bookings, the waitlist.

A citizen acts only on their own bookings and waitlist entries: another citizen's is
404, as if it did not exist."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from sihha_appointments.domain.errors import (
    BookingNotFound,
    InvalidDateRange,
    UnknownSpecialty,
)
from sihha_appointments.domain.specialties import SPECIALTIES
from sihha_appointments.entrypoints.deps import CitizenDep, ContextDep, limit
from sihha_appointments.entrypoints.schemas import (
    BookingResponse,
    CancelRequest,
    ChallengeResponse,
    EstablishmentResponse,
    HoldRequest,
    RescheduleRequest,
    SignInRequest,
    SlotPage,
    SpecialtyResponse,
    TokenResponse,
    VerifyRequest,
    WaitlistRequest,
    WaitlistResponse,
)
from sihha_appointments.entrypoints.views import (
    booking_view,
    decode_cursor,
    encode_cursor,
    entry_view,
    slot_view,
)
from sihha_appointments.service_layer import commands, handlers, signin
from sihha_contracts.events.appointments import Actor
from sihha_contracts.types import FACILITY_CODE_PATTERN
from sihha_kit.clock import ALGIERS, local_day
from sihha_kit.problems import problems

router = APIRouter()

_PROBLEMS = problems(404, 409, 422, 429)


def _patient(caller: Any) -> str:
    assert caller.patient_key is not None  # the verifier requires it of a citizen
    return str(caller.patient_key)


# -- what there is ---------------------------------------------------------------------------


@router.get(
    "/specialties",
    response_model=list[SpecialtyResponse],
    tags=["catalogue"],
    summary="The specialist consultations one can book, and which need a referral",
)
async def specialties(ctx: ContextDep) -> list[dict[str, Any]]:
    catalogue = ctx.catalogue
    return [
        {
            "code": code,
            "name_fr": catalogue.text("fr", key),
            "name_ar": catalogue.text("ar", key),
            "referral_required": ctx.deps.rules.needs_referral(code),
        }
        for code, key in SPECIALTIES.items()
    ]


@router.get(
    "/establishments",
    response_model=list[EstablishmentResponse],
    tags=["catalogue"],
    summary="The polyclinics where specialists can be booked (pilot ones first)",
)
async def establishments(ctx: ContextDep) -> list[dict[str, Any]]:
    return [
        {
            "code": e.code,
            "name_fr": e.name_fr,
            "name_ar": e.name_ar,
            "commune": e.commune,
            "pilot": e.pilot,
        }
        for e in sorted(ctx.deps.registry.polyclinics, key=lambda e: (not e.pilot, e.code))
    ]


# -- sign-in ---------------------------------------------------------------------------------


@router.post(
    "/sign-in",
    status_code=202,
    response_model=ChallengeResponse,
    tags=["sign-in"],
    summary="Sign in with the NIN: a one-time code is sent by SMS to the citizen's phone",
    responses=_PROBLEMS,
)
async def start_sign_in(body: SignInRequest, ctx: ContextDep, request: Request) -> dict[str, Any]:
    await limit(request, "sign_in")
    challenge = await signin.start_sign_in(
        body.nin,
        body.phone,
        body.language,
        ctx.uow(),
        deps=ctx.deps,
        vault=ctx.vault,
        settings=ctx.sign_in,
    )
    return {
        "challenge_id": challenge.challenge_id,
        "expires_at": challenge.expires_at,
        "phone_hint": challenge.phone_hint,
    }


@router.post(
    "/sign-in/{challenge_id}/verify",
    response_model=TokenResponse,
    tags=["sign-in"],
    summary="Type back the code: the citizen's token (short-lived, signed by this service)",
    responses=_PROBLEMS,
)
async def verify_sign_in(
    challenge_id: UUID, body: VerifyRequest, ctx: ContextDep
) -> dict[str, Any]:
    return await signin.verify_sign_in(
        challenge_id,
        body.code,
        ctx.uow(),
        deps=ctx.deps,
        vault=ctx.vault,
        tokens=ctx.tokens,
        settings=ctx.sign_in,
    )


# -- finding a slot --------------------------------------------------------------------------


@router.get(
    "/slots",
    response_model=SlotPage,
    tags=["booking"],
    summary="Free slots of a specialty, soonest first, by establishment or commune and days",
    responses=_PROBLEMS,
)
async def search_slots(
    ctx: ContextDep,
    caller: CitizenDep,
    request: Request,
    specialty: Annotated[str, Query(pattern=r"^[A-Z]{2,8}$", examples=["CARDIO"])],
    facility_id: Annotated[str | None, Query(pattern=FACILITY_CODE_PATTERN)] = None,
    commune: Annotated[str | None, Query(max_length=64)] = None,
    first_day: Annotated[date | None, Query(alias="from")] = None,
    last_day: Annotated[date | None, Query(alias="to")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    page_size: Annotated[int, Query(alias="limit", ge=1, le=50)] = 20,
) -> dict[str, Any]:
    """What the citizen sees can be held now: open slots with a free place that is not
    kept for urgent referrals, from now on."""
    await limit(request, "search", _patient(caller))
    if specialty not in SPECIALTIES:
        raise UnknownSpecialty(specialty)
    now = ctx.deps.clock()
    today = local_day(now)
    first = first_day or today
    last = last_day or today + timedelta(days=28)
    if last < first or (last - today).days > ctx.settings.search_horizon_days:
        raise InvalidDateRange()
    start = max(now, datetime.combine(first, time(0), tzinfo=ALGIERS))
    until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=ALGIERS)
    async with ctx.uow().reader() as uow:
        rows = await uow.slots.bookable(
            specialty_code=specialty,
            facility_id=facility_id,
            commune=commune,
            now=now,
            until=until,
            after=decode_cursor(cursor) if cursor else (start, UUID(int=0)),
            limit=page_size + 1,
        )
    more = len(rows) > page_size
    rows = rows[:page_size]
    return {
        "items": [slot_view(row, ctx.deps.registry) for row in rows],
        "next_cursor": encode_cursor(rows[-1]["starts_at"], rows[-1]["slot_id"]) if more else None,
    }


# -- hold, confirm, my bookings ---------------------------------------------------------------


@router.post(
    "/holds",
    status_code=201,
    response_model=BookingResponse,
    tags=["booking"],
    summary="Hold a slot for a few minutes (409 slot-full offers the next free slots)",
    responses=_PROBLEMS,
)
async def hold(
    body: HoldRequest, ctx: ContextDep, caller: CitizenDep, request: Request
) -> dict[str, Any]:
    patient = _patient(caller)
    await limit(request, "hold", patient)
    booking = await handlers.hold_slot(
        commands.HoldSlot(patient, body.slot_id, body.referral_code, body.language),
        ctx.uow(),
        deps=ctx.deps,
    )
    return booking_view(booking, ctx.deps.registry)


@router.post(
    "/holds/{hold_id}/confirm",
    response_model=BookingResponse,
    tags=["booking"],
    summary="Confirm a hold: the booking and its code",
    responses=_PROBLEMS,
)
async def confirm(hold_id: UUID, ctx: ContextDep, caller: CitizenDep) -> dict[str, Any]:
    booking = await handlers.confirm_hold(
        commands.ConfirmHold(_patient(caller), hold_id), ctx.uow(), deps=ctx.deps
    )
    return booking_view(booking, ctx.deps.registry)


@router.delete(
    "/holds/{hold_id}",
    status_code=204,
    tags=["booking"],
    summary="Let a hold go before it lapses",
    responses=_PROBLEMS,
)
async def release(hold_id: UUID, ctx: ContextDep, caller: CitizenDep) -> Response:
    await handlers.release_hold(
        commands.ReleaseHold(_patient(caller), hold_id), ctx.uow(), deps=ctx.deps
    )
    return Response(status_code=204)


@router.get(
    "/bookings/mine",
    response_model=list[BookingResponse],
    tags=["booking"],
    summary="The citizen's bookings, latest slot first",
)
async def my_bookings(ctx: ContextDep, caller: CitizenDep) -> list[dict[str, Any]]:
    async with ctx.uow() as uow:
        found = await uow.bookings.of_patient(_patient(caller))
    return [booking_view(b, ctx.deps.registry) for b in found]


@router.get(
    "/bookings/{booking_id}",
    response_model=BookingResponse,
    tags=["booking"],
    summary="One of the citizen's bookings (another citizen's is 404)",
    responses=_PROBLEMS,
)
async def my_booking(booking_id: UUID, ctx: ContextDep, caller: CitizenDep) -> dict[str, Any]:
    async with ctx.uow() as uow:
        booking = await uow.bookings.get(booking_id)
    if booking is None or booking.patient_key != _patient(caller):
        raise BookingNotFound()
    return booking_view(booking, ctx.deps.registry)


@router.post(
    "/bookings/{booking_id}/cancel",
    response_model=BookingResponse,
    tags=["booking"],
    summary="Cancel one's booking, until the cut-off before the slot",
    responses=_PROBLEMS,
)
async def cancel(
    booking_id: UUID, body: CancelRequest, ctx: ContextDep, caller: CitizenDep
) -> dict[str, Any]:
    booking = await handlers.cancel_booking(
        commands.CancelBooking(
            booking_id, Actor.CITIZEN, body.reason, patient_key=_patient(caller)
        ),
        ctx.uow(),
        deps=ctx.deps,
    )
    return booking_view(booking, ctx.deps.registry)


@router.post(
    "/bookings/{booking_id}/reschedule",
    response_model=BookingResponse,
    tags=["booking"],
    summary="Move one's booking to another free slot (same specialty and establishment)",
    responses=_PROBLEMS,
)
async def reschedule(
    booking_id: UUID, body: RescheduleRequest, ctx: ContextDep, caller: CitizenDep
) -> dict[str, Any]:
    booking = await handlers.reschedule_booking(
        commands.RescheduleBooking(
            booking_id, body.slot_id, Actor.CITIZEN, body.reason, patient_key=_patient(caller)
        ),
        ctx.uow(),
        deps=ctx.deps,
    )
    return booking_view(booking, ctx.deps.registry)


# -- the waitlist ------------------------------------------------------------------------------


@router.post(
    "/waitlist",
    status_code=201,
    response_model=WaitlistResponse,
    tags=["waitlist"],
    summary="Wait for a freed place of a specialty at an establishment, within days",
    responses=_PROBLEMS,
)
async def join(body: WaitlistRequest, ctx: ContextDep, caller: CitizenDep) -> dict[str, Any]:
    entry = await handlers.join_waitlist(
        commands.JoinWaitlist(
            _patient(caller),
            body.facility_id,
            body.specialty_code,
            body.first_day,
            body.last_day,
            body.referral_code,
            body.language,
        ),
        ctx.uow(),
        deps=ctx.deps,
    )
    return entry_view(entry)


@router.get(
    "/waitlist/mine",
    response_model=list[WaitlistResponse],
    tags=["waitlist"],
    summary="The citizen's waitlist entries and the places offered to them",
)
async def my_entries(ctx: ContextDep, caller: CitizenDep) -> list[dict[str, Any]]:
    async with ctx.uow() as uow:
        entries = await uow.waitlist.of_patient(_patient(caller))
    return [entry_view(e) for e in entries]


@router.post(
    "/waitlist/{entry_id}/accept",
    response_model=BookingResponse,
    tags=["waitlist"],
    summary="Accept the place offered: it becomes a booking",
    responses=_PROBLEMS,
)
async def accept(entry_id: UUID, ctx: ContextDep, caller: CitizenDep) -> dict[str, Any]:
    booking = await handlers.answer_offer(
        commands.AnswerOffer(_patient(caller), entry_id, accept=True), ctx.uow(), deps=ctx.deps
    )
    assert booking is not None
    return booking_view(booking, ctx.deps.registry)


@router.post(
    "/waitlist/{entry_id}/decline",
    status_code=204,
    tags=["waitlist"],
    summary="Decline the place offered (it goes to the next patient; the entry ends)",
    responses=_PROBLEMS,
)
async def decline(entry_id: UUID, ctx: ContextDep, caller: CitizenDep) -> Response:
    await handlers.answer_offer(
        commands.AnswerOffer(_patient(caller), entry_id, accept=False), ctx.uow(), deps=ctx.deps
    )
    return Response(status_code=204)


@router.delete(
    "/waitlist/{entry_id}",
    status_code=204,
    tags=["waitlist"],
    summary="Leave the waitlist",
    responses=_PROBLEMS,
)
async def leave(entry_id: UUID, ctx: ContextDep, caller: CitizenDep) -> Response:
    await handlers.leave_waitlist(
        commands.LeaveWaitlist(_patient(caller), entry_id), ctx.uow(), deps=ctx.deps
    )
    return Response(status_code=204)
