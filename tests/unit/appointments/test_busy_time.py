"""Existing appointments with their buffers, holds while a form is filled in, and imported busy times."""

from __future__ import annotations

from datetime import date

import pytest

from kairos.appointments.domain.availability import Booking, Hold, ImportedBusyTime, InvalidBusyTime
from kairos.appointments.domain.slots import Reason

from .factories import (
    HOURS,
    MINUTES,
    PARIS,
    at,
    booking_of,
    consultation,
    hold_of,
    local_times,
    schedule,
    slots_on,
    why,
)

MONDAY = date(2025, 1, 6)
TEN = at(PARIS, 2025, 1, 6, 10)
EVERY_QUARTER = 15 * MINUTES


def test_a_booking_takes_the_slots_it_overlaps() -> None:
    kind = consultation(start_every=EVERY_QUARTER)
    busy = [booking_of(kind, TEN)]

    offered = local_times(slots_on(schedule(), kind, MONDAY, busy))

    assert "09:30" in offered
    assert {"09:45", "10:00", "10:15"}.isdisjoint(offered)
    assert "10:30" in offered
    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 9, 45), busy).reasons == (Reason.BOOKED,)


def test_the_buffer_after_an_existing_appointment_keeps_the_next_slot_away() -> None:
    with_cleanup = consultation(buffer_after=15 * MINUTES)
    busy = [booking_of(with_cleanup, TEN)]
    kind = consultation(start_every=EVERY_QUARTER)

    offered = local_times(slots_on(schedule(), kind, MONDAY, busy))

    assert "10:30" not in offered
    assert "10:45" in offered
    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 10, 30), busy).reasons == (Reason.BUFFER,)


def test_the_buffer_before_an_existing_appointment_keeps_the_previous_slot_away() -> None:
    with_preparation = consultation(buffer_before=15 * MINUTES)
    busy = [booking_of(with_preparation, TEN)]
    kind = consultation(start_every=EVERY_QUARTER)

    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 9, 30), busy).reasons == (Reason.BUFFER,)
    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 9, 15), busy).is_bookable


def test_the_new_appointments_own_buffers_keep_it_away_from_existing_ones() -> None:
    existing = consultation()
    busy = [booking_of(existing, TEN)]
    kind = consultation(start_every=EVERY_QUARTER, buffer_before=15 * MINUTES, buffer_after=30 * MINUTES)

    offered = local_times(slots_on(schedule(), kind, MONDAY, busy))

    assert "09:00" in offered
    assert "09:15" not in offered
    assert "10:30" not in offered
    assert "10:45" in offered


def test_buffers_add_up_as_the_databases_blocked_times_do() -> None:
    busy = [booking_of(consultation(buffer_after=10 * MINUTES), TEN)]  # blocked until 10:40
    kind = consultation(buffer_before=10 * MINUTES, start_every=5 * MINUTES)

    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 10, 45), busy).reasons == (Reason.BUFFER,)
    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 10, 50), busy).is_bookable


def test_buffers_need_not_fit_in_working_hours() -> None:
    kind = consultation(buffer_before=30 * MINUTES, buffer_after=30 * MINUTES)

    assert local_times(slots_on(schedule(), kind, MONDAY))[0] == "09:00"
    assert local_times(slots_on(schedule(), kind, MONDAY))[-1] == "16:30"


def test_imported_busy_time_blocks_like_a_booking_and_respects_the_new_buffers() -> None:
    busy = [ImportedBusyTime(starts_at=TEN, ends_at=TEN + HOURS)]
    kind = consultation(buffer_after=15 * MINUTES, start_every=EVERY_QUARTER)

    assert why(schedule(), kind, TEN + 30 * MINUTES, busy).reasons == (Reason.BUSY_ELSEWHERE,)
    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 9, 30), busy).reasons == (Reason.BUFFER,)
    assert why(schedule(), kind, at(PARIS, 2025, 1, 6, 11), busy).is_bookable


def test_a_live_hold_takes_its_slot_and_an_expired_one_does_not() -> None:
    kind = consultation()
    now = at(PARIS, 2025, 1, 6, 8)
    live = hold_of(kind, TEN, expires_at=now + 10 * MINUTES)
    expired = hold_of(kind, TEN + HOURS, expires_at=now - MINUTES)

    offered = local_times(slots_on(schedule(), kind, MONDAY, [live, expired], now=now))

    assert "10:00" not in offered
    assert "11:00" in offered
    assert why(schedule(), kind, TEN, [live], now=now).reasons == (Reason.HELD,)
    assert why(schedule(), kind, TEN, [live], now=now + HOURS).is_bookable


def test_bookings_in_other_zones_are_the_same_instants() -> None:
    kind = consultation()
    busy = [booking_of(kind, TEN.astimezone(at("America/New_York", 2025, 1, 6).tzinfo))]

    assert "10:00" not in local_times(slots_on(schedule(), kind, MONDAY, busy))


def test_several_reasons_are_all_given() -> None:
    kind = consultation(start_every=EVERY_QUARTER)
    now = TEN + 20 * MINUTES
    busy = [booking_of(kind, TEN), hold_of(kind, TEN + 30 * MINUTES, expires_at=now + 10 * MINUTES)]

    explanation = why(schedule(), kind, TEN + 15 * MINUTES, busy, now=now)

    assert explanation.reasons == (Reason.NOTICE, Reason.BOOKED, Reason.HELD)


def test_busy_times_are_aware_and_run_forward() -> None:
    kind = consultation()
    with pytest.raises(InvalidBusyTime):
        ImportedBusyTime(starts_at=TEN, ends_at=TEN)
    with pytest.raises(InvalidBusyTime):
        Booking(starts_at=TEN.replace(tzinfo=None), ends_at=TEN + HOURS, appointment_type=kind.code)
    with pytest.raises(InvalidBusyTime):
        Booking(starts_at=TEN, ends_at=TEN + HOURS, appointment_type=kind.code, party_size=0)
    with pytest.raises(InvalidBusyTime):
        Hold(starts_at=TEN, ends_at=TEN + HOURS, appointment_type=kind.code, expires_at=TEN.replace(tzinfo=None))
