"""The waitlist's storage, and the offer of a freed time to the patient who waited longest.

An offer is a hold for that patient (a seat with an expiry, so nobody else can take the time meanwhile),
announced by ``appointment.waitlist_offered`` through the outbox in the transaction that freed the time.
The patient takes it by requesting the appointment with the hold's id within the offer's window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import select, update

from kairos.appointments.domain.appointment import Appointment, Period
from kairos.appointments.domain.waitlist import WaitlistEntry, WaitlistStatus, next_in_line
from kairos.appointments.repository import AppointmentsUnitOfWork, NotFound, Resource
from kairos.appointments.seats import SeatRefused, Terms
from kairos.appointments.tables import seats, time_blocks, waitlist_entries
from kairos.contracts.events import appointments as contracts
from kairos.platform.http.pagination import PageRequest, keyset

log = structlog.get_logger(__name__)

_STILL_WAITING = (WaitlistStatus.WAITING.value, WaitlistStatus.OFFERED.value)


def decode_entry(row: Any) -> WaitlistEntry:
    return WaitlistEntry(
        id=row["id"],
        resource_id=row["resource_id"],
        patient=row["patient"],
        appointment_type=row["appointment_type"],
        earliest=row["earliest"],
        latest=row["latest"],
        joined_at=row["joined_at"],
        status=WaitlistStatus(row["status"]),
        offered_hold_id=row["offered_hold_id"],
        offered_until=row["offered_until"],
    )


async def add_entry(uow: AppointmentsUnitOfWork, entry: WaitlistEntry, *, organisation_id: UUID) -> None:
    await uow.session.execute(
        waitlist_entries.insert().values(
            id=entry.id,
            resource_id=entry.resource_id,
            organisation_id=organisation_id,
            patient=entry.patient,
            appointment_type=entry.appointment_type,
            earliest=entry.earliest,
            latest=entry.latest,
            status=entry.status.value,
            joined_at=entry.joined_at,
        )
    )


async def entry_of(uow: AppointmentsUnitOfWork, entry_id: UUID, *, patient: str) -> WaitlistEntry:
    row = (
        (
            await uow.session.execute(
                select(waitlist_entries).where(waitlist_entries.c.id == entry_id, waitlist_entries.c.patient == patient)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"waitlist entry {entry_id}")
    return decode_entry(row)


async def entries_of(uow: AppointmentsUnitOfWork, *, patient: str, page: PageRequest) -> list[WaitlistEntry]:
    statement = select(waitlist_entries).where(waitlist_entries.c.patient == patient)
    ordered = keyset(statement, [waitlist_entries.c.joined_at, waitlist_entries.c.id], page)
    return [decode_entry(row) for row in (await uow.session.execute(ordered)).mappings()]


async def set_status(uow: AppointmentsUnitOfWork, entry_id: UUID, status: WaitlistStatus) -> None:
    await uow.session.execute(
        update(waitlist_entries).where(waitlist_entries.c.id == entry_id).values(status=status.value)
    )


async def offer_freed_time(
    uow: AppointmentsUnitOfWork, *, freed_by: Appointment, resource: Resource, period: Period
) -> WaitlistEntry | None:
    """Offer a time the appointment just gave back to the first waitlisted patient who wants it (if any)."""
    return await _offer(
        uow, resource=resource, appointment_type=freed_by.appointment_type, period=period, passed_over=freed_by.patient
    )


async def pass_on_lapsed_offers(uow: AppointmentsUnitOfWork, *, batch: int = 50) -> int:
    """Offer each time whose offer lapsed untaken to the next patient in line; return how many lapsed.

    The patient who let it lapse keeps waiting for other times. Run periodically; several instances may run it
    at once (the lapsed entries are claimed with SKIP LOCKED). The caller commits.
    """
    now = uow.clock.now()
    lapsed = (
        (
            await uow.session.execute(
                select(waitlist_entries.c.id, waitlist_entries.c.patient, time_blocks, seats.c.id.label("hold_id"))
                .join(seats, seats.c.id == waitlist_entries.c.offered_hold_id)
                .join(time_blocks, time_blocks.c.id == seats.c.block_id)
                .where(
                    waitlist_entries.c.status == WaitlistStatus.OFFERED.value,
                    waitlist_entries.c.offered_until <= now,
                    seats.c.appointment_id.is_(None),
                )
                .limit(batch)
                .with_for_update(of=waitlist_entries, skip_locked=True)
            )
        )
        .mappings()
        .all()
    )
    for row in lapsed:
        await uow.session.execute(
            update(waitlist_entries)
            .where(waitlist_entries.c.id == row["id"])
            .values(status=WaitlistStatus.WAITING.value, offered_hold_id=None, offered_until=None)
        )
        resource = await uow.appointments.resource(row["resource_id"])
        await _offer(
            uow,
            resource=resource,
            appointment_type=row["appointment_type"],
            period=Period(row["starts_at"], row["ends_at"]),
            passed_over=row["patient"],
        )
    return len(lapsed)


LAPSED_BATCH = 50
LAPSE_CHECK_SECONDS = 30.0  # a lapsed offer reaches the next patient within this, at most


async def pass_on_lapsed_offers_periodically(unit_of_work: Callable[[], AppointmentsUnitOfWork]) -> None:
    """Run ``pass_on_lapsed_offers`` for ever (cancelled when the service stops)."""
    while True:
        try:
            while True:
                async with unit_of_work() as uow:
                    lapsed = await pass_on_lapsed_offers(uow, batch=LAPSED_BATCH)
                    await uow.commit()
                if lapsed < LAPSED_BATCH:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("waitlist.lapsed_offers_failed", error=repr(error))
        await asyncio.sleep(LAPSE_CHECK_SECONDS)


async def _offer(
    uow: AppointmentsUnitOfWork, *, resource: Resource, appointment_type: str, period: Period, passed_over: str
) -> WaitlistEntry | None:
    """Hold a free time for the patient who waited longest for it, never ``passed_over``, and tell them."""
    now = uow.clock.now()
    if period.starts_at <= now:
        return None
    rows = await uow.session.execute(
        select(waitlist_entries).where(
            waitlist_entries.c.resource_id == resource.id,
            waitlist_entries.c.appointment_type == appointment_type,
            waitlist_entries.c.status.in_(_STILL_WAITING),
            waitlist_entries.c.earliest <= period.starts_at,
            waitlist_entries.c.latest > period.starts_at,
        )
    )
    entry = next_in_line(
        [decode_entry(row) for row in rows.mappings()],
        resource_id=resource.id,
        appointment_type=appointment_type,
        starts_at=period.starts_at,
        now=now,
        freed_by=passed_over,
    )
    if entry is None:
        return None
    # Another transaction offering this entry something else at the same moment wins; this time then stays free.
    locked = await uow.session.scalar(
        select(waitlist_entries.c.id)
        .where(waitlist_entries.c.id == entry.id, waitlist_entries.c.status.in_(_STILL_WAITING))
        .with_for_update(skip_locked=True)
    )
    if locked is None:
        return None
    terms, window = Terms(), None
    if resource.domain is not None:
        configuration, _ = await uow.appointments.domain(resource.domain)
        settings = configuration.appointment_type(appointment_type)
        terms = Terms(settings.buffer_before, settings.buffer_after, settings.capacity)
        window = configuration.waitlist_offer_window
    offered_until = min(now + window, period.starts_at) if window is not None else period.starts_at
    try:
        async with uow.session.begin_nested():  # a refused seat must not undo the change that freed the time
            hold_id = await uow.appointments.seats.take(
                resource_id=resource.id,
                resource_no=resource.resource_no,
                appointment_type=appointment_type,
                period=period,
                terms=terms,
                holder=entry.patient,
                now=now,
                expires_at=offered_until,
                waitlist_entry_id=entry.id,
            )
    except SeatRefused:
        return None
    await uow.session.execute(
        update(waitlist_entries)
        .where(waitlist_entries.c.id == entry.id)
        .values(status=WaitlistStatus.OFFERED.value, offered_hold_id=hold_id, offered_until=offered_until)
    )
    uow.publish(
        contracts.AppointmentWaitlistOffered(
            waitlist_entry_id=entry.id,
            resource_id=resource.id,
            organisation_id=resource.organisation_id,
            patient=entry.patient,
            appointment_type=appointment_type,
            starts_at=period.starts_at,
            ends_at=period.ends_at,
            hold_id=hold_id,
            offered_until=offered_until,
        ),
        subject=f"waitlist:{entry.id}",
    )
    return entry
