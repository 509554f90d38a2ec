"""Valid schedules, appointment types and busy times in one call, and short ways to name local times."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from kairos.appointments.domain.availability import (
    AppointmentType,
    Booking,
    Busy,
    DaysOff,
    ExtraHours,
    Hold,
    RecurringPeriod,
    Schedule,
)
from kairos.appointments.domain.slots import Explanation, Slot, explain, find_slots

PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"
MINUTES = timedelta(minutes=1)
HOURS = timedelta(hours=1)
DAYS = timedelta(days=1)
LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)
_numbers = count(1)

WEEKDAYS_9_TO_17 = RecurringPeriod("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", time(9), 8 * HOURS)
EVERY_NIGHT_0_TO_6 = RecurringPeriod("FREQ=DAILY", time(0), 6 * HOURS)
LUNCH_12_TO_1245 = RecurringPeriod("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", time(12), 45 * MINUTES)


def at(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)


def schedule(
    *,
    zone: str = PARIS,
    working_hours: Iterable[RecurringPeriod] = (WEEKDAYS_9_TO_17,),
    breaks: Iterable[RecurringPeriod] = (),
    days_off: Iterable[DaysOff] = (),
    extra_hours: Iterable[ExtraHours] = (),
    valid_from: date = date(2025, 1, 1),
    valid_until: date | None = None,
    resource_id: UUID | None = None,
) -> Schedule:
    return Schedule(
        id=uuid4(),
        resource_id=resource_id or uuid4(),
        location_id=uuid4(),
        zone=zone,
        valid_from=valid_from,
        valid_until=valid_until,
        working_hours=tuple(working_hours),
        breaks=tuple(breaks),
        days_off=tuple(days_off),
        extra_hours=tuple(extra_hours),
    )


def consultation(**rules: Any) -> AppointmentType:
    """A 30-minute appointment type, with any rule overridden."""
    return AppointmentType(**({"code": f"consultation-{next(_numbers)}", "duration": 30 * MINUTES} | rules))


def booking_of(kind: AppointmentType, starts_at: datetime, *, party_size: int = 1) -> Booking:
    """An existing appointment of ``kind``, with the buffers of ``kind``."""
    return Booking(
        starts_at=starts_at,
        ends_at=starts_at + kind.duration,
        appointment_type=kind.code,
        party_size=party_size,
        buffer_before=kind.buffer_before,
        buffer_after=kind.buffer_after,
    )


def hold_of(kind: AppointmentType, starts_at: datetime, *, expires_at: datetime, party_size: int = 1) -> Hold:
    return Hold(
        starts_at=starts_at,
        ends_at=starts_at + kind.duration,
        appointment_type=kind.code,
        expires_at=expires_at,
        party_size=party_size,
        buffer_before=kind.buffer_before,
        buffer_after=kind.buffer_after,
    )


def slots_between(
    where: Schedule,
    kind: AppointmentType,
    start: datetime,
    end: datetime,
    busy: Iterable[Busy] = (),
    *,
    now: datetime = LONG_AGO,
    asker_zone: str | None = None,
    party_size: int = 1,
) -> list[Slot]:
    return find_slots(
        where,
        kind,
        tuple(busy),
        window_start=start,
        window_end=end,
        now=now,
        asker_zone=asker_zone or where.zone,
        party_size=party_size,
    )


def slots_on(
    where: Schedule, kind: AppointmentType, day: date, busy: Iterable[Busy] = (), **options: Any
) -> list[Slot]:
    zone = where.zone
    start = at(zone, day.year, day.month, day.day)
    end = at(zone, *_next(day))
    return slots_between(where, kind, start, end, busy, **options)


def local_times(slots: Iterable[Slot], zone: str | None = None) -> list[str]:
    """Slot starts as HH:MM on the wall clock of ``zone`` (the asker's zone of each slot by default)."""
    return [
        (slot.starts_at.astimezone(ZoneInfo(zone)) if zone else slot.local_starts_at).strftime("%H:%M")
        for slot in slots
    ]


def why(
    where: Schedule,
    kind: AppointmentType,
    starts_at: datetime,
    busy: Iterable[Busy] = (),
    *,
    now: datetime = LONG_AGO,
    party_size: int = 1,
) -> Explanation:
    return explain(where, kind, tuple(busy), starts_at=starts_at, now=now, party_size=party_size)


def _next(day: date) -> tuple[int, int, int]:
    following = day + DAYS
    return following.year, following.month, following.day
