"""API models of the appointments service."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from kairos.appointments.domain.appointment import Appointment, AppointmentEvent
from kairos.appointments.domain.availability import DaysOff, ExtraHours, RecurringPeriod, Schedule
from kairos.appointments.domain.configuration import (
    DomainConfiguration,
)
from kairos.appointments.domain.slots import Slot
from kairos.appointments.repository import Resource, decode_configuration, encode_configuration, encode_event


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
    hold_id: UUID | None = Field(default=None, description="a hold of the caller's for this time, to take it with")

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
    patient: str = Field(description="the patient's account (identity's subject)")
    patient_name: str | None = Field(
        default=None,
        description="the patient's display name as identity last published it; null when not known here "
        "(lists and reads of an appointment give it, commands' answers do not)",
    )
    appointment_type: str
    starts_at: datetime
    ends_at: datetime
    status: str = Field(description="FHIR R4 Appointment.status")
    message: str | None
    answers: dict[str, Any] = Field(description="the answers to the domain's custom fields (its form)")
    version: int

    @classmethod
    def from_domain(cls, appointment: Appointment, *, patient_name: str | None = None) -> AppointmentRead:
        return cls(
            id=appointment.id,
            resource_id=appointment.resource_id,
            organisation_id=appointment.organisation_id,
            patient=appointment.patient,
            patient_name=patient_name,
            appointment_type=appointment.appointment_type,
            starts_at=appointment.period.starts_at,
            ends_at=appointment.period.ends_at,
            status=appointment.status.value,
            message=appointment.message,
            answers=dict(appointment.answers),
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
    minimum_notice_minutes: int = Field(default=0, ge=0, description="how long before its start a slot closes")
    booking_horizon_days: int | None = Field(default=None, ge=1, description="how far ahead slots are offered")
    daily_limit: int | None = Field(default=None, ge=1, description="sessions of this type per resource per day")
    weekly_limit: int | None = Field(default=None, ge=1, description="sessions per resource per ISO week")
    start_every_minutes: int | None = Field(default=None, ge=5, description="slot grid; default: the duration")


class CancellationModel(BaseModel):
    """What patients may change themselves: cancelling and rescheduling (the practice is not bound by it)."""

    cutoff_hours: float = Field(default=24, ge=0, description="no change by the patient later than this before")
    reason_required: bool = True
    max_reschedules: int | None = Field(default=2, ge=0, description="times a patient may move; null: no limit")


class AutoApprovalRuleModel(BaseModel):
    """A request meeting every condition given is booked at once."""

    name: str = Field(pattern=r"^[a-z0-9_-]{1,100}$", examples=["known-follow-ups"])
    appointment_types: list[str] = Field(default_factory=list, description="empty: any type of the domain")
    minimum_notice_hours: float = Field(default=0, ge=0)
    maximum_notice_hours: float | None = Field(default=None, ge=0)
    answers: dict[str, Any] = Field(
        default_factory=dict,
        description="form answers that must have exactly these values",
        examples=[{"first_visit": False}],
    )
    returning_patients_only: bool = Field(default=False, description="the patient had an appointment fulfilled here")


Change = Literal[
    "requested",
    "approved",
    "declined",
    "cancelled",
    "proposed",
    "proposal_accepted",
    "proposal_rejected",
    "rescheduled",
    "arrived",
    "checked_in",
    "fulfilled",
    "no_show",
    "entered_in_error",
    "waitlist_offered",
    "reminder",
]
Recipient = Literal["patient", "professional", "staff"]
Channel = Literal["email", "sms", "push", "in_app"]


class NotificationRuleModel(BaseModel):
    """Which change tells whom, through which channels; several rules for one change add up."""

    change: Change = Field(description="the appointment's change, or `reminder` (before its start)")
    recipients: list[Recipient] = Field(min_length=1, description="staff: the organisation's reception and admins")
    channels: list[Channel] = Field(min_length=1)
    before_hours: list[float] = Field(
        default_factory=list, max_length=10, description="reminders only: hours before the start, one reminder each"
    )


NOTIFICATION_EXAMPLE = [
    {"change": "requested", "recipients": ["professional", "staff"], "channels": ["in_app", "email"]},
    {"change": "approved", "recipients": ["patient"], "channels": ["email", "push"]},
    {"change": "reminder", "recipients": ["patient"], "channels": ["sms"], "before_hours": [24, 2]},
]


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
    auto_approval: list[AutoApprovalRuleModel] = Field(default_factory=list, max_length=50)
    hold_minutes: float = Field(default=5, gt=0, le=24 * 60, description="how long a hold reserves a slot")
    waitlist_offer_minutes: float = Field(
        default=120, gt=0, le=14 * 24 * 60, description="how long a freed slot waits for the waitlisted patient"
    )
    notifications: list[NotificationRuleModel] | None = Field(
        default=None,
        max_length=100,
        description="which change notifies whom through which channels; absent or null: the default rules. "
        "Each change event of an appointment carries the rules resolved for it (`notify`, `reminders`).",
        examples=[NOTIFICATION_EXAMPLE],
    )

    def to_domain(self, name: str) -> DomainConfiguration:
        # The stored form and this one share their field names: one codec serves both.
        return decode_configuration({**self.model_dump(), "name": name})


class DomainRead(DomainWrite):
    name: str
    version: int

    @classmethod
    def from_domain(cls, configuration: DomainConfiguration, version: int) -> DomainRead:
        return cls.model_validate({**encode_configuration(configuration), "version": version})


class RecurringPeriodModel(BaseModel):
    rule: str = Field(
        examples=["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"], description="RFC 5545 RRULE, daily or weekly, in local time"
    )
    start_time: time = Field(examples=["09:00"])
    duration_minutes: int = Field(gt=0, le=24 * 60)


class DaysOffModel(BaseModel):
    first_day: date
    last_day: date


class ExtraHoursModel(BaseModel):
    day: date
    start_time: time
    duration_minutes: int = Field(gt=0, le=24 * 60)


class ScheduleWrite(BaseModel):
    """A resource's working time in its own zone: weekly hours and breaks as rules, days off, extra hours."""

    zone: str = Field(examples=["Europe/Paris"], max_length=64)
    valid_from: date
    valid_until: date | None = None
    working_hours: list[RecurringPeriodModel] = Field(min_length=1)
    breaks: list[RecurringPeriodModel] = Field(default_factory=list)
    days_off: list[DaysOffModel] = Field(default_factory=list)
    extra_hours: list[ExtraHoursModel] = Field(default_factory=list)

    def to_domain(self, resource_id: UUID) -> Schedule:
        def periods(items: list[RecurringPeriodModel]) -> tuple[RecurringPeriod, ...]:
            return tuple(RecurringPeriod(p.rule, p.start_time, timedelta(minutes=p.duration_minutes)) for p in items)

        return Schedule(
            id=resource_id,
            resource_id=resource_id,
            location_id=resource_id,
            zone=self.zone,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            working_hours=periods(self.working_hours),
            breaks=periods(self.breaks),
            days_off=tuple(DaysOff(d.first_day, d.last_day) for d in self.days_off),
            extra_hours=tuple(
                ExtraHours(e.day, e.start_time, timedelta(minutes=e.duration_minutes)) for e in self.extra_hours
            ),
        )

    @classmethod
    def from_domain(cls, schedule: Schedule) -> ScheduleWrite:
        def periods(items: tuple[RecurringPeriod, ...]) -> list[RecurringPeriodModel]:
            return [
                RecurringPeriodModel(
                    rule=p.rule, start_time=p.start_time, duration_minutes=int(p.duration.total_seconds() // 60)
                )
                for p in items
            ]

        return cls(
            zone=schedule.zone,
            valid_from=schedule.valid_from,
            valid_until=schedule.valid_until,
            working_hours=periods(schedule.working_hours),
            breaks=periods(schedule.breaks),
            days_off=[DaysOffModel(first_day=d.first_day, last_day=d.last_day) for d in schedule.days_off],
            extra_hours=[
                ExtraHoursModel(
                    day=e.day, start_time=e.start_time, duration_minutes=int(e.duration.total_seconds() // 60)
                )
                for e in schedule.extra_hours
            ],
        )


class SlotRead(BaseModel):
    starts_at: datetime = Field(description="in the asker's zone")
    ends_at: datetime
    resource_id: UUID
    seats_left: int

    @classmethod
    def from_domain(cls, slot: Slot) -> SlotRead:
        return cls(
            starts_at=slot.local_starts_at,
            ends_at=slot.local_ends_at,
            resource_id=slot.resource_id,
            seats_left=slot.seats_left,
        )


class ExplanationRead(BaseModel):
    starts_at: datetime
    ends_at: datetime
    bookable: bool
    reasons: list[str] = Field(examples=[["buffer", "notice"]], description="why the time is not offered")


# --- the directory and calendars ----------------------------------------------------------------------------


class DirectoryResourceRead(BaseModel):
    id: UUID
    kind: str
    display_name: str
    zone: str
    domain: str | None


class EarliestFreeRead(BaseModel):
    starts_at: datetime = Field(description="in UTC")
    ends_at: datetime
    resource_id: UUID
    appointment_type: str


class ProfessionalRead(BaseModel):
    user_id: str = Field(description="the professional's account at identity")
    organisation_id: UUID
    display_name: str
    specialty: str
    languages: list[str] = Field(examples=[["en", "fr"]])
    location: str | None
    resources: list[DirectoryResourceRead] = Field(description="what can be booked of this professional")
    earliest_free: EarliestFreeRead | None = Field(
        description="the first free slot within the next four weeks, or null when there is none"
    )


class CalendarFeedCreated(BaseModel):
    url: str = Field(description="the feed's secret address: anyone who has it can read the feed")
    token: str = Field(description="shown once; only a hash of it is kept")


class CalendarUrlImportCreate(BaseModel):
    url: str = Field(min_length=8, max_length=2000, examples=["https://calendar.example/busy.ics"])
    name: str = Field(default="Imported calendar", min_length=1, max_length=200)


class CalendarImportRead(BaseModel):
    id: UUID
    resource_id: UUID
    source: Literal["file", "url"]
    url: str | None
    name: str
    created_at: datetime
    refreshed_at: datetime | None
    next_refresh_at: datetime | None = Field(description="when a URL is read again; null for a file")
    last_error: str | None = Field(description="why the last refresh failed (the busy time read before stays)")
    busy_count: int = Field(description="busy blocks read from it")


class ResourceProfessionalRead(BaseModel):
    """The professional a resource books, from the directory of verified professionals."""

    resource_id: UUID
    user_id: str = Field(description="the professional's account at identity")
    organisation_id: UUID
    display_name: str
    verified: bool = Field(description="verified by the organisation now; what follows is shown only then")
    verified_until: datetime | None = Field(description="when the verification lapses, if it does")
    specialty: str | None
    languages: list[str] = Field(examples=[["en", "fr"]])
    location: str | None
