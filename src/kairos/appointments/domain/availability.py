"""What a bookable resource offers and what already takes its time: plain values a repository stores as they are.

A ``Schedule`` says when one resource (a professional, a room, a device) works at one location, in the
wall-clock time of its IANA ``zone``. Each ``RecurringPeriod`` is an RFC 5545 recurrence rule plus a
local start time and a duration, the same shape as an RFC 7953 AVAILABLE component (DTSTART, DURATION,
RRULE): ``RecurringPeriod("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", time(9), timedelta(hours=8))`` is "weekdays
09:00–17:00". The rule's DTSTART is the schedule's first valid day at that start time, in the schedule's
zone, so INTERVAL and COUNT count from ``valid_from`` and an UNTIL must be written in UTC (RFC 5545
§3.3.10). The time of day comes from ``start_time`` only, so rules may not carry BYHOUR, BYMINUTE or
BYSECOND, nor a frequency below a day. A duration is measured on the wall clock: 22:00 + 8 h ends at 06:00
local, also on the nights the clocks change.

How the parts combine into bookable time:
    (working hours − breaks − days off) ∪ extra hours, within the validity period.
Days off and breaks take time out of the recurring working hours; extra hours are one-off hours that
are worked as written, even on a day off (a closed week with one morning of consultations is a
``DaysOff`` for the week and an ``ExtraHours`` for the morning, which is also how one date's hours are
overridden).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rruleset, rrulestr

from kairos.appointments.domain.timeline import Span, start_of_day, wall_clock_to_utc

NO_TIME = timedelta(0)
END_OF_TIME = datetime.max.replace(tzinfo=UTC)
ONE_DAY = timedelta(days=1)
_SUB_DAILY_FREQUENCIES = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
_TIME_OF_DAY_PARTS = frozenset({"BYHOUR", "BYMINUTE", "BYSECOND"})


class InvalidAvailability(ValueError):
    """A schedule, appointment type, busy time or search that cannot mean anything."""


class InvalidRecurrence(InvalidAvailability):
    pass


class InvalidSchedule(InvalidAvailability):
    pass


class InvalidAppointmentType(InvalidAvailability):
    pass


class InvalidBusyTime(InvalidAvailability):
    pass


def require_aware(name: str, value: datetime, error: type[InvalidAvailability]) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise error(f"{name} must be an aware datetime")


def zone_named(zone: str, error: type[InvalidAvailability]) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as unknown:
        raise error(f"unknown IANA time zone {zone!r}") from unknown


@dataclass(frozen=True)
class RecurringPeriod:
    """Time that comes back by an RFC 5545 rule: starts at ``start_time`` local, lasts ``duration``."""

    rule: str
    start_time: time
    duration: timedelta

    def __post_init__(self) -> None:
        text = self.rule.strip()
        if not text or "\n" in text or "\r" in text or "DTSTART" in text.upper():
            raise InvalidRecurrence("a period takes one RRULE; its DTSTART comes from the schedule")
        parts: dict[str, str] = {}
        for part in text.upper().removeprefix("RRULE:").split(";"):
            name, _, value = part.partition("=")
            parts[name] = value
        if parts.get("FREQ") in _SUB_DAILY_FREQUENCIES:
            raise InvalidRecurrence("working time recurs at most daily; the time of day is the start time")
        if _TIME_OF_DAY_PARTS & parts.keys():
            raise InvalidRecurrence("BYHOUR, BYMINUTE and BYSECOND are not used: the start time gives the time")
        try:
            rrulestr(text, dtstart=datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC")))
        except (ValueError, TypeError) as invalid:
            raise InvalidRecurrence(f"not an RFC 5545 recurrence rule: {self.rule!r} ({invalid})") from invalid
        if self.start_time.tzinfo is not None:
            raise InvalidRecurrence("the start time is wall-clock time in the schedule's zone, without a zone")
        if self.duration <= NO_TIME:
            raise InvalidRecurrence("a period lasts a positive time")

    def starts_between(self, *, first_day: date, zone: ZoneInfo, after: datetime, before: datetime) -> list[datetime]:
        """Wall-clock starts (naive) of the occurrences from ``after`` to ``before`` inclusive (naive, local)."""
        recurrence = _recurrence(self.rule.strip(), datetime.combine(first_day, self.start_time), zone)
        return [
            start.replace(tzinfo=None)
            for start in recurrence.between(after.replace(tzinfo=zone), before.replace(tzinfo=zone), inc=True)
        ]


@lru_cache(maxsize=4096)
def _recurrence(rule: str, local_dtstart: datetime, zone: ZoneInfo) -> rrule | rruleset:
    # A rule is expanded from its DTSTART on; keeping the expanded occurrences (dateutil's own cache,
    # guarded by its lock) spares every later search of a long-lived schedule the walk from its first day.
    # The key holds the wall-clock DTSTART and the zone apart: aware datetimes hash by instant, and the
    # same instant in two zones is two different rules.
    return rrulestr(rule, dtstart=local_dtstart.replace(tzinfo=zone), cache=True)


@dataclass(frozen=True)
class ExtraHours:
    """One-off working time on a given day, worked as written (days off and breaks do not remove it)."""

    day: date
    start_time: time
    duration: timedelta

    def __post_init__(self) -> None:
        if self.start_time.tzinfo is not None:
            raise InvalidSchedule("the start time is wall-clock time in the schedule's zone, without a zone")
        if self.duration <= NO_TIME:
            raise InvalidSchedule("extra hours last a positive time")

    def span(self, zone: ZoneInfo) -> Span:
        starts = datetime.combine(self.day, self.start_time)
        return wall_clock_to_utc(starts, zone), wall_clock_to_utc(starts + self.duration, zone)


@dataclass(frozen=True)
class DaysOff:
    """Whole local days without recurring working hours, ``first_day`` to ``last_day`` inclusive."""

    first_day: date
    last_day: date

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise InvalidSchedule("days off end on or after their first day")

    def span(self, zone: ZoneInfo) -> Span:
        return start_of_day(self.first_day, zone), start_of_day(self.last_day + ONE_DAY, zone)


@dataclass(frozen=True)
class Schedule:
    """When one resource can be booked at one location, from ``valid_from`` to ``valid_until`` inclusive."""

    id: UUID
    resource_id: UUID
    location_id: UUID
    zone: str
    valid_from: date
    working_hours: tuple[RecurringPeriod, ...]
    breaks: tuple[RecurringPeriod, ...] = ()
    days_off: tuple[DaysOff, ...] = ()
    extra_hours: tuple[ExtraHours, ...] = ()
    valid_until: date | None = None

    def __post_init__(self) -> None:
        zone_named(self.zone, InvalidSchedule)
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise InvalidSchedule("a schedule is valid until a day on or after it starts")

    @property
    def time_zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def validity(self) -> Span:
        zone = self.time_zone
        starts = start_of_day(self.valid_from, zone)
        if self.valid_until is None:
            return starts, END_OF_TIME
        return starts, start_of_day(self.valid_until + ONE_DAY, zone)


@dataclass(frozen=True)
class AppointmentType:
    """How an appointment of one kind is booked on a resource.

    Slots start every ``start_every`` (``None``: every ``duration``, back to back), counted on the wall
    clock from the start of each stretch of bookable time. ``daily_limit`` and ``weekly_limit`` count
    sessions of this type per resource, per local day and per ISO week (Monday first) in the schedule's
    zone. With ``capacity`` above one a session is shared: further parties join the same start.
    """

    code: str
    duration: timedelta
    buffer_before: timedelta = NO_TIME
    buffer_after: timedelta = NO_TIME
    minimum_notice: timedelta = NO_TIME
    booking_horizon: timedelta | None = None
    daily_limit: int | None = None
    weekly_limit: int | None = None
    capacity: int = 1
    start_every: timedelta | None = None

    def __post_init__(self) -> None:
        if self.duration <= NO_TIME:
            raise InvalidAppointmentType("an appointment lasts a positive time")
        if min(self.buffer_before, self.buffer_after, self.minimum_notice) < NO_TIME:
            raise InvalidAppointmentType("buffers and notice cannot be negative")
        if self.booking_horizon is not None and self.booking_horizon <= NO_TIME:
            raise InvalidAppointmentType("a booking horizon lies in the future")
        if any(limit is not None and limit < 1 for limit in (self.daily_limit, self.weekly_limit)):
            raise InvalidAppointmentType("a daily or weekly limit allows at least one appointment")
        if self.capacity < 1:
            raise InvalidAppointmentType("a session has room for at least one party")
        if self.start_every is not None and self.start_every <= NO_TIME:
            raise InvalidAppointmentType("slots start at a positive interval")

    @property
    def slot_step(self) -> timedelta:
        return self.start_every or self.duration

    @property
    def is_group(self) -> bool:
        return self.capacity > 1


def _check_busy_span(starts_at: datetime, ends_at: datetime) -> None:
    require_aware("starts_at", starts_at, InvalidBusyTime)
    require_aware("ends_at", ends_at, InvalidBusyTime)
    if ends_at <= starts_at:
        raise InvalidBusyTime("busy time ends after it starts")


def _check_seats_and_buffers(party_size: int, buffer_before: timedelta, buffer_after: timedelta) -> None:
    if party_size < 1:
        raise InvalidBusyTime("a party has at least one person")
    if min(buffer_before, buffer_after) < NO_TIME:
        raise InvalidBusyTime("buffers cannot be negative")


@dataclass(frozen=True)
class Booking:
    """An existing appointment on the resource, with its type's buffers and the seats its party takes.

    ``starts_at - buffer_before`` and ``ends_at + buffer_after`` are the appointments table's
    ``blocked_from`` and ``blocked_until``.
    """

    starts_at: datetime
    ends_at: datetime
    appointment_type: str
    party_size: int = 1
    buffer_before: timedelta = NO_TIME
    buffer_after: timedelta = NO_TIME

    def __post_init__(self) -> None:
        _check_busy_span(self.starts_at, self.ends_at)
        _check_seats_and_buffers(self.party_size, self.buffer_before, self.buffer_after)


@dataclass(frozen=True)
class Hold:
    """A slot reserved while a form is filled in; it takes no time once ``expires_at`` has passed."""

    starts_at: datetime
    ends_at: datetime
    appointment_type: str
    expires_at: datetime
    party_size: int = 1
    buffer_before: timedelta = NO_TIME
    buffer_after: timedelta = NO_TIME

    def __post_init__(self) -> None:
        _check_busy_span(self.starts_at, self.ends_at)
        require_aware("expires_at", self.expires_at, InvalidBusyTime)
        _check_seats_and_buffers(self.party_size, self.buffer_before, self.buffer_after)

    def is_live(self, now: datetime) -> bool:
        return self.expires_at > now


@dataclass(frozen=True)
class ImportedBusyTime:
    """Time an external calendar (an iCalendar feed or file) marks busy."""

    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        _check_busy_span(self.starts_at, self.ends_at)


Busy = Booking | Hold | ImportedBusyTime
