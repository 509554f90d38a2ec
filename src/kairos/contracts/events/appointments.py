"""Events the appointments service publishes: every state change, with what a notification needs."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kairos.platform.events.envelope import IntegrationEvent

Channel = Literal["email", "sms", "push", "in_app"]


class NotificationTarget(BaseModel):
    """One recipient of a change, resolved from the domain's notification rules, and its channels."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipient: Literal["patient", "professional", "staff"]
    user_id: str | None = None  # the patient's or the professional's account (identity's subject)
    organisation_id: UUID | None = None  # staff: whose organisation's reception and admins
    channels: list[Channel]


class ReminderTarget(BaseModel):
    """A reminder to schedule ``before_hours`` before the start, while the appointment holds its time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    before_hours: float
    notify: list[NotificationTarget]


class Addressed(IntegrationEvent):
    """Who is told of this event and how, resolved when it was published (empty on events published before the
    rules existed: the notification service then applies its defaults). Filled in by the appointments service
    from the domain's rules (``notification_rules`` names which domain and version)."""

    notify: list[NotificationTarget] = Field(default_factory=list)
    reminders: list[ReminderTarget] = Field(default_factory=list)
    notification_rules: str | None = None  # "<domain>@<version>", or "default" for a resource without domain


class AppointmentChanged(Addressed):
    """Fields common to every appointment event: who, with whom, when, and the status it is now in."""

    appointment_id: UUID
    resource_id: UUID
    organisation_id: UUID
    patient: str
    starts_at: datetime
    ends_at: datetime
    status: str
    actor: str


class AppointmentRequested(AppointmentChanged):
    """A patient asked for a time. The request's message and form answers are health data: they stay in the
    appointments service, encrypted at rest, and are never carried here (events sit unencrypted in outboxes
    and queues); whoever needs them reads the appointment through the API, which authorises and audits."""

    event_type: ClassVar[str] = "appointment.requested"
    message: str | None = None  # kept for compatibility with version 1 consumers; always null now
    has_message: bool = False  # whether the patient wrote a message (to say so in a notification)


class AppointmentApproved(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.approved"


class AppointmentDeclined(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.declined"
    reason_code: str
    reason: str | None = None


class AppointmentCancelled(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.cancelled"
    reason: str


class AppointmentProposed(AppointmentChanged):
    """The practice proposes another time (``starts_at``/``ends_at``); the patient accepts or rejects it."""

    event_type: ClassVar[str] = "appointment.proposed"
    previous_starts_at: datetime
    previous_ends_at: datetime
    reason: str | None = None


class AppointmentProposalAccepted(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.proposal_accepted"


class AppointmentProposalRejected(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.proposal_rejected"
    reason: str | None = None


class AppointmentRescheduled(AppointmentChanged):
    """Moved to another time (``starts_at``/``ends_at``), keeping its id and history."""

    event_type: ClassVar[str] = "appointment.rescheduled"
    previous_starts_at: datetime
    previous_ends_at: datetime
    reason: str | None = None


class AppointmentArrived(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.arrived"


class AppointmentCheckedIn(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.checked_in"


class AppointmentFulfilled(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.fulfilled"


class AppointmentNoShow(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.no_show"


class AppointmentEnteredInError(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.entered_in_error"
    reason: str


class SlotHeld(IntegrationEvent):
    """A time is reserved for a patient until ``expires_at`` (while a form is filled in, or a waitlist offer)."""

    event_type: ClassVar[str] = "appointment.slot_held"
    hold_id: UUID
    resource_id: UUID
    organisation_id: UUID
    patient: str
    appointment_type: str
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime


class SlotHoldReleased(IntegrationEvent):
    """A hold was given back before it expired (an expired hold simply stops counting: no event)."""

    event_type: ClassVar[str] = "appointment.slot_hold_released"
    hold_id: UUID
    resource_id: UUID
    starts_at: datetime
    ends_at: datetime


class WaitlistJoined(IntegrationEvent):
    event_type: ClassVar[str] = "appointment.waitlist_joined"
    waitlist_entry_id: UUID
    resource_id: UUID
    organisation_id: UUID
    patient: str
    appointment_type: str
    earliest: datetime
    latest: datetime


class AppointmentWaitlistOffered(Addressed):
    """A freed time is held for a waitlisted patient, who books it with ``hold_id`` before ``offered_until``."""

    event_type: ClassVar[str] = "appointment.waitlist_offered"
    waitlist_entry_id: UUID
    resource_id: UUID
    organisation_id: UUID
    patient: str
    appointment_type: str
    starts_at: datetime
    ends_at: datetime
    hold_id: UUID
    offered_until: datetime


class DomainChanged(IntegrationEvent):
    """A domain's configuration has a new version: its appointment types, form and policies as now published."""

    event_type: ClassVar[str] = "appointment.domain_changed"
    name: str
    version: int


class ResourceChanged(IntegrationEvent):
    """A bookable resource was added or its working hours changed: what its schedule and free times show."""

    event_type: ClassVar[str] = "appointment.resource_changed"
    resource_id: UUID


class DirectoryChanged(IntegrationEvent):
    """A professional's directory entry changed (listed, unlisted, renamed), once identity's event is applied
    here: readers of the directory see the change from this event on."""

    event_type: ClassVar[str] = "appointment.directory_changed"
    user_id: str
