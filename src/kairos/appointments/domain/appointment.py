"""An appointment's life as an event-sourced aggregate: the decision log *is* its stream of events.

Statuses are FHIR R4 ``Appointment.status``. A request holds its time (status ``pending``) until the
practice decides; declining ends it as ``cancelled`` with the decline recorded as its own event, so the
history says who declined and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar
from uuid import UUID


class Status(StrEnum):
    """FHIR R4 Appointment.status (http://hl7.org/fhir/R4/valueset-appointmentstatus.html)."""

    PROPOSED = "proposed"
    PENDING = "pending"
    BOOKED = "booked"
    ARRIVED = "arrived"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"
    ENTERED_IN_ERROR = "entered-in-error"
    CHECKED_IN = "checked-in"
    WAITLIST = "waitlist"

    @property
    def holds_time(self) -> bool:
        """Whether an appointment in this status keeps its time from anyone else."""
        return self not in {Status.CANCELLED, Status.NOSHOW, Status.ENTERED_IN_ERROR, Status.WAITLIST}


class IllegalTransition(Exception):
    """The command is not allowed in the appointment's current status."""


class ReasonRequired(Exception):
    """This decision must say why."""


@dataclass(frozen=True)
class Period:
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("appointment times must be timezone-aware")
        if self.ends_at <= self.starts_at:
            raise ValueError("an appointment ends after it starts")

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at


# --- events: what happened, with who and why ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AppointmentEvent:
    kind: ClassVar[str]
    appointment_id: UUID
    actor: str
    occurred_at: datetime
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class Requested(AppointmentEvent):
    kind: ClassVar[str] = "requested"
    resource_id: UUID
    patient: str
    organisation_id: UUID
    appointment_type: str
    period: Period
    message: str | None
    answers: dict[str, object] = field(default_factory=dict)
    needs_approval: bool = True


@dataclass(frozen=True, kw_only=True)
class Approved(AppointmentEvent):
    kind: ClassVar[str] = "approved"


@dataclass(frozen=True, kw_only=True)
class Declined(AppointmentEvent):
    kind: ClassVar[str] = "declined"
    reason_code: str


@dataclass(frozen=True, kw_only=True)
class Cancelled(AppointmentEvent):
    kind: ClassVar[str] = "cancelled"


EVENT_TYPES: dict[str, type[AppointmentEvent]] = {cls.kind: cls for cls in (Requested, Approved, Declined, Cancelled)}


# --- the aggregate ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Appointment:
    id: UUID
    resource_id: UUID
    patient: str
    organisation_id: UUID
    appointment_type: str
    period: Period
    status: Status
    message: str | None
    answers: dict[str, object]
    version: int  # how many events the stream holds
    pending_events: tuple[AppointmentEvent, ...] = ()

    @staticmethod
    def request(event: Requested) -> Appointment:
        """A new appointment from its first event (the caller checked the slot and the form)."""
        return Appointment._from_request(event).with_pending(event)

    @staticmethod
    def replay(events: list[AppointmentEvent]) -> Appointment:
        """Rebuild the state from the stream: the projection is only ever this, kept up to date."""
        if not events or not isinstance(events[0], Requested):
            raise ValueError("an appointment's stream starts with its request")
        appointment = Appointment._from_request(events[0])
        for event in events[1:]:
            appointment = appointment._apply(event)
        return appointment

    @staticmethod
    def _from_request(event: Requested) -> Appointment:
        return Appointment(
            id=event.appointment_id,
            resource_id=event.resource_id,
            patient=event.patient,
            organisation_id=event.organisation_id,
            appointment_type=event.appointment_type,
            period=event.period,
            status=Status.PENDING if event.needs_approval else Status.BOOKED,
            message=event.message,
            answers=dict(event.answers),
            version=1,
        )

    # Commands: each checks the transition, then records an event.

    def approve(self, *, by: str, at: datetime) -> Appointment:
        self._require(Status.PENDING, command="approve")
        return self._record(Approved(appointment_id=self.id, actor=by, occurred_at=at))

    def decline(self, *, by: str, at: datetime, reason_code: str, reason: str | None = None) -> Appointment:
        self._require(Status.PENDING, command="decline")
        if not reason_code:
            raise ReasonRequired("a decline needs a reason code")
        return self._record(
            Declined(appointment_id=self.id, actor=by, occurred_at=at, reason_code=reason_code, reason=reason)
        )

    def cancel(self, *, by: str, at: datetime, reason: str) -> Appointment:
        self._require(Status.PENDING, Status.BOOKED, Status.PROPOSED, command="cancel")
        if not reason.strip():
            raise ReasonRequired("a cancellation needs a reason")
        return self._record(Cancelled(appointment_id=self.id, actor=by, occurred_at=at, reason=reason))

    # Mechanics

    def _require(self, *allowed: Status, command: str) -> None:
        if self.status not in allowed:
            raise IllegalTransition(f"cannot {command} an appointment that is {self.status}")

    def _record(self, event: AppointmentEvent) -> Appointment:
        return self._apply(event).with_pending(event)

    def with_pending(self, event: AppointmentEvent) -> Appointment:
        return replace(self, pending_events=(*self.pending_events, event))

    def committed(self) -> Appointment:
        return replace(self, pending_events=())

    def _apply(self, event: AppointmentEvent) -> Appointment:
        match event:
            case Approved():
                status = Status.BOOKED
            case Declined() | Cancelled():
                status = Status.CANCELLED
            case _:
                raise ValueError(f"unknown event {event.kind}")
        return replace(self, status=status, version=self.version + 1)
