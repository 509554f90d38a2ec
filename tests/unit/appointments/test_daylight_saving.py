"""Daylight-saving changes: slots keep their wall-clock time, skipped times are not offered, repeated ones once.

Europe/Paris changes on 2025-03-30 (02:00 → 03:00) and 2025-10-26 (03:00 → 02:00);
America/New_York on 2025-03-09 (02:00 → 03:00) and 2025-11-02 (02:00 → 01:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from kairos.appointments.domain.availability import RecurringPeriod
from kairos.appointments.domain.slots import NonexistentLocalTime, Reason

from .factories import (
    EVERY_NIGHT_0_TO_6,
    HOURS,
    MINUTES,
    NEW_YORK,
    PARIS,
    at,
    booking_of,
    consultation,
    local_times,
    schedule,
    slots_between,
    slots_on,
    why,
)

NINE_TO_TEN_DAILY = RecurringPeriod("FREQ=DAILY", time(9), HOURS)


@pytest.mark.parametrize(
    ("zone", "before", "after", "offset_before", "offset_after"),
    [
        (PARIS, date(2025, 3, 28), date(2025, 3, 31), 1, 2),
        (PARIS, date(2025, 10, 24), date(2025, 10, 27), 2, 1),
        (NEW_YORK, date(2025, 3, 7), date(2025, 3, 10), -5, -4),
        (NEW_YORK, date(2025, 10, 31), date(2025, 11, 3), -4, -5),
    ],
)
def test_a_nine_oclock_slot_stays_at_nine_local_across_the_change(
    zone: str, before: date, after: date, offset_before: int, offset_after: int
) -> None:
    where = schedule(zone=zone, working_hours=[NINE_TO_TEN_DAILY])

    first_before = slots_on(where, consultation(), before)[0]
    first_after = slots_on(where, consultation(), after)[0]

    assert first_before.local_starts_at.time() == first_after.local_starts_at.time() == time(9)
    assert first_before.starts_at.astimezone(UTC).hour == 9 - offset_before
    assert first_after.starts_at.astimezone(UTC).hour == 9 - offset_after


def test_paris_spring_forward_offers_no_slot_in_the_skipped_hour() -> None:
    slots = slots_on(schedule(working_hours=[EVERY_NIGHT_0_TO_6]), consultation(), date(2025, 3, 30))

    assert local_times(slots) == [
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "03:00",
        "03:30",
        "04:00",
        "04:30",
        "05:00",
        "05:30",
    ]
    assert slots[3].ends_at == slots[4].starts_at  # 01:30 CET + 30 min is 03:00 CEST


def test_paris_fall_back_offers_the_repeated_hour_once_at_its_first_occurrence() -> None:
    slots = slots_on(schedule(working_hours=[EVERY_NIGHT_0_TO_6]), consultation(), date(2025, 10, 26))

    assert local_times(slots) == [f"{hour:02d}:{minute:02d}" for hour in range(6) for minute in (0, 30)]
    repeated = [slot for slot in slots if slot.local_starts_at.hour == 2]
    assert [slot.local_starts_at.utcoffset() for slot in repeated] == [2 * HOURS, 2 * HOURS]
    assert [slot.local_starts_at.fold for slot in repeated] == [0, 0]
    assert [slot.starts_at for slot in repeated] == [
        datetime(2025, 10, 26, 0, 0, tzinfo=UTC),
        datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
    ]


def test_new_york_spring_forward_does_not_offer_two_thirty() -> None:
    where = schedule(zone=NEW_YORK, working_hours=[EVERY_NIGHT_0_TO_6])

    assert "02:30" not in local_times(slots_on(where, consultation(), date(2025, 3, 9)))
    assert "02:30" in local_times(slots_on(where, consultation(), date(2025, 3, 8)))


def test_new_york_fall_back_offers_one_thirty_once_in_daylight_time() -> None:
    where = schedule(zone=NEW_YORK, working_hours=[EVERY_NIGHT_0_TO_6])

    slots = slots_on(where, consultation(), date(2025, 11, 2))

    assert local_times(slots).count("01:30") == 1
    one_thirty = next(slot for slot in slots if slot.local_starts_at.time() == time(1, 30))
    assert one_thirty.starts_at == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)
    assert one_thirty.local_starts_at.utcoffset() == -4 * HOURS


def test_explain_names_the_second_one_thirty_misaligned_and_accepts_the_first() -> None:
    where = schedule(zone=NEW_YORK, working_hours=[EVERY_NIGHT_0_TO_6])

    assert why(where, consultation(), at(NEW_YORK, 2025, 11, 2, 1, 30, fold=0)).is_bookable
    assert why(where, consultation(), at(NEW_YORK, 2025, 11, 2, 1, 30, fold=1)).reasons == (Reason.MISALIGNED,)


def test_explain_refuses_a_local_time_that_does_not_exist() -> None:
    where = schedule(working_hours=[EVERY_NIGHT_0_TO_6])

    with pytest.raises(NonexistentLocalTime):
        why(where, consultation(), at(PARIS, 2025, 3, 30, 2, 30))


def test_hours_are_measured_on_the_wall_clock_on_the_night_of_the_change() -> None:
    night_shift = RecurringPeriod("FREQ=DAILY", time(22), 8 * HOURS)
    where = schedule(working_hours=[night_shift])
    kind = consultation(duration=HOURS)

    spring = slots_between(where, kind, at(PARIS, 2025, 3, 29, 12), at(PARIS, 2025, 3, 30, 12))
    autumn = slots_between(where, kind, at(PARIS, 2025, 10, 25, 12), at(PARIS, 2025, 10, 26, 12))

    assert local_times(spring) == ["22:00", "23:00", "00:00", "01:00", "03:00", "04:00", "05:00"]
    assert local_times(autumn) == ["22:00", "23:00", "00:00", "01:00", "02:00", "03:00", "04:00", "05:00"]
    assert autumn[-1].local_ends_at.time() == spring[-1].local_ends_at.time() == time(6)


def test_a_period_starting_inside_the_gap_starts_as_rfc_5545_reads_it() -> None:
    from_two_thirty = RecurringPeriod("FREQ=DAILY", time(2, 30), 2 * HOURS)
    where = schedule(working_hours=[from_two_thirty])

    slots = slots_on(where, consultation(), date(2025, 3, 30))

    # 02:30 does not exist that night; RFC 5545 §3.3.5 reads it with the winter offset, i.e. 03:30 CEST.
    assert local_times(slots) == ["03:30", "04:00"]


def test_a_daily_limit_counts_the_local_day_not_the_utc_day() -> None:
    kind = consultation(daily_limit=1)
    where = schedule(working_hours=[EVERY_NIGHT_0_TO_6])
    just_after_midnight_on_sunday = booking_of(kind, at(PARIS, 2025, 3, 30, 0, 30))  # Saturday 23:30 UTC

    saturday = slots_on(where, kind, date(2025, 3, 29), [just_after_midnight_on_sunday])

    assert len(saturday) == 12
    assert why(where, kind, at(PARIS, 2025, 3, 30, 3), [just_after_midnight_on_sunday]).reasons == (Reason.DAILY_LIMIT,)


def test_slots_are_presented_in_the_askers_zone_while_the_two_zones_change_on_different_days() -> None:
    where = schedule(working_hours=[NINE_TO_TEN_DAILY])

    def first_slot_in_new_york(day: date) -> str:
        slots = slots_on(where, consultation(), day, asker_zone=NEW_YORK)
        return slots[0].local_starts_at.strftime("%H:%M %Z")

    assert first_slot_in_new_york(date(2025, 3, 3)) == "03:00 EST"
    assert first_slot_in_new_york(date(2025, 3, 17)) == "04:00 EDT"
    assert first_slot_in_new_york(date(2025, 3, 31)) == "03:00 EDT"


def test_slot_ends_are_exact_durations_across_the_change() -> None:
    where = schedule(working_hours=[EVERY_NIGHT_0_TO_6])

    slots = slots_on(where, consultation(duration=90 * MINUTES, start_every=30 * MINUTES), date(2025, 10, 26))

    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=90) for slot in slots)
    assert slots[-1].local_ends_at.time() == time(6)
