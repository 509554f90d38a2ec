"""The directory of bookable professionals: who is listed, and the earliest time each can be booked.

A professional is listed from identity's "verified" event until its "lapsed" event or the verification's
expiry, whichever comes first. The earliest free time is the first slot the slot engine offers on any of the
professional's resources, searched in growing windows (a day, a week, then the rest of a bounded horizon)
so that a professional free tomorrow costs one day's search, not a month's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from kairos.appointments.domain.availability import AppointmentType
from kairos.appointments.domain.slots import ResourceAvailability, Slot, find_slots

EARLIEST_FREE_HORIZON = timedelta(days=28)
SEARCH_STEPS = (timedelta(days=1), timedelta(days=7))


@dataclass(frozen=True)
class Listing:
    """What the directory keeps of a professional's verification."""

    listed: bool
    expires_at: datetime | None

    def is_visible(self, now: datetime) -> bool:
        return self.listed and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class Bookable:
    """One resource of a professional, with the appointment type its earliest time is searched for."""

    availability: ResourceAvailability
    appointment_type: AppointmentType


def earliest_free_slot(
    bookables: Sequence[Bookable], *, now: datetime, horizon: timedelta = EARLIEST_FREE_HORIZON
) -> tuple[Slot, Bookable] | None:
    """The earliest slot any of ``bookables`` offers from ``now`` to ``now + horizon``, and whose it is."""
    window_start = now
    ends = [now + step for step in SEARCH_STEPS if step < horizon] + [now + horizon]
    for window_end in ends:
        found: list[tuple[Slot, Bookable]] = []
        for bookable in bookables:
            slots = find_slots(
                bookable.availability.schedule,
                bookable.appointment_type,
                bookable.availability.busy,
                window_start=window_start,
                window_end=window_end,
                now=now,
                asker_zone="UTC",
            )
            if slots:
                found.append((slots[0], bookable))
        if found:
            return min(found, key=lambda item: (item[0].starts_at, str(item[0].resource_id)))
        window_start = window_end
    return None
