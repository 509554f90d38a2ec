"""A domain (medical, legal, …) is data, not code: its words, appointment types, the form a request
carries (JSON Schema), which types need approval, its reason codes and its cancellation policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from kairos.appointments.domain.availability import AppointmentType


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


@dataclass(frozen=True)
class CancellationPolicy:
    cutoff: timedelta = timedelta(hours=24)  # patients cannot cancel later than this before the start
    reason_required: bool = True


@dataclass(frozen=True)
class DomainConfiguration:
    name: str
    label: str
    terminology: Terminology
    appointment_types: tuple[AppointmentTypeSettings, ...]
    form_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    reason_codes: tuple[str, ...] = ()
    cancellation: CancellationPolicy = CancellationPolicy()

    def __post_init__(self) -> None:
        codes = [kind.code for kind in self.appointment_types]
        if not codes:
            raise InvalidConfiguration("a domain offers at least one appointment type")
        if len(set(codes)) != len(codes):
            raise InvalidConfiguration("appointment type codes must be unique")
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

    def check_answers(self, answers: dict[str, Any]) -> None:
        """Raise ``AnswersRejected`` listing every field that breaks the form (JSON Schema 2020-12)."""
        validator = Draft202012Validator(self.form_schema)
        errors = [
            {"field": "/".join(str(part) for part in error.absolute_path), "message": error.message}
            for error in sorted(validator.iter_errors(answers), key=lambda error: list(error.absolute_path))
        ]
        if errors:
            raise AnswersRejected(errors)
