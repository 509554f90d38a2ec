"""Taking and giving back seats of time blocks: how appointments and holds take a resource's time.

The database decides every conflict (see ``tables.py``): taking a seat is one upsert of the session's
block that adds a seat under the block's row lock, so the CHECK on ``seats_taken`` refuses the N+1st
party of a group of N and the exclusion constraint refuses any other session at an overlapping time. A
caller never checks first and writes after. Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from asyncpg.exceptions import CheckViolationError, ExclusionViolationError
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.appointments.domain.appointment import Period
from kairos.appointments.tables import seats, time_blocks, waitlist_entries
from kairos.platform.ids import new_id

# SQLSTATEs of the two constraints that refuse a seat: exclusion_violation, check_violation.
_REFUSED = {"23P01", "23514"}


class SeatRefused(Exception):
    """The time overlaps another session, or the session has no seat left."""


class HoldNotUsable(Exception):
    """The hold has expired, was used or released, is someone else's, or is for another time."""


@dataclass(frozen=True)
class Terms:
    """How an appointment type takes time: its buffers around the appointment and its seats per session."""

    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    capacity: int = 1

    def blocked(self, period: Period) -> tuple[datetime, datetime]:
        return period.starts_at - self.buffer_before, period.ends_at + self.buffer_after


@dataclass(frozen=True)
class PlacedHold:
    id: UUID
    resource_id: UUID
    holder: str
    appointment_type: str
    period: Period
    expires_at: datetime
    waitlist_entry_id: UUID | None


class Seats:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def take(
        self,
        *,
        resource_id: UUID,
        resource_no: int,
        appointment_type: str,
        period: Period,
        terms: Terms,
        holder: str,
        now: datetime,
        appointment_id: UUID | None = None,
        expires_at: datetime | None = None,
        waitlist_entry_id: UUID | None = None,
    ) -> UUID:
        """Take a seat for an appointment, or hold one until ``expires_at``; the seat's id (a hold's id)."""
        blocked_from, blocked_until = terms.blocked(period)
        # One seat-taker at a time per resource, until commit. Without it, two sessions inserting overlapping
        # blocks each wait on the other's uncommitted row in the exclusion check: a deadlock, which PostgreSQL
        # breaks after deadlock_timeout (1 s) by failing one of them with an error that is not a 409.
        await self._session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"appointments.seats:{resource_no}", 0)))
        )
        await self.release_expired(resource_no, blocked_from, blocked_until, now=now)
        statement = pg_insert(time_blocks).values(
            id=new_id(),
            resource_id=resource_id,
            resource_no=resource_no,
            appointment_type=appointment_type,
            starts_at=period.starts_at,
            ends_at=period.ends_at,
            blocked_from=blocked_from,
            blocked_until=blocked_until,
            capacity=terms.capacity,
            seats_taken=1,
        )
        is_empty = time_blocks.c.seats_taken == 0
        upsert = statement.on_conflict_do_update(
            constraint="time_blocks_one_per_session",
            set_={
                "seats_taken": time_blocks.c.seats_taken + 1,
                # The domain's current terms apply; an empty block takes the current buffers too.
                "capacity": statement.excluded.capacity,
                "blocked_from": case((is_empty, statement.excluded.blocked_from), else_=time_blocks.c.blocked_from),
                "blocked_until": case((is_empty, statement.excluded.blocked_until), else_=time_blocks.c.blocked_until),
            },
        ).returning(time_blocks.c.id)
        try:
            block_id = await self._session.scalar(upsert)
        except IntegrityError as error:
            if _sqlstate(error) in _REFUSED:
                raise SeatRefused(str(period.starts_at)) from error
            raise
        assert block_id is not None
        seat_id = appointment_id or new_id()
        await self._session.execute(
            seats.insert().values(
                id=seat_id,
                block_id=block_id,
                resource_no=resource_no,
                holder=holder,
                appointment_id=appointment_id,
                expires_at=expires_at,
                waitlist_entry_id=waitlist_entry_id,
            )
        )
        return seat_id

    async def use_hold(
        self,
        hold_id: UUID,
        *,
        appointment_id: UUID,
        holder: str,
        resource_no: int,
        appointment_type: str,
        period: Period,
        now: datetime,
    ) -> PlacedHold:
        """Turn a live hold of ``holder`` for exactly this time into the appointment's seat."""
        hold = await self.hold(hold_id, now=now)
        if hold is None or hold.holder != holder or hold.appointment_type != appointment_type or hold.period != period:
            raise HoldNotUsable(f"hold {hold_id} is not a live hold of yours for this time")
        used = await self._session.execute(
            update(seats)
            .where(
                seats.c.id == hold_id,
                seats.c.resource_no == resource_no,
                seats.c.appointment_id.is_(None),
                seats.c.expires_at > now,
            )
            .values(appointment_id=appointment_id, expires_at=None)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise HoldNotUsable(f"hold {hold_id} expired meanwhile")
        if hold.waitlist_entry_id is not None:  # a waitlist offer, taken
            await self._session.execute(
                update(waitlist_entries).where(waitlist_entries.c.id == hold.waitlist_entry_id).values(status="booked")
            )
        return hold

    async def hold(self, hold_id: UUID, *, now: datetime) -> PlacedHold | None:
        """A live hold (not yet expired, released or used), or None."""
        row = (
            (
                await self._session.execute(
                    select(
                        seats,
                        time_blocks.c.resource_id,
                        time_blocks.c.appointment_type,
                        time_blocks.c.starts_at,
                        time_blocks.c.ends_at,
                    )
                    .join(time_blocks, time_blocks.c.id == seats.c.block_id)
                    .where(seats.c.id == hold_id, seats.c.appointment_id.is_(None), seats.c.expires_at > now)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return PlacedHold(
            id=row["id"],
            resource_id=row["resource_id"],
            holder=row["holder"],
            appointment_type=row["appointment_type"],
            period=Period(row["starts_at"], row["ends_at"]),
            expires_at=row["expires_at"],
            waitlist_entry_id=row["waitlist_entry_id"],
        )

    async def holds_of(self, holder: str, *, now: datetime) -> int:
        """How many live holds a patient has."""
        count = await self._session.scalar(
            select(func.count()).where(seats.c.holder == holder, seats.c.expires_at > now)
        )
        return int(count or 0)

    async def live_holds(
        self, resource_id: UUID, *, start: datetime, end: datetime, now: datetime, excluding: UUID | None = None
    ) -> list[tuple[PlacedHold, datetime, datetime]]:
        """Live holds on a resource whose blocked time meets ``[start, end)``, with that blocked time."""
        statement = (
            select(
                seats,
                time_blocks.c.resource_id,
                time_blocks.c.appointment_type,
                time_blocks.c.starts_at,
                time_blocks.c.ends_at,
                time_blocks.c.blocked_from,
                time_blocks.c.blocked_until,
            )
            .join(time_blocks, time_blocks.c.id == seats.c.block_id)
            .where(
                time_blocks.c.resource_id == resource_id,
                seats.c.expires_at > now,
                time_blocks.c.blocked_until > start,
                time_blocks.c.blocked_from < end,
            )
        )
        if excluding is not None:
            statement = statement.where(seats.c.id != excluding)
        rows = (await self._session.execute(statement)).mappings()
        return [
            (
                PlacedHold(
                    id=row["id"],
                    resource_id=row["resource_id"],
                    holder=row["holder"],
                    appointment_type=row["appointment_type"],
                    period=Period(row["starts_at"], row["ends_at"]),
                    expires_at=row["expires_at"],
                    waitlist_entry_id=row["waitlist_entry_id"],
                ),
                row["blocked_from"],
                row["blocked_until"],
            )
            for row in rows
        ]

    async def release(self, seat_id: UUID) -> bool:
        """Give a seat back (an appointment's or a hold's); False when there was none."""
        block_id = await self._session.scalar(delete(seats).where(seats.c.id == seat_id).returning(seats.c.block_id))
        if block_id is None:
            return False
        await self._session.execute(
            update(time_blocks).where(time_blocks.c.id == block_id).values(seats_taken=time_blocks.c.seats_taken - 1)
        )
        return True

    async def release_hold(self, hold_id: UUID, *, holder: str) -> bool:
        """Give back a hold that is not used yet; False when there is none of ``holder``'s."""
        found = await self._session.scalar(
            select(seats.c.id)
            .where(seats.c.id == hold_id, seats.c.holder == holder, seats.c.appointment_id.is_(None))
            .with_for_update()
        )
        return found is not None and await self.release(hold_id)

    async def seat_of(self, appointment_id: UUID) -> tuple[UUID, Period] | None:
        """The seat an appointment takes and its block's time, if it takes one."""
        row = (
            await self._session.execute(
                select(seats.c.id, time_blocks.c.starts_at, time_blocks.c.ends_at)
                .join(time_blocks, time_blocks.c.id == seats.c.block_id)
                .where(seats.c.appointment_id == appointment_id)
            )
        ).first()
        return None if row is None else (row.id, Period(row.starts_at, row.ends_at))

    async def release_expired(
        self, resource_no: int, blocked_from: datetime, blocked_until: datetime, *, now: datetime
    ) -> int:
        """Give back the expired holds in the way of ``[blocked_from, blocked_until)``: how holds end without a job.

        Locked in id order and skipping holds another transaction is releasing, so two claimants never wait
        on each other in opposite orders.
        """
        expired = (
            (
                await self._session.execute(
                    select(seats.c.id)
                    .join(time_blocks, time_blocks.c.id == seats.c.block_id)
                    .where(
                        seats.c.resource_no == resource_no,
                        seats.c.expires_at <= now,
                        time_blocks.c.blocked_from < blocked_until,
                        time_blocks.c.blocked_until > blocked_from,
                    )
                    .order_by(seats.c.id)
                    .with_for_update(of=seats, skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        for seat_id in expired:
            await self.release(seat_id)
        return len(expired)


def _sqlstate(error: IntegrityError) -> str | None:
    cause = getattr(error.orig, "__cause__", None)
    if isinstance(cause, ExclusionViolationError | CheckViolationError):
        return str(cause.sqlstate)
    return getattr(error.orig, "sqlstate", None)
