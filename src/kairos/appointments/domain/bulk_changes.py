"""Bulk availability changes: one change (a holiday for the whole practice, extra hours on some dates, new weekly
hours from a date) computed over many resources' schedules, with what it does to each and which existing
appointments would then lie outside the working time.

Pure: schedules and appointments in, schedules and a preview out. The use case (``bulk_changes.py``) loads
them, stores the previous schedules with the change, and writes the new ones, or nothing for a preview.

Each change is said in the resource's own wall-clock days (its schedule's zone), so "close 24 December"
closes that local day whatever its length on a daylight-saving night.
- ``CloseDates``: whole local days become days off, and extra hours on them are removed (extra hours are
  otherwise worked even on a day off, see ``availability``), so the resource is closed on those days.
- ``AddHours``: the same one-off hours on each date, as extra hours (worked even on a day off).
- ``ReplaceWeeklyHours``: new recurring working hours (and breaks, when given) from a date on. A schedule has
  one set of rules counted from its ``valid_from``, so a change from a later date keeps the days before it as
  they were by writing their current working time as extra hours, takes those days off the new rules, and
  starts the schedule today (rules with INTERVAL or COUNT then count from today).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from kairos.appointments.domain.availability import (
    NO_TIME,
    ONE_DAY,
    DaysOff,
    ExtraHours,
    InvalidAvailability,
    RecurringPeriod,
    Schedule,
)
from kairos.appointments.domain.timeline import (
    Span,
    SpanSet,
    clipped,
    merged,
    start_of_day,
    utc_to_wall_clock,
    wall_clock_to_utc,
)

MAX_DATES = 366  # dates one change names
FURTHEST_START = timedelta(days=400)  # how far ahead new weekly hours may start
PREVIEW_WEEK = timedelta(days=7)  # the working time shown for new weekly hours: their first week
_REACH_MARGIN = ONE_DAY  # wall clock and UTC differ by less than a day in any zone


class InvalidBulkChange(InvalidAvailability):
    """A bulk change that cannot mean anything (no dates, too many, a start too far ahead…)."""


@dataclass(frozen=True)
class CloseDates:
    days: tuple[DaysOff, ...]

    def __post_init__(self) -> None:
        if not self.days:
            raise InvalidBulkChange("name at least one day to close")
        if sum((days.last_day - days.first_day).days + 1 for days in self.days) > MAX_DATES:
            raise InvalidBulkChange(f"close at most {MAX_DATES} days at once")


@dataclass(frozen=True)
class AddHours:
    days: tuple[date, ...]
    start_time: time
    duration: timedelta

    def __post_init__(self) -> None:
        if not self.days:
            raise InvalidBulkChange("name at least one date for the extra hours")
        if len(set(self.days)) > MAX_DATES:
            raise InvalidBulkChange(f"add hours on at most {MAX_DATES} dates at once")
        ExtraHours(self.days[0], self.start_time, self.duration)  # the same checks as one date's extra hours


@dataclass(frozen=True)
class ReplaceWeeklyHours:
    starting: date
    working_hours: tuple[RecurringPeriod, ...]
    breaks: tuple[RecurringPeriod, ...] | None = None  # None: the breaks stay as they are

    def __post_init__(self) -> None:
        if not self.working_hours:
            raise InvalidBulkChange("new weekly hours need at least one period")


Change = CloseDates | AddHours | ReplaceWeeklyHours


@dataclass(frozen=True)
class ScheduledAppointment:
    """An appointment that holds the resource's time (the practice decides what becomes of a conflict)."""

    id: UUID
    resource_id: UUID
    starts_at: datetime
    ends_at: datetime
    status: str


@dataclass(frozen=True)
class ResourcePreview:
    resource_id: UUID
    before: Schedule
    after: Schedule
    window: Span  # the time the change is about, for the working time shown
    working_before: tuple[Span, ...]
    working_after: tuple[Span, ...]
    conflicts: tuple[ScheduledAppointment, ...]

    @property
    def is_changed(self) -> bool:
        return self.before != self.after

    @property
    def time_before(self) -> timedelta:
        return sum((end - start for start, end in self.working_before), NO_TIME)

    @property
    def time_after(self) -> timedelta:
        return sum((end - start for start, end in self.working_after), NO_TIME)


def changed_schedule(schedule: Schedule, change: Change, *, now: datetime) -> Schedule:
    """The schedule as the change leaves it."""
    if isinstance(change, CloseDates):
        closed = [days for days in change.days if not _already_off(schedule.days_off, days)]
        return dataclasses.replace(
            schedule,
            days_off=schedule.days_off + tuple(closed),
            extra_hours=tuple(
                hours for hours in schedule.extra_hours if not any(_within(hours.day, days) for days in change.days)
            ),
        )
    if isinstance(change, AddHours):
        added = [ExtraHours(day, change.start_time, change.duration) for day in sorted(set(change.days))]
        return dataclasses.replace(
            schedule,
            extra_hours=schedule.extra_hours + tuple(hours for hours in added if hours not in schedule.extra_hours),
        )
    return _with_weekly_hours(schedule, change, today=now.astimezone(schedule.time_zone).date())


def _with_weekly_hours(schedule: Schedule, change: ReplaceWeeklyHours, *, today: date) -> Schedule:
    if change.starting - today > FURTHEST_START:
        raise InvalidBulkChange(f"new weekly hours start within {FURTHEST_START.days} days")
    breaks = schedule.breaks if change.breaks is None else change.breaks
    if change.starting <= max(schedule.valid_from, today):
        # Nothing bookable lies between: the new rules simply take over (from the later of the two days).
        return dataclasses.replace(
            schedule,
            valid_from=max(schedule.valid_from, change.starting),
            working_hours=change.working_hours,
            breaks=breaks,
        )
    first = max(schedule.valid_from, today)
    zone = schedule.time_zone
    kept = recurring_working_time(schedule, (start_of_day(first, zone), start_of_day(change.starting, zone)))
    as_extra_hours = []
    for start, end in kept:
        local_start, local_end = utc_to_wall_clock(start, zone), utc_to_wall_clock(end, zone)
        as_extra_hours.append(ExtraHours(local_start.date(), local_start.time(), local_end - local_start))
    return dataclasses.replace(
        schedule,
        valid_from=first,
        working_hours=change.working_hours,
        breaks=breaks,
        days_off=(*schedule.days_off, DaysOff(first, change.starting - ONE_DAY)),
        extra_hours=schedule.extra_hours + tuple(as_extra_hours),
    )


def affected_window(schedule: Schedule, change: Change) -> Span:
    """The stretch of time the change is about, as instants: its local days (a week for new weekly hours)."""
    zone = schedule.time_zone
    if isinstance(change, CloseDates):
        first, last = min(d.first_day for d in change.days), max(d.last_day for d in change.days)
    elif isinstance(change, AddHours):
        first, last = min(change.days), max(change.days)
        # Extra hours may run past midnight: the window covers them too.
        last = max(last, max(datetime.combine(day, change.start_time) + change.duration for day in change.days).date())
    else:
        starts = start_of_day(change.starting, zone)
        return starts, wall_clock_to_utc(utc_to_wall_clock(starts, zone) + PREVIEW_WEEK, zone)
    return start_of_day(first, zone), start_of_day(last + ONE_DAY, zone)


def working_time(schedule: Schedule, window: Span) -> list[Span]:
    """Bookable time within ``window``: (working hours − breaks − days off) ∪ extra hours, in the validity."""
    zone, validity = schedule.time_zone, schedule.validity()
    extra = [span for hours in schedule.extra_hours if (span := clipped(hours.span(zone), validity))]
    return [
        part for span in merged(recurring_working_time(schedule, window) + extra) if (part := clipped(span, window))
    ]


def recurring_working_time(schedule: Schedule, window: Span) -> list[Span]:
    """The recurring part of the bookable time within ``window``: working hours less breaks and days off."""
    zone, validity = schedule.time_zone, schedule.validity()
    hours_reach = max((period.duration for period in schedule.working_hours), default=NO_TIME)
    breaks_reach = max((period.duration for period in schedule.breaks), default=NO_TIME)
    after = utc_to_wall_clock(window[0], zone) - hours_reach - _REACH_MARGIN
    before = utc_to_wall_clock(window[1], zone) + _REACH_MARGIN

    def occurrences(periods: Iterable[RecurringPeriod], after: datetime, before: datetime) -> list[Span]:
        spans = []
        for period in periods:
            for local in period.starts_between(first_day=schedule.valid_from, zone=zone, after=after, before=before):
                span = clipped(
                    (wall_clock_to_utc(local, zone), wall_clock_to_utc(local + period.duration, zone)), validity
                )
                if span:
                    spans.append(span)
        return spans

    working = occurrences(schedule.working_hours, after, before)
    closed = SpanSet(
        occurrences(schedule.breaks, after - breaks_reach, before + hours_reach)
        + [days.span(zone) for days in schedule.days_off]
    )
    pieces = [piece for span in working for piece in closed.subtracted_from(span)]
    return [part for span in merged(pieces) if (part := clipped(span, window))]


def preview(
    schedule: Schedule, change: Change, appointments: Sequence[ScheduledAppointment], *, now: datetime
) -> ResourcePreview:
    """What the change does to one resource: its working time before and after, and the appointments (of those
    given, which the caller loads for the affected time) that the working time after would no longer cover."""
    after = changed_schedule(schedule, change, now=now)
    window = affected_window(schedule, change)
    conflicts: tuple[ScheduledAppointment, ...] = ()
    if appointments:
        span = (min(a.starts_at for a in appointments), max(a.ends_at for a in appointments))
        covered = SpanSet(working_time(after, span))
        conflicts = tuple(
            appointment
            for appointment in sorted(appointments, key=lambda a: (a.starts_at, a.id))
            if not covered.covers(appointment.starts_at, appointment.ends_at)
        )
    return ResourcePreview(
        resource_id=schedule.resource_id,
        before=schedule,
        after=after,
        window=window,
        working_before=tuple(working_time(schedule, window)),
        working_after=tuple(working_time(after, window)),
        conflicts=conflicts,
    )


def conflict_window(schedule: Schedule, change: Change) -> Span:
    """Where appointments may conflict with the change: its days, or everything from new weekly hours' start."""
    window = affected_window(schedule, change)
    if isinstance(change, ReplaceWeeklyHours):
        return window[0], window[0] + FURTHEST_START + FURTHEST_START
    return window


def _within(day: date, days: DaysOff) -> bool:
    return days.first_day <= day <= days.last_day


def _already_off(days_off: Iterable[DaysOff], closing: DaysOff) -> bool:
    return any(off.first_day <= closing.first_day and closing.last_day <= off.last_day for off in days_off)
