"""Events the appointments service publishes: every state change, with what a notification needs."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from kairos.platform.events.envelope import IntegrationEvent


class AppointmentChanged(IntegrationEvent):
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
    event_type: ClassVar[str] = "appointment.requested"
    message: str | None = None


class AppointmentApproved(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.approved"


class AppointmentDeclined(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.declined"
    reason_code: str
    reason: str | None = None


class AppointmentCancelled(AppointmentChanged):
    event_type: ClassVar[str] = "appointment.cancelled"
    reason: str
