"""Slots of "any suitable professional": every resource searched, merged by time, each slot naming its resource."""

from __future__ import annotations

from datetime import date, time

from kairos.appointments.domain.availability import RecurringPeriod
from kairos.appointments.domain.slots import ResourceAvailability, Slot, find_slots_across

from .factories import HOURS, NEW_YORK, PARIS, at, booking_of, consultation, local_times, schedule, slots_on

MONDAY = date(2025, 1, 6)
EARLY_MORNINGS = RecurringPeriod("FREQ=WEEKLY;BYDAY=MO", time(9), 2 * HOURS)
LATE_MORNINGS = RecurringPeriod("FREQ=WEEKLY;BYDAY=MO", time(10), 2 * HOURS)
CONSULTATION = consultation(duration=HOURS)


def search_across(resources: list[ResourceAvailability], asker_zone: str = PARIS) -> list[Slot]:
    return find_slots_across(
        resources,
        CONSULTATION,
        window_start=at(PARIS, 2025, 1, 6),
        window_end=at(PARIS, 2025, 1, 7),
        now=at(PARIS, 2025, 1, 1),
        asker_zone=asker_zone,
    )


def test_slots_of_all_resources_are_merged_in_time_order_with_their_resource() -> None:
    doctor_a = schedule(working_hours=[EARLY_MORNINGS])
    doctor_b = schedule(working_hours=[LATE_MORNINGS])

    slots = search_across([ResourceAvailability(doctor_a, ()), ResourceAvailability(doctor_b, ())])

    assert [(slot.local_starts_at.strftime("%H:%M"), slot.resource_id) for slot in slots] == sorted(
        [
            ("09:00", doctor_a.resource_id),
            ("10:00", doctor_a.resource_id),
            ("10:00", doctor_b.resource_id),
            ("11:00", doctor_b.resource_id),
        ]
    )
    assert slots == sorted(slots)


def test_a_booked_professional_leaves_the_time_to_another() -> None:
    doctor_a = schedule(working_hours=[EARLY_MORNINGS])
    doctor_b = schedule(working_hours=[LATE_MORNINGS])
    taken = booking_of(CONSULTATION, at(PARIS, 2025, 1, 6, 10))

    slots = search_across([ResourceAvailability(doctor_a, (taken,)), ResourceAvailability(doctor_b, ())])

    ten_oclock = [slot for slot in slots if slot.local_starts_at.hour == 10]
    assert [slot.resource_id for slot in ten_oclock] == [doctor_b.resource_id]


def test_professionals_in_other_zones_are_presented_in_the_askers_zone() -> None:
    in_paris = schedule(working_hours=[EARLY_MORNINGS])
    in_new_york = schedule(zone=NEW_YORK, working_hours=[RecurringPeriod("FREQ=WEEKLY;BYDAY=MO", time(3), HOURS)])

    slots = search_across([ResourceAvailability(in_paris, ()), ResourceAvailability(in_new_york, ())], NEW_YORK)

    assert local_times(slots) == ["03:00", "03:00", "04:00"]
    assert {slot.zone for slot in slots} == {NEW_YORK}
    assert slots[0].starts_at == at(PARIS, 2025, 1, 6, 9)


def test_two_schedules_of_one_resource_offering_the_same_time_give_one_slot() -> None:
    doctor = schedule(working_hours=[EARLY_MORNINGS])
    the_same_again = ResourceAvailability(doctor, ())

    assert len(search_across([the_same_again, the_same_again])) == len(slots_on(doctor, CONSULTATION, MONDAY))
