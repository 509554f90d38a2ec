"""The directory of bookable professionals and the "any suitable professional" slot search.

Both are public, like the resources and their free slots: a directory of verified professionals is what a
patient browses before signing in, and it holds nothing about patients. Everything shown was published by
the professionals' verification (name, specialty, organisation, location, languages).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime

from kairos.appointments import caching, directory
from kairos.appointments.repository import AppointmentsUnitOfWork
from kairos.appointments.schemas import (
    DirectoryResourceRead,
    EarliestFreeRead,
    ProfessionalRead,
    ResourceProfessionalRead,
    SlotRead,
)
from kairos.platform.http.pagination import Page, PageRequest, page_request
from kairos.platform.runtime import unit_of_work

router = APIRouter(tags=["directory"])

Uow = Annotated[AppointmentsUnitOfWork, Depends(unit_of_work)]
Text = Annotated[str | None, Query(max_length=200)]


@router.get("/directory")
async def search_directory(
    uow: Uow,
    response: Response,
    page: Annotated[PageRequest, Depends(page_request)],
    q: Annotated[str | None, Query(max_length=200, description="words of the name, specialty or location")] = None,
    specialty: Text = None,
    organisation: Annotated[UUID | None, Query(description="the organisation's id")] = None,
    language: Annotated[str | None, Query(max_length=35, examples=["fr"])] = None,
    domain: Annotated[str | None, Query(max_length=100, examples=["medical"])] = None,
    appointment_type: Annotated[
        str | None, Query(max_length=100, description="the type the earliest free time is found for")
    ] = None,
) -> Page[ProfessionalRead]:
    """Verified professionals who match, by name, with what can be booked of them and their earliest free time."""
    query = directory.DirectoryQuery(
        text=q,
        specialty=specialty,
        organisation_id=organisation,
        language=language,
        domain=domain,
        appointment_type=appointment_type,
    )
    entries, next_cursor = await directory.search(uow=uow, query=query, page=page)
    # Its resources' ids as tags too: a booking or a hold on one moves its earliest free time.
    resource_ids = [resource.id for entry in entries for resource in entry.resources]
    caching.shared(response, seconds=caching.DIRECTORY_SECONDS, tags=[caching.APPOINTMENT_DIRECTORY, *resource_ids])
    return Page(items=[_read(entry) for entry in entries], next_cursor=next_cursor)


@router.get("/slots")
async def any_suitable_slots(
    uow: Uow,
    appointment_type: Annotated[str, Query(max_length=100, examples=["consultation"])],
    start: Annotated[AwareDatetime, Query(alias="from", examples=["2026-12-01T00:00:00+01:00"])],
    end: Annotated[AwareDatetime, Query(alias="to", examples=["2026-12-08T00:00:00+01:00"])],
    zone: Annotated[str, Query(description="IANA zone the slots are shown in", examples=["Europe/Paris"])] = "UTC",
    q: Text = None,
    specialty: Text = None,
    organisation: UUID | None = None,
    language: Annotated[str | None, Query(max_length=35)] = None,
    domain: Annotated[str | None, Query(max_length=100)] = None,
) -> list[SlotRead]:
    """Free slots of any verified professional who matches ("any suitable professional"), by time."""
    query = directory.DirectoryQuery(
        text=q, specialty=specialty, organisation_id=organisation, language=language, domain=domain
    )
    slots = await directory.any_suitable_slots(
        uow=uow, query=query, appointment_type=appointment_type, window_start=start, window_end=end, asker_zone=zone
    )
    return [SlotRead.from_domain(slot) for slot in slots]


@router.get("/resources/{resource_id}/professional")
async def read_resource_professional(resource_id: UUID, uow: Uow, response: Response) -> ResourceProfessionalRead:
    """The professional a resource books, with whether they are verified now (404 for a room or a device)."""
    found = await directory.professional_of(uow=uow, resource_id=resource_id)
    seconds = caching.CONFIGURATION_SECONDS
    if found.verified_until is not None:  # not shown as verified from the cache once it lapsed
        left = int((found.verified_until - uow.clock.now()).total_seconds())
        seconds = max(1, min(seconds, left))
    caching.shared(response, seconds=seconds, tags=[found.user_id])
    professional = found.professional
    return ResourceProfessionalRead(
        resource_id=found.resource.id,
        user_id=found.user_id,
        organisation_id=found.resource.organisation_id,
        display_name=found.display_name,
        verified=professional is not None,
        verified_until=found.verified_until,
        specialty=None if professional is None else professional.specialty,
        languages=[] if professional is None else list(professional.languages),
        location=None if professional is None else professional.location,
    )


def _read(entry: directory.DirectoryEntry) -> ProfessionalRead:
    professional, earliest = entry.professional, entry.earliest_free
    return ProfessionalRead(
        user_id=professional.user_id,
        organisation_id=professional.organisation_id,
        display_name=professional.display_name,
        specialty=professional.specialty,
        languages=list(professional.languages),
        location=professional.location,
        resources=[
            DirectoryResourceRead(
                id=resource.id,
                kind=resource.kind,
                display_name=resource.display_name,
                zone=resource.zone,
                domain=resource.domain,
            )
            for resource in entry.resources
        ],
        earliest_free=None
        if earliest is None
        else EarliestFreeRead(
            starts_at=earliest.slot.starts_at,
            ends_at=earliest.slot.ends_at,
            resource_id=earliest.slot.resource_id,
            appointment_type=earliest.appointment_type,
        ),
    )
