"""Free slots of a resource for an appointment type, and why a given time is or is not offered.

A time is offered when every rule below holds; ``explain`` names each rule that fails, and
``find_slots`` offers exactly the times ``explain`` calls bookable (both go through ``_SlotRules``).

- **Grid** (``misaligned``): slots start every ``slot_step`` on the wall clock of the schedule's zone,
  counted from the start of each stretch of bookable time (a working-hours occurrence less its breaks
  and days off, or an extra-hours period), so a 09:00 slot stays 09:00 local across daylight-saving
  changes and the grid starts again after a break. A wall-clock time the clocks skip is not offered;
  one they show twice is offered once, at its first occurrence (``fold=0``, the earlier instant, in
  summer time), as RFC 5545 §3.3.5 reads an ambiguous local time. Its second occurrence is misaligned.
- **Hours** (``outside_hours``, ``day_off``, ``break``): the appointment lies within bookable time; a
  day off or break is named when it takes away working hours the appointment would need.
- **Notice and horizon** (``notice``, ``beyond_horizon``): ``now + minimum_notice <= starts_at <=
  now + booking_horizon``.
- **Busy time** (``booked``, ``busy_elsewhere``, ``held``, ``buffer``, ``full``): the appointment
  overlaps no booking, imported busy time (an external calendar's: ``busy_elsewhere``) or live hold,
  and its blocked time (the appointment with its type's buffers) overlaps no other blocked time (a
  booking's or hold's with its own buffers; imported busy time as it is). Buffers therefore add up
  between two appointments: the rule the appointments table's exclusion constraint enforces on
  ``blocked_from``/``blocked_until``, so a slot offered here is not refused there for its buffers.
  Bookings and holds of the same group type (capacity > 1) at the same start and end are the same
  session: they take seats instead of conflicting, and the session is ``full`` when the asking party
  does not fit.
- **Limits** (``daily_limit``, ``weekly_limit``): sessions of the type already booked or held on the
  slot's local day, or in its ISO week, in the schedule's zone, stay below the limit. Joining an
  existing group session adds no session.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from kairos.appointments.domain.availability import (
    NO_TIME,
    ONE_DAY,
    AppointmentType,
    Booking,
    Busy,
    Hold,
    ImportedBusyTime,
    InvalidAvailability,
    RecurringPeriod,
    Schedule,
    require_aware,
    zone_named,
)
from kairos.appointments.domain.timeline import (
    OverlapIndex,
    Span,
    SpanSet,
    clipped,
    exists_on_wall_clock,
    steps,
    utc_to_wall_clock,
    wall_clock_to_utc,
)

SMALLEST_STEP = timedelta(microseconds=1)
# Wall-clock and UTC arithmetic disagree by at most a daylight-saving gap; a day of margin covers any zone.
MARGIN = ONE_DAY


class InvalidSlotQuery(InvalidAvailability):
    pass


class NonexistentLocalTime(InvalidSlotQuery):
    """The time asked about is one the clocks of its zone skip when they go forward."""


class Reason(StrEnum):
    """Why a time is not offered; an ``Explanation`` lists them in this order."""

    OUTSIDE_HOURS = "outside_hours"
    DAY_OFF = "day_off"
    BREAK = "break"
    MISALIGNED = "misaligned"
    NOTICE = "notice"
    BEYOND_HORIZON = "beyond_horizon"
    BOOKED = "booked"
    BUSY_ELSEWHERE = "busy_elsewhere"  # busy in an imported external calendar
    HELD = "held"
    FULL = "full"
    BUFFER = "buffer"
    DAILY_LIMIT = "daily_limit"
    WEEKLY_LIMIT = "weekly_limit"


@dataclass(frozen=True, order=True)
class Slot:
    """A bookable time: ``starts_at``/``ends_at`` in UTC, presented in the asker's ``zone``."""

    starts_at: datetime
    ends_at: datetime
    resource_id: UUID
    location_id: UUID
    seats_left: int
    zone: str

    @property
    def local_starts_at(self) -> datetime:
        return self.starts_at.astimezone(ZoneInfo(self.zone))

    @property
    def local_ends_at(self) -> datetime:
        return self.ends_at.astimezone(ZoneInfo(self.zone))


@dataclass(frozen=True)
class Explanation:
    starts_at: datetime
    ends_at: datetime
    reasons: tuple[Reason, ...]

    @property
    def is_bookable(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class ResourceAvailability:
    """One schedule of a resource with everything that takes that resource's time."""

    schedule: Schedule
    busy: tuple[Busy, ...]


def find_slots(
    schedule: Schedule,
    appointment_type: AppointmentType,
    busy: Iterable[Busy],
    *,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    asker_zone: str,
    party_size: int = 1,
) -> list[Slot]:
    """Every bookable slot starting in ``[window_start, window_end)``, in time order."""
    for name, value in (("window_start", window_start), ("window_end", window_end), ("now", now)):
        require_aware(name, value, InvalidSlotQuery)
    zone_named(asker_zone, InvalidSlotQuery)
    window = (window_start.astimezone(UTC), window_end.astimezone(UTC))
    if window[1] <= window[0]:
        return []
    rules = _SlotRules(schedule, appointment_type, busy, now=now, party_size=party_size, covering=window)
    slots = []
    for starts_at in rules.starts_within(window):
        reasons, seats_left = rules.assess(starts_at)
        if not reasons:
            slots.append(
                Slot(
                    starts_at=starts_at,
                    ends_at=starts_at + appointment_type.duration,
                    resource_id=schedule.resource_id,
                    location_id=schedule.location_id,
                    seats_left=seats_left,
                    zone=asker_zone,
                )
            )
    return slots


def find_slots_across(
    resources: Iterable[ResourceAvailability],
    appointment_type: AppointmentType,
    *,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    asker_zone: str,
    party_size: int = 1,
) -> list[Slot]:
    """Slots of any of the given resources ("any suitable professional"), by time, then resource."""
    found = {
        slot
        for resource in resources
        for slot in find_slots(
            resource.schedule,
            appointment_type,
            resource.busy,
            window_start=window_start,
            window_end=window_end,
            now=now,
            asker_zone=asker_zone,
            party_size=party_size,
        )
    }
    return sorted(found)


def explain(
    schedule: Schedule,
    appointment_type: AppointmentType,
    busy: Iterable[Busy],
    *,
    starts_at: datetime,
    now: datetime,
    party_size: int = 1,
) -> Explanation:
    """Whether an appointment starting at ``starts_at`` is offered, and every reason it is not."""
    require_aware("starts_at", starts_at, InvalidSlotQuery)
    require_aware("now", now, InvalidSlotQuery)
    instant = starts_at.astimezone(UTC)
    if instant.astimezone(starts_at.tzinfo).replace(tzinfo=None) != starts_at.replace(tzinfo=None):
        raise NonexistentLocalTime(f"{starts_at.replace(tzinfo=None)} does not exist in {starts_at.tzinfo}")
    asked = (instant, instant + SMALLEST_STEP)
    rules = _SlotRules(schedule, appointment_type, busy, now=now, party_size=party_size, covering=asked)
    reasons, _ = rules.assess(instant)
    if rules.is_open_at(instant) and instant not in rules.starts_within(asked):
        reasons.add(Reason.MISALIGNED)
    return Explanation(
        starts_at=instant,
        ends_at=instant + appointment_type.duration,
        reasons=tuple(reason for reason in Reason if reason in reasons),
    )


class _SlotRules:
    """The rules of one search, prepared once for the stretch of time it covers."""

    def __init__(
        self,
        schedule: Schedule,
        appointment_type: AppointmentType,
        busy: Iterable[Busy],
        *,
        now: datetime,
        party_size: int,
        covering: Span,
    ) -> None:
        if party_size < 1:
            raise InvalidSlotQuery("a party has at least one person")
        self._zone = zone = schedule.time_zone
        self._type = appointment_type
        self._now = now.astimezone(UTC)
        self._party_size = party_size

        hours_reach = max((period.duration for period in schedule.working_hours), default=NO_TIME)
        breaks_reach = max((period.duration for period in schedule.breaks), default=NO_TIME)
        earliest = utc_to_wall_clock(covering[0], zone) - hours_reach - MARGIN
        latest = utc_to_wall_clock(covering[1] + appointment_type.duration, zone) + MARGIN
        validity = schedule.validity()

        def occurrences(periods: Iterable[RecurringPeriod], after: datetime, before: datetime) -> list[Span]:
            spans = []
            for period in periods:
                for local_start in period.starts_between(
                    first_day=schedule.valid_from, zone=zone, after=after, before=before
                ):
                    span = clipped(
                        (wall_clock_to_utc(local_start, zone), wall_clock_to_utc(local_start + period.duration, zone)),
                        validity,
                    )
                    if span:
                        spans.append(span)
            return spans

        working = occurrences(schedule.working_hours, earliest, latest)
        extra = [span for hours in schedule.extra_hours if (span := clipped(hours.span(zone), validity))]
        breaks = SpanSet(occurrences(schedule.breaks, earliest - breaks_reach - MARGIN, latest + hours_reach))
        days_off = SpanSet(days.span(zone) for days in schedule.days_off)
        worked = SpanSet(working)
        closed = SpanSet(breaks.spans + days_off.spans)

        self._hours = SpanSet(working + extra)
        self._extra = SpanSet(extra)
        self._days_off_in_hours = days_off.intersection(worked)
        self._breaks_in_hours = breaks.intersection(worked)
        self._stretches = [piece for span in working for piece in closed.subtracted_from(span)] + extra
        self._open = SpanSet(self._stretches)

        live = [item for item in busy if not isinstance(item, Hold) or item.is_live(now)]
        # Instants compared in one zone (UTC) compare as plain numbers; mixed zones would compute offsets.
        self._appointments = OverlapIndex((_in_utc(item.starts_at, item.ends_at), item) for item in live)
        self._blocked = OverlapIndex((_in_utc(*_blocked_span(item)), item) for item in live)
        self._seats_taken: dict[Span, int] = defaultdict(int)
        self._sessions_by_day: dict[date, set[Span]] = defaultdict(set)
        self._sessions_by_week: dict[tuple[int, int], set[Span]] = defaultdict(set)
        for item in live:
            if isinstance(item, ImportedBusyTime) or item.appointment_type != appointment_type.code:
                continue
            session = _in_utc(item.starts_at, item.ends_at)
            if appointment_type.is_group:
                self._seats_taken[session] += item.party_size
            local_day = item.starts_at.astimezone(zone).date()
            self._sessions_by_day[local_day].add(session)
            self._sessions_by_week[_iso_week(local_day)].add(session)

    def starts_within(self, window: Span) -> list[datetime]:
        """The grid: wall-clock steps from the start of each stretch of bookable time, inside ``window``."""
        zone, step = self._zone, self._type.slot_step
        skip_before = utc_to_wall_clock(window[0], zone) - MARGIN
        starts: set[datetime] = set()
        for stretch_start, stretch_end in self._stretches:
            if stretch_end <= window[0] or stretch_start >= window[1]:
                continue
            for label in steps(utc_to_wall_clock(stretch_start, zone), step, skip_before=skip_before):
                if not exists_on_wall_clock(label, zone):
                    continue
                starts_at = wall_clock_to_utc(label, zone)
                if starts_at >= stretch_end or starts_at >= window[1]:
                    break
                if starts_at >= max(window[0], stretch_start):
                    starts.add(starts_at)
        return sorted(starts)

    def is_open_at(self, instant: datetime) -> bool:
        return self._open.contains(instant)

    def assess(self, starts_at: datetime) -> tuple[set[Reason], int]:
        """Every rule other than the grid that rules ``starts_at`` out, and the seats left in its session."""
        kind = self._type
        ends_at = starts_at + kind.duration
        reasons: set[Reason] = set()

        if not self._hours.covers(starts_at, ends_at):
            reasons.add(Reason.OUTSIDE_HOURS)
        if self._takes_hours_away(self._days_off_in_hours, starts_at, ends_at):
            reasons.add(Reason.DAY_OFF)
        if self._takes_hours_away(self._breaks_in_hours, starts_at, ends_at):
            reasons.add(Reason.BREAK)

        if starts_at < self._now + kind.minimum_notice:
            reasons.add(Reason.NOTICE)
        if kind.booking_horizon is not None and starts_at > self._now + kind.booking_horizon:
            reasons.add(Reason.BEYOND_HORIZON)

        def is_other_session(item: Busy) -> bool:
            return not (
                kind.is_group
                and not isinstance(item, ImportedBusyTime)
                and item.appointment_type == kind.code
                and item.starts_at == starts_at
                and item.ends_at == ends_at
            )

        def is_booked(item: Busy) -> bool:
            return isinstance(item, Booking) and is_other_session(item)

        def is_busy_elsewhere(item: Busy) -> bool:
            return isinstance(item, ImportedBusyTime)

        def is_held(item: Busy) -> bool:
            return isinstance(item, Hold) and is_other_session(item)

        def is_apart_but_too_close(item: Busy) -> bool:
            return is_other_session(item) and not (item.starts_at < ends_at and starts_at < item.ends_at)

        if self._appointments.any_overlapping(starts_at, ends_at, is_booked):
            reasons.add(Reason.BOOKED)
        if self._appointments.any_overlapping(starts_at, ends_at, is_busy_elsewhere):
            reasons.add(Reason.BUSY_ELSEWHERE)
        if self._appointments.any_overlapping(starts_at, ends_at, is_held):
            reasons.add(Reason.HELD)
        seats_taken = self._seats_taken.get((starts_at, ends_at), 0)
        if seats_taken + self._party_size > kind.capacity:
            reasons.add(Reason.FULL)
        blocked_from, blocked_until = starts_at - kind.buffer_before, ends_at + kind.buffer_after
        if self._blocked.any_overlapping(blocked_from, blocked_until, is_apart_but_too_close):
            reasons.add(Reason.BUFFER)

        if seats_taken == 0:
            local_day = starts_at.astimezone(self._zone).date()
            if kind.daily_limit is not None and len(self._sessions_by_day.get(local_day, ())) >= kind.daily_limit:
                reasons.add(Reason.DAILY_LIMIT)
            week = _iso_week(local_day)
            if kind.weekly_limit is not None and len(self._sessions_by_week.get(week, ())) >= kind.weekly_limit:
                reasons.add(Reason.WEEKLY_LIMIT)
        return reasons, kind.capacity - seats_taken

    def _takes_hours_away(self, removed: SpanSet, starts_at: datetime, ends_at: datetime) -> bool:
        return any(not self._extra.covers(*part) for part in removed.parts_within(starts_at, ends_at))


def _blocked_span(item: Busy) -> Span:
    if isinstance(item, ImportedBusyTime):
        return item.starts_at, item.ends_at
    return item.starts_at - item.buffer_before, item.ends_at + item.buffer_after


def _in_utc(starts_at: datetime, ends_at: datetime) -> Span:
    return starts_at.astimezone(UTC), ends_at.astimezone(UTC)


def _iso_week(day: date) -> tuple[int, int]:
    year, week, _ = day.isocalendar()
    return year, week
