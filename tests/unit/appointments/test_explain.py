"""Explain mode: one example per reason code, and agreement with the search minute by minute on a busy day."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from kairos.appointments.domain.availability import DaysOff, ExtraHours, Hold, ImportedBusyTime
from kairos.appointments.domain.slots import Busy, Reason

from .factories import (
    DAYS,
    HOURS,
    LUNCH_12_TO_1245,
    MINUTES,
    PARIS,
    at,
    booking_of,
    consultation,
    schedule,
    slots_between,
    why,
)

NOW = at(PARIS, 2025, 1, 6, 8, 30)
TEN = at(PARIS, 2025, 1, 6, 10)
KIND = consultation(
    buffer_after=10 * MINUTES, start_every=15 * MINUTES, booking_horizon=14 * DAYS, minimum_notice=HOURS
)
WHERE = schedule(breaks=[LUNCH_12_TO_1245], days_off=[DaysOff(first_day=date(2025, 1, 8), last_day=date(2025, 1, 8))])


@pytest.mark.parametrize(
    ("starts_at", "busy", "reason"),
    [
        (at(PARIS, 2025, 1, 6, 18), [], Reason.OUTSIDE_HOURS),
        (at(PARIS, 2025, 1, 6, 12, 15), [], Reason.BREAK),
        (at(PARIS, 2025, 1, 8, 10), [], Reason.DAY_OFF),
        (at(PARIS, 2025, 1, 6, 10, 5), [], Reason.MISALIGNED),
        (at(PARIS, 2025, 1, 6, 9), [], Reason.NOTICE),
        (at(PARIS, 2025, 1, 21, 10), [], Reason.BEYOND_HORIZON),
        (TEN, [booking_of(KIND, TEN)], Reason.BOOKED),
        (TEN, [Hold(starts_at=TEN, ends_at=TEN + HOURS, appointment_type=KIND.code, expires_at=TEN)], Reason.HELD),
        (TEN + 30 * MINUTES, [booking_of(KIND, TEN)], Reason.BUFFER),
    ],
)
def test_each_reason_alone(starts_at: datetime, busy: list[Busy], reason: Reason) -> None:
    explanation = why(WHERE, KIND, starts_at, busy, now=NOW)

    assert explanation.reasons == (reason,)
    assert not explanation.is_bookable


def test_limits_and_capacity_reasons() -> None:
    limited = consultation(daily_limit=1, weekly_limit=1)
    group = consultation(capacity=2)
    assert why(WHERE, limited, TEN + HOURS, [booking_of(limited, TEN)]).reasons == (
        Reason.DAILY_LIMIT,
        Reason.WEEKLY_LIMIT,
    )
    assert why(WHERE, limited, at(PARIS, 2025, 1, 7, 10), [booking_of(limited, TEN)]).reasons == (Reason.WEEKLY_LIMIT,)
    assert why(WHERE, group, TEN, [booking_of(group, TEN, party_size=2)]).reasons == (Reason.FULL,)


def test_a_bookable_time_has_no_reasons_and_is_given_in_utc() -> None:
    explanation = why(WHERE, KIND, TEN, now=NOW)

    assert explanation.is_bookable
    assert explanation.reasons == ()
    assert explanation.starts_at == TEN
    assert explanation.starts_at.utcoffset() == 0 * HOURS
    assert explanation.ends_at == TEN + 30 * MINUTES


def test_everything_that_applies_is_named() -> None:
    too_far_too_close_to_lunch_and_off_the_grid = at(PARIS, 2025, 1, 22, 11, 52)
    busy: list[Busy] = [
        ImportedBusyTime(starts_at=at(PARIS, 2025, 1, 22, 11), ends_at=at(PARIS, 2025, 1, 22, 12)),
        Hold(
            starts_at=at(PARIS, 2025, 1, 22, 12),
            ends_at=at(PARIS, 2025, 1, 22, 13),
            appointment_type=KIND.code,
            expires_at=NOW + HOURS,
        ),
    ]

    assert why(WHERE, KIND, too_far_too_close_to_lunch_and_off_the_grid, busy, now=NOW).reasons == (
        Reason.BREAK,
        Reason.MISALIGNED,
        Reason.BEYOND_HORIZON,
        Reason.BUSY_ELSEWHERE,
        Reason.HELD,
    )


def test_misaligned_is_only_said_of_a_start_in_bookable_time() -> None:
    assert why(WHERE, KIND, at(PARIS, 2025, 1, 6, 12, 7), now=NOW).reasons == (Reason.BREAK,)
    assert why(WHERE, KIND, at(PARIS, 2025, 1, 8, 10, 7), now=NOW).reasons == (Reason.DAY_OFF,)
    assert why(WHERE, KIND, at(PARIS, 2025, 1, 6, 20, 7), now=NOW).reasons == (Reason.OUTSIDE_HOURS,)


def test_explain_agrees_with_the_search_at_every_minute_of_a_busy_week() -> None:
    kind = consultation(buffer_before=5 * MINUTES, buffer_after=10 * MINUTES, start_every=10 * MINUTES, daily_limit=6)
    group = consultation(capacity=2, duration=HOURS)
    where = schedule(
        breaks=[LUNCH_12_TO_1245],
        days_off=[DaysOff(first_day=date(2025, 1, 8), last_day=date(2025, 1, 8))],
        extra_hours=[ExtraHours(day=date(2025, 1, 8), start_time=time(14), duration=2 * HOURS)],
    )
    busy: list[Busy] = [
        booking_of(kind, TEN),
        booking_of(kind, at(PARIS, 2025, 1, 6, 14, 20)),
        booking_of(group, at(PARIS, 2025, 1, 7, 9)),
        Hold(
            starts_at=at(PARIS, 2025, 1, 7, 15),
            ends_at=at(PARIS, 2025, 1, 7, 15, 30),
            appointment_type=kind.code,
            expires_at=NOW + DAYS,
        ),
        ImportedBusyTime(starts_at=at(PARIS, 2025, 1, 9, 11), ends_at=at(PARIS, 2025, 1, 9, 13)),
        *(booking_of(kind, at(PARIS, 2025, 1, 10, 9) + hour * HOURS) for hour in range(6)),
    ]
    start, end = at(PARIS, 2025, 1, 6), at(PARIS, 2025, 1, 11)

    offered = {slot.starts_at for slot in slots_between(where, kind, start, end, busy, now=NOW)}
    minute = start
    while minute < end:
        assert why(where, kind, minute, busy, now=NOW).is_bookable == (minute in offered), minute
        minute += 5 * MINUTES
    assert len(offered) > 50
