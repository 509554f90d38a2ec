"""Live slot updates as Server-Sent Events: ``GET /resources/{id}/slots/stream``.

The stream opens with a ``ready`` event once the watch is in place (anything committed after it is pushed).
Each committed change to the resource's time (an appointment requested, decided, cancelled or moved; a
schedule or imported calendar changed) is pushed as a ``slots-changed`` event with the changed period; with
``appointment_type``, the event also carries the free slots of the local days that changed (at most a week).
A change whose period is unknown (``from`` null) asks the client to read its slots again. Keep-alive
comments are sent every ``KAIROS_APPOINTMENTS_LIVE_HEARTBEAT_SECONDS``; the stream ends when the service stops.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from kairos.appointments import service
from kairos.appointments.domain.availability import zone_named
from kairos.appointments.domain.slots import InvalidSlotQuery
from kairos.appointments.live import CLOSED, LiveSlots, SlotChange
from kairos.appointments.repository import AppointmentsUnitOfWork
from kairos.appointments.schemas import SlotRead
from kairos.platform.runtime import ServiceRuntime, unit_of_work

router = APIRouter(tags=["appointments"])

Uow = Annotated[AppointmentsUnitOfWork, Depends(unit_of_work)]
MAX_PUSHED_DAYS = 7
SEND_TIMEOUT_SECONDS = 30.0


@router.get(
    "/resources/{resource_id}/slots/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream_slots(
    resource_id: UUID,
    request: Request,
    uow: Uow,
    appointment_type: Annotated[
        str | None, Query(max_length=100, description="push the changed days' free slots of this type")
    ] = None,
    zone: Annotated[str, Query(description="IANA zone the pushed slots are shown in")] = "UTC",
) -> EventSourceResponse:
    """Changes to a resource's free time as they are committed (Server-Sent Events)."""
    zone_named(zone, InvalidSlotQuery)
    async with uow:
        resource = await uow.appointments.resource(resource_id)  # 404 before the stream starts
        if appointment_type is not None:
            if resource.domain is None:
                raise InvalidSlotQuery("this resource has no domain, hence no appointment types")
            configuration, _ = await uow.appointments.domain(resource.domain)
            configuration.appointment_type(appointment_type)  # 422 when unknown
    runtime: ServiceRuntime = request.app.state.runtime
    hub: LiveSlots = request.app.state.live_slots
    settings = request.app.state.appointments_settings

    async def events() -> AsyncIterator[ServerSentEvent]:
        async with hub.watch(resource_id) as queue:
            yield ServerSentEvent(event="ready", data=json.dumps({"resource_id": str(resource_id)}))
            while True:
                change = await queue.get()
                if change is CLOSED:
                    return
                payload = _notice(resource_id, change)
                if appointment_type is not None and change.changed_from is not None:
                    payload["slots"] = await _slots_of_changed_days(
                        runtime, resource_id, appointment_type, change, zone=zone, resource_zone=resource.zone
                    )
                yield ServerSentEvent(event="slots-changed", data=json.dumps(payload))

    return EventSourceResponse(
        events(),
        ping=settings.live_heartbeat_seconds,
        send_timeout=SEND_TIMEOUT_SECONDS,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _notice(resource_id: UUID, change: SlotChange) -> dict[str, Any]:
    return {
        "resource_id": str(resource_id),
        "from": None if change.changed_from is None else change.changed_from.isoformat(),
        "until": None if change.changed_until is None else change.changed_until.isoformat(),
    }


async def _slots_of_changed_days(
    runtime: ServiceRuntime,
    resource_id: UUID,
    appointment_type: str,
    change: SlotChange,
    *,
    zone: str,
    resource_zone: str,
) -> list[dict[str, Any]]:
    assert change.changed_from is not None
    local = ZoneInfo(resource_zone)
    first_day = change.changed_from.astimezone(local).date()
    last_day = (change.changed_until or change.changed_from).astimezone(local).date()
    last_day = min(last_day, first_day + timedelta(days=MAX_PUSHED_DAYS - 1))
    window_start = datetime.combine(first_day, time(), tzinfo=local)
    window_end = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=local)
    try:
        slots = await service.find_free_slots(
            uow=runtime.unit_of_work(),  # type: ignore[arg-type]
            resource_id=resource_id,
            appointment_type=appointment_type,
            window_start=window_start,
            window_end=window_end,
            asker_zone=zone,
        )
    except service.NoSchedule:
        return []
    return [SlotRead.from_domain(slot).model_dump(mode="json") for slot in slots]
