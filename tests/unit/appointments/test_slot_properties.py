"""Properties of the slot engine for arbitrary schedules, appointment types and busy times (Hypothesis).

The checks below do not reuse the engine's machinery: working time is recomputed by brute force
(every rule occurrence as its own span, every five-minute instant of a slot tested against all of
them), conflicts by comparing each slot with each busy item. Every boundary the strategies produce is
a multiple of five minutes in UTC (the zones' offsets are multiples of half an hour), so testing the
five-minute instants of a slot decides exactly whether all of it is bookable.

Zones are chosen for their awkward changes: Paris and New York, Santiago (clocks change at midnight,
so some days have no 00:00), Lord Howe Island (a half-hour change), Kolkata (no change, a half-hour
offset) and UTC; windows start up to two days before one of the zone's changes of 2025.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kairos.appointments.domain.availability import (
    AppointmentType,
    Booking,
    Busy,
    DaysOff,
    ExtraHours,
    Hold,
    ImportedBusyTime,
    RecurringPeriod,
    Schedule,
)
from kairos.appointments.domain.slots import (
    ResourceAvailability,
    Slot,
    explain,
    find_slots,
    find_slots_across,
)

FIVE_MINUTES = timedelta(minutes=5)
# Each zone with the days its clocks change in 2025 (Kolkata and UTC never change).
CHANGES = {
    "Europe/Paris": [date(2025, 3, 30), date(2025, 10, 26)],
    "America/New_York": [date(2025, 3, 9), date(2025, 11, 2)],
    "America/Santiago": [date(2025, 4, 6), date(2025, 9, 7)],
    "Australia/Lord_Howe": [date(2025, 4, 6), date(2025, 10, 5)],
    "Asia/Kolkata": [date(2025, 6, 16)],
    "UTC": [date(2025, 6, 16)],
}
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Scenario:
    schedule: Schedule
    kind: AppointmentType
    busy: tuple[Busy, ...]
    window_start: datetime
    window_end: datetime
    now: datetime
    party_size: int

    def slots(self, window_start: datetime | None = None, window_end: datetime | None = None) -> list[Slot]:
        return find_slots(
            self.schedule,
            self.kind,
            self.busy,
            window_start=window_start or self.window_start,
            window_end=window_end or self.window_end,
            now=self.now,
            asker_zone="Pacific/Auckland",
            party_size=self.party_size,
        )

    def is_bookable(self, starts_at: datetime) -> bool:
        return explain(
            self.schedule, self.kind, self.busy, starts_at=starts_at, now=self.now, party_size=self.party_size
        ).is_bookable


def multiples_of_five_minutes(low: int, high: int) -> st.SearchStrategy[timedelta]:
    return st.integers(low // 5, high // 5).map(lambda fives: fives * FIVE_MINUTES)


@st.composite
def rules(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return "FREQ=DAILY"
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=3, max_size=7, unique=True))
    interval = draw(st.sampled_from(["", ";INTERVAL=2"]))
    return f"FREQ=WEEKLY{interval};BYDAY={','.join(days)}"


def usually_none(values: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), st.none(), values)


WALL_CLOCK_TIMES = st.builds(time, st.integers(0, 23), st.integers(0, 11).map(lambda fives: fives * 5))
WORKING_HOURS = st.lists(
    st.builds(RecurringPeriod, rules(), WALL_CLOCK_TIMES, multiples_of_five_minutes(60, 12 * 60)),
    min_size=1,
    max_size=3,
)
BREAKS = st.lists(st.builds(RecurringPeriod, rules(), WALL_CLOCK_TIMES, multiples_of_five_minutes(15, 120)), max_size=2)
DAYS_OFF = st.lists(st.tuples(st.integers(-1, 4), st.integers(0, 1)), max_size=2)
EXTRA_HOURS = st.lists(st.tuples(st.integers(-1, 4), WALL_CLOCK_TIMES, multiples_of_five_minutes(15, 300)), max_size=2)
APPOINTMENT_RULES = st.fixed_dictionaries(
    {
        "duration": multiples_of_five_minutes(10, 120),
        "buffer_before": multiples_of_five_minutes(0, 30),
        "buffer_after": multiples_of_five_minutes(0, 30),
        "minimum_notice": st.sampled_from([0, 15, 60, 24 * 60]).map(lambda minutes: timedelta(minutes=minutes)),
        "booking_horizon": usually_none(multiples_of_five_minutes(12 * 60, 5 * 24 * 60)),
        "daily_limit": usually_none(st.integers(1, 3)),
        "weekly_limit": usually_none(st.integers(1, 5)),
        "capacity": st.integers(1, 3),
        "start_every": st.none() | st.sampled_from([timedelta(minutes=minutes) for minutes in (5, 10, 15, 30, 60)]),
    }
)
# (what, start in five-minute steps from the window's start, length, of this type?, party, buffers, expiry)
BUSY_ITEMS = st.lists(
    st.tuples(
        st.sampled_from(["booking", "hold", "imported"]),
        st.integers(-24, 4 * 288 + 24),
        multiples_of_five_minutes(5, 120),
        st.booleans(),
        st.integers(1, 2),
        multiples_of_five_minutes(0, 30),
        multiples_of_five_minutes(0, 30),
        st.integers(-3, 3),
    ),
    max_size=12,
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone_name = draw(st.sampled_from(sorted(CHANGES)))
    zone = ZoneInfo(zone_name)
    first_day = draw(st.sampled_from(CHANGES[zone_name])) - timedelta(days=draw(st.integers(0, 2)))
    days = draw(st.integers(1, 4))
    window_start = datetime.combine(first_day, time(draw(st.integers(0, 23))), tzinfo=zone)
    window_end = window_start + timedelta(days=days)

    def day(offset: int) -> date:
        return first_day + timedelta(days=offset)

    schedule = Schedule(
        id=uuid4(),
        resource_id=uuid4(),
        location_id=uuid4(),
        zone=zone_name,
        valid_from=day(-draw(st.sampled_from([0, 1, 9, 30]))),
        valid_until=draw(st.none() | st.integers(0, 4).map(day)),
        working_hours=tuple(draw(WORKING_HOURS)),
        breaks=tuple(draw(BREAKS)),
        days_off=tuple(DaysOff(day(offset), day(offset + length)) for offset, length in draw(DAYS_OFF)),
        extra_hours=tuple(ExtraHours(day(offset), start, length) for offset, start, length in draw(EXTRA_HOURS)),
    )
    kind = AppointmentType(code="consultation", **draw(APPOINTMENT_RULES))
    now = window_start.astimezone(UTC) + draw(st.integers(-48, 12)) * 12 * FIVE_MINUTES

    busy: list[Busy] = []
    for what, start, length, is_this_type, party_size, before, after, expiry in draw(BUSY_ITEMS):
        starts_at = window_start.astimezone(UTC) + start * FIVE_MINUTES
        ends_at = starts_at + length
        type_code = kind.code if is_this_type else "other"
        if what == "imported":
            busy.append(ImportedBusyTime(starts_at=starts_at, ends_at=ends_at))
        elif what == "booking":
            busy.append(Booking(starts_at, ends_at, type_code, party_size, before, after))
        else:
            busy.append(Hold(starts_at, ends_at, type_code, now + expiry * 4 * FIVE_MINUTES, party_size, before, after))
    scenario = Scenario(schedule, kind, tuple(busy), window_start, window_end, now, draw(st.integers(1, 2)))

    # Bookings of the type at offered times: group sessions to join, limits to reach.
    offered = scenario.slots()
    if offered:
        for slot, party_size in draw(st.lists(st.tuples(st.sampled_from(offered), st.integers(1, 2)), max_size=4)):
            busy.append(
                Booking(slot.starts_at, slot.ends_at, kind.code, party_size, kind.buffer_before, kind.buffer_after)
            )
    return Scenario(schedule, kind, tuple(busy), window_start, window_end, now, scenario.party_size)


# --- the brute-force reading of a schedule ----------------------------------------------------------


def occurrence_spans(
    schedule: Schedule, periods: tuple[RecurringPeriod, ...], around: datetime
) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(schedule.zone)
    spans = []
    for period in periods:
        recurrence = rrulestr(
            period.rule, dtstart=datetime.combine(schedule.valid_from, period.start_time, tzinfo=zone)
        )
        local_around = around.astimezone(zone).replace(tzinfo=None)
        for start in recurrence.between(
            (local_around - timedelta(days=10)).replace(tzinfo=zone),
            (local_around + timedelta(days=10)).replace(tzinfo=zone),
        ):
            end = (start.replace(tzinfo=None) + period.duration).replace(tzinfo=zone)
            spans.append((start.astimezone(UTC), end.astimezone(UTC)))
    return spans


class BruteForceHours:
    def __init__(self, scenario: Scenario) -> None:
        schedule = scenario.schedule
        self.zone = ZoneInfo(schedule.zone)
        self.schedule = schedule
        self.working = occurrence_spans(schedule, schedule.working_hours, scenario.window_start)
        self.breaks = occurrence_spans(schedule, schedule.breaks, scenario.window_start)
        self.extra = [
            (
                datetime.combine(hours.day, hours.start_time, tzinfo=self.zone).astimezone(UTC),
                (datetime.combine(hours.day, hours.start_time) + hours.duration)
                .replace(tzinfo=self.zone)
                .astimezone(UTC),
            )
            for hours in schedule.extra_hours
        ]

    def is_bookable_instant(self, instant: datetime) -> bool:
        local_day = instant.astimezone(self.zone).date()
        valid = self.schedule.valid_from <= local_day and (
            self.schedule.valid_until is None or local_day <= self.schedule.valid_until
        )
        if not valid:
            return False
        if any(start <= instant < end for start, end in self.extra):
            return True
        return (
            any(start <= instant < end for start, end in self.working)
            and not any(start <= instant < end for start, end in self.breaks)
            and not any(days.first_day <= local_day <= days.last_day for days in self.schedule.days_off)
        )

    def holds_whole(self, slot: Slot) -> bool:
        instant = slot.starts_at
        while instant < slot.ends_at:
            if not self.is_bookable_instant(instant):
                return False
            instant += FIVE_MINUTES
        return True


def is_live(item: Busy, now: datetime) -> bool:
    return not isinstance(item, Hold) or item.expires_at > now


def is_same_session(item: Busy, slot: Slot, kind: AppointmentType) -> bool:
    return (
        kind.capacity > 1
        and isinstance(item, Booking | Hold)
        and item.appointment_type == kind.code
        and (item.starts_at, item.ends_at) == (slot.starts_at, slot.ends_at)
    )


def overlap(first: tuple[datetime, datetime], second: tuple[datetime, datetime]) -> bool:
    return first[0] < second[1] and second[0] < first[1]


# --- the properties ---------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios())
def test_slots_are_sorted_unique_and_on_the_wall_clock_grid(scenario: Scenario) -> None:
    slots = scenario.slots()
    zone = ZoneInfo(scenario.schedule.zone)

    assert [slot.starts_at for slot in slots] == sorted({slot.starts_at for slot in slots})
    for slot in slots:
        assert scenario.window_start <= slot.starts_at < scenario.window_end
        assert slot.ends_at - slot.starts_at == scenario.kind.duration
        local = slot.starts_at.astimezone(zone)
        assert local.fold == 0  # a repeated wall-clock time is offered at its first occurrence only
        assert 1 <= slot.seats_left <= scenario.kind.capacity


@PROPERTY_SETTINGS
@given(scenarios())
def test_every_slot_lies_in_working_hours_outside_breaks_and_days_off(scenario: Scenario) -> None:
    hours = BruteForceHours(scenario)

    for slot in scenario.slots():
        assert hours.holds_whole(slot), slot


@PROPERTY_SETTINGS
@given(scenarios())
def test_no_slot_meets_busy_time_or_its_buffers_unless_it_joins_a_session_with_room(scenario: Scenario) -> None:
    kind, now = scenario.kind, scenario.now
    live = [item for item in scenario.busy if is_live(item, now)]

    for slot in scenario.slots():
        appointment = (slot.starts_at, slot.ends_at)
        blocked = (slot.starts_at - kind.buffer_before, slot.ends_at + kind.buffer_after)
        seats_taken = 0
        for item in live:
            if is_same_session(item, slot, kind):
                seats_taken += item.party_size  # type: ignore[union-attr]
                continue
            theirs = (item.starts_at, item.ends_at)
            their_blocked = (
                theirs
                if isinstance(item, ImportedBusyTime)
                else (item.starts_at - item.buffer_before, item.ends_at + item.buffer_after)
            )
            assert not overlap(appointment, theirs), (slot, item)
            assert not overlap(blocked, their_blocked), (slot, item)
        assert seats_taken + scenario.party_size <= kind.capacity
        assert slot.seats_left == kind.capacity - seats_taken


@PROPERTY_SETTINGS
@given(scenarios())
def test_every_slot_respects_notice_horizon_and_limits(scenario: Scenario) -> None:
    kind, now = scenario.kind, scenario.now
    zone = ZoneInfo(scenario.schedule.zone)
    sessions_by_day: dict[date, set[tuple[datetime, datetime]]] = defaultdict(set)
    sessions_by_week: dict[tuple[int, int], set[tuple[datetime, datetime]]] = defaultdict(set)
    for item in scenario.busy:
        if isinstance(item, Booking | Hold) and item.appointment_type == kind.code and is_live(item, now):
            local_day = item.starts_at.astimezone(zone).date()
            sessions_by_day[local_day].add((item.starts_at, item.ends_at))
            sessions_by_week[local_day.isocalendar()[:2]].add((item.starts_at, item.ends_at))

    for slot in scenario.slots():
        assert slot.starts_at >= now + kind.minimum_notice
        assert kind.booking_horizon is None or slot.starts_at <= now + kind.booking_horizon
        if slot.seats_left < kind.capacity:
            continue  # joining a session adds none
        local_day = slot.starts_at.astimezone(zone).date()
        assert kind.daily_limit is None or len(sessions_by_day[local_day]) < kind.daily_limit
        assert kind.weekly_limit is None or len(sessions_by_week[local_day.isocalendar()[:2]]) < kind.weekly_limit


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_explain_calls_a_time_bookable_exactly_when_it_is_offered(scenario: Scenario, data: st.DataObject) -> None:
    offered = scenario.slots()
    offered_starts = {slot.starts_at for slot in offered}
    span = scenario.window_end - scenario.window_start
    zone = ZoneInfo(scenario.schedule.zone)
    start = scenario.window_start.astimezone(UTC)
    # Instants five minutes apart, shown on the schedule's wall clock: the repeated hour's second
    # occurrence (fold=1) is asked about too.
    asked = data.draw(
        st.lists(
            st.integers(0, span // FIVE_MINUTES - 1).map(lambda fives: (start + fives * FIVE_MINUTES).astimezone(zone)),
            max_size=25,
        )
    )
    if offered:
        asked += data.draw(
            st.lists(st.sampled_from(offered), max_size=10).map(lambda slots: [s.starts_at for s in slots])
        )

    for starts_at in asked:
        assert scenario.is_bookable(starts_at) == (starts_at.astimezone(UTC) in offered_starts), starts_at


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_a_narrower_window_finds_the_same_slots_in_it(scenario: Scenario, data: st.DataObject) -> None:
    fives = (scenario.window_end - scenario.window_start) // FIVE_MINUTES
    first, last = sorted(data.draw(st.tuples(st.integers(0, fives), st.integers(0, fives))))
    start, end = scenario.window_start + first * FIVE_MINUTES, scenario.window_start + last * FIVE_MINUTES

    assert scenario.slots(start, end) == [slot for slot in scenario.slots() if start <= slot.starts_at < end]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), scenarios())
def test_any_professional_offers_the_union_of_each_ones_slots(first: Scenario, second: Scenario) -> None:
    def across(resources: list[ResourceAvailability]) -> list[Slot]:
        return find_slots_across(
            resources,
            first.kind,
            window_start=first.window_start,
            window_end=first.window_end,
            now=first.now,
            asker_zone="Pacific/Auckland",
            party_size=first.party_size,
        )

    resources = [ResourceAvailability(first.schedule, first.busy), ResourceAvailability(second.schedule, second.busy)]
    each = [slot for resource in resources for slot in across([resource])]

    merged = across(resources)

    assert merged == sorted(each)
    assert [(slot.starts_at, slot.resource_id) for slot in merged] == sorted(
        (slot.starts_at, slot.resource_id) for slot in merged
    )
