"""Calendar integration use cases: an .ics per appointment, a per-resource feed behind a secret URL, and busy
time imported from an uploaded file or an iCalendar URL that is refreshed periodically.

Feeds carry minimal personal data: each event says the appointment type and its status, never the patient
(whoever holds the URL sees when the professional is booked, not by whom). Only a SHA-256 hash of a feed's
token is stored; creating a feed again rotates the token, so the old URL stops working at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import structlog
from sqlalchemy import select, update

from kairos.appointments import calendar_store, service
from kairos.appointments.calendar_fetch import CalendarFetchFailed, fetch_calendar, normalised_url
from kairos.appointments.calendar_store import CalendarImport
from kairos.appointments.domain.availability import ImportedBusyTime
from kairos.appointments.domain.calendars import CalendarEntry, InvalidCalendar, busy_times, calendar_of
from kairos.appointments.repository import AppointmentsUnitOfWork, NotFound, Resource, decode_configuration
from kairos.appointments.service import Forbidden
from kairos.appointments.settings import AppointmentsSettings
from kairos.appointments.tables import appointments, calendar_imports, domains
from kairos.platform.auth import Principal
from kairos.platform.ids import new_id

log = structlog.get_logger(__name__)

FEED_PAST = timedelta(days=31)
FEED_FUTURE = timedelta(days=366)
FEED_LIMIT = 5000
IMPORT_PAST = timedelta(days=1)
REFRESH_BATCH = 20


def uid_of(appointment_id: UUID) -> str:
    return f"{appointment_id}@appointments.kairos"


def feed_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_manage_calendar(by: Principal, resource: Resource) -> bool:
    """The professional the resource is, their organisation's admins and staff, and operators."""
    if by.has_role("operator"):
        return True
    if resource.user_id is not None and resource.user_id == by.subject:
        return True
    return by.organisation_id == str(resource.organisation_id) and (
        by.has_role("domain_admin") or by.has_role("staff") or by.has_permission("availability:manage")
    )


async def _managed_resource(uow: AppointmentsUnitOfWork, by: Principal, resource_id: UUID) -> Resource:
    resource = await uow.appointments.resource(resource_id)
    if not may_manage_calendar(by, resource):
        raise Forbidden("only the professional, their practice's staff and admins manage this calendar")
    return resource


# --- .ics per appointment ------------------------------------------------------------------------------------


async def appointment_calendar(*, uow: AppointmentsUnitOfWork, by: Principal, appointment_id: UUID) -> bytes:
    """The appointment as an iCalendar file, to whoever may see it (the patient, the practice, operators)."""
    appointment, history = await service.read(uow=uow, by=by, appointment_id=appointment_id)
    async with uow:
        resource = await uow.appointments.resource(appointment.resource_id)
        labels = await _type_labels(uow, resource.domain)
        now = uow.clock.now()
    label = labels.get(appointment.appointment_type, appointment.appointment_type)
    entry = CalendarEntry(
        uid=uid_of(appointment.id),
        starts_at=appointment.period.starts_at,
        ends_at=appointment.period.ends_at,
        status=appointment.status.value,
        sequence=appointment.version,
        last_modified=history[-1].occurred_at,
        summary=f"{label} with {resource.display_name}",
        location=resource.display_name if resource.kind == "room" else None,
    )
    return calendar_of([entry], name=f"{label} with {resource.display_name}", stamped_at=now)


async def _type_labels(uow: AppointmentsUnitOfWork, domain: str | None) -> dict[str, str]:
    if domain is None:
        return {}
    row = (await uow.session.execute(select(domains.c.configuration).where(domains.c.name == domain))).first()
    if row is None:
        return {}
    return {kind.code: kind.label for kind in decode_configuration(row[0]).appointment_types}


# --- feeds ---------------------------------------------------------------------------------------------------


async def create_feed(*, uow: AppointmentsUnitOfWork, by: Principal, resource_id: UUID) -> str:
    """A new secret feed token for the resource (the previous one stops working); shown once, stored hashed."""
    token = secrets.token_urlsafe(32)
    async with uow:
        await _managed_resource(uow, by, resource_id)
        await calendar_store.put_feed(
            uow.session, resource_id=resource_id, token_hash=feed_token_hash(token), by=by.subject, at=uow.clock.now()
        )
        await uow.commit()
    return token


async def revoke_feed(*, uow: AppointmentsUnitOfWork, by: Principal, resource_id: UUID) -> None:
    async with uow:
        await _managed_resource(uow, by, resource_id)
        if not await calendar_store.delete_feed(uow.session, resource_id):
            raise NotFound(f"resource {resource_id} has no calendar feed")
        await uow.commit()


async def feed(*, uow: AppointmentsUnitOfWork, token: str) -> bytes:
    """The resource's appointments that hold its time (booked, pending…), from a month ago to a year ahead."""
    async with uow:
        resource_id = await calendar_store.feed_resource(uow.session, feed_token_hash(token))
        if resource_id is None:
            raise NotFound("no such calendar feed")
        resource = await uow.appointments.resource(resource_id)
        labels = await _type_labels(uow, resource.domain)
        now = uow.clock.now()
        rows = await uow.session.execute(
            select(
                appointments.c.id,
                appointments.c.appointment_type,
                appointments.c.starts_at,
                appointments.c.ends_at,
                appointments.c.status,
                appointments.c.version,
                appointments.c.updated_at,
            )
            .where(
                appointments.c.resource_id == resource_id,
                appointments.c.holds_time,
                appointments.c.ends_at > now - FEED_PAST,
                appointments.c.starts_at < now + FEED_FUTURE,
            )
            .order_by(appointments.c.starts_at, appointments.c.id)
            .limit(FEED_LIMIT)
        )
        entries = [
            CalendarEntry(
                uid=uid_of(row.id),
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                status=row.status,
                sequence=row.version,
                last_modified=row.updated_at,
                summary=labels.get(row.appointment_type, row.appointment_type),
            )
            for row in rows
        ]
    return calendar_of(entries, name=f"{resource.display_name} (Kairos)", stamped_at=now)


# --- imports -------------------------------------------------------------------------------------------------


async def list_imports(*, uow: AppointmentsUnitOfWork, by: Principal, resource_id: UUID) -> list[CalendarImport]:
    async with uow:
        await _managed_resource(uow, by, resource_id)
        return await calendar_store.imports_of(uow.session, resource_id)


async def import_file(
    *,
    uow: AppointmentsUnitOfWork,
    by: Principal,
    resource_id: UUID,
    name: str,
    data: bytes,
    settings: AppointmentsSettings,
) -> CalendarImport:
    """Busy time from an uploaded .ics file, read once."""
    async with uow:
        resource = await _managed_resource(uow, by, resource_id)
        now = uow.clock.now()
        busy = _busy_in(data, resource, now=now, settings=settings)
        added = CalendarImport(
            id=new_id(),
            resource_id=resource_id,
            source="file",
            url=None,
            name=name,
            created_by=by.subject,
            created_at=now,
            refreshed_at=None,
            next_refresh_at=None,
            last_error=None,
            busy_count=0,
        )
        await calendar_store.add_import(uow.session, added)
        await calendar_store.replace_busy(uow.session, added, busy, at=now, next_refresh_at=None)
        await uow.commit()
    return await _reloaded(uow, added.id)


async def import_url(
    *,
    uow: AppointmentsUnitOfWork,
    by: Principal,
    resource_id: UUID,
    url: str,
    name: str,
    settings: AppointmentsSettings,
) -> CalendarImport:
    """Busy time from an iCalendar URL: read now (so a wrong URL is said at once), then refreshed periodically."""
    address = normalised_url(url)
    async with uow:
        resource = await _managed_resource(uow, by, resource_id)
    data = await _fetch(address, settings)  # outside any transaction: a slow server holds no database connection
    async with uow:
        now = uow.clock.now()
        busy = _busy_in(data, resource, now=now, settings=settings)
        added = CalendarImport(
            id=new_id(),
            resource_id=resource_id,
            source="url",
            url=address,
            name=name,
            created_by=by.subject,
            created_at=now,
            refreshed_at=None,
            next_refresh_at=None,
            last_error=None,
            busy_count=0,
        )
        await calendar_store.add_import(uow.session, added)
        await calendar_store.replace_busy(
            uow.session, added, busy, at=now, next_refresh_at=_next_refresh(now, settings)
        )
        await uow.commit()
    return await _reloaded(uow, added.id)


async def delete_import(*, uow: AppointmentsUnitOfWork, by: Principal, resource_id: UUID, import_id: UUID) -> None:
    async with uow:
        await _managed_resource(uow, by, resource_id)
        found = await calendar_store.calendar_import(uow.session, import_id)
        if found is None or found.resource_id != resource_id:
            raise NotFound(f"calendar import {import_id}")
        await calendar_store.delete_import(uow.session, found)
        await uow.commit()


async def refresh_import(
    *, uow: AppointmentsUnitOfWork, by: Principal, resource_id: UUID, import_id: UUID, settings: AppointmentsSettings
) -> CalendarImport:
    """Read a URL import again now (a file import has nothing to read again)."""
    async with uow:
        await _managed_resource(uow, by, resource_id)
        found = await calendar_store.calendar_import(uow.session, import_id)
    if found is None or found.resource_id != resource_id:
        raise NotFound(f"calendar import {import_id}")
    if found.url is None:
        raise InvalidCalendar("an uploaded file is not refreshed; upload it again")
    await _refresh(uow, found, settings, raise_errors=True)
    return await _reloaded(uow, import_id)


async def refresh_due_imports(*, uow: AppointmentsUnitOfWork, settings: AppointmentsSettings) -> int:
    """Refresh the URL imports that are due; several instances share the work without doing any twice."""
    async with uow:
        now = uow.clock.now()
        claimed = await calendar_store.due_imports(uow.session, now=now, limit=REFRESH_BATCH)
        if claimed:
            # A lease: another instance skips these until the next interval, even if this one dies meanwhile.
            await uow.session.execute(
                update(calendar_imports)
                .where(calendar_imports.c.id.in_([item.id for item in claimed]))
                .values(next_refresh_at=_next_refresh(now, settings))
            )
        await uow.commit()
    for item in claimed:
        await _refresh(uow, item, settings, raise_errors=False)
    return len(claimed)


async def refresh_periodically(
    unit_of_work: Callable[[], AppointmentsUnitOfWork], settings: AppointmentsSettings
) -> None:
    """Run ``refresh_due_imports`` for ever, a minute apart at most (cancelled when the service stops)."""
    pause = min(60.0, settings.calendar_refresh_minutes * 60)
    while True:
        try:
            while await refresh_due_imports(uow=unit_of_work(), settings=settings) == REFRESH_BATCH:
                pass
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("calendars.refresh_failed", error=repr(error))
        await asyncio.sleep(pause)


async def _refresh(
    uow: AppointmentsUnitOfWork, item: CalendarImport, settings: AppointmentsSettings, *, raise_errors: bool
) -> None:
    assert item.url is not None
    try:
        data = await _fetch(item.url, settings)
        async with uow:
            resource = await uow.appointments.resource(item.resource_id)
            now = uow.clock.now()
            busy = _busy_in(data, resource, now=now, settings=settings)
            await calendar_store.replace_busy(
                uow.session, item, busy, at=now, next_refresh_at=_next_refresh(now, settings)
            )
            await uow.commit()
    except (CalendarFetchFailed, InvalidCalendar) as error:
        async with uow:
            await calendar_store.record_failure(
                uow.session, item, error=str(error), next_refresh_at=_next_refresh(uow.clock.now(), settings)
            )
            await uow.commit()
        log.info("calendars.refresh_failed", import_id=str(item.id), error=str(error))
        if raise_errors:
            raise


async def _fetch(url: str, settings: AppointmentsSettings) -> bytes:
    return await fetch_calendar(
        url,
        timeout_seconds=settings.calendar_fetch_timeout,
        max_bytes=settings.calendar_max_bytes,
        allow_private=settings.calendar_allow_private_addresses,
    )


def _busy_in(
    data: bytes, resource: Resource, *, now: datetime, settings: AppointmentsSettings
) -> list[ImportedBusyTime]:
    if len(data) > settings.calendar_max_bytes:
        raise InvalidCalendar(f"the calendar is larger than {settings.calendar_max_bytes} bytes")
    return busy_times(
        data,
        zone=resource.zone,
        window_start=now - IMPORT_PAST,
        window_end=now + timedelta(days=settings.calendar_import_days),
    )


def _next_refresh(now: datetime, settings: AppointmentsSettings) -> datetime:
    return now + timedelta(minutes=settings.calendar_refresh_minutes)


async def _reloaded(uow: AppointmentsUnitOfWork, import_id: UUID) -> CalendarImport:
    async with uow:
        found = await calendar_store.calendar_import(uow.session, import_id)
    assert found is not None
    return found
