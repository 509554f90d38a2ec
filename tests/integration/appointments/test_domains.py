"""Domains registered at run time: their appointment types, forms (JSON Schema), approval rules and buffers
decide what a request becomes. The demo data holds two visibly different domains."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kairos.contracts.demo import HARBOUR_MEDICAL_PRACTICE, LINDQVIST_RAO_LAW
from kairos.platform.config import Settings
from kairos.platform.testing.issuer import TestIssuer
from tests.integration.appointments.conftest import appointments_service

pytestmark = pytest.mark.integration


def _monday_in_two_weeks() -> datetime:
    """08:00 UTC on a Monday two weeks ahead: 09:00 in Paris and Stockholm in winter, 10:00 in summer —
    inside the demo's working hours and its booking horizon whatever day the tests run."""
    today = datetime.now(UTC).date()
    monday = today + timedelta(days=14 - today.weekday())
    return datetime(monday.year, monday.month, monday.day, 8, 0, tzinfo=UTC)


MONDAY = _monday_in_two_weeks()


@dataclass
class Demo:
    client: httpx.AsyncClient
    issuer: TestIssuer

    def patient(self, name: str = "patient-1") -> dict[str, str]:
        token = self.issuer.token(sub=name, roles=["patient"], permissions=["appointments:request"])
        return {"Authorization": f"Bearer {token}"}

    async def resource(self, domain: str) -> dict[str, str]:
        listed = await self.client.get("/api/v1/appointments/resources", params={"domain": domain})
        return next(item for item in listed.json()["items"] if item["kind"] == "professional")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def demo(base_settings: Settings, issuer: TestIssuer) -> AsyncIterator[Demo]:
    runtime = await appointments_service(base_settings, name="domains", demo=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app), base_url="http://a") as client:
        yield Demo(client, issuer)
    await runtime.stop()


async def test_the_demo_has_a_medical_practice_and_a_law_firm_that_speak_differently(demo: Demo) -> None:
    domains = {item["name"]: item for item in (await demo.client.get("/api/v1/appointments/domains")).json()}
    assert domains["medical"]["terminology"] == {"client": "patient", "professional": "doctor"}
    assert domains["legal"]["terminology"] == {"client": "client", "professional": "lawyer"}
    assert "insurance_number" in domains["medical"]["form_schema"]["properties"]
    assert "opposing_party" in domains["legal"]["form_schema"]["required"]
    doctor = await demo.resource("medical")
    lawyer = await demo.resource("legal")
    assert doctor["organisation_id"] == str(HARBOUR_MEDICAL_PRACTICE)
    assert lawyer["organisation_id"] == str(LINDQVIST_RAO_LAW)


async def test_answers_are_checked_against_the_domains_form_with_every_error_listed(demo: Demo) -> None:
    lawyer = await demo.resource("legal")
    refused = await demo.client.post(
        "/api/v1/appointments/appointments",
        json={
            "resource_id": lawyer["id"],
            "appointment_type": "initial-consultation",
            "starts_at": MONDAY.isoformat(),
            "answers": {"matter": "astrology", "surprise": True},
        },
        headers=demo.patient(),
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "urn:kairos:problem:answers-rejected"
    messages = " ".join(error["message"] for error in problem["errors"])
    assert "astrology" in messages  # not one of the kinds of matter
    assert "opposing_party" in messages  # required
    assert "surprise" in messages  # not a field of the form


async def test_the_type_gives_the_duration_and_decides_whether_approval_is_needed(demo: Demo) -> None:
    doctor = await demo.resource("medical")
    follow_up = await demo.client.post(
        "/api/v1/appointments/appointments",
        json={
            "resource_id": doctor["id"],
            "appointment_type": "follow-up",
            "starts_at": MONDAY.isoformat(),
            "answers": {"reason": "Blood test results"},
        },
        headers=demo.patient(),
    )
    assert follow_up.status_code == 201, follow_up.text
    assert follow_up.json()["status"] == "booked"  # auto-approved
    assert follow_up.json()["ends_at"] == (MONDAY + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")

    consultation = await demo.client.post(
        "/api/v1/appointments/appointments",
        json={
            "resource_id": doctor["id"],
            "appointment_type": "consultation",
            "starts_at": (MONDAY + timedelta(hours=1)).isoformat(),
            "answers": {"reason": "Recurring headaches", "insurance_number": "AB123456"},
        },
        headers=demo.patient(),
    )
    assert consultation.json()["status"] == "pending"

    unknown = await demo.client.post(
        "/api/v1/appointments/appointments",
        json={"resource_id": doctor["id"], "appointment_type": "surgery", "starts_at": MONDAY.isoformat()},
        headers=demo.patient(),
    )
    assert unknown.status_code == 422
    assert unknown.json()["type"] == "urn:kairos:problem:unknown-appointment-type"


async def test_slots_follow_working_hours_and_a_types_buffers_keep_the_next_one_away(demo: Demo) -> None:
    lawyer = await demo.resource("legal")
    day = MONDAY + timedelta(days=1)
    answers = {"matter": "employment", "opposing_party": "Acme AB"}
    search = {
        "appointment_type": "initial-consultation",
        "from": (day - timedelta(hours=8)).isoformat(),
        "to": (day + timedelta(hours=16)).isoformat(),
        "zone": "America/New_York",
    }
    slots = (await demo.client.get(f"/api/v1/appointments/resources/{lawyer['id']}/slots", params=search)).json()
    assert slots, "the demo lawyer works on weekdays"
    assert all(slot["starts_at"].endswith(("-05:00", "-04:00")) for slot in slots)  # shown in the asker's zone
    first, following = slots[0]["starts_at"], datetime.fromisoformat(slots[1]["starts_at"])

    booked = await demo.client.post(
        "/api/v1/appointments/appointments",
        json={
            "resource_id": lawyer["id"],
            "appointment_type": "initial-consultation",
            "starts_at": first,
            "answers": answers,
        },
        headers=demo.patient(),
    )
    assert booked.status_code == 201, booked.text

    after = (await demo.client.get(f"/api/v1/appointments/resources/{lawyer['id']}/slots", params=search)).json()
    assert first not in [slot["starts_at"] for slot in after]
    # 60 minutes plus 10 after it and 10 before the next: the next hour is within the buffers.
    explained = await demo.client.get(
        f"/api/v1/appointments/resources/{lawyer['id']}/slots/explain",
        params={"appointment_type": "initial-consultation", "starts_at": following.isoformat()},
    )
    assert explained.json()["bookable"] is False
    assert "buffer" in explained.json()["reasons"]
    too_close = await demo.client.post(
        "/api/v1/appointments/appointments",
        json={
            "resource_id": lawyer["id"],
            "appointment_type": "initial-consultation",
            "starts_at": following.isoformat(),
            "answers": answers,
        },
        headers=demo.patient("patient-2"),
    )
    assert too_close.status_code == 422
    assert too_close.json()["type"] == "urn:kairos:problem:not-offered"
    assert "buffer" in too_close.json()["reasons"]

    same_time = await demo.client.post(
        "/api/v1/appointments/appointments",
        json={
            "resource_id": lawyer["id"],
            "appointment_type": "initial-consultation",
            "starts_at": first,
            "answers": answers,
        },
        headers=demo.patient("patient-3"),
    )
    assert same_time.status_code == 409
    assert same_time.json()["nearest_slots"], "the loser is offered the nearest free slots"
    assert first not in same_time.json()["nearest_slots"]


async def test_a_time_outside_working_hours_is_not_offered_and_explain_says_why(demo: Demo) -> None:
    doctor = await demo.resource("medical")
    saturday = MONDAY + timedelta(days=5)
    refused = await demo.client.post(
        "/api/v1/appointments/appointments",
        json={
            "resource_id": doctor["id"],
            "appointment_type": "follow-up",
            "starts_at": saturday.isoformat(),
            "answers": {"reason": "Weekend"},
        },
        headers=demo.patient(),
    )
    assert refused.status_code == 422
    assert refused.json()["reasons"] == ["outside_hours"]
    too_far = await demo.client.get(
        f"/api/v1/appointments/resources/{doctor['id']}/slots/explain",
        params={"appointment_type": "consultation", "starts_at": (MONDAY + timedelta(days=90)).isoformat()},
    )
    assert "beyond_horizon" in too_far.json()["reasons"]


async def test_a_domain_admin_registers_a_new_domain_and_each_change_is_a_version(demo: Demo) -> None:
    token = demo.issuer.token(sub="admin-9", roles=["domain_admin"], permissions=["domains:manage"])
    admin = {"Authorization": f"Bearer {token}"}
    body = {
        "label": "Physiotherapy",
        "terminology": {"client": "patient", "professional": "physiotherapist"},
        "appointment_types": [{"code": "session", "label": "Session", "duration_minutes": 45}],
        "form_schema": {"type": "object", "properties": {"injury": {"type": "string"}}},
    }
    created = await demo.client.put("/api/v1/appointments/domains/physio", json=body, headers=admin)
    assert created.status_code == 200, created.text
    assert created.json()["version"] == 1
    changed = await demo.client.put(
        "/api/v1/appointments/domains/physio", json={**body, "label": "Physiotherapy clinic"}, headers=admin
    )
    assert changed.json()["version"] == 2

    as_patient = await demo.client.put("/api/v1/appointments/domains/physio", json=body, headers=demo.patient())
    assert as_patient.status_code == 403
    broken_schema = await demo.client.put(
        "/api/v1/appointments/domains/broken", json={**body, "form_schema": {"type": "nonsense"}}, headers=admin
    )
    assert broken_schema.status_code == 422
    assert broken_schema.json()["type"] == "urn:kairos:problem:invalid-configuration"
