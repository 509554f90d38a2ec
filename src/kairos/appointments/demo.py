"""Demo data: two visibly different domains (a medical practice, a law firm) and their bookable people."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from kairos.appointments.directory import seed_professional
from kairos.appointments.domain.availability import RecurringPeriod, Schedule
from kairos.appointments.domain.configuration import (
    AppointmentTypeSettings,
    CancellationPolicy,
    DomainConfiguration,
    Terminology,
)
from kairos.appointments.domain.notifications import LEGAL_RULES, MEDICAL_RULES
from kairos.appointments.repository import AppointmentsUnitOfWork, Resource
from kairos.contracts.demo import HARBOUR_DOCTOR, HARBOUR_MEDICAL_PRACTICE, LINDQVIST_LAWYER, LINDQVIST_RAO_LAW
from kairos.platform.config import Settings
from kairos.platform.ids import new_id

MEDICAL = DomainConfiguration(
    name="medical",
    label="Medical practice",
    terminology=Terminology(client="patient", professional="doctor"),
    appointment_types=(
        AppointmentTypeSettings(
            code="consultation",
            label="Consultation",
            duration=timedelta(minutes=20),
            buffer_after=timedelta(minutes=5),
            minimum_notice=timedelta(hours=2),
            booking_horizon=timedelta(days=60),
        ),
        AppointmentTypeSettings(
            code="follow-up", label="Follow-up", duration=timedelta(minutes=15), needs_approval=False
        ),
    ),
    form_schema={
        "type": "object",
        "properties": {
            "reason": {"type": "string", "title": "Reason for the visit", "minLength": 3, "maxLength": 500},
            "insurance_number": {"type": "string", "title": "Health insurance number", "pattern": "^[0-9A-Z]{6,20}$"},
            "allergies": {"type": "array", "title": "Allergies", "items": {"type": "string"}},
            "first_visit": {"type": "boolean", "title": "First visit to this practice"},
        },
        "required": ["reason"],
        "additionalProperties": False,
    },
    reason_codes=("fully_booked", "needs_referral", "wrong_specialty", "emergency_call_112"),
    cancellation=CancellationPolicy(cutoff=timedelta(hours=24), reason_required=True),
    notifications=MEDICAL_RULES,
)

LEGAL = DomainConfiguration(
    name="legal",
    label="Law firm",
    terminology=Terminology(client="client", professional="lawyer"),
    appointment_types=(
        AppointmentTypeSettings(
            code="initial-consultation",
            label="Initial consultation",
            duration=timedelta(minutes=60),
            buffer_before=timedelta(minutes=10),
            buffer_after=timedelta(minutes=10),
        ),
        AppointmentTypeSettings(code="case-review", label="Case review", duration=timedelta(minutes=30)),
    ),
    form_schema={
        "type": "object",
        "properties": {
            "matter": {
                "type": "string",
                "title": "Kind of matter",
                "enum": ["family", "employment", "housing", "business", "criminal", "other"],
            },
            "opposing_party": {"type": "string", "title": "Opposing party (for the conflict check)", "maxLength": 200},
            "urgent": {"type": "boolean", "title": "A deadline within 14 days"},
            "summary": {"type": "string", "title": "Short summary", "maxLength": 2000},
        },
        "required": ["matter", "opposing_party"],
        "additionalProperties": False,
    },
    reason_codes=("conflict_of_interest", "outside_practice_area", "fully_booked"),
    cancellation=CancellationPolicy(cutoff=timedelta(hours=48), reason_required=True),
    notifications=LEGAL_RULES,
)

WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"

RESOURCES = (
    (HARBOUR_MEDICAL_PRACTICE, "Dr. Mira Haddad", "Europe/Paris", "medical"),
    (HARBOUR_MEDICAL_PRACTICE, "Treatment room 2", "Europe/Paris", "medical"),
    (LINDQVIST_RAO_LAW, "Erik Lindqvist", "Europe/Stockholm", "legal"),
)

# The directory's demo professionals, as identity's "verified" events would list them; the events, when they
# come, update these rows (same account ids).
PROFESSIONALS = {
    "Dr. Mira Haddad": (HARBOUR_DOCTOR, "General practice", ("en", "fr", "ar"), "Harbour Medical Practice, Marseille"),
    "Erik Lindqvist": (LINDQVIST_LAWYER, "Family law", ("sv", "en"), "Lindqvist & Rao Law, Stockholm"),
}
# Long ago, so that any event of identity's about them is newer and wins.
LISTED_SINCE = datetime(2000, 1, 1, tzinfo=UTC)


async def load_demo_data(uow: AppointmentsUnitOfWork, settings: Settings) -> None:
    at = uow.clock.now()
    for configuration in (MEDICAL, LEGAL):
        await uow.appointments.put_domain(configuration, at=at)
    for organisation_id, name, zone, domain in RESOURCES:
        resource = await uow.appointments.add_resource(
            Resource(
                id=new_id(),
                resource_no=0,
                organisation_id=organisation_id,
                kind="room" if name.startswith("Treatment") else "professional",
                display_name=name,
                zone=zone,
                user_id=str(PROFESSIONALS[name][0]) if name in PROFESSIONALS else None,
                domain=domain,
            )
        )
        if name in PROFESSIONALS:
            user_id, specialty, languages, location = PROFESSIONALS[name]
            await seed_professional(
                uow,
                user_id=user_id,
                organisation_id=organisation_id,
                display_name=name,
                specialty=specialty,
                languages=languages,
                location=location,
                at=LISTED_SINCE,
            )
        # Weekdays 09:00-12:30 and 14:00-17:30 in the resource's own zone, from today on.
        await uow.appointments.put_schedule(
            Schedule(
                id=resource.id,
                resource_id=resource.id,
                location_id=resource.id,
                zone=zone,
                valid_from=at.date(),
                working_hours=(
                    RecurringPeriod(WEEKDAYS, time(9, 0), timedelta(hours=3, minutes=30)),
                    RecurringPeriod(WEEKDAYS, time(14, 0), timedelta(hours=3, minutes=30)),
                ),
            ),
            at=at,
        )
