"""An appointment's life as an event-sourced aggregate: the decision log *is* its stream of events.

Statuses are FHIR R4 ``Appointment.status`` (http://hl7.org/fhir/R4/valueset-appointmentstatus.html). A
request holds its time (status ``pending``) until the practice decides; declining ends it as
``cancelled`` with the decline recorded as its own event, so the history says who declined and why.

Which command is allowed in which status, and the status it leads to, is written once, in
``TRANSITIONS``; every command and the replay of every event go through it.
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


class Command(StrEnum):
    """What someone may do to an appointment; the values are the API's words for them."""

    APPROVE = "approve"
    DECLINE = "decline"
    PROPOSE = "propose"  # the practice offers another time
    ACCEPT_PROPOSAL = "accept-proposal"
    REJECT_PROPOSAL = "reject-proposal"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    ARRIVE = "arrive"
    CHECK_IN = "check-in"
    FULFIL = "fulfil"
    MARK_NO_SHOW = "no-show"
    MARK_ENTERED_IN_ERROR = "entered-in-error"


@dataclass(frozen=True)
class Transition:
    allowed_from: frozenset[Status]
    to: Status | None  # None: the status stays as it is


def _from(*statuses: Status) -> frozenset[Status]:
    return frozenset(statuses)


# The workflow, in one place. FHIR R4 Appointment.status: a patient arrives, then is checked in (the
# administrative work done, waiting to be seen), then the appointment is fulfilled; "entered-in-error"
# may end any record that should not have existed.
TRANSITIONS: dict[Command, Transition] = {
    Command.APPROVE: Transition(_from(Status.PENDING), Status.BOOKED),
    Command.DECLINE: Transition(_from(Status.PENDING), Status.CANCELLED),
    Command.PROPOSE: Transition(_from(Status.PENDING, Status.PROPOSED), Status.PROPOSED),
    Command.ACCEPT_PROPOSAL: Transition(_from(Status.PROPOSED), Status.BOOKED),
    Command.REJECT_PROPOSAL: Transition(_from(Status.PROPOSED), Status.CANCELLED),
    Command.RESCHEDULE: Transition(_from(Status.PENDING, Status.BOOKED), None),
    Command.CANCEL: Transition(_from(Status.PROPOSED, Status.PENDING, Status.BOOKED), Status.CANCELLED),
    Command.ARRIVE: Transition(_from(Status.BOOKED), Status.ARRIVED),
    Command.CHECK_IN: Transition(_from(Status.BOOKED, Status.ARRIVED), Status.CHECKED_IN),
    Command.FULFIL: Transition(_from(Status.ARRIVED, Status.CHECKED_IN), Status.FULFILLED),
    Command.MARK_NO_SHOW: Transition(_from(Status.BOOKED), Status.NOSHOW),
    Command.MARK_ENTERED_IN_ERROR: Transition(frozenset(Status) - {Status.ENTERED_IN_ERROR}, Status.ENTERED_IN_ERROR),
}


def is_allowed(command: Command, status: Status) -> bool:
    return status in TRANSITIONS[command].allowed_from


class IllegalTransition(Exception):
    """The command is not allowed in the appointment's current status."""


class ReasonRequired(Exception):
    """This decision must say why."""


class NotYet(Exception):
    """Too early for this: the appointment has not started."""


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
    command: ClassVar[Command | None] = None  # the transition it records (None: the first event)
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
    command: ClassVar[Command | None] = Command.APPROVE


@dataclass(frozen=True, kw_only=True)
class Declined(AppointmentEvent):
    kind: ClassVar[str] = "declined"
    command: ClassVar[Command | None] = Command.DECLINE
    reason_code: str


@dataclass(frozen=True, kw_only=True)
class Cancelled(AppointmentEvent):
    kind: ClassVar[str] = "cancelled"
    command: ClassVar[Command | None] = Command.CANCEL


@dataclass(frozen=True, kw_only=True)
class Proposed(AppointmentEvent):
    """The practice offers another time; the appointment takes that time while the patient answers."""

    kind: ClassVar[str] = "proposed"
    command: ClassVar[Command | None] = Command.PROPOSE
    period: Period


@dataclass(frozen=True, kw_only=True)
class ProposalAccepted(AppointmentEvent):
    kind: ClassVar[str] = "proposal_accepted"
    command: ClassVar[Command | None] = Command.ACCEPT_PROPOSAL


@dataclass(frozen=True, kw_only=True)
class ProposalRejected(AppointmentEvent):
    kind: ClassVar[str] = "proposal_rejected"
    command: ClassVar[Command | None] = Command.REJECT_PROPOSAL


@dataclass(frozen=True, kw_only=True)
class Rescheduled(AppointmentEvent):
    """Moved to another time, keeping its id and history."""

    kind: ClassVar[str] = "rescheduled"
    command: ClassVar[Command | None] = Command.RESCHEDULE
    period: Period


@dataclass(frozen=True, kw_only=True)
class Arrived(AppointmentEvent):
    kind: ClassVar[str] = "arrived"
    command: ClassVar[Command | None] = Command.ARRIVE


@dataclass(frozen=True, kw_only=True)
class CheckedIn(AppointmentEvent):
    kind: ClassVar[str] = "checked_in"
    command: ClassVar[Command | None] = Command.CHECK_IN


@dataclass(frozen=True, kw_only=True)
class Fulfilled(AppointmentEvent):
    kind: ClassVar[str] = "fulfilled"
    command: ClassVar[Command | None] = Command.FULFIL


@dataclass(frozen=True, kw_only=True)
class MarkedNoShow(AppointmentEvent):
    kind: ClassVar[str] = "no_show"
    command: ClassVar[Command | None] = Command.MARK_NO_SHOW


@dataclass(frozen=True, kw_only=True)
class EnteredInError(AppointmentEvent):
    kind: ClassVar[str] = "entered_in_error"
    command: ClassVar[Command | None] = Command.MARK_ENTERED_IN_ERROR


EVENT_TYPES: dict[str, type[AppointmentEvent]] = {
    cls.kind: cls
    for cls in (
        Requested,
        Approved,
        Declined,
        Cancelled,
        Proposed,
        ProposalAccepted,
        ProposalRejected,
        Rescheduled,
        Arrived,
        CheckedIn,
        Fulfilled,
        MarkedNoShow,
        EnteredInError,
    )
}


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
    reschedules: int = 0  # how often it was moved (the policy may limit it)
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

    def allows(self, command: Command) -> bool:
        return is_allowed(command, self.status)

    # Commands: each checks the transition, then records an event.

    def approve(self, *, by: str, at: datetime, reason: str | None = None) -> Appointment:
        return self._record(Approved(appointment_id=self.id, actor=by, occurred_at=at, reason=reason))

    def decline(self, *, by: str, at: datetime, reason_code: str, reason: str | None = None) -> Appointment:
        self._require(Command.DECLINE)
        if not reason_code:
            raise ReasonRequired("a decline needs a reason code")
        return self._record(
            Declined(appointment_id=self.id, actor=by, occurred_at=at, reason_code=reason_code, reason=reason)
        )

    def cancel(self, *, by: str, at: datetime, reason: str, reason_required: bool = True) -> Appointment:
        self._require(Command.CANCEL)
        _require_reason(reason, required=reason_required, what="a cancellation")
        return self._record(Cancelled(appointment_id=self.id, actor=by, occurred_at=at, reason=reason or None))

    def propose(self, period: Period, *, by: str, at: datetime, reason: str | None = None) -> Appointment:
        self._require(Command.PROPOSE)
        return self._record(Proposed(appointment_id=self.id, actor=by, occurred_at=at, period=period, reason=reason))

    def accept_proposal(self, *, by: str, at: datetime) -> Appointment:
        return self._record(ProposalAccepted(appointment_id=self.id, actor=by, occurred_at=at))

    def reject_proposal(self, *, by: str, at: datetime, reason: str | None = None) -> Appointment:
        return self._record(ProposalRejected(appointment_id=self.id, actor=by, occurred_at=at, reason=reason))

    def reschedule(
        self, period: Period, *, by: str, at: datetime, reason: str, reason_required: bool = True
    ) -> Appointment:
        self._require(Command.RESCHEDULE)
        _require_reason(reason, required=reason_required, what="a reschedule")
        if period == self.period:
            raise IllegalTransition("the appointment is already at that time")
        return self._record(
            Rescheduled(appointment_id=self.id, actor=by, occurred_at=at, period=period, reason=reason or None)
        )

    def arrive(self, *, by: str, at: datetime) -> Appointment:
        return self._record(Arrived(appointment_id=self.id, actor=by, occurred_at=at))

    def check_in(self, *, by: str, at: datetime) -> Appointment:
        return self._record(CheckedIn(appointment_id=self.id, actor=by, occurred_at=at))

    def fulfil(self, *, by: str, at: datetime) -> Appointment:
        return self._record(Fulfilled(appointment_id=self.id, actor=by, occurred_at=at))

    def mark_no_show(self, *, by: str, at: datetime) -> Appointment:
        self._require(Command.MARK_NO_SHOW)
        if at < self.period.starts_at:
            raise NotYet("a patient can be marked as not come only once the appointment has started")
        return self._record(MarkedNoShow(appointment_id=self.id, actor=by, occurred_at=at))

    def mark_entered_in_error(self, *, by: str, at: datetime, reason: str) -> Appointment:
        self._require(Command.MARK_ENTERED_IN_ERROR)
        _require_reason(reason, required=True, what="marking a record entered in error")
        return self._record(EnteredInError(appointment_id=self.id, actor=by, occurred_at=at, reason=reason))

    # Mechanics

    def _require(self, command: Command) -> None:
        if not self.allows(command):
            raise IllegalTransition(f"cannot {command.value} an appointment that is {self.status}")

    def _record(self, event: AppointmentEvent) -> Appointment:
        return self._apply(event).with_pending(event)

    def with_pending(self, event: AppointmentEvent) -> Appointment:
        return replace(self, pending_events=(*self.pending_events, event))

    def committed(self) -> Appointment:
        return replace(self, pending_events=())

    def _apply(self, event: AppointmentEvent) -> Appointment:
        if event.command is None:
            raise ValueError(f"{event.kind} cannot follow the first event")
        self._require(event.command)
        transition = TRANSITIONS[event.command]
        moved = replace(self, status=transition.to or self.status, version=self.version + 1)
        match event:
            case Rescheduled(period=period):
                return replace(moved, period=period, reschedules=self.reschedules + 1)
            case Proposed(period=period):
                return replace(moved, period=period)
        return moved


def _require_reason(reason: str | None, *, required: bool, what: str) -> None:
    if required and not (reason or "").strip():
        raise ReasonRequired(f"{what} needs a reason")
