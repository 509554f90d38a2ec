"""The directory of bookable professionals and the "any suitable professional" slot search.

Both are public, like the resources and their free slots: a directory of verified professionals is what a
patient browses before signing in, and it holds nothing about patients. Everything shown was published by
the professionals' verification (name, specialty, organisation, location, languages).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from kairos.appointments import directory
from kairos.appointments.repository import AppointmentsUnitOfWork
from kairos.appointments.schemas import (
    DirectoryResourceRead,
    EarliestFreeRead,
    ProfessionalRead,
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
