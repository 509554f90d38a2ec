"""Use cases of holds (a slot reserved while a form is filled in) and of the waitlist.

A hold is a seat taken with an expiry (``seats.py``): the database refuses it exactly as it refuses an
appointment at that time, so a hold and a request racing for one slot cannot both win. It stops counting
when it expires; the next claim on that time removes it, so no job is needed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from kairos.appointments.domain.appointment import Period
from kairos.appointments.domain.waitlist import WaitlistEntry, WaitlistStatus
from kairos.appointments.repository import AppointmentsUnitOfWork, NotFound, TimeTaken
from kairos.appointments.seats import PlacedHold, SeatRefused, Terms
from kairos.appointments.service import Forbidden, MissingEnd, _require_offered
from kairos.appointments.waitlist import add_entry, entries_of, entry_of, set_status
from kairos.contracts.events import appointments as contracts
from kairos.platform.auth import Principal
from kairos.platform.http.pagination import PageRequest
from kairos.platform.ids import new_id

# A patient cannot reserve a practice's whole day: live holds per patient.
MAX_LIVE_HOLDS = 3
DEFAULT_HOLD = timedelta(minutes=5)  # for resources without a domain (a domain says its own)


class TooManyHolds(Exception):
    """The patient already holds as many slots as anyone may at once."""


async def place_hold(
    *,
    uow: AppointmentsUnitOfWork,
    by: Principal,
    resource_id: UUID,
    appointment_type: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
) -> PlacedHold:
    """Reserve an offered time for the caller while the form is filled in (the domain says how long)."""
    if not by.has_permission("appointments:request"):
        raise Forbidden("this account cannot request appointments")
    async with uow:
        resource = await uow.appointments.resource(resource_id)
        now = uow.clock.now()
        terms, lasts = Terms(), DEFAULT_HOLD
        if resource.domain is not None:
            configuration, _ = await uow.appointments.domain(resource.domain)
            settings = configuration.appointment_type(appointment_type)
            terms = Terms(settings.buffer_before, settings.buffer_after, settings.capacity)
            lasts = configuration.hold_duration
            ends_at = ends_at or starts_at + settings.duration
            await _require_offered(uow, resource.id, settings.for_slot_search(), starts_at)
        if ends_at is None:
            raise MissingEnd("ends_at is required when the resource has no domain to give the duration")
        if await uow.appointments.seats.holds_of(by.subject, now=now) >= MAX_LIVE_HOLDS:
            raise TooManyHolds(f"at most {MAX_LIVE_HOLDS} slots may be held at once")
        period = Period(starts_at, ends_at)
        expires_at = now + lasts
        try:
            hold_id = await uow.appointments.seats.take(
                resource_id=resource.id,
                resource_no=resource.resource_no,
                appointment_type=appointment_type,
                period=period,
                terms=terms,
                holder=by.subject,
                now=now,
                expires_at=expires_at,
            )
        except SeatRefused as refused:
            raise TimeTaken(str(starts_at)) from refused
        uow.publish(
            contracts.SlotHeld(
                hold_id=hold_id,
                resource_id=resource.id,
                organisation_id=resource.organisation_id,
                patient=by.subject,
                appointment_type=appointment_type,
                starts_at=period.starts_at,
                ends_at=period.ends_at,
                expires_at=expires_at,
            ),
            subject=f"resource:{resource.id}",
        )
        await uow.commit()
        return PlacedHold(
            id=hold_id,
            resource_id=resource.id,
            holder=by.subject,
            appointment_type=appointment_type,
            period=period,
            expires_at=expires_at,
            waitlist_entry_id=None,
        )


async def read_hold(*, uow: AppointmentsUnitOfWork, by: Principal, hold_id: UUID) -> PlacedHold:
    """A live hold of the caller's (expired, used or someone else's: 404)."""
    async with uow:
        hold = await uow.appointments.seats.hold(hold_id, now=uow.clock.now())
    if hold is None or hold.holder != by.subject:
        raise NotFound(f"hold {hold_id}")
    return hold


async def release_hold(*, uow: AppointmentsUnitOfWork, by: Principal, hold_id: UUID) -> None:
    """Give a hold back before it expires (the patient changed their mind)."""
    async with uow:
        hold = await uow.appointments.seats.hold(hold_id, now=uow.clock.now())
        if (
            hold is None
            or hold.holder != by.subject
            or not await uow.appointments.seats.release_hold(hold_id, holder=by.subject)
        ):
            raise NotFound(f"hold {hold_id}")
        if hold.waitlist_entry_id is not None:  # a declined offer: the patient waits no longer
            await set_status(uow, hold.waitlist_entry_id, WaitlistStatus.WITHDRAWN)
        uow.publish(
            contracts.SlotHoldReleased(
                hold_id=hold_id,
                resource_id=hold.resource_id,
                starts_at=hold.period.starts_at,
                ends_at=hold.period.ends_at,
            ),
            subject=f"resource:{hold.resource_id}",
        )
        await uow.commit()


async def join_waitlist(
    *,
    uow: AppointmentsUnitOfWork,
    by: Principal,
    resource_id: UUID,
    appointment_type: str,
    earliest: datetime,
    latest: datetime,
) -> WaitlistEntry:
    """Wait for a time between ``earliest`` and ``latest`` to free up on a resource."""
    if not by.has_permission("appointments:request"):
        raise Forbidden("this account cannot request appointments")
    async with uow:
        resource = await uow.appointments.resource(resource_id)
        if resource.domain is not None:
            configuration, _ = await uow.appointments.domain(resource.domain)
            configuration.appointment_type(appointment_type)  # it must exist
        entry = WaitlistEntry(
            id=new_id(),
            resource_id=resource.id,
            patient=by.subject,
            appointment_type=appointment_type,
            earliest=earliest,
            latest=latest,
            joined_at=uow.clock.now(),
        )
        await add_entry(uow, entry, organisation_id=resource.organisation_id)
        uow.publish(
            contracts.WaitlistJoined(
                waitlist_entry_id=entry.id,
                resource_id=resource.id,
                organisation_id=resource.organisation_id,
                patient=by.subject,
                appointment_type=appointment_type,
                earliest=earliest,
                latest=latest,
            ),
            subject=f"waitlist:{entry.id}",
        )
        await uow.commit()
        return entry


async def my_waitlist(*, uow: AppointmentsUnitOfWork, by: Principal, page: PageRequest) -> list[WaitlistEntry]:
    async with uow:
        return await entries_of(uow, patient=by.subject, page=page)


async def leave_waitlist(*, uow: AppointmentsUnitOfWork, by: Principal, entry_id: UUID) -> None:
    async with uow:
        entry = await entry_of(uow, entry_id, patient=by.subject)
        if entry.status in {WaitlistStatus.WAITING, WaitlistStatus.OFFERED}:
            await set_status(uow, entry.id, WaitlistStatus.WITHDRAWN)
        if entry.status is WaitlistStatus.OFFERED and entry.offered_hold_id is not None:
            await uow.appointments.seats.release_hold(entry.offered_hold_id, holder=by.subject)  # the offer lapses
        await uow.commit()
