"""The appointments service's HTTP API, under ``/api/v1/appointments``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from kairos.appointments import service
from kairos.appointments.repository import AppointmentsUnitOfWork
from kairos.appointments.schemas import (
    AppointmentCreate,
    AppointmentRead,
    AppointmentWithHistory,
    CancellationCreate,
    DecisionCreate,
    HistoryEntry,
    ResourceCreate,
    ResourceRead,
)
from kairos.platform.auth import CurrentPrincipal
from kairos.platform.runtime import unit_of_work

router = APIRouter(tags=["appointments"])

Uow = Annotated[AppointmentsUnitOfWork, Depends(unit_of_work)]


@router.post("/resources", status_code=201)
async def create_resource(body: ResourceCreate, uow: Uow, me: CurrentPrincipal) -> ResourceRead:
    """Add a bookable resource (a professional, room or device) to an organisation."""
    resource = await service.register_resource(
        uow=uow,
        by=me,
        organisation_id=body.organisation_id,
        kind=body.kind,
        display_name=body.display_name,
        zone=body.zone,
        user_id=body.user_id,
    )
    return ResourceRead.from_domain(resource)


@router.post("/appointments", status_code=201)
async def request_appointment(body: AppointmentCreate, uow: Uow, me: CurrentPrincipal) -> AppointmentRead:
    """Request an appointment at a free time; 409 when the time was taken meanwhile."""
    appointment = await service.request_appointment(
        uow=uow,
        by=me,
        resource_id=body.resource_id,
        appointment_type=body.appointment_type,
        period=body.period(),
        message=body.message,
        answers=body.answers,
    )
    return AppointmentRead.from_domain(appointment)


@router.get("/appointments/{appointment_id}")
async def read_appointment(appointment_id: UUID, uow: Uow, me: CurrentPrincipal) -> AppointmentWithHistory:
    """An appointment with its decision log (who did what, when, and why)."""
    appointment, history = await service.read(uow=uow, by=me, appointment_id=appointment_id)
    return AppointmentWithHistory(
        **AppointmentRead.from_domain(appointment).model_dump(),
        history=[HistoryEntry.from_domain(event) for event in history],
    )


@router.post("/appointments/{appointment_id}/decision")
async def decide(appointment_id: UUID, body: DecisionCreate, uow: Uow, me: CurrentPrincipal) -> AppointmentRead:
    """Approve or decline a requested appointment, with a reason when declining."""
    if body.decision == "approve":
        appointment = await service.approve(uow=uow, by=me, appointment_id=appointment_id)
    else:
        assert body.reason_code is not None
        appointment = await service.decline(
            uow=uow, by=me, appointment_id=appointment_id, reason_code=body.reason_code, reason=body.reason
        )
    return AppointmentRead.from_domain(appointment)


@router.post("/appointments/{appointment_id}/cancellation")
async def cancel(appointment_id: UUID, body: CancellationCreate, uow: Uow, me: CurrentPrincipal) -> AppointmentRead:
    """Cancel an appointment, with a reason."""
    appointment = await service.cancel(uow=uow, by=me, appointment_id=appointment_id, reason=body.reason)
    return AppointmentRead.from_domain(appointment)
