"""Minimum notice and booking horizon relative to now, limits per local day and ISO week, group capacity."""

from __future__ import annotations

from datetime import date, time

import pytest

from kairos.appointments.domain.availability import RecurringPeriod
from kairos.appointments.domain.slots import InvalidSlotQuery, Reason

from .factories import (
    DAYS,
    HOURS,
    MINUTES,
    PARIS,
    at,
    booking_of,
    consultation,
    hold_of,
    local_times,
    schedule,
    slots_between,
    slots_on,
    why,
)

MONDAY = date(2025, 1, 6)
TUESDAY = date(2025, 1, 7)
NEXT_MONDAY = date(2025, 1, 13)
MONDAY_AT_TEN = at(PARIS, 2025, 1, 6, 10)


def test_minimum_notice_keeps_slots_that_start_too_soon_out() -> None:
    kind = consultation(minimum_notice=2 * HOURS)
    now = at(PARIS, 2025, 1, 6, 10, 10)

    offered = local_times(slots_on(schedule(), kind, MONDAY, now=now))

    assert offered[0] == "12:30"
    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 12), now=now).reasons == (Reason.NOTICE,)


def test_a_slot_exactly_at_the_notice_is_offered() -> None:
    kind = consultation(minimum_notice=2 * HOURS)

    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 12), now=MONDAY_AT_TEN).is_bookable


def test_the_past_is_never_offered() -> None:
    assert why(schedule(), consultation(), at(PARIS, 2025, 1, 6, 9, 30), now=MONDAY_AT_TEN).reasons == (Reason.NOTICE,)
    assert local_times(slots_on(schedule(), consultation(), MONDAY, now=MONDAY_AT_TEN))[0] == "10:00"


def test_the_booking_horizon_ends_the_offer() -> None:
    kind = consultation(booking_horizon=7 * DAYS)

    assert why(schedule(), kind, at(PARIS, 2025, 1, 13, 10), now=MONDAY_AT_TEN).is_bookable
    assert why(schedule(), kind, at(PARIS, 2025, 1, 13, 10, 30), now=MONDAY_AT_TEN).reasons == (Reason.BEYOND_HORIZON,)
    slots = slots_between(schedule(), kind, MONDAY_AT_TEN, MONDAY_AT_TEN + 30 * DAYS, now=MONDAY_AT_TEN)
    assert slots[-1].starts_at == MONDAY_AT_TEN + 7 * DAYS


def test_a_daily_limit_closes_the_day_once_reached() -> None:
    kind = consultation(daily_limit=2)
    other_kind = consultation()
    busy = [
        booking_of(kind, MONDAY_AT_TEN),
        booking_of(kind, MONDAY_AT_TEN + HOURS),
        booking_of(other_kind, MONDAY_AT_TEN + 3 * HOURS),
    ]

    assert slots_on(schedule(), kind, MONDAY, busy) == []
    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 15), busy).reasons == (Reason.DAILY_LIMIT,)
    assert len(slots_on(schedule(), kind, TUESDAY, busy)) == 16


def test_other_types_and_expired_holds_do_not_count_towards_a_limit_but_live_holds_do() -> None:
    kind = consultation(daily_limit=1)
    now = at(PARIS, 2025, 1, 6, 8)
    expired = hold_of(kind, MONDAY_AT_TEN, expires_at=now - MINUTES)
    live = hold_of(kind, MONDAY_AT_TEN, expires_at=now + MINUTES)

    assert slots_on(schedule(), kind, MONDAY, [booking_of(consultation(), MONDAY_AT_TEN), expired], now=now) != []
    assert slots_on(schedule(), kind, MONDAY, [live], now=now) == []


def test_a_weekly_limit_counts_iso_weeks_from_monday_in_the_resources_zone() -> None:
    nights_and_days = [RecurringPeriod("FREQ=DAILY", time(0), 24 * HOURS)]
    kind = consultation(weekly_limit=1, duration=HOURS)
    where = schedule(working_hours=nights_and_days)
    # Monday 00:30 in Paris is still Sunday in UTC; the week it belongs to is Paris's.
    first_thing_monday = booking_of(kind, at(PARIS, 2025, 1, 6, 0, 30))

    assert why(where, kind, at(PARIS, 2025, 1, 5, 23), [first_thing_monday]).is_bookable
    assert why(where, kind, at(PARIS, 2025, 1, 12, 22), [first_thing_monday]).reasons == (Reason.WEEKLY_LIMIT,)
    assert why(where, kind, at(PARIS, 2025, 1, 13, 0), [first_thing_monday]).is_bookable


def test_a_full_week_and_a_full_day_are_both_named() -> None:
    kind = consultation(daily_limit=1, weekly_limit=1)
    busy = [booking_of(kind, MONDAY_AT_TEN)]

    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 14), busy).reasons == (Reason.DAILY_LIMIT, Reason.WEEKLY_LIMIT)
    assert slots_on(schedule(), kind, date(2025, 1, 10), busy) == []
    assert slots_on(schedule(), kind, NEXT_MONDAY, busy) != []


def test_a_group_session_with_a_seat_left_is_still_offered() -> None:
    group = consultation(capacity=3, duration=HOURS)
    busy = [booking_of(group, MONDAY_AT_TEN), booking_of(group, MONDAY_AT_TEN)]

    session = next(slot for slot in slots_on(schedule(), group, MONDAY, busy) if slot.starts_at == MONDAY_AT_TEN)

    assert session.seats_left == 1
    assert why(schedule(), group, MONDAY_AT_TEN, busy).is_bookable


def test_a_group_session_with_every_seat_taken_is_full() -> None:
    group = consultation(capacity=3, duration=HOURS)
    busy = [booking_of(group, MONDAY_AT_TEN, party_size=2), booking_of(group, MONDAY_AT_TEN)]

    assert why(schedule(), group, MONDAY_AT_TEN, busy).reasons == (Reason.FULL,)
    assert MONDAY_AT_TEN not in [slot.starts_at for slot in slots_on(schedule(), group, MONDAY, busy)]


def test_a_party_that_does_not_fit_the_seats_left_is_refused() -> None:
    group = consultation(capacity=3, duration=HOURS)
    busy = [booking_of(group, MONDAY_AT_TEN, party_size=2)]

    assert why(schedule(), group, MONDAY_AT_TEN, busy, party_size=2).reasons == (Reason.FULL,)
    assert why(schedule(), group, MONDAY_AT_TEN, busy, party_size=1).is_bookable
    assert why(schedule(), consultation(), MONDAY_AT_TEN, party_size=2).reasons == (Reason.FULL,)


def test_a_held_seat_counts_towards_a_group_session() -> None:
    group = consultation(capacity=2, duration=HOURS)
    busy = [booking_of(group, MONDAY_AT_TEN), hold_of(group, MONDAY_AT_TEN, expires_at=MONDAY_AT_TEN)]

    assert why(schedule(), group, MONDAY_AT_TEN, busy, now=MONDAY_AT_TEN - HOURS).reasons == (Reason.FULL,)


def test_only_the_same_session_shares_seats() -> None:
    group = consultation(capacity=3, duration=HOURS, start_every=30 * MINUTES)
    busy = [booking_of(group, MONDAY_AT_TEN)]

    assert why(schedule(), group, MONDAY_AT_TEN + 30 * MINUTES, busy).reasons == (Reason.BOOKED,)
    assert why(schedule(), consultation(capacity=3, duration=HOURS), MONDAY_AT_TEN, busy).reasons == (Reason.BOOKED,)


def test_joining_a_group_session_adds_no_session_to_the_limits() -> None:
    group = consultation(capacity=3, duration=HOURS, daily_limit=1)
    busy = [booking_of(group, MONDAY_AT_TEN)]

    assert why(schedule(), group, MONDAY_AT_TEN, busy).is_bookable
    assert why(schedule(), group, MONDAY_AT_TEN + 2 * HOURS, busy).reasons == (Reason.DAILY_LIMIT,)


def test_searches_take_aware_times_a_known_zone_and_a_real_party() -> None:
    with pytest.raises(InvalidSlotQuery):
        slots_between(schedule(), consultation(), MONDAY_AT_TEN.replace(tzinfo=None), MONDAY_AT_TEN + DAYS)
    with pytest.raises(InvalidSlotQuery):
        slots_between(schedule(), consultation(), MONDAY_AT_TEN, MONDAY_AT_TEN + DAYS, asker_zone="Mars/Olympus")
    with pytest.raises(InvalidSlotQuery):
        slots_between(schedule(), consultation(), MONDAY_AT_TEN, MONDAY_AT_TEN + DAYS, party_size=0)
    with pytest.raises(InvalidSlotQuery):
        why(schedule(), consultation(), MONDAY_AT_TEN, now=MONDAY_AT_TEN.replace(tzinfo=None))
