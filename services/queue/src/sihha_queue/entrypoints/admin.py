"""The admin API: a clinic's services, opening hours, counters and policies."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from sihha_kit.errors import BadRequest, Conflict, NotFound
from sihha_kit.problems import problems
from sihha_queue.context import QueueContext
from sihha_queue.domain.hours import InvalidHours, ServiceHours
from sihha_queue.domain.ticket import Counter
from sihha_queue.entrypoints.deps import (
    AdminDep,
    ClinicReaderDep,
    ContextDep,
    FacilityPath,
    ServicePath,
)
from sihha_queue.entrypoints.schemas import (
    CounterCreate,
    CounterView,
    EstablishmentUpdate,
    EstablishmentView,
    ServiceUpdate,
    ServiceView,
)

router = APIRouter(tags=["admin"])


def _hours(value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    """Hours as stored: parsed (`ServiceHours`) and written back in one form."""
    if value is None:
        return None
    try:
        return ServiceHours.parse(value).as_dict()
    except InvalidHours as error:
        raise BadRequest("invalid-opening-hours", params={"error": str(error)}) from None


async def _view(ctx: QueueContext, facility_id: str) -> EstablishmentView:
    async with ctx.uow() as uow:
        establishment = uow.clinics.establishment(facility_id)
        if establishment is None:
            raise NotFound("unknown-establishment", facility_id=facility_id)
        services = uow.clinics.services(facility_id)
        counters = await uow.clinics.counters(facility_id)
    return EstablishmentView(
        **{
            k: establishment[k]
            for k in (
                "code",
                "name_fr",
                "name_ar",
                "commune",
                "opening_hours",
                "recall_window_seconds",
                "no_show_requeue_once",
            )
        },
        services=[ServiceView(**{k: s[k] for k in ServiceView.model_fields}) for s in services],
        counters=[CounterView(**{k: c[k] for k in CounterView.model_fields}) for c in counters],
    )


@router.get(
    "/establishments/{facility_id}",
    summary="A clinic: its services (in the kiosk's order), hours, counters and policies",
    responses=problems(401, 403, 404, 422),
)
async def establishment(
    facility_id: FacilityPath, ctx: ContextDep, caller: ClinicReaderDep
) -> EstablishmentView:
    return await _view(ctx, facility_id)


@router.patch(
    "/admin/establishments/{facility_id}",
    summary="Change a clinic's hours or policies",
    responses=problems(401, 403, 404, 422),
)
async def update_establishment(
    facility_id: FacilityPath, body: EstablishmentUpdate, ctx: ContextDep, caller: AdminDep
) -> EstablishmentView:
    values: dict[str, Any] = body.model_dump(exclude_none=True)
    if "opening_hours" in values:
        values["opening_hours"] = _hours(values["opening_hours"])
    await _view(ctx, facility_id)  # 404 for an unknown clinic, before any change
    if values:
        async with ctx.uow() as uow:
            await uow.clinics.update_establishment(facility_id, values)
            await uow.commit()
    return await _view(ctx, facility_id)


@router.put(
    "/admin/establishments/{facility_id}/services/{service_code}",
    summary="Create or change a service of a clinic (open/close it, its hours, its place on "
    "the kiosk, routing policy)",
    responses=problems(401, 403, 404, 422),
)
async def put_service(
    facility_id: FacilityPath,
    service_code: ServicePath,
    body: ServiceUpdate,
    ctx: ContextDep,
    caller: AdminDep,
) -> EstablishmentView:
    await _view(ctx, facility_id)
    values = body.model_dump()
    values["opening_hours"] = _hours(values["opening_hours"])
    async with ctx.uow() as uow:
        await uow.clinics.upsert_service(facility_id, service_code, values)
        await uow.commit()
    return await _view(ctx, facility_id)


@router.post(
    "/admin/establishments/{facility_id}/counters",
    status_code=201,
    summary="Add a counter or consultation room to a service",
    responses=problems(401, 403, 404, 409, 422),
)
async def add_counter(
    facility_id: FacilityPath, body: CounterCreate, ctx: ContextDep, caller: AdminDep
) -> CounterView:
    counter = Counter(uuid.uuid4(), facility_id, body.service_code, body.label)
    async with ctx.uow() as uow:
        if uow.clinics.service(facility_id, body.service_code) is None:
            raise NotFound("unknown-service", service_code=body.service_code)
        if not await uow.clinics.add_counter(counter):
            raise Conflict("counter-label-taken", label=body.label)
        await uow.commit()
    return CounterView(
        counter_id=counter.counter_id,
        service_code=counter.service_code,
        label=counter.label,
        active=True,
    )


@router.delete(
    "/admin/establishments/{facility_id}/counters/{counter_id}",
    status_code=204,
    summary="Deactivate a counter (its history stays)",
    responses=problems(401, 403, 404, 422),
)
async def deactivate_counter(
    facility_id: FacilityPath, counter_id: uuid.UUID, ctx: ContextDep, caller: AdminDep
) -> None:
    async with ctx.uow() as uow:
        counter = await uow.clinics.counter(counter_id)
        if counter is None or counter.facility_id != facility_id:
            raise NotFound("unknown-counter")
        await uow.clinics.set_counter_active(counter_id, False)
        await uow.commit()
