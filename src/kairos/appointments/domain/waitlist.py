"""Patients waiting for time to free up on a resource: who is offered a freed time first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # a freed time is held for the patient until ``offered_until``
    BOOKED = "booked"  # the patient took an offer
    WITHDRAWN = "withdrawn"


class InvalidWaitlistEntry(ValueError):
    """A waitlist entry that cannot mean anything."""


@dataclass(frozen=True)
class WaitlistEntry:
    id: UUID
    resource_id: UUID
    patient: str
    appointment_type: str
    earliest: datetime  # starts wanted from …
    latest: datetime  # … up to, exclusive
    joined_at: datetime
    status: WaitlistStatus = WaitlistStatus.WAITING
    offered_hold_id: UUID | None = None
    offered_until: datetime | None = None

    def __post_init__(self) -> None:
        if self.earliest.tzinfo is None or self.latest.tzinfo is None:
            raise InvalidWaitlistEntry("waitlist times must be timezone-aware")
        if self.latest <= self.earliest:
            raise InvalidWaitlistEntry("a waitlist entry ends after it starts")

    def is_waiting(self, now: datetime) -> bool:
        """Waiting for an offer: never offered one, or the last offer lapsed."""
        if self.status is WaitlistStatus.WAITING:
            return True
        return self.status is WaitlistStatus.OFFERED and self.offered_until is not None and self.offered_until <= now

    def wants(self, *, resource_id: UUID, appointment_type: str, starts_at: datetime) -> bool:
        return (
            self.resource_id == resource_id
            and self.appointment_type == appointment_type
            and self.earliest <= starts_at < self.latest
        )


def next_in_line(
    entries: Iterable[WaitlistEntry],
    *,
    resource_id: UUID,
    appointment_type: str,
    starts_at: datetime,
    now: datetime,
    freed_by: str,
) -> WaitlistEntry | None:
    """The patient who waited longest for this time; never the patient who just gave it up."""
    candidates = [
        entry
        for entry in entries
        if entry.is_waiting(now)
        and entry.patient != freed_by
        and entry.wants(resource_id=resource_id, appointment_type=appointment_type, starts_at=starts_at)
    ]
    return min(candidates, key=lambda entry: (entry.joined_at, entry.id), default=None)
