"""What a practice sees of its appointments and does with its hours, on the real database: the patient's name
(kept sealed from identity's events, newest wins, audited with the read, gone on erasure), the answers to the
domain's questions in lists and reads, lists latest first with a cursor that keeps the order; a professional's
bulk changes of their own hours, and the recent changes each may undo. Another organisation sees none of it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from kairos.contracts.events.identity import ProfileUpdated, UserRegistered
from kairos.contracts.events.privacy import ErasureRequested
from kairos.platform.config import Settings
from kairos.platform.events.consumer import Outcome
from kairos.platform.events.envelope import Envelope, IntegrationEvent
from kairos.platform.ids import new_id
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import TestIssuer
from tests.integration.appointments.conftest import appointments_service

pytestmark = pytest.mark.integration

API = "/api/v1/appointments"
BULK = f"{API}/availability/bulk-changes"
PRACTICE, ELSEWHERE = uuid.uuid4(), uuid.uuid4()
DOCTOR = str(uuid.uuid4())  # the professional whose own resource "doctor" is
COLLEAGUE = str(uuid.uuid4())
CLINIC = {
    "label": "Clinic",
    "terminology": {"client": "patient", "professional": "doctor"},
    "appointment_types": [{"code": "consultation", "label": "Consultation", "duration_minutes": 30}],
    "form_schema": {
        "type": "object",
        "properties": {"reason": {"type": "string"}, "first_visit": {"type": "boolean"}},
        "required": ["reason"],
    },
    "reason_codes": ["fully_booked"],
}
WEEKDAYS = {
    "zone": "Europe/Paris",
    "valid_from": "2027-01-01",
    "working_hours": [{"rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "start_time": "09:00", "duration_minutes": 480}],
}
FIRST = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Paris


@dataclass
class Practice:
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    issuer: TestIssuer
    resources: dict[str, str]  # doctor (DOCTOR's), colleague (COLLEAGUE's), elsewhere (another organisation)

    def bearer(self, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(**claims)}"}

    def patient(self, subject: str) -> dict[str, str]:
        return self.bearer(
            sub=subject, roles=["patient"], permissions=["appointments:request", "appointments:read_own"]
        )

    def professional(self, subject: str = DOCTOR, organisation: uuid.UUID = PRACTICE) -> dict[str, str]:
        return self.bearer(
            sub=subject,
            roles=["professional"],
            permissions=["availability:manage", "appointments:read", "appointments:decide"],
            org=str(organisation),
        )

    def admin(self, organisation: uuid.UUID = PRACTICE) -> dict[str, str]:
        return self.bearer(sub=f"admin-{organisation}", roles=["domain_admin"], org=str(organisation))

    async def deliver(self, event: IntegrationEvent, *, subject: str, producer: str = "identity") -> Outcome:
        envelope = Envelope(
            id=new_id(),
            type=event.event_type,
            version=event.event_version,
            occurred_at=datetime.now(UTC),
            producer=producer,
            subject=subject,
            data=event.model_dump(mode="json"),
        )
        assert self.runtime.consumer is not None
        return await self.runtime.consumer.handle(envelope)

    async def request(self, patient: str, starts_at: datetime, resource: str = "doctor") -> str:
        created = await self.client.post(
            f"{API}/appointments",
            json={
                "resource_id": self.resources[resource],
                "appointment_type": "consultation",
                "starts_at": starts_at.isoformat(),
                "message": "Since Tuesday",
                "answers": {"reason": "Persistent cough", "first_visit": True},
            },
            headers=self.patient(patient),
        )
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    async def sql(self, statement: str, **values: Any) -> list[Any]:
        async with self.runtime.engine.connect() as connection:
            return list((await connection.execute(text(statement), values)).mappings().all())


@pytest.fixture(scope="module")
async def practice(base_settings: Settings, issuer: TestIssuer) -> AsyncIterator[Practice]:
    runtime = await appointments_service(base_settings, name="practice_views")
    operator = {"Authorization": f"Bearer {issuer.token(sub='op', roles=['operator'])}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app), base_url="http://a") as client:
        assert (await client.put(f"{API}/domains/clinic", json=CLINIC, headers=operator)).status_code == 200
        ids = {}
        for name, organisation, owner in (
            ("doctor", PRACTICE, DOCTOR),
            ("colleague", PRACTICE, COLLEAGUE),
            ("elsewhere", ELSEWHERE, None),
        ):
            created = await client.post(
                f"{API}/resources",
                json={
                    "organisation_id": str(organisation),
                    "display_name": name,
                    "zone": "Europe/Paris",
                    "domain": "clinic",
                    "user_id": owner,
                },
                headers=operator,
            )
            assert created.status_code == 201, created.text
            ids[name] = created.json()["id"]
            hours = await client.put(f"{API}/resources/{ids[name]}/schedule", json=WEEKDAYS, headers=operator)
            assert hours.status_code == 204, hours.text
        yield Practice(client, runtime, issuer, ids)
    await runtime.stop()


def registered(user_id: str, name: str | None, at: datetime) -> UserRegistered:
    return UserRegistered(
        user_id=uuid.UUID(user_id), roles=["patient"], registered_at=at, display_name=name, locale="en"
    )


def renamed(user_id: str, name: str, at: datetime) -> ProfileUpdated:
    return ProfileUpdated(user_id=uuid.UUID(user_id), display_name=name, updated_at=at)


# --- the patient's name --------------------------------------------------------------------------------------


async def test_the_practice_sees_the_patient_s_latest_name_kept_sealed(practice: Practice) -> None:
    patient, now = str(uuid.uuid4()), datetime.now(UTC)
    assert await practice.deliver(registered(patient, "Pat Jensen", now), subject=f"user:{patient}") is (
        Outcome.HANDLED
    )
    appointment_id = await practice.request(patient, FIRST)

    read = await practice.client.get(f"{API}/appointments/{appointment_id}", headers=practice.professional())
    assert read.status_code == 200, read.text
    assert read.json()["patient_name"] == "Pat Jensen"

    await practice.deliver(renamed(patient, "Pat Jensen-Moreau", now + timedelta(minutes=1)), subject=f"user:{patient}")
    await practice.deliver(renamed(patient, "Pat Older", now - timedelta(days=1)), subject=f"user:{patient}")  # late
    listed = await practice.client.get(
        f"{API}/appointments", params={"patient": patient}, headers=practice.professional()
    )
    assert [item["patient_name"] for item in listed.json()["items"]] == ["Pat Jensen-Moreau"]

    stored = await practice.sql("SELECT display_name FROM patient_names WHERE user_id = :id", id=patient)
    assert "Jensen" not in stored[0]["display_name"]  # sealed at rest

    records = await practice.sql(
        "SELECT data FROM outbox WHERE type = 'audit.recorded' AND data->>'data_subject' = :patient "
        "AND data->>'action' = 'read'",
        patient=patient,
    )
    assert records
    assert all("patient_name" in record["data"]["fields"] for record in records)


async def test_a_patient_identity_never_named_has_no_name_and_erasure_forgets_it(practice: Practice) -> None:
    unnamed, named = str(uuid.uuid4()), str(uuid.uuid4())
    await practice.deliver(registered(unnamed, None, datetime.now(UTC)), subject=f"user:{unnamed}")  # older identity
    await practice.deliver(registered(named, "Noor Haddad", datetime.now(UTC)), subject=f"user:{named}")
    first = await practice.request(unnamed, FIRST + timedelta(days=1))
    read = await practice.client.get(f"{API}/appointments/{first}", headers=practice.professional())
    assert read.json()["patient_name"] is None

    await practice.deliver(
        ErasureRequested(request_id=new_id(), subject_user_id=uuid.UUID(named), requested_at=datetime.now(UTC)),
        subject=f"user:{named}",
        producer="identity",
    )
    assert await practice.sql("SELECT user_id FROM patient_names WHERE user_id = :id", id=named) == []


async def test_another_organisation_reads_neither_names_nor_answers(practice: Practice) -> None:
    patient = str(uuid.uuid4())
    await practice.deliver(registered(patient, "Ines Duval", datetime.now(UTC)), subject=f"user:{patient}")
    appointment_id = await practice.request(patient, FIRST + timedelta(days=2))
    outsider = practice.professional(str(uuid.uuid4()), ELSEWHERE)

    read = await practice.client.get(f"{API}/appointments/{appointment_id}", headers=outsider)
    assert read.status_code == 404
    listed = await practice.client.get(f"{API}/appointments", params={"patient": patient}, headers=outsider)
    assert listed.status_code == 200
    assert listed.json()["items"] == []
    assert "Ines" not in listed.text
    assert "cough" not in listed.text


# --- answers and order ---------------------------------------------------------------------------------------


async def test_lists_and_reads_carry_the_answers_to_the_domain_s_questions(practice: Practice) -> None:
    patient = str(uuid.uuid4())
    appointment_id = await practice.request(patient, FIRST + timedelta(days=3))
    answers = {"reason": "Persistent cough", "first_visit": True}

    read = await practice.client.get(f"{API}/appointments/{appointment_id}", headers=practice.professional())
    assert read.json()["answers"] == answers
    listed = await practice.client.get(
        f"{API}/appointments", params={"patient": patient}, headers=practice.professional()
    )
    assert [item["answers"] for item in listed.json()["items"]] == [answers]
    own = await practice.client.get(f"{API}/appointments", params={"patient": "me"}, headers=practice.patient(patient))
    assert [item["answers"] for item in own.json()["items"]] == [answers]


async def test_latest_first_pages_through_every_appointment_once(practice: Practice) -> None:
    patient = str(uuid.uuid4())
    starts = [FIRST + timedelta(days=14 + day, hours=hour) for day in range(3) for hour in range(2)]
    for starts_at in starts:
        await practice.request(patient, starts_at, resource="colleague")

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"patient": patient, "sort": "-starts_at", "limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = await practice.client.get(f"{API}/appointments", params=params, headers=practice.professional())
        assert page.status_code == 200, page.text
        seen += [item["starts_at"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert [datetime.fromisoformat(when) for when in seen] == sorted(starts, reverse=True)

    oldest = await practice.client.get(
        f"{API}/appointments", params={"patient": patient, "limit": 1}, headers=practice.professional()
    )
    assert datetime.fromisoformat(oldest.json()["items"][0]["starts_at"]) == starts[0]
    unknown = await practice.client.get(f"{API}/appointments", params={"sort": "patient"}, headers=practice.admin())
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("application/problem+json")


# --- a professional's own hours in bulk, and recent changes -------------------------------------------------


def close(day: str) -> dict[str, Any]:
    return {"kind": "close-dates", "days": [{"first_day": day, "last_day": day}]}


async def test_a_professional_changes_their_own_hours_in_bulk_and_undoes_it(practice: Practice) -> None:
    mine = {"resource_ids": [practice.resources["doctor"]]}
    applied = await practice.client.post(
        BULK,
        params={"preview": "false"},
        json={"resources": mine, "change": close("2027-04-05")},
        headers=practice.professional(),
    )
    assert applied.status_code == 201, applied.text
    change_id = applied.json()["change_id"]

    for targets in ({"resource_ids": [practice.resources["colleague"]]}, {"organisation_id": str(PRACTICE)}):
        refused = await practice.client.post(
            BULK,
            params={"preview": "true"},
            json={"resources": targets, "change": close("2027-04-06")},
            headers=practice.professional(),
        )
        assert refused.status_code == 403, refused.text

    mine_listed = await practice.client.get(BULK, headers=practice.professional())
    assert mine_listed.status_code == 200
    assert [item["change_id"] for item in mine_listed.json()["items"]] == [change_id]
    assert mine_listed.json()["items"][0]["change"]["kind"] == "close-dates"
    colleague = await practice.client.get(BULK, headers=practice.professional(COLLEAGUE))
    assert change_id not in {item["change_id"] for item in colleague.json()["items"]}
    assert (
        await practice.client.post(f"{BULK}/{change_id}/undo", headers=practice.professional(COLLEAGUE))
    ).status_code == 404

    undone = await practice.client.post(f"{BULK}/{change_id}/undo", headers=practice.professional())
    assert undone.status_code == 200, undone.text
    again = await practice.client.get(BULK, headers=practice.professional())
    assert again.json()["items"][0]["undone_at"] is not None


async def test_recent_changes_are_the_organisation_s_latest_first_and_no_one_else_s(practice: Practice) -> None:
    applied = []
    for day in ("2027-05-03", "2027-05-04", "2027-05-05"):
        answer = await practice.client.post(
            BULK,
            params={"preview": "false"},
            json={"resources": {"organisation_id": str(PRACTICE)}, "change": close(day)},
            headers=practice.admin(),
        )
        assert answer.status_code == 201, answer.text
        applied.append(answer.json()["change_id"])

    first = await practice.client.get(BULK, params={"limit": 2}, headers=practice.admin())
    rest = await practice.client.get(
        BULK, params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=practice.admin()
    )
    listed = [item["change_id"] for item in first.json()["items"] + rest.json()["items"]]
    assert listed[:3] == list(reversed(applied))
    assert set(first.json()["items"][0]["resource_ids"]) == {
        practice.resources["doctor"],
        practice.resources["colleague"],
    }

    for outsider in (practice.admin(ELSEWHERE), practice.professional(str(uuid.uuid4()), ELSEWHERE)):
        theirs = await practice.client.get(BULK, headers=outsider)
        assert theirs.status_code == 200
        assert not set(applied) & {item["change_id"] for item in theirs.json()["items"]}
    patient = await practice.client.get(BULK, headers=practice.patient(str(uuid.uuid4())))
    assert patient.json()["items"] == []
    assert (await practice.client.get(BULK)).status_code == 401
