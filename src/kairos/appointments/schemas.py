"""API models of the appointments service."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from kairos.appointments.domain.appointment import Appointment, AppointmentEvent
from kairos.appointments.domain.configuration import (
    AppointmentTypeSettings,
    CancellationPolicy,
    DomainConfiguration,
    Terminology,
)
from kairos.appointments.repository import Resource, encode_event


class ResourceCreate(BaseModel):
    organisation_id: UUID
    kind: Literal["professional", "room", "device"] = "professional"
    display_name: str = Field(min_length=1, max_length=200)
    zone: str = Field(examples=["Europe/Paris"], max_length=64)
    user_id: str | None = Field(default=None, description="the professional's account at identity")
    domain: str | None = Field(default=None, examples=["medical"], description="whose types and form apply")


class ResourceRead(BaseModel):
    id: UUID
    organisation_id: UUID
    kind: str
    display_name: str
    zone: str
    domain: str | None

    @classmethod
    def from_domain(cls, resource: Resource) -> ResourceRead:
        return cls(
            id=resource.id,
            organisation_id=resource.organisation_id,
            kind=resource.kind,
            display_name=resource.display_name,
            zone=resource.zone,
            domain=resource.domain,
        )


class AppointmentCreate(BaseModel):
    resource_id: UUID
    appointment_type: str = Field(min_length=1, max_length=100, examples=["consultation"])
    starts_at: AwareDatetime = Field(examples=["2026-12-01T09:00:00+01:00"])
    ends_at: AwareDatetime | None = Field(
        default=None,
        examples=["2026-12-01T09:30:00+01:00"],
        description="defaults to the start plus the appointment type's duration",
    )
    message: str | None = Field(default=None, max_length=4000)
    answers: dict[str, Any] = Field(default_factory=dict, description="the domain's custom fields (its form)")

    @model_validator(mode="after")
    def _ends_after_start(self) -> AppointmentCreate:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


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


class TerminologyModel(BaseModel):
    client: str = Field(examples=["patient"])
    professional: str = Field(examples=["doctor"])


class AppointmentTypeModel(BaseModel):
    code: str = Field(pattern=r"^[a-z0-9_-]{1,100}$", examples=["consultation"])
    label: str = Field(max_length=200, examples=["Consultation"])
    duration_minutes: int = Field(gt=0, le=24 * 60)
    buffer_before_minutes: int = Field(default=0, ge=0, le=24 * 60)
    buffer_after_minutes: int = Field(default=0, ge=0, le=24 * 60)
    needs_approval: bool = True
    capacity: int = Field(default=1, ge=1, le=1000)


class CancellationModel(BaseModel):
    cutoff_hours: float = Field(default=24, ge=0)
    reason_required: bool = True


class DomainWrite(BaseModel):
    """A domain's configuration: its words, appointment types, request form (JSON Schema) and rules."""

    label: str = Field(max_length=200, examples=["Medical practice"])
    terminology: TerminologyModel
    appointment_types: list[AppointmentTypeModel] = Field(min_length=1)
    form_schema: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object"},
        description="JSON Schema (2020-12) of the custom fields a request carries",
        examples=[{"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]}],
    )
    reason_codes: list[str] = Field(default_factory=list, examples=[["fully_booked", "needs_referral"]])
    cancellation: CancellationModel = Field(default_factory=CancellationModel)

    def to_domain(self, name: str) -> DomainConfiguration:
        return DomainConfiguration(
            name=name,
            label=self.label,
            terminology=Terminology(client=self.terminology.client, professional=self.terminology.professional),
            appointment_types=tuple(
                AppointmentTypeSettings(
                    code=kind.code,
                    label=kind.label,
                    duration=timedelta(minutes=kind.duration_minutes),
                    buffer_before=timedelta(minutes=kind.buffer_before_minutes),
                    buffer_after=timedelta(minutes=kind.buffer_after_minutes),
                    needs_approval=kind.needs_approval,
                    capacity=kind.capacity,
                )
                for kind in self.appointment_types
            ),
            form_schema=self.form_schema,
            reason_codes=tuple(self.reason_codes),
            cancellation=CancellationPolicy(
                cutoff=timedelta(hours=self.cancellation.cutoff_hours),
                reason_required=self.cancellation.reason_required,
            ),
        )


class DomainRead(DomainWrite):
    name: str
    version: int

    @classmethod
    def from_domain(cls, configuration: DomainConfiguration, version: int) -> DomainRead:
        return cls(
            name=configuration.name,
            version=version,
            label=configuration.label,
            terminology=TerminologyModel(
                client=configuration.terminology.client, professional=configuration.terminology.professional
            ),
            appointment_types=[
                AppointmentTypeModel(
                    code=kind.code,
                    label=kind.label,
                    duration_minutes=int(kind.duration.total_seconds() // 60),
                    buffer_before_minutes=int(kind.buffer_before.total_seconds() // 60),
                    buffer_after_minutes=int(kind.buffer_after.total_seconds() // 60),
                    needs_approval=kind.needs_approval,
                    capacity=kind.capacity,
                )
                for kind in configuration.appointment_types
            ],
            form_schema=configuration.form_schema,
            reason_codes=list(configuration.reason_codes),
            cancellation=CancellationModel(
                cutoff_hours=configuration.cancellation.cutoff.total_seconds() / 3600,
                reason_required=configuration.cancellation.reason_required,
            ),
        )
