"""A domain (medical, legal, …) is data, not code: its words, appointment types, the form a request
carries (JSON Schema), which types need approval and which requests are approved by rule, its reason
codes, its cancellation and reschedule policy, how long holds and waitlist offers last, and whom each
change notifies through which channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from kairos.appointments.domain.availability import AppointmentType
from kairos.appointments.domain.notifications import DEFAULT_RULES, NotificationRule


class InvalidConfiguration(Exception):
    """The domain configuration cannot be used as given."""


class UnknownAppointmentType(Exception):
    """The domain has no such appointment type."""


class AnswersRejected(Exception):
    """The request's custom fields do not match the domain's form."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{error['field'] or 'form'}: {error['message']}" for error in errors))
        self.errors = errors

    @property
    def problem_extensions(self) -> dict[str, object]:
        return {"errors": self.errors}


@dataclass(frozen=True)
class Terminology:
    client: str  # "patient", "client"
    professional: str  # "doctor", "lawyer"


@dataclass(frozen=True)
class AppointmentTypeSettings:
    code: str
    label: str
    duration: timedelta
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    needs_approval: bool = True  # False: booked at once (auto-approval)
    capacity: int = 1
    minimum_notice: timedelta = timedelta(0)
    booking_horizon: timedelta | None = None
    daily_limit: int | None = None
    weekly_limit: int | None = None
    start_every: timedelta | None = None  # None: one slot every duration

    def for_slot_search(self) -> AppointmentType:
        """The slot engine's view of this type."""
        return AppointmentType(
            code=self.code,
            duration=self.duration,
            buffer_before=self.buffer_before,
            buffer_after=self.buffer_after,
            minimum_notice=self.minimum_notice,
            booking_horizon=self.booking_horizon,
            daily_limit=self.daily_limit,
            weekly_limit=self.weekly_limit,
            capacity=self.capacity,
            start_every=self.start_every,
        )

    def __post_init__(self) -> None:
        if self.duration <= timedelta(0):
            raise InvalidConfiguration(f"appointment type {self.code}: the duration must be positive")
        if self.buffer_before < timedelta(0) or self.buffer_after < timedelta(0):
            raise InvalidConfiguration(f"appointment type {self.code}: buffers cannot be negative")
        if self.capacity < 1:
            raise InvalidConfiguration(f"appointment type {self.code}: capacity is at least 1")


class CutoffPassed(Exception):
    """Too close to the start for the patient to change the appointment; the practice still can."""


class RescheduleLimitReached(Exception):
    """The appointment was moved as often as the domain allows."""


@dataclass(frozen=True)
class CancellationPolicy:
    """What patients may change themselves, and until when: cancelling and rescheduling. The practice's
    people are bound by neither the cut-off nor the limit (they may need to move anything)."""

    cutoff: timedelta = timedelta(hours=24)  # patients cannot cancel or reschedule later than this before the start
    reason_required: bool = True  # for cancelling and rescheduling
    max_reschedules: int | None = 2  # None: no limit

    def __post_init__(self) -> None:
        if self.cutoff < timedelta(0):
            raise InvalidConfiguration("the cut-off cannot be negative")
        if self.max_reschedules is not None and self.max_reschedules < 0:
            raise InvalidConfiguration("the reschedule limit cannot be negative")

    def check_patient_change(self, *, starts_at: datetime, now: datetime) -> None:
        if now > starts_at - self.cutoff:
            hours = self.cutoff.total_seconds() / 3600
            raise CutoffPassed(f"changes by the patient end {hours:g} hours before the start")

    def check_reschedule(self, *, reschedules_so_far: int) -> None:
        if self.max_reschedules is not None and reschedules_so_far >= self.max_reschedules:
            raise RescheduleLimitReached(f"an appointment may be moved at most {self.max_reschedules} times")


@dataclass(frozen=True)
class AutoApprovalRule:
    """A request that meets every condition given here is booked at once, without waiting for the practice."""

    name: str
    appointment_types: tuple[str, ...] = ()  # empty: any type of the domain
    minimum_notice: timedelta = timedelta(0)  # requested at least this long before the start
    maximum_notice: timedelta | None = None  # and at most this long before it
    answers: dict[str, Any] = field(default_factory=dict)  # form answers that must have exactly these values
    returning_patients_only: bool = False  # the patient had an appointment fulfilled by the organisation

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidConfiguration("an auto-approval rule has a name")
        if self.minimum_notice < timedelta(0):
            raise InvalidConfiguration(f"auto-approval rule {self.name}: the notice cannot be negative")
        if self.maximum_notice is not None and self.maximum_notice < self.minimum_notice:
            raise InvalidConfiguration(f"auto-approval rule {self.name}: the maximum notice is below the minimum")

    def matches(
        self,
        *,
        appointment_type: str,
        starts_at: datetime,
        now: datetime,
        answers: dict[str, Any],
        is_returning_patient: bool,
    ) -> bool:
        notice = starts_at - now
        return (
            (not self.appointment_types or appointment_type in self.appointment_types)
            and notice >= self.minimum_notice
            and (self.maximum_notice is None or notice <= self.maximum_notice)
            and all(name in answers and answers[name] == value for name, value in self.answers.items())
            and (is_returning_patient or not self.returning_patients_only)
        )


@dataclass(frozen=True)
class DomainConfiguration:
    name: str
    label: str
    terminology: Terminology
    appointment_types: tuple[AppointmentTypeSettings, ...]
    form_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    reason_codes: tuple[str, ...] = ()
    cancellation: CancellationPolicy = CancellationPolicy()
    auto_approval: tuple[AutoApprovalRule, ...] = ()
    hold_duration: timedelta = timedelta(minutes=5)  # how long a slot stays reserved while a form is filled in
    waitlist_offer_window: timedelta = timedelta(hours=2)  # how long a freed slot waits for a waitlisted patient
    notifications: tuple[NotificationRule, ...] = DEFAULT_RULES  # which change tells whom, how (notifications.py)

    def __post_init__(self) -> None:
        codes = [kind.code for kind in self.appointment_types]
        if not codes:
            raise InvalidConfiguration("a domain offers at least one appointment type")
        if len(set(codes)) != len(codes):
            raise InvalidConfiguration("appointment type codes must be unique")
        for rule in self.auto_approval:
            unknown = set(rule.appointment_types) - set(codes)
            if unknown:
                raise InvalidConfiguration(f"auto-approval rule {rule.name}: no appointment type {sorted(unknown)}")
        if len({rule.name for rule in self.auto_approval}) != len(self.auto_approval):
            raise InvalidConfiguration("auto-approval rule names must be unique")
        if self.hold_duration <= timedelta(0) or self.waitlist_offer_window <= timedelta(0):
            raise InvalidConfiguration("holds and waitlist offers last a positive time")
        try:
            Draft202012Validator.check_schema(self.form_schema)
        except SchemaError as error:
            raise InvalidConfiguration(f"the form is not a valid JSON Schema: {error.message}") from error
        if self.form_schema.get("type") != "object":
            raise InvalidConfiguration('the form schema must describe an object ({"type": "object", …})')

    def appointment_type(self, code: str) -> AppointmentTypeSettings:
        for kind in self.appointment_types:
            if kind.code == code:
                return kind
        raise UnknownAppointmentType(f"{self.name} has no appointment type {code!r}")

    def auto_approval_rule(
        self,
        *,
        appointment_type: str,
        starts_at: datetime,
        now: datetime,
        answers: dict[str, Any],
        is_returning_patient: bool,
    ) -> AutoApprovalRule | None:
        """The first rule that approves this request at once, if any."""
        for rule in self.auto_approval:
            if rule.matches(
                appointment_type=appointment_type,
                starts_at=starts_at,
                now=now,
                answers=answers,
                is_returning_patient=is_returning_patient,
            ):
                return rule
        return None

    def check_answers(self, answers: dict[str, Any]) -> None:
        """Raise ``AnswersRejected`` listing every field that breaks the form (JSON Schema 2020-12)."""
        validator = Draft202012Validator(self.form_schema)
        errors = [
            {"field": "/".join(str(part) for part in error.absolute_path), "message": error.message}
            for error in sorted(validator.iter_errors(answers), key=lambda error: list(error.absolute_path))
        ]
        if errors:
            raise AnswersRejected(errors)
