"""API models of the workflow: status changes, proposals, reschedules, batch decisions, holds, waitlist."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from kairos.appointments.domain.appointment import Command
from kairos.appointments.domain.waitlist import WaitlistEntry
from kairos.appointments.schemas import AppointmentRead
from kairos.appointments.seats import PlacedHold
from kairos.appointments.workflow import Decision

# The statuses the practice sets, and the command that sets each (FHIR R4 Appointment.status codes).
STATUS_COMMANDS: dict[str, Command] = {
    "arrived": Command.ARRIVE,
    "checked-in": Command.CHECK_IN,
    "fulfilled": Command.FULFIL,
    "noshow": Command.MARK_NO_SHOW,
    "entered-in-error": Command.MARK_ENTERED_IN_ERROR,
}


class _EndsAfterStart(BaseModel):
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = Field(default=None, description="default: the same length as before")

    @model_validator(mode="after")
    def _ends_after_start(self) -> Any:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class StatusChangeCreate(BaseModel):
    status: Literal["arrived", "checked-in", "fulfilled", "noshow", "entered-in-error"] = Field(
        description="FHIR R4 Appointment.status the practice records"
    )
    reason: str | None = Field(default=None, max_length=2000, description="required for entered-in-error")


class ProposalCreate(_EndsAfterStart):
    reason: str | None = Field(default=None, max_length=2000)


class ProposalAnswer(BaseModel):
    accept: bool
    reason: str | None = Field(default=None, max_length=2000)


class RescheduleCreate(_EndsAfterStart):
    reason: str = Field(default="", max_length=2000, description="required when the domain's policy says so")


class DecisionItem(BaseModel):
    appointment_id: UUID
    decision: Literal["approve", "decline", "propose"]
    reason_code: str | None = Field(default=None, max_length=100, examples=["fully_booked"])
    reason: str | None = Field(default=None, max_length=2000)
    starts_at: AwareDatetime | None = Field(default=None, description="the proposed time (propose only)")
    ends_at: AwareDatetime | None = None

    def to_domain(self) -> Decision:
        return Decision(
            appointment_id=self.appointment_id,
            decision=self.decision,
            reason_code=self.reason_code,
            reason=self.reason,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
        )


class BatchDecisionCreate(BaseModel):
    decisions: list[DecisionItem] = Field(min_length=1, max_length=100)


class DecisionOutcome(BaseModel):
    appointment_id: UUID
    outcome: Literal["ok", "problem"]
    appointment: AppointmentRead | None = Field(default=None, description="the appointment now (ok)")
    problem: dict[str, Any] | None = Field(default=None, description="RFC 9457 problem details (problem)")


class BatchDecisionRead(BaseModel):
    """One outcome per decision, in the order given; each decision was its own transaction."""

    results: list[DecisionOutcome]


class HoldCreate(BaseModel):
    appointment_type: str = Field(min_length=1, max_length=100, examples=["consultation"])
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = Field(default=None, description="default: the start plus the type's duration")


class HoldRead(BaseModel):
    id: UUID
    resource_id: UUID
    appointment_type: str
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime = Field(description="request the appointment with this hold_id before then")
    waitlist_entry_id: UUID | None = None

    @classmethod
    def from_domain(cls, hold: PlacedHold) -> HoldRead:
        return cls(
            id=hold.id,
            resource_id=hold.resource_id,
            appointment_type=hold.appointment_type,
            starts_at=hold.period.starts_at,
            ends_at=hold.period.ends_at,
            expires_at=hold.expires_at,
            waitlist_entry_id=hold.waitlist_entry_id,
        )


class WaitlistCreate(BaseModel):
    resource_id: UUID
    appointment_type: str = Field(min_length=1, max_length=100)
    earliest: AwareDatetime = Field(description="a start from this time …")
    latest: AwareDatetime = Field(description="… up to this time (exclusive)")

    @model_validator(mode="after")
    def _in_order(self) -> WaitlistCreate:
        if self.latest <= self.earliest:
            raise ValueError("latest must be after earliest")
        return self


class WaitlistRead(BaseModel):
    id: UUID
    resource_id: UUID
    appointment_type: str
    earliest: datetime
    latest: datetime
    status: Literal["waiting", "offered", "booked", "withdrawn"]
    offered_hold_id: UUID | None
    offered_until: datetime | None
    joined_at: datetime

    @classmethod
    def from_domain(cls, entry: WaitlistEntry) -> WaitlistRead:
        return cls(
            id=entry.id,
            resource_id=entry.resource_id,
            appointment_type=entry.appointment_type,
            earliest=entry.earliest,
            latest=entry.latest,
            status=entry.status.value,
            offered_hold_id=entry.offered_hold_id,
            offered_until=entry.offered_until,
            joined_at=entry.joined_at,
        )
