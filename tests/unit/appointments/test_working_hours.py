"""Working hours as RFC 5545 rules, breaks, days off, extra hours, validity, and the grid slots start on."""

from __future__ import annotations

from datetime import date, time

import pytest

from kairos.appointments.domain.availability import (
    DaysOff,
    ExtraHours,
    InvalidAppointmentType,
    InvalidRecurrence,
    InvalidSchedule,
    RecurringPeriod,
)
from kairos.appointments.domain.slots import Reason

from .factories import (
    DAYS,
    HOURS,
    LUNCH_12_TO_1245,
    MINUTES,
    PARIS,
    at,
    consultation,
    local_times,
    schedule,
    slots_between,
    slots_on,
    why,
)

MONDAY = date(2025, 1, 6)
SATURDAY = date(2025, 1, 11)


def test_weekday_hours_offer_back_to_back_slots_from_opening_until_the_last_that_fits() -> None:
    slots = slots_on(schedule(), consultation(), MONDAY)

    assert local_times(slots) == [f"{hour:02d}:{minute:02d}" for hour in range(9, 17) for minute in (0, 30)]
    assert all(slot.ends_at - slot.starts_at == 30 * MINUTES for slot in slots)


def test_no_slots_on_days_the_rule_leaves_out() -> None:
    assert slots_on(schedule(), consultation(), SATURDAY) == []
    assert why(schedule(), consultation(), at(PARIS, 2025, 1, 11, 10)).reasons == (Reason.OUTSIDE_HOURS,)


def test_a_shorter_start_interval_offers_overlapping_starts() -> None:
    slots = slots_on(schedule(), consultation(start_every=15 * MINUTES), MONDAY)

    assert local_times(slots)[:3] == ["09:00", "09:15", "09:30"]
    assert local_times(slots)[-1] == "16:30"
    assert len(slots) == 31


def test_without_a_start_interval_slots_are_aligned_to_the_duration() -> None:
    slots = slots_on(schedule(), consultation(duration=50 * MINUTES), MONDAY)

    assert local_times(slots) == ["09:00", "09:50", "10:40", "11:30", "12:20", "13:10", "14:00", "14:50", "15:40"]


def test_a_time_between_grid_steps_is_misaligned() -> None:
    assert why(schedule(), consultation(), at(PARIS, 2025, 1, 6, 10, 10)).reasons == (Reason.MISALIGNED,)
    assert why(schedule(), consultation(), at(PARIS, 2025, 1, 6, 10, 30)).is_bookable


def test_a_slot_must_end_by_closing_time() -> None:
    explanation = why(schedule(), consultation(start_every=15 * MINUTES), at(PARIS, 2025, 1, 6, 16, 45))

    assert explanation.reasons == (Reason.OUTSIDE_HOURS,)


def test_breaks_take_their_time_out_and_the_grid_starts_again_after_them() -> None:
    slots = slots_on(schedule(breaks=[LUNCH_12_TO_1245]), consultation(), MONDAY)

    assert "11:30" in local_times(slots)
    assert "12:00" not in local_times(slots)
    assert local_times(slots)[local_times(slots).index("11:30") + 1] == "12:45"
    assert why(schedule(breaks=[LUNCH_12_TO_1245]), consultation(), at(PARIS, 2025, 1, 6, 12)).reasons == (
        Reason.BREAK,
    )


def test_a_slot_running_into_a_break_is_refused_for_the_break() -> None:
    kind = consultation(start_every=15 * MINUTES)

    assert why(schedule(breaks=[LUNCH_12_TO_1245]), kind, at(PARIS, 2025, 1, 6, 11, 45)).reasons == (Reason.BREAK,)


def test_several_rules_add_up() -> None:
    mornings = RecurringPeriod("FREQ=WEEKLY;BYDAY=MO,WE", time(8), 4 * HOURS)
    thursday_evenings = RecurringPeriod("RRULE:FREQ=WEEKLY;BYDAY=TH", time(18), 2 * HOURS)
    where = schedule(working_hours=[mornings, thursday_evenings])

    assert local_times(slots_on(where, consultation(duration=HOURS), MONDAY)) == ["08:00", "09:00", "10:00", "11:00"]
    assert local_times(slots_on(where, consultation(duration=HOURS), date(2025, 1, 9))) == ["18:00", "19:00"]
    assert slots_on(where, consultation(duration=HOURS), date(2025, 1, 7)) == []


def test_an_interval_counts_from_the_first_valid_day() -> None:
    every_other_monday = RecurringPeriod("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", time(9), 2 * HOURS)
    where = schedule(working_hours=[every_other_monday], valid_from=MONDAY)
    kind = consultation(duration=HOURS)

    assert len(slots_on(where, kind, MONDAY)) == 2
    assert slots_on(where, kind, MONDAY + 7 * DAYS) == []
    assert len(slots_on(where, kind, MONDAY + 14 * DAYS)) == 2


def test_until_in_utc_ends_the_rule() -> None:
    until_january_tenth = RecurringPeriod("FREQ=DAILY;UNTIL=20250110T235959Z", time(9), HOURS)
    where = schedule(working_hours=[until_january_tenth])

    assert slots_on(where, consultation(), date(2025, 1, 10)) != []
    assert slots_on(where, consultation(), date(2025, 1, 11)) == []


def test_a_night_shift_runs_past_midnight() -> None:
    nights = RecurringPeriod("FREQ=WEEKLY;BYDAY=FR", time(22), 8 * HOURS)
    slots = slots_between(
        schedule(working_hours=[nights]), consultation(duration=HOURS), at(PARIS, 2025, 1, 10), at(PARIS, 2025, 1, 12)
    )

    assert local_times(slots) == ["22:00", "23:00", "00:00", "01:00", "02:00", "03:00", "04:00", "05:00"]
    assert slots[2].local_starts_at.date() == date(2025, 1, 11)


def test_days_off_remove_whole_local_days() -> None:
    holidays = DaysOff(first_day=date(2025, 1, 7), last_day=date(2025, 1, 9))
    where = schedule(days_off=[holidays])
    kind = consultation()

    assert slots_on(where, kind, MONDAY) != []
    assert all(slots_on(where, kind, day) == [] for day in (date(2025, 1, 7), date(2025, 1, 8), date(2025, 1, 9)))
    assert slots_on(where, kind, date(2025, 1, 10)) != []
    assert why(where, kind, at(PARIS, 2025, 1, 8, 10)).reasons == (Reason.DAY_OFF,)


def test_a_day_off_outside_working_hours_is_only_outside_hours() -> None:
    where = schedule(days_off=[DaysOff(first_day=date(2025, 1, 7), last_day=date(2025, 1, 7))])

    assert why(where, consultation(), at(PARIS, 2025, 1, 7, 20)).reasons == (Reason.OUTSIDE_HOURS,)


def test_extra_hours_add_one_off_time() -> None:
    saturday_morning = ExtraHours(day=SATURDAY, start_time=time(10), duration=2 * HOURS)

    assert local_times(slots_on(schedule(extra_hours=[saturday_morning]), consultation(), SATURDAY)) == [
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]


def test_a_day_off_with_extra_hours_overrides_that_days_hours() -> None:
    christmas_eve = date(2025, 12, 24)
    where = schedule(
        days_off=[DaysOff(first_day=christmas_eve, last_day=christmas_eve)],
        extra_hours=[ExtraHours(day=christmas_eve, start_time=time(9, 15), duration=HOURS)],
        breaks=[LUNCH_12_TO_1245],
    )

    assert local_times(slots_on(where, consultation(), christmas_eve)) == ["09:15", "09:45"]
    assert why(where, consultation(), at(PARIS, 2025, 12, 24, 9, 30)).reasons == (Reason.MISALIGNED,)
    assert why(where, consultation(), at(PARIS, 2025, 12, 24, 14)).reasons == (Reason.DAY_OFF,)


def test_nothing_is_offered_outside_the_validity_period() -> None:
    where = schedule(valid_from=date(2025, 1, 7), valid_until=date(2025, 1, 8))
    kind = consultation()

    assert slots_on(where, kind, MONDAY) == []
    assert slots_on(where, kind, date(2025, 1, 7)) != []
    assert slots_on(where, kind, date(2025, 1, 8)) != []
    assert slots_on(where, kind, date(2025, 1, 9)) == []
    assert why(where, kind, at(PARIS, 2025, 1, 9, 10)).reasons == (Reason.OUTSIDE_HOURS,)


def test_an_empty_or_reversed_window_has_no_slots() -> None:
    assert slots_between(schedule(), consultation(), at(PARIS, 2025, 1, 7), at(PARIS, 2025, 1, 6)) == []


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9",
        "FREQ=HOURLY",
        "DTSTART:20250101T090000\nRRULE:FREQ=DAILY",
        "FREQ=FORTNIGHTLY",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=DAILY;UNTIL=20250110",
        "",
    ],
)
def test_rules_that_cannot_describe_working_hours_are_refused(rule: str) -> None:
    with pytest.raises(InvalidRecurrence):
        RecurringPeriod(rule, time(9), HOURS)


def test_a_period_lasts_a_positive_wall_clock_time_without_a_zone() -> None:
    with pytest.raises(InvalidRecurrence):
        RecurringPeriod("FREQ=DAILY", time(9), 0 * HOURS)
    with pytest.raises(InvalidRecurrence):
        RecurringPeriod("FREQ=DAILY", time(9, tzinfo=at(PARIS, 2025, 1, 1).tzinfo), HOURS)


def test_schedules_name_a_real_zone_and_a_forward_validity() -> None:
    with pytest.raises(InvalidSchedule):
        schedule(zone="Europe/Atlantis")
    with pytest.raises(InvalidSchedule):
        schedule(valid_from=date(2025, 2, 1), valid_until=date(2025, 1, 1))
    with pytest.raises(InvalidSchedule):
        DaysOff(first_day=date(2025, 2, 1), last_day=date(2025, 1, 1))


@pytest.mark.parametrize(
    "rules",
    [
        {"duration": 0 * MINUTES},
        {"buffer_before": -MINUTES},
        {"minimum_notice": -MINUTES},
        {"booking_horizon": 0 * DAYS},
        {"daily_limit": 0},
        {"capacity": 0},
        {"start_every": 0 * MINUTES},
    ],
)
def test_appointment_types_that_cannot_be_booked_are_refused(rules: dict[str, object]) -> None:
    with pytest.raises(InvalidAppointmentType):
        consultation(**rules)


def test_schedules_whose_rules_start_at_the_same_instant_in_different_zones_keep_their_own_hours() -> None:
    in_london = schedule(zone="Europe/London", working_hours=[RecurringPeriod("FREQ=DAILY", time(9), HOURS)])
    in_paris = schedule(zone=PARIS, working_hours=[RecurringPeriod("FREQ=DAILY", time(10), HOURS)])

    assert local_times(slots_on(in_london, consultation(), MONDAY)) == ["09:00", "09:30"]
    assert local_times(slots_on(in_paris, consultation(), MONDAY)) == ["10:00", "10:30"]
