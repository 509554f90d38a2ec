"""Bulk availability changes computed over schedules and bookings, without I/O: what each change does to the
working time (in the resource's own local days, also on daylight-saving nights), how changes stack, and which
appointments would then lie outside the working time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from kairos.appointments.domain.availability import DaysOff, ExtraHours, InvalidAvailability, RecurringPeriod, Schedule
from kairos.appointments.domain.bulk_changes import (
    AddHours,
    CloseDates,
    InvalidBulkChange,
    ReplaceWeeklyHours,
    ScheduledAppointment,
    changed_schedule,
    preview,
    working_time,
)
from kairos.appointments.domain.slots import find_slots
from tests.unit.appointments.factories import (
    HOURS,
    LUNCH_12_TO_1245,
    MINUTES,
    PARIS,
    WEEKDAYS_9_TO_17,
    at,
    consultation,
)

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a Tuesday
MORNINGS = RecurringPeriod("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", time(8), 4 * HOURS)


def practice_schedule(**overrides: object) -> Schedule:
    resource = uuid4()
    values: dict[str, object] = {
        "id": resource,
        "resource_id": resource,
        "location_id": resource,
        "zone": PARIS,
        "valid_from": date(2026, 1, 1),
        "working_hours": (WEEKDAYS_9_TO_17,),
        "breaks": (LUNCH_12_TO_1245,),
    }
    values.update(overrides)
    return Schedule(**values)  # type: ignore[arg-type]


def appointment(starts_at: datetime, minutes: int = 30, status: str = "booked") -> ScheduledAppointment:
    return ScheduledAppointment(uuid4(), uuid4(), starts_at, starts_at + minutes * MINUTES, status)


def test_closing_a_date_takes_its_working_time_and_reports_the_appointments_on_it() -> None:
    schedule = practice_schedule()
    christmas_eve = CloseDates((DaysOff(date(2026, 12, 24), date(2026, 12, 24)),))
    on_the_day = appointment(at(PARIS, 2026, 12, 24, 10))
    the_day_after = appointment(at(PARIS, 2026, 12, 28, 10))
    result = preview(schedule, christmas_eve, [on_the_day, the_day_after], now=NOW)
    assert result.time_before == 8 * HOURS - 45 * MINUTES
    assert result.time_after == timedelta(0)
    assert result.working_before[0] == (at(PARIS, 2026, 12, 24, 9), at(PARIS, 2026, 12, 24, 12))
    assert result.conflicts == (on_the_day,)
    assert result.after.days_off == (DaysOff(date(2026, 12, 24), date(2026, 12, 24)),)


def test_closing_a_date_also_removes_the_extra_hours_on_it_so_that_the_practice_is_closed() -> None:
    saturday_clinic = ExtraHours(date(2026, 12, 26), time(9), 3 * HOURS)
    other_saturday = ExtraHours(date(2027, 1, 2), time(9), 3 * HOURS)
    schedule = practice_schedule(extra_hours=(saturday_clinic, other_saturday))
    result = preview(schedule, CloseDates((DaysOff(date(2026, 12, 24), date(2026, 12, 27)),)), [], now=NOW)
    assert result.after.extra_hours == (other_saturday,)
    assert result.time_after == timedelta(0)


def test_closing_days_already_off_changes_nothing() -> None:
    schedule = practice_schedule(days_off=(DaysOff(date(2026, 12, 21), date(2026, 12, 31)),))
    result = preview(schedule, CloseDates((DaysOff(date(2026, 12, 24), date(2026, 12, 25)),)), [], now=NOW)
    assert not result.is_changed


def test_added_hours_are_worked_on_each_date_even_on_a_day_off_and_cover_appointments_there() -> None:
    schedule = practice_schedule(days_off=(DaysOff(date(2026, 12, 19), date(2026, 12, 20)),))
    saturday = appointment(at(PARIS, 2026, 12, 19, 10))
    sunday_evening = appointment(at(PARIS, 2026, 12, 20, 18))
    change = AddHours((date(2026, 12, 19), date(2026, 12, 20)), time(9), 3 * HOURS)
    result = preview(schedule, change, [saturday, sunday_evening], now=NOW)
    assert result.time_before == timedelta(0)
    assert result.time_after == 6 * HOURS
    assert result.conflicts == (sunday_evening,)  # outside the added hours: the practice decides


def test_dates_are_the_resource_s_local_days_also_on_a_daylight_saving_night() -> None:
    schedule = practice_schedule(working_hours=(RecurringPeriod("FREQ=DAILY", time(0), 24 * HOURS),), breaks=())
    # Paris moves to summer time on 28 March 2027: that local day lasts 23 hours.
    result = preview(schedule, CloseDates((DaysOff(date(2027, 3, 28), date(2027, 3, 28)),)), [], now=NOW)
    assert result.window == (at(PARIS, 2027, 3, 28), at(PARIS, 2027, 3, 29))
    assert result.time_before == 23 * HOURS
    assert result.time_after == timedelta(0)
    extra = preview(schedule, AddHours((date(2027, 10, 31),), time(1), 3 * HOURS), [], now=NOW)
    # Winter time on 31 October 2027: 01:00 to 04:00 on the wall clock is four hours; the day lasts 25.
    assert extra.window == (at(PARIS, 2027, 10, 31), at(PARIS, 2027, 11, 1))
    starts, ends = extra.after.extra_hours[0].span(ZoneInfo(PARIS))
    assert ends - starts == 4 * HOURS
    assert extra.time_before == 25 * HOURS


def test_overlapping_changes_stack_a_closed_week_with_one_morning_of_extra_hours() -> None:
    schedule = practice_schedule()
    closed = changed_schedule(schedule, CloseDates((DaysOff(date(2026, 12, 21), date(2026, 12, 25)),)), now=NOW)
    reopened = changed_schedule(closed, AddHours((date(2026, 12, 23),), time(9), 3 * HOURS), now=NOW)
    week = (at(PARIS, 2026, 12, 21), at(PARIS, 2026, 12, 26))
    assert working_time(reopened, week) == [(at(PARIS, 2026, 12, 23, 9), at(PARIS, 2026, 12, 23, 12))]
    # Closing again after the extra hours closes that morning too; adding the same hours twice adds them once.
    assert (
        working_time(
            changed_schedule(reopened, CloseDates((DaysOff(date(2026, 12, 23), date(2026, 12, 23)),)), now=NOW), week
        )
        == []
    )
    twice = changed_schedule(reopened, AddHours((date(2026, 12, 23),), time(9), 3 * HOURS), now=NOW)
    assert twice == reopened


def test_new_weekly_hours_from_a_later_date_keep_the_days_before_as_they_were() -> None:
    schedule = practice_schedule()
    change = ReplaceWeeklyHours(date(2027, 1, 4), (MORNINGS,), breaks=())
    after = changed_schedule(schedule, change, now=NOW)
    before_the_change = (at(PARIS, 2026, 12, 1), at(PARIS, 2027, 1, 4))
    assert working_time(after, before_the_change) == working_time(schedule, before_the_change)
    first_week = (at(PARIS, 2027, 1, 4), at(PARIS, 2027, 1, 11))
    assert working_time(after, first_week)[0] == (at(PARIS, 2027, 1, 4, 8), at(PARIS, 2027, 1, 4, 12))
    assert sum((end - start for start, end in working_time(after, first_week)), timedelta(0)) == 20 * HOURS
    # The slot engine reads the changed schedule the same way.
    slots = find_slots(
        after,
        consultation(),
        [],
        window_start=at(PARIS, 2027, 1, 4),
        window_end=at(PARIS, 2027, 1, 5),
        now=NOW,
        asker_zone=PARIS,
    )
    assert slots[0].local_starts_at == at(PARIS, 2027, 1, 4, 8)
    assert slots[-1].local_ends_at == at(PARIS, 2027, 1, 4, 12)


def test_new_weekly_hours_report_the_appointments_they_no_longer_cover() -> None:
    schedule = practice_schedule()
    afternoon = appointment(at(PARIS, 2027, 1, 5, 15))
    morning = appointment(at(PARIS, 2027, 1, 5, 9))
    earlier_afternoon = appointment(at(PARIS, 2026, 12, 29, 15))  # before the new hours start
    result = preview(
        schedule, ReplaceWeeklyHours(date(2027, 1, 4), (MORNINGS,)), [afternoon, morning, earlier_afternoon], now=NOW
    )
    assert result.conflicts == (afternoon,)
    assert result.time_before == 5 * (8 * HOURS - 45 * MINUTES)
    assert result.time_after == 5 * 4 * HOURS  # the lunch break (12:00) lies after the new mornings


def test_new_weekly_hours_from_a_past_date_simply_take_over() -> None:
    schedule = practice_schedule()
    after = changed_schedule(schedule, ReplaceWeeklyHours(date(2025, 6, 1), (MORNINGS,)), now=NOW)
    assert after.working_hours == (MORNINGS,)
    assert after.valid_from == schedule.valid_from
    assert after.days_off == schedule.days_off
    assert after.extra_hours == schedule.extra_hours


@pytest.mark.parametrize(
    "make",
    [
        lambda: CloseDates(()),
        lambda: CloseDates((DaysOff(date(2026, 1, 1), date(2027, 12, 31)),)),
        lambda: AddHours((), time(9), HOURS),
        lambda: AddHours((date(2026, 12, 1),), time(9), timedelta(0)),
        lambda: ReplaceWeeklyHours(date(2027, 1, 1), ()),
    ],
)
def test_changes_that_cannot_mean_anything_are_refused(make: object) -> None:
    with pytest.raises(InvalidAvailability):  # InvalidBulkChange, or the invalid extra hours
        make()  # type: ignore[operator]


def test_new_weekly_hours_start_within_the_limit() -> None:
    with pytest.raises(InvalidBulkChange):
        changed_schedule(practice_schedule(), ReplaceWeeklyHours(date(2029, 1, 1), (MORNINGS,)), now=NOW)
