"""Kairos appointments as FHIR R4 resources and back, with nothing but Python: every resource built here is
checked as valid FHIR R4 (``tests.fhir_r4``)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kairos.appointments.domain.appointment import Appointment, Period, Requested
from kairos.appointments.fhir_mapping import (
    ANSWERS_EXTENSION,
    DECLINE_REASON_EXTENSION,
    AppointmentRecord,
    FhirAppointment,
    FhirAppointmentResponse,
    Unprocessable,
    appointment_resource,
    appointment_response_resource,
    capability_statement,
    parse_response_id,
    response_id,
)
from kairos.appointments.repository import Resource
from tests.fhir_r4 import assert_valid_r4

NOON = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
DOCTOR = Resource(
    id=uuid.uuid4(),
    resource_no=1,
    organisation_id=uuid.uuid4(),
    kind="professional",
    display_name="Dr. Mira Haddad",
    zone="Europe/Paris",
    user_id=None,
    domain="medical",
)


def requested(patient: str = "patient-1", *, resource: Resource = DOCTOR) -> Appointment:
    return Appointment.request(
        Requested(
            appointment_id=uuid.uuid4(),
            actor=patient,
            occurred_at=NOON - timedelta(days=7),
            resource_id=resource.id,
            patient=patient,
            organisation_id=resource.organisation_id,
            appointment_type="consultation",
            period=Period(NOON, NOON + timedelta(minutes=20)),
            message="Back pain since Monday",
            answers={"reason": "Back pain"},
        )
    )


def record(appointment: Appointment, *, resource: Resource = DOCTOR) -> AppointmentRecord:
    return AppointmentRecord(appointment.committed(), appointment.pending_events, resource, "Consultation")


def test_a_request_awaiting_a_decision() -> None:
    resource = appointment_resource(record(requested()))
    assert_valid_r4(resource)
    assert resource["status"] == "pending"
    assert [participant["status"] for participant in resource["participant"]] == ["accepted", "needs-action"]
    assert "cancelationReason" not in resource


def test_a_declined_request_says_why_and_who_declined() -> None:
    declined = requested().decline(by="doctor-1", at=NOON, reason_code="fully_booked", reason="Try next week")
    resource = appointment_resource(record(declined))
    assert_valid_r4(resource)
    assert resource["status"] == "cancelled"
    assert resource["participant"][1]["status"] == "declined"
    assert resource["cancelationReason"]["coding"][0]["code"] == "fully_booked"
    assert resource["cancelationReason"]["text"] == "Try next week"

    answer = appointment_response_resource(record(declined), 2)
    assert answer is not None
    assert_valid_r4(answer)
    assert answer["participantStatus"] == "declined"
    assert answer["extension"] == [{"url": DECLINE_REASON_EXTENSION, "valueCode": "fully_booked"}]
    assert appointment_response_resource(record(declined), 1) is None  # the request is no response
    assert appointment_response_resource(record(declined), 3) is None


def test_whoever_cancels_shows_as_the_declining_participant() -> None:
    by_patient = requested().approve(by="doctor-1", at=NOON).cancel(by="patient-1", at=NOON, reason="Feeling better")
    resource = appointment_resource(record(by_patient))
    assert_valid_r4(resource)
    assert [participant["status"] for participant in resource["participant"]] == ["declined", "accepted"]
    assert resource["cancelationReason"] == {"text": "Feeling better"}

    by_practice = requested().approve(by="doctor-1", at=NOON).cancel(by="doctor-1", at=NOON, reason="Doctor is ill")
    assert [p["status"] for p in appointment_resource(record(by_practice))["participant"]] == ["accepted", "declined"]


def test_an_earlier_version_is_the_stream_replayed_up_to_it() -> None:
    approved = record(requested().approve(by="doctor-1", at=NOON))
    first = approved.at_version(1)
    assert first is not None
    assert appointment_resource(first)["status"] == "pending"
    assert appointment_resource(first)["meta"]["versionId"] == "1"
    assert approved.at_version(3) is None
    assert approved.at_version(0) is None


def test_rooms_are_locations_and_a_subject_that_is_no_fhir_id_is_a_logical_reference() -> None:
    room = Resource(
        id=uuid.uuid4(),
        resource_no=2,
        organisation_id=DOCTOR.organisation_id,
        kind="room",
        display_name="Treatment room 2",
        zone="Europe/Paris",
        user_id=None,
    )
    resource = appointment_resource(record(requested("someone@example.org", resource=room), resource=room))
    assert_valid_r4(resource)
    patient, booked = (participant["actor"] for participant in resource["participant"])
    assert patient == {
        "type": "Patient",
        "identifier": {"system": "urn:kairos:subject", "value": "someone@example.org"},
    }
    assert booked["reference"] == f"Location/{room.id}"


def test_the_capability_statement_is_valid_r4() -> None:
    assert_valid_r4(
        capability_statement(base="https://kairos.test/fhir/R4", issuer="https://id.test/", software_version="1")
    )


def test_a_response_id_names_the_appointment_and_the_event() -> None:
    appointment_id = uuid.uuid4()
    assert parse_response_id(response_id(appointment_id, 2)) == (appointment_id, 2)
    assert parse_response_id("not-an-id") is None


def fhir_appointment(**changes: Any) -> FhirAppointment:
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "pending",
        "serviceType": [{"coding": [{"system": "urn:kairos:fhir:appointment-type", "code": "consultation"}]}],
        "start": "2027-03-01T13:00:00+01:00",
        "minutesDuration": 30,
        "participant": [
            {"actor": {"reference": "https://kairos.test/fhir/R4/Patient/patient-1"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{DOCTOR.id}"}, "status": "needs-action"},
        ],
        "extension": [{"url": ANSWERS_EXTENSION, "valueString": json.dumps({"reason": "Back pain"})}],
        "identifier": [{"value": "kept by the client, ignored here"}],
    }
    body.update(changes)
    return FhirAppointment.model_validate(body)


def test_an_appointment_to_create_becomes_a_request() -> None:
    asked = fhir_appointment().to_request()
    assert asked.patient == "patient-1"
    assert (asked.resource_type, asked.resource_id) == ("Practitioner", DOCTOR.id)
    assert asked.appointment_type == "consultation"
    assert asked.starts_at == NOON
    assert asked.ends_at == NOON + timedelta(minutes=30)
    assert asked.answers == {"reason": "Back pain"}
    assert asked.message is None


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "booked"},
        {"start": None},
        {"participant": [{"actor": {"reference": "Patient/patient-1"}, "status": "accepted"}]},
        {"serviceType": [{"coding": [{"system": "http://snomed.info/sct", "code": "11429006"}]}]},
        {"appointmentType": {"coding": [{"code": "follow-up"}]}},  # disagrees with serviceType
    ],
)
def test_a_valid_appointment_that_is_no_request_here_is_unprocessable(changes: dict[str, Any]) -> None:
    with pytest.raises(Unprocessable):
        fhir_appointment(**changes).to_request()


def response(**changes: Any) -> FhirAppointmentResponse:
    body: dict[str, Any] = {
        "resourceType": "AppointmentResponse",
        "appointment": {"reference": f"Appointment/{DOCTOR.id}"},
        "participantStatus": "declined",
    }
    body.update(changes)
    return FhirAppointmentResponse.model_validate(body)


@pytest.mark.parametrize(
    ("changes", "code", "reason"),
    [
        ({"comment": "fully_booked"}, "fully_booked", None),
        ({"comment": "fully_booked: try next week"}, "fully_booked", "try next week"),
        ({"comment": " needs_referral :\nask your GP "}, "needs_referral", "ask your GP"),
        (
            {"comment": "Try next week", "extension": [{"url": DECLINE_REASON_EXTENSION, "valueCode": "fully_booked"}]},
            "fully_booked",
            "Try next week",
        ),
    ],
)
def test_a_decline_takes_its_reason_code_from_the_extension_or_the_comments_first_word(
    changes: dict[str, Any], code: str, reason: str | None
) -> None:
    decision = response(**changes).to_decision()
    assert not decision.approve
    assert (decision.reason_code, decision.reason) == (code, reason)


@pytest.mark.parametrize(
    "changes",
    [
        {"comment": "Sorry, we are fully booked"},
        {},
        {"participantStatus": "tentative", "comment": "fully_booked"},
        {"appointment": {"reference": "Appointment/not-a-uuid"}},
        {"appointment": {"reference": f"Patient/{DOCTOR.id}"}},
        {"participantStatus": "accepted", "actor": {"reference": "Patient/patient-1"}},
    ],
)
def test_a_response_that_cannot_be_a_decision_is_unprocessable(changes: dict[str, Any]) -> None:
    with pytest.raises(Unprocessable):
        response(**changes).to_decision()
