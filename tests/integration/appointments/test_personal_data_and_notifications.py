"""Appointments' health data and what leaves the service, on the real database: the message and answers are
ciphertext at rest (projection and event stream) and absent from integration events; the projection rebuild
still proves equality (and finds a token moved between rows); plaintext left from before migration 0007 is
sealed at start-up; every read and write of an appointment is audited; change events carry the recipients
and channels the domain's notification rules resolve, and the rules round-trip through the domain API."""

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

from kairos.appointments.app import seal_legacy_personal_data
from kairos.appointments.projections import rebuild
from kairos.platform.config import Settings
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import TestIssuer
from tests.integration.appointments.conftest import appointments_service

pytestmark = pytest.mark.integration

PRACTICE = uuid.uuid4()
DOCTOR = "doctor-ada"
API = "/api/v1/appointments"
BASE = datetime(2027, 9, 6, 7, 0, tzinfo=UTC)
MESSAGE = "Chest pain since Tuesday, worse when climbing stairs"
ANSWERS = {"symptom": "palpitations at night", "first_visit": True}
CLINIC = {
    "label": "Clinic",
    "terminology": {"client": "patient", "professional": "doctor"},
    "appointment_types": [{"code": "consultation", "label": "Consultation", "duration_minutes": 30}],
    "form_schema": {
        "type": "object",
        "properties": {"symptom": {"type": "string"}, "first_visit": {"type": "boolean"}},
    },
    "reason_codes": ["fully_booked"],
    "notifications": [
        {"change": "requested", "recipients": ["professional", "staff"], "channels": ["in_app"]},
        {"change": "approved", "recipients": ["patient"], "channels": ["email", "push"]},
        {"change": "approved", "recipients": ["patient"], "channels": ["sms"]},
        {"change": "reminder", "recipients": ["patient"], "channels": ["sms"], "before_hours": [24, 2]},
    ],
}


@dataclass
class Api:
    client: httpx.AsyncClient
    issuer: TestIssuer
    runtime: ServiceRuntime
    resource: str

    def bearer(self, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(**claims)}"}

    def patient(self, name: str) -> dict[str, str]:
        return self.bearer(sub=name, roles=["patient"], permissions=["appointments:request", "appointments:read_own"])

    def staff(self) -> dict[str, str]:
        return self.bearer(
            sub="reception-1",
            roles=["staff"],
            permissions=["appointments:read", "appointments:decide"],
            org=str(PRACTICE),
        )

    def operator(self) -> dict[str, str]:
        return self.bearer(sub="operator-1", roles=["operator"])

    async def request(self, day: int, patient: str) -> str:
        created = await self.client.post(
            f"{API}/appointments",
            json={
                "resource_id": self.resource,
                "appointment_type": "consultation",
                "starts_at": (BASE + timedelta(days=day)).isoformat(),
                "message": MESSAGE,
                "answers": ANSWERS,
            },
            headers=self.patient(patient),
        )
        assert created.status_code == 201, created.text
        appointment_id: str = created.json()["id"]
        return appointment_id

    async def sql(self, statement: str, **parameters: Any) -> list[Any]:
        async with self.runtime.engine.begin() as connection:
            result = await connection.execute(text(statement), parameters)
            return list(result.mappings()) if result.returns_rows else []

    async def published(self, event_type: str, appointment_id: str) -> list[dict[str, Any]]:
        rows = await self.sql(
            "SELECT data FROM outbox WHERE type = :type AND subject LIKE :subject ORDER BY position",
            type=event_type,
            subject=f"%{appointment_id}%",
        )
        return [row["data"] for row in rows]


@pytest.fixture(scope="module")
async def api(base_settings: Settings, issuer: TestIssuer) -> AsyncIterator[Api]:
    runtime = await appointments_service(base_settings, name="personal")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app), base_url="http://a") as client:
        admin = {"Authorization": f"Bearer {issuer.token(sub='op', roles=['operator'])}"}
        configured = await client.put(f"{API}/domains/clinic", json=CLINIC, headers=admin)
        assert configured.status_code == 200, configured.text
        created = await client.post(
            f"{API}/resources",
            json={
                "organisation_id": str(PRACTICE),
                "display_name": "Dr. Ada Byron",
                "zone": "Europe/Paris",
                "domain": "clinic",
                "user_id": DOCTOR,
            },
            headers=admin,
        )
        assert created.status_code == 201, created.text
        yield Api(client, issuer, runtime, created.json()["id"])
    await runtime.stop()


# --- encryption at rest -------------------------------------------------------------------------------------


async def test_the_message_and_answers_are_ciphertext_at_rest_and_absent_from_events(api: Api) -> None:
    appointment_id = await api.request(1, "patient-cipher")

    projection = (await api.sql("SELECT * FROM appointments WHERE id = :id", id=appointment_id))[0]
    stream = await api.sql("SELECT * FROM appointment_events WHERE appointment_id = :id", id=appointment_id)
    outbox = await api.sql("SELECT data::text AS data FROM outbox WHERE subject LIKE :id", id=f"%{appointment_id}%")
    at_rest = [projection["personal_data"], *[json.dumps(row["data"]) for row in stream]]
    at_rest += [row["personal_data"] or "" for row in stream] + [row["data"] for row in outbox]
    for stored in at_rest:
        assert "Chest pain" not in stored
        assert "palpitations" not in stored
    assert projection["legacy_message"] is None
    assert projection["legacy_answers"] is None
    assert len(projection["personal_data"]) > len(MESSAGE)  # a token: version, key id, nonce, ciphertext, tag
    requested = stream[0]
    assert requested["kind"] == "requested"
    assert "message" not in requested["data"]
    assert "answers" not in requested["data"]
    assert requested["personal_data"] is not None
    assert requested["personal_data"] != projection["personal_data"]

    # Those who may read the appointment read it opened: the projection (list) and the stream (read, history).
    read = await api.client.get(f"{API}/appointments/{appointment_id}", headers=api.staff())
    assert read.json()["message"] == MESSAGE
    assert read.json()["history"][0]["data"]["answers"] == ANSWERS
    listed = await api.client.get(f"{API}/appointments", params={"patient": "patient-cipher"}, headers=api.staff())
    assert [item["message"] for item in listed.json()["items"]] == [MESSAGE]
    requested_event = (await api.published("appointment.requested", appointment_id))[0]
    assert requested_event["message"] is None
    assert requested_event["has_message"] is True


async def test_the_rebuild_proves_the_sealed_data_equal_and_finds_a_token_moved_between_rows(api: Api) -> None:
    first = await api.request(2, "patient-rebuild-1")
    second = await api.request(3, "patient-rebuild-2")
    assert (await rebuild(uow=api.runtime.unit_of_work(), repair=False)).differing == []  # type: ignore[arg-type]

    # The first appointment's token copied onto the second: it does not open there (its context names the row).
    await api.sql(
        "UPDATE appointments SET personal_data = (SELECT personal_data FROM appointments WHERE id = :first) "
        "WHERE id = :second",
        first=first,
        second=second,
    )
    found = await rebuild(uow=api.runtime.unit_of_work(), repair=True)  # type: ignore[arg-type]
    assert [str(appointment_id) for appointment_id in found.differing] == [second]
    assert (await rebuild(uow=api.runtime.unit_of_work(), repair=False)).differing == []  # type: ignore[arg-type]
    read = await api.client.get(f"{API}/appointments/{second}", headers=api.staff())
    assert read.json()["message"] == MESSAGE


async def test_plaintext_from_before_the_migration_is_sealed_at_start_up(api: Api) -> None:
    appointment_id = await api.request(4, "patient-legacy")
    # As migration 0007 leaves a row written before it: plaintext aside, nothing sealed.
    await api.sql(
        "UPDATE appointments SET personal_data = NULL, legacy_message = 'Old message', "
        'legacy_answers = \'{"symptom": "old cough"}\' WHERE id = :id',
        id=appointment_id,
    )
    await api.sql(
        "UPDATE appointment_events SET personal_data = NULL, "
        'data = data || \'{"message": "Old message", "answers": {"symptom": "old cough"}}\' '
        "WHERE appointment_id = :id AND sequence = 1",
        id=appointment_id,
    )
    before = await api.client.get(f"{API}/appointments/{appointment_id}", headers=api.staff())
    assert before.json()["message"] == "Old message"  # readable meanwhile

    await seal_legacy_personal_data(api.runtime)

    projection = (await api.sql("SELECT * FROM appointments WHERE id = :id", id=appointment_id))[0]
    event = (await api.sql("SELECT * FROM appointment_events WHERE appointment_id = :id", id=appointment_id))[0]
    assert projection["legacy_message"] is None
    assert projection["legacy_answers"] is None
    assert "Old message" not in projection["personal_data"]
    assert "message" not in event["data"]
    assert event["personal_data"] is not None
    after = await api.client.get(f"{API}/appointments/{appointment_id}", headers=api.staff())
    assert after.json()["message"] == "Old message"
    assert after.json()["history"][0]["data"]["answers"] == {"symptom": "old cough"}
    assert (await rebuild(uow=api.runtime.unit_of_work(), repair=False)).differing == []  # type: ignore[arg-type]


# --- audit ----------------------------------------------------------------------------------------------------


async def audit_records(api: Api, patient: str) -> list[dict[str, Any]]:
    rows = await api.sql(
        "SELECT data FROM outbox WHERE type = 'audit.recorded' AND data->>'data_subject' = :patient ORDER BY position",
        patient=patient,
    )
    return [row["data"] for row in rows]


async def test_every_write_and_every_read_is_audited(api: Api) -> None:
    patient = "patient-audited"
    appointment_id = await api.request(5, patient)
    approved = await api.client.post(
        f"{API}/appointments/{appointment_id}/decision", json={"decision": "approve"}, headers=api.staff()
    )
    assert approved.status_code == 200
    # Reads are audited whoever reads, the patient included (the trail shows a person their own accesses too).
    await api.client.get(f"{API}/appointments/{appointment_id}", headers=api.patient(patient))
    for path in ("", "/history", ".ics"):
        answered = await api.client.get(f"{API}/appointments/{appointment_id}{path}", headers=api.staff())
        assert answered.status_code == 200, (path, answered.text)
    other = await api.request(6, patient)
    listed = await api.client.get(f"{API}/appointments", params={"patient": patient}, headers=api.operator())
    assert len(listed.json()["items"]) == 2

    records = await audit_records(api, patient)
    summary = [(record["actor"], record["action"], record["resource_id"]) for record in records]
    assert summary == [
        (patient, "create", appointment_id),
        ("reception-1", "update", appointment_id),
        (patient, "read", appointment_id),
        ("reception-1", "read", appointment_id),
        ("reception-1", "read", appointment_id),
        ("reception-1", "read", appointment_id),
        (patient, "create", other),
        ("operator-1", "read", appointment_id),  # a list: one record per appointment shown
        ("operator-1", "read", other),
    ]
    assert records[0]["fields"] == ["answers", "ends_at", "message", "patient", "starts_at", "status"]
    assert records[1]["fields"] == ["status"]
    assert {record["service"] for record in records} == {"appointments"}
    assert all("Chest pain" not in json.dumps(record) for record in records)


# --- notification rules -----------------------------------------------------------------------------------------


async def test_change_events_carry_the_recipients_and_channels_of_the_domains_rules(api: Api) -> None:
    patient = "patient-notified"
    appointment_id = await api.request(7, patient)
    version = (await api.client.get(f"{API}/domains/clinic")).json()["version"]

    requested = (await api.published("appointment.requested", appointment_id))[0]
    assert requested["notification_rules"] == f"clinic@{version}"
    assert requested["notify"] == [
        {"recipient": "professional", "user_id": DOCTOR, "organisation_id": None, "channels": ["in_app"]},
        {"recipient": "staff", "user_id": None, "organisation_id": str(PRACTICE), "channels": ["in_app"]},
    ]
    assert requested["reminders"] == []  # not booked yet

    await api.client.post(
        f"{API}/appointments/{appointment_id}/decision", json={"decision": "approve"}, headers=api.staff()
    )
    approved = (await api.published("appointment.approved", appointment_id))[0]
    patient_told = {"recipient": "patient", "user_id": patient, "organisation_id": None}
    assert approved["notify"] == [{**patient_told, "channels": ["email", "push", "sms"]}]
    assert approved["reminders"] == [
        {"before_hours": 24.0, "notify": [{**patient_told, "channels": ["sms"]}]},
        {"before_hours": 2.0, "notify": [{**patient_told, "channels": ["sms"]}]},
    ]

    cancelled = await api.client.post(
        f"{API}/appointments/{appointment_id}/cancellation", json={"reason": "Moved away"}, headers=api.staff()
    )
    assert cancelled.status_code == 200, cancelled.text
    told_of_cancellation = (await api.published("appointment.cancelled", appointment_id))[0]
    assert told_of_cancellation["notify"] == []  # this domain's rules say nothing about cancellations
    assert told_of_cancellation["reminders"] == []  # so the scheduled reminders are dropped


async def test_notification_rules_round_trip_through_the_domain_api_and_bad_ones_are_refused(api: Api) -> None:
    admin = api.operator()
    rules = [
        {"change": "proposed", "recipients": ["patient"], "channels": ["push", "in_app"], "before_hours": []},
        {"change": "reminder", "recipients": ["patient", "professional"], "channels": ["email"], "before_hours": [48]},
    ]
    written = await api.client.put(f"{API}/domains/rules-demo", json={**CLINIC, "notifications": rules}, headers=admin)
    assert written.status_code == 200, written.text
    read = (await api.client.get(f"{API}/domains/rules-demo")).json()
    assert read["notifications"] == [
        {**rule, "before_hours": [float(h) for h in rule["before_hours"]]} for rule in rules
    ]
    defaults = await api.client.put(
        f"{API}/domains/rules-demo", json={k: v for k, v in CLINIC.items() if k != "notifications"}, headers=admin
    )
    assert defaults.json()["version"] == read["version"] + 1
    assert {rule["change"] for rule in defaults.json()["notifications"]} >= {"requested", "approved", "reminder"}

    for bad in (
        {"change": "confirmed", "recipients": ["patient"], "channels": ["email"]},
        {"change": "approved", "recipients": ["patient"], "channels": ["pigeon"]},
        {"change": "approved", "recipients": ["neighbour"], "channels": ["email"]},
    ):
        refused = await api.client.put(
            f"{API}/domains/rules-demo", json={**CLINIC, "notifications": [bad]}, headers=admin
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    misused = await api.client.put(
        f"{API}/domains/rules-demo",
        json={**CLINIC, "notifications": [{**rules[0], "before_hours": [2]}]},
        headers=admin,
    )
    assert misused.status_code == 422
    assert misused.json()["type"] == "urn:kairos:problem:invalid-notification-rule"
    assert (await api.client.get(f"{API}/domains/rules-demo")).json()["version"] == defaults.json()["version"]

    document = (await api.client.get(f"{API}/openapi.json")).json()
    rule_schema = document["components"]["schemas"]["NotificationRuleModel"]
    assert "pigeon" not in json.dumps(rule_schema)
    assert "in_app" in json.dumps(rule_schema)
    assert document["components"]["schemas"]["DomainWrite"]["properties"]["notifications"]["examples"]
