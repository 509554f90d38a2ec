"""Calendar integration over HTTP: an .ics per appointment, a resource's secret feed, and busy-time imports.

Mounted before the main router (``app.py``) so that ``/appointments/{id}.ics`` is not read as an appointment
id by ``/appointments/{appointment_id}``.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile

from kairos.appointments import calendars
from kairos.appointments.calendar_store import CalendarImport
from kairos.appointments.domain.calendars import InvalidCalendar
from kairos.appointments.repository import AppointmentsUnitOfWork
from kairos.appointments.schemas import CalendarFeedCreated, CalendarImportRead, CalendarUrlImportCreate
from kairos.appointments.settings import AppointmentsSettings
from kairos.platform.auth import CurrentPrincipal
from kairos.platform.runtime import unit_of_work

router = APIRouter(tags=["calendars"])

Uow = Annotated[AppointmentsUnitOfWork, Depends(unit_of_work)]
ICALENDAR = "text/calendar; charset=utf-8"
CALENDAR_RESPONSE = {200: {"content": {"text/calendar": {}}, "description": "an iCalendar (RFC 5545) object"}}


def appointments_settings(request: Request) -> AppointmentsSettings:
    found: AppointmentsSettings = request.app.state.appointments_settings
    return found


SettingsDep = Annotated[AppointmentsSettings, Depends(appointments_settings)]


@router.get(
    "/appointments/{appointment_id:uuid}.ics",
    response_class=Response,
    responses=CALENDAR_RESPONSE,  # type: ignore[arg-type]
)
async def appointment_ics(appointment_id: UUID, uow: Uow, me: CurrentPrincipal) -> Response:
    """The appointment as an iCalendar file, for the patient's or the practice's own calendar."""
    body = await calendars.appointment_calendar(uow=uow, by=me, appointment_id=appointment_id)
    return _calendar(body, filename=f"appointment-{appointment_id}.ics", private=True)


@router.post("/resources/{resource_id}/calendar-feed", status_code=201)
async def create_feed(resource_id: UUID, request: Request, uow: Uow, me: CurrentPrincipal) -> CalendarFeedCreated:
    """A secret feed URL of the resource's appointments (a new one replaces the old, which stops working)."""
    token = await calendars.create_feed(uow=uow, by=me, resource_id=resource_id)
    return CalendarFeedCreated(url=str(request.url_for("calendar_feed", token=token)), token=token)


@router.delete("/resources/{resource_id}/calendar-feed", status_code=204)
async def revoke_feed(resource_id: UUID, uow: Uow, me: CurrentPrincipal) -> None:
    """Stop the resource's feed: its URL no longer works."""
    await calendars.revoke_feed(uow=uow, by=me, resource_id=resource_id)


@router.get(
    "/feeds/{token}.ics",
    name="calendar_feed",
    response_class=Response,
    responses=CALENDAR_RESPONSE,  # type: ignore[arg-type]
)
async def calendar_feed(token: str, uow: Uow) -> Response:
    """A resource's booked and pending appointments, without patients' names (the URL is the credential)."""
    body = await calendars.feed(uow=uow, token=token)
    return _calendar(body, filename="kairos.ics", private=True)


@router.get("/resources/{resource_id}/calendar-imports")
async def list_imports(resource_id: UUID, uow: Uow, me: CurrentPrincipal) -> list[CalendarImportRead]:
    """The external calendars whose busy time the resource imports."""
    return [_read(item) for item in await calendars.list_imports(uow=uow, by=me, resource_id=resource_id)]


@router.post("/resources/{resource_id}/calendar-imports/file", status_code=201)
async def import_file(
    resource_id: UUID,
    uow: Uow,
    me: CurrentPrincipal,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="an iCalendar (.ics) file")],
    name: Annotated[str, Form(min_length=1, max_length=200)] = "Uploaded calendar",
) -> CalendarImportRead:
    """Busy time from an uploaded .ics file: its events (recurrences expanded) are removed from free slots."""
    data = await file.read(settings.calendar_max_bytes + 1)
    if len(data) > settings.calendar_max_bytes:
        raise InvalidCalendar(f"the calendar is larger than {settings.calendar_max_bytes} bytes")
    imported = await calendars.import_file(
        uow=uow, by=me, resource_id=resource_id, name=name, data=data, settings=settings
    )
    return _read(imported)


@router.post("/resources/{resource_id}/calendar-imports/url", status_code=201)
async def import_url(
    resource_id: UUID, body: CalendarUrlImportCreate, uow: Uow, me: CurrentPrincipal, settings: SettingsDep
) -> CalendarImportRead:
    """Busy time from an iCalendar URL (http, https or webcal), read now and then periodically."""
    imported = await calendars.import_url(
        uow=uow, by=me, resource_id=resource_id, url=body.url, name=body.name, settings=settings
    )
    return _read(imported)


@router.post("/resources/{resource_id}/calendar-imports/{import_id}/refresh")
async def refresh_import(
    resource_id: UUID, import_id: UUID, uow: Uow, me: CurrentPrincipal, settings: SettingsDep
) -> CalendarImportRead:
    """Read a URL import again now."""
    refreshed = await calendars.refresh_import(
        uow=uow, by=me, resource_id=resource_id, import_id=import_id, settings=settings
    )
    return _read(refreshed)


@router.delete("/resources/{resource_id}/calendar-imports/{import_id}", status_code=204)
async def delete_import(resource_id: UUID, import_id: UUID, uow: Uow, me: CurrentPrincipal) -> None:
    """Stop importing a calendar; its busy time is no longer taken out of free slots."""
    await calendars.delete_import(uow=uow, by=me, resource_id=resource_id, import_id=import_id)


def _calendar(body: bytes, *, filename: str, private: bool) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if private:
        headers["Cache-Control"] = "private, no-store"
    return Response(content=body, media_type=ICALENDAR, headers=headers)


def _read(item: CalendarImport) -> CalendarImportRead:
    return CalendarImportRead.model_validate(dataclasses.asdict(item))
