"""The appointments service's HTTP API, under ``/api/v1/appointments``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AwareDatetime

from kairos.appointments import caching, service
from kairos.appointments.repository import AppointmentsUnitOfWork, TimeTaken
from kairos.appointments.schemas import (
    AppointmentCreate,
    AppointmentRead,
    AppointmentWithHistory,
    CancellationCreate,
    DecisionCreate,
    DomainRead,
    DomainWrite,
    ExplanationRead,
    HistoryEntry,
    ResourceCreate,
    ResourceRead,
    ScheduleWrite,
    SlotRead,
)
from kairos.platform.auth import CurrentPrincipal
from kairos.platform.http.pagination import Page, PageRequest, page_of, page_request
from kairos.platform.http.problems import ProblemError
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
        domain=body.domain,
    )
    return ResourceRead.from_domain(resource)


@router.get("/resources")
async def list_resources(
    uow: Uow,
    response: Response,
    page: Annotated[PageRequest, Depends(page_request)],
    organisation_id: UUID | None = None,
    domain: str | None = None,
) -> Page[ResourceRead]:
    """The directory of bookable professionals, rooms and devices."""
    found = await service.list_resources(uow=uow, page=page, organisation_id=organisation_id, domain=domain)
    items, next_cursor = page_of(found, page, key=lambda resource: (resource.id,))
    # Each resource's professional as a tag too: an erasure unlinks them (appointment.directory_changed).
    linked = [resource.user_id for resource in items]
    caching.shared(response, seconds=caching.CONFIGURATION_SECONDS, tags=[caching.APPOINTMENT_RESOURCES, *linked])
    return Page(items=[ResourceRead.from_domain(resource) for resource in items], next_cursor=next_cursor)


@router.put("/domains/{name}")
async def put_domain(
    name: Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,100}$")], body: DomainWrite, uow: Uow, me: CurrentPrincipal
) -> DomainRead:
    """Register a domain (medical, legal, …) or change its configuration; each change is a new version."""
    configuration = body.to_domain(name)
    version = await service.put_domain(uow=uow, by=me, configuration=configuration)
    return DomainRead.from_domain(configuration, version)


@router.get("/domains")
async def list_domains(uow: Uow, response: Response) -> list[DomainRead]:
    """Every registered domain, with the form each renders for a request."""
    caching.shared(response, seconds=caching.CONFIGURATION_SECONDS, tags=[caching.APPOINTMENT_DOMAINS])
    return [
        DomainRead.from_domain(configuration, version) for configuration, version in await service.list_domains(uow=uow)
    ]


@router.get("/domains/{name}")
async def read_domain(name: str, uow: Uow, response: Response) -> DomainRead:
    """One domain's configuration."""
    configuration, version = await service.read_domain(uow=uow, name=name)
    caching.shared(response, seconds=caching.CONFIGURATION_SECONDS, tags=[caching.APPOINTMENT_DOMAINS])
    return DomainRead.from_domain(configuration, version)


@router.post("/appointments", status_code=201)
async def request_appointment(body: AppointmentCreate, uow: Uow, me: CurrentPrincipal) -> AppointmentRead:
    """Request an appointment at a free time; 409 when the time was taken meanwhile."""
    try:
        appointment = await service.request_appointment(
            uow=uow,
            by=me,
            resource_id=body.resource_id,
            appointment_type=body.appointment_type,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            message=body.message,
            answers=body.answers,
            hold_id=body.hold_id,
        )
    except TimeTaken as taken:
        raise await time_taken_problem(
            uow, taken, resource_id=body.resource_id, appointment_type=body.appointment_type, around=body.starts_at
        ) from taken
    return AppointmentRead.from_domain(appointment)


async def time_taken_problem(
    uow: AppointmentsUnitOfWork, taken: TimeTaken, *, resource_id: UUID, appointment_type: str, around: datetime
) -> ProblemError:
    """The 409 of a lost race (a request, a hold, a move), offering the nearest free slots."""
    nearest = await service.nearest_free_slots(
        uow=uow, resource_id=resource_id, appointment_type=appointment_type, around=around
    )
    return ProblemError(
        409,
        "time-taken",
        "This time is no longer free",
        str(taken),
        nearest_slots=[slot.starts_at.isoformat() for slot in nearest],
    )


@router.get("/appointments/{appointment_id}")
async def read_appointment(appointment_id: UUID, uow: Uow, me: CurrentPrincipal) -> AppointmentWithHistory:
    """An appointment with its decision log (who did what, when, and why)."""
    record = await service.read_record(uow=uow, by=me, appointment_id=appointment_id)
    return AppointmentWithHistory(
        **AppointmentRead.from_domain(record.appointment, patient_name=record.patient_name).model_dump(),
        history=[HistoryEntry.from_domain(event) for event in record.history],
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


@router.put("/resources/{resource_id}/schedule", status_code=204)
async def put_schedule(resource_id: UUID, body: ScheduleWrite, uow: Uow, me: CurrentPrincipal) -> None:
    """Set a resource's working hours (RFC 5545 rules in its zone), breaks, days off and extra hours."""
    await service.put_schedule(uow=uow, by=me, schedule=body.to_domain(resource_id))


@router.get("/resources/{resource_id}/schedule")
async def read_schedule(resource_id: UUID, uow: Uow, response: Response) -> ScheduleWrite:
    """A resource's working hours."""
    schedule = await service.read_schedule(uow=uow, resource_id=resource_id)
    caching.shared(response, seconds=caching.CONFIGURATION_SECONDS, tags=[])  # its id in the path is its tag
    return ScheduleWrite.from_domain(schedule)


@router.get("/resources/{resource_id}/slots")
async def free_slots(
    resource_id: UUID,
    uow: Uow,
    appointment_type: Annotated[str, Query(examples=["consultation"])],
    start: Annotated[AwareDatetime, Query(alias="from", examples=["2026-12-01T00:00:00+01:00"])],
    end: Annotated[AwareDatetime, Query(alias="to", examples=["2026-12-08T00:00:00+01:00"])],
    zone: Annotated[str, Query(description="IANA zone the slots are shown in", examples=["Europe/Paris"])] = "UTC",
) -> list[SlotRead]:
    """Free slots of a resource for an appointment type, with buffers, bookings and limits applied."""
    slots = await service.find_free_slots(
        uow=uow,
        resource_id=resource_id,
        appointment_type=appointment_type,
        window_start=start,
        window_end=end,
        asker_zone=zone,
    )
    return [SlotRead.from_domain(slot) for slot in slots]


@router.get("/resources/{resource_id}/slots/explain")
async def explain_slot(
    resource_id: UUID,
    uow: Uow,
    appointment_type: Annotated[str, Query()],
    starts_at: Annotated[AwareDatetime, Query()],
) -> ExplanationRead:
    """Why a given time is or is not offered (outside hours, buffer, notice, booked, limit…)."""
    explanation = await service.explain_time(
        uow=uow, resource_id=resource_id, appointment_type=appointment_type, starts_at=starts_at
    )
    return ExplanationRead(
        starts_at=explanation.starts_at,
        ends_at=explanation.ends_at,
        bookable=explanation.is_bookable,
        reasons=[reason.value for reason in explanation.reasons],
    )
