"""API models of the appointments service."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from kairos.appointments.domain.appointment import Appointment, AppointmentEvent, Period
from kairos.appointments.repository import Resource, encode_event


class ResourceCreate(BaseModel):
    organisation_id: UUID
    kind: Literal["professional", "room", "device"] = "professional"
    display_name: str = Field(min_length=1, max_length=200)
    zone: str = Field(examples=["Europe/Paris"], max_length=64)
    user_id: str | None = Field(default=None, description="the professional's account at identity")


class ResourceRead(BaseModel):
    id: UUID
    organisation_id: UUID
    kind: str
    display_name: str
    zone: str

    @classmethod
    def from_domain(cls, resource: Resource) -> ResourceRead:
        return cls(
            id=resource.id,
            organisation_id=resource.organisation_id,
            kind=resource.kind,
            display_name=resource.display_name,
            zone=resource.zone,
        )


class AppointmentCreate(BaseModel):
    resource_id: UUID
    appointment_type: str = Field(min_length=1, max_length=100, examples=["consultation"])
    starts_at: AwareDatetime = Field(examples=["2026-12-01T09:00:00+01:00"])
    ends_at: AwareDatetime = Field(examples=["2026-12-01T09:30:00+01:00"])
    message: str | None = Field(default=None, max_length=4000)
    answers: dict[str, Any] = Field(default_factory=dict, description="the domain's custom fields")

    @model_validator(mode="after")
    def _ends_after_start(self) -> AppointmentCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def period(self) -> Period:
        return Period(self.starts_at, self.ends_at)


class DecisionCreate(BaseModel):
    decision: Literal["approve", "decline"]
    reason_code: str | None = Field(default=None, max_length=100, examples=["fully_booked"])
    reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _decline_needs_a_reason(self) -> DecisionCreate:
        if self.decision == "decline" and not self.reason_code:
            raise ValueError("a decline needs a reason_code")
        return self


class CancellationCreate(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class AppointmentRead(BaseModel):
    id: UUID
    resource_id: UUID
    organisation_id: UUID
    patient: str
    appointment_type: str
    starts_at: datetime
    ends_at: datetime
    status: str = Field(description="FHIR R4 Appointment.status")
    message: str | None
    version: int

    @classmethod
    def from_domain(cls, appointment: Appointment) -> AppointmentRead:
        return cls(
            id=appointment.id,
            resource_id=appointment.resource_id,
            organisation_id=appointment.organisation_id,
            patient=appointment.patient,
            appointment_type=appointment.appointment_type,
            starts_at=appointment.period.starts_at,
            ends_at=appointment.period.ends_at,
            status=appointment.status.value,
            message=appointment.message,
            version=appointment.version,
        )


class HistoryEntry(BaseModel):
    kind: str = Field(examples=["declined"])
    actor: str
    occurred_at: datetime
    reason: str | None
    data: dict[str, Any]

    @classmethod
    def from_domain(cls, event: AppointmentEvent) -> HistoryEntry:
        return cls(
            kind=event.kind,
            actor=event.actor,
            occurred_at=event.occurred_at,
            reason=event.reason,
            data=encode_event(event),
        )


class AppointmentWithHistory(AppointmentRead):
    history: list[HistoryEntry]
