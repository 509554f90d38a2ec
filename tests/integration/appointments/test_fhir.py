"""The FHIR R4 facade at /fhir/R4, on the real database with the demo's two domains: the CapabilityStatement,
Appointment read, search and create, AppointmentResponse, SMART scopes, and errors as OperationOutcomes.
Every response under /fhir/R4 is checked as valid FHIR R4 (``fhir_r4``) as it arrives."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from kairos.appointments.fhir_mapping import ANSWERS_EXTENSION, APPOINTMENT_TYPE_SYSTEM, DECLINE_REASON_EXTENSION
from kairos.contracts.demo import HARBOUR_MEDICAL_PRACTICE, LINDQVIST_RAO_LAW
from kairos.platform.config import Settings
from kairos.platform.testing.issuer import TestIssuer
from tests.fhir_r4 import assert_valid_r4
from tests.integration.appointments.conftest import appointments_service

pytestmark = pytest.mark.integration

FHIR = "/fhir/R4"
REST = "/api/v1/appointments"
PATIENT_SCOPES = "openid patient/Appointment.read patient/Appointment.write"
STAFF_SCOPES = "openid user/Appointment.rs user/AppointmentResponse.cr"
MEDICAL_ANSWERS = {"reason": "Recurring headaches"}


async def check_fhir(response: httpx.Response) -> None:
    """Every answer of the facade is FHIR R4 JSON (SMART discovery is plain JSON, by its own specification)."""
    if not response.request.url.path.startswith(FHIR):
        return
    await response.aread()
    if response.request.url.path.endswith("/.well-known/smart-configuration"):
        assert response.headers["content-type"] == "application/json"
        return
    assert response.headers["content-type"] == "application/fhir+json", response.text
    if response.request.method != "HEAD":
        assert_valid_r4(response.json())


@dataclass
class Fhir:
    client: httpx.AsyncClient
    issuer: TestIssuer
    doctor: str
    room: str
    lawyer: str

    def patient(self, name: str, scope: str = PATIENT_SCOPES) -> dict[str, str]:
        return self._bearer(sub=name, roles=["patient"], permissions=["appointments:request"], scope=scope)

    def professional(
        self, organisation: uuid.UUID = HARBOUR_MEDICAL_PRACTICE, scope: str = STAFF_SCOPES
    ) -> dict[str, str]:
        return self._bearer(
            sub=f"doctor-{organisation}",
            roles=["professional"],
            permissions=["appointments:read", "appointments:decide"],
            org=str(organisation),
            scope=scope,
        )

    def operator(self, scope: str) -> dict[str, str]:
        return self._bearer(sub="operator-1", roles=["operator"], scope=scope)

    def system(self, scope: str = "system/*.read") -> dict[str, str]:
        # A client-credentials token as identity issues it: the client's id as subject, no user.
        return self._bearer(sub="reporting", client_id="reporting", scope=scope)

    def _bearer(self, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(**claims)}"}

    async def create(self, patient: str, starts_at: datetime, **changes: Any) -> httpx.Response:
        return await self.client.post(
            f"{FHIR}/Appointment",
            json=appointment(patient, starts_at, doctor=self.doctor, **changes),
            headers={**self.patient(patient), "Content-Type": "application/fhir+json"},
        )

    async def created(self, patient: str, starts_at: datetime, **changes: Any) -> dict[str, Any]:
        response = await self.create(patient, starts_at, **changes)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def search(self, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
        """Every match, following the Bundle's next links."""
        found: list[dict[str, Any]] = []
        response = await self.client.get(f"{FHIR}/Appointment", params=params, headers=headers)
        while True:
            assert response.status_code == 200, response.text
            bundle = response.json()
            found += [entry["resource"] for entry in bundle.get("entry", [])]
            following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
            if not following:
                return found
            response = await self.client.get(following[0], headers=headers)


def appointment(
    patient: str,
    starts_at: datetime,
    *,
    doctor: str,
    actor: str | None = None,
    kind: str = "follow-up",
    answers: dict[str, Any] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "proposed",
        "appointmentType": {"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": kind}]},
        "start": starts_at.isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
            {"actor": {"reference": actor or f"Practitioner/{doctor}"}, "status": "needs-action"},
        ],
        "comment": "Blood test results",
        "extension": [{"url": ANSWERS_EXTENSION, "valueString": json.dumps(answers or MEDICAL_ANSWERS)}],
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}


def ids(resources: list[dict[str, Any]]) -> list[str]:
    return [resource["id"] for resource in resources]


def issue(response: httpx.Response) -> dict[str, Any]:
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome", outcome
    return outcome["issue"][0]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def fhir(base_settings: Settings, issuer: TestIssuer) -> AsyncIterator[Fhir]:
    runtime = await appointments_service(base_settings, name="fhir", demo=True)
    # These tests are about the FHIR mapping, at fixed dates: without working hours a resource takes a
    # request at any free time (availability is tested in test_domains.py).
    async with runtime.engine.begin() as connection:
        await connection.execute(text("DELETE FROM schedules"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app),
        base_url="http://kairos.test",
        event_hooks={"response": [check_fhir]},
    ) as client:
        listed = (await client.get(f"{REST}/resources")).json()["items"]
        by_name = {item["display_name"]: item["id"] for item in listed}
        yield Fhir(client, issuer, by_name["Dr. Mira Haddad"], by_name["Treatment room 2"], by_name["Erik Lindqvist"])
    await runtime.stop()


# --- metadata ------------------------------------------------------------------------------------------------


async def test_metadata_is_a_capability_statement_of_exactly_what_is_implemented(
    fhir: Fhir, issuer: TestIssuer
) -> None:
    response = await fhir.client.get(f"{FHIR}/metadata")  # no token: SMART clients discover before signing in
    assert response.status_code == 200
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    offered = {item["type"]: {i["code"] for i in item["interaction"]} for item in rest["resource"]}
    assert offered == {
        "Appointment": {"read", "vread", "search-type", "create"},
        "AppointmentResponse": {"read", "create"},
        "Schedule": {"read", "search-type"},
        "Slot": {"search-type"},
    }
    appointment_resource = next(item for item in rest["resource"] if item["type"] == "Appointment")
    assert {param["name"] for param in appointment_resource["searchParam"]} == {
        "patient",
        "practitioner",
        "location",
        "actor",
        "date",
        "status",
    }
    assert rest["security"]["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    oauth = {item["url"]: item["valueUri"] for item in rest["security"]["extension"][0]["extension"]}
    assert oauth["token"] == f"{issuer.issuer}/token"
    assert oauth["authorize"] == f"{issuer.issuer}/authorize"
    assert statement["implementation"]["url"] == f"http://kairos.test{FHIR}"

    discovery = (await fhir.client.get(f"{FHIR}/.well-known/smart-configuration")).json()
    assert discovery["token_endpoint"] == f"{issuer.issuer}/token"
    assert {"permission-v1", "permission-v2", "permission-patient", "permission-user"} <= set(discovery["capabilities"])
    assert "system/*.read" in discovery["scopes_supported"]


# --- create and read -----------------------------------------------------------------------------------------


async def test_an_appointment_created_through_fhir_reads_the_same_through_fhir_and_rest(fhir: Fhir) -> None:
    nine = datetime(2027, 5, 3, 9, 0, tzinfo=UTC)
    response = await fhir.create("patient-create", nine, kind="consultation")
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"http://kairos.test{FHIR}/Appointment/{created['id']}/_history/1"
    assert response.headers["etag"] == 'W/"1"'
    assert created["status"] == "pending"  # a consultation awaits the practice's decision
    assert created["meta"]["versionId"] == "1"
    assert created["end"] == "2027-05-03T09:20:00Z"  # no end given: the type's 20 minutes
    assert created["appointmentType"]["coding"][0] == {
        "system": APPOINTMENT_TYPE_SYSTEM,
        "code": "consultation",
        "display": "Consultation",
    }
    assert created["description"] == "Consultation with Dr. Mira Haddad"
    patient, practitioner = created["participant"]
    assert patient == {"actor": {"reference": "Patient/patient-create"}, "required": "required", "status": "accepted"}
    assert practitioner["actor"]["reference"] == f"Practitioner/{fhir.doctor}"
    assert practitioner["status"] == "needs-action"

    headers = fhir.patient("patient-create")
    read = await fhir.client.get(f"{FHIR}/Appointment/{created['id']}", headers=headers)
    assert read.status_code == 200
    assert read.json() == created
    assert read.headers["etag"] == 'W/"1"'
    version = await fhir.client.get(f"{FHIR}/Appointment/{created['id']}/_history/1", headers=headers)
    assert version.json() == created

    rest = (await fhir.client.get(f"{REST}/appointments/{created['id']}", headers=headers)).json()
    assert rest["id"] == created["id"]
    assert rest["status"] == created["status"]
    assert rest["patient"] == "patient-create"
    assert rest["resource_id"] == fhir.doctor
    assert rest["appointment_type"] == "consultation"
    assert rest["message"] == created["comment"]
    assert str(rest["version"]) == created["meta"]["versionId"]
    assert datetime.fromisoformat(rest["starts_at"]) == datetime.fromisoformat(created["start"])
    assert datetime.fromisoformat(rest["ends_at"]) == datetime.fromisoformat(created["end"])
    assert rest["history"][0]["data"]["answers"] == MEDICAL_ANSWERS  # the form's answers, taken from the extension
    assert "extension" not in created  # … and never shown back, as in the REST API


async def test_an_auto_approved_type_is_booked_at_once_and_rooms_are_locations(fhir: Fhir) -> None:
    booked = await fhir.created("patient-room", datetime(2027, 5, 4, 9, 0, tzinfo=UTC))
    assert booked["status"] == "booked"
    assert [participant["status"] for participant in booked["participant"]] == ["accepted", "accepted"]

    in_the_room = await fhir.created(
        "patient-room",
        datetime(2027, 5, 4, 10, 0, tzinfo=UTC),
        actor=f"Location/{fhir.room}",
        end=datetime(2027, 5, 4, 10, 30, tzinfo=UTC).isoformat(),
        appointmentType=None,
        serviceType=[{"coding": [{"code": "follow-up"}]}],
    )
    assert in_the_room["participant"][1]["actor"] == {
        "reference": f"Location/{fhir.room}",
        "display": "Treatment room 2",
    }
    assert in_the_room["end"] == "2027-05-04T10:30:00Z"


# --- search --------------------------------------------------------------------------------------------------


async def test_search_by_patient_practitioner_location_date_and_status_a_page_at_a_time(fhir: Fhir) -> None:
    patient = "patient-search"
    day = datetime(2027, 6, 7, 9, 0, tzinfo=UTC)
    made = [await fhir.created(patient, day + timedelta(days=offset)) for offset in range(5)]  # 7th to 11th June
    pending = await fhir.created(patient, day + timedelta(days=2, hours=2), kind="consultation")
    in_room = await fhir.created(patient, day + timedelta(days=3, hours=3), actor=f"Location/{fhir.room}")
    everything = sorted([*made, pending, in_room], key=lambda resource: resource["start"])
    system = fhir.system()

    first = await fhir.client.get(f"{FHIR}/Appointment", params={"patient": patient, "_count": 2}, headers=system)
    bundle = first.json()
    assert bundle["type"] == "searchset"
    assert len(bundle["entry"]) == 2
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    assert links["self"] == f"http://kairos.test{FHIR}/Appointment?patient=patient-search&_count=2"
    assert "cursor=" in links["next"]
    assert bundle["entry"][0]["fullUrl"] == f"http://kairos.test{FHIR}/Appointment/{everything[0]['id']}"

    assert ids(await fhir.search(system, patient=f"Patient/{patient}", _count=2)) == ids(everything)
    assert ids(await fhir.search(system, patient=patient, practitioner=f"Practitioner/{fhir.doctor}")) == ids(
        [resource for resource in everything if resource is not in_room]
    )
    assert ids(await fhir.search(system, patient=patient, location=f"Location/{fhir.room}")) == [in_room["id"]]
    assert ids(await fhir.search(system, patient=patient, practitioner=fhir.room)) == []  # a room is no practitioner
    assert ids(await fhir.search(system, patient=patient, actor=fhir.room)) == [in_room["id"]]

    def starting(*dates: str) -> list[str]:
        return ids([resource for resource in everything if resource["start"][:10] in dates])

    async def dated(*values: str) -> list[str]:
        return ids(await fhir.search(system, patient=patient, date=list(values)))

    assert await dated("ge2027-06-08", "lt2027-06-10") == starting("2027-06-08", "2027-06-09")
    assert await dated("2027-06-09") == starting("2027-06-09")
    assert await dated("gt2027-06-09") == starting("2027-06-10", "2027-06-11")
    assert await dated("le2027-06-08") == starting("2027-06-07", "2027-06-08")
    assert await dated("ne2027-06") == []
    assert await dated("le2027-06-09T09:00:00Z") == [*starting("2027-06-07", "2027-06-08"), made[2]["id"]]
    # 11:00 in Paris is 09:00 UTC: the start at 09:00 UTC on the 9th is not before it.
    assert await dated("lt2027-06-09T11:00:00+02:00") == starting("2027-06-07", "2027-06-08")
    raw = await fhir.client.get(  # an unencoded "+" arrives as a space, and is read as the "+" it was
        f"{FHIR}/Appointment?patient={patient}&date=lt2027-06-09T11:00:00+02:00", headers=system
    )
    assert len(raw.json()["entry"]) == 2

    assert ids(await fhir.search(system, patient=patient, status="pending")) == [pending["id"]]
    assert len(await fhir.search(system, patient=patient, status="booked")) == 6
    both = await fhir.search(system, patient=patient, status="http://hl7.org/fhir/appointmentstatus|pending,cancelled")
    assert ids(both) == [pending["id"]]
    assert await fhir.search(system, patient=patient, status="pending", date="2027-06-07") == []


# --- AppointmentResponse ---------------------------------------------------------------------------------------


async def answer(fhir: Fhir, appointment_id: str, status: str, **more: Any) -> httpx.Response:
    return await fhir.client.post(
        f"{FHIR}/AppointmentResponse",
        json={
            "resourceType": "AppointmentResponse",
            "appointment": {"reference": f"Appointment/{appointment_id}"},
            "actor": {"reference": f"Practitioner/{fhir.doctor}"},
            "participantStatus": status,
            **more,
        },
        headers={**fhir.professional(), "Content-Type": "application/fhir+json"},
    )


async def test_an_accepting_response_books_the_request_and_the_rest_history_says_who(fhir: Fhir) -> None:
    requested = await fhir.created("patient-answered", datetime(2027, 7, 5, 9, 0, tzinfo=UTC), kind="consultation")
    response = await answer(fhir, requested["id"], "accepted")
    assert response.status_code == 201, response.text
    answered = response.json()
    assert answered["id"] == f"{requested['id']}-2"  # the second event of the appointment's stream
    assert answered["participantStatus"] == "accepted"
    assert response.headers["location"] == f"http://kairos.test{FHIR}/AppointmentResponse/{answered['id']}"
    again = await fhir.client.get(f"{FHIR}/AppointmentResponse/{answered['id']}", headers=fhir.professional())
    assert again.json() == answered

    seen = (await fhir.client.get(f"{FHIR}/Appointment/{requested['id']}", headers=fhir.professional())).json()
    assert seen["status"] == "booked"
    assert seen["meta"]["versionId"] == "2"
    assert seen["participant"][1]["status"] == "accepted"
    history = (
        await fhir.client.get(f"{REST}/appointments/{requested['id']}", headers=fhir.patient("patient-answered"))
    ).json()["history"]
    assert [(entry["kind"], entry["actor"]) for entry in history] == [
        ("requested", "patient-answered"),
        ("approved", f"doctor-{HARBOUR_MEDICAL_PRACTICE}"),
    ]
    earlier = await fhir.client.get(f"{FHIR}/Appointment/{requested['id']}/_history/1", headers=fhir.professional())
    assert earlier.json()["status"] == "pending"

    twice = await answer(fhir, requested["id"], "accepted")
    assert twice.status_code == 409
    assert issue(twice)["code"] == "business-rule"


async def test_a_declining_response_needs_a_reason_code_from_the_extension_or_the_comment(fhir: Fhir) -> None:
    nine = datetime(2027, 7, 6, 9, 0, tzinfo=UTC)
    first, second, third = [
        await fhir.created("patient-declined", nine + timedelta(hours=hour), kind="consultation") for hour in range(3)
    ]

    without_code = await answer(fhir, first["id"], "declined", comment="Sorry, we cannot see you")
    assert without_code.status_code == 422
    assert issue(without_code)["code"] == "required"
    assert DECLINE_REASON_EXTENSION in issue(without_code)["diagnostics"]

    by_extension = await answer(
        fhir,
        first["id"],
        "declined",
        comment="Please choose next week",
        extension=[{"url": DECLINE_REASON_EXTENSION, "valueCode": "fully_booked"}],
    )
    assert by_extension.status_code == 201, by_extension.text
    assert by_extension.json()["comment"] == "Please choose next week"
    by_comment = await answer(fhir, second["id"], "declined", comment="needs_referral: please ask your GP first")
    assert by_comment.status_code == 201, by_comment.text
    code_only = await answer(fhir, third["id"], "declined", comment="wrong_specialty")
    assert code_only.status_code == 201, code_only.text

    professional = fhir.professional()
    declined = (await fhir.client.get(f"{FHIR}/Appointment/{first['id']}", headers=professional)).json()
    assert declined["status"] == "cancelled"
    assert declined["participant"][1]["status"] == "declined"
    assert declined["cancelationReason"] == {
        "coding": [{"system": "urn:kairos:fhir:decline-reason", "code": "fully_booked"}],
        "text": "Please choose next week",
    }
    for appointment_id, code, reason in [
        (first["id"], "fully_booked", "Please choose next week"),
        (second["id"], "needs_referral", "please ask your GP first"),
        (third["id"], "wrong_specialty", None),
    ]:
        history = (await fhir.client.get(f"{REST}/appointments/{appointment_id}", headers=professional)).json()[
            "history"
        ]
        assert history[-1]["kind"] == "declined"
        assert history[-1]["data"]["reason_code"] == code
        assert history[-1]["reason"] == reason


# --- SMART scopes ----------------------------------------------------------------------------------------------


async def test_a_patient_token_finds_and_reads_only_the_patients_own_appointments(fhir: Fhir) -> None:
    nine = datetime(2027, 8, 2, 9, 0, tzinfo=UTC)
    own = await fhir.created("patient-alba", nine)
    other = await fhir.created("patient-bruno", nine + timedelta(hours=1))
    alba = fhir.patient("patient-alba", scope="patient/Appointment.rs")  # v2 spelling

    assert ids(await fhir.search(alba, date="2027-08-02")) == [own["id"]]
    assert await fhir.search(alba, patient="patient-bruno") == []
    hidden = await fhir.client.get(f"{FHIR}/Appointment/{other['id']}", headers=alba)
    assert hidden.status_code == 404
    assert issue(hidden)["code"] == "not-found"
    assert (await fhir.client.get(f"{FHIR}/Appointment/{own['id']}", headers=alba)).status_code == 200


async def test_a_system_client_searches_every_organisations_appointments_but_cannot_write(fhir: Fhir) -> None:
    nine = datetime(2027, 8, 3, 9, 0, tzinfo=UTC)
    medical = await fhir.created("patient-carla", nine)
    legal = await fhir.created(
        "patient-carla",
        nine + timedelta(hours=1),
        actor=f"Practitioner/{fhir.lawyer}",
        kind="case-review",
        answers={"matter": "housing", "opposing_party": "Landlord Ltd"},
    )
    system = fhir.system()  # as `kairos clients create --grant client_credentials --scope "system/*.read"` gives

    assert ids(await fhir.search(system, date="2027-08-03")) == ids([medical, legal])
    assert (await fhir.client.get(f"{FHIR}/Appointment/{legal['id']}", headers=system)).status_code == 200

    medical_staff = fhir.professional()
    legal_staff = fhir.professional(LINDQVIST_RAO_LAW)
    assert ids(await fhir.search(medical_staff, date="2027-08-03")) == [medical["id"]]
    assert ids(await fhir.search(legal_staff, date="2027-08-03")) == [legal["id"]]

    writing = await fhir.client.post(
        f"{FHIR}/Appointment", json=appointment("reporting", nine, doctor=fhir.doctor), headers=system
    )
    assert writing.status_code == 403
    assert issue(writing)["code"] == "forbidden"
    assert 'error="insufficient_scope"' in writing.headers["www-authenticate"]


async def test_scopes_decide_who_gets_in_at_all(fhir: Fhir) -> None:
    nine = datetime(2027, 8, 4, 9, 0, tzinfo=UTC)
    read_only = fhir.patient("patient-dora", scope="patient/Appointment.read")
    refused = await fhir.client.post(
        f"{FHIR}/Appointment", json=appointment("patient-dora", nine, doctor=fhir.doctor), headers=read_only
    )
    assert refused.status_code == 403
    assert 'error="insufficient_scope", scope="patient/Appointment.write"' in refused.headers["www-authenticate"]
    assert issue(refused)["code"] == "forbidden"

    no_smart_scope = fhir.patient("patient-dora", scope="openid profile")
    assert (await fhir.client.get(f"{FHIR}/Appointment", headers=no_smart_scope)).status_code == 403
    # A user's token carrying a system scope does not become a system client.
    widened = fhir.patient("patient-dora", scope="system/*.read")
    assert (await fhir.client.get(f"{FHIR}/Appointment", headers=widened)).status_code == 403
    # Reading appointments does not let a professional answer them.
    reader = fhir.professional(scope="user/Appointment.read")
    assert (await fhir.client.get(f"{FHIR}/AppointmentResponse/x-2", headers=reader)).status_code == 403

    anonymous = await fhir.client.get(f"{FHIR}/Appointment")
    assert anonymous.status_code == 401
    assert issue(anonymous)["code"] == "login"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


async def test_what_a_user_scope_finds_is_what_the_rest_api_lets_the_user_read(fhir: Fhir) -> None:
    nine = datetime(2027, 8, 5, 9, 0, tzinfo=UTC)
    made = [
        await fhir.created("patient-emil", nine),
        await fhir.created("patient-fenna", nine + timedelta(hours=1)),
        await fhir.created(
            "patient-emil",
            nine,
            actor=f"Practitioner/{fhir.lawyer}",
            kind="case-review",
            answers={"matter": "family", "opposing_party": "J. Doe"},
        ),
    ]
    callers = {
        "emil": fhir.patient("patient-emil", scope="user/Appointment.read"),
        "fenna": fhir.patient("patient-fenna", scope="user/*.read"),
        "medical staff": fhir.professional(scope="user/Appointment.read"),
        "legal staff": fhir.professional(LINDQVIST_RAO_LAW, scope="user/Appointment.read"),
        "operator": fhir.operator(scope="user/Appointment.read"),
    }
    for name, headers in callers.items():
        found = set(ids(await fhir.search(headers, date="2027-08-05")))
        readable = {
            resource["id"]
            for resource in made
            if (await fhir.client.get(f"{REST}/appointments/{resource['id']}", headers=headers)).status_code == 200
        }
        assert found == readable, name
        assert readable, name


# --- errors ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "status", "code", "expression"),
    [
        ({"participant": None}, 400, "required", "Appointment.participant"),
        ({"resourceType": "Patient"}, 400, "value", "Appointment.resourceType"),
        ({"status": "planned"}, 400, "value", "Appointment.status"),
        ({"status": "booked"}, 422, "business-rule", "Appointment.status"),
        ({"start": "2027-09-01T09:00:00"}, 400, "value", "Appointment.start"),  # an instant needs its zone
        ({"end": "2027-09-01T08:00:00Z"}, 400, "value", "Appointment.end"),
        ({"minutesDuration": 20, "end": "2027-09-01T09:30:00Z"}, 400, "value", "Appointment.minutesDuration"),
        ({"appointmentType": None}, 422, "required", "Appointment.appointmentType"),
        ({"appointmentType": {"coding": [{"code": "surgery"}]}}, 422, "code-invalid", None),
        ({"extension": [{"url": ANSWERS_EXTENSION, "valueString": "[1]"}]}, 400, "value", None),
        ({"extension": []}, 422, "invariant", None),  # the medical form requires a reason
        ({"modifierExtension": [{"url": "urn:x", "valueBoolean": True}]}, 422, "not-supported", None),
    ],
)
async def test_an_invalid_appointment_is_refused_with_an_operation_outcome(
    fhir: Fhir, changes: dict[str, Any], status: int, code: str, expression: str | None
) -> None:
    body = appointment("patient-gil", datetime(2027, 9, 1, 9, 0, tzinfo=UTC), doctor=fhir.doctor)
    body.update(changes)
    response = await fhir.client.post(
        f"{FHIR}/Appointment",
        json={k: v for k, v in body.items() if v is not None},
        headers=fhir.patient("patient-gil"),
    )
    assert response.status_code == status, response.text
    found = issue(response)
    assert found["code"] == code
    if expression is not None:
        assert found["expression"][0].startswith(expression)


async def test_participants_must_be_the_caller_and_a_resource_of_the_right_kind(fhir: Fhir) -> None:
    nine = datetime(2027, 9, 2, 9, 0, tzinfo=UTC)
    someone_else = await fhir.client.post(
        f"{FHIR}/Appointment",
        json=appointment("patient-ines", nine, doctor=fhir.doctor),
        headers=fhir.patient("patient-hugo"),
    )
    assert someone_else.status_code == 403
    wrong_kind = await fhir.create("patient-hugo", nine, actor=f"Practitioner/{fhir.room}")
    assert wrong_kind.status_code == 422
    assert "Location" in issue(wrong_kind)["diagnostics"]
    unknown = await fhir.create("patient-hugo", nine, actor=f"Practitioner/{uuid.uuid4()}")
    assert unknown.status_code == 422
    assert issue(unknown)["code"] == "not-found"
    group = await fhir.create("patient-hugo", nine, actor="Group/1")
    assert group.status_code == 422

    assert (await fhir.create("patient-hugo", nine)).status_code == 201
    taken = await fhir.create("patient-ines", nine + timedelta(minutes=5))
    assert taken.status_code == 409
    assert issue(taken)["code"] == "conflict"

    not_json = await fhir.client.post(
        f"{FHIR}/Appointment",
        content=b"{not json",
        headers={**fhir.patient("patient-hugo"), "Content-Type": "application/fhir+json"},
    )
    assert not_json.status_code == 400
    assert issue(not_json)["code"] == "structure"


async def test_an_unanswerable_response_is_refused_with_an_operation_outcome(fhir: Fhir) -> None:
    requested = await fhir.created("patient-jan", datetime(2027, 9, 3, 9, 0, tzinfo=UTC), kind="consultation")
    tentative = await answer(fhir, requested["id"], "tentative")
    assert tentative.status_code == 422
    assert issue(tentative)["code"] == "not-supported"
    unknown = await answer(fhir, str(uuid.uuid4()), "accepted")
    assert unknown.status_code == 422
    assert issue(unknown)["code"] == "not-found"
    other_practice = await fhir.client.post(
        f"{FHIR}/AppointmentResponse",
        json={
            "resourceType": "AppointmentResponse",
            "appointment": {"reference": f"Appointment/{requested['id']}"},
            "participantStatus": "accepted",
        },
        headers=fhir.professional(LINDQVIST_RAO_LAW),
    )
    assert other_practice.status_code == 422  # as if it did not exist
    by_patient = await fhir.client.post(
        f"{FHIR}/AppointmentResponse",
        json={
            "resourceType": "AppointmentResponse",
            "appointment": {"reference": f"Appointment/{requested['id']}"},
            "participantStatus": "accepted",
        },
        headers=fhir.patient("patient-jan", scope="patient/*.*"),
    )
    assert by_patient.status_code == 403  # the patient's own appointment, but patients do not decide
    missing_status = await fhir.client.post(
        f"{FHIR}/AppointmentResponse",
        json={"resourceType": "AppointmentResponse", "appointment": {"reference": f"Appointment/{requested['id']}"}},
        headers=fhir.professional(),
    )
    assert missing_status.status_code == 400
    assert issue(missing_status)["expression"] == ["AppointmentResponse.participantStatus"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("date=sa2027-01-01", "not-supported"),
        ("date=2027-01-01T10:00", "invalid"),  # a time needs its zone
        ("date=2027-13", "invalid"),
        ("status=booked,bogus", "invalid"),
        ("patient=Practitioner/1", "invalid"),
        ("patient:identifier=x", "not-supported"),
        ("_count=0", "not-supported"),
        ("_count=many", "invalid"),
        ("cursor=bm90IGEgY3Vyc29y", "invalid"),
    ],
)
async def test_a_search_that_cannot_be_run_is_refused_with_an_operation_outcome(
    fhir: Fhir, query: str, code: str
) -> None:
    response = await fhir.client.get(f"{FHIR}/Appointment?{query}", headers=fhir.system())
    assert response.status_code == 400, response.text
    assert issue(response)["code"] == code


async def test_unknown_search_parameters_are_ignored_unless_the_client_asks_for_strict_handling(fhir: Fhir) -> None:
    lenient = await fhir.client.get(f"{FHIR}/Appointment?_sort=date&status=booked", headers=fhir.system())
    assert lenient.status_code == 200
    self_link = next(link["url"] for link in lenient.json()["link"] if link["relation"] == "self")
    assert "_sort" not in self_link  # the self link says what was applied
    strict = await fhir.client.get(
        f"{FHIR}/Appointment?_sort=date", headers={**fhir.system(), "Prefer": "handling=strict"}
    )
    assert strict.status_code == 400
    assert issue(strict)["code"] == "not-supported"


async def test_unknown_ids_types_and_interactions_are_operation_outcomes(fhir: Fhir) -> None:
    system = fhir.system()
    assert (await fhir.client.get(f"{FHIR}/Appointment/not-a-uuid", headers=system)).status_code == 404
    assert (await fhir.client.get(f"{FHIR}/Appointment/{uuid.uuid4()}", headers=system)).status_code == 404
    assert (
        await fhir.client.get(f"{FHIR}/AppointmentResponse/{uuid.uuid4()}-1", headers=fhir.system("system/*.*"))
    ).status_code == 404
    practitioner = await fhir.client.get(f"{FHIR}/Practitioner", headers=system)
    assert practitioner.status_code == 404
    assert issue(practitioner)["code"] == "not-found"
    create_slot = await fhir.client.post(f"{FHIR}/Slot", json={}, headers=system)
    assert create_slot.status_code == 405
    assert create_slot.headers["allow"] == "GET"
    delete = await fhir.client.delete(f"{FHIR}/Appointment/{uuid.uuid4()}", headers=system)
    assert delete.status_code == 405
    assert delete.headers["allow"] == "GET"
    assert issue(delete)["code"] == "not-supported"
    update = await fhir.client.put(f"{FHIR}/Appointment/{uuid.uuid4()}", json={}, headers=system)
    assert update.status_code == 405
